-- Specs for the STS sources of acmpca.credentials (acmpca.credentials.role
-- over acmpca.sts): assume role from a profile (source_profile chains,
-- credential_source, the role settings, MFA) and web identity, through a
-- fake STS at the transport seam that answers STS's XML.  Against a real
-- HTTP stand-in checked with botocore: spec/integration/credentials_sts_spec.lua.

local credentials = require "acmpca.credentials"
local F = require "support.creds_fixture"
local T0 = F.T0
local write = F.write
local iso = F.iso
local no_secret = F.no_secret
local creds_error = F.creds_error

local NS = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'


local function form_decode(body)
    local t = {}
    for pair in body:gmatch("[^&]+") do
        local k, v = pair:match("^([^=]*)=(.*)$")
        t[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    end
    return t
end


local function header(req, name)
    for k, v in pairs(req.headers or {}) do
        if k:lower() == name:lower() then
            return v
        end
    end
    return nil
end


local function success(action, n, exp)
    return string.format('<%sResponse %s><%sResult><Credentials>'
        .. '<AccessKeyId>ASIAISSUED%d</AccessKeyId><SecretAccessKey>issued-secret-%d'
        .. '</SecretAccessKey><SessionToken>issued-token-%d</SessionToken>'
        .. '<Expiration>%s</Expiration></Credentials><AssumedRoleUser>'
        .. '<AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::111122223333:assumed-role/r/s'
        .. '</Arn></AssumedRoleUser></%sResult><ResponseMetadata><RequestId>rid-%d</RequestId>'
        .. '</ResponseMetadata></%sResponse>', action, NS, action, n, n, n, iso(exp), action,
        n, action)
end


local function failure(status, code, message)
    return { status = status, headers = { ["x-amzn-RequestId"] = "rid-err" },
             body = string.format('<ErrorResponse %s><Error><Type>Sender</Type><Code>%s</Code>'
                 .. '<Message>%s</Message></Error><RequestId>rid-err</RequestId></ErrorResponse>',
                 NS, code, message) }
end


-- A fake STS: records each request with its decoded form; answers with
-- issued credentials n (the request's number), expiring after an hour,
-- unless answers[n] says otherwise.
local function fake_sts(S, answers)
    local log = {}
    return function(req)
        local params = form_decode(req.body or "")
        log[#log + 1] = { req = req, params = params,
                          auth = header(req, "Authorization"),
                          token = header(req, "X-Amz-Security-Token") }
        local n = #log
        local a = answers and answers[n]
        if type(a) == "table" then
            return a
        end
        return { status = 200, headers = { ["Content-Type"] = "text/xml" },
                 body = a or success(params.Action, n, S.clock + 3600) }
    end, log
end


describe("acmpca.credentials (STS)", function()
    local S = F.sandbox()
    before_each(function()
        S.reset()
        write(S.home .. "/.aws/credentials",
            "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = basesecret\n")
        write(S.home .. "/.aws/config",
            "[profile base]\nregion = eu-west-1\n"
            .. "[profile one]\nregion = eu-west-1\nrole_arn = arn:aws:iam::111122223333:role/one\n"
            .. "source_profile = base\n"
            .. "[profile two]\nregion = eu-west-1\nrole_arn = arn:aws:iam::444455556666:role/two\n"
            .. "source_profile = one\nrole_session_name = ops-audit\nexternal_id = ext-42\n"
            .. "duration_seconds = 1800\n")
    end)
    after_each(S.cleanup)

    local function provider(extra)
        return credentials.provider(S.opts(extra))
    end

    describe("assume role", function()
        it("signs AssumeRole with the source profile's keys in the profile's region", function()
            local http, log = fake_sts(S)
            local c = assert(provider{ profile = "one", http = http }())
            assert.equals(1, #log)
            local r = log[1]
            assert.equals("POST", r.req.method)
            assert.equals("https://sts.eu-west-1.amazonaws.com", r.req.url)
            assert.equals("application/x-www-form-urlencoded; charset=utf-8",
                          header(r.req, "Content-Type"))
            assert.same({ Action = "AssumeRole", Version = "2011-06-15",
                          RoleArn = "arn:aws:iam::111122223333:role/one",
                          RoleSessionName = "acmpca-session-" .. T0 }, r.params)
            assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDBASE/%d+/eu%-west%-1/sts/"
                           .. "aws4_request, SignedHeaders=", r.auth)
            assert.is_nil(r.token)
            assert.equals("ASIAISSUED1", c.access_key_id)
            assert.equals("issued-secret-1", c.secret_access_key)
            assert.equals("issued-token-1", c.session_token)
            assert.equals(T0 + 3600, c.expiration)
            assert.equals("assume-role", c.source)
            no_secret(tostring(c), { "issued-secret-1", "issued-token-1" })
        end)

        it("chains roles: each hop's credentials assume the next role", function()
            local http, log = fake_sts(S)
            local c = assert(provider{ profile = "two", http = http }())
            assert.equals(2, #log)
            assert.equals("arn:aws:iam::111122223333:role/one", log[1].params.RoleArn)
            assert.matches("Credential=AKIDBASE/", log[1].auth)
            assert.same({ Action = "AssumeRole", Version = "2011-06-15",
                          RoleArn = "arn:aws:iam::444455556666:role/two",
                          RoleSessionName = "ops-audit", ExternalId = "ext-42",
                          DurationSeconds = "1800" }, log[2].params)
            assert.matches("Credential=ASIAISSUED1/", log[2].auth)
            assert.equals("issued-token-1", log[2].token)
            assert.equals("ASIAISSUED2", c.access_key_id)
        end)

        it("re-assumes the role when the credentials near expiry", function()
            local http, log = fake_sts(S)
            local p = provider{ profile = "one", http = http }
            assert.equals("ASIAISSUED1", p().access_key_id)
            S.clock = T0 + 3600 - 10 * 60
            assert.equals("ASIAISSUED2", p().access_key_id)
            assert.equals(2, #log)
        end)

        it("uses a profile's own keys when it names itself as its source", function()
            write(S.home .. "/.aws/config", "[profile self]\nregion = us-east-2\n"
                .. "role_arn = arn:aws:iam::111122223333:role/self\nsource_profile = self\n"
                .. "aws_access_key_id = AKIDSELF\naws_secret_access_key = selfsecret\n")
            local http, log = fake_sts(S)
            local c = assert(provider{ profile = "self", http = http }())
            assert.matches("Credential=AKIDSELF/%d+/us%-east%-2/sts/", log[1].auth)
            assert.equals("ASIAISSUED1", c.access_key_id)
        end)

        it("assumes the role of a profile that also holds keys, as botocore does", function()
            write(S.home .. "/.aws/credentials", "[base]\naws_access_key_id = AKIDBASE\n"
                .. "aws_secret_access_key = basesecret\n[one]\naws_access_key_id = AKIDONE\n"
                .. "aws_secret_access_key = onesecret\n")
            local http, log = fake_sts(S)
            local c = assert(provider{ profile = "one", http = http }())
            assert.matches("Credential=AKIDBASE/", log[1].auth)
            assert.equals("assume-role", c.source)
        end)

        it("refuses a loop of source profiles, naming it, sending nothing", function()
            write(S.home .. "/.aws/config", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\n"
                .. "source_profile = b\n[profile b]\nrole_arn = arn:aws:iam::1:role/b\n"
                .. "source_profile = a\n")
            local http, log = fake_sts(S)
            local c, err = provider{ profile = "a", http = http }()
            assert.is_nil(c)
            creds_error(err)
            assert.equals("acmpca: profile b, source_profile: the source profiles loop: "
                .. "a -> b -> a", err.message)
            assert.equals(0, #log)
        end)

        it("says what is wrong with the role settings, naming profile and setting", function()
            local cases = {
                { "",
                  "acmpca: profile x, role_arn: needs source_profile or credential_source (the "
                  .. "credentials that assume the role)" },
                { "source_profile = nowhere\n",
                  "acmpca: profile x, source_profile: the profile nowhere does not exist" },
                { "source_profile = base\ncredential_source = Environment\n",
                  "acmpca: profile x: has both source_profile and credential_source; give one" },
                { "credential_source = Laptop\n",
                  'acmpca: profile x, credential_source: "Laptop" is not one of Environment, '
                  .. "Ec2InstanceMetadata, EcsContainer" },
                { "source_profile = base\nduration_seconds = 60\n",
                  'acmpca: profile x, duration_seconds: expected a whole number of seconds '
                  .. 'from 900 to 43200, got "60"' },
                { "source_profile = base\nduration_seconds = 1e3\n",
                  'acmpca: profile x, duration_seconds: expected a whole number of seconds '
                  .. 'from 900 to 43200, got "1e3"' },
                { "source_profile = base\nrole_session_name = has space\n",
                  "acmpca: profile x, role_session_name: expected 2 to 64 of the characters "
                  .. "A-Z a-z 0-9 + = , . @ _ -" },
                { "source_profile = empty\n",
                  "acmpca: profile x, source_profile: the profile empty has no credentials "
                  .. "(static keys, role_arn, web_identity_token_file, SSO or "
                  .. "credential_process)" },
            }
            for _, case in ipairs(cases) do
                write(S.home .. "/.aws/config", "[profile empty]\nregion = x\n[profile x]\n"
                    .. "role_arn = arn:aws:iam::1:role/x\n" .. case[1])
                local http, log = fake_sts(S)
                local c, err = provider{ profile = "x", http = http }()
                assert.is_nil(c)
                creds_error(err)
                assert.equals(case[2], err.message)
                assert.equals(0, #log)
            end
        end)

        it("takes credential_source = Environment from the environment", function()
            write(S.home .. "/.aws/config", "[profile env]\nregion = eu-west-1\n"
                .. "role_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n")
            S.env.AWS_ACCESS_KEY_ID = "AKIDENV"
            S.env.AWS_SECRET_ACCESS_KEY = "envsecret"
            local http, log = fake_sts(S)
            local c = assert(provider{ profile = "env", http = http }())
            assert.matches("Credential=AKIDENV/", log[1].auth)
            assert.equals("ASIAISSUED1", c.access_key_id)

            S.env.AWS_ACCESS_KEY_ID = nil
            local c2, err = provider{ profile = "env", http = http }()
            assert.is_nil(c2)
            assert.matches("^acmpca: profile env, credential_source: Environment gave no "
                           .. "credentials", err.message)
        end)

        describe("mfa_serial", function()
            before_each(function()
                write(S.home .. "/.aws/config", "[profile m]\nregion = eu-west-1\n"
                    .. "role_arn = arn:aws:iam::1:role/m\nsource_profile = base\n"
                    .. "mfa_serial = arn:aws:iam::1:mfa/ops\n")
            end)

            it("is an error in a program without a prompt, sending nothing", function()
                local http, log = fake_sts(S)
                local c, err = provider{ profile = "m", http = http }()
                assert.is_nil(c)
                assert.matches("^acmpca: profile m, mfa_serial: the role needs an MFA code",
                               err.message)
                assert.equals(0, #log)
            end)

            it("sends SerialNumber and the code the prompt gives", function()
                local http, log = fake_sts(S)
                local asked
                local c = assert(provider{ profile = "m", http = http,
                    mfa_prompt = function(serial, pname)
                        asked = { serial, pname }
                        return "123456"
                    end }())
                assert.same({ "arn:aws:iam::1:mfa/ops", "m" }, asked)
                assert.equals("arn:aws:iam::1:mfa/ops", log[1].params.SerialNumber)
                assert.equals("123456", log[1].params.TokenCode)
                assert.equals("ASIAISSUED1", c.access_key_id)
            end)

            it("refuses a code that is not six digits", function()
                local http, log = fake_sts(S)
                local c, err = provider{ profile = "m", http = http,
                    mfa_prompt = function() return "12 34" end }()
                assert.is_nil(c)
                assert.equals("acmpca: profile m, mfa_serial: no six-digit MFA code was given",
                              err.message)
                assert.equals(0, #log)
            end)
        end)

        describe("STS errors", function()
            it("names the profile, the role, STS's code, message and request id", function()
                local http = fake_sts(S, { failure(403, "AccessDenied", "User: arn:aws:iam::1:"
                    .. "user/base is not authorized to perform: sts:AssumeRole") })
                local c, err = provider{ profile = "one", http = http }()
                assert.is_nil(c)
                creds_error(err)
                assert.equals("acmpca: profile one, role_arn: AssumeRole for "
                    .. "arn:aws:iam::111122223333:role/one failed: AccessDenied: User: "
                    .. "arn:aws:iam::1:user/base is not authorized to perform: sts:AssumeRole "
                    .. "(request id rid-err)", err.message)
                no_secret(err, { "basesecret" })
                -- STS's own error object, as ACM PCA's are
                assert.equals("AccessDenied", err.cause.code)
                assert.equals(403, err.cause.status)
                assert.equals("rid-err", err.cause.request_id)
                assert.is_false(err.cause.retryable)
                assert.equals("AssumeRole", err.cause.operation)
            end)

            it("retries throttling with a backoff, then succeeds", function()
                local http, log = fake_sts(S, { failure(400, "Throttling", "Rate exceeded"),
                                                failure(503, "ServiceUnavailable", "busy") })
                local c = assert(provider{ profile = "one", http = http }())
                assert.equals(3, #log)
                assert.equals(2, #S.sleeps)
                assert.equals("ASIAISSUED3", c.access_key_id)
            end)

            it("gives up after three attempts, saying so", function()
                local t = failure(400, "Throttling", "Rate exceeded")
                local http, log = fake_sts(S, { t, t, t })
                local c, err = provider{ profile = "one", http = http }()
                assert.is_nil(c)
                assert.equals(3, #log)
                assert.matches("failed: Throttling: Rate exceeded %(after 3 attempts%)",
                               err.message)
                assert.is_true(err.cause.retryable)
                assert.is_true(err.cause.throttling)
                assert.equals(3, err.cause.attempts)
            end)

            it("refuses an answer that is not STS's XML", function()
                for _, body in ipairs{ "not xml", "<AssumeRoleResponse/>",
                        "<x><y></x>", '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
                        success("AssumeRole", 1, T0 + 3600):gsub("<SessionToken>.-</SessionToken>",
                                                                 "") } do
                    local http = fake_sts(S, { body })
                    local c, err = provider{ profile = "one", http = http }()
                    assert.is_nil(c)
                    creds_error(err, "AssumeRole for arn:aws:iam::111122223333:role/one failed: "
                                .. "InvalidResponse: ")
                end
            end)

            it("refuses credentials that are already expired", function()
                local http = fake_sts(S, { success("AssumeRole", 1, T0 - 1) })
                local c, err = provider{ profile = "one", http = http }()
                assert.is_nil(c)
                assert.matches("STS answered unusable credentials: the credentials expired",
                               err.message)
            end)
        end)

        it("sends to the STS endpoint_url of the profile's services section", function()
            write(S.home .. "/.aws/config", "[profile base]\nregion = eu-west-1\n"
                .. "[profile one]\nregion = eu-west-1\nrole_arn = arn:aws:iam::1:role/one\n"
                .. "source_profile = base\nservices = local\n"
                .. "[services local]\nsts =\n  endpoint_url = http://127.0.0.1:9/from-services\n")
            local http, log = fake_sts(S)
            assert(provider{ profile = "one", http = http }())
            assert.equals("http://127.0.0.1:9/from-services", log[1].req.url)
        end)

        it("uses STS's global endpoint only with sts_regional_endpoints = legacy", function()
            S.env.AWS_STS_REGIONAL_ENDPOINTS = "legacy"
            local http, log = fake_sts(S)
            assert(provider{ profile = "one", http = http }())
            assert.equals("https://sts.amazonaws.com", log[1].req.url)
            -- signed for us-east-1, as the global endpoint wants
            assert.matches("/us%-east%-1/sts/aws4_request", log[1].auth)
        end)

        it("sends to AWS_ENDPOINT_URL_STS when set", function()
            S.env.AWS_ENDPOINT_URL_STS = "http://127.0.0.1:9/sts"
            local http, log = fake_sts(S)
            assert(provider{ profile = "one", http = http }())
            assert.equals("http://127.0.0.1:9/sts", log[1].req.url)
        end)
    end)

    describe("web identity", function()
        local token_file
        before_each(function()
            token_file = S.home .. "/token"
            write(token_file, "eyJ.first-token.sig\n")
            S.env.AWS_WEB_IDENTITY_TOKEN_FILE = token_file
            S.env.AWS_ROLE_ARN = "arn:aws:iam::111122223333:role/web"
            S.env.AWS_REGION = "eu-central-1"
        end)

        it("sends AssumeRoleWithWebIdentity unsigned with the file's token", function()
            local http, log = fake_sts(S)
            local c = assert(provider{ http = http }())
            assert.equals("https://sts.eu-central-1.amazonaws.com", log[1].req.url)
            assert.is_nil(log[1].auth)
            assert.same({ Action = "AssumeRoleWithWebIdentity", Version = "2011-06-15",
                          RoleArn = "arn:aws:iam::111122223333:role/web",
                          RoleSessionName = "acmpca-session-" .. T0,
                          WebIdentityToken = "eyJ.first-token.sig" }, log[1].params)
            assert.equals("web-identity", c.source)
            assert.equals("ASIAISSUED1", c.access_key_id)
        end)

        it("re-reads the token file at each refresh", function()
            local http, log = fake_sts(S)
            S.env.AWS_ROLE_SESSION_NAME = "pod-7"
            local p = provider{ http = http }
            assert(p())
            write(token_file, "eyJ.second-token.sig")
            S.clock = T0 + 3600 - 5 * 60
            assert.equals("ASIAISSUED2", p().access_key_id)
            assert.equals("eyJ.second-token.sig", log[2].params.WebIdentityToken)
            assert.equals("pod-7", log[2].params.RoleSessionName)
        end)

        it("reads web_identity_token_file and role_arn from a profile", function()
            S.env.AWS_WEB_IDENTITY_TOKEN_FILE, S.env.AWS_ROLE_ARN = nil, nil
            write(S.home .. "/.aws/config", "[profile k8s]\nregion = eu-west-1\n"
                .. "web_identity_token_file = ~/token\nrole_arn = arn:aws:iam::1:role/k\n")
            local http, log = fake_sts(S)
            assert(provider{ profile = "k8s", http = http }())
            assert.equals("arn:aws:iam::1:role/k", log[1].params.RoleArn)
            assert.equals("eyJ.first-token.sig", log[1].params.WebIdentityToken)
        end)

        it("ignores the environment's web identity when a profile is given", function()
            local http, log = fake_sts(S)
            local c = assert(provider{ profile = "base", http = http }())
            assert.equals("AKIDBASE", c.access_key_id)
            assert.equals(0, #log)
        end)

        it("says what is wrong, never showing the token, sending nothing", function()
            local cases = {
                { function() S.env.AWS_ROLE_ARN = nil end,
                  "acmpca: AWS_WEB_IDENTITY_TOKEN_FILE: is set but AWS_ROLE_ARN is not; web "
                  .. "identity needs the role to assume" },
                { function() S.env.AWS_WEB_IDENTITY_TOKEN_FILE = S.home .. "/none" end,
                  "^acmpca: AWS_WEB_IDENTITY_TOKEN_FILE: cannot read the web identity token "
                  .. "file: " },
                { function() write(token_file, "\n\n") end,
                  "acmpca: AWS_WEB_IDENTITY_TOKEN_FILE: the web identity token file is empty" },
                { function() write(token_file, "eyJ.first\0token") end,
                  "acmpca: AWS_WEB_IDENTITY_TOKEN_FILE: the web identity token file holds a "
                  .. "character that is not printable ASCII" },
                { function()
                      os.remove(token_file)
                      assert(os.execute("mkfifo " .. token_file))
                  end,
                  "^acmpca: AWS_WEB_IDENTITY_TOKEN_FILE: cannot read the web identity token "
                  .. "file: .*not a regular file" },
                { function() write(token_file, ("a"):rep(65537)) end,
                  "acmpca: AWS_WEB_IDENTITY_TOKEN_FILE: the web identity token file is larger "
                  .. "than 65536 bytes" },
            }
            for _, case in ipairs(cases) do
                S.reset()
                token_file = S.home .. "/token"
                write(token_file, "eyJ.first-token.sig\n")
                S.env.AWS_WEB_IDENTITY_TOKEN_FILE = token_file
                S.env.AWS_ROLE_ARN = "arn:aws:iam::111122223333:role/web"
                case[1]()
                local http, log = fake_sts(S)
                local c, err = provider{ http = http }()
                assert.is_nil(c)
                creds_error(err)
                if case[2]:sub(1, 1) == "^" then
                    assert.matches(case[2], err.message)
                else
                    assert.equals(case[2], err.message)
                end
                no_secret(err, { "first-token" })
                assert.equals(0, #log)
            end
        end)

        it("reports STS's InvalidIdentityToken without the token", function()
            local http = fake_sts(S, { failure(400, "InvalidIdentityToken",
                                               "Incorrect token audience") })
            local c, err = provider{ http = http }()
            assert.is_nil(c)
            assert.equals("acmpca: AWS_WEB_IDENTITY_TOKEN_FILE: AssumeRoleWithWebIdentity for "
                .. "arn:aws:iam::111122223333:role/web failed: InvalidIdentityToken: Incorrect "
                .. "token audience (request id rid-err)", err.message)
            no_secret(err, { "first-token" })
        end)
    end)
end)
