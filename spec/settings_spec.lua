-- acmpca.settings: every setting from the environment and the profile
-- with its place, each invalid value's message, the endpoint_url order,
-- and the endpoints of STS, the SSO portal and ACM PCA checked against
-- botocore's rule sets (spec/fixtures/endpoints/expected.json, and live
-- through /usr/bin/python3 when it has botocore).  Every case runs with a
-- temporary HOME and an injected environment.

local settings = require "acmpca.settings"
local client = require "acmpca.client"
local acmpca = require "acmpca"
local cjson = require "cjson"
local F = require "support.creds_fixture"
local tmpdir, write = F.tmpdir, F.write

local PYTHON = "/usr/bin/python3"
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "placeholder-secret" }


local function env_of(t)
    return function(k) return t[k] end
end


local function read_json(path)
    local f = assert(io.open(path, "rb"))
    local v = cjson.decode(f:read("*a"))
    f:close()
    return v
end


-- A HOME with this config file text; returns home, env table, config path.
local homes = {}
local function home_with(config_text, extra_env)
    local home = tmpdir()
    homes[#homes + 1] = home
    write(home .. "/.aws/config", config_text or "")
    local env = { HOME = home }
    for k, v in pairs(extra_env or {}) do
        env[k] = v
    end
    return home, env, home .. "/.aws/config"
end


local function load(env, profile)
    return settings.load{ getenv = env_of(env), profile = profile, caller = "acmpca.new" }
end


-- A client whose transport counts what it is asked to send.
local function counting()
    local sent = {}
    return sent, function(req)
        sent[#sent + 1] = req
        return { status = 200, headers = {}, body = "{}" }
    end
end


teardown(function()
    for _, h in ipairs(homes) do
        os.execute("rm -rf " .. h)
    end
end)


describe("acmpca.settings", function()
    describe("load", function()
        it("has the SDKs' defaults, each from \"default\"", function()
            local s = assert(load({}))
            assert.are.equal("standard", s.retry_mode)
            assert.are.equal(3, s.max_attempts)
            assert.is_false(s.use_fips_endpoint)
            assert.is_false(s.use_dualstack_endpoint)
            assert.is_nil(s.ca_bundle)
            assert.are.equal("regional", s.sts_regional_endpoints)
            assert.is_false(s.ignore_configured_endpoint_urls)
            for _, k in ipairs{ "retry_mode", "max_attempts", "use_fips_endpoint",
                                "use_dualstack_endpoint", "sts_regional_endpoints" } do
                assert.are.equal("default", s.from[k], k)
            end
        end)

        it("reads the environment before the profile, naming where each came from", function()
            local _, env, path = home_with("[profile dev]\nretry_mode = adaptive\n"
                .. "max_attempts = 7\nuse_fips_endpoint = TRUE\nuse_dualstack_endpoint = true\n"
                .. "sts_regional_endpoints = legacy\n")
            local s = assert(load(env, "dev"))
            assert.are.equal("adaptive", s.retry_mode)
            assert.are.equal(7, s.max_attempts)
            assert.is_true(s.use_fips_endpoint)
            assert.is_true(s.use_dualstack_endpoint)
            assert.are.equal("legacy", s.sts_regional_endpoints)
            assert.are.equal("max_attempts in profile dev (" .. path .. ")", s.from.max_attempts)

            env.AWS_RETRY_MODE, env.AWS_MAX_ATTEMPTS = "standard", " 2 "
            env.AWS_USE_FIPS_ENDPOINT = "False"
            s = assert(load(env, "dev"))
            assert.are.equal("standard", s.retry_mode)
            assert.are.equal("AWS_RETRY_MODE", s.from.retry_mode)
            assert.are.equal(2, s.max_attempts)
            assert.is_false(s.use_fips_endpoint)
            assert.are.equal("AWS_USE_FIPS_ENDPOINT", s.from.use_fips_endpoint)
        end)

        it("takes the profile from AWS_PROFILE, and the credentials file's value over config's",
           function()
            local home, env = home_with("[profile p]\nmax_attempts = 4\n", { AWS_PROFILE = "p" })
            assert.are.equal(4, assert(load(env)).max_attempts)
            write(home .. "/.aws/credentials", "[p]\nmax_attempts = 6\n")
            local s = assert(load(env))
            assert.are.equal(6, s.max_attempts)
            assert.are.equal("max_attempts in profile p (" .. home .. "/.aws/credentials)",
                             s.from.max_attempts)
        end)

        it("gives legacy mode botocore's legacy default of 5 attempts", function()
            assert.are.equal(5, assert(load({ AWS_RETRY_MODE = "legacy" })).max_attempts)
            assert.are.equal(2, assert(load({ AWS_RETRY_MODE = "legacy",
                                              AWS_MAX_ATTEMPTS = "2" })).max_attempts)
        end)

        it("does not read what the caller gave", function()
            local s = assert(settings.load{ getenv = env_of{ AWS_MAX_ATTEMPTS = "abc",
                                                             AWS_CA_BUNDLE = "/nonexistent" },
                                            given = { max_attempts = 9, ca_bundle = "x.pem" } })
            assert.are.equal(9, s.max_attempts)
            assert.are.equal("option", s.from.max_attempts)
            assert.are.equal("x.pem", s.ca_bundle)
        end)

        describe("refuses an invalid value, naming its place", function()
            local cases = {
                { "AWS_RETRY_MODE", "fast",
                  'acmpca.new: AWS_RETRY_MODE: expected standard, adaptive or legacy, got "fast"' },
                { "AWS_RETRY_MODE", "Adaptive",
                  'acmpca.new: AWS_RETRY_MODE: expected standard, adaptive or legacy, '
                  .. 'got "Adaptive"' },
                { "AWS_MAX_ATTEMPTS", "0",
                  'acmpca.new: AWS_MAX_ATTEMPTS: expected an integer from 1 to 100, got "0"' },
                { "AWS_MAX_ATTEMPTS", "2.5",
                  'acmpca.new: AWS_MAX_ATTEMPTS: expected an integer from 1 to 100, got "2.5"' },
                { "AWS_USE_FIPS_ENDPOINT", "yes",
                  'acmpca.new: AWS_USE_FIPS_ENDPOINT: expected true or false, got "yes"' },
                { "AWS_USE_DUALSTACK_ENDPOINT", "1",
                  'acmpca.new: AWS_USE_DUALSTACK_ENDPOINT: expected true or false, got "1"' },
                { "AWS_STS_REGIONAL_ENDPOINTS", "global",
                  'acmpca.new: AWS_STS_REGIONAL_ENDPOINTS: expected regional or legacy, '
                  .. 'got "global"' },
                { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "on",
                  'acmpca.new: AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: expected true or false, '
                  .. 'got "on"' },
                { "AWS_CA_BUNDLE", "/nonexistent/ca.pem",
                  'acmpca.new: AWS_CA_BUNDLE: cannot read "/nonexistent/ca.pem"' },
            }
            for _, c in ipairs(cases) do
                it(c[1] .. "=" .. c[2], function()
                    local s, err = load({ [c[1]] = c[2] })
                    assert.is_nil(s)
                    assert.are.equal("ConfigError", err.code)
                    assert.are.equal(c[3], err.message)
                end)
            end

            it("in the profile, with the profile's name and the file", function()
                local keys = {
                    { "max_attempts", "abc", 'expected an integer from 1 to 100, got "abc"' },
                    { "retry_mode", "fast", 'expected standard, adaptive or legacy, got "fast"' },
                    { "use_dualstack_endpoint", "maybe", 'expected true or false, got "maybe"' },
                    { "use_fips_endpoint", "", 'expected true or false, got ""' },
                    { "sts_regional_endpoints", "x", 'expected regional or legacy, got "x"' },
                }
                for _, k in ipairs(keys) do
                    local _, env, path = home_with("[profile dev]\n" .. k[1] .. " = " .. k[2]
                                                   .. "\n")
                    local s, err = load(env, "dev")
                    assert.is_nil(s)
                    assert.are.equal(("acmpca.new: %s in profile dev (%s): %s")
                                     :format(k[1], path, k[3]), err.message)
                end
            end)

            it("a nested section where a value belongs", function()
                local _, env, path = home_with("[default]\nretry_mode =\n  x = y\n")
                local _, err = load(env)
                assert.are.equal("acmpca.new: retry_mode in profile default (" .. path
                                 .. "): expected standard, adaptive or legacy, "
                                 .. "got a nested section", err.message)
            end)

            it("a long value, cut short", function()
                local _, err = load({ AWS_RETRY_MODE = ("x"):rep(500) })
                assert.are.equal('acmpca.new: AWS_RETRY_MODE: expected standard, adaptive or '
                                 .. 'legacy, got "' .. ("x"):rep(64) .. '..."', err.message)
            end)

            it("a ca_bundle in the profile that cannot be read, ~ expanded", function()
                local home, env, path = home_with("[default]\nca_bundle = ~/missing.pem\n")
                local _, err = load(env)
                assert.are.equal(('acmpca.new: ca_bundle in profile default (%s): cannot read '
                                  .. '"%s/missing.pem"'):format(path, home), err.message)
            end)
        end)

        it("expands ~ in a readable ca_bundle", function()
            local home, env = home_with("[default]\nca_bundle = ~/ca.pem\n")
            write(home .. "/ca.pem", "-----BEGIN CERTIFICATE-----\n")
            local s = assert(load(env))
            assert.are.equal(home .. "/ca.pem", s.ca_bundle)
            env.AWS_CA_BUNDLE = home .. "/.aws/config"
            s = assert(load(env))
            assert.are.equal(home .. "/.aws/config", s.ca_bundle)
            assert.are.equal("AWS_CA_BUNDLE", s.from.ca_bundle)
        end)
    end)

    describe("endpoint_url", function()
        local CONFIG = "[profile dev]\nservices = local\nendpoint_url = http://127.0.0.1:4\n"
            .. "[services local]\nacm-pca =\n  endpoint_url = http://127.0.0.1:3\n"
            .. "sts =\n  endpoint_url = http://127.0.0.1:5/sts\n"

        it("takes the service's variable, AWS_ENDPOINT_URL, the services section, the profile",
           function()
            local _, env, path = home_with(CONFIG)
            env.AWS_ENDPOINT_URL_ACM_PCA = "http://127.0.0.1:1"
            env.AWS_ENDPOINT_URL = "http://127.0.0.1:2"
            local s = assert(load(env, "dev"))
            assert.are.same({ "http://127.0.0.1:1", "AWS_ENDPOINT_URL_ACM_PCA" },
                            { s:endpoint_url("acm-pca") })
            assert.are.same({ "http://127.0.0.1:2", "AWS_ENDPOINT_URL" }, { s:endpoint_url("sso") })
            env.AWS_ENDPOINT_URL_ACM_PCA, env.AWS_ENDPOINT_URL = nil, nil
            s = assert(load(env, "dev"))
            assert.are.same({ "http://127.0.0.1:3",
                              "acm-pca.endpoint_url in [services local] (" .. path .. ")" },
                            { s:endpoint_url("acm-pca") })
            assert.are.same({ "http://127.0.0.1:5/sts",
                              "sts.endpoint_url in [services local] (" .. path .. ")" },
                            { s:endpoint_url("STS") })
            assert.are.same({ "http://127.0.0.1:4",
                              "endpoint_url in profile dev (" .. path .. ")" },
                            { s:endpoint_url("sso") })
        end)

        it("is off with ignore_configured_endpoint_urls, from the environment or the profile",
           function()
            local _, env = home_with(CONFIG .. "[profile quiet]\nendpoint_url = http://x:1\n"
                                     .. "ignore_configured_endpoint_urls = true\n")
            env.AWS_ENDPOINT_URL = "http://127.0.0.1:2"
            assert.is_nil(assert(load(env, "quiet")):endpoint_url("acm-pca"))
            env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "TRUE"
            assert.is_nil(assert(load(env, "dev")):endpoint_url("acm-pca"))
            assert.is_nil(assert(load(env, "dev")):endpoint_url("sts"))
        end)

        it("refuses a URL that is not one, naming the place and not repeating it", function()
            local _, env, path = home_with("[default]\nendpoint_url = ftp://user:pw@host\n")
            local s = assert(load(env))
            local url, err = s:endpoint_url("acm-pca")
            assert.is_nil(url)
            local prefix = "acmpca.new: endpoint_url in profile default (" .. path
                .. "): expected an http(s) URL ("
            assert.are.equal(prefix, err.message:sub(1, #prefix))
            assert.is_nil(err.message:find("pw", 1, true))
            url, err = assert(load({ AWS_ENDPOINT_URL_STS = "http://a b" })):endpoint_url("sts")
            assert.is_nil(url)
            assert.matches("^acmpca%.new: AWS_ENDPOINT_URL_STS: expected an http%(s%) URL",
                           err.message)
        end)

        it("wants a service id", function()
            local s = assert(load({}))
            assert.has_error(function() s:endpoint_url() end,
                "acmpca.settings: endpoint_url: service: expected a service id")
        end)
    end)

    describe("service_url", function()
        local function url_for(c)
            local env = { AWS_USE_FIPS_ENDPOINT = tostring(c.fips),
                          AWS_USE_DUALSTACK_ENDPOINT = tostring(c.dualstack),
                          AWS_STS_REGIONAL_ENDPOINTS = c.sts_regional }
            local region = c.region ~= cjson.null and c.region or nil
            if c.service == "acm-pca" then
                local ok, cl = pcall(client.new, { region = region, credentials = CREDS,
                                                   getenv = env_of(env),
                                                   transport = function() end })
                if not ok then
                    return nil, cl
                end
                return (cl:endpoint():gsub("/$", ""))
            end
            return settings.service_url(c.service, region, { getenv = env_of(env) })
        end

        local function compare(cases)
            local n = 0
            for _, c in ipairs(cases) do
                local what = ("%s %s fips=%s dualstack=%s %s"):format(c.service,
                    tostring(c.region), tostring(c.fips), tostring(c.dualstack), c.sts_regional)
                local url, err = url_for(c)
                if c.url then
                    assert.are.equal(c.url, url, what .. ": " .. tostring(err))
                else
                    assert.is_nil(url, what)
                    assert.is_truthy(err, what)
                end
                n = n + 1
            end
            return n
        end

        it("gives botocore's URL in every case of the fixture", function()
            local cases = read_json("spec/fixtures/endpoints/expected.json")
            local services, errors = {}, 0
            for _, c in ipairs(cases) do
                services[c.service] = true
                errors = errors + (c.url and 0 or 1)
            end
            assert.are.same({ sts = true, sso = true, ["acm-pca"] = true }, services)
            assert.is_true(errors >= 12)
            assert.are.equal(#cases, compare(cases))
        end)

        it("gives what botocore resolves live", function()
            local p = io.popen(PYTHON .. ' -c "import botocore" 2>/dev/null; echo $?')
            local ok = p and p:read("*a"):match("^0")
            if p then
                p:close()
            end
            if not ok then
                pending(PYTHON .. " cannot import botocore")
                return
            end
            p = assert(io.popen(PYTHON .. " spec/support/endpoints_botocore.py --fixture"))
            local live = cjson.decode(p:read("*a"))
            p:close()
            assert.are.same(read_json("spec/fixtures/endpoints/expected.json"), live)
            compare(live)
        end)

        it("sends STS to the global endpoint only for legacy and its regions", function()
            local legacy = { getenv = env_of{ AWS_STS_REGIONAL_ENDPOINTS = "legacy" } }
            assert.are.same({ "https://sts.amazonaws.com", "derived" },
                            { settings.service_url("sts", "eu-west-1", legacy) })
            assert.are.equal("https://sts.eu-south-2.amazonaws.com",
                             settings.service_url("sts", "eu-south-2", legacy))
            assert.are.equal("https://sts.eu-west-1.amazonaws.com",
                             settings.service_url("sts", "eu-west-1", {}))
            assert.are.equal("https://sts.amazonaws.com", settings.service_url("sts", nil, {}))
        end)

        it("takes an override from the environment or the profile first", function()
            local _, env, path = home_with("[profile dev]\nservices = s\n[services s]\n"
                                           .. "sso =\n  endpoint_url = http://127.0.0.1:9\n")
            assert.are.same({ "http://127.0.0.1:9",
                              "sso.endpoint_url in [services s] (" .. path .. ")" },
                            { settings.service_url("sso", "eu-west-1",
                                                   { getenv = env_of(env), profile = "dev" }) })
            env.AWS_ENDPOINT_URL_SSO = "http://127.0.0.1:8"
            assert.are.same({ "http://127.0.0.1:8", "AWS_ENDPOINT_URL_SSO" },
                            { settings.service_url("sso", "eu-west-1",
                                                   { getenv = env_of(env), profile = "dev" }) })
            -- a settings object does as well
            local s = assert(load(env, "dev"))
            assert.are.equal("http://127.0.0.1:8", settings.service_url("sso", nil, s))
        end)

        it("refuses a bad region, SSO without one, and a partition without the variant",
           function()
            local cases = {
                { "sts", "EU-WEST-1", {}, 'acmpca: sts: region: expected a region name such as '
                  .. '"us-east-1", got "EU-WEST-1"' },
                { "sso", "eu-west-1.evil.example/", {}, 'acmpca: sso: region: expected a region '
                  .. 'name such as "us-east-1", got "eu-west-1.evil.example/"' },
                { "sts", "-x", {}, 'acmpca: sts: region: expected a region name such as '
                  .. '"us-east-1", got "-x"' },
                { "sso", nil, {}, "acmpca: no region for the SSO portal (set sso_region)" },
                { "sso", "us-iso-east-1", { AWS_USE_DUALSTACK_ENDPOINT = "true" },
                  "acmpca: sso: dual-stack is enabled but this partition does not support it "
                  .. "(region us-iso-east-1)" },
                { "sts", "us-isob-east-1", { AWS_USE_DUALSTACK_ENDPOINT = "true",
                                             AWS_USE_FIPS_ENDPOINT = "true" },
                  "acmpca: sts: FIPS and dual-stack are enabled, but this partition does not "
                  .. "support one or both (region us-isob-east-1)" },
                { "sts", "eu-west-1", { AWS_USE_FIPS_ENDPOINT = "on" },
                  'acmpca: AWS_USE_FIPS_ENDPOINT: expected true or false, got "on"' },
            }
            for _, c in ipairs(cases) do
                local url, err = settings.service_url(c[1], c[2], { getenv = env_of(c[3]) })
                assert.is_nil(url)
                assert.are.equal("ConfigError", err.code)
                assert.are.equal(c[4], err.message)
            end
        end)

        it("raises on misuse", function()
            assert.has_error(function() settings.service_url("s3", "eu-west-1") end,
                'acmpca.settings.service_url: service: expected "sts" or "sso", got s3')
            assert.has_error(function() settings.service_url("sts", 5) end,
                "acmpca.settings.service_url: region: expected a string or nil, got number")
        end)
    end)

    describe("acmpca.new", function()
        it("raises naming the place and sends nothing", function()
            local _, env, path = home_with("[profile dev]\nmax_attempts = abc\n"
                                           .. "[profile ok]\nregion = eu-west-1\n")
            local cases = {
                { {}, "dev", ("acmpca.new: max_attempts in profile dev (%s): expected an integer "
                              .. 'from 1 to 100, got "abc"'):format(path) },
                { { AWS_RETRY_MODE = "fast" }, "ok",
                  'acmpca.new: AWS_RETRY_MODE: expected standard, adaptive or legacy, got "fast"' },
                { { AWS_USE_DUALSTACK_ENDPOINT = "yes" }, "ok",
                  'acmpca.new: AWS_USE_DUALSTACK_ENDPOINT: expected true or false, got "yes"' },
                { { AWS_CA_BUNDLE = "/nonexistent/ca.pem" }, "ok",
                  'acmpca.new: AWS_CA_BUNDLE: cannot read "/nonexistent/ca.pem"' },
                { { AWS_ENDPOINT_URL = "http://127.0.0.1:1", AWS_USE_FIPS_ENDPOINT = "true" }, "ok",
                  "acmpca.new: endpoint (AWS_ENDPOINT_URL) and use_fips (AWS_USE_FIPS_ENDPOINT) "
                  .. "cannot be combined (a custom endpoint is used as given)" },
                { { AWS_USE_DUALSTACK_ENDPOINT = "true", AWS_REGION = "us-iso-east-1" }, "ok",
                  "acmpca.new: use_dualstack: dual-stack is enabled but this partition does not "
                  .. "support it (region us-iso-east-1, partition aws-iso)" },
            }
            for _, c in ipairs(cases) do
                for k, v in pairs(env) do
                    c[1][k] = c[1][k] or v
                end
                local sent, transport = counting()
                local ok, err = pcall(acmpca.new, { getenv = env_of(c[1]), profile = c[2],
                                                   credentials = CREDS, transport = transport })
                assert.is_false(ok)
                assert.are.equal(c[3], (tostring(err):gsub("^[^:]*:%d+: ", "")))
                assert.are.equal(0, #sent)
            end
        end)

        it("names an explicit option and a setting combined with it", function()
            local _, env, path = home_with("[default]\nuse_dualstack_endpoint = true\n")
            assert.has_error(function()
                acmpca.new{ getenv = env_of(env), endpoint = "http://127.0.0.1:1",
                            credentials = CREDS, transport = function() end }
            end, ("acmpca.new: endpoint and use_dualstack (use_dualstack_endpoint in profile "
                  .. "default (%s)) cannot be combined (a custom endpoint is used as given)")
                 :format(path))
            assert.has_error(function()
                acmpca.new{ getenv = env_of{}, endpoint = "http://127.0.0.1:1",
                            use_dualstack = true, credentials = CREDS, transport = function() end }
            end, "acmpca.new: endpoint and use_dualstack cannot be combined (a custom endpoint "
                 .. "is used as given)")
            assert.has_error(function()
                acmpca.new{ getenv = env_of{}, retry_mode = "fast", credentials = CREDS }
            end, 'acmpca.new: retry_mode: expected "standard", "adaptive" or "legacy", got "fast"')
            assert.has_error(function()
                acmpca.new{ getenv = env_of{}, use_dualstack = "yes", credentials = CREDS }
            end, "acmpca.new: use_dualstack: expected a boolean, got string")
        end)

        it("takes the profile's settings: endpoint, dual-stack, retries, CA bundle", function()
            local home, env = home_with("[profile dev]\nregion = eu-west-1\n"
                .. "use_dualstack_endpoint = true\nretry_mode = adaptive\nmax_attempts = 4\n"
                .. "ca_bundle = ~/ca.pem\n"
                .. "[profile local]\nservices = here\n"
                .. "[services here]\nacm-pca =\n  endpoint_url = http://127.0.0.1:7/pca\n")
            write(home .. "/ca.pem", "x")
            local c = acmpca.new{ getenv = env_of(env), profile = "dev", credentials = CREDS,
                                  transport = function() end }
            assert.are.equal("https://acm-pca.eu-west-1.api.aws/", c:endpoint())
            local st = c:_state()
            assert.are.equal("adaptive", st.retry_mode)
            assert.is_table(st.limiter)
            assert.are.equal(4, st.max_attempts)
            assert.are.equal(home .. "/ca.pem", st.ca_file)

            local sent, transport = counting()
            c = acmpca.new{ getenv = env_of(env), profile = "local", region = "eu-west-1",
                            credentials = CREDS, transport = transport }
            assert.is_true(c:delete_permission{
                ca_arn = "arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/"
                    .. "12345678-1234-1234-1234-123456789012",
                principal = "acm.amazonaws.com" })
            assert.are.equal("http://127.0.0.1:7/pca", sent[1].url)
            assert.are.equal("127.0.0.1:7", sent[1].headers.Host)
        end)
    end)
end)
