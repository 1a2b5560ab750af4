-- Specs for acmpca.credentials.sso (IAM Identity Center): the settings
-- (sso-session and legacy), the token `aws sso login` leaves in
-- ~/.aws/sso/cache, its refresh through SSO OIDC, GetRoleCredentials through
-- a fake portal at the transport seam, and the AWS CLI's credential cache.
-- Mostly through acmpca.credentials.provider (the chain calls the module);
-- a few direct calls with a bare ctx.  Against a real HTTP stand-in:
-- spec/integration/credentials_sso_spec.lua.

local core = require "acmpca.core"
local credentials = require "acmpca.credentials"
local sso = require "acmpca.credentials.sso"
local cache = require "acmpca.credentials.cache"
local cjson = require "cjson.safe"
local F = require "support.creds_fixture"

local T0 = F.T0
local write = F.write
local iso = F.iso

local ACCOUNT = "111122223333"
local ROLE = "AdminRole"
local START = "https://d-1234567890.awsapps.com/start"
local TOKEN = "aoaSSOaccessTOKENabcdefghijklmnopqrstuvwxyz0123456789"
local REFRESH = "aorSSOrefreshTOKENabcdefghij0123456789"
local CLIENT_SECRET = "eyJraWQiOiJrZXktY2xpZW50LXNlY3JldCJ9.secretpart"
local ISSUED_SECRET = "issuedSsoSecret/abcdefghijklmnopqrstuvwxyz0"
local ISSUED_TOKEN = "IQoJb3JpZ2luX2VjEissuedSSOsessionTOKEN=="
local SECRETS = { TOKEN, REFRESH, CLIENT_SECRET, ISSUED_SECRET, ISSUED_TOKEN, "NEWTOKEN-xyz" }
local PORTAL = "https://portal.sso.eu-west-1.amazonaws.com/federation/credentials"
    .. "?role_name=AdminRole&account_id=111122223333"

local CONFIG_SESSION = table.concat({
    "[profile dev]",
    "sso_session = corp",
    "sso_account_id = " .. ACCOUNT,
    "sso_role_name = " .. ROLE,
    "region = us-east-1",
    "[sso-session corp]",
    "sso_start_url = " .. START,
    "sso_region = eu-west-1",
    "sso_registration_scopes = sso:account:access",
    "",
}, "\n")

local CONFIG_LEGACY = table.concat({
    "[profile dev]",
    "sso_start_url = " .. START,
    "sso_region = eu-west-1",
    "sso_account_id = " .. ACCOUNT,
    "sso_role_name = " .. ROLE,
    "",
}, "\n")


local function header(req, name)
    for k, v in pairs(req.headers or {}) do
        if k:lower() == name:lower() then
            return v
        end
    end
    return nil
end


local function role_answer(exp, n)
    return { status = 200, headers = { ["Content-Type"] = "application/json" },
             body = cjson.encode{ roleCredentials = {
                 accessKeyId = "ASIASSOISSUED" .. (n or 1), secretAccessKey = ISSUED_SECRET,
                 sessionToken = ISSUED_TOKEN, expiration = exp * 1000 } } }
end


local function portal_error(status, code, message)
    return { status = status,
             headers = { ["x-amzn-ErrorType"] = code .. ":http://internal.amazon.com/coral/",
                         ["x-amzn-RequestId"] = "rid-sso-1" },
             body = cjson.encode{ message = message } }
end


describe("acmpca.credentials.sso", function()
    local S = F.sandbox()
    local log, answers

    -- The fake portal: answers[n] (a response, a function(req) or
    -- false for a network error), else credentials for an hour.
    local function http(req)
        log[#log + 1] = req
        local a = answers[#log]
        if a == false then
            return nil, { code = "Timeout", message = "timed out" }
        elseif type(a) == "function" then
            return a(req)
        end
        return a or role_answer(S.clock + 3600, #log)
    end

    local function provider(extra)
        local o = { profile = "dev", http = http }
        for k, v in pairs(extra or {}) do
            o[k] = v
        end
        return credentials.provider(S.opts(o))
    end

    local function config(text)
        write(S.home .. "/.aws/config", text)
    end

    local function token_file(name)
        return S.home .. "/.aws/sso/cache/" .. core.sha1_hex(name) .. ".json"
    end

    local function token(name, doc)
        assert(core.write_private(token_file(name), type(doc) == "string" and doc
            or cjson.encode(doc)))
    end

    local function fresh(extra)
        local d = { startUrl = START, region = "eu-west-1", accessToken = TOKEN,
                    expiresAt = iso(S.clock + 8 * 3600) }
        for k, v in pairs(extra or {}) do
            d[k] = v
        end
        return d
    end

    -- The provider fails with a CredentialsError whose message is text;
    -- no secret in it.
    local function fails(p, text, retryable)
        local c, err = p()
        assert.is_nil(c)
        assert.is_table(err)
        assert.equals("CredentialsError", err.code)
        assert.equals(text, err.message)
        assert.equals(retryable or false, err.retryable)
        F.no_secret(err, SECRETS)
        return err
    end

    before_each(function()
        S.reset()
        log, answers = {}, {}
    end)

    after_each(S.cleanup)

    describe("with an sso-session", function()
        before_each(function()
            config(CONFIG_SESSION)
        end)

        it("reads the token named by the session and calls GetRoleCredentials unsigned",
           function()
            token("corp", fresh())
            local c = assert(provider()())
            assert.equals("ASIASSOISSUED1", c.access_key_id)
            assert.equals(ISSUED_SECRET, c.secret_access_key)
            assert.equals(ISSUED_TOKEN, c.session_token)
            assert.equals(T0 + 3600, c.expiration)
            assert.equals("sso", c.source)
            assert.equals(1, #log)
            assert.equals("GET", log[1].method)
            assert.equals(PORTAL, log[1].url)
            assert.equals(TOKEN, header(log[1], "x-amz-sso_bearer_token"))
            assert.is_nil(header(log[1], "Authorization"))
            assert.is_nil(header(log[1], "X-Amz-Security-Token"))
            assert.is_nil(log[1].body)
            F.no_secret(tostring(c), SECRETS)
        end)

        it("takes the portal from AWS_ENDPOINT_URL_SSO", function()
            token("corp", fresh())
            S.env.AWS_ENDPOINT_URL_SSO = "http://127.0.0.1:8443/"
            assert(provider()())
            assert.equals("http://127.0.0.1:8443/federation/credentials?role_name=AdminRole"
                .. "&account_id=111122223333", log[1].url)
        end)

        it("URL-encodes the role name", function()
            config(CONFIG_SESSION:gsub("sso_role_name = AdminRole",
                                       "sso_role_name = Ops+Admin@corp,eu=1"))
            token("corp", fresh())
            assert(provider()())
            assert.equals("https://portal.sso.eu-west-1.amazonaws.com/federation/credentials"
                .. "?role_name=Ops%2BAdmin%40corp%2Ceu%3D1&account_id=111122223333",
                log[1].url)
        end)

        it("accepts a setting held in both places with one value", function()
            config(CONFIG_SESSION:gsub("region = us%-east%-1",
                                       "region = us-east-1\nsso_region = eu-west-1"))
            token("corp", fresh())
            assert(provider()())
        end)

        it("names the profile and the setting when the section is missing", function()
            config(CONFIG_SESSION:gsub("%[sso%-session corp%]", "[sso-session other]"))
            fails(provider(), "acmpca: profile dev, sso_session: there is no [sso-session "
                .. "corp] section in " .. S.home .. "/.aws/config")
            assert.equals(0, #log)
        end)

        it("refuses a setting the profile and the section disagree on", function()
            config(CONFIG_SESSION:gsub("region = us%-east%-1",
                                       "sso_start_url = https://other.awsapps.com/start"))
            fails(provider(), 'acmpca: profile dev, sso_start_url: the profile has '
                .. '"https://other.awsapps.com/start" and [sso-session corp] has "'
                .. START .. '"; they must agree (or set it in one place)')
            assert.equals(0, #log)
        end)

        it("lists the missing settings", function()
            config(CONFIG_SESSION:gsub("sso_region = eu%-west%-1\n", ""))
            fails(provider(), "acmpca: profile dev is configured for SSO but is missing "
                .. "sso_region (set it in [sso-session corp] or the profile)")
            config(CONFIG_SESSION:gsub("sso_region = eu%-west%-1\n", "")
                                 :gsub("sso_role_name = AdminRole\n", ""))
            fails(provider(), "acmpca: profile dev is configured for SSO but is missing "
                .. "sso_region, sso_role_name (set them in [sso-session corp] or the profile)")
            assert.equals(0, #log)
        end)

        it("refuses a region, an account or a role that cannot be one", function()
            local cases = {
                { "sso_region = eu%-west%-1", "sso_region = eu-west-1.evil.com/x",
                  'acmpca: [sso-session corp], sso_region: "eu-west-1.evil.com/x" is not a '
                  .. "region name" },
                { "sso_account_id = 111122223333", "sso_account_id = 1111-2222-3333",
                  'acmpca: profile dev, sso_account_id: "1111-2222-3333" is not a 12-digit '
                  .. "AWS account id" },
                { "sso_role_name = AdminRole", "sso_role_name = Admin Role",
                  'acmpca: profile dev, sso_role_name: "Admin Role" is not an IAM role name' },
            }
            token("corp", fresh())
            for _, case in ipairs(cases) do
                config((CONFIG_SESSION:gsub(case[1], case[2])))
                fails(provider(), case[3])
            end
            assert.equals(0, #log)
        end)

        it("says to log in when there is no token", function()
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --sso-session corp" (or "aws sso login '
                .. '--profile dev") (no cached token at ' .. token_file("corp") .. ")")
            assert.equals(0, #log)
        end)

        it("says to log in when the token has expired", function()
            token("corp", fresh{ expiresAt = iso(T0 - 1) })
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --sso-session corp" (or "aws sso login '
                .. '--profile dev") (the token expired at ' .. iso(T0 - 1) .. ")")
            assert.equals(0, #log)
        end)

        it("says to log in when the token file is unusable, naming what is wrong", function()
            local path = token_file("corp")
            local login = 'acmpca: the SSO session for profile dev has expired or is missing; '
                .. 'run "aws sso login --sso-session corp" (or "aws sso login --profile dev") ('
            local cases = {
                { "{not json", path .. " is not a JSON object" },
                { cjson.encode(fresh{ accessToken = 42 }),
                  path .. ": accessToken is missing or not printable ASCII" },
                { cjson.encode(fresh{ accessToken = TOKEN .. "\r\nX-Evil: 1" }),
                  path .. ": accessToken is missing or not printable ASCII" },
                { cjson.encode(fresh{ expiresAt = "later" }),
                  path .. ": expiresAt is missing or not an ISO-8601 time" },
                { cjson.encode(fresh{ expiresAt = cjson.null }),
                  path .. ": expiresAt is missing or not an ISO-8601 time" },
                { cjson.encode(fresh{ pad = string.rep("x", 64 * 1024) }),
                  "acmpca: " .. path .. ": larger than 65536 bytes" },
            }
            for _, case in ipairs(cases) do
                token("corp", case[1])
                fails(provider(), login .. case[2] .. ")")
            end
            os.remove(path)
            assert(os.execute("mkfifo " .. path))
            fails(provider(), login .. "acmpca: " .. path .. ": not a regular file)")
            assert.equals(0, #log)
        end)
    end)

    describe("with the legacy settings", function()
        before_each(function()
            config(CONFIG_LEGACY)
        end)

        it("reads the token named by the start URL", function()
            token(START, fresh())
            local c = assert(provider()())
            assert.equals("ASIASSOISSUED1", c.access_key_id)
            assert.equals(PORTAL, log[1].url)
            assert.equals(TOKEN, header(log[1], "x-amz-sso_bearer_token"))
        end)

        it("says to log in with the profile only", function()
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --profile dev" (no cached token at '
                .. token_file(START) .. ")")
        end)

        it("lists the missing settings", function()
            config("[profile dev]\nsso_account_id = " .. ACCOUNT .. "\n")
            fails(provider(), "acmpca: profile dev is configured for SSO but is missing "
                .. "sso_start_url, sso_region, sso_role_name (set them in the profile (or use "
                .. "sso_session))")
            assert.equals(0, #log)
        end)

        it("never refreshes (botocore refreshes only for an sso-session)", function()
            token(START, fresh{ expiresAt = iso(T0 - 1), refreshToken = REFRESH,
                                clientId = "cid", clientSecret = CLIENT_SECRET,
                                registrationExpiresAt = iso(T0 + 86400) })
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --profile dev" (the token expired at '
                .. iso(T0 - 1) .. ")")
            assert.equals(0, #log)
        end)
    end)

    describe("GetRoleCredentials answers", function()
        before_each(function()
            config(CONFIG_SESSION)
            token("corp", fresh())
        end)

        it("401: the token was revoked, so log in again", function()
            answers[1] = portal_error(401, "UnauthorizedException",
                                      "Session token not found or invalid")
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --sso-session corp" (or "aws sso login '
                .. '--profile dev") (the SSO portal refused the token: HTTP 401 '
                .. "UnauthorizedException: Session token not found or invalid)")
            assert.equals(1, #log)
        end)

        it("403: names the account and the role", function()
            answers[1] = portal_error(403, "ForbiddenException", "No access")
            local err = fails(provider(), "acmpca: profile dev: IAM Identity Center does not "
                .. "give you role AdminRole in account 111122223333 (HTTP 403 "
                .. "ForbiddenException: No access); check sso_account_id and sso_role_name")
            assert.equals(403, err.status)
            assert.equals("rid-sso-1", err.request_id)
            assert.equals(1, #log)
        end)

        it("404: names the account and the role", function()
            answers[1] = portal_error(404, "ResourceNotFoundException", "Not found")
            fails(provider(), "acmpca: profile dev: IAM Identity Center has no role AdminRole "
                .. "in account 111122223333 (HTTP 404 ResourceNotFoundException: Not found); "
                .. "check sso_account_id and sso_role_name")
        end)

        it("throttling: tries three times, then a retryable error", function()
            for i = 1, 3 do
                answers[i] = portal_error(429, "TooManyRequestsException", "Rate exceeded")
            end
            local err = fails(provider(), "acmpca: profile dev: GetRoleCredentials for role "
                .. "AdminRole in account 111122223333 failed (HTTP 429 TooManyRequestsException: "
                .. "Rate exceeded) (after 3 attempts)", true)
            assert.equals(3, err.attempts)
            assert.equals(429, err.status)
            assert.equals(3, #log)
            assert.equals(2, #S.sleeps)
        end)

        it("a 5xx then success", function()
            answers[1] = { status = 503, headers = {}, body = "<html>busy</html>" }
            local c = assert(provider()())
            assert.equals("ASIASSOISSUED2", c.access_key_id)
            assert.equals(2, #log)
        end)

        it("network failures: retryable, the token never in the text", function()
            answers[1] = false
            answers[2] = function() return nil, "connect to " .. TOKEN .. " failed" end
            answers[3] = function() error("transport exploded near " .. TOKEN, 0) end
            fails(provider(), "acmpca: profile dev: cannot reach the SSO portal: the HTTP "
                .. "transport raised an error: transport exploded near <redacted> (after 3 "
                .. "attempts)", true)
            assert.equals(3, #log)
        end)

        it("an error message echoing the token has it cut out", function()
            answers[1] = portal_error(400, "InvalidRequestException", "bad token " .. TOKEN)
            fails(provider(), "acmpca: profile dev: GetRoleCredentials for role AdminRole in "
                .. "account 111122223333 failed (HTTP 400 InvalidRequestException: bad token "
                .. "<redacted>)")
            assert.equals(1, #log)
        end)

        it("refuses an oversized body", function()
            answers[1] = { status = 200, headers = {}, body = string.rep(" ", 64 * 1024 + 1) }
            fails(provider(), "acmpca: profile dev: the SSO portal's answer (HTTP 200) is "
                .. "larger than 65536 bytes")
        end)

        it("checks every field of the answer", function()
            local function with(rc)
                return { status = 200, headers = {}, body = cjson.encode{ roleCredentials = rc } }
            end
            local good = { accessKeyId = "ASIA1", secretAccessKey = ISSUED_SECRET,
                           sessionToken = ISSUED_TOKEN, expiration = (T0 + 3600) * 1000 }
            local function but(k, v)
                local t = {}
                for kk, vv in pairs(good) do
                    t[kk] = vv
                end
                t[k] = v
                return with(t)
            end
            local unusable = "acmpca: profile dev: the SSO portal's answer is unusable: "
            local cases = {
                { { status = 200, headers = {}, body = "not json" },
                  unusable .. "the answer has no roleCredentials object" },
                { with("x"), unusable .. "the answer has no roleCredentials object" },
                { but("accessKeyId", 7),
                  unusable .. "roleCredentials.accessKeyId is not a non-empty string" },
                { but("secretAccessKey", ""),
                  unusable .. "roleCredentials.secretAccessKey is not a non-empty string" },
                { but("sessionToken", cjson.null),
                  unusable .. "roleCredentials.sessionToken is not a non-empty string" },
                { but("expiration", "soon"),
                  unusable .. "roleCredentials.expiration is not a time in epoch milliseconds" },
                { but("expiration", -5),
                  unusable .. "roleCredentials.expiration is not a time in epoch milliseconds" },
                { but("expiration", (T0 - 60) * 1000),
                  "acmpca: profile dev: the SSO portal answered unusable credentials: the "
                  .. "credentials expired at " .. iso(T0 - 60) .. " (already expired when "
                  .. "fetched)" },
                { but("accessKeyId", "ASIA\n1"),
                  "acmpca: profile dev: the SSO portal answered unusable credentials: "
                  .. "accessKeyId contains a control character" },
            }
            for i, case in ipairs(cases) do
                log, answers = {}, { case[1] }
                fails(provider(), case[2])
                assert.equals(1, #log, i)
            end
        end)
    end)

    describe("the AWS CLI's credential cache", function()
        before_each(function()
            config(CONFIG_SESSION)
            token("corp", fresh())
        end)

        local function key()
            return cache.new{ dir = "/x" }:key_sso{ account_id = ACCOUNT, role_name = ROLE,
                                                    session_name = "corp" }
        end

        it("stores what it fetched (0600) and the next run uses it", function()
            assert(provider{ disk_cache = true }())
            local path = S.home .. "/.aws/cli/cache/" .. key() .. ".json"
            local f = assert(io.open(path, "rb"))
            local doc = cjson.decode(f:read("*a"))
            f:close()
            assert.same({ ProviderType = "sso", Credentials = {
                AccessKeyId = "ASIASSOISSUED1", SecretAccessKey = ISSUED_SECRET,
                SessionToken = ISSUED_TOKEN, Expiration = iso(T0 + 3600) } }, doc)
            local p = io.popen("stat -c %a " .. path)
            assert.equals("600", p:read("*l"))
            p:close()
            for _ = 1, 10 do
                local c = assert(provider{ disk_cache = true }())
                assert.equals("ASIASSOISSUED1", c.access_key_id)
                assert.equals("sso", c.source)
            end
            assert.equals(1, #log)
        end)

        it("uses an entry the AWS CLI wrote, even with no token left", function()
            os.remove(token_file("corp"))
            assert(core.write_private(S.home .. "/.aws/cli/cache/" .. key() .. ".json",
                                      cjson.encode{
                ProviderType = "sso", Credentials = {
                    AccessKeyId = "ASIAFROMCLI", SecretAccessKey = ISSUED_SECRET,
                    SessionToken = ISSUED_TOKEN, Expiration = iso(T0 + 1800) } }))
            local c = assert(provider{ disk_cache = true }())
            assert.equals("ASIAFROMCLI", c.access_key_id)
            assert.equals(T0 + 1800, c.expiration)
            assert.equals(0, #log)
        end)

        it("fetches again when the entry has under 15 minutes left", function()
            assert(core.write_private(S.home .. "/.aws/cli/cache/" .. key() .. ".json",
                                      cjson.encode{
                ProviderType = "sso", Credentials = {
                    AccessKeyId = "ASIAFROMCLI", SecretAccessKey = ISSUED_SECRET,
                    SessionToken = ISSUED_TOKEN, Expiration = iso(T0 + 899) } }))
            local c = assert(provider{ disk_cache = true }())
            assert.equals("ASIASSOISSUED1", c.access_key_id)
            assert.equals(1, #log)
        end)

        it("is not used without disk_cache", function()
            assert(provider()())
            assert(provider()())
            assert.equals(2, #log)
            assert.is_nil(io.open(S.home .. "/.aws/cli/cache/" .. key() .. ".json"))
        end)
    end)

    describe("token refresh (SSO OIDC CreateToken)", function()
        local OIDC = "https://oidc.eu-west-1.amazonaws.com/token"

        local function refreshable(extra)
            local d = fresh{ expiresAt = iso(T0 + 300), refreshToken = REFRESH,
                             clientId = "client-id-1", clientSecret = CLIENT_SECRET,
                             registrationExpiresAt = iso(T0 + 86400) }
            for k, v in pairs(extra or {}) do
                d[k] = v
            end
            return d
        end

        before_each(function()
            config(CONFIG_SESSION)
        end)

        it("refreshes a token near its end, writes it back and uses it", function()
            token("corp", refreshable())
            answers[1] = { status = 200, headers = {}, body = cjson.encode{
                accessToken = "NEWTOKEN-xyz", expiresIn = 28800, tokenType = "Bearer",
                refreshToken = REFRESH .. "2" } }
            assert(provider()())
            assert.equals(2, #log)
            assert.equals("POST", log[1].method)
            assert.equals(OIDC, log[1].url)
            assert.is_nil(header(log[1], "Authorization"))
            assert.same({ grantType = "refresh_token", clientId = "client-id-1",
                          clientSecret = CLIENT_SECRET, refreshToken = REFRESH },
                        cjson.decode(log[1].body))
            assert.equals("NEWTOKEN-xyz", header(log[2], "x-amz-sso_bearer_token"))
            local f = assert(io.open(token_file("corp"), "rb"))
            local doc = cjson.decode(f:read("*a"))
            f:close()
            assert.same({ startUrl = START, region = "eu-west-1", accessToken = "NEWTOKEN-xyz",
                          expiresAt = iso(T0 + 28800), clientId = "client-id-1",
                          clientSecret = CLIENT_SECRET,
                          registrationExpiresAt = iso(T0 + 86400),
                          refreshToken = REFRESH .. "2" }, doc)
        end)

        it("takes the OIDC endpoint from AWS_ENDPOINT_URL_SSO_OIDC", function()
            token("corp", refreshable())
            S.env.AWS_ENDPOINT_URL_SSO_OIDC = "http://127.0.0.1:9999/"
            answers[1] = { status = 200, headers = {}, body = cjson.encode{
                accessToken = "NEWTOKEN-xyz", expiresIn = 3600 } }
            assert(provider()())
            assert.equals("http://127.0.0.1:9999/token", log[1].url)
        end)

        it("keeps a still valid token when the refresh fails", function()
            token("corp", refreshable())
            answers[1] = { status = 400, headers = {}, body = '{"error":"invalid_grant"}' }
            assert(provider()())
            assert.equals(TOKEN, header(log[2], "x-amz-sso_bearer_token"))
        end)

        it("says to log in when the token expired and the refresh fails", function()
            token("corp", refreshable{ expiresAt = iso(T0 - 10) })
            answers[1] = { status = 400, headers = {}, body = '{"error":"invalid_grant"}' }
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --sso-session corp" (or "aws sso login '
                .. '--profile dev") (the token expired at ' .. iso(T0 - 10) .. "; refreshing "
                .. "it failed: SSO OIDC answered HTTP 400)")
            answers = { false }
            log = {}
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --sso-session corp" (or "aws sso login '
                .. '--profile dev") (the token expired at ' .. iso(T0 - 10) .. "; refreshing "
                .. "it failed: Timeout: timed out)")
            answers = { { status = 200, headers = {}, body = '{"accessToken": 5}' } }
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --sso-session corp" (or "aws sso login '
                .. '--profile dev") (the token expired at ' .. iso(T0 - 10) .. "; refreshing "
                .. "it failed: SSO OIDC's answer lacks accessToken or expiresIn)")
        end)

        it("does not try without a live registration or a refresh token", function()
            token("corp", refreshable{ expiresAt = iso(T0 - 10),
                                       registrationExpiresAt = iso(T0 - 1) })
            fails(provider(), 'acmpca: the SSO session for profile dev has expired or is '
                .. 'missing; run "aws sso login --sso-session corp" (or "aws sso login '
                .. '--profile dev") (the token expired at ' .. iso(T0 - 10) .. ")")
            token("corp", refreshable{ expiresAt = iso(T0 - 10), refreshToken = cjson.null })
            assert.is_nil(provider()())
            assert.equals(0, #log)
        end)
    end)

    describe("from_profile with a bare ctx", function()
        local function ctx(sessions)
            return {
                opts = { home = S.home },
                now = function() return S.clock end,
                http = http,
                files = function() return { sso_sessions = sessions or {} } end,
            }
        end

        it("is false for a profile without sso_account_id and sso_role_name", function()
            assert.is_false(sso.from_profile(ctx(), "dev", { sso_session = "corp",
                                                             region = "x" }))
            assert.is_false(sso.from_profile(ctx(), "dev", {}))
        end)

        it("builds the portal URL itself and returns plain values", function()
            token(START, fresh())
            local c = assert(sso.from_profile(ctx(), "dev", {
                sso_start_url = START, sso_region = "ap-south-1", sso_account_id = ACCOUNT,
                sso_role_name = ROLE }))
            assert.equals("https://portal.sso.ap-south-1.amazonaws.com/federation/credentials"
                .. "?role_name=AdminRole&account_id=111122223333", log[1].url)
            assert.same({ access_key_id = "ASIASSOISSUED1", secret_access_key = ISSUED_SECRET,
                          session_token = ISSUED_TOKEN, expiration = T0 + 3600,
                          source = "sso" }, c)
        end)

        it("uses the given cache and fills it", function()
            token(START, fresh())
            local store = cache.new{ dir = S.home .. "/c", now = function() return S.clock end }
            local p = { sso_start_url = START, sso_region = "eu-west-1",
                        sso_account_id = ACCOUNT, sso_role_name = ROLE }
            assert(sso.from_profile(ctx(), "dev", p, store))
            local c = assert(sso.from_profile(ctx(), "dev", p, store))
            assert.equals("ASIASSOISSUED1", c.access_key_id)
            assert.equals(1, #log)
            assert.is_table(store:get(store:key_sso{ account_id = ACCOUNT, role_name = ROLE,
                                                     start_url = START }))
        end)

        it("without a home says to log in and why", function()
            local x = ctx()
            x.opts = { getenv = function() return nil end }
            local c, err = sso.from_profile(x, "dev", {
                sso_start_url = START, sso_region = "eu-west-1", sso_account_id = ACCOUNT,
                sso_role_name = ROLE })
            assert.is_nil(c)
            assert.equals('acmpca: the SSO session for profile dev has expired or is missing; '
                .. 'run "aws sso login --profile dev" (the token cache is under '
                .. "~/.aws/sso/cache and HOME is not set)", err.message)
        end)
    end)
end)
