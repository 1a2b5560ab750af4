-- Specs for acmpca.config: the INI parser, file locations, profile
-- selection and region order. Every case runs against a temporary HOME and
-- an injected environment; the real one is never read.

local config = require "acmpca.config"
local helpers = require "helpers"
local F = require "support.creds_fixture"
local tmpdir, write = F.tmpdir, F.write


local function env_of(t)
    return function(k) return t[k] end
end


describe("acmpca.config", function()
    local home

    before_each(function()
        home = tmpdir()
    end)

    after_each(function()
        os.execute("rm -rf " .. home)
    end)

    describe("require", function()
        it("reads no environment and no file when loaded", function()
            local ok, mod, called = helpers.load_watched("acmpca.config")
            assert.is_true(ok, mod)
            assert.same({}, called)
            assert.equals("0.2.0", mod._VERSION)
        end)
    end)

    describe("parse", function()
        it("reads sections, keys and values with surrounding whitespace trimmed", function()
            local s = assert(config.parse("[default]\n  aws_access_key_id   =   AKID  \n"
                .. "region=us-west-2\n[ other ]\nregion = eu-west-1\n"))
            assert.same({ aws_access_key_id = "AKID", region = "us-west-2" }, s.default)
            assert.same({ region = "eu-west-1" }, s.other)
        end)

        it("lower-cases keys but not section names or values", function()
            local s = assert(config.parse("[Prod]\nAWS_Access_Key_ID = MixedCase\n"))
            assert.same({ aws_access_key_id = "MixedCase" }, s.Prod)
            assert.is_nil(s.prod)
        end)

        it("skips full-line # and ; comments, also indented ones", function()
            local s = assert(config.parse("# top\n[default]\n; note\n  # indented\n"
                .. "region = us-east-1\n"))
            assert.same({ region = "us-east-1" }, s.default)
        end)

        it("keeps '#' inside a value, as botocore does", function()
            local s = assert(config.parse("[default]\nregion = us-east-1 # comment\n"))
            assert.equals("us-east-1 # comment", s.default.region)
        end)

        it("accepts ':' as a delimiter and keeps later '=' and ':' in the value", function()
            local s = assert(config.parse("[default]\nregion: us-east-2\n"
                .. "credential_process = /bin/get --url=http://x:1/a\n"))
            assert.equals("us-east-2", s.default.region)
            assert.equals("/bin/get --url=http://x:1/a", s.default.credential_process)
        end)

        it("turns a key with indented lines below it into a nested table", function()
            local s = assert(config.parse("[default]\ns3 =\n  max_concurrent_requests = 20\n"
                .. "  addressing_style = path\nregion = us-east-1\n"))
            assert.same({ max_concurrent_requests = "20", addressing_style = "path" },
                        s.default.s3)
            assert.equals("us-east-1", s.default.region)
        end)

        it("joins continuation lines of a value that starts on its key's line", function()
            local s = assert(config.parse("[default]\nnote = first\n   second\n\n   third\n"))
            assert.equals("first\nsecond\n\nthird", s.default.note)
        end)

        it("handles CRLF line endings, a BOM and a missing final newline", function()
            local s = assert(config.parse("\239\187\191[default]\r\nregion = ap-south-1\r\n"
                .. "output = json"))
            assert.same({ region = "ap-south-1", output = "json" }, s.default)
        end)

        it("allows an empty value", function()
            local s = assert(config.parse("[default]\naws_session_token =\n"))
            assert.equals("", s.default.aws_session_token)
        end)

        it("merges a repeated section, later keys winning", function()
            local s = assert(config.parse("[a]\nx = 1\ny = 2\n[b]\n[a]\ny = 3\n"))
            assert.same({ x = "1", y = "3" }, s.a)
        end)

        it("rejects a key before any section, naming the line", function()
            local s, err = config.parse("\nregion = us-east-1\n", "/tmp/cfg")
            assert.is_nil(s)
            assert.equals("/tmp/cfg line 2: expected a [section] header first", err)
        end)

        it("rejects a line that is not key = value", function()
            local s, err = config.parse("[default]\nregion us-east-1\n", "cfg")
            assert.is_nil(s)
            assert.equals("cfg line 2: expected \"key = value\"", err)
        end)

        it("rejects an empty section name", function()
            local s, err = config.parse("[  ]\n", "cfg")
            assert.is_nil(s)
            assert.equals("cfg line 1: empty section name", err)
        end)

        it("raises when text is not a string", function()
            assert.has_error(function() config.parse(42) end,
                "acmpca.config.parse: text: expected string, got number")
        end)
    end)

    describe("paths", function()
        it("defaults to ~/.aws/credentials and ~/.aws/config under opts.home", function()
            local c, f = config.paths{ home = "/h", getenv = env_of{} }
            assert.equals("/h/.aws/credentials", c)
            assert.equals("/h/.aws/config", f)
        end)

        it("uses $HOME from the injected environment when opts.home is absent", function()
            local c = config.paths{ getenv = env_of{ HOME = "/envhome" } }
            assert.equals("/envhome/.aws/credentials", c)
        end)

        it("honours AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, expanding ~", function()
            local c, f = config.paths{ home = "/h", getenv = env_of{
                AWS_SHARED_CREDENTIALS_FILE = "~/creds", AWS_CONFIG_FILE = "/etc/aws.cfg" } }
            assert.equals("/h/creds", c)
            assert.equals("/etc/aws.cfg", f)
        end)

        it("gives nil paths when they depend on an unset HOME", function()
            local c, f = config.paths{ getenv = env_of{} }
            assert.is_nil(c)
            assert.is_nil(f)
        end)
    end)

    describe("profile_name", function()
        it("uses the explicit profile first", function()
            assert.equals("x", (config.profile_name{ profile = "x",
                getenv = env_of{ AWS_PROFILE = "p", AWS_DEFAULT_PROFILE = "d" } }))
        end)

        it("prefers AWS_DEFAULT_PROFILE over AWS_PROFILE, as botocore does", function()
            local name, src = config.profile_name{ getenv = env_of{
                AWS_PROFILE = "p", AWS_DEFAULT_PROFILE = "d" } }
            assert.equals("d", name)
            assert.equals("AWS_DEFAULT_PROFILE", src)
        end)

        it("uses AWS_PROFILE when it is the only one set", function()
            assert.equals("p", (config.profile_name{ getenv = env_of{ AWS_PROFILE = "p" } }))
        end)

        it("treats empty variables as unset and falls back to default", function()
            assert.equals("default", (config.profile_name{ getenv = env_of{
                AWS_PROFILE = "", AWS_DEFAULT_PROFILE = "" } }))
        end)

        it("raises on an explicit profile that is not a non-empty string", function()
            assert.has_error(function() config.profile_name{ profile = 7 } end,
                "acmpca: profile: expected a non-empty string, got number")
        end)
    end)

    describe("config_profiles", function()
        it("maps [profile name] and [default], ignoring other sections", function()
            local p = config.config_profiles(assert(config.parse(
                "[default]\na = 1\n[profile dev]\na = 2\n[profile \"my prof\"]\na = 3\n"
                .. "[sso-session s]\na = 4\n[plain]\na = 5\n[profile  spaced  ]\na = 6\n")))
            assert.same({ a = "1" }, p.default)
            assert.same({ a = "2" }, p.dev)
            assert.same({ a = "3" }, p["my prof"])
            assert.same({ a = "6" }, p.spaced)
            assert.is_nil(p.plain)
            assert.is_nil(p.s)
        end)

        it("ignores a bare [profile] header", function()
            assert.same({}, config.config_profiles(assert(config.parse("[profile]\na = 1\n"))))
        end)

        it("lets [profile default] win over [default]", function()
            local p = config.config_profiles(assert(config.parse(
                "[profile default]\na = pd\n[default]\na = d\n")))
            assert.same({ a = "pd" }, p.default)
        end)
    end)

    describe("config_sections", function()
        it("maps [sso-session name] and [services name] sections by kind", function()
            local sections = assert(config.parse(
                "[sso-session corp]\nsso_region = eu-west-1\n[sso-session \"q s\"]\na = 1\n"
                .. "[services local]\nsts =\n  endpoint_url = http://127.0.0.1:1\n"
                .. "[profile dev]\na = 2\n[sso-sessionx]\na = 3\n[services]\na = 4\n"))
            local sso = config.config_sections(sections, "sso-session")
            assert.same({ corp = { sso_region = "eu-west-1" }, ["q s"] = { a = "1" } }, sso)
            assert.same({ ["local"] = { sts = { endpoint_url = "http://127.0.0.1:1" } } },
                        config.config_sections(sections, "services"))
        end)
    end)

    describe("load", function()
        it("keeps every profile, sso-session and services section; settings(name) merges one",
            function()
                write(home .. "/.aws/config", "[profile a]\nrole_arn = r\nregion = x\n"
                    .. "[profile b]\nregion = y\n[sso-session s]\nsso_region = z\n"
                    .. "[services svc]\nsts =\n  endpoint_url = http://h\n")
                write(home .. "/.aws/credentials", "[b]\naws_access_key_id = K\n[c]\nregion = w\n")
                local st = assert(config.load{ home = home, profile = "a", getenv = env_of{} })
                assert.same({ role_arn = "r", region = "x" }, st.merged)
                assert.same({ region = "y", aws_access_key_id = "K" }, st:settings("b"))
                assert.same({ region = "w" }, st:settings("c"))
                assert.is_nil(st:settings("d"))
                assert.same({ sso_region = "z" }, st.sso_sessions.s)
                assert.same({ sts = { endpoint_url = "http://h" } }, st.services.svc)
            end)

        it("overlays the credentials file's profile on the config file's", function()
            write(home .. "/.aws/config", "[profile dev]\nregion = us-west-1\noutput = json\n")
            write(home .. "/.aws/credentials", "[dev]\nregion = eu-central-1\n")
            local st = assert(config.load{ home = home, profile = "dev", getenv = env_of{} })
            assert.same({ region = "eu-central-1", output = "json" }, st.merged)
            assert.equals("ok", st.credentials_status)
            assert.equals("ok", st.config_status)
        end)

        it("reads a [profile dev] section of the credentials file as profile 'profile dev'",
            function()
                write(home .. "/.aws/credentials", "[profile dev]\nregion = x\n")
                local st = assert(config.load{ home = home, profile = "dev", getenv = env_of{} })
                assert.equals("no-profile", st.credentials_status)
                assert.is_false(st.found)
            end)

        it("reports missing files", function()
            local st = assert(config.load{ home = home, getenv = env_of{} })
            assert.equals("missing", st.credentials_status)
            assert.equals("missing", st.config_status)
        end)

        it("fails on a file that cannot be parsed, naming it", function()
            write(home .. "/.aws/config", "region = x\n")
            local st, err = config.load{ home = home, getenv = env_of{} }
            assert.is_nil(st)
            assert.equals("ConfigError", err.code)
            assert.equals("acmpca: cannot parse " .. home
                .. "/.aws/config line 1: expected a [section] header first", err.message)
        end)
    end)

    describe("region", function()
        before_each(function()
            write(home .. "/.aws/config", "[default]\nregion = from-default\n"
                .. "[profile dev]\nregion = from-dev\n")
        end)

        it("prefers AWS_REGION", function()
            assert.equals("r1", config.region{ home = home, getenv = env_of{
                AWS_REGION = "r1", AWS_DEFAULT_REGION = "r2" } })
        end)

        it("then AWS_DEFAULT_REGION", function()
            assert.equals("r2", config.region{ home = home, getenv = env_of{
                AWS_DEFAULT_REGION = "r2" } })
        end)

        it("then the selected profile's region", function()
            assert.equals("from-default", config.region{ home = home, getenv = env_of{} })
            assert.equals("from-dev", config.region{ home = home, profile = "dev",
                                                     getenv = env_of{} })
            assert.equals("from-dev", config.region{ home = home,
                getenv = env_of{ AWS_PROFILE = "dev" } })
        end)

        it("honours AWS_CONFIG_FILE", function()
            write(home .. "/alt", "[default]\nregion = from-alt\n")
            assert.equals("from-alt", config.region{ home = home,
                getenv = env_of{ AWS_CONFIG_FILE = home .. "/alt" } })
        end)

        it("gives nil when nothing sets a region", function()
            assert.is_nil(config.region{ home = home, profile = "nope", getenv = env_of{} })
            assert.is_nil(config.region{ getenv = env_of{} })
        end)

        it("gives nil, err when the config file cannot be parsed", function()
            write(home .. "/.aws/config", "[default]\nbroken line\n")
            local r, err = config.region{ home = home, getenv = env_of{} }
            assert.is_nil(r)
            assert.matches("cannot parse .*line 2", err)
        end)
    end)

    describe("limits", function()
        -- Shapes that made the old patterns backtrack (quadratic), each
        -- with a run of n bytes.
        local function shapes(n)
            local sp = string.rep(" ", n)
            return {
                { "key then spaces", "[default]\nk" .. sp .. "x\n" },
                { "value then spaces", "[default]\nk = v" .. sp .. "x\n" },
                { "spaces at the end", "[default]\nk = v" .. sp .. "\n" },
                { "continuation", "[default]\nk = v\n  " .. sp .. "x" .. sp .. "\n" },
                { "nested", "[default]\ns3 =\n  k" .. sp .. "x" .. sp .. "= 1\n" },
                { "brackets", "[default]\n" .. string.rep("[", n) .. "\n" },
                { "header", "[" .. sp .. "x" .. sp .. "\n" },
                { "equals", "[default]\nk" .. string.rep("=", n) .. "\n" },
                { "profile", "[profile" .. sp .. "x" .. sp .. "]\nk = v\n" },
            }
        end

        -- #noasan: a CPU bound (100x what the linear parser needs, far below
        -- the quadratic one's minutes) holds for the plain builds only;
        -- memcheck runs the parser some 50 times slower
        it("parses pathological 1 MB lines in linear time #noasan", function()
            for _, shape in ipairs(shapes(1000000)) do
                local t = os.clock()
                local ok, s = pcall(config.parse, shape[2], "cfg")
                assert.is_true(ok, s)
                if s then
                    config.config_profiles(s)
                end
                local dt = os.clock() - t
                assert.is_true(dt < 2, shape[1] .. " took " .. dt .. " s")
            end
        end)

        it("joins many continuation lines in linear time #noasan", function()
            local text = "[default]\nk = v\n" .. string.rep("  x\n\n", 500000)
            local t = os.clock()
            local s = assert(config.parse(text))
            assert.is_true(os.clock() - t < 2, "took " .. (os.clock() - t) .. " s")
            -- "v", then "\n", "x", "\n" per line, the last "\n" trimmed
            assert.equals(500000 * 3, #s.default.k)
        end)

        it("refuses a line longer than 1 MiB, naming the line", function()
            local s, err = config.parse("[default]\nk = " .. string.rep("v", 1048576) .. "\n",
                                        "cfg")
            assert.is_nil(s)
            assert.equals("cfg line 2: longer than 1048576 bytes", err)
        end)

        it("refuses a file larger than 4 MiB, naming it, without reading all of it", function()
            local path = home .. "/.aws/credentials"
            write(path, "[default]\n" .. string.rep("# padding\n", 430000))
            local st, err = config.load{ home = home, getenv = env_of{} }
            assert.is_nil(st)
            assert.equals("ConfigError", err.code)
            assert.equals("acmpca: " .. path .. " is larger than 4194304 bytes", err.message)
            local r, rerr = config.read_file("/dev/zero")
            assert.is_nil(r)
            assert.equals("acmpca: /dev/zero is larger than 4194304 bytes", rerr.message)
        end)
    end)
end)
