-- acmpca.serve: the fake ACM PCA over HTTP in a real nginx (Debian's nginx
-- with the Lua module), driven by botocore (an independent SigV4), by
-- acmpca's own client, and stopped by PID.  Tagged #nginx: spec/run.sh runs
-- it in the LuaJIT busted run.  The server itself is started from Lua 5.4
-- (as bin/acmpca runs) to show it picks the LuaJIT build of acmpca.core.

local proc = require "support.proc"
local cjson = require "cjson.safe"
local socket = require "socket"

local quote, read_file = proc.quote, proc.read_file

local PY = "/usr/bin/python3"
local ACCOUNT = "111122223333"
local PREFIX = "arn:aws:acm-pca:us-east-1:" .. ACCOUNT .. ":certificate-authority/"
-- the demo fleet's issuing-dev.example.com: ACTIVE, no permission
local CA = PREFIX .. "de000000-0000-4000-8000-000000000004"
local ACM = "acm.amazonaws.com"
local ACTIONS = { "IssueCertificate", "GetCertificate", "ListPermissions" }
-- the credentials the server accepts (the AWS documentation's example keys)
local AKID = "AKIDEXAMPLE"
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


local function root()
    return (proc.read_cmd("pwd"):gsub("%s+$", ""))
end


-- A sink with :write, for main's io_env.
local function sink()
    local buf = {}
    return { write = function(self, ...)
        for _, s in ipairs({ ... }) do
            buf[#buf + 1] = tostring(s)
        end
        return self
    end, flush = function() end, text = function() return table.concat(buf) end }
end


-- main(args, io_env) in this process -> code, stdout, stderr.
local function run_main(args, env)
    local out, err = sink(), sink()
    local io_env = { stdout = out, stderr = err }
    for k, v in pairs(env or {}) do
        io_env[k] = v
    end
    local code = require("acmpca.serve").main(args, io_env)
    return code, out.text(), err.text()
end


-- Starts `acmpca serve` in a Lua 5.4 process; returns { pid, dir, ready }
-- once the ready file appears, or nil and what it printed.
local function start_server(extra)
    local dir = assert(proc.tmpdir("servespec"))
    local r = root()
    local args = { "'--port'", "'0'", "'--ready'", "'" .. dir .. "/ready.json'" }
    for _, a in ipairs(extra or {}) do
        args[#args + 1] = "'" .. a .. "'"
    end
    local setup = "package.path = '" .. r .. "/lua/?.lua;" .. r .. "/lua/?/init.lua;' .. "
        .. "package.path; package.cpath = '" .. r .. "/build/5.4/?.so;' .. package.cpath"
    local main = "os.exit(require('acmpca.serve').main({" .. table.concat(args, ", ") .. "}))"
    local cmd = proc.CLEAN_ENV .. "lua5.4 -e " .. quote(setup) .. " -e " .. quote(main)
        .. " >" .. quote(dir .. "/stdout") .. " 2>" .. quote(dir .. "/stderr")
        .. " </dev/null & echo $!"
    local pid = tonumber(proc.read_cmd(cmd):match("%d+"))
    for _ = 1, 400 do
        local ready = cjson.decode(read_file(dir .. "/ready.json") or "")
        if type(ready) == "table" then
            return { pid = pid, dir = dir, ready = ready }
        end
        if not proc.alive(pid) then
            break
        end
        socket.sleep(0.025)
    end
    proc.stop(pid, 5)
    return nil, (read_file(dir .. "/stdout") or "") .. (read_file(dir .. "/stderr") or "")
end


-- The PIDs of pid's children (the nginx worker of a master).
local function children(pid)
    local out = {}
    for line in proc.read_cmd("cat /proc/[0-9]*/stat 2>/dev/null"):gmatch("[^\n]+") do
        local child, ppid = line:match("^(%d+) %b() %a (%d+)")
        if ppid == tostring(pid) then
            out[#out + 1] = tonumber(child)
        end
    end
    return out
end


-- Runs calls through botocore in one client -> list of results.
local function botocore(url, calls, creds)
    creds = creds or { AKID, SECRET }
    local spec = assert(cjson.encode({ endpoint = url, region = "us-east-1",
                                       akid = creds[1], secret = creds[2], calls = calls }))
    local out = proc.read_cmd(proc.CLEAN_ENV .. "env -u AWS_SESSION_TOKEN " .. PY .. " "
        .. quote(root() .. "/spec/support/serve_botocore.py") .. " " .. quote(spec) .. " 2>&1")
    local res = cjson.decode(out)
    assert(type(res) == "table", "botocore failed: " .. out)
    return res
end


local function principals(page)
    local out = {}
    for _, p in ipairs(page.Permissions or page.permissions or {}) do
        out[#out + 1] = p.Principal or p.principal
    end
    return out
end


describe("acmpca.serve #nginx", function()

    describe("main refuses", function()
        it("a host that is not a loopback address, starting nothing", function()
            local code, out, err = run_main({ "--port", "0", "--host", "0.0.0.0" })
            assert.equal(2, code)
            assert.equal("", out)
            assert.matches("argument %-%-host: 0%.0%.0%.0 is not a loopback address", err)
        end)

        it("options it does not know, a bad port or seed, with its usage", function()
            local cases = {
                { { "--port", "abc" }, "argument %-%-port: expected a port number 0%-65535" },
                { { "--port", "70000" }, "argument %-%-port: expected a port number 0%-65535" },
                { { "--seed", "bogus" }, "argument %-%-seed: expected demo or empty" },
                { { "--regoin", "x" }, "unknown option %-%-regoin" },
                { { "--port" }, "argument %-%-port: expected one argument" },
            }
            for _, c in ipairs(cases) do
                local code, _, err = run_main(c[1])
                assert.equal(2, code)
                assert.matches(c[2], err)
                assert.matches("usage: acmpca serve", err, 1, true)
            end
        end)

        it("a port that is in use, with a clear error", function()
            local busy = assert(socket.bind("127.0.0.1", 0))
            local _, port = busy:getsockname()
            local code, out, err = run_main({ "--port", tostring(port) })
            busy:close()
            assert.equal(1, code)
            assert.equal("", out)
            assert.matches("port " .. port .. " on 127.0.0.1 is already in use", err, 1, true)
        end)

        it("a Lua 5.4 build of acmpca/core.so, which nginx's LuaJIT cannot load", function()
            -- an installed tree holding this module and only a Lua 5.4 core.so
            local tree = assert(proc.tmpdir("servetree"))
            local r = root()
            assert(proc.run("mkdir -p " .. quote(tree .. "/share/lua/5.4/acmpca") .. " "
                            .. quote(tree .. "/lib/lua/5.1/acmpca") .. " && cp "
                            .. quote(r .. "/lua/acmpca/serve.lua") .. " "
                            .. quote(tree .. "/share/lua/5.4/acmpca/") .. " && cp "
                            .. quote(r .. "/build/5.4/acmpca/core.so") .. " "
                            .. quote(tree .. "/lib/lua/5.1/acmpca/")))
            local serve = require "acmpca.serve"
            local path, cpath, dirs = package.path, package.cpath, serve.CORE_DIRS
            package.path = tree .. "/share/lua/5.4/?.lua;" .. path
            package.cpath = tree .. "/lib/lua/5.1/?.so"
            serve.CORE_DIRS = {}
            local ok, code, out, err = pcall(run_main, { "--port", "0" })
            package.path, package.cpath, serve.CORE_DIRS = path, cpath, dirs
            proc.run("rm -rf " .. quote(tree))
            assert(ok, code)
            assert.equal(1, code)
            assert.equal("", out)
            assert.matches("no LuaJIT (Lua 5.1) build of acmpca/core.so in " .. tree
                           .. "/lib/lua/5.1", err, 1, true)
            assert.matches("luarocks --lua-version=5.1 make", err, 1, true)
        end)

        it("nothing for --help, which prints the usage", function()
            local code, out, err = run_main({ "--help" })
            assert.equal(0, code)
            assert.equal("", err)
            assert.matches("^usage: acmpca serve %[%-%-port N%]", out)
            assert.matches("example keys", out, 1, true)
        end)

        it("a missing nginx, naming the Debian packages (a stale ready file removed)", function()
            local stale = os.tmpname()
            proc.write_file(stale, '{"url": "http://127.0.0.1:1", "pid": 1}')
            local code, _, err = run_main({ "--port", "0", "--ready", stale },
                                          { nginx = "/nonexistent/nginx" })
            local left = read_file(stale)
            os.remove(stale)
            assert.is_nil(left)
            assert.equal(1, code)
            assert.matches("/nonexistent/nginx", err, 1, true)
            assert.matches("nginx-light", err, 1, true)
            assert.matches("libnginx-mod-http-lua", err, 1, true)
        end)

        it("a missing Lua module for nginx, naming the Debian package", function()
            local code, _, err = run_main({ "--port", "0" }, { modules = "/nonexistent/modules" })
            assert.equal(1, code)
            assert.matches("/nonexistent/modules/ngx_http_lua_module.so", err, 1, true)
            assert.matches("libnginx-mod-http-lua", err, 1, true)
        end)
    end)


    describe("a running server", function()
        local srv, start_err

        lazy_setup(function()
            srv, start_err = start_server()
        end)

        lazy_teardown(function()
            if srv then
                proc.stop(srv.pid, 5)
                if srv.ready.pid then
                    proc.stop(srv.ready.pid, 5)
                end
                proc.run("rm -rf " .. quote(srv.dir))
            end
        end)

        it("writes the ready file and prints how to point the AWS CLI at it", function()
            assert(srv, start_err)
            local url = srv.ready.url
            assert.matches("^http://127%.0%.0%.1:%d+$", url)
            assert.is_true(proc.alive(srv.ready.pid))
            local out = read_file(srv.dir .. "/stdout")
            assert.matches(url, out, 1, true)
            assert.matches("aws --endpoint-url " .. url .. " acm-pca list-permissions", out, 1,
                           true)
            assert.matches("AWS_ACCESS_KEY_ID=" .. AKID, out, 1, true)
            assert.matches("AWS_SECRET_ACCESS_KEY=" .. SECRET, out, 1, true)
            assert.matches("AWS_DEFAULT_REGION=us-east-1", out, 1, true)
        end)

        it("runs one nginx worker, from the LuaJIT build of acmpca.core", function()
            assert(srv, start_err)
            assert.equal(1, #children(srv.ready.pid))
            local maps = read_file("/proc/" .. children(srv.ready.pid)[1] .. "/maps") or ""
            assert.matches(root() .. "/build/jit/acmpca/core.so", maps, 1, true)
            assert.is_nil(maps:find(root() .. "/build/5.4/", 1, true))
        end)

        it("answers botocore, keeps the state between calls, refuses bad signatures", function()
            assert(srv, start_err)
            local url = srv.ready.url
            local list = { "ListPermissions", { CertificateAuthorityArn = CA } }
            local res = botocore(url, {
                { "ListCertificateAuthorities", {} },
                { "CreatePermission", { CertificateAuthorityArn = CA, Principal = ACM,
                                        Actions = ACTIONS } },
                list,
                { "CreatePermission", { CertificateAuthorityArn = CA, Principal = ACM,
                                        Actions = ACTIONS } },
                { "DeletePermission", { CertificateAuthorityArn = CA, Principal = ACM } },
                list,
                { "DeletePermission", { CertificateAuthorityArn = CA, Principal = ACM } },
                -- the right key, a wrong secret; another access key
                { list[1], list[2], { AKID, "not-the-secret/0123456789abcdefghijklmnopqr" } },
                { list[1], list[2], { "AKIDSOMEONEELSE00001", SECRET } },
            })
            assert.is_true(res[1].ok)
            local names = {}
            for _, ca in ipairs(res[1].result.CertificateAuthorities) do
                names[#names + 1] = ca.CertificateAuthorityConfiguration.Subject.CommonName
            end
            assert.equal(8, #names) -- the demo fleet: the caller's eight CAs
            assert.equal("root-ca.example.com", names[1])
            assert.equal("issuing-dev.example.com", names[4])
            assert.is_true(res[2].ok)
            assert.same({ ACM }, principals(res[3].result))
            assert.same({ false, "PermissionAlreadyExistsException", 400 },
                        { res[4].ok, res[4].code, res[4].status })
            assert.is_true(res[5].ok)
            assert.same({}, principals(res[6].result))
            assert.same({ false, "ResourceNotFoundException" }, { res[7].ok, res[7].code })
            assert.same({ false, "InvalidSignatureException", 403 },
                        { res[8].ok, res[8].code, res[8].status })
            assert.matches("signature we calculated does not match", res[8].message, 1, true)
            assert.same({ false, "UnrecognizedClientException", 403 },
                        { res[9].ok, res[9].code, res[9].status })
        end)

        it("answers acmpca's own client over HTTP, sharing botocore's state", function()
            assert(srv, start_err)
            local client = require("acmpca").new{
                endpoint = srv.ready.url, region = "us-east-1",
                credentials = { access_key_id = AKID, secret_access_key = SECRET },
                timeout = 10, max_attempts = 1,
            }
            assert(client:create_permission{ ca_arn = CA, principal = ACM, actions = ACTIONS })
            local res = botocore(srv.ready.url, {
                { "ListPermissions", { CertificateAuthorityArn = CA } },
            })
            assert.same({ ACM }, principals(res[1].result))
            assert(client:delete_permission{ ca_arn = CA, principal = ACM })
            local page = assert(client:list_permissions{ ca_arn = CA })
            assert.same({}, principals(page))
            local _, err = client:list_permissions{
                ca_arn = PREFIX .. "de000000-0000-4000-8000-000000000099" }
            assert.equal("ResourceNotFoundException", err.code)
        end)

        it("stops nginx when it is stopped by its PID, leaving nothing behind", function()
            assert(srv, start_err)
            local master = srv.ready.pid
            local workers = children(master)
            local prefix = srv.ready.prefix
            assert.is_true(#workers == 1 and proc.alive(workers[1]))
            assert.equal(srv.pid, srv.ready.serve_pid)
            proc.stop(srv.pid, 5)
            for _ = 1, 200 do
                if not proc.alive(master) then
                    break
                end
                socket.sleep(0.025)
            end
            assert.is_false(proc.alive(master))
            assert.is_false(proc.alive(workers[1]))
            for _ = 1, 200 do
                if not read_file(prefix .. "/nginx.conf") then
                    break
                end
                socket.sleep(0.025)
            end
            assert.is_nil(read_file(prefix .. "/nginx.conf"))
            local c = socket.tcp()
            c:settimeout(1)
            assert.is_nil((c:connect("127.0.0.1", tonumber(srv.ready.url:match("%d+$")))))
            c:close()
        end)
    end)


    it("stops nginx on SIGINT (Ctrl-C) to it alone, and says so", function()
        local srv, err = start_server({ "--seed", "empty" })
        assert(srv, err)
        local master = srv.ready.pid
        proc.run("kill -INT " .. srv.pid)
        for _ = 1, 200 do
            if not proc.alive(srv.pid) then
                break
            end
            socket.sleep(0.025)
        end
        local alive = proc.alive(srv.pid)
        proc.stop(srv.pid, 1)
        local out = read_file(srv.dir .. "/stdout") or ""
        proc.run("rm -rf " .. quote(srv.dir))
        assert.is_false(alive)
        assert.is_false(proc.alive(master))
        assert.matches("acmpca serve: stopped\n$", out)
        assert.is_nil(read_file(srv.ready.prefix .. "/nginx.conf"))
    end)


    it("exits when its nginx is stopped by the PID in the ready file", function()
        local srv, err = start_server({ "--seed", "empty" })
        assert(srv, err)
        local client = require("acmpca").new{
            endpoint = srv.ready.url, region = "us-east-1",
            credentials = { access_key_id = AKID, secret_access_key = SECRET },
            timeout = 10, max_attempts = 1,
        }
        local page = assert(client:list_certificate_authorities{})
        assert.same({}, page.certificate_authorities)
        proc.stop(srv.ready.pid, 5)
        for _ = 1, 200 do
            if not proc.alive(srv.pid) then
                break
            end
            socket.sleep(0.025)
        end
        local alive = proc.alive(srv.pid)
        proc.stop(srv.pid, 1)
        proc.run("rm -rf " .. quote(srv.dir))
        assert.is_false(alive)
        assert.is_nil(read_file(srv.ready.prefix .. "/nginx.conf"))
    end)
end)
