-- spec/support/proc.lua: what the servers the specs start (support.fake_service,
-- support.nginx) share: shell quoting, commands, files, temporary
-- directories, free loopback ports, throwaway certificates, and stopping a
-- process by its PID.
--
--   local proc = require "support.proc"
--   local dir = assert(proc.tmpdir("fake"))
--   local port = proc.free_port()
--   proc.stop(pid, 5)

local socket = require "socket"

local assert = assert
local concat = table.concat
local io_open = io.open
local io_popen = io.popen
local os_execute = os.execute
local tonumber = tonumber
local tostring = tostring
local type = type


local _M = { _VERSION = "0.2.0" }

-- Children must not inherit the sanitizer preload of the ASan spec run.
_M.CLEAN_ENV = "env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS "


-- s as one single-quoted shell word.
function _M.quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
local quote = _M.quote


-- Runs a shell command; returns whether it exited 0, and its status.
function _M.run(cmd)
    local ok, _, code = os_execute(cmd)
    -- Lua 5.1 returns the status number, 5.2+ returns true/nil, "exit", code
    if type(ok) == "number" then
        return ok == 0, ok
    end
    return ok == true, code
end
local run = _M.run


-- The standard output of a shell command.
function _M.read_cmd(cmd)
    local p = io_popen(cmd, "r")
    local out = p:read("*a")
    p:close()
    return out
end


-- The contents of a file, or nil when it cannot be read.
function _M.read_file(path)
    local f = io_open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end
local read_file = _M.read_file


function _M.write_file(path, data)
    local f = assert(io_open(path, "wb"))
    f:write(data)
    f:close()
end


-- A fresh directory /tmp/acmpca-<tag>.XXXXXX, or nil, err.
function _M.tmpdir(tag)
    local dir = _M.read_cmd("mktemp -d /tmp/acmpca-" .. (tag or "spec") .. ".XXXXXX")
        :gsub("%s+$", "")
    if dir == "" then
        return nil, "mktemp failed"
    end
    return dir
end


-- A free TCP port on 127.0.0.1 (bound to port 0, then released).
function _M.free_port()
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    return tonumber(port)
end


-- Whether the process runs (a zombie does not count).
function _M.alive(pid)
    local stat = read_file("/proc/" .. pid .. "/stat")
    return stat ~= nil and not stat:match("^%d+ %b() Z")
end
local alive = _M.alive


-- The PID of this Lua process.
function _M.own_pid()
    local stat = read_file("/proc/self/stat")
    return stat and stat:match("^(%d+)")
end


-- SIGTERM to pid, then SIGKILL if it still runs after timeout seconds.
function _M.stop(pid, timeout)
    if not pid or not alive(pid) then
        return
    end
    run("kill -TERM " .. pid .. " 2>/dev/null")
    local deadline = socket.gettime() + (timeout or 5)
    while alive(pid) and socket.gettime() < deadline do
        socket.sleep(0.02)
    end
    if alive(pid) then
        run("kill -KILL " .. pid .. " 2>/dev/null")
    end
end


-- Throwaway certificates made with the openssl CLI in dir: ca.pem (a CA)
-- and server.pem/server.key (localhost, 127.0.0.1, signed by it); with
-- opts.untrusted also other.pem/other.key (the same names, signed by a
-- second CA nobody trusts).  Returns the paths of ca.pem, server.pem and
-- server.key, or nil, err.
function _M.make_certs(dir, opts)
    local function leaf(name, ca)
        return "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
            .. " -keyout " .. name .. ".key -out " .. name .. ".csr -subj '/CN=localhost'"
            .. " && openssl x509 -req -in " .. name .. ".csr -CA " .. ca .. ".pem -CAkey "
            .. ca .. ".key -CAcreateserial -out " .. name .. ".pem -days 2 -extfile server.ext"
    end
    local function root(name, cn)
        return "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
            .. " -keyout " .. name .. ".key -out " .. name .. ".pem -days 2 -subj '/CN=" .. cn
            .. "' -addext 'basicConstraints=critical,CA:TRUE'"
            .. " -addext 'keyUsage=critical,keyCertSign,cRLSign'"
    end
    _M.write_file(dir .. "/server.ext", concat({
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature, keyEncipherment",
        "extendedKeyUsage = serverAuth",
        "subjectAltName = IP:127.0.0.1, DNS:localhost",
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid, issuer",
        "",
    }, "\n"))
    local d = quote(dir)
    local cmds = { "cd " .. d, root("ca", "lua-acmpca test CA"), leaf("server", "ca") }
    if opts and opts.untrusted then
        cmds[#cmds + 1] = root("ca2", "lua-acmpca untrusted CA")
        cmds[#cmds + 1] = leaf("other", "ca2")
    end
    local ok = run(_M.CLEAN_ENV .. "sh -c " .. quote(concat(cmds, " && ")) .. " >" .. d
                   .. "/openssl.log 2>&1")
    if not ok then
        return nil, "openssl failed: " .. (read_file(dir .. "/openssl.log") or "?")
    end
    return dir .. "/ca.pem", dir .. "/server.pem", dir .. "/server.key"
end


return _M
