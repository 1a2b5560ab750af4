-- The STS sources of acmpca.credentials over real HTTP: the local STS
-- stand-in (spec/support/fake_sts.py) checks every AssumeRole signature with
-- botocore and accepts AssumeRoleWithWebIdentity only unsigned and with the
-- token of the file; the credentials it hands out then sign ACM PCA calls
-- that the fake ACM PCA (spec/support/fake_acmpca.py) checks with botocore.
-- Runs under Lua 5.4 and LuaJIT (libcurl transport); in nginx:
-- spec/integration/credentials_sts_nginx_spec.lua.

local sts_fixture = require "support.sts_fixture"
local fake = require "support.fake_service"
local F = require "support.creds_fixture"
local credentials = require "acmpca.credentials"

local write, no_secret = F.write, F.no_secret

local ACCOUNT = "111122223333"
local BASE = { access_key_id = "AKIDSTSBASE000000001",
               secret_access_key = "stsBaseSecret/0123456789abcdefghijklmnop" }
local ROLE_ONE = "arn:aws:iam::" .. ACCOUNT .. ":role/hop-one"
local ROLE_TWO = "arn:aws:iam::444455556666:role/acmpca-admin"
local ROLE_WEB = "arn:aws:iam::" .. ACCOUNT .. ":role/irsa"
local ROLE_MFA = "arn:aws:iam::444455556666:role/needs-mfa"
local MFA_SERIAL = "arn:aws:iam::" .. ACCOUNT .. ":mfa/ops"
local ISSUED = { access_key_id = "ASIASTSISSUEDTWO0001",
                 secret_access_key = "issuedTwoSecret/abcdefghijklmnopqrstuvw",
                 session_token = "FwoGZXIvYXdzEissuedTWOsessionTOKEN==" }
local WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.first.signature"
local CA = "arn:aws:acm-pca:us-east-1:444455556666:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"


describe("acmpca.credentials against a local STS", function()
    -- token_file is what the pod sees; expected_file what the identity
    -- provider accepts (the fake reads it per request)
    local sts, home, env, token_file, expected_file

    lazy_setup(function()
        local dir = F.tmpdir()
        token_file = dir .. "/web-token"
        expected_file = dir .. "/expected-token"
        write(token_file, WEB_TOKEN .. "\n")
        write(expected_file, WEB_TOKEN)
        local err
        sts, err = sts_fixture.start{
            account = ACCOUNT,
            credentials = { [BASE.access_key_id] = { secret = BASE.secret_access_key } },
            roles = {
                [ROLE_ONE] = { trust = { BASE.access_key_id } },
                [ROLE_TWO] = { trust = { ROLE_ONE }, external_id = "ext-7",
                               issue = { access_key_id = ISSUED.access_key_id,
                                         secret = ISSUED.secret_access_key,
                                         token = ISSUED.session_token } },
                [ROLE_WEB] = { trust = {}, web_identity = true },
                [ROLE_MFA] = { trust = { BASE.access_key_id }, mfa_serial = MFA_SERIAL,
                               mfa_code = "246810",
                               issue = { access_key_id = ISSUED.access_key_id,
                                         secret = ISSUED.secret_access_key,
                                         token = ISSUED.session_token } },
            },
            web_identity = { token_file = expected_file },
        }
        assert(sts, err)
    end)

    lazy_teardown(function()
        if sts then
            sts.stop()
        end
    end)

    before_each(function()
        sts.reset()
        home = F.tmpdir()
        env = { HOME = home, AWS_EC2_METADATA_DISABLED = "true",
                AWS_ENDPOINT_URL_STS = sts.url, AWS_REGION = "us-east-1" }
        write(home .. "/.aws/credentials", "[base]\naws_access_key_id = " .. BASE.access_key_id
            .. "\naws_secret_access_key = " .. BASE.secret_access_key .. "\n")
        write(home .. "/.aws/config", "[profile one]\nrole_arn = " .. ROLE_ONE
            .. "\nsource_profile = base\n[profile admin]\nrole_arn = " .. ROLE_TWO
            .. "\nsource_profile = one\nexternal_id = ext-7\nrole_session_name = spec\n"
            .. "[profile wrong-ext]\nrole_arn = " .. ROLE_TWO
            .. "\nsource_profile = one\nexternal_id = nope\n"
            .. "[profile mfa]\nrole_arn = " .. ROLE_MFA .. "\nsource_profile = base\n"
            .. "mfa_serial = " .. MFA_SERIAL .. "\n")
        write(token_file, WEB_TOKEN .. "\n")
        write(expected_file, WEB_TOKEN)
    end)

    after_each(function()
        os.execute("rm -rf " .. home)
    end)

    local function provider(extra)
        local o = { home = home, getenv = function(k) return env[k] end,
                    sleep = function() end }
        for k, v in pairs(extra or {}) do
            o[k] = v
        end
        return credentials.provider(o)
    end

    it("assumes a chain of two roles, and the result signs ACM PCA calls", function()
        local c = assert(provider{ profile = "admin" }())
        assert.equals(ISSUED.access_key_id, c.access_key_id)
        assert.equals("assume-role", c.source)
        local st = sts.stats()
        assert.equals(2, st.counts.AssumeRole)

        local svc = assert(fake.start{ cas = { [CA] = "ACTIVE" },
                                       extra_credentials = { ISSUED } })
        local ok, res = pcall(function()
            local client = require("acmpca.client").new{
                endpoint = svc.url, region = "us-east-1", credentials = provider{
                    profile = "admin" },
                sleep = function() end }
            return { client:ensure_acm_renewal(CA) }
        end)
        svc:stop()
        assert(ok, res)
        assert.same({ true, "created" }, { res[1], res[2] })
    end)

    it("get-caller-identity names the chain's last role, signed with its keys", function()
        local buffer = require("helpers").buffer
        local out, err = buffer(), buffer()
        local ok, code = pcall(require("acmpca.cli").main, { "--profile", "admin",
            "get-caller-identity" }, { stdout = out, stderr = err, sleep = function() end,
                                       getenv = function(k) return env[k] end })
        assert(ok, code)
        assert.equals("", err.text)
        assert.equals(0, code)
        local doc = require("cjson").decode(out.text)
        assert.same({ Account = "444455556666",
                      Arn = "arn:aws:sts::444455556666:assumed-role/acmpca-admin/spec",
                      UserId = doc.UserId }, doc)
        assert.matches("^AROA%w+:spec$", doc.UserId)
        -- the stand-in checked the signature with botocore: the second
        -- role's keys and session token, in the region's scope
        local st = sts.stats()
        assert.equals(1, st.counts.GetCallerIdentity)
        assert.equals(2, st.counts.AssumeRole)
        local rec = st.requests[#st.requests]
        assert.equals("GetCallerIdentity", rec.action)
        assert.equals(200, rec.status)
        assert.equals(ISSUED.access_key_id, rec.access_key_id)
        assert.is_true(rec.has_session_token)
        assert.equals("us-east-1", rec.region)
    end)

    it("caller_identity reports STS's error for keys it does not know", function()
        local client = require("acmpca.client").new{
            region = "us-east-1", sleep = function() end,
            getenv = function(k) return env[k] end,
            credentials = { access_key_id = "AKIDUNKNOWN000000001",
                            secret_access_key = BASE.secret_access_key } }
        local id, err = client:caller_identity()
        assert.is_nil(id)
        assert.equals("InvalidClientTokenId", err.code)
        assert.equals(403, err.status)
        assert.equals("GetCallerIdentity", err.operation)
        assert.truthy(err.request_id)
        no_secret(err, { BASE.secret_access_key })
    end)

    it("assumes the role once for ten processes with the disk cache (0600 files)", function()
        for _ = 1, 10 do
            -- a new provider per run, as a new acmpca process would have
            local c = assert(provider{ profile = "admin", disk_cache = true }())
            assert.equals(ISSUED.access_key_id, c.access_key_id)
        end
        assert.equals(2, sts.stats().counts.AssumeRole)
        local p = io.popen("stat -c '%a %n' " .. home .. "/.aws/cli/cache/*.json")
        local listing = p:read("*a")
        p:close()
        -- one file per role of the chain, as the AWS CLI keeps them
        local n = 0
        for line in listing:gmatch("[^\n]+") do
            n = n + 1
            assert.matches("^600 " .. home:gsub("%p", "%%%0") .. "/%.aws/cli/cache/%x+%.json$",
                           line)
        end
        assert.equals(2, n)
    end)

    it("the acmpca command asks for the MFA code and signs with the role", function()
        local svc = assert(fake.start{ cas = { [CA] = "ACTIVE" },
                                       extra_credentials = { ISSUED } })
        local buffer = require("helpers").buffer
        local out, err = buffer(), buffer()
        local asked = {}
        local ok, code = pcall(require("acmpca.cli").main, {
            "--profile", "mfa", "--endpoint-url", svc.url, "--region", "us-east-1",
            "has-renewal", "--certificate-authority-arn", CA,
        }, { stdout = out, stderr = err, sleep = function() end,
             getenv = function(k) return env[k] end,
             mfa_prompt = function(serial)
                 asked[#asked + 1] = serial
                 return "246810"
             end })
        svc:stop()
        assert(ok, code)
        assert.same({ MFA_SERIAL }, asked)
        assert.equals("", err.text)
        assert.equals(1, sts.stats().counts.AssumeRole)
        assert.equals(0, code)
        assert.matches('"HasAcmRenewal": false', out.text)   -- no permission yet
    end)

    it("reports STS's AccessDenied for a wrong external id, naming the profile", function()
        local c, err = provider{ profile = "wrong-ext" }()
        assert.is_nil(c)
        assert.equals("CredentialsError", err.code)
        assert.matches("^acmpca: profile wrong%-ext, role_arn: AssumeRole for "
                       .. ROLE_TWO:gsub("%-", "%%-") .. " failed: AccessDenied: ", err.message)
        no_secret(err, { BASE.secret_access_key, ISSUED.secret_access_key,
                         ISSUED.session_token })
    end)

    it("reports an expired web identity token as STS does, without the token", function()
        env.AWS_WEB_IDENTITY_TOKEN_FILE = token_file
        env.AWS_ROLE_ARN = ROLE_WEB
        sts.control{ config = { web_identity = { token_file = expected_file,
                                                 expired = true } } }
        local c, err = provider()()
        assert.is_nil(c)
        assert.equals("CredentialsError", err.code)
        assert.matches("^acmpca: AWS_WEB_IDENTITY_TOKEN_FILE: AssumeRoleWithWebIdentity for "
                       .. ROLE_WEB:gsub("%p", "%%%0") .. " failed: ExpiredTokenException: ",
                       err.message)
        assert.equals("ExpiredTokenException", err.cause.code)
        assert.equals(400, err.cause.status)
        no_secret(err, { WEB_TOKEN })
    end)

    it("retries STS throttling and then succeeds", function()
        sts.control{ faults = { { action = "AssumeRole", status = 400, code = "Throttling",
                                  message = "Rate exceeded", times = 2 } } }
        assert(provider{ profile = "one" }())
        assert.equals(3, sts.stats().counts.AssumeRole)
    end)

    it("signs in with web identity, unsigned, re-reading the rotated token", function()
        env.AWS_WEB_IDENTITY_TOKEN_FILE = token_file
        env.AWS_ROLE_ARN = ROLE_WEB
        local p = provider()
        local c = assert(p())
        assert.equals("web-identity", c.source)
        local st = sts.stats()
        assert.equals(1, st.counts.AssumeRoleWithWebIdentity)
        assert.is_false(st.requests[1].signed)

        -- Kubernetes rotates the token: the next lookup sends the new one
        write(token_file, "eyJ.rotated.token\n")
        write(expected_file, "eyJ.rotated.token")
        assert(provider()())
        assert.equals(2, sts.stats().counts.AssumeRoleWithWebIdentity)

        -- a token the identity provider no longer accepts
        write(expected_file, "eyJ.newer.token")
        local c2, err = provider()()
        assert.is_nil(c2)
        assert.matches("InvalidIdentityToken", err.message)
        no_secret(err, { "eyJ.rotated.token", "eyJ.newer.token", WEB_TOKEN })
    end)
end)
