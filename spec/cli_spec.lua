-- The `acmpca` command: cli.main driven with --mock (and once bin/acmpca as
-- a child process), checking what it prints and its exit codes.

local cjson = require "cjson.safe"
local acmpca = require "acmpca"
local cli = require "acmpca.cli"
local mock = require "acmpca.mock"

local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local ACM = "acm.amazonaws.com"
local ALL = { "IssueCertificate", "GetCertificate", "ListPermissions" }


local buffer = require("helpers").buffer


-- run argv against svc (nil: --mock makes its own); code, stdout, stderr
local function run(argv, svc, extra)
    local out, err = buffer(), buffer()
    local env = { stdout = out, stderr = err, mock = svc, sleep = function() end }
    for k, v in pairs(extra or {}) do
        env[k] = v
    end
    local code = cli.main(argv, env)
    return code, out.text, err.text
end


local function active()
    return mock.new{ cas = { [ARN] = { status = "ACTIVE" } } }
end


describe("acmpca.cli", function()

    describe("ensure-renewal", function()
        it("prints created, then present", function()
            local svc = active()
            local code, out, err = run({ "ensure-renewal", "--mock",
                                         "--certificate-authority-arn", ARN }, svc)
            assert.are.equal(0, code)
            assert.are.equal("", err)
            assert.are.equal('{\n    "CertificateAuthorityArn": "' .. ARN .. '",\n'
                             .. '    "Status": "created"\n}\n', out)
            code, out = run({ "ensure-renewal", "--certificate-authority-arn=" .. ARN,
                              "--mock", "--output", "text" }, svc)
            assert.are.equal(0, code)
            assert.are.equal(ARN .. "\tpresent\n", out)
            assert.are.equal(2, svc.calls.ListPermissions)
            assert.are.equal(1, svc.calls.CreatePermission)
        end)

        it("makes its own fake service with the CA ACTIVE", function()
            local code, out = run({ "--mock", "ensure-renewal",
                                    "--certificate-authority-arn", ARN })
            assert.are.equal(0, code)
            assert.are.equal("created", cjson.decode(out).Status)
        end)

        it("passes --source-account through", function()
            local svc = active()
            assert.are.equal(0, run({ "ensure-renewal", "--mock", "--certificate-authority-arn",
                                      ARN, "--source-account", "111122223333" }, svc))
            assert.are.equal("111122223333", svc:permissions(ARN)[1].source_account)
        end)

        it("exits 1 with the message on stderr when the CA is not ACTIVE", function()
            local svc = mock.new{ cas = { [ARN] = { status = "DISABLED" } } }
            local code, out, err = run({ "ensure-renewal", "--mock",
                                         "--certificate-authority-arn", ARN }, svc)
            assert.are.equal(1, code)
            assert.are.equal("", out)
            assert.are.equal("acmpca: An error occurred (InvalidStateException) when calling "
                             .. "the CreatePermission operation: permissions can only be "
                             .. "changed while the CA is ACTIVE; CA " .. ARN
                             .. " is DISABLED\n", err)
        end)
    end)

    describe("has-renewal", function()
        it("prints whether ACM holds all three actions", function()
            local svc = active()
            local code, out = run({ "has-renewal", "--mock", "--certificate-authority-arn", ARN },
                                  svc)
            assert.are.equal(0, code)
            assert.is_false(cjson.decode(out).HasAcmRenewal)
            svc:grant(ARN, ACM, ALL)
            code, out = run({ "has-renewal", "--mock", "--certificate-authority-arn", ARN,
                              "--output", "text" }, svc)
            assert.are.equal(0, code)
            assert.are.equal(ARN .. "\tTrue\n", out)
        end)
    end)

    describe("revoke-renewal", function()
        it("prints revoked, then absent", function()
            local svc = active()
            svc:grant(ARN, ACM, ALL)
            local code, out = run({ "revoke-renewal", "--mock", "--certificate-authority-arn",
                                    ARN }, svc)
            assert.are.equal(0, code)
            assert.are.equal("revoked", cjson.decode(out).Status)
            code, out = run({ "revoke-renewal", "--mock", "--certificate-authority-arn", ARN },
                            svc)
            assert.are.equal(0, code)
            assert.are.equal("absent", cjson.decode(out).Status)
            assert.are.equal(1, svc.calls.DeletePermission)
        end)
    end)

    describe("create-permission", function()
        local forms = {
            { "IssueCertificate", "GetCertificate", "ListPermissions" },
            { "IssueCertificate,GetCertificate,ListPermissions" },
            { "IssueCertificate, GetCertificate, ListPermissions" },
            { "IssueCertificate,", "GetCertificate,", "ListPermissions" },
            { '["IssueCertificate","GetCertificate","ListPermissions"]' },
        }
        for _, form in ipairs(forms) do
            it("takes --actions as " .. table.concat(form, " "), function()
                local svc = active()
                local argv = { "create-permission", "--mock", "--certificate-authority-arn", ARN,
                               "--actions" }
                for _, w in ipairs(form) do
                    argv[#argv + 1] = w
                end
                argv[#argv + 1] = "--principal"
                argv[#argv + 1] = ACM
                local code, out, err = run(argv, svc)
                assert.are.equal(0, code, err)
                assert.are.equal("", out)
                assert.are.same(ALL, svc:permissions(ARN)[1].actions)
            end)
        end

        it("sends the source account", function()
            local svc = active()
            local code = run({ "create-permission", "--mock", "--certificate-authority-arn", ARN,
                               "--principal", ACM, "--actions", "GetCertificate",
                               "--source-account", "111122223333" }, svc)
            assert.are.equal(0, code)
            assert.are.equal("111122223333", svc.log[1].params.SourceAccount)
        end)

        it("exits 1 when the permission exists", function()
            local svc = active()
            svc:grant(ARN, ACM, ALL)
            local code, out, err = run({ "create-permission", "--mock",
                                         "--certificate-authority-arn", ARN,
                                         "--principal", ACM, "--actions", "GetCertificate" }, svc)
            assert.are.equal(1, code)
            assert.are.equal("", out)
            assert.truthy(err:find("An error occurred (PermissionAlreadyExistsException) when "
                                   .. "calling the CreatePermission operation", 1, true))
        end)
    end)

    describe("list-permissions", function()
        it("prints what aws acm-pca list-permissions prints", function()
            local svc = active()
            svc:grant(ARN, ACM, ALL, "111122223333", 1700000000)
            local code, out, err = run({ "list-permissions", "--mock",
                                         "--certificate-authority-arn", ARN }, svc)
            assert.are.equal(0, code, err)
            local policy = cjson.decode(out).Permissions[1].Policy
            local expected = '{\n    "Permissions": [\n        {\n'
                .. '            "CertificateAuthorityArn": "' .. ARN .. '",\n'
                .. '            "CreatedAt": "2023-11-14T22:13:20+00:00",\n'
                .. '            "Principal": "acm.amazonaws.com",\n'
                .. '            "SourceAccount": "111122223333",\n'
                .. '            "Actions": [\n'
                .. '                "IssueCertificate",\n'
                .. '                "GetCertificate",\n'
                .. '                "ListPermissions"\n'
                .. '            ],\n'
                .. '            "Policy": ' .. mock.json.encode(policy) .. '\n'
                .. '        }\n    ]\n}\n'
            assert.are.equal(expected, out)
            assert.truthy(policy:find('"Service":"acm.amazonaws.com"', 1, true))
        end)

        it("prints an empty list", function()
            local code, out = run({ "list-permissions", "--mock",
                                    "--certificate-authority-arn", ARN }, active())
            assert.are.equal(0, code)
            assert.are.equal('{\n    "Permissions": []\n}\n', out)
        end)

        it("reads every page", function()
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" }, page_size = 2 }
            for i = 1, 5 do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" })
            end
            local code, out = run({ "list-permissions", "--mock",
                                    "--certificate-authority-arn", ARN }, svc)
            assert.are.equal(0, code)
            local res = cjson.decode(out)
            assert.are.equal(5, #res.Permissions)
            assert.is_nil(res.NextToken)
            assert.are.equal(3, svc.calls.ListPermissions)
        end)

        it("stops at --max-items with a NextToken for --starting-token", function()
            local svc = active()
            for i = 1, 5 do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" })
            end
            local code, out = run({ "list-permissions", "--mock", "--certificate-authority-arn",
                                    ARN, "--max-items", "3" }, svc)
            assert.are.equal(0, code)
            local res = cjson.decode(out)
            assert.are.equal(3, #res.Permissions)
            assert.is_string(res.NextToken)
            -- one page held all five: the token says 3 of it were printed
            -- (botocore's boto_truncate_amount), for the same page size
            code, out = run({ "list-permissions", "--mock", "--certificate-authority-arn", ARN,
                              "--starting-token", res.NextToken }, svc)
            assert.are.equal(0, code)
            res = cjson.decode(out)
            assert.are.equal(2, #res.Permissions)
            assert.are.equal("p4.example.com", res.Permissions[1].Principal)
            assert.is_nil(res.NextToken)
        end)

        it("prints text like aws --output text", function()
            local svc = active()
            svc:grant(ARN, ACM, { "IssueCertificate", "GetCertificate" }, nil, 1700000000.25)
            local code, out = run({ "list-permissions", "--mock", "--certificate-authority-arn",
                                    ARN, "--output", "text" }, svc)
            assert.are.equal(0, code)
            local lines = {}
            for line in out:gmatch("([^\n]*)\n") do
                lines[#lines + 1] = line
            end
            assert.are.equal(3, #lines)
            local policy = svc:client():list_all_permissions(ARN)[1].policy
            assert.are.equal("PERMISSIONS\t" .. ARN .. "\t2023-11-14T22:13:20.250000+00:00\t"
                             .. policy .. "\tacm.amazonaws.com", lines[1])
            assert.are.equal("ACTIONS\tIssueCertificate", lines[2])
            assert.are.equal("ACTIONS\tGetCertificate", lines[3])
        end)

        it("exits 1 for an unknown CA", function()
            local svc = mock.new{}
            local code, out, err = run({ "list-permissions", "--mock",
                                         "--certificate-authority-arn", ARN }, svc)
            assert.are.equal(1, code)
            assert.are.equal("", out)
            assert.truthy(err:find("^acmpca: An error occurred %(ResourceNotFoundException%) "
                                   .. "when calling the ListPermissions operation: "))
        end)
    end)

    describe("delete-permission", function()
        it("deletes and prints nothing", function()
            local svc = active()
            svc:grant(ARN, "other.example.com", ALL)
            local code, out = run({ "delete-permission", "--mock", "--certificate-authority-arn",
                                    ARN, "--principal", "other.example.com" }, svc)
            assert.are.equal(0, code)
            assert.are.equal("", out)
            assert.are.same({}, svc:permissions(ARN))
        end)
    end)

    describe("get-caller-identity", function()
        it("prints what aws sts get-caller-identity prints, from the fake", function()
            local svc = mock.new{ account = "444455556666", region = "eu-west-1" }
            local code, out, err = run({ "get-caller-identity", "--mock" }, svc)
            assert.are.equal(0, code)
            assert.are.equal("", err)
            assert.are.equal('{\n    "UserId": "AIDACKCEVSQ6C2EXAMPLE",\n'
                             .. '    "Account": "444455556666",\n'
                             .. '    "Arn": "arn:aws:iam::444455556666:user/acmpca-mock"\n}\n',
                             out)
            code, out = run({ "get-caller-identity", "--mock", "--output", "text" }, svc)
            assert.are.equal(0, code)
            assert.are.equal("444455556666\tarn:aws:iam::444455556666:user/acmpca-mock\t"
                             .. "AIDACKCEVSQ6C2EXAMPLE\n", out)
            assert.are.equal(2, svc.calls.GetCallerIdentity)
        end)

        it("sends to --endpoint-url, and says STS's error as aws does", function()
            local sent = {}
            local code, out, err = run({ "get-caller-identity", "--endpoint-url",
                                         "http://127.0.0.1:9/sts", "--region", "eu-west-1" },
                                       nil, {
                new = function(opts)
                    opts.credentials = { access_key_id = "AKIDCLISPEC000000001",
                                         secret_access_key = "cliSpecSecret/0123456789" }
                    opts.transport = function(req)
                        sent[#sent + 1] = req.url
                        return { status = 403, headers = {},
                                 body = '<ErrorResponse><Error><Code>InvalidClientTokenId'
                                     .. '</Code><Message>The security token included in the '
                                     .. 'request is invalid.</Message></Error>'
                                     .. '<RequestId>r-1</RequestId></ErrorResponse>' }
                    end
                    return acmpca.new(opts)
                end,
                getenv = function() return nil end,
            })
            assert.are.equal(1, code)
            assert.are.equal("", out)
            assert.same({ "http://127.0.0.1:9/sts" }, sent)
            assert.are.equal("acmpca: An error occurred (InvalidClientTokenId) when calling "
                             .. "the GetCallerIdentity operation: The security token included "
                             .. "in the request is invalid.\n", err)
            assert.is_nil(err:find("cliSpecSecret", 1, true))
        end)

        it("takes no options of its own, sending nothing", function()
            local svc = mock.new{}
            local code, _, err = run({ "get-caller-identity", "--mock", "--principal", "x" },
                                     svc)
            assert.are.equal(2, code)
            assert.matches("Unknown options: %-%-principal", err)
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("global options", function()
        it("pass --region, --profile and --endpoint-url to the client", function()
            local svc = active()
            local seen
            local code = run({ "has-renewal", "--certificate-authority-arn", ARN, "--region",
                               "eu-west-1", "--profile", "dev", "--endpoint-url",
                               "http://127.0.0.1:9" }, nil, {
                new = function(opts)
                    seen = { region = opts.region, profile = opts.profile,
                             endpoint = opts.endpoint }
                    opts.transport, opts.credentials = svc:transport(), svc.credentials
                    opts.profile = nil
                    return acmpca.new(opts)
                end,
            })
            assert.are.equal(0, code)
            assert.are.equal("eu-west-1", seen.region)
            assert.are.equal("dev", seen.profile)
            assert.are.equal("http://127.0.0.1:9", seen.endpoint)
            assert.truthy(svc.log[1].headers.Authorization:find("/eu-west-1/acm-pca/", 1, true))
        end)
    end)

    describe("help", function()
        it("prints the overall help on stdout", function()
            for _, argv in ipairs{ { "--help" }, { "help" } } do
                local code, out, err = run(argv)
                assert.are.equal(0, code)
                assert.are.equal("", err)
                assert.truthy(out:find("usage: acmpca <command>", 1, true))
                for _, name in ipairs{ "ensure-renewal", "has-renewal", "revoke-renewal",
                                       "create-permission", "list-permissions",
                                       "delete-permission" } do
                    assert.truthy(out:find("  " .. name, 1, true), name)
                end
            end
        end)

        it("prints each command's help", function()
            local code, out = run({ "create-permission", "--help" })
            assert.are.equal(0, code)
            assert.truthy(out:find("usage: acmpca create-permission --certificate-authority-arn",
                                   1, true))
            assert.truthy(out:find('"A, B, C"', 1, true))
            code, out = run({ "help", "list-permissions" })
            assert.are.equal(0, code)
            assert.truthy(out:find("--max-items", 1, true))
        end)
    end)

    describe("usage errors", function()
        local cases = {
            { {}, "the following arguments are required: command" },
            { { "frobnicate" }, "argument command: invalid choice: 'frobnicate'" },
            { { "help", "frobnicate" }, "argument command: invalid choice: 'frobnicate'" },
            { { "ensure-renewal", "--mock" },
              "one of the arguments --certificate-authority-arn --all is required" },
            { { "create-permission", "--mock", "--certificate-authority-arn", ARN },
              "the following arguments are required: --principal, --actions" },
            { { "ensure-renewal", "--mock", "--certificate-authority-arn", "x" },
              "argument --certificate-authority-arn: expected arn:<partition>:acm-pca:<region>:"
              .. "<12-digit account>:certificate-authority/<id>, got \"x\"" },
            { { "ensure-renewal", "--mock", "--certificate-authority-arn" },
              "argument --certificate-authority-arn: expected one argument" },
            { { "ensure-renewal", "--mock", "--certificate-authority-arn", ARN, "--principal",
                "p" }, "Unknown options: --principal" },
            { { "ensure-renewal", "--mock", "--certificate-authority-arn", ARN, "extra" },
              "unexpected argument 'extra'" },
            { { "ensure-renewal", "--mock", "--certificate-authority-arn", ARN, "--output",
                "yaml" }, "argument --output: invalid choice: \"yaml\"" },
            { { "ensure-renewal", "--mock", "--certificate-authority-arn", ARN,
                "--source-account", "123" },
              "argument --source-account: expected 12 digits, got \"123\"" },
            { { "create-permission", "--mock", "--certificate-authority-arn", ARN,
                "--principal", ACM, "--actions" },
              "argument --actions: expected at least one argument" },
            { { "create-permission", "--mock", "--certificate-authority-arn", ARN,
                "--principal", ACM, "--actions", "," },
              "argument --actions: expected at least one action" },
            { { "create-permission", "--mock", "--certificate-authority-arn", ARN,
                "--principal", ACM, "--actions", "RevokeCertificate" }, "argument --actions: " },
            { { "create-permission", "--mock", "--certificate-authority-arn", ARN,
                "--principal", "a*", "--actions", "GetCertificate" }, "argument --principal: " },
            { { "list-permissions", "--mock", "--certificate-authority-arn", ARN,
                "--max-items", "0" }, "argument --max-items: expected an integer from 1 up" },
            { { "list-permissions", "--mock", "--certificate-authority-arn", ARN,
                "--page-size", "1001" },
              "argument --page-size: expected an integer from 1 to 1000" },
            { { "list-permissions", "--mock", "--certificate-authority-arn", ARN,
                "--max-items", "1e1" },
              "argument --max-items: expected an integer from 1 up, got \"1e1\"" },
            { { "list-permissions", "--mock", "--certificate-authority-arn", ARN,
                "--page-size", "0x10" },
              "argument --page-size: expected an integer from 1 to 1000, got \"0x10\"" },
            { { "has-renewal", "--mock=yes", "--certificate-authority-arn", ARN },
              "argument --mock: takes no value" },
        }
        for _, case in ipairs(cases) do
            it("exits 2 for " .. table.concat(case[1], " "), function()
                local svc = active()
                local code, out, err = run(case[1], svc)
                assert.are.equal(2, code)
                assert.are.equal("", out)
                assert.truthy(err:find("acmpca: error: " .. case[2], 1, true), err)
                assert.are.equal(0, #svc.log)
            end)
        end

        it("rejects an argv that is not a table", function()
            assert.has_error(function() cli.main("x") end,
                             "acmpca.cli.main: argv: expected a table, got string")
        end)
    end)

    describe("bin/acmpca", function()
        local function sh(cmd)
            local p = assert(io.popen(cmd .. " 2>&1; echo \"rc=$?\""))
            local out = p:read("*a")
            p:close()
            return out
        end

        it("runs from the checkout", function()
            assert.are.equal(ARN .. "\tcreated\nrc=0\n",
                             sh("bin/acmpca ensure-renewal --mock --output text "
                                .. "--certificate-authority-arn " .. ARN))
            local out = sh("cd spec && ../bin/acmpca has-renewal --mock "
                           .. "--certificate-authority-arn " .. ARN)
            assert.truthy(out:find('"HasAcmRenewal": false\n}\nrc=0\n', 1, true), out)
            out = sh("bin/acmpca frobnicate")
            assert.truthy(out:find("acmpca: error: argument command: invalid choice: "
                                   .. "'frobnicate'", 1, true), out)
            assert.truthy(out:find("rc=2\n$"))
        end)
    end)

    describe("examples/ensure_renewal.lua", function()
        local lua = jit and "luajit" or "lua5.4"

        it("shows created, then present, on the fake service (make demo)", function()
            local p = assert(io.popen(lua .. " examples/ensure_renewal.lua --mock 2>&1; "
                                      .. "echo \"rc=$?\""))
            local out = p:read("*a")
            p:close()
            local statuses = {}
            for status in out:gmatch("certificate%-authority/[%w%-]+%s+(%a+)\n") do
                statuses[#statuses + 1] = status
            end
            assert.are.same({ "created", "present" }, statuses, out)
            assert.truthy(out:find("ListPermissions 2, CreatePermission 1, DeletePermission 0",
                                   1, true), out)
            assert.truthy(out:find("rc=0\n$"), out)
        end)

        it("reads ARNs from a file", function()
            local path = os.tmpname()
            local f = assert(io.open(path, "w"))
            f:write("# CAs\n", ARN, "\n\n")
            f:close()
            local p = assert(io.popen("cd examples && " .. lua .. " ensure_renewal.lua --mock "
                                      .. "--file " .. path .. " 2>&1; echo \"rc=$?\""))
            local out = p:read("*a")
            p:close()
            os.remove(path)
            assert.truthy(out:find(ARN .. "  created\n", 1, true), out)
            assert.truthy(out:find("rc=0\n$"), out)
        end)

        it("with --expect-account, changes nothing in another account", function()
            local p = assert(io.popen(lua .. " examples/ensure_renewal.lua --mock "
                                      .. "--expect-account 999999999999 2>&1; "
                                      .. "echo \"rc=$?\""))
            local out = p:read("*a")
            p:close()
            assert.truthy(out:find("ensure_renewal: these credentials are account "
                                   .. "123456789012 (arn:aws:iam::123456789012:user/"
                                   .. "acmpca-mock), not 999999999999: nothing done", 1, true),
                          out)
            assert.is_nil(out:find("created", 1, true), out)
            assert.truthy(out:find("rc=1\n$"), out)
        end)

        it("with --expect-account, goes on in that account", function()
            local p = assert(io.popen(lua .. " examples/ensure_renewal.lua --mock "
                                      .. "--expect-account 123456789012 2>&1; "
                                      .. "echo \"rc=$?\""))
            local out = p:read("*a")
            p:close()
            assert.truthy(out:find("# account 123456789012 (arn:aws:iam::123456789012:user/"
                                   .. "acmpca-mock, credentials from static)", 1, true), out)
            assert.truthy(out:find("  created\n", 1, true), out)
            assert.truthy(out:find("rc=0\n$"), out)
        end)

        it("exits 2 for an --expect-account that is not 12 digits", function()
            local p = assert(io.popen(lua .. " examples/ensure_renewal.lua --mock "
                                      .. "--expect-account 12 2>&1; echo \"rc=$?\""))
            local out = p:read("*a")
            p:close()
            assert.truthy(out:find("--expect-account must be 12 digits", 1, true), out)
            assert.is_nil(out:find("created", 1, true), out)
            assert.truthy(out:find("rc=2\n$"), out)
        end)

        it("exits 2 for an argument that is not a CA ARN", function()
            local p = assert(io.popen(lua .. " examples/ensure_renewal.lua --mock nope 2>&1; "
                                      .. "echo \"rc=$?\""))
            local out = p:read("*a")
            p:close()
            assert.truthy(out:find("not a CA ARN: nope", 1, true), out)
            assert.truthy(out:find("rc=2\n$"), out)
        end)
    end)
end)
