-- acmpca.client with a mocked transport: options, the exact requests,
-- credentials errors, the JSON body, the error objects.  Responses and
-- retries are in response_spec.lua, validation in validate_spec.lua.

local F = require "support.client_fixture"
local client = F.client
local core = F.core
local sigv4 = F.sigv4
local cjson = F.cjson
local ARN = F.ARN
local ACM = F.ACM
local ALL = F.ALL
local SECRET = F.SECRET
local CREDS = F.CREDS
local TEMP = F.TEMP
local ok = F.ok
local service_error = F.service_error
local new = F.new
local assert_no_secret = F.assert_no_secret


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

        it("resolves dual-stack endpoints, and refuses them where the partition has none",
           function()
            local cases = {
                { { region = "eu-west-1", use_dualstack = true },
                  "https://acm-pca.eu-west-1.api.aws/" },
                { { region = "eu-west-1", use_dualstack = true, use_fips = true },
                  "https://acm-pca-fips.eu-west-1.api.aws/" },
                { { region = "us-gov-west-1", use_dualstack = true, use_fips = true },
                  "https://acm-pca-fips.us-gov-west-1.api.aws/" },
                { { region = "cn-north-1", env = { AWS_USE_DUALSTACK_ENDPOINT = "true" } },
                  "https://acm-pca.cn-north-1.api.amazonwebservices.com.cn/" },
            }
            for _, case in ipairs(cases) do
                local c, rec = new(case[1], ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals(case[2], rec.calls[1].url)
                assert.equals(case[2]:match("//([^/]+)/"), rec.calls[1].headers.Host)
            end
            assert.has_error(function()
                new({ region = "us-isob-east-1", use_dualstack = true })
            end,
                "acmpca.new: use_dualstack: dual-stack is enabled but this partition does not "
                .. "support it (region us-isob-east-1, partition aws-iso-b)")
            -- no region: the CA ARN's partition decides, at the call
            local c, rec = new({ region = false, use_dualstack = true, use_fips = true }, ok())
            assert.matches("acm-pca-fips.<region>.api.aws", tostring(c), 1, true)
            local iso = "arn:aws-iso:acm-pca:us-iso-east-1:111122223333:certificate-authority/"
                .. "12345678-1234-1234-1234-123456789012"
            local res, err = c:delete_permission{ ca_arn = iso, principal = ACM }
            assert.is_nil(res)
            assert.equals("ConfigError", err.code)
            assert.equals("use_dualstack: FIPS and dual-stack are enabled, but this partition "
                          .. "does not support one or both (region us-iso-east-1, partition "
                          .. "aws-iso)", err.message)
            assert.equals(0, #rec.calls)
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals("https://acm-pca-fips.eu-west-1.api.aws/", rec.calls[1].url)
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
                { { endpoint = "http://user@h" },
                  "acmpca.new: endpoint: userinfo (user:password@) is not allowed" },
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
            local lua_v = rawget(_G, "jit") and "5.1" or "5.4"
            assert.equals("lua-acmpca/" .. core._VERSION .. " lua/" .. lua_v, h["User-Agent"])
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

        it("keeps the cause a credential source gave (STS's own error object)", function()
            local sts_err = { code = "AccessDenied", message = "not authorized", status = 403 }
            local function denied()
                return nil, { code = "CredentialsError", message = "AssumeRole failed",
                              cause = sts_err }
            end
            local c, rec = new({ credentials = denied }, ok())
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("CredentialsError", err.code)
            assert.equals("AssumeRole failed", err.message)
            assert.equals(sts_err, err.cause)
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
