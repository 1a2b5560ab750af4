-- The `acmpca` command's global behaviour, as the AWS CLI has it: --version,
-- --debug (requests and responses on stderr, secrets hidden), unknown
-- options and commands, errors named by the command's options, retry
-- counts, AWS_DEFAULT_OUTPUT and the profile's output, --mock-state, and
-- the serve and repl commands handed to their modules.

local cjson = require "cjson.safe"
local acmpca = require "acmpca"
local cli = require "acmpca.cli"
local mock = require "acmpca.mock"
local state = require "acmpca.mock.state"
local debug_transport = require "acmpca.cli.debug"

local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"

local buffer = require("helpers").buffer


local function run(argv, extra)
    local out, err = buffer(), buffer()
    local env = { stdout = out, stderr = err, sleep = function() end }
    for k, v in pairs(extra or {}) do
        env[k] = v
    end
    local code = cli.main(argv, env)
    return code, out.text, err.text
end


local function active()
    return mock.new{ cas = { [ARN] = { status = "ACTIVE" } } }
end


-- an environment of only these variables
local function env_of(vars)
    return function(name) return vars[name] end
end


local function tmpdir()
    local p = assert(io.popen("mktemp -d"))
    local dir = p:read("*l")
    p:close()
    return dir
end


local function write(path, text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
end


local function read(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end


local function sh(cmd)
    local p = assert(io.popen(cmd))
    local s = p:read("*a")
    p:close()
    return s
end


describe("acmpca.cli global behaviour", function()

    describe("--version", function()
        it("prints acmpca's version and Lua's", function()
            local code, out, err = run({ "--version" })
            assert.are.equal(0, code)
            assert.are.equal("", err)
            local lua = rawget(_G, "jit") and jit.version or _VERSION
            assert.are.equal("acmpca " .. acmpca._VERSION .. " (" .. lua .. ")\n", out)
        end)
    end)

    describe("--help", function()
        it("lists serve and repl, and says --mock lasts one command", function()
            local code, out = run({ "--help" })
            assert.are.equal(0, code)
            assert.truthy(out:find("\n  serve --port N      run the fake ACM PCA over HTTP on "
                                   .. "127.0.0.1 (nginx)\n", 1, true), out)
            assert.truthy(out:find("\n  repl                an interactive Lua prompt with "
                                   .. "acmpca loaded\n", 1, true), out)
            assert.truthy(out:find("this one command only", 1, true))
            for _, opt in ipairs{ "--mock-state <file>", "--debug", "--version",
                                  "AWS_DEFAULT_OUTPUT" } do
                assert.truthy(out:find(opt, 1, true), opt)
            end
        end)
    end)

    describe("every help text", function()
        it("fits 79 columns", function()
            local _, overall = run({ "--help" })
            local texts = { overall }
            for name in overall:gmatch("\n  (%l[%l%-]*)") do
                if name ~= "serve" and name ~= "repl" then
                    local code, out = run({ name, "--help" })
                    assert.are.equal(0, code, name)
                    texts[#texts + 1] = out
                end
            end
            assert.is_true(#texts > 10)
            for _, text in ipairs(texts) do
                for line in text:gmatch("[^\n]+") do
                    assert.is_true(#line <= 79, line)
                end
            end
        end)
    end)

    describe("serve and repl", function()
        after_each(function()
            package.preload["acmpca.serve"], package.loaded["acmpca.serve"] = nil, nil
            package.preload["acmpca.repl"], package.loaded["acmpca.repl"] = nil, nil
        end)

        it("hand the words after the command and io_env to the module's main", function()
            for _, name in ipairs{ "serve", "repl" } do
                local seen
                package.loaded["acmpca." .. name] = nil
                package.preload["acmpca." .. name] = function()
                    return { main = function(args, io_env)
                        seen = args
                        io_env.stdout:write(name, " ran\n")
                        return 3
                    end }
                end
                local code, out = run({ name, "--port", "8080" })
                assert.are.equal(3, code)
                assert.are.equal(name .. " ran\n", out)
                assert.are.same({ "--port", "8080" }, seen)
            end
        end)

        it("answer `acmpca help <command>` as `acmpca <command> --help`", function()
            local seen
            package.loaded["acmpca.serve"] = nil
            package.preload["acmpca.serve"] = function()
                return { main = function(args) seen = args return 0 end }
            end
            assert.are.equal(0, (run({ "help", "serve" })))
            assert.are.same({ "--help" }, seen)
        end)

        it("exit 2 saying so when the module cannot be loaded", function()
            package.loaded["acmpca.repl"] = nil
            package.preload["acmpca.repl"] = function() error("broken on purpose", 0) end
            local code, out, err = run({ "repl" })
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.are.equal("acmpca: error: the repl command is not available: cannot load "
                             .. "acmpca.repl: broken on purpose\n", err)
        end)
    end)

    describe("usage errors", function()
        it("tell an unknown option with the command's own usage, sending nothing", function()
            local svc = active()
            local code, out, err = run({ "--frob", "list-permissions", "--mock",
                                         "--certificate-authority-arn", ARN }, { mock = svc })
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.are.equal(1, err:find("usage: acmpca list-permissions "
                                         .. "--certificate-authority-arn <value>", 1, true), err)
            local tail = "\nacmpca: error: Unknown options: --frob\n"
            assert.are.equal(tail, err:sub(-#tail))
            assert.are.equal(0, #svc.log)
        end)

        it("tell an unknown option before any command", function()
            local code, _, err = run({ "--frob" })
            assert.are.equal(2, code)
            assert.truthy(err:find("acmpca: error: unknown option --frob\n", 1, true), err)
        end)

        it("tell an unknown command", function()
            local code, _, err = run({ "list-permission" })
            assert.are.equal(2, code)
            assert.truthy(err:find("^usage: acmpca <command>"), err)
            assert.truthy(err:find("acmpca: error: argument command: invalid choice: "
                                   .. "'list-permission'", 1, true), err)
        end)

        it("name the command's option, not the library's function", function()
            local cases = {
                { { "--endpoint-url", "ftp://x" },
                  "argument --endpoint-url: expected an http:// or https:// URL" },
                { { "--endpoint-url", "http://" }, "argument --endpoint-url: missing host" },
                { { "--region", "bad region" }, "argument --region: expected a region name" },
                { { "--region", "us-east-1", "--ca-bundle", "/nonexistent/ca.pem" },
                  "argument --ca-bundle: cannot read /nonexistent/ca.pem" },
            }
            for _, case in ipairs(cases) do
                local argv = { "has-renewal", "--certificate-authority-arn", ARN }
                for _, a in ipairs(case[1]) do
                    argv[#argv + 1] = a
                end
                local code, _, err = run(argv, { getenv = env_of{} })
                assert.are.equal(2, code)
                assert.truthy(err:find("acmpca: error: " .. case[2], 1, true), err)
                assert.falsy(err:find("acmpca.new", 1, true), err)
                assert.truthy(err:find("^usage: acmpca has%-renewal"), err)
            end
        end)
    end)

    describe("a bad AWS_MAX_ATTEMPTS", function()
        it("is named, and nothing is sent", function()
            local svc = active()
            local code, out, err = run({ "has-renewal", "--mock", "--certificate-authority-arn",
                                         ARN }, { mock = svc,
                                                  getenv = env_of{ AWS_MAX_ATTEMPTS = "abc" } })
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.truthy(err:find("\nacmpca: error: AWS_MAX_ATTEMPTS: ", 1, true), err)
            assert.falsy(err:find("acmpca.new", 1, true), err)
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("errors at run time", function()
        it("carry one acmpca: prefix", function()
            local code, _, err = run({ "has-renewal", "--certificate-authority-arn", ARN }, {
                new = function(opts)
                    opts.credentials = function()
                        return nil, "acmpca: no AWS credentials found; looked in: nowhere"
                    end
                    opts.region, opts.profile = "us-east-1", nil
                    return acmpca.new(opts)
                end,
            })
            assert.are.equal(1, code)
            assert.are.equal("acmpca: An error occurred (CredentialsError) when calling the "
                             .. "ListPermissions operation: no AWS credentials found; looked "
                             .. "in: nowhere\n", err)
        end)

        it("say how many attempts a retried call made", function()
            local sent = 0
            local code, _, err = run({ "has-renewal", "--certificate-authority-arn", ARN }, {
                getenv = env_of{},
                new = function(opts)
                    opts.transport = function()
                        sent = sent + 1
                        return { status = 503, headers = {
                            ["Content-Type"] = "application/x-amz-json-1.1" },
                            body = '{"__type":"ServiceUnavailable","message":"try later"}' }
                    end
                    opts.credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "s" }
                    opts.region, opts.profile, opts.max_attempts = "us-east-1", nil, 3
                    return acmpca.new(opts)
                end,
            })
            assert.are.equal(1, code)
            assert.are.equal(3, sent)
            assert.are.equal("acmpca: An error occurred (ServiceUnavailable) when calling the "
                             .. "ListPermissions operation (after 3 attempts): try later\n", err)
        end)
    end)

    describe("the output format", function()
        local home

        before_each(function()
            home = tmpdir()
            assert.are.equal(0, os.execute("mkdir " .. home .. "/.aws") and 0)
        end)

        after_each(function()
            os.execute("rm -rf " .. home)
        end)

        local function outputs(vars, argv)
            vars.HOME = home
            local svc = active()
            local a = { "has-renewal", "--mock", "--certificate-authority-arn", ARN }
            for _, x in ipairs(argv or {}) do
                a[#a + 1] = x
            end
            local code, out, err = run(a, { mock = svc, getenv = env_of(vars) })
            return code, out, err, svc
        end

        local TEXT = ARN .. "\tFalse\n"

        it("is --output, else AWS_DEFAULT_OUTPUT, else the profile's, else json", function()
            write(home .. "/.aws/config", "[default]\noutput = text\n[profile dev]\n"
                  .. "output = json\n")
            local _, out = outputs({})
            assert.are.equal(TEXT, out)
            _, out = outputs({}, { "--profile", "dev" })
            assert.are.equal("{", out:sub(1, 1))
            _, out = outputs({ AWS_PROFILE = "dev" })
            assert.are.equal("{", out:sub(1, 1))
            _, out = outputs({ AWS_DEFAULT_OUTPUT = "json" })
            assert.are.equal("{", out:sub(1, 1))
            _, out = outputs({ AWS_DEFAULT_OUTPUT = "text" }, { "--profile", "dev" })
            assert.are.equal(TEXT, out)
            _, out = outputs({ AWS_DEFAULT_OUTPUT = "text" }, { "--output", "json" })
            assert.are.equal("{", out:sub(1, 1))
            os.remove(home .. "/.aws/config")
            _, out = outputs({})
            assert.are.equal("{", out:sub(1, 1))
        end)

        it("refuses a bad value naming where it came from, sending nothing", function()
            local code, out, err, svc = outputs({ AWS_DEFAULT_OUTPUT = "yaml" })
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.truthy(err:find("acmpca: error: AWS_DEFAULT_OUTPUT: invalid choice: \"yaml\" "
                                   .. "(choose from 'json', 'text')", 1, true), err)
            assert.are.equal(0, #svc.log)
            write(home .. "/.aws/config", "[default]\noutput = table\n")
            code, out, err, svc = outputs({})
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.truthy(err:find("acmpca: error: the output setting of profile 'default' ("
                                   .. home .. "/.aws/config): invalid choice: \"table\"", 1,
                                   true), err)
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("--debug", function()
        local SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
        local SESSION = "FwoGZXIvYXdzEBYaDSESSIONTOKENzz"

        it("prints each request and response on stderr, never a secret", function()
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" }, credentials = {
                access_key_id = "AKIAIOSFODNN7EXAMPLE", secret_access_key = SECRET,
                session_token = SESSION } }
            svc:grant(ARN, "acm.amazonaws.com", { "GetCertificate" })
            local code, out, err = run({ "--debug", "list-permissions", "--mock",
                                         "--certificate-authority-arn", ARN }, { mock = svc })
            assert.are.equal(0, code, err)
            assert.are.equal("acm.amazonaws.com", cjson.decode(out).Permissions[1].Principal)
            local signature = svc.log[1].headers.Authorization:match("Signature=(%x+)")
            assert.truthy(signature)
            for _, secret in ipairs{ SECRET, SESSION, signature, "AKIAIOSFODNN7EXAMPLE" } do
                assert.falsy(err:find(secret, 1, true), secret)
            end
            for _, want in ipairs{
                "acmpca debug: request 1: POST https://acm-pca.us-east-1.amazonaws.com/\n",
                "    X-Amz-Target: ACMPrivateCA.ListPermissions\n",
                "    X-Amz-Security-Token: <redacted>\n",
                "Credential=AKIA****/", "Signature=<redacted>",
                '    {"CertificateAuthorityArn":"' .. ARN .. '"}\n',
                "acmpca debug: response 1: 200\n",
                '"Principal":"acm.amazonaws.com"',
            } do
                assert.truthy(err:find(want, 1, true), want .. "\n--- in:\n" .. err)
            end
        end)

        it("prints a transport error and hides secrets in bodies and headers", function()
            local err = buffer()
            local answers = {
                { status = 200, headers = { ["Set-Cookie"] = "id=1" },
                  body = '{"SecretAccessKey":"abc\\"def","NextToken":"t2","Name":"n"}' },
            }
            local calls = 0
            local t = debug_transport.wrap(function()
                calls = calls + 1
                if calls == 2 then
                    return nil, { code = "Timeout", message = "no answer in 30 s" }
                end
                return answers[1]
            end, err, cli.printable)
            t{ method = "POST", url = "https://user:pw@example.com/",
               headers = { Authorization = "Basic dXNlcjpwdw==" }, body = '{"Password":"pw"}' }
            t{ method = "POST", url = "https://example.com/", headers = {}, body = "" }
            assert.falsy(err.text:find("pw", 1, true), err.text)
            assert.falsy(err.text:find("abc", 1, true), err.text)
            assert.falsy(err.text:find("dXNlcjpwdw", 1, true), err.text)
            for _, want in ipairs{
                "request 1: POST https://***@example.com/\n", "Authorization: <redacted>\n",
                '{"Password":"<redacted>"}', "Set-Cookie: <redacted>",
                '{"SecretAccessKey":"<redacted>","NextToken":"t2","Name":"n"}',
                "acmpca debug: response 2: no response (Timeout: no answer in 30 s)\n",
            } do
                assert.truthy(err.text:find(want, 1, true), want .. "\n--- in:\n" .. err.text)
            end
        end)
    end)

    describe("--mock-state", function()
        local dir, path

        before_each(function()
            dir = tmpdir()
            path = dir .. "/fake.json"
        end)

        after_each(function()
            os.execute("rm -rf " .. dir)
        end)

        local function step(argv)
            local a = { "--mock-state", path }
            for _, x in ipairs(argv) do
                a[#a + 1] = x
            end
            local code, out, err = run(a)
            return code, out, err
        end

        it("keeps the fake's CAs, permissions and policies from one command to the next",
           function()
            local _
            local code, out, err = step({ "ensure-renewal", "--certificate-authority-arn", ARN,
                                          "--output", "text" })
            assert.are.equal(0, code, err)
            assert.are.equal(ARN .. "\tcreated\n", out)
            assert.are.equal("600", sh("stat -c %a " .. path):match("%d+"))
            _, out = step({ "has-renewal", "--certificate-authority-arn", ARN, "--output",
                            "text" })
            assert.are.equal(ARN .. "\tTrue\n", out)
            local policy = '{"Version":"2012-10-17","Statement":[{"Sid":"x"}]}'
            code, _, err = step({ "put-policy", "--resource-arn", ARN, "--policy", policy })
            assert.are.equal(0, code, err)
            _, out = step({ "get-policy", "--resource-arn", ARN })
            assert.are.equal(policy, cjson.decode(out).Policy)
            _, out = step({ "revoke-renewal", "--certificate-authority-arn", ARN, "--output",
                            "text" })
            assert.are.equal(ARN .. "\trevoked\n", out)
            _, out = step({ "has-renewal", "--certificate-authority-arn", ARN, "--output",
                            "text" })
            assert.are.equal(ARN .. "\tFalse\n", out)
            -- the demo fleet is there too, and no temporary file is left
            _, out = step({ "list-certificate-authorities" })
            assert.is_true(#cjson.decode(out).CertificateAuthorities >= 9)
            assert.are.equal("fake.json\n", sh("ls -A " .. dir))
        end)

        it("refuses a malformed file with a clear error, sending nothing, file kept", function()
            local huge = ("x"):rep(state.MAX_SIZE + 1)
            local cases = {
                { "not json", "is not a saved fake: not a JSON object" },
                { '{"version":2,"cas":[]}', "is not a saved fake: version: expected 1" },
                { '{"version":1,"cas":{"a":1}}', "is not a saved fake: cas: expected a list" },
                { '{"version":1,"cas":[1]}', "is not a saved fake: cas[1]: expected an object" },
                { '{"version":1,"cas":[{"arn":"' .. ARN .. '","status":"NAPPING"}]}',
                  "is not a saved fake: cas[1]: status: expected one of" },
                { '{"version":1,"cas":[{"arn":"' .. ARN .. '","created_at":"soon"}]}',
                  "is not a saved fake: cas[1]: created_at: expected a time" },
                { '{"version":1,"cas":[{"arn":"' .. ARN .. '","permissions":[{"principal":1}]}]}',
                  "is not a saved fake: cas[1]: permissions[1]: expected" },
                { ("["):rep(100000), "is not a saved fake: not a JSON object" },
                { huge, "is larger than " .. state.MAX_SIZE .. " bytes" },
            }
            for _, case in ipairs(cases) do
                write(path, case[1])
                local code, out, err = step({ "has-renewal", "--certificate-authority-arn",
                                              ARN })
                assert.are.equal(2, code, err)
                assert.are.equal("", out)
                assert.truthy(err:find("acmpca: error: argument --mock-state: " .. path .. " "
                                       .. case[2], 1, true), err)
                assert.are.equal(case[1], read(path))
            end
        end)

        it("is not written after a usage error", function()
            local code = step({ "has-renewal", "--certificate-authority-arn", "x" })
            assert.are.equal(2, code)
            assert.is_nil(read(path))
        end)

        it("is not written past its size bound, the old file kept", function()
            write(path, "old")
            local max_size = state.MAX_SIZE
            state.MAX_SIZE = 100
            local ok, err = state.save(mock.demo(), path)
            state.MAX_SIZE = max_size
            assert.is_nil(ok)
            assert.truthy(err:find("more than 100: " .. path .. " not written", 1, true), err)
            assert.are.equal("old", read(path))
        end)

        it("saves and loads what the fake holds", function()
            local svc = mock.new{ account = "111122223333", region = "eu-west-1", cas = {
                { arn = ARN, status = "DISABLED", common_name = "c\"n", policy = "{}",
                  permissions = { { principal = "acm.amazonaws.com",
                                    actions = { "GetCertificate" },
                                    source_account = "111122223333" } } } } }
            assert.is_true(state.save(svc, path))
            local back = assert(state.load(path))
            assert.are.same(svc:ca(ARN), back:ca(ARN))
            assert.are.same(svc:permissions(ARN), back:permissions(ARN))
            assert.are.equal("{}", back:policy(ARN))
            assert.are.equal("eu-west-1", back.region)
        end)
    end)
end)
