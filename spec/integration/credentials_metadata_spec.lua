-- acmpca.credentials' container and IMDS providers against a local stand-in
-- (spec/support/metadata_stub.py) on 127.0.0.1.

local credentials = require "acmpca.credentials"
local stubmod = require "support.metadata_stub"
local socket_transport = require "support.socket_transport"
local F = require "support.creds_fixture"
local T0 = F.T0
local write = F.write
local iso = F.iso
local fake_http = F.fake_http
local no_secret = F.no_secret


describe("acmpca.credentials", function()
    local S = F.sandbox()
    local opts = S.opts
    before_each(S.reset)
    after_each(S.cleanup)

    describe("with the local metadata stand-in", function()
        local stub

        setup(function()
            stub = stubmod.start()
        end)

        teardown(function()
            stub:stop()
        end)

        before_each(function()
            stub:reset()
        end)

        local function http_log()
            local log = {}
            return function(req)
                log[#log + 1] = req
                local r = {}
                for k, v in pairs(req) do
                    r[k] = v
                end
                r.url = req.url:gsub("^http://169%.254%.170%.2", stub.url)
                return socket_transport.request(r)
            end, log
        end

        describe("container", function()
            it("GETs http://169.254.170.2<relative uri>", function()
                S.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/task"
                local http, log = http_log()
                local c = assert(credentials.provider(opts{ http = http })())
                assert.equals("http://169.254.170.2/v2/credentials/task", log[1].url)
                assert.equals("GET", log[1].method)
                assert.equals("application/json", log[1].headers.Accept)
                assert.is_nil(log[1].headers.Authorization)
                assert.same({ "ASIACONTAINER5678", "container-secret-value",
                              "container-session-token", "container" },
                    { c.access_key_id, c.secret_access_key, c.session_token, c.source })
                assert.equals(credentials.parse_time("2030-01-01T00:00:00Z"), c.expiration)
            end)

            it("prefers the relative URI to the full URI", function()
                S.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/task"
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:1/other"
                local http, log = http_log()
                assert(credentials.provider(opts{ http = http })())
                assert.equals("http://169.254.170.2/v2/credentials/task", log[1].url)
            end)

            it("sends AWS_CONTAINER_AUTHORIZATION_TOKEN to the full URI", function()
                stub:config{ container_auth = "Bearer abc" }
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = stub.url .. "/v2/credentials/task"
                S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer abc"
                local c = assert(credentials.provider(opts{ http = socket_transport.request })())
                assert.equals("container", c.source)
                local calls = stub:calls()
                assert.equals(1, #calls)
                assert.equals("Bearer abc", calls[1].auth)
            end)

            it("prefers AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE to the variable", function()
                stub:config{ container_auth = "from-file" }
                write(S.home .. "/token", "from-file\n")
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = stub.url .. "/v2/credentials/task"
                S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "from-variable"
                S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = S.home .. "/token"
                assert(credentials.provider(opts{ http = socket_transport.request })())
                assert.equals("from-file", stub:calls()[1].auth)
            end)

            it("fails after 3 attempts when the endpoint rejects the token, never showing it",
                function()
                    stub:config{ container_auth = "right" }
                    S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = stub.url .. "/v2/credentials/task"
                    S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "wrong-token-value"
                    S.env.AWS_EC2_METADATA_DISABLED = nil
                    local c, err = credentials.provider(opts{ http = socket_transport.request })()
                    assert.is_nil(c)
                    assert.equals("acmpca: container credentials from " .. stub.url
                        .. "/v2/credentials/task failed after 3 attempts: HTTP 401: "
                        .. "bad authorization", err.message)
                    no_secret(err, { "wrong-token-value" })
                    assert.equals(3, #stub:calls())
                    assert.same({ 1, 1 }, S.sleeps)
                end)

            it("fails on a response that is not JSON", function()
                stub:config{ container_body = "<html>" }
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = stub.url .. "/v2/credentials/task"
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.matches(
                    "failed after 3 attempts: the response is not a JSON object$",
                    err.message)
            end)

            it("rejects an http full URI on a host that is not allowed, sending nothing",
                function()
                    S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://example.com/creds"
                    local http, log = fake_http()
                    local c, err = credentials.provider(opts{ http = http })()
                    assert.is_nil(c)
                    assert.equals('acmpca: AWS_CONTAINER_CREDENTIALS_FULL_URI host "example.com" '
                        .. "is not allowed: http URLs must use a loopback address, "
                        .. "169.254.170.2, 169.254.170.23 or fd00:ec2::23 (https URLs may use "
                        .. "any host)", err.message)
                    assert.equals(0, #log)
                end)

            it("rejects a full URI that is not http(s), sending nothing", function()
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "file:///etc/passwd"
                local http, log = fake_http()
                local c, err = credentials.provider(opts{ http = http })()
                assert.is_nil(c)
                assert.equals(
                    "acmpca: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL",
                    err.message)
                assert.equals(0, #log)
            end)

            it("allows loopback, the ECS and EKS hosts, and https anywhere", function()
                local body = '{"AccessKeyId": "A", "SecretAccessKey": "s", "Token": "t"}'
                for _, url in ipairs{ "http://127.0.0.2:8080/c", "http://localhost/c",
                        "http://[::1]:9/c", "http://169.254.170.2/c", "http://169.254.170.23/v1/c",
                        "http://[fd00:ec2::23]/c", "https://creds.example.com/c" } do
                    S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = url
                    local http, log = fake_http(function()
                        return { status = 200, headers = {}, body = body }
                    end)
                    local c = assert(credentials.provider(opts{ http = http })())
                    assert.equals("container", c.source)
                    assert.equals(url, log[1].url)
                end
            end)

            it("rejects a token with a line break, sending nothing", function()
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1/c"
                S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "abc\r\nX-Evil: 1"
                local http, log = fake_http()
                local c, err = credentials.provider(opts{ http = http })()
                assert.is_nil(c)
                assert.equals(
                    "acmpca: the container authorization token contains a line break",
                    err.message)
                assert.equals(0, #log)
            end)

            it("fails on an unreadable token file, sending nothing", function()
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1/c"
                S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = S.home .. "/missing"
                local http, log = fake_http()
                local c, err = credentials.provider(opts{ http = http })()
                assert.is_nil(c)
                assert.matches(
                    "^acmpca: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: ",
                    err.message)
                assert.equals(0, #log)
            end)

            it("refuses a token file that is too large or not a regular file", function()
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1/c"
                local path = S.home .. "/token"
                S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = path
                write(path, ("t"):rep(16 * 1024 + 1))
                local http, log = fake_http()
                local c, err = credentials.provider(opts{ http = http })()
                assert.is_nil(c)
                assert.matches("^acmpca: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "
                               .. ".*larger than 16384 bytes", err.message)
                os.remove(path)
                assert(os.execute("mkfifo " .. path))
                c, err = credentials.provider(opts{ http = http })()
                assert.is_nil(c)
                assert.matches("not a regular file", err.message)
                assert.equals(0, #log)
            end)

            it("refreshes before expiry, re-reading the token file", function()
                stub:config{ container_auth = "t1", container_creds = {
                    AccessKeyId = "AKIDC1", SecretAccessKey = "s", Token = "t",
                    Expiration = iso(T0 + 3600) } }
                write(S.home .. "/token", "t1")
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = stub.url .. "/v2/credentials/task"
                S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = S.home .. "/token"
                local p = credentials.provider(opts{ http = socket_transport.request })
                assert.equals("AKIDC1", p().access_key_id)
                stub:config{ container_auth = "t2", container_creds = {
                    AccessKeyId = "AKIDC2", SecretAccessKey = "s", Token = "t",
                    Expiration = iso(T0 + 7200) } }
                write(S.home .. "/token", "t2")
                S.clock = T0 + 3600 - 300
                assert.equals("AKIDC2", p().access_key_id)
                assert.equals(2, #stub:calls())
            end)
        end)

        describe("IMDS", function()
            before_each(function()
                S.env.AWS_EC2_METADATA_DISABLED = nil
                S.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = stub.url
            end)

            it("uses IMDSv2: token PUT, role listing and role credentials", function()
                local c = assert(credentials.provider(opts{ http = socket_transport.request })())
                assert.same({ "ASIAIMDSEXAMPLE1234", "imds-secret-value", "imds-session-token",
                              "imds" },
                    { c.access_key_id, c.secret_access_key, c.session_token, c.source })
                assert.equals(credentials.parse_time("2030-01-01T00:00:00Z"), c.expiration)
                local calls = stub:calls()
                assert.equals(3, #calls)
                assert.same({ "PUT", "/latest/api/token", "21600" },
                            { calls[1].method, calls[1].path, calls[1].ttl })
                assert.same({ "GET", "/latest/meta-data/iam/security-credentials/", true },
                            { calls[2].method, calls[2].path, calls[2].token })
                assert.same({ "GET", "/latest/meta-data/iam/security-credentials/test-role",
                              true }, { calls[3].method, calls[3].path, calls[3].token })
            end)

            it("has a stand-in that rejects a GET without a token", function()
                local res = assert(socket_transport.request{ method = "GET",
                    url = stub.url .. "/latest/meta-data/iam/security-credentials/" })
                assert.equals(401, res.status)
            end)

            it("sends short timeouts (1 s by default)", function()
                local reqs = {}
                local http = function(req)
                    reqs[#reqs + 1] = req
                    return socket_transport.request(req)
                end
                assert(credentials.provider(opts{ http = http })())
                assert.same({ 1, 1 }, { reqs[1].timeout, reqs[1].connect_timeout })
            end)

            it("falls back to IMDSv1 when the token PUT gets 405", function()
                stub:config{ imds_mode = "v1", token_status = 405 }
                local c = assert(credentials.provider(opts{ http = socket_transport.request })())
                assert.equals("imds", c.source)
                local calls = stub:calls()
                assert.equals(3, #calls)
                assert.is_false(calls[2].token)
                assert.is_false(calls[3].token)
            end)

            it("falls back to IMDSv1 on 403 as well", function()
                stub:config{ imds_mode = "v1", token_status = 403 }
                assert(credentials.provider(opts{ http = socket_transport.request })())
            end)

            it("does not fall back when AWS_EC2_METADATA_V1_DISABLED=true", function()
                stub:config{ imds_mode = "v1", token_status = 404 }
                S.env.AWS_EC2_METADATA_V1_DISABLED = "true"
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.matches("EC2 instance metadata %(" .. stub.url:gsub("%p", "%%%0")
                    .. ": IMDSv2 token request got HTTP 404 and IMDSv1 is disabled", err.message)
                assert.equals(1, #stub:calls())
            end)

            it("does not fall back on a 400 from the token PUT", function()
                stub:config{ imds_mode = "v1", token_status = 400 }
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.matches("IMDSv2 token request got HTTP 400", err.message)
                assert.equals(1, #stub:calls())
            end)

            it("is skipped entirely with AWS_EC2_METADATA_DISABLED=true", function()
                S.env.AWS_EC2_METADATA_DISABLED = "TRUE"
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.matches("EC2 instance metadata %(disabled by AWS_EC2_METADATA_DISABLED="
                    .. "true%)$", err.message)
                assert.equals(0, #stub:calls())
            end)

            it("reports an instance without a role", function()
                stub:config{ role = "" }
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.matches("no IAM role attached to the instance %(HTTP 404%)%)$", err.message)
            end)

            it("honours AWS_METADATA_SERVICE_NUM_ATTEMPTS", function()
                stub:config{ role_status = 500 }
                S.env.AWS_METADATA_SERVICE_NUM_ATTEMPTS = "3"
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.matches("listing IAM roles got HTTP 500", err.message)
                local calls = stub:calls()
                assert.equals(4, #calls)
                assert.equals("PUT", calls[1].method)
            end)

            it("honours AWS_METADATA_SERVICE_TIMEOUT and reports a timeout", function()
                stub:config{ delay = 1 }
                S.env.AWS_METADATA_SERVICE_TIMEOUT = "0.2"
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.matches("EC2 instance metadata %(" .. stub.url:gsub("%p", "%%%0")
                    .. ": timed out%)$", err.message)
                assert.equals(1, #stub:calls())
            end)

            it("reads metadata settings from the profile too", function()
                S.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = nil
                write(S.home .. "/.aws/config", "[default]\nec2_metadata_service_endpoint = "
                    .. stub.url .. "/\nmetadata_service_timeout = 2\n")
                local reqs = {}
                local http = function(req)
                    reqs[#reqs + 1] = req
                    return socket_transport.request(req)
                end
                assert(credentials.provider(opts{ http = http })())
                assert.equals(stub.url .. "/latest/api/token", reqs[1].url)
                assert.equals(2, reqs[1].timeout)
            end)

            it("rejects a bad AWS_METADATA_SERVICE_TIMEOUT, sending nothing", function()
                S.env.AWS_METADATA_SERVICE_TIMEOUT = "soon"
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.equals('acmpca: AWS_METADATA_SERVICE_TIMEOUT must be a positive number '
                    .. 'of seconds, got "soon"', err.message)
                assert.equals(0, #stub:calls())
            end)

            it("rejects a bad AWS_METADATA_SERVICE_NUM_ATTEMPTS, sending nothing", function()
                S.env.AWS_METADATA_SERVICE_NUM_ATTEMPTS = "0"
                local c, err = credentials.provider(opts{ http = socket_transport.request })()
                assert.is_nil(c)
                assert.equals('acmpca: AWS_METADATA_SERVICE_NUM_ATTEMPTS must be a whole number '
                    .. '>= 1, got "0"', err.message)
                assert.equals(0, #stub:calls())
            end)

            it("comes after the container source", function()
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = stub.url .. "/v2/credentials/task"
                local c = assert(credentials.provider(opts{ http = socket_transport.request })())
                assert.equals("container", c.source)
                assert.equals(1, #stub:calls())
            end)

            it("works through the default transport, acmpca.core.http_new", function()
                -- Must fail (not skip) while the C transport is missing.
                local core = require "acmpca.core"
                assert.is_function(core.http_new, "acmpca.core.http_new is missing")
                local c, err = credentials.provider(opts())()
                assert.is_table(c, err)
                assert.equals("imds", c.source)
                assert.equals(3, #stub:calls())
            end)
        end)

        describe("refresh", function()
            local function imds_creds(key, exp)
                stub:config{ creds = { Code = "Success", AccessKeyId = key,
                    SecretAccessKey = "imds-secret-" .. key, Token = "imds-token-" .. key,
                    Expiration = iso(exp) } }
            end

            before_each(function()
                S.env.AWS_EC2_METADATA_DISABLED = nil
                S.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = stub.url
                imds_creds("AKIDIMDS1", T0 + 3600)
            end)

            it("keeps cached credentials while more than 15 minutes remain", function()
                local p = credentials.provider(opts{ http = socket_transport.request })
                local c1 = p()
                S.clock = T0 + 3600 - 901
                assert.equals(c1, p())
                assert.equals(3, #stub:calls())
            end)

            it("refreshes once fewer than 15 minutes remain", function()
                local p = credentials.provider(opts{ http = socket_transport.request })
                p()
                imds_creds("AKIDIMDS2", T0 + 7200)
                S.clock = T0 + 3600 - 899
                local c = p()
                assert.equals("AKIDIMDS2", c.access_key_id)
                assert.equals(T0 + 7200, c.expiration)
                assert.equals(6, #stub:calls())
                assert.equals(c, p())
                assert.equals(6, #stub:calls())
            end)

            it("keeps the old credentials when an advisory refresh fails", function()
                local p = credentials.provider(opts{ http = socket_transport.request })
                local c1 = p()
                stub:config{ creds_status = 500 }
                S.clock = T0 + 3600 - 800
                assert.equals(c1, p())
                local n = #stub:calls()
                assert.equals(6, n)
                -- Not retried on every call.
                S.clock = S.clock + 10
                assert.equals(c1, p())
                assert.equals(n, #stub:calls())
            end)

            it("fails when a mandatory refresh (under 10 minutes left) fails", function()
                local p = credentials.provider(opts{ http = socket_transport.request })
                p()
                stub:config{ creds_status = 500 }
                S.clock = T0 + 3600 - 300
                local c, err = p()
                assert.is_nil(c)
                assert.matches("^acmpca: credentials from imds expire soon and could not be "
                    .. "refreshed: ", err.message)
                no_secret(err, { "imds-secret-AKIDIMDS1", "imds-token-AKIDIMDS1" })
                stub:config{ creds_status = 200 }
                imds_creds("AKIDIMDS3", T0 + 7200)
                assert.equals("AKIDIMDS3", p().access_key_id)
            end)
        end)
    end)

end)
