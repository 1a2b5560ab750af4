-- acmpca.repl: the interactive prompt (`acmpca repl`, examples/repl.lua),
-- driven through io_env with a scripted stdin.

local repl = require "acmpca.repl"
local mock = require "acmpca.mock"


-- Run the REPL over lines; returns code, stdout, stderr.
local function session(lines, args, extra)
    local i = 0
    local out, err = {}, {}
    local function writer(buf)
        return { write = function(self, ...)
            for k = 1, select("#", ...) do
                buf[#buf + 1] = tostring((select(k, ...)))
            end
            return self
        end }
    end
    local io_env = {
        stdin = { read = function() i = i + 1; return lines[i] end },
        stdout = writer(out), stderr = writer(err),
    }
    for k, v in pairs(extra or {}) do
        io_env[k] = v
    end
    local code = repl.main(args or {}, io_env)
    return code, table.concat(out), table.concat(err)
end


describe("acmpca.repl", function()
    describe("main", function()
        it("runs lines against the fake and prints expressions' values", function()
            local code, out, err = session{
                "client:ensure_acm_renewal(arn)",
                "client:ensure_acm_renewal(arn)",
                "svc.calls.ListPermissions, svc.calls.CreatePermission",
                "local n = 0",
                "x = 40 +", "2",
                "x",
            }
            assert.are.equal(0, code)
            assert.are.equal("", err)
            assert.matches("^acmpca %S+ %(", out)
            assert.matches("\n> true\tcreated\n> true\tpresent\n> 2\t1\n> > >> > 42\n> \n$", out)
        end)

        it("prints a page readably, and show() and help() print once", function()
            local _, out = session{
                "client:ensure_acm_renewal(arn)",
                "client:list_permissions{ ca_arn = arn }",
                "show({ a = 1 })",
                "help()",
                "print('x', 1)",
            }
            assert.matches("> ListPermissions page: 1 permission, the last page on arn:", out, 1,
                           true)
            assert.matches("\n  acm.amazonaws.com: IssueCertificate, GetCertificate, "
                           .. "ListPermissions\n", out, 1, true)
            assert.matches("\n> a: 1\n> ", out, 1, true)
            local _, count = out:gsub("\n  ensure_acm_renewal%(", "")
            assert.are.equal(1, count)
            assert.matches("\n> x\t1\n", out, 1, true)
        end)

        it("reports an error on stderr and goes on", function()
            local code, out, err = session{ "error('boom')", "nil + 1", "1 +* 2", "7" }
            assert.are.equal(0, code)
            assert.matches("^error: [^\n]*boom\nerror: [^\n]+\nerror: [^\n]+\n$", err)
            assert.matches("> 7\n", out, 1, true)
        end)

        it("never prints a secret in an error", function()
            local secret = mock.credentials.secret_access_key
            local _, out, err = session{
                ("error('http://u:%s@h/?X-Amz-Signature=abc')"):format(secret),
                "show(svc.credentials)",
                "svc.credentials",
            }
            assert.is_nil((out .. err):find(secret, 1, true))
            assert.is_nil(err:find("abc", 1, true))
        end)

        it("--help prints the usage; an unknown argument is a usage error", function()
            local code, out = session({}, { "--help" })
            assert.are.equal(0, code)
            assert.matches("^usage: acmpca repl %[%-%-aws%]", out)
            local code2, out2, err2 = session({}, { "--bogus" })
            assert.are.equal(2, code2)
            assert.are.equal("", out2)
            assert.are.equal("usage: acmpca repl [--aws]\n"
                             .. "acmpca repl: error: unrecognized argument: --bogus\n", err2)
        end)

        it("--aws makes a client for the real service from the environment", function()
            local env = { AWS_REGION = "eu-west-1", AWS_ACCESS_KEY_ID = "AKIDEXAMPLE",
                          AWS_SECRET_ACCESS_KEY = "s3cr3t-never-shown" }
            local code, out, err = session({ "client:region(), client:endpoint()", "svc" },
                                           { "--aws" },
                                           { getenv = function(n) return env[n] end })
            assert.are.equal(0, code)
            assert.are.equal("", err)
            assert.matches("client: acmpca.client (region eu-west-1", out, 1, true)
            assert.matches("> eu-west-1\thttps://acm-pca.eu-west-1.amazonaws.com/\n", out, 1,
                           true)
            assert.matches("\n> nil\n", out, 1, true)
            assert.is_nil(out:find("s3cr3t", 1, true))
        end)
    end)
end)
