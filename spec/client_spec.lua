-- acmpca.client with a mocked transport: the exact requests, the results,
-- the errors (every modeled error of each operation, read from the model
-- file), the retry loop and every validation rule.
--
-- The environment is never read from the real process: each client gets
-- opts.getenv, a stub over a table (client.new accepts getenv for this).

local client = require "acmpca.client"
local core = require "acmpca.core"
local sigv4 = require "acmpca.sigv4"
local cjson = require "cjson"

local ARN = "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local ACM = "acm.amazonaws.com"
local ALL = { "IssueCertificate", "GetCertificate", "ListPermissions" }
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FwoGZXIvYXdzEXAMPLEsessionTOKEN//+abc=="
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET }
local TEMP = { access_key_id = "ASIAEXAMPLE", secret_access_key = SECRET, session_token = TOKEN }

local OPS = {
    create_permission = { name = "CreatePermission",
                          args = { ca_arn = ARN, principal = ACM, actions = ALL } },
    list_permissions = { name = "ListPermissions", args = { ca_arn = ARN } },
    delete_permission = { name = "DeletePermission", args = { ca_arn = ARN, principal = ACM } },
}


local function read_model()
    local f = assert(io.open("spec/fixtures/acm-pca-model/service-2.json", "rb"))
    local model = cjson.decode(f:read("*a"))
    f:close()
    return model
end


local function ok(body)
    return { status = 200, headers = { ["x-amzn-requestid"] = "rid-ok" }, body = body or "{}" }
end


local function service_error(status, type_, message, headers)
    local h = { ["x-amzn-requestid"] = "rid-err", ["content-type"] = "application/x-amz-json-1.1" }
    for k, v in pairs(headers or {}) do
        h[k] = v
    end
    return { status = status, headers = h,
             body = cjson.encode{ __type = type_, message = message } }
end


-- A transport that records requests and plays canned answers in order
-- (the last one repeats).  An answer is a response table, { err = x } for
-- nil, x, or a function(req).
local function recorder(...)
    local answers = { ... }
    local t = { calls = {} }
    function t.fn(req)
        t.calls[#t.calls + 1] = req
        local a = answers[#t.calls] or answers[#answers]
        if type(a) == "function" then
            return a(req)
        elseif a.err ~= nil then
            return nil, a.err
        end
        return a
    end
    return t
end


-- A client over a recorder; returns client, recorder, sleeps.
local function new(opts, ...)
    local rec = recorder(...)
    local sleeps = {}
    local env = opts and opts.env or {}
    local o = {
        region = "us-east-1",
        credentials = CREDS,
        transport = rec.fn,
        sleep = function(s) sleeps[#sleeps + 1] = s end,
        getenv = function(k) return env[k] end,
    }
    for k, v in pairs(opts or {}) do
        if k ~= "env" then
            o[k] = v or nil   -- false: leave the option out
        end
    end
    return client.new(o), rec, sleeps
end


local function assert_no_secret(s)
    assert.is_nil(s:find(SECRET, 1, true))
    assert.is_nil(s:find(TOKEN, 1, true))
end


describe("acmpca.client", function()

    describe("new", function()
        it("resolves the endpoint from the region", function()
            local cases = {
                { { region = "us-east-1" }, "https://acm-pca.us-east-1.amazonaws.com/" },
                { { region = "eu-west-1", use_fips = true },
                  "https://acm-pca-fips.eu-west-1.amazonaws.com/" },
                { { region = "ca-central-1", env = { AWS_USE_FIPS_ENDPOINT = "true" } },
                  "https://acm-pca-fips.ca-central-1.amazonaws.com/" },
                { { region = "cn-north-1" }, "https://acm-pca.cn-north-1.amazonaws.com.cn/" },
                { { region = "cn-north-1", use_fips = true },
                  "https://acm-pca-fips.cn-north-1.amazonaws.com.cn/" },
                { { region = "us-gov-west-1", use_fips = true },
                  "https://acm-pca.us-gov-west-1.amazonaws.com/" },
                { { region = "fips-us-east-2" }, "https://acm-pca-fips.us-east-2.amazonaws.com/" },
                { { region = "us-iso-east-1" }, "https://acm-pca.us-iso-east-1.c2s.ic.gov/" },
            }
            for _, case in ipairs(cases) do
                local c, rec = new(case[1], ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                local req = rec.calls[1]
                assert.equals(case[2], req.url)
                assert.equals(case[2]:match("//([^/]+)/"), req.headers.Host)
                assert.matches(case[2]:match("//([^/]+)/"), tostring(c), 1, true)
            end
        end)

        it("signs for the real region of a fips- pseudo-region", function()
            local c, rec = new({ region = "fips-us-east-2" }, ok())
            assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.matches("/us%-east%-2/acm%-pca/aws4_request", rec.calls[1].headers.Authorization)
        end)

        it("takes the region from AWS_REGION, AWS_DEFAULT_REGION, else the CA ARN", function()
            local cases = {
                { { AWS_REGION = "ap-south-1", AWS_DEFAULT_REGION = "sa-east-1" }, "ap-south-1" },
                { { AWS_DEFAULT_REGION = "sa-east-1" }, "sa-east-1" },
                { {}, "eu-west-1" },   -- the ARN's
            }
            for _, case in ipairs(cases) do
                local c, rec = new({ region = false, env = case[1] }, ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals("https://acm-pca." .. case[2] .. ".amazonaws.com/", rec.calls[1].url)
                assert.matches("/" .. case[2]:gsub("%-", "%%-") .. "/acm%-pca/aws4_request",
                               rec.calls[1].headers.Authorization)
            end
            -- an explicit region wins over the environment
            local c, rec = new({ region = "us-west-2", env = { AWS_REGION = "ap-south-1" } }, ok())
            assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals("https://acm-pca.us-west-2.amazonaws.com/", rec.calls[1].url)
        end)

        it("uses each CA ARN's region per call when no region is configured", function()
            local c, rec = new({ region = false }, ok())
            local other = ARN:gsub("eu%-west%-1", "cn-northwest-1")
            assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert(c:delete_permission{ ca_arn = other, principal = ACM })
            assert.equals("https://acm-pca.eu-west-1.amazonaws.com/", rec.calls[1].url)
            assert.equals("https://acm-pca.cn-northwest-1.amazonaws.com.cn/", rec.calls[2].url)
            assert.matches("region from the CA ARN", tostring(c))
        end)

        it("keeps a custom endpoint's port in Host and drops a default one", function()
            local cases = {
                { "http://127.0.0.1:18443", "http://127.0.0.1:18443/", "127.0.0.1:18443" },
                { "https://localhost:8443/base/", "https://localhost:8443/base/",
                  "localhost:8443" },
                { "https://example.test:443", "https://example.test:443/", "example.test" },
                { "http://[::1]:8080", "http://[::1]:8080/", "[::1]:8080" },
                { "http://example.test:80", "http://example.test:80/", "example.test" },
            }
            for _, case in ipairs(cases) do
                local c, rec = new({ endpoint = case[1] }, ok())
                assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals(case[2], rec.calls[1].url)
                assert.equals(case[3], rec.calls[1].headers.Host)
            end
        end)

        it("takes the endpoint from AWS_ENDPOINT_URL_ACM_PCA, then AWS_ENDPOINT_URL", function()
            local env = { AWS_ENDPOINT_URL_ACM_PCA = "http://127.0.0.1:1001",
                          AWS_ENDPOINT_URL = "http://127.0.0.1:1002" }
            local c, rec = new({ env = env }, ok())
            assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals("http://127.0.0.1:1001/", rec.calls[1].url)

            c, rec = new({ env = { AWS_ENDPOINT_URL = "http://127.0.0.1:1002" } }, ok())
            assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals("http://127.0.0.1:1002/", rec.calls[1].url)

            c, rec = new({ endpoint = "http://127.0.0.1:1003", env = env }, ok())
            assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals("http://127.0.0.1:1003/", rec.calls[1].url)

            env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true"
            c, rec = new({ env = env }, ok())
            assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals("https://acm-pca.us-east-1.amazonaws.com/", rec.calls[1].url)
        end)

        it("raises on misuse", function()
            local bad = {
                { "x", "acmpca.new: expected a table of options, got string" },
                { { region = "US East" }, "acmpca.new: region: expected a region name such as "
                  .. "\"us-east-1\", got \"US East\"" },
                { { region = 1 }, "acmpca.new: region: expected a string, got number" },
                { { endpoint = "ftp://x" }, "acmpca.new: endpoint: expected an http:// or "
                  .. "https:// URL (http[s]://host[:port][/path]), got \"ftp://x\"" },
                { { endpoint = "http://h:99999" }, "acmpca.new: endpoint: invalid port" },
                { { endpoint = "http://user@h" }, "acmpca.new: endpoint: invalid host" },
                { { endpoint = "http://h/?q=1" }, "acmpca.new: endpoint: the path must not hold" },
                { { endpoint = "http://h", use_fips = true }, "endpoint and use_fips cannot" },
                { { timeout = 0 }, "acmpca.new: timeout: expected seconds in (0, 86400], got 0" },
                { { connect_timeout = "5" },
                  "acmpca.new: connect_timeout: expected a number of seconds, got string" },
                { { max_attempts = 0 },
                  "acmpca.new: max_attempts: expected an integer from 1 to 100" },
                { { max_attempts = 1.5 }, "acmpca.new: max_attempts: expected an integer" },
                { { transport = "curl" }, "acmpca.new: transport: expected a function" },
                { { sleep = 1 }, "acmpca.new: sleep: expected a function" },
                { { credentials = { access_key_id = "AKID" } },
                  "acmpca.new: credentials: expected" },
                { { credentials = { access_key_id = "AKID", secret_access_key = SECRET,
                                    session_token = 5 } }, "session_token: expected a string" },
                { { ca_file = "/nonexistent/ca.pem" }, "acmpca.new: ca_file: cannot read" },
                { { user_agent = "a\r\nb" }, "acmpca.new: user_agent: expected 1 to 512" },
                { { use_fips = "yes" }, "acmpca.new: use_fips: expected a boolean, got string" },
                -- C strings would end at the NUL: another host, another file
                { { endpoint = "http://127.0.0.1\0.example.test" },
                  "acmpca.new: endpoint: contains NUL" },
                { { endpoint = "http://[::1\r\nX-Injected: 1]/" },
                  "acmpca.new: endpoint: invalid IPv6 address" },
                { { endpoint = "http://[::1 ]:8080" },
                  "acmpca.new: endpoint: invalid IPv6 address" },
                { { ca_file = "spec/client_spec.lua\0.pem" }, "acmpca.new: ca_file: contains NUL" },
            }
            for _, case in ipairs(bad) do
                local opts = case[1]
                if type(opts) == "table" then
                    opts.getenv = function() return nil end
                end
                local ok_, err = pcall(client.new, opts)
                assert.is_false(ok_)
                assert.matches(case[2], err, 1, true)
                assert_no_secret(err)
            end
        end)

        it("loads acmpca.credentials only to check a credentials table", function()
            local saved_client = package.loaded["acmpca.client"]
            local saved_creds = package.loaded["acmpca.credentials"]
            package.loaded["acmpca.client"] = nil
            package.loaded["acmpca.credentials"] = nil
            local ok_, fresh = pcall(require, "acmpca.client")
            local loaded_by_require = package.loaded["acmpca.credentials"] ~= nil
            local c = ok_ and fresh.new{ region = "us-east-1", credentials = function() end }
            local loaded_by_function = package.loaded["acmpca.credentials"] ~= nil
            local ok2, err = pcall(fresh.new, { region = "us-east-1",
                                                credentials = { access_key_id = "A" } })
            local loaded_by_table = package.loaded["acmpca.credentials"] ~= nil
            package.loaded["acmpca.client"] = saved_client
            package.loaded["acmpca.credentials"] = saved_creds
            assert.is_true(ok_, fresh)
            c:close()
            assert.is_false(loaded_by_require)
            assert.is_false(loaded_by_function)
            assert.is_false(ok2)
            assert.matches("acmpca.new: credentials: expected", err, 1, true)
            assert.is_true(loaded_by_table)
        end)

        it("never shows secrets in tostring", function()
            local c = new{ credentials = TEMP }
            local s = tostring(c)
            assert.equals("acmpca.client (region us-east-1, endpoint "
                          .. "https://acm-pca.us-east-1.amazonaws.com/)", s)
            assert_no_secret(s)
        end)

        it("exposes the shared method table", function()
            local c = new()
            assert.equals(client.methods, core.client_methods)
            assert.equals(client.methods.list_permissions, c.list_permissions)
            client.methods.spec_helper = function(self) return self end
            assert.equals(c, c:spec_helper())
            client.methods.spec_helper = nil
        end)
    end)


    describe("close", function()
        it("is idempotent and later calls raise", function()
            local c, rec = new(nil, ok())
            c:close()
            c:close()
            assert.equals("acmpca.client (closed)", tostring(c))
            assert.has_error(function() c:list_permissions{ ca_arn = ARN } end,
                "acmpca.client: the client is closed")
            assert.equals(0, #rec.calls)
        end)

        if _VERSION == "Lua 5.4" then
            it("runs from a to-be-closed variable", function()
                local chunk = assert(load([[
                    local c = ...
                    do local x <close> = c end
                    return tostring(c)
                ]]))
                assert.equals("acmpca.client (closed)", chunk(new()))
            end)
        end
    end)


    describe("requests", function()
        local function check_request(req, target, creds)
            assert.equals("POST", req.method)
            assert.equals("https://acm-pca.us-east-1.amazonaws.com/", req.url)
            local h = req.headers
            assert.equals("acm-pca.us-east-1.amazonaws.com", h.Host)
            assert.equals("application/x-amz-json-1.1", h["Content-Type"])
            assert.equals("ACMPrivateCA." .. target, h["X-Amz-Target"])
            assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", h["X-Amz-Date"])
            assert.matches("^lua%-acmpca/0%.1%.0 lua/5%.[14]$", h["User-Agent"])
            local signed = creds.session_token
                and "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
                or "content-type;host;x-amz-date;x-amz-target"
            assert.matches("^AWS4%-HMAC%-SHA256 Credential=" .. creds.access_key_id
                           .. "/%d+/us%-east%-1/acm%-pca/aws4_request, SignedHeaders="
                           .. signed:gsub("%-", "%%-") .. ", Signature=%x+$", h.Authorization)
            assert.equals(creds.session_token, h["X-Amz-Security-Token"])
            -- the signature verifies with the independent Lua-level signer
            local expect = sigv4.sign({
                method = "POST", url = req.url, body = req.body,
                headers = { ["Content-Type"] = h["Content-Type"],
                            ["X-Amz-Target"] = h["X-Amz-Target"] },
            }, { region = "us-east-1", service = "acm-pca", credentials = creds,
                 time = h["X-Amz-Date"] })
            assert.equals(expect.Authorization, h.Authorization)
        end

        it("CreatePermission: target, headers, signature and body", function()
            for _, creds in ipairs{ CREDS, TEMP } do
                local c, rec = new({ credentials = creds }, ok())
                assert.is_true(c:create_permission{ ca_arn = ARN, principal = ACM,
                                                    actions = ALL,
                                                    source_account = "123456789012" })
                local req = rec.calls[1]
                check_request(req, "CreatePermission", creds)
                assert.same({ CertificateAuthorityArn = ARN, Principal = ACM, Actions = ALL,
                              SourceAccount = "123456789012" }, cjson.decode(req.body))
            end
        end)

        it("ListPermissions: target, headers, signature, body and result", function()
            local body = cjson.encode{
                Permissions = {
                    { Actions = ALL, CertificateAuthorityArn = ARN, CreatedAt = 1.7e9 + 0.25,
                      Principal = ACM, SourceAccount = "123456789012", Policy = "{}" },
                    { Actions = { "GetCertificate" }, CertificateAuthorityArn = ARN,
                      CreatedAt = 1.6e9, Principal = "other.amazonaws.com" },
                },
                NextToken = "tok-2",
            }
            for _, creds in ipairs{ CREDS, TEMP } do
                local c, rec = new({ credentials = creds }, ok(body))
                local res = assert(c:list_permissions{ ca_arn = ARN, max_results = 10,
                                                       next_token = "tok-1" })
                check_request(rec.calls[1], "ListPermissions", creds)
                assert.same({ CertificateAuthorityArn = ARN, MaxResults = 10,
                              NextToken = "tok-1" }, cjson.decode(rec.calls[1].body))
                assert.same({
                    permissions = {
                        { actions = ALL, certificate_authority_arn = ARN,
                          created_at = 1.7e9 + 0.25, principal = ACM,
                          source_account = "123456789012", policy = "{}" },
                        { actions = { "GetCertificate" }, certificate_authority_arn = ARN,
                          created_at = 1.6e9, principal = "other.amazonaws.com" },
                    },
                    next_token = "tok-2",
                }, res)
            end
        end)

        it("ListPermissions: created_at is an integer when whole, a float with a fraction",
           function()
            local c = new(nil, ok('{"Permissions": [{"CreatedAt": 1700000000, "Principal": "a"},'
                                  .. '{"CreatedAt": 1700000000.5, "Principal": "b"}]}'))
            local res = assert(c:list_permissions{ ca_arn = ARN })
            assert.are.equal(1700000000, res.permissions[1].created_at)
            assert.are.equal(1700000000.5, res.permissions[2].created_at)
            if math.type then -- Lua 5.3+: no "1700000000.0" when printed
                assert.are.equal("integer", math.type(res.permissions[1].created_at))
                assert.are.equal("1700000000", tostring(res.permissions[1].created_at))
                assert.are.equal("float", math.type(res.permissions[2].created_at))
            end
        end)

        it("ListPermissions: an empty or minimal page", function()
            local c = new(nil, ok('{"Permissions": [], "NextToken": null}'), ok("{}"))
            assert.same({ permissions = {} }, c:list_permissions{ ca_arn = ARN })
            assert.same({ permissions = {} }, c:list_permissions{ ca_arn = ARN })
        end)

        it("DeletePermission: target, headers, signature and body", function()
            for _, creds in ipairs{ CREDS, TEMP } do
                local c, rec = new({ credentials = creds }, ok(""))
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                check_request(rec.calls[1], "DeletePermission", creds)
                assert.same({ CertificateAuthorityArn = ARN, Principal = ACM },
                            cjson.decode(rec.calls[1].body))
            end
        end)

        it("sends '/' unescaped, as the AWS CLI does (lua-cjson 2.1.0 writes \\/)", function()
            local c, rec = new(nil, ok())
            assert.is_true(c:create_permission{ ca_arn = ARN, principal = ACM, actions = ALL })
            local body = rec.calls[1].body
            assert.is_truthy(body:find('"CertificateAuthorityArn":"' .. ARN .. '"', 1, true))
            assert.is_nil(body:find("\\/", 1, true))
            assert.equals(ARN, cjson.decode(body).CertificateAuthorityArn)
            check_request(rec.calls[1], "CreatePermission", CREDS)
        end)

        it("rewrites the body escape by escape: an escaped backslash keeps its slash", function()
            -- a \ / b \ \ / c " d / e U+0001 f
            local principal = 'a\\/b\\\\/c"d/e\1f'
            local c, rec = new(nil, ok())
            assert.is_true(c:create_permission{ ca_arn = ARN, principal = principal,
                                                actions = ALL })
            local body = rec.calls[1].body
            assert.is_truthy(body:find([["Principal":"a\\/b\\\\/c\"d/e\u0001f"]], 1, true))
            assert.equals(principal, cjson.decode(body).Principal)
            assert.equals(ARN, cjson.decode(body).CertificateAuthorityArn)
            check_request(rec.calls[1], "CreatePermission", CREDS)
        end)

        it("passes timeouts and a custom User-Agent to the transport", function()
            local c, rec = new({ timeout = 7, connect_timeout = 2, user_agent = "my-app/1" }, ok())
            assert(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals(7, rec.calls[1].timeout)
            assert.equals(2, rec.calls[1].connect_timeout)
            assert.equals("my-app/1", rec.calls[1].headers["User-Agent"])
        end)

        it("calls a credentials function for every attempt", function()
            local n = 0
            local function provider()
                n = n + 1
                return { access_key_id = "AKID" .. n, secret_access_key = SECRET }
            end
            local c, rec = new({ credentials = provider },
                               service_error(500, "InternalFailure", "x"), ok())
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals(2, n)
            assert.matches("Credential=AKID2/", rec.calls[2].headers.Authorization)
        end)
    end)


    describe("credentials errors", function()
        it("returns CredentialsError when the function fails; nothing is sent", function()
            local function none() return nil, "no profile found" end
            local c, rec = new({ credentials = none }, ok())
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals("CredentialsError", err.code)
            assert.equals("no profile found", err.message)
            assert.equals("ListPermissions", err.operation)
            assert.equals(0, #rec.calls)
        end)

        it("returns CredentialsError for a malformed credentials table", function()
            local function partial() return { access_key_id = "A" } end
            local c, rec = new({ credentials = partial }, ok())
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals("CredentialsError", err.code)
            assert.equals(0, #rec.calls)
        end)

        it("returns CredentialsError without credentials; nothing is sent", function()
            local c, rec = new({ credentials = false }, ok())
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("CredentialsError", err.code)
            assert.matches("acmpca.new", err.message)
            assert.equals(0, #rec.calls)
        end)
    end)


    describe("service errors", function()
        local model = read_model()

        it("maps every modeled error of each operation to its code", function()
            local checked = 0
            for method, op in pairs(OPS) do
                local errors = model.operations[op.name].errors
                assert.is_true(#errors >= 4)
                for _, e in ipairs(errors) do
                    local code = e.shape
                    assert.is_true(model.shapes[code].exception)
                    local c, rec = new(nil, service_error(400, code, "the " .. code))
                    local res, err = c[method](c, op.args)
                    assert.is_nil(res)
                    assert.equals(code, err.code)
                    assert.equals("the " .. code, err.message)
                    assert.equals(400, err.status)
                    assert.equals("rid-err", err.request_id)
                    assert.equals(op.name, err.operation)
                    assert.is_false(err.retryable)
                    assert.equals(code .. ": the " .. code .. " (HTTP 400, request id rid-err)",
                                  tostring(err))
                    assert.equals(1, #rec.calls)   -- 4xx: never retried
                    checked = checked + 1
                end
            end
            assert.equals(15, checked)
        end)

        it("accepts the ns#Code and Code:uri forms and Message", function()
            local forms = {
                { "com.amazonaws.acmpca#ResourceNotFoundException", "ResourceNotFoundException" },
                { "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazon.acmpca/",
                  "ResourceNotFoundException" },
                { "aws.protocoltests.json#InvalidArnException:http://x/y",
                  "InvalidArnException" },
            }
            for _, f in ipairs(forms) do
                local c = new(nil, service_error(400, f[1], "m"))
                local _, err = c:list_permissions{ ca_arn = ARN }
                assert.equals(f[2], err.code)
            end
            local c = new(nil, { status = 400, headers = {},
                                 body = '{"__type":"InvalidStateException",'
                                        .. '"Message":"CA is DISABLED"}' })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidStateException", err.code)
            assert.equals("CA is DISABLED", err.message)
            assert.is_nil(err.request_id)
            assert.equals("InvalidStateException: CA is DISABLED (HTTP 400)", tostring(err))
        end)

        it("reads canonically spelled headers from hand-made responses", function()
            local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 3600)
            local c, rec = new(nil, { status = 400, body = '{"__type":"RequestExpired"}',
                                      headers = { ["x-amzn-RequestId"] = "rid-canon",
                                                  Date = date } })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("rid-canon", err.request_id)
            assert.is_true(err.clock_skew)
            assert.equals(2, #rec.calls)
        end)

        it("falls back to the x-amzn-ErrorType header", function()
            local c = new(nil, { status = 403, body = "",
                                 headers = { ["x-amzn-errortype"] = "AccessDeniedException:uri" } })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("AccessDeniedException", err.code)
            assert.equals("HTTP 403", err.message)
        end)

        it("treats LimitExceededException as a quota error, not throttling", function()
            local c, rec = new(nil, service_error(400, "LimitExceededException", "too many"))
            local _, err = c:create_permission(OPS.create_permission.args)
            assert.equals("LimitExceededException", err.code)
            assert.is_false(err.retryable)
            assert.equals(1, #rec.calls)
        end)
    end)


    describe("malformed responses", function()
        it("an HTML page with 200 is an error with the status and an excerpt", function()
            local html = "<html><body>" .. string.rep("Proxy says no. ", 100) .. "</body></html>"
            local c = new(nil, { status = 200, headers = {}, body = html })
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals("InvalidResponse", err.code)
            assert.equals(200, err.status)
            assert.matches("HTTP 200", err.message, 1, true)
            assert.matches("<html><body>Proxy says no.", err.message, 1, true)
            assert.is_true(#err.message < 300)   -- bounded
            assert.matches("...", err.message, 1, true)
        end)

        it("a truncated JSON body is an error, for writes too", function()
            for method, op in pairs(OPS) do
                local c = new(nil, { status = 200, headers = {}, body = '{"Permissions": [{"Act' })
                local res, err = c[method](c, op.args)
                assert.is_nil(res)
                assert.equals("InvalidResponse", err.code)
                assert.matches('{"Permissions": [{"Act', err.message, 1, true)
            end
        end)

        it("an HTML 502 is retried, then reported with its status", function()
            local c, rec = new(nil, { status = 502, headers = { ["content-type"] = "text/html" },
                                      body = "<h1>Bad Gateway</h1>\r\n\0\255" })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidResponse", err.code)
            assert.equals(502, err.status)
            assert.is_true(err.retryable)
            assert.equals(3, #rec.calls)
            assert.equals("HTTP 502 with a body that is not JSON: <h1>Bad Gateway</h1>  ??",
                          err.message)
        end)

        it("a response without a numeric status is an error", function()
            local c = new(nil, { headers = {}, body = "{}" })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidResponse", err.code)
        end)

        it("a status that is not an integer from 100 to 599 is an error", function()
            -- 2^32 + 200 must not pass for 200 once cut to a C int
            for _, status in ipairs{ 2 ^ 32 + 200, 4294967496, 99, 600, 200.5, 1 / 0, 0 / 0 } do
                local c, rec = new(nil, { status = status, headers = {}, body = "" })
                local res, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
                assert.is_nil(res, tostring(status))
                assert.equals("InvalidResponse", err.code)
                assert.matches("without a numeric HTTP status", err.message, 1, true)
                assert.equals(1, #rec.calls)
            end
        end)

        it("keeps a request id that the headers' __index made up", function()
            -- the value is only on the stack: a GC in a later lookup must not free it
            local keep = {}
            local headers = setmetatable({}, { __index = function(_, k)
                if k == "x-amzn-requestid" then
                    return ("rid-"):rep(20) .. tostring(#keep)
                end
                collectgarbage()
                collectgarbage()
                for i = 1, 200 do
                    keep[#keep + 1] = ("X"):rep(80) .. i   -- reuse freed blocks
                end
                return nil
            end })
            local c = new(nil, { status = 400, headers = headers, body = "<html>oops</html>" })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidResponse", err.code)
            assert.equals(("rid-"):rep(20) .. "0", err.request_id)
            assert.equals(400, err.status)
        end)

        it("survives a transport error table that swallows writes", function()
            local sealed = setmetatable({}, { __newindex = function() end })
            local c, rec = new(nil, { err = sealed })
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals(sealed, err)
            assert.is_nil(rawget(sealed, "code"))
            assert.equals(1, #rec.calls)   -- no code: not retried
        end)

        it("a JSON error without a code is UnknownError", function()
            local c = new(nil, { status = 400, headers = {}, body = '{"message":"what"}' })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("UnknownError", err.code)
            assert.equals("what", err.message)
        end)
    end)


    describe("retries", function()
        local throttles = { "Throttling", "ThrottlingException", "ThrottledException",
                            "RequestThrottledException", "TooManyRequestsException",
                            "ProvisionedThroughputExceededException",
                            "TransactionInProgressException", "RequestLimitExceeded",
                            "BandwidthLimitExceeded", "RequestThrottled", "SlowDown",
                            "PriorRequestNotComplete", "EC2ThrottledException" }

        it("retries every throttling code and succeeds", function()
            for _, code in ipairs(throttles) do
                local c, rec, sleeps = new(nil, service_error(400, code, "slow down"), ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals(2, #rec.calls)
                assert.equals(1, #sleeps)
            end
        end)

        it("stops at max_attempts with growing, capped, jittered delays", function()
            local c, rec, sleeps = new({ max_attempts = 6 },
                                       service_error(400, "ThrottlingException", "slow"))
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("ThrottlingException", err.code)
            assert.is_true(err.throttling)
            assert.equals(6, err.attempts)
            assert.equals(6, #rec.calls)
            assert.equals(5, #sleeps)
            for i, s in ipairs(sleeps) do
                assert.is_true(s >= 0 and s <= math.min(2 ^ (i - 1), 20))
            end
        end)

        it("defaults to 3 attempts, or AWS_MAX_ATTEMPTS", function()
            local c, rec = new(nil, service_error(503, "ServiceUnavailable", "x"))
            c:list_permissions{ ca_arn = ARN }
            assert.equals(3, #rec.calls)
            c, rec = new({ env = { AWS_MAX_ATTEMPTS = "2" } },
                         service_error(503, "ServiceUnavailable", "x"))
            c:list_permissions{ ca_arn = ARN }
            assert.equals(2, #rec.calls)
        end)

        it("retries HTTP 500, 502, 503 and 504 but not other statuses", function()
            for _, status in ipairs{ 500, 502, 503, 504 } do
                local c, rec = new(nil, service_error(status, "InternalFailure", "x"), ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals(2, #rec.calls)
            end
            for _, status in ipairs{ 400, 403, 404, 409, 413, 501 } do
                local c, rec = new(nil, service_error(status, "SomeError", "x"), ok())
                local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
                assert.equals("SomeError", err.code)
                assert.is_false(err.retryable)
                assert.equals(1, #rec.calls)
            end
        end)

        it("retries transport timeouts and network errors", function()
            local answers = {
                { err = core.new_error{ code = "Timeout", message = "timed out",
                                        retryable = true } },
                { err = "connection reset by peer" },
                { err = { code = "NetworkError", message = "refused" } },
            }
            for _, a in ipairs(answers) do
                local c, rec = new(nil, a, ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals(2, #rec.calls)
            end
            local c, rec = new(nil, { err = "connection reset by peer" })
            local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
            assert.equals("NetworkError", err.code)
            assert.equals("connection reset by peer", err.message)
            assert.equals("DeletePermission", err.operation)
            assert.equals(3, #rec.calls)
            assert.equals("NetworkError: connection reset by peer", tostring(err))
        end)

        it("does not retry TLS errors", function()
            local c, rec = new(nil, { err = { code = "TLSError", message = "bad cert" } })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("TLSError", err.code)
            assert.is_false(err.retryable)
            assert.equals(1, #rec.calls)
            assert.equals("TLSError: bad cert", tostring(err))
        end)

        it("stops retrying when the retry quota is spent", function()
            local c, rec = new({ max_attempts = 2 }, service_error(500, "InternalFailure", "x"))
            for _ = 1, 100 do   -- 100 retries of 5 tokens each use up the 500
                c:list_permissions{ ca_arn = ARN }
            end
            assert.equals(200, #rec.calls)
            c:list_permissions{ ca_arn = ARN }
            assert.equals(201, #rec.calls)
        end)

        it("corrects the clock from Date on RequestTimeTooSkewed and retries once", function()
            local ahead = os.time() + 3600
            local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", ahead)
            local skew = service_error(400, "RequestTimeTooSkewed",
                                       "The difference between the request time and the "
                                       .. "current time is too large.", { date = date })
            local c, rec, sleeps = new(nil, skew, ok())
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals(2, #rec.calls)
            assert.equals(0, #sleeps)
            local off = c:_clock_offset()
            assert.is_true(math.abs(off - 3600) <= 2)
            local stamp = rec.calls[2].headers["X-Amz-Date"]
            assert.equals(os.date("!%Y%m%dT%H", ahead), stamp:sub(1, 11))

            -- a second skew error is returned, not retried again
            c, rec = new(nil, skew)
            local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
            assert.equals("RequestTimeTooSkewed", err.code)
            assert.is_true(err.clock_skew)
            assert.equals(2, #rec.calls)
        end)

        it("treats an expired signature as skew, a plain bad signature not", function()
            local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() - 7200)
            local c, rec = new(nil, service_error(400, "InvalidSignatureException",
                                                  "Signature expired: 20240101T000000Z is now "
                                                  .. "earlier than ...", { date = date }), ok())
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals(2, #rec.calls)
            assert.is_true(math.abs(c:_clock_offset() + 7200) <= 2)

            date = os.date("!%a, %d %b %Y %H:%M:%S GMT")
            c, rec = new(nil, service_error(403, "InvalidSignatureException",
                                            "The request signature we calculated does not "
                                            .. "match", { date = date }), ok())
            local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
            assert.equals("InvalidSignatureException", err.code)
            assert.is_nil(err.clock_skew)
            assert.equals(1, #rec.calls)
        end)
    end)


    describe("validation", function()
        local long = string.rep("a", 129)
        local rules = {
            { "create_permission", { principal = ACM, actions = ALL }, "ca_arn: expected "
              .. "arn:<partition>:acm-pca:<region>:<12-digit account>:certificate-authority/<id>"
              .. ", got nil" },
            { "create_permission", { ca_arn = "x", principal = ACM, actions = ALL },
              "ca_arn: expected arn:<partition>:acm-pca:<region>:<12-digit account>:"
              .. "certificate-authority/<id>, got \"x\"" },
            { "list_permissions", { ca_arn = "arn:aws:acm:us-east-1:123456789012:certificate/x" },
              "ca_arn: expected" },
            { "list_permissions",
              { ca_arn = "arn:aws:acm-pca:us-east-1:12345:certificate-authority/x" },
              "ca_arn: expected" },
            { "list_permissions",
              { ca_arn = "arn:aws:acm-pca::123456789012:certificate-authority/x" },
              "ca_arn: expected" },
            { "list_permissions",
              { ca_arn = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/" },
              "ca_arn: expected" },
            { "list_permissions", { ca_arn = ARN .. "\n" }, "ca_arn: expected" },
            { "list_permissions", { ca_arn = 42 }, "ca_arn: expected arn:", "got 42" },
            { "create_permission", { ca_arn = ARN, principal = ACM }, "actions: expected a "
              .. "non-empty list of IssueCertificate, GetCertificate, ListPermissions, got nil" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = {} },
              "actions: expected a non-empty list", "got table" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = "IssueCertificate" },
              "actions: expected a non-empty list", "got \"IssueCertificate\"" },
            { "create_permission", { ca_arn = ARN, principal = ACM,
                                     actions = { "IssueCertificate", "RevokeCertificate" } },
              "actions[2]: expected one of IssueCertificate, GetCertificate, ListPermissions, "
              .. "got \"RevokeCertificate\"" },
            { "create_permission", { ca_arn = ARN, principal = ACM,
                                     actions = { "GetCertificate", "GetCertificate" } },
              "actions[2]: duplicate action, got \"GetCertificate\"" },
            { "create_permission", { ca_arn = ARN, principal = ACM,
                                     actions = { "GetCertificate", x = 1 } },
              "actions: expected a list (keys 1..n only)" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = { 1 } },
              "actions[1]: expected one of", "got 1" },
            { "create_permission", { ca_arn = ARN, actions = ALL },
              "principal: expected a string such as \"acm.amazonaws.com\", got nil" },
            { "create_permission", { ca_arn = ARN, principal = "", actions = ALL },
              "principal: must not be empty" },
            { "delete_permission", { ca_arn = ARN, principal = "*" },
              "principal: must not contain '*'" },
            { "delete_permission", { ca_arn = ARN, principal = "acm\r\n.amazonaws.com" },
              "principal: must not contain CR, LF or NUL" },
            { "delete_permission", { ca_arn = ARN, principal = "acm\0" },
              "principal: must not contain CR, LF or NUL" },
            { "delete_permission", { ca_arn = ARN, principal = long },
              "principal: must be at most 128 characters" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = ALL,
                                     source_account = "12345678901" },
              "source_account: expected a string of 12 digits, got \"12345678901\"" },
            { "delete_permission", { ca_arn = ARN, principal = ACM, source_account = 123456789012 },
              "source_account: expected a string of 12 digits, got 123456789012" },
            { "delete_permission",
              { ca_arn = ARN, principal = ACM, source_account = "12345678901a" },
              "source_account: expected a string of 12 digits" },
            { "list_permissions", { ca_arn = ARN, max_results = 0 },
              "max_results: expected an integer from 1 to 1000, got 0" },
            { "list_permissions", { ca_arn = ARN, max_results = 1001 },
              "max_results: expected an integer from 1 to 1000, got 1001" },
            { "list_permissions", { ca_arn = ARN, max_results = 2.5 },
              "max_results: expected an integer from 1 to 1000, got 2.5" },
            { "list_permissions", { ca_arn = ARN, max_results = "10" },
              "max_results: expected an integer from 1 to 1000, got \"10\"" },
            { "list_permissions", { ca_arn = ARN, next_token = "" },
              "next_token: expected a non-empty string of at most 43739 characters, got \"\"" },
            { "list_permissions", { ca_arn = ARN, next_token = string.rep("t", 43740) },
              "next_token: expected a non-empty string of at most 43739 characters" },
            { "list_permissions", { ca_arn = ARN, next_token = 5 },
              "next_token: expected a non-empty string" },
            { "list_permissions", { ca_arn = ARN, principal = ACM },
              "unknown argument \"principal\"" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = ALL, ca_arm = 1 },
              "unknown argument \"ca_arm\"" },
            { "delete_permission", { ca_arn = ARN, principal = ACM, actions = ALL },
              "unknown argument \"actions\"" },
            -- names and actions are compared with their length, NUL included
            { "create_permission", { ca_arn = ARN, principal = ACM,
                                     actions = { "IssueCertificate\0x" } },
              "actions[1]: expected one of IssueCertificate, GetCertificate, ListPermissions, "
              .. "got \"IssueCertificate?x\"" },
            { "list_permissions", { ca_arn = ARN, ["max_results\0"] = 5 },
              "unknown argument \"max_results?\"" },
        }

        it("accepts the edges of every rule", function()
            local c, rec = new(nil, ok())
            assert(c:create_permission{ ca_arn = ARN, principal = string.rep("é", 128),
                                        actions = { "ListPermissions" } })
            assert(c:list_permissions{ ca_arn = ARN, max_results = 1000,
                                       next_token = string.rep("t", 43739) })
            assert(c:list_permissions{ ca_arn = "arn:aws-us-gov:acm-pca:us-gov-west-1:"
                                       .. "000000000000:certificate-authority/a_b.c" })
            assert(c:list_permissions{ ca_arn = ARN, max_results = 1 })
            assert.equals(4, #rec.calls)
            assert.equals(1000, cjson.decode(rec.calls[2].body).MaxResults)
        end)

        for i, rule in ipairs(rules) do
            local method, args, want, also = rule[1], rule[2], rule[3], rule[4]
            it(("rule %d: %s: %s"):format(i, method, want), function()
                for _, creds in ipairs{ CREDS, function() error("must not be called") end } do
                    local c, rec = new({ credentials = creds }, ok())
                    local ok_, err = pcall(c[method], c, args)
                    assert.is_false(ok_)
                    assert.is_string(err)
                    assert.matches("acmpca." .. method .. ": " .. want, err, 1, true)
                    if also then
                        assert.matches(also, err, 1, true)
                    end
                    assert.equals(0, #rec.calls)
                end
            end)
        end

        it("raises when the arguments are not a table", function()
            local c, rec = new(nil, ok())
            assert.has_error(function() c:list_permissions("arn") end,
                "acmpca.list_permissions: expected a table of arguments, got \"arn\"")
            assert.has_error(function() c:create_permission() end,
                "acmpca.create_permission: expected a table of arguments, got nil")
            assert.equals(0, #rec.calls)
        end)
    end)


    describe("core.parse_ca_arn", function()
        it("splits a CA ARN into partition, region, account and id", function()
            assert.same({ "aws", "eu-west-1", "123456789012",
                          "11111111-2222-3333-4444-555555555555" }, { core.parse_ca_arn(ARN) })
            assert.same({ "aws-us-gov", "us-gov-west-1", "000000000000", "a_b.c/d=e" },
                        { core.parse_ca_arn("arn:aws-us-gov:acm-pca:us-gov-west-1:000000000000:"
                                            .. "certificate-authority/a_b.c/d=e") })
        end)

        it("says why anything else is not one", function()
            local PFX = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
            local bad = {
                { nil, "expected a string, got nil" },
                { 42, "expected a string, got number" },
                { "x", "expected 5 to 200 characters" },
                { PFX .. string.rep("a", 201 - #PFX), "expected 5 to 200 characters" },
                { "urn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x",
                  "expected it to start with \"arn:\"" },
                { "arn::acm-pca:us-east-1:123456789012:certificate-authority/x", "bad partition" },
                { "arn:aws:acm:us-east-1:123456789012:certificate-authority/x",
                  "not an acm-pca ARN" },
                { "arn:aws:acm-pca::123456789012:certificate-authority/x", "bad region" },
                { "arn:aws:acm-pca:US-EAST-1:123456789012:certificate-authority/x", "bad region" },
                { "arn:aws:acm-pca:us-east-1:12345:certificate-authority/x",
                  "the account must be 12 digits" },
                { "arn:aws:acm-pca:us-east-1:1234567890123:certificate-authority/x",
                  "the account must be 12 digits" },
                { "arn:aws:acm-pca:us-east-1:123456789012:certificate/x",
                  "not a certificate-authority ARN" },
                { PFX, "bad resource id" },
                { PFX .. "a//b", "bad resource id" },
                { PFX .. "a/", "bad resource id" },
                { PFX .. "a b", "bad resource id" },
                { ARN .. "\n", "bad resource id" },
                { ARN .. "\0", "bad resource id" },
            }
            for _, case in ipairs(bad) do
                local v, why = core.parse_ca_arn(case[1])
                assert.is_nil(v)
                assert.equals(case[2], why)
            end
        end)

        it("is the rule of the client, acmpca.is_ca_arn and the mock alike", function()
            local acmpca = require "acmpca"
            local mock = require "acmpca.mock"
            local PFX = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
            local candidates = {
                ARN, PFX .. "x", PFX .. "a/b", PFX .. "a//b", PFX, PFX .. "a*b", "x",
                "arn:aws-cn:acm-pca:cn-north-1:123456789012:certificate-authority/a_b.c",
                "arn:aws:acm-pca:us-east-1:1234:certificate-authority/x",
                "arn:aws:acm-pca:us-east-1:111122223333:thing/x",
                "arn:aws:acm-pca:us_east_1:123456789012:certificate-authority/x",
                PFX .. string.rep("i", 200 - #PFX), PFX .. string.rep("i", 201 - #PFX),
            }
            for _, arn in ipairs(candidates) do
                local valid = core.parse_ca_arn(arn) ~= nil
                local c, rec = new(nil, ok())
                assert.equals(valid, (pcall(c.list_permissions, c, { ca_arn = arn })), arn)
                assert.equals(valid and 1 or 0, #rec.calls)
                assert.equals(valid, acmpca.is_ca_arn(arn), arn)
                -- the mock answers InvalidArnException (or, for what the model's
                -- own pattern refuses, ValidationException) exactly when the
                -- client refuses to send
                local svc = mock.new{ cas = { [arn] = "ACTIVE" } }
                local req = { method = "POST", url = "https://acm-pca.us-east-1.amazonaws.com/",
                              body = cjson.encode{ CertificateAuthorityArn = arn },
                              headers = { ["Content-Type"] = "application/x-amz-json-1.1",
                                          ["X-Amz-Target"] = "ACMPrivateCA.ListPermissions" } }
                req.headers = sigv4.sign(req, { region = "us-east-1", service = "acm-pca",
                                                credentials = svc.credentials })
                local res = svc(req)
                local code = cjson.decode(res.body).__type
                if valid then
                    assert.equals(200, res.status, arn)
                else
                    assert.is_truthy(code == "InvalidArnException"
                                     or code == "ValidationException", arn)
                end
            end
        end)
    end)


    describe("the JSON body (model order, written without lua-cjson's \\/)", function()
        -- these strings once went through the escaped-slash rewrite of
        -- lua-cjson 2.1.0's output; the model-driven encoder never writes \/
        local cases = {
            { "x/y", [["x/y"]] },
            { [[x\/y]], [["x\\/y"]] },
            { [[x\\/y/]], [["x\\\\/y/"]] },
            { '"/\\//', [["\"/\\//"]] },
            { "\1\31\127", [["\u0001\u001f]] .. "\127" .. [["]] },
            { "tab\tq\"", [["tab\tq\""]] },
            { "caf\195\169", "\"caf\195\169\"" },
            { string.rep("a/", 64), '"' .. string.rep("a/", 64) .. '"' },
        }
        for i, case in ipairs(cases) do
            it("case " .. i .. ": the exact body, which decodes to the value given", function()
                local c, rec = new(nil, ok())
                assert.is_true(c:create_permission{ actions = ALL, source_account = "123456789012",
                                                    principal = case[1], ca_arn = ARN })
                local body = rec.calls[1].body
                assert.equals('{"CertificateAuthorityArn":"' .. ARN .. '","Principal":'
                              .. case[2] .. ',"SourceAccount":"123456789012","Actions":'
                              .. '["IssueCertificate","GetCertificate","ListPermissions"]}', body)
                if not case[1]:find("\\", 1, true) then
                    assert.is_nil(body:find("\\/", 1, true))
                end
                assert.equals(case[1], cjson.decode(body).Principal)
            end)
        end

        it("sends {} for an operation without input members, and integers as integers", function()
            local c, rec = new(nil, ok('{"CertificateAuthorities":[]}'))
            assert.same({ certificate_authorities = {} }, c:list_certificate_authorities{})
            assert.equals("{}", rec.calls[1].body)
            assert(c:list_permissions{ next_token = "t", max_results = 10.0, ca_arn = ARN })
            -- the model's order for ListPermissionsRequest (aws-cli sends the same)
            assert.equals('{"MaxResults":10,"NextToken":"t","CertificateAuthorityArn":"' .. ARN
                          .. '"}', rec.calls[2].body)
        end)
    end)


    describe("errors", function()
        it("new_error builds objects with the shared __tostring", function()
            local e = core.new_error{ code = "X", message = "m", status = 500, request_id = "r" }
            assert.equals("X: m (HTTP 500, request id r)", tostring(e))
            assert.is_false(e.retryable)
            assert.equals("X: m", tostring(core.new_error{ code = "X", message = "m" }))
            assert.equals("X", tostring(core.new_error{ code = "X" }))
            assert.equals("X: m (request id r)",
                          tostring(core.new_error{ code = "X", message = "m", request_id = "r" }))
            assert.has_error(function() core.new_error{ message = "m" } end,
                             "bad argument #1 to 'new_error' (code: expected a string)")
        end)

        it("never carry credentials", function()
            local c = new({ credentials = TEMP }, service_error(403, "AccessDeniedException", "no"))
            local _, err = c:list_permissions{ ca_arn = ARN }
            for _, v in pairs(err) do
                assert_no_secret(tostring(v))
            end
            assert_no_secret(tostring(err))
        end)
    end)
end)
