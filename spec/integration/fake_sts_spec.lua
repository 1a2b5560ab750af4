-- The local STS and SSO portal stand-in (spec/support/fake_sts.py) itself:
-- botocore's own STS and SSO clients against it (fake_sts_selftest.py),
-- then direct checks from Lua over acmpca.core's libcurl handle: requests
-- signed by acmpca.sigv4 and verified by the fake with botocore, stats,
-- faults, reset, an oversized body, hostile bytes, and stopping by PID.

local sts_fixture = require "support.sts_fixture"
local proc = require "support.proc"
local sigv4 = require "acmpca.sigv4"
local cjson = require "cjson.safe"
local socket = require "socket"

local ACCOUNT = "111122223333"
local KEY = { access_key_id = "AKIDFAKESTSSPEC00001",
              secret_access_key = "fakeSTSspec/Secret+0123456789abcdefghij" }
local ROLE = "arn:aws:iam::" .. ACCOUNT .. ":role/spec-role"
local WEB_ROLE = "arn:aws:iam::" .. ACCOUNT .. ":role/spec-web"
local WEB_TOKEN = "fake-sts-spec-web-identity-token"
local SSO_TOKEN = "fake-sts-spec-sso-access-token"
local FORM = "application/x-www-form-urlencoded; charset=utf-8"

local CONFIG = {
    account = ACCOUNT,
    credentials = { [KEY.access_key_id] = { secret = KEY.secret_access_key } },
    roles = {
        [ROLE] = { trust = { KEY.access_key_id } },
        [WEB_ROLE] = { trust = {}, web_identity = true },
    },
    web_identity = { token = WEB_TOKEN },
    sso = { tokens = { [SSO_TOKEN] = { accounts = { [ACCOUNT] = { "Admin" } } } } },
}


-- application/x-www-form-urlencoded of an ordered list of pairs.
local function form(pairs_list)
    local out = {}
    for i, kv in ipairs(pairs_list) do
        out[i] = kv[1] .. "=" .. tostring(kv[2]):gsub("[^%w%-_.~]", function(c)
            return string.format("%%%02X", c:byte())
        end)
    end
    return table.concat(out, "&")
end


-- The text of the first <name> element of an XML answer.
local function field(xml, name)
    return xml:match("<" .. name .. ">([^<]*)</" .. name .. ">")
end


describe("fake_sts.py", function()
    local sts

    lazy_setup(function()
        sts = assert(sts_fixture.start(CONFIG))
    end)

    lazy_teardown(function()
        if sts then
            sts.stop()
        end
    end)

    before_each(function()
        sts.reset()
    end)


    -- POSTs an STS action; signed with creds unless creds is false.
    local function call(params, creds, opts)
        opts = opts or {}
        local body = form(params)
        local req = { method = "POST", url = sts.url .. "/", body = body,
                      headers = { ["Content-Type"] = opts.content_type or FORM } }
        if creds then
            req.headers = sigv4.sign(req, { region = opts.region or "us-east-1",
                                            service = "sts", credentials = creds })
        end
        return assert(sts.request("POST", "/", body, req.headers))
    end


    local function web_identity(token, session)
        return call({ { "Action", "AssumeRoleWithWebIdentity" }, { "Version", "2011-06-15" },
                      { "RoleArn", WEB_ROLE }, { "RoleSessionName", session or "spec-web" },
                      { "WebIdentityToken", token or WEB_TOKEN } }, false)
    end


    local function assume_role(creds, session)
        return call({ { "Action", "AssumeRole" }, { "Version", "2011-06-15" },
                      { "RoleArn", ROLE }, { "RoleSessionName", session or "spec-session" } },
                    creds)
    end


    local function caller_identity(creds)
        return call({ { "Action", "GetCallerIdentity" }, { "Version", "2011-06-15" } }, creds)
    end


    describe("checked with botocore's own clients", function()
        it("passes fake_sts_selftest.py", function()
            local out = proc.read_cmd(proc.CLEAN_ENV .. sts_fixture.python .. " "
                .. proc.quote(sts_fixture.selftest) .. " --port " .. sts.port
                .. " 2>&1; echo \"exit=$?\"")
            assert.matches("\nexit=0\n$", out, 1, false)
            assert.is_nil(out:find("not ok", 1, true), out)
            local passed, failed = out:match("\n(%d+) passed, (%d+) failed\n")
            assert.equals("0", failed, out)
            assert.is_true(tonumber(passed) >= 28, out)
            for _, line in ipairs{
                "AssumeRole answers credentials that expire an hour later",
                "role A's credentials assume role B (a chain of two roles)",
                "AssumeRoleWithWebIdentity, unsigned as botocore sends it",
                "a wrong secret is SignatureDoesNotMatch 403, an unknown key "
                    .. "InvalidClientTokenId 403",
                "injected faults surface as botocore's ClientError with code and status",
                "SSO GetRoleCredentials answers credentials that then sign STS calls",
                "SSO: unknown or expired token 401, role not granted 403, faults",
            } do
                assert.truthy(out:find("\nok %d+ %- " .. line:gsub("%p", "%%%0") .. "\n"), line)
            end
            -- the selftest leaves the fake as it found it: the spec's config back
            assert.equals(200, assume_role(KEY).status)
        end)

        it("fails (exit 1, not ok lines) when the fake is not there", function()
            local out = proc.read_cmd(proc.CLEAN_ENV .. sts_fixture.python .. " "
                .. proc.quote(sts_fixture.selftest) .. " --port " .. proc.free_port()
                .. " 2>&1; echo \"exit=$?\"")
            assert.is_nil(out:find("\nexit=0\n", 1, true), out)
        end)
    end)


    describe("STS over acmpca.core's http handle", function()
        it("verifies acmpca.sigv4's signature and answers GetCallerIdentity", function()
            local res = caller_identity(KEY)
            assert.equals(200, res.status, res.body)
            assert.equals("text/xml", res.headers["content-type"])
            assert.equals("arn:aws:iam::" .. ACCOUNT .. ":user/" .. KEY.access_key_id,
                          field(res.body, "Arn"))
            assert.equals(res.headers["x-amzn-requestid"], field(res.body, "RequestId"))
            assert.matches('^<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/'
                           .. 'doc/2011%-06%-15/">', res.body)
        end)

        it("refuses a wrong secret with SignatureDoesNotMatch 403", function()
            local res = caller_identity{ access_key_id = KEY.access_key_id,
                                         secret_access_key = "wrong" }
            assert.equals(403, res.status)
            assert.equals("SignatureDoesNotMatch", field(res.body, "Code"))
            assert.equals("Sender", field(res.body, "Type"))
            assert.matches("^<ErrorResponse xmlns=", res.body)
        end)

        it("refuses a region the fake is not in, and an unsigned AssumeRole", function()
            local res = call({ { "Action", "GetCallerIdentity" }, { "Version", "2011-06-15" } },
                             KEY, { region = "eu-west-1" })
            assert.equals(403, res.status)
            assert.equals("SignatureDoesNotMatch", field(res.body, "Code"))
            assert.equals("Credential should be scoped to a valid region. ",
                          field(res.body, "Message"))
            res = assume_role(false)
            assert.equals(403, res.status)
            assert.equals("MissingAuthenticationToken", field(res.body, "Code"))
        end)

        it("hands out credentials that sign the next call (assumed-role ARN)", function()
            local res = assume_role(KEY, "lua-session")
            assert.equals(200, res.status, res.body)
            local creds = { access_key_id = field(res.body, "AccessKeyId"),
                            secret_access_key = field(res.body, "SecretAccessKey"),
                            session_token = field(res.body, "SessionToken") }
            assert.matches("^ASIA[A-Z2-7]+$", creds.access_key_id)
            assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", field(res.body, "Expiration"))
            res = caller_identity(creds)
            assert.equals(200, res.status, res.body)
            assert.equals("arn:aws:sts::" .. ACCOUNT .. ":assumed-role/spec-role/lua-session",
                          field(res.body, "Arn"))
            local rec = sts.stats().requests
            assert.equals(creds.access_key_id, rec[2].access_key_id)
            assert.is_true(rec[2].has_session_token)
        end)

        it("answers AssumeRoleWithWebIdentity unsigned, and records it unsigned", function()
            local res = web_identity()
            assert.equals(200, res.status, res.body)
            assert.truthy(field(res.body, "SessionToken"))
            assert.equals("sts.amazonaws.com", field(res.body, "Audience"))
            local st = sts.stats()
            assert.same({ AssumeRoleWithWebIdentity = 1 }, st.counts)
            assert.equals(false, st.requests[1].signed)
            assert.equals("spec-web", st.requests[1].session_name)
            assert.equals(WEB_ROLE, st.requests[1].role_arn)
            res = web_identity("not-the-token")
            assert.equals(400, res.status)
            assert.equals("InvalidIdentityToken", field(res.body, "Code"))
            assert.is_nil(res.body:find("not-the-token", 1, true))
        end)

        it("refuses a signed AssumeRoleWithWebIdentity", function()
            local res = call({ { "Action", "AssumeRoleWithWebIdentity" },
                               { "Version", "2011-06-15" }, { "RoleArn", WEB_ROLE },
                               { "RoleSessionName", "spec-web" },
                               { "WebIdentityToken", WEB_TOKEN } }, KEY)
            assert.equals(400, res.status)
            assert.equals("InvalidParameterCombination", field(res.body, "Code"))
        end)

        it("re-reads web_identity.token_file per request", function()
            local dir = assert(proc.tmpdir("sts-token"))
            local file = dir .. "/token"
            proc.write_file(file, "first-token-0001")
            sts.control{ config = { web_identity = { token_file = file } } }
            assert.equals(200, web_identity("first-token-0001").status)
            proc.write_file(file, "second-token-0002")
            assert.equals("InvalidIdentityToken", field(web_identity("first-token-0001").body,
                                                        "Code"))
            assert.equals(200, web_identity("second-token-0002").status)
            proc.run("rm -rf " .. proc.quote(dir))
        end)

        it("answers an unknown Action 400 InvalidAction, no Action 400 MissingAction", function()
            local res = call({ { "Action", "GetSessionTokenX" }, { "Version", "2011-06-15" } }, KEY)
            assert.equals(400, res.status)
            assert.equals("InvalidAction", field(res.body, "Code"))
            assert.equals("Could not find operation GetSessionTokenX for version 2011-06-15",
                          field(res.body, "Message"))
            res = call({ { "Version", "2011-06-15" } }, KEY)
            assert.equals(400, res.status)
            assert.equals("MissingAction", field(res.body, "Code"))
            -- a body that is not form-encoded is not read as parameters
            res = call({ { "Action", "GetCallerIdentity" }, { "Version", "2011-06-15" } }, KEY,
                       { content_type = "application/json" })
            assert.equals("MissingAction", field(res.body, "Code"))
        end)

        it("refuses a body over 64 KiB with 413, and serves on", function()
            local body = "Action=GetCallerIdentity&Version=2011-06-15&Pad=" .. ("a"):rep(70000)
            local res = assert(sts.request("POST", "/", body, { ["Content-Type"] = FORM }))
            assert.equals(413, res.status)
            assert.equals("RequestEntityTooLarge", field(res.body, "Code"))
            assert.equals("Request body exceeds 65536 bytes", field(res.body, "Message"))
            local rec = sts.stats().requests[1]
            assert.same({ 413, "RequestEntityTooLarge" }, { rec.status, rec.code })
            -- 64 KiB exactly is read
            body = "Action=GetCallerIdentity&Version=2011-06-15&Pad="
            body = body .. ("a"):rep(65536 - #body)
            res = assert(sts.request("POST", "/", body, { ["Content-Type"] = FORM }))
            assert.equals(403, res.status)
            assert.equals("MissingAuthenticationToken", field(res.body, "Code"))
        end)

        it("survives hostile bytes on a raw connection", function()
            for _, case in ipairs{
                { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", "400" },
                { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Type: "
                    .. FORM .. "\r\n\r\n\255\254%z", "400" },
                { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                  "400" },
                { "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", "404" },
            } do
                local c = assert(socket.connect("127.0.0.1", sts.port))
                c:settimeout(10)
                c:send(case[1])
                local line = c:receive("*l")
                c:close()
                assert.equals("HTTP/1.1 " .. case[2], (line or ""):sub(1, 12))
            end
            -- not HTTP at all: whatever Python's server answers, the fake serves on
            local c = assert(socket.connect("127.0.0.1", sts.port))
            c:settimeout(10)
            c:send("\0\1\2 garbage\r\n\r\n")
            c:receive("*a")
            c:close()
            assert.equals(200, caller_identity(KEY).status)
        end)
    end)


    describe("SSO portal", function()
        local function sso(token, role, account)
            local path = "/federation/credentials?role_name=" .. (role or "Admin")
                .. "&account_id=" .. (account or ACCOUNT)
            return assert(sts.request("GET", path, nil,
                                      { ["x-amz-sso_bearer_token"] = token or SSO_TOKEN }))
        end

        it("answers roleCredentials whose keys then sign STS calls", function()
            local res = sso()
            assert.equals(200, res.status, res.body)
            local c = assert(cjson.decode(res.body)).roleCredentials
            assert.equals("number", type(c.expiration))
            assert.is_true(c.expiration > os.time() * 1000)
            res = caller_identity{ access_key_id = c.accessKeyId,
                                   secret_access_key = c.secretAccessKey,
                                   session_token = c.sessionToken }
            assert.equals(200, res.status, res.body)
            assert.matches(":assumed%-role/AWSReservedSSO_Admin_%x+/sso%-user$",
                           field(res.body, "Arn"))
        end)

        it("answers an unknown token 401 and a role not granted 403", function()
            local res = sso("not-a-token")
            assert.equals(401, res.status)
            assert.equals("UnauthorizedException", res.headers["x-amzn-errortype"])
            assert.same({ message = "Session token not found or invalid" },
                        cjson.decode(res.body))
            res = sso(nil, "Billing")
            assert.equals(403, res.status)
            assert.equals("ForbiddenException", res.headers["x-amzn-errortype"])
            local st = sts.stats()
            assert.same({ GetRoleCredentials = 2 }, st.counts)
            assert.equals("Billing", st.requests[2].role_name)
        end)
    end)


    describe("control plane", function()
        it("counts requests per action", function()
            caller_identity(KEY)
            caller_identity(KEY)
            assume_role(KEY)
            web_identity()
            local st = sts.stats()
            assert.same({ GetCallerIdentity = 2, AssumeRole = 1, AssumeRoleWithWebIdentity = 1 },
                        st.counts)
            assert.equals(4, st.total)
            assert.same({ 1, 2, 3, 4 }, { st.requests[1].seq, st.requests[2].seq,
                                          st.requests[3].seq, st.requests[4].seq })
        end)

        it("answers the next matching requests with an injected fault", function()
            local out = sts.control{ faults = { { action = "AssumeRole", status = 400,
                                                  code = "Throttling", message = "Rate exceeded",
                                                  times = 2 } } }
            assert.equals(1, #out.faults)
            assert.equals(200, caller_identity(KEY).status)      -- another action
            for _ = 1, 2 do
                local res = assume_role(KEY)
                assert.equals(400, res.status)
                assert.equals("Throttling", field(res.body, "Code"))
                assert.equals("Rate exceeded", field(res.body, "Message"))
            end
            assert.equals(200, assume_role(KEY).status)
            local codes = {}
            for i, r in ipairs(sts.stats().requests) do
                codes[i] = r.code == cjson.null and "ok" or r.code
            end
            assert.same({ "ok", "Throttling", "Throttling", "ok" }, codes)
        end)

        it("injects SSO faults as JSON with x-amzn-ErrorType", function()
            sts:control{ faults = { { action = "GetRoleCredentials", status = 429,
                                      code = "TooManyRequestsException", message = "slow" } } }
            local res = assert(sts.request("GET", "/federation/credentials?role_name=Admin"
                .. "&account_id=" .. ACCOUNT, nil, { ["x-amz-sso_bearer_token"] = SSO_TOKEN }))
            assert.equals(429, res.status)
            assert.equals("TooManyRequestsException", res.headers["x-amzn-errortype"])
            assert.same({ message = "slow" }, cjson.decode(res.body))
        end)

        it("refuses a bad control body with the reason", function()
            assert.has_error(function() sts.control{ bogus = true } end,
                'fake_sts /__control: HTTP 400: {"error": "ConfigError: unknown control '
                .. 'key(s) bogus"}')
            assert.has_error(function()
                sts.control{ faults = { { action = "Nope" } } }
            end, 'fake_sts /__control: HTTP 400: {"error": "ConfigError: fault action must be '
                .. 'one of AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity, '
                .. 'GetRoleCredentials or *"}')
            assert.has_error(function() sts.control{ config = { roles = { x = {} } } } end,
                'fake_sts /__control: HTTP 400: {"error": "ConfigError: roles[x]: not an '
                .. 'IAM role ARN"}')
            assert.has_error(function() sts.control("x") end,
                "sts_fixture control: expected a table")
            assert.same({}, sts.control{}.faults)
        end)

        it("reset drops counts, faults, delay, handed-out keys and config changes", function()
            local res = assume_role(KEY)
            local creds = { access_key_id = field(res.body, "AccessKeyId"),
                            secret_access_key = field(res.body, "SecretAccessKey"),
                            session_token = field(res.body, "SessionToken") }
            sts.control{ faults = { { action = "*" } }, delay_ms = 1,
                         config = { web_identity = { token = "replaced-token" } } }
            sts.reset()
            local st = sts.stats()
            assert.same({ 0, {} }, { st.total, st.counts })
            local out = sts.control{}
            assert.same({ {}, 0 }, { out.faults, out.delay_ms })
            assert.equals(200, web_identity().status)             -- the start token again
            res = caller_identity(creds)
            assert.equals(403, res.status)
            assert.equals("InvalidClientTokenId", field(res.body, "Code"))
        end)

        it("expire_issued makes handed-out keys ExpiredToken 403", function()
            local res = assume_role(KEY)
            local creds = { access_key_id = field(res.body, "AccessKeyId"),
                            secret_access_key = field(res.body, "SecretAccessKey"),
                            session_token = field(res.body, "SessionToken") }
            sts.control{ expire_issued = true }
            res = caller_identity(creds)
            assert.equals(403, res.status)
            assert.equals("ExpiredToken", field(res.body, "Code"))
        end)

        it("keeps no secret, session token or web identity token in the stats", function()
            local res = assume_role(KEY)
            local token = field(res.body, "SessionToken")
            local secret = field(res.body, "SecretAccessKey")
            web_identity()
            assert(sts.request("GET", "/federation/credentials?role_name=Admin&account_id="
                .. ACCOUNT, nil, { ["x-amz-sso_bearer_token"] = SSO_TOKEN }))
            local text = assert(cjson.encode(sts.stats()))
            for _, s in ipairs{ KEY.secret_access_key, token, secret, WEB_TOKEN, SSO_TOKEN } do
                assert.is_nil(text:find(s, 1, true))
            end
            assert.truthy(text:find(KEY.access_key_id, 1, true))
        end)
    end)


    describe("start and stop", function()
        it("raises on misuse and returns nil, err for a config the fake refuses", function()
            assert.has_error(function() sts_fixture.start("x") end,
                "sts_fixture.start: config must be a table")
            assert.has_error(function() sts_fixture.start({}, "tls") end,
                "sts_fixture.start: opts must be a table")
            local fx, err = sts_fixture.start{ bogus = 1 }
            assert.is_nil(fx)
            assert.matches("fake_sts did not start: fake_sts: bad config: unknown config "
                           .. "key%(s%) bogus", err)
            fx, err = sts_fixture.start{ roles = { [ROLE] = { trust = "everyone" } } }
            assert.is_nil(fx)
            assert.matches("roles%[" .. ROLE:gsub("%p", "%%%0") .. "%]%.trust must be a list "
                           .. "of strings", err)
        end)

        it("serves HTTPS with tls = true (certificate checked against fixture.ca_file)",
           function()
            local fx = assert(sts_fixture.start(CONFIG, { tls = true }))
            finally(function() fx.stop() end)
            assert.matches("^https://127%.0%.0%.1:%d+$", fx.url)
            local core = require "acmpca.core"
            local h = core.http_new{ timeout = 30, connect_timeout = 5, ca_file = fx.ca_file }
            local body = form{ { "Action", "AssumeRoleWithWebIdentity" },
                               { "Version", "2011-06-15" }, { "RoleArn", WEB_ROLE },
                               { "RoleSessionName", "over-tls" },
                               { "WebIdentityToken", WEB_TOKEN } }
            local res = assert(h:request{ method = "POST", url = fx.url .. "/", body = body,
                                          headers = { ["Content-Type"] = FORM } })
            h:close()
            assert.equals(200, res.status, res.body)
            assert.equals(1, fx.stats().counts.AssumeRoleWithWebIdentity)
            -- without the CA the certificate is refused
            local plain = core.http_new{ timeout = 30, connect_timeout = 5 }
            local bad, err = plain:request{ url = fx.url .. "/__ping" }
            plain:close()
            assert.is_nil(bad)
            assert.equals("TLSError", err.code)
        end)

        it("stops by PID: no process left, the port closed, stop twice is fine", function()
            local fx = assert(sts_fixture.start{})
            local pid, port = fx.pid, fx.port
            assert.is_true(proc.alive(pid))
            assert.equals(200, assert(fx.request("GET", "/__ping")).status)
            assert.is_true(fx.stop())
            assert.is_false(proc.alive(pid))
            assert.is_nil(socket.connect("127.0.0.1", port))
            assert.is_true(fx.stop())
            assert.has_error(function() fx.stats() end,
                "fake_sts /__stats: fake_sts stopped")
            assert.is_nil(proc.read_file(fx.config_file))
        end)
    end)
end)
