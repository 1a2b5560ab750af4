-- Specs for acmpca.credentials: each source of the chain with a temporary
-- HOME and an injected environment, refresh with an injected clock, and the
-- error texts.  The container and IMDS endpoints against a local stand-in
-- are in spec/integration/credentials_metadata_spec.lua.

local credentials = require "acmpca.credentials"
local helpers = require "helpers"
local F = require "support.creds_fixture"
local T0 = F.T0
local write = F.write
local iso = F.iso
local fake_http = F.fake_http
local strict_http = F.strict_http
local no_secret = F.no_secret
local creds_error = F.creds_error


describe("acmpca.credentials", function()
    local S = F.sandbox()
    local opts = S.opts
    before_each(S.reset)
    after_each(S.cleanup)

    describe("require", function()
        it("reads no environment, file or process and makes no request when loaded",
            function()
                local ok, mod, called = helpers.load_watched("acmpca.credentials",
                                                              { "acmpca.config" })
                assert.is_true(ok, mod)
                assert.same({}, called)
                credentials = require "acmpca.credentials"
            end)
    end)

    describe("check_keys", function()
        it("accepts usable keys, with or without a session token", function()
            assert.is_true(credentials.check_keys{ access_key_id = "A", secret_access_key = "s" })
            assert.is_true(credentials.check_keys{ access_key_id = "A", secret_access_key = "s",
                                                   session_token = "t", expiration = "x" })
        end)

        it("says what is wrong and with which field, never showing a value", function()
            local cases = {
                { "AKID", "expected a table, got string", nil },
                { {}, "access_key_id: expected string, got nil", "access_key_id" },
                { { access_key_id = "", secret_access_key = "s" },
                  "access_key_id: must not be empty", "access_key_id" },
                { { access_key_id = "A", secret_access_key = 5 },
                  "secret_access_key: expected string, got number", "secret_access_key" },
                { { access_key_id = "A", secret_access_key = "" },
                  "secret_access_key: must not be empty", "secret_access_key" },
                { { access_key_id = "A", secret_access_key = "very-secret-value",
                    session_token = true },
                  "session_token: expected string or nil, got boolean", "session_token" },
            }
            for _, case in ipairs(cases) do
                local ok, problem, field = credentials.check_keys(case[1])
                assert.is_nil(ok)
                assert.equals(case[2], problem)
                assert.equals(case[3], field)
                no_secret(problem, { "very-secret-value" })
            end
        end)
    end)

    describe("static", function()
        it("returns a credentials object with source static", function()
            local c = credentials.static{ access_key_id = "AKIDEXAMPLE",
                secret_access_key = "s3cr3t", session_token = "tok", expiration = 5 }
            assert.equals("AKIDEXAMPLE", c.access_key_id)
            assert.equals("s3cr3t", c.secret_access_key)
            assert.equals("tok", c.session_token)
            assert.equals(5, c.expiration)
            assert.equals("static", c.source)
            assert.is_true(credentials.is_credentials(c))
        end)

        it("raises on a non-table", function()
            assert.has_error(function() credentials.static("AKID") end,
                "acmpca.credentials.static: expected a table, got string")
        end)

        it("raises naming a non-string access_key_id, never the value", function()
            assert.has_error(function()
                credentials.static{ access_key_id = 12345, secret_access_key = "s3cr3t" }
            end, "acmpca.credentials.static: access_key_id: expected string, got number")
        end)

        it("raises naming a missing secret_access_key", function()
            assert.has_error(function()
                credentials.static{ access_key_id = "AKID" }
            end, "acmpca.credentials.static: secret_access_key: expected string, got nil")
        end)

        it("raises on an empty secret_access_key", function()
            assert.has_error(function()
                credentials.static{ access_key_id = "AKID", secret_access_key = "" }
            end, "acmpca.credentials.static: secret_access_key: must not be empty")
        end)

        it("raises naming a bad session_token without showing the secret", function()
            local ok, err = pcall(credentials.static, { access_key_id = "AKID",
                secret_access_key = "very-secret-value", session_token = true })
            assert.is_false(ok)
            assert.matches("session_token: expected string or nil, got boolean", err)
            no_secret(err, { "very-secret-value" })
        end)

        it("raises naming a bad expiration", function()
            assert.has_error(function()
                credentials.static{ access_key_id = "AKID", secret_access_key = "s",
                                    expiration = "soon" }
            end, "acmpca.credentials.static: expiration: expected epoch seconds or nil, "
                .. "got string")
        end)
    end)

    describe("tostring", function()
        it("shows only the last 4 characters of the key id and the source", function()
            local c = credentials.static{ access_key_id = "AKIAIOSFODNN7EXAMPLE",
                secret_access_key = "wJalrXUtnFEMI", session_token = "FwoGZXIvYXdzE" }
            assert.equals("acmpca.credentials(****************MPLE, source=static)",
                          tostring(c))
            no_secret(tostring(c), { "wJalrXUtnFEMI", "FwoGZXIvYXdzE", "AKIAIOSFODNN7" })
        end)

        it("masks a short key id entirely", function()
            local c = credentials.static{ access_key_id = "AKI", secret_access_key = "s" }
            assert.equals("acmpca.credentials(***, source=static)", tostring(c))
        end)
    end)

    describe("parse_time", function()
        it("parses ISO-8601 UTC times, fractions and offsets", function()
            assert.equals(0, credentials.parse_time("1970-01-01T00:00:00Z"))
            assert.equals(T0, credentials.parse_time(iso(T0)))
            assert.equals(951782400, credentials.parse_time("2000-02-29T00:00:00.123Z"))
            assert.equals(T0 - 3600, credentials.parse_time(
                os.date("!%Y-%m-%dT%H:%M:%S+01:00", T0)))
            assert.is_nil(credentials.parse_time("tomorrow"))
            assert.is_nil(credentials.parse_time("2024-13-01T00:00:00Z"))
        end)
    end)

    describe("provider", function()
        it("raises on bad opts without reading anything", function()
            local n = 0
            local getenv = function() n = n + 1 end
            assert.has_error(function() credentials.provider("default") end,
                "acmpca.credentials.provider: opts: expected table or nil, got string")
            assert.has_error(function() credentials.provider{ getenv = getenv, http = {} } end,
                "acmpca.credentials.provider: http: expected function, got table")
            assert.has_error(function() credentials.provider{ getenv = getenv, profile = "" } end,
                "acmpca.credentials.provider: profile: expected a non-empty string, got string")
            assert.has_error(function() credentials.provider{ getenv = getenv, home = 1 } end,
                "acmpca.credentials.provider: home: expected string, got number")
            assert.has_error(function()
                credentials.provider{ getenv = getenv, process_thread_pool = "" }
            end, "acmpca.credentials.provider: process_thread_pool: expected a non-empty "
                .. "string, got string")
            assert.equals(0, n)
        end)

        it("does no I/O until the first call", function()
            local n = 0
            local http, log = fake_http()
            local o = opts{ http = http }
            local getenv = o.getenv
            o.getenv = function(k) n = n + 1 return getenv(k) end
            local p = credentials.provider(o)
            assert.is_function(p)
            assert.equals(0, n)
            assert.equals(0, #log)
            S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = "AKIDENV1", "envsecret"
            assert.equals("env", p().source)
            assert.is_true(n > 0)
        end)

        it("caches static credentials after the first resolution", function()
            S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = "AKIDENV1", "envsecret"
            local n = 0
            local o = opts()
            local getenv = o.getenv
            o.getenv = function(k) n = n + 1 return getenv(k) end
            local p = credentials.provider(o)
            local c1 = p()
            local reads = n
            S.env.AWS_ACCESS_KEY_ID = "AKIDCHANGED"
            S.clock = T0 + 10 * 365 * 86400
            assert.equals(c1, p())
            assert.equals(reads, n)
        end)
    end)

    describe("provider refresh across coroutines", function()
        -- A canned IMDS: token, role listing, then credentials.
        local function imds_answer(key, exp)
            return function(req)
                if req.method == "PUT" then
                    return { status = 200, headers = {}, body = "tok" }
                end
                if req.url:match("/security%-credentials/$") then
                    return { status = 200, headers = {}, body = "role" }
                end
                return { status = 200, headers = {}, body = string.format(
                    '{"AccessKeyId": "%s", "SecretAccessKey": "s", "Token": "t", '
                    .. '"Expiration": "%s"}', key, iso(exp)) }
            end
        end

        it("serves the old credentials while another coroutine is refreshing", function()
            S.env.AWS_EC2_METADATA_DISABLED = nil
            local answer = imds_answer("AKID1", T0 + 3600)
            local yielding, calls = false, 0
            local http = function(req)
                calls = calls + 1
                if yielding then
                    coroutine.yield()
                end
                return answer(req)
            end
            local p = credentials.provider(opts{ http = http })
            local c1 = assert(p())
            answer = imds_answer("AKID2", T0 + 7200)
            yielding = true
            S.clock = T0 + 3600 - 800
            local co = coroutine.create(p)
            assert.is_true(coroutine.resume(co))
            assert.equals("suspended", coroutine.status(co))
            local n = calls
            assert.equals(c1, p())
            assert.equals(n, calls)
            yielding = false
            local ok, c2 = coroutine.resume(co)
            assert.is_true(ok)
            assert.equals("AKID2", c2.access_key_id)
            assert.equals(c2, p())
        end)

        it("turns an error raised by the transport during a refresh into nil, err", function()
            S.env.AWS_EC2_METADATA_DISABLED = nil
            local answer = imds_answer("AKID1", T0 + 3600)
            local p = credentials.provider(opts{ http = function(req) return answer(req) end })
            assert(p())
            answer = function() error("transport exploded") end
            S.clock = T0 + 3600 - 60
            local c, err = p()
            assert.is_nil(c)
            assert.matches("expire soon and could not be refreshed: .*transport exploded",
                err.message)
        end)
    end)

    describe("environment", function()
        it("reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN", function()
            S.env.AWS_ACCESS_KEY_ID = "AKIDENV1"
            S.env.AWS_SECRET_ACCESS_KEY = "envsecret"
            S.env.AWS_SESSION_TOKEN = "envtoken"
            local c = assert(credentials.provider(opts())())
            assert.same({ "AKIDENV1", "envsecret", "envtoken", "env" },
                        { c.access_key_id, c.secret_access_key, c.session_token, c.source })
            assert.is_nil(c.expiration)
        end)

        it("fails when the key is set without the secret, saying so, and sends nothing",
            function()
                S.env.AWS_ACCESS_KEY_ID = "AKIDENV1"
                S.env.AWS_SESSION_TOKEN = "envtoken"
                S.env.AWS_EC2_METADATA_DISABLED = nil
                local http, log = fake_http()
                local c, err = credentials.provider(opts{ http = http })()
                assert.is_nil(c)
                assert.equals("acmpca: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is "
                    .. "not; set both (and AWS_SESSION_TOKEN for temporary credentials)",
                        err.message)
                assert.equals(0, #log)
                no_secret(err, { "envtoken" })
            end)

        it("skips a secret without a key and never shows it", function()
            S.env.AWS_SECRET_ACCESS_KEY = "lonely-secret"
            local c, err = credentials.provider(opts())()
            assert.is_nil(c)
            assert.matches("environment %(AWS_SECRET_ACCESS_KEY set without AWS_ACCESS_KEY_ID%)",
                err.message)
            no_secret(err, { "lonely-secret" })
        end)

        it("wins over the shared files and AWS_PROFILE", function()
            write(S.home .. "/.aws/credentials", "[dev]\naws_access_key_id = AKIDFILE\n"
                .. "aws_secret_access_key = filesecret\n")
            S.env.AWS_PROFILE = "dev"
            S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = "AKIDENV1", "envsecret"
            assert.equals("AKIDENV1", credentials.provider(opts())().access_key_id)
        end)

        it("is skipped when a profile is given explicitly, as aws --profile does", function()
            write(S.home .. "/.aws/credentials", "[dev]\naws_access_key_id = AKIDFILE\n"
                .. "aws_secret_access_key = filesecret\n")
            S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = "AKIDENV1", "envsecret"
            local c = credentials.provider(opts{ profile = "dev" })()
            assert.equals("AKIDFILE", c.access_key_id)
            assert.equals("shared-credentials-file", c.source)
        end)

        it("refreshes temporary environment credentials with AWS_CREDENTIAL_EXPIRATION",
            function()
                S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = "AKIDENV1", "envsecret"
                S.env.AWS_CREDENTIAL_EXPIRATION = iso(T0 + 3600)
                local p = credentials.provider(opts())
                assert.equals(T0 + 3600, p().expiration)
                S.env.AWS_ACCESS_KEY_ID = "AKIDENV2"
                S.env.AWS_CREDENTIAL_EXPIRATION = iso(T0 + 7200)
                S.clock = T0 + 3600 - 800
                assert.equals("AKIDENV2", p().access_key_id)
            end)
    end)

    describe("shared files", function()
        before_each(function()
            write(S.home .. "/.aws/credentials",
                "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = defsecret\n"
                .. "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = devsecret\n"
                .. "aws_session_token = devtoken\n"
                .. "[both]\naws_access_key_id = AKIDCREDFILE\n"
                .. "aws_secret_access_key = credfilesecret\n")
            write(S.home .. "/.aws/config",
                "[default]\nregion = us-east-1\n"
                .. "[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = cfgsecret\n"
                .. "[profile both]\naws_access_key_id = AKIDCONFIG\n"
                .. "aws_secret_access_key = configsecret\n"
                .. "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
                .. "source_profile = default\n"
                .. "[profile partial]\naws_access_key_id = AKIDPARTIAL\n")
        end)

        it("reads the default profile of the credentials file", function()
            local c = credentials.provider(opts())()
            assert.equals("AKIDDEFAULT", c.access_key_id)
            assert.equals("defsecret", c.secret_access_key)
            assert.is_nil(c.session_token)
            assert.equals("shared-credentials-file", c.source)
        end)

        it("selects the profile from AWS_PROFILE", function()
            S.env.AWS_PROFILE = "dev"
            local c = credentials.provider(opts())()
            assert.same({ "AKIDDEV", "devtoken" }, { c.access_key_id, c.session_token })
        end)

        it("prefers AWS_DEFAULT_PROFILE to AWS_PROFILE, as botocore does", function()
            S.env.AWS_PROFILE = "default"
            S.env.AWS_DEFAULT_PROFILE = "dev"
            assert.equals("AKIDDEV", credentials.provider(opts())().access_key_id)
        end)

        it("prefers opts.profile to the environment", function()
            S.env.AWS_PROFILE = "default"
            assert.equals("AKIDDEV", credentials.provider(opts{ profile = "dev" })().access_key_id)
        end)

        it("reads keys from a [profile name] section of the config file", function()
            local c = credentials.provider(opts{ profile = "cfg" })()
            assert.equals("AKIDCFG", c.access_key_id)
            assert.equals("config-file", c.source)
        end)

        it("prefers the credentials file to the config file", function()
            assert.equals("AKIDCREDFILE",
                          credentials.provider(opts{ profile = "both" })().access_key_id)
        end)

        it("honours AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE", function()
            write(S.home .. "/c2", "[default]\naws_access_key_id = AKIDALT\n"
                .. "aws_secret_access_key = altsecret\n")
            S.env.AWS_SHARED_CREDENTIALS_FILE = S.home .. "/c2"
            assert.equals("AKIDALT", credentials.provider(opts())().access_key_id)
            S.env.AWS_SHARED_CREDENTIALS_FILE = S.home .. "/none"
            S.env.AWS_CONFIG_FILE = S.home .. "/.aws/credentials"
            -- A credentials file read as a config file: [dev] is not a profile there.
            local c, err = credentials.provider(opts{ profile = "dev" })()
            assert.is_nil(c)
            assert.matches("could not be found", err.message)
        end)

        it("fails on a profile that exists nowhere, naming both files, sending nothing",
            function()
                S.env.AWS_EC2_METADATA_DISABLED = nil
                S.env.AWS_PROFILE = "nope"
                local http, log = fake_http()
                local c, err = credentials.provider(opts{ http = http })()
                assert.is_nil(c)
                assert.equals("acmpca: the config profile (nope) could not be found in "
                    .. S.home .. "/.aws/credentials or " .. S.home .. "/.aws/config", err.message)
                assert.equals(0, #log)
            end)

        it("fails on a key without a secret in a file, sending nothing", function()
            S.env.AWS_EC2_METADATA_DISABLED = nil
            local http, log = fake_http()
            local c, err = credentials.provider(opts{ profile = "partial", http = http })()
            assert.is_nil(c)
            assert.equals("acmpca: profile partial in " .. S.home .. "/.aws/config has "
                .. "aws_access_key_id but no aws_secret_access_key", err.message)
            assert.equals(0, #log)
        end)

        it("fails on a secret without a key in a file without showing it", function()
            write(S.home .. "/.aws/credentials", "[default]\naws_secret_access_key = hidden-one\n")
            local c, err = credentials.provider(opts())()
            assert.is_nil(c)
            assert.matches("has aws_secret_access_key but no aws_access_key_id", err.message)
            no_secret(err, { "hidden-one" })
        end)

        it("fails on a file that cannot be parsed", function()
            write(S.home .. "/.aws/credentials", "[default]\nthis is not ini\n")
            local c, err = credentials.provider(opts())()
            assert.is_nil(c)
            assert.equals("acmpca: cannot parse " .. S.home .. "/.aws/credentials line 2: "
                .. "expected \"key = value\"", err.message)
        end)
    end)

    describe("sources", function()
        it("lists the default chain in botocore's order", function()
            assert.same({ "environment", "assume_role", "web_identity", "sso",
                          "shared_credentials_file", "credential_process", "config_file",
                          "container", "instance_metadata" }, credentials.SOURCES)
        end)

        it("runs a custom chain: only the sources named, in that order", function()
            write(S.home .. "/.aws/credentials", "[default]\naws_access_key_id = AKIDFILE\n"
                .. "aws_secret_access_key = filesecret\n")
            S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = "AKIDENV", "envsecret"
            local c = credentials.provider(opts{ sources = { "shared_credentials_file",
                                                             "environment" } })()
            assert.equals("AKIDFILE", c.access_key_id)
            c = credentials.provider(opts{ sources = { "environment" } })()
            assert.equals("AKIDENV", c.access_key_id)
            S.env.AWS_ACCESS_KEY_ID = nil
            local none, err = credentials.provider(opts{ sources = { "environment" } })()
            assert.is_nil(none)
            creds_error(err)
            assert.equals("acmpca: no AWS credentials found; looked in: environment "
                .. "(AWS_SECRET_ACCESS_KEY set without AWS_ACCESS_KEY_ID)", err.message)
        end)

        it("refuses a name that is not a source", function()
            assert.has_error(function()
                credentials.provider{ sources = { "environment", "env" } }
            end,
                "acmpca.credentials.provider: sources[2]: env is not one of environment, "
                .. "assume_role, web_identity, sso, shared_credentials_file, credential_process, "
                .. "config_file, container, instance_metadata")
            assert.has_error(function() credentials.provider{ sources = {} } end,
                "acmpca.credentials.provider: sources: expected a list of source names")
        end)
    end)

    describe("errors", function()
        it("lists every place it looked in one message", function()
            S.env.AWS_EC2_METADATA_DISABLED = nil
            local http, log = fake_http()
            local c, err = credentials.provider(opts{ http = http })()
            assert.is_nil(c)
            assert.equals("acmpca: no AWS credentials found; looked in: environment "
                .. "(AWS_ACCESS_KEY_ID not set), shared credentials file " .. S.home
                .. "/.aws/credentials (profile default: file not found), config file " .. S.home
                .. "/.aws/config (profile default: file not found), container credentials "
                .. "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI "
                .. "not set), EC2 instance metadata (http://169.254.169.254: timed out)",
                    err.message)
            assert.equals(1, #log)
            assert.equals("http://169.254.169.254/latest/api/token", log[1].url)
        end)

        it("names the profile and says when it has no credentials", function()
            write(S.home .. "/.aws/credentials", "[default]\nregion = x\n")
            write(S.home .. "/.aws/config", "[profile other]\nregion = x\n")
            local c, err = credentials.provider(opts())()
            assert.is_nil(c)
            assert.matches("shared credentials file " .. S.home:gsub("%p", "%%%0")
                .. "/%.aws/credentials %(profile default%), config file .-%(profile default: "
                .. "no such profile%)", err.message)
        end)

        it("says when HOME is not set", function()
            S.env.HOME = nil
            local o = opts()
            o.home = nil
            local c, err = credentials.provider(o)()
            assert.is_nil(c)
            assert.matches("shared credentials file ~/.aws/credentials %(profile default: HOME "
                .. "not set%)", err.message)
        end)

        it("reports a missing default transport as the IMDS problem", function()
            S.env.AWS_EC2_METADATA_DISABLED = nil
            local loaded = package.loaded["acmpca.core"]
            package.loaded["acmpca.core"] = {}
            local c, err = credentials.provider(opts())()
            package.loaded["acmpca.core"] = loaded
            assert.is_nil(c)
            assert.matches("EC2 instance metadata %(http://169%.254%.169%.254: no HTTP transport "
                .. "%(acmpca%.core%.http_new is not available%)%)$", err.message)
        end)

        it("never contains secret values from any source", function()
            local secrets = { "env-secret-1", "env-token-1", "file-secret-1" }
            S.env.AWS_SECRET_ACCESS_KEY = "env-secret-1"
            S.env.AWS_SESSION_TOKEN = "env-token-1"
            S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "container-token-1"
            write(S.home .. "/.aws/credentials", "[default]\naws_session_token = file-secret-1\n")
            local _, err = credentials.provider(opts())()
            assert.is_table(err)
            no_secret(err, secrets)
            no_secret(err, { "container-token-1" })
        end)
    end)

    describe("hostile answers", function()
        -- Distinctive values: none may appear in an error.
        local SECRET, TOKEN, IMDS_TOKEN = "hostile-secret-XQ1", "hostile-token-XQ2",
            "hostile-imds-XQ3"

        local function doc(t)
            return require("cjson").encode(t)
        end

        -- An IMDS answering token, role listing and credentials body.
        local function imds(token, role, body)
            return function(req)
                if req.method == "PUT" then
                    return { status = 200, headers = {}, body = token }
                end
                if req.url:match("/security%-credentials/$") then
                    return { status = 200, headers = {}, body = role }
                end
                return { status = 200, headers = {}, body = body }
            end
        end

        local GOOD = doc{ Code = "Success", AccessKeyId = "AKIDIMDS", SecretAccessKey = SECRET,
                          Token = TOKEN, Expiration = iso(T0 + 3600) }

        -- Runs the provider over strict_http(answer): never raises, fails
        -- with a CredentialsError matching the patterns, leaks nothing.
        local function refused(answer, ...)
            S.env.AWS_EC2_METADATA_DISABLED = nil
            local http, log = strict_http(answer)
            local ok, c, err = pcall(credentials.provider(opts{ http = http }))
            assert.is_true(ok, c)
            assert.is_nil(c)
            creds_error(err, ...)
            no_secret(err, { SECRET, TOKEN, IMDS_TOKEN })
            return err, log
        end

        it("refuses an IMDSv2 token with CR, LF or NUL before sending it", function()
            for _, bad in ipairs{ IMDS_TOKEN .. "\r\nX-Evil: 1", IMDS_TOKEN .. "\n",
                                  IMDS_TOKEN .. "\0", "\r" .. IMDS_TOKEN } do
                local _, log = refused(imds(bad, "role", GOOD),
                    "EC2 instance metadata", "IMDSv2 token")
                assert.equals(1, #log)
            end
        end)

        it("refuses a role name with NUL or characters no IAM role name has", function()
            for _, bad in ipairs{ "role\0x", "ro le", "../../x", "role?x", "role#x",
                                  string.rep("r", 200) } do
                local _, log = refused(imds(IMDS_TOKEN, bad, GOOD), "EC2 instance metadata",
                                       "role name")
                assert.equals(2, #log)
            end
        end)

        it("reads a role listing with long runs of blanks in linear time", function()
            S.env.AWS_EC2_METADATA_DISABLED = nil
            local blanks = string.rep(" ", 200000)
            for _, body in ipairs{ blanks .. "role" .. blanks .. "\n", blanks .. "x" .. blanks
                                   .. "y", "role" .. blanks .. "x" } do
                local t = os.clock()
                local ok = pcall(credentials.provider(opts{ http = strict_http(
                    imds(IMDS_TOKEN, body, GOOD)) }))
                assert.is_true(ok)
                assert.is_true(os.clock() - t < 5, "took " .. (os.clock() - t) .. " s")
            end
        end)

        it("turns a transport that raises into a CredentialsError", function()
            S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:9/creds"
            S.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = TOKEN
            refused(function(req) error("exploded with " .. req.headers.Authorization) end,
                    "container credentials", "transport raised", "exploded with")
            S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = nil
            refused(function() error({ "not even a string" }) end, "EC2 instance metadata",
                    "transport raised")
        end)

        it("refuses IMDS credentials of the wrong types or with fields missing", function()
            local bodies = {
                doc{ AccessKeyId = 5, SecretAccessKey = SECRET, Token = TOKEN,
                     Expiration = iso(T0 + 3600) },
                doc{ AccessKeyId = "AKID", SecretAccessKey = { SECRET }, Token = TOKEN,
                     Expiration = iso(T0 + 3600) },
                doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET, Token = true,
                     Expiration = iso(T0 + 3600) },
                doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET, Token = TOKEN,
                     Expiration = 1e300 },
                doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET, Token = TOKEN },
                doc{ AccessKeyId = "AKID\r\nX-Evil: 1", SecretAccessKey = SECRET,
                     Token = TOKEN, Expiration = iso(T0 + 3600) },
                doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET, Token = TOKEN .. "\n",
                     Expiration = iso(T0 + 3600) },
                "[1, 2]", "null", '"' .. SECRET .. '"',
            }
            for _, body in ipairs(bodies) do
                refused(imds(IMDS_TOKEN, "role", body), "EC2 instance metadata")
            end
        end)

        it("refuses container credentials of the wrong types or with control characters",
            function()
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:9/creds"
                local bodies = {
                    doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET, Token = 5 },
                    doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET, Token = { TOKEN } },
                    doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET, Token = TOKEN,
                         Expiration = 12 },
                    doc{ AccessKeyId = "AK\0ID", SecretAccessKey = SECRET, Token = TOKEN },
                    doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET .. "\r",
                         Token = TOKEN },
                    doc{ AccessKeyId = "AKID", SecretAccessKey = SECRET,
                         Token = TOKEN .. "\r\nX-Evil: 1" },
                }
                for _, body in ipairs(bodies) do
                    refused(function() return { status = 200, headers = {}, body = body } end,
                            "container credentials")
                end
            end)

        it("refuses credentials that are already expired when fetched, from any source",
            function()
                local past = iso(T0 - 60)
                refused(imds(IMDS_TOKEN, "role", doc{ AccessKeyId = "AKID",
                    SecretAccessKey = SECRET, Token = TOKEN, Expiration = past }),
                    "EC2 instance metadata", "expired")
                refused(imds(IMDS_TOKEN, "role", doc{ AccessKeyId = "AKID",
                    SecretAccessKey = SECRET, Token = TOKEN, Expiration = "0001-01-01T00:00:00Z" }),
                    "EC2 instance metadata", "expired")

                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:9/creds"
                refused(function()
                    return { status = 200, headers = {}, body = doc{ AccessKeyId = "AKID",
                        SecretAccessKey = SECRET, Token = TOKEN, Expiration = past } }
                end, "container credentials", "expired")
                S.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = nil

                S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = "AKIDENV1", SECRET
                S.env.AWS_SESSION_TOKEN = TOKEN
                S.env.AWS_CREDENTIAL_EXPIRATION = past
                refused(fake_http(), "environment", "expired")
            end)

        it("refuses static keys with control characters from the environment and files",
            function()
                S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = "AKIDENV1", SECRET
                S.env.AWS_SESSION_TOKEN = TOKEN .. "\r\nX-Evil: 1"
                refused(fake_http(), "environment", "AWS_SESSION_TOKEN")
                S.env.AWS_ACCESS_KEY_ID, S.env.AWS_SECRET_ACCESS_KEY = nil, nil
                S.env.AWS_SESSION_TOKEN = nil
                write(S.home .. "/.aws/credentials", "[default]\naws_access_key_id = AK\0ID\n"
                    .. "aws_secret_access_key = " .. SECRET .. "\n")
                refused(fake_http(), "credentials", "aws_access_key_id")
            end)

        it("reports a credentials file that cannot be parsed as a CredentialsError", function()
            write(S.home .. "/.aws/credentials", "aws_secret_access_key = " .. SECRET .. "\n")
            refused(fake_http(), "cannot parse", "section")
        end)
    end)
end)
