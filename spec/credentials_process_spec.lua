-- acmpca.credentials: the credential_process source (a child process's
-- JSON, its errors and limits) with a temporary HOME and an injected
-- environment.

local credentials = require "acmpca.credentials"
local F = require "support.creds_fixture"
local T0 = F.T0
local write = F.write
local iso = F.iso
local fake_http = F.fake_http
local no_secret = F.no_secret


describe("acmpca.credentials", function()
    local S = F.sandbox()
    local opts = S.opts
    before_each(S.reset)
    after_each(S.cleanup)

    describe("credential_process", function()
        local script, counter

        -- A script printing doc (a JSON text) and exiting with status.
        local function process(doc, status, stderr)
            counter = S.home .. "/runs"
            script = S.home .. "/cred.sh"
            write(script, "#!/bin/sh\necho run >> '" .. counter .. "'\n"
                .. (stderr and ("echo '" .. stderr .. "' >&2\n") or "")
                .. "cat <<'EOF'\n" .. doc .. "\nEOF\nexit " .. (status or 0) .. "\n", "700")
            write(S.home .. "/.aws/config", "[default]\nregion = us-east-1\n"
                .. "[profile proc]\ncredential_process = " .. script .. " --flag\n")
        end

        local function runs()
            local f = io.open(counter, "r")
            if not f then
                return 0
            end
            local n = select(2, f:read("*a"):gsub("run", ""))
            f:close()
            return n
        end

        it("runs the command and reads Version 1 JSON", function()
            process('{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": '
                .. '"procsecret", "SessionToken": "proctoken", "Expiration": "'
                .. iso(T0 + 3600) .. '"}')
            local c = assert(credentials.provider(opts{ profile = "proc" })())
            assert.same({ "AKIDPROC", "procsecret", "proctoken", T0 + 3600, "credential_process" },
                { c.access_key_id, c.secret_access_key, c.session_token, c.expiration, c.source })
            assert.equals(1, runs())
        end)

        it("treats output without Expiration as long-lived", function()
            process('{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "s"}')
            local p = credentials.provider(opts{ profile = "proc" })
            assert.is_nil(p().expiration)
            S.clock = T0 + 365 * 86400
            p()
            assert.equals(1, runs())
        end)

        it("reruns the command before the credentials expire", function()
            process('{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "s", '
                .. '"Expiration": "' .. iso(T0 + 3600) .. '"}')
            local p = credentials.provider(opts{ profile = "proc" })
            local c1 = p()
            S.clock = T0 + 3600 - 901
            assert.equals(c1, p())
            assert.equals(1, runs())
            process('{"Version": 1, "AccessKeyId": "AKIDPROC2", "SecretAccessKey": "s", '
                .. '"Expiration": "' .. iso(T0 + 7200) .. '"}')
            S.clock = T0 + 3600 - 899
            assert.equals("AKIDPROC2", p().access_key_id)
            assert.equals(2, runs())
        end)

        it("is used after static keys of the credentials file, as botocore orders them",
            function()
                process('{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "s"}')
                write(S.home .. "/.aws/credentials", "[proc]\naws_access_key_id = AKIDSTATIC\n"
                    .. "aws_secret_access_key = s\n")
                assert.equals("AKIDSTATIC",
                              credentials.provider(opts{ profile = "proc" })().access_key_id)
                assert.equals(0, runs())
            end)

        it("reports a non-zero exit with its status and never the output", function()
            process('{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": '
                .. '"leaked-secret"}', 3)
            S.env.AWS_EC2_METADATA_DISABLED = nil
            local http, log = fake_http()
            local c, err = credentials.provider(opts{ profile = "proc", http = http })()
            assert.is_nil(c)
            assert.equals("acmpca: credential_process for profile proc exited with status 3 "
                .. "(its stderr, if any, is shown above)", err.message)
            no_secret(err, { "leaked-secret" })
            assert.equals(0, #log)
        end)

        it("passes the command's stderr through", function()
            process('{"Version": 1}', 4, "note from the credential process")
            local runner = S.home .. "/run.lua"
            write(runner, "package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path\n"
                .. "local p = require('acmpca.credentials').provider{ home = '" .. S.home
                .. "', profile = 'proc', getenv = function() end }\n"
                .. "local _, err = p()\nio.stdout:write(err.message)\n")
            local interp = jit and "luajit" or "lua5.4"
            local f = assert(io.popen(interp .. " " .. runner .. " 2>" .. S.home .. "/stderr"))
            local out = f:read("*a")
            f:close()
            local e = assert(io.open(S.home .. "/stderr"))
            local errtext = e:read("*a")
            e:close()
            assert.equals("note from the credential process\n", errtext)
            assert.equals("acmpca: credential_process for profile proc exited with status 4 "
                .. "(its stderr, if any, is shown above)", out)
        end)

        it("reports output that is not JSON", function()
            process("AccessKeyId=AKID SecretAccessKey=oops-secret")
            local c, err = credentials.provider(opts{ profile = "proc" })()
            assert.is_nil(c)
            assert.equals("acmpca: credential_process for profile proc did not print a JSON "
                .. "object", err.message)
            no_secret(err, { "oops-secret" })
        end)

        it("reports an unsupported Version", function()
            process('{"Version": 2, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "s"}')
            local c, err = credentials.provider(opts{ profile = "proc" })()
            assert.is_nil(c)
            assert.equals("acmpca: credential_process for profile proc printed Version 2; only "
                .. "Version 1 is supported", err.message)
        end)

        it("reports a huge or fractional Version without raising", function()
            for doc, shown in pairs{ ["1e300"] = "1e+300", ["1.5"] = "1.5" } do
                process('{"Version": ' .. doc .. ', "AccessKeyId": "AKIDPROC", '
                    .. '"SecretAccessKey": "s"}')
                local ok, c, err = pcall(credentials.provider(opts{ profile = "proc" }))
                assert.is_true(ok, c)
                assert.is_nil(c)
                assert.equals("acmpca: credential_process for profile proc printed Version "
                    .. shown .. "; only Version 1 is supported", err.message)
            end
        end)

        it("reports a missing SecretAccessKey", function()
            process('{"Version": 1, "AccessKeyId": "AKIDPROC"}')
            local c, err = credentials.provider(opts{ profile = "proc" })()
            assert.is_nil(c)
            assert.equals("acmpca: credential_process for profile proc printed no "
                .. "SecretAccessKey", err.message)
        end)

        it("reports a bad Expiration", function()
            process('{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s", '
                .. '"Expiration": "later"}')
            local c, err = credentials.provider(opts{ profile = "proc" })()
            assert.is_nil(c)
            assert.matches("printed an Expiration that is not an ISO%-8601 time", err.message)
        end)

        -- A profile whose credential_process is the shell text body.
        local function raw_process(body)
            script = S.home .. "/raw.sh"
            write(script, "#!/bin/sh\n" .. body .. "\n", "700")
            write(S.home .. "/.aws/config", "[profile proc]\ncredential_process = " .. script
                .. "\n")
        end

        it("stops a process that does not finish within process_timeout", function()
            raw_process("sleep 30 & wait\necho '{\"Version\": 1}'")
            local t = os.time()
            local c, err = credentials.provider(opts{ profile = "proc", process_timeout = 1 })()
            assert.is_nil(c)
            F.creds_error(err, "did not finish within 1 s")
            assert.is_true(os.time() - t < 10, "took " .. (os.time() - t) .. " s")
        end)

        it("stops reading past 1 MiB of output, also from an endless writer", function()
            for _, body in ipairs{ "head -c 3000000 /dev/zero | tr '\\0' a",
                                   "trap '' PIPE; yes hostile-secret-XQ9" } do
                raw_process(body)
                local t = os.time()
                local c, err = credentials.provider(opts{ profile = "proc",
                                                          process_timeout = 20 })()
                assert.is_nil(c)
                F.creds_error(err, "printed more than 1048576 bytes")
                no_secret(err, { "hostile-secret-XQ9" })
                assert.is_true(os.time() - t < 10, "took " .. (os.time() - t) .. " s")
            end
        end)

        it("refuses credentials that are already expired", function()
            process('{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": '
                .. '"proc-secret-XQ8", "Expiration": "' .. iso(T0 - 1) .. '"}')
            local c, err = credentials.provider(opts{ profile = "proc" })()
            assert.is_nil(c)
            F.creds_error(err, "credential_process", "expired")
            no_secret(err, { "proc-secret-XQ8" })
        end)

        it("is not blocked by a lot of stderr", function()
            raw_process("head -c 2000000 /dev/zero >&2\n"
                .. "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDP\", "
                .. "\"SecretAccessKey\": \"s\"}'")
            local runner = S.home .. "/run.lua"
            write(runner, "package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path\n"
                .. "local p = require('acmpca.credentials').provider{ home = '" .. S.home
                .. "', profile = 'proc', getenv = function() end }\n"
                .. "io.stdout:write(p().access_key_id)\n")
            local interp = jit and "luajit" or "lua5.4"
            local f = assert(io.popen(interp .. " " .. runner .. " 2>/dev/null"))
            assert.equals("AKIDP", f:read("*a"))
            f:close()
        end)
    end)

end)
