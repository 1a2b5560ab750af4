-- The SSO source of acmpca.credentials over real HTTP: the local SSO portal
-- stand-in (spec/support/fake_sts.py, GET /federation/credentials) knows one
-- access token; the token file is where `aws sso login` leaves it, the
-- portal is reached through AWS_ENDPOINT_URL_SSO with acmpca.core's libcurl
-- transport, and the credentials it hands out sign ACM PCA calls that the
-- fake ACM PCA (spec/support/fake_acmpca.py) checks with botocore.

local core = require "acmpca.core"
local cjson = require "cjson.safe"
local sts_fixture = require "support.sts_fixture"
local fake = require "support.fake_service"
local F = require "support.creds_fixture"
local credentials = require "acmpca.credentials"

local write, no_secret = F.write, F.no_secret

local ACCOUNT = "444455556666"
local TOKEN = "aoaIntegrationSSOaccessTOKEN0123456789abcdefghijklmnop"
local ISSUED = { access_key_id = "ASIASSOINTEGRATION01",
                 secret_access_key = "ssoIssuedSecret/abcdefghijklmnopqrstuvwx",
                 session_token = "IQoJb3JpZ2luX2VjEssoINTEGRATIONtoken==" }
local CA = "arn:aws:acm-pca:us-east-1:444455556666:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"


describe("acmpca.credentials against a local SSO portal", function()
    local portal, home, env

    lazy_setup(function()
        local err
        portal, err = sts_fixture.start{
            account = ACCOUNT,
            sso = { tokens = { [TOKEN] = { accounts = { [ACCOUNT] = { "PcaAdmin" } } } },
                    issue = { access_key_id = ISSUED.access_key_id,
                              secret = ISSUED.secret_access_key,
                              token = ISSUED.session_token } },
        }
        assert(portal, err)
    end)

    lazy_teardown(function()
        if portal then
            portal.stop()
        end
    end)

    before_each(function()
        portal.reset()
        home = F.tmpdir()
        env = { HOME = home, AWS_EC2_METADATA_DISABLED = "true",
                AWS_ENDPOINT_URL_SSO = portal.url, AWS_REGION = "us-east-1" }
        write(home .. "/.aws/config", "[profile admin]\nsso_session = corp\n"
            .. "sso_account_id = " .. ACCOUNT .. "\nsso_role_name = PcaAdmin\n"
            .. "[profile other]\nsso_session = corp\nsso_account_id = " .. ACCOUNT
            .. "\nsso_role_name = NotMine\n"
            .. "[sso-session corp]\nsso_start_url = https://d-9.awsapps.com/start\n"
            .. "sso_region = us-east-1\n")
        assert(core.write_private(home .. "/.aws/sso/cache/" .. core.sha1_hex("corp")
            .. ".json", cjson.encode{ startUrl = "https://d-9.awsapps.com/start",
                                      region = "us-east-1", accessToken = TOKEN,
                                      expiresAt = os.date("!%Y-%m-%dT%H:%M:%SZ",
                                                          os.time() + 3600) }))
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

    it("gets role credentials unsigned, and they sign ACM PCA calls", function()
        local c = assert(provider{ profile = "admin" }())
        assert.equals(ISSUED.access_key_id, c.access_key_id)
        assert.equals("sso", c.source)
        local st = portal.stats()
        assert.equals(1, st.counts.GetRoleCredentials)
        assert.is_false(st.requests[1].signed)
        assert.equals("PcaAdmin", st.requests[1].role_name)
        assert.equals(ACCOUNT, st.requests[1].account_id)

        local svc = assert(fake.start{ cas = { [CA] = "ACTIVE" },
                                       extra_credentials = { ISSUED } })
        local ok, res = pcall(function()
            local client = require("acmpca.client").new{
                endpoint = svc.url, region = "us-east-1",
                credentials = provider{ profile = "admin" }, sleep = function() end }
            return { client:ensure_acm_renewal(CA) }
        end)
        svc:stop()
        assert(ok, res)
        assert.same({ true, "created" }, { res[1], res[2] })
    end)

    it("ten runs with the disk cache call the portal once", function()
        for _ = 1, 10 do
            assert(provider{ profile = "admin", disk_cache = true }())
        end
        assert.equals(1, portal.stats().counts.GetRoleCredentials)
    end)

    it("names the account and the role the portal refuses", function()
        local c, err = provider{ profile = "other" }()
        assert.is_nil(c)
        assert.equals("acmpca: profile other: IAM Identity Center does not give you role "
            .. "NotMine in account " .. ACCOUNT .. " (HTTP 403 ForbiddenException: No access); "
            .. "check sso_account_id and sso_role_name", err.message)
        no_secret(err, { TOKEN })
    end)

    it("a token the portal no longer knows says to log in", function()
        portal.control{ config = { sso = { tokens = {} } } }
        local c, err = provider{ profile = "admin" }()
        assert.is_nil(c)
        assert.equals('acmpca: the SSO session for profile admin has expired or is missing; '
            .. 'run "aws sso login --sso-session corp" (or "aws sso login --profile admin") '
            .. "(the SSO portal refused the token: HTTP 401 UnauthorizedException: Session "
            .. "token not found or invalid)", err.message)
        no_secret(err, { TOKEN })
    end)

    it("retries throttling and then succeeds", function()
        portal.control{ faults = { { action = "GetRoleCredentials", status = 429,
                                     code = "TooManyRequestsException",
                                     message = "Rate exceeded", times = 2 } } }
        assert(provider{ profile = "admin" }())
        assert.equals(3, portal.stats().counts.GetRoleCredentials)
    end)
end)
