-- spec/support/hostile_fixture.lua: the misbehaving server
-- (spec/support/hostile_server.py) and an nginx to call it from, for
-- spec/integration/hostile_spec.lua.
--
--   local H = require "support.hostile_fixture"
--   local srv = assert(H.start())          -- srv.port, srv.url, srv.pid
--   srv:endpoint("stall")                  -- "http://127.0.0.1:PORT/stall/<key>"
--   srv:log(key)                           -- what the server saw under that key
--   srv:stop()
--   local ngx_srv = H.start_nginx()        -- one worker, /eval runs a Lua chunk
--   local out = H.eval(ngx_srv, code)      -- { result = ... } or { raised = "..." }
--   H.status_field(pid, "Threads")         -- a number from /proc/<pid>/status
--
-- H.call(opts, fn_src) is the one call both transports make: the same Lua
-- source runs in this process (libcurl) and inside nginx (cosockets), and
-- returns a flat record { ok, err = { code, message, retryable, status,
-- request_id, str }, elapsed, hwm_kib, rss_kib, base_kib } (base_kib: the RSS
-- the peak was reset to before the call, 0 when it could not be reset).

local cjson = require "cjson.safe"
local socket = require "socket"
local proc = require "support.proc"
local nginx = require "support.nginx"

local assert = assert
local format = string.format
local tonumber = tonumber
local setmetatable = setmetatable
local debug_getinfo = debug.getinfo

local _M = { _VERSION = "0.2.0" }

_M.python = "/usr/bin/python3"

local START_TIMEOUT = 15

local quote, read_file, read_cmd, alive = proc.quote, proc.read_file, proc.read_cmd,
    proc.alive


local function here()
    local src = debug_getinfo(1, "S").source
    return src:match("^@(.*)/[^/]*$") or "."
end

_M.script = here() .. "/hostile_server.py"


--- The number of a field of /proc/<pid>/status ("self" for this process;
-- KiB for the Vm* fields), or nil.
function _M.status_field(pid, field)
    local text = read_file("/proc/" .. pid .. "/status") or ""
    return tonumber(text:match(field .. ":%s*(%d+)"))
end


local Server = {}
Server.__index = Server


function Server:endpoint(kind, key)
    return format("%s/%s/%s", self.url, kind, key or "k")
end


-- The requests the server logged under key (a list of { behaviour,
-- amz_date, target }), read with a plain HTTP/1.0 request.
function Server:log(key)
    local res, err = nginx.request(self.port, { path = "/_log/" .. key, timeout = 5 })
    assert(res, err)
    return assert(cjson.decode(res.body), res.body)
end


function Server:stop()
    proc.stop(self.pid, 5)
    self.pid = nil
    if self.dir then
        proc.run("rm -rf " .. quote(self.dir))
    end
end


--- Starts the hostile server; returns it or nil, err.
function _M.start()
    local dir, derr = proc.tmpdir("hostile")
    if not dir then
        return nil, derr
    end
    local srv = setmetatable({ dir = dir }, Server)
    local me = proc.own_pid()
    local cmd = proc.CLEAN_ENV .. quote(_M.python) .. " " .. quote(_M.script)
        .. (me and " --parent-pid " .. me or "")
        .. " >" .. quote(dir .. "/port") .. " 2>" .. quote(dir .. "/stderr.log")
        .. " </dev/null & echo $!"
    srv.pid = tonumber((read_cmd(cmd):match("(%d+)")))
    if not srv.pid then
        srv:stop()
        return nil, "could not start " .. _M.script
    end
    local deadline = socket.gettime() + START_TIMEOUT
    while true do
        local port = tonumber((read_file(dir .. "/port") or ""):match("^(%d+)\n"))
        if port then
            srv.port = port
            break
        end
        if not alive(srv.pid) or socket.gettime() > deadline then
            local log = read_file(dir .. "/stderr.log") or ""
            srv:stop()
            return nil, "hostile server did not start: " .. log
        end
        socket.sleep(0.02)
    end
    srv.url = "http://127.0.0.1:" .. srv.port
    return srv
end


-- nginx with one worker and /eval: the request body is a Lua chunk run in
-- the content phase, its result answered as JSON.
local CONF = [[
load_module @MODULES@/ndk_http_module.so;
load_module @MODULES@/ngx_http_lua_module.so;
daemon off;
master_process on;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    lua_package_path "@LUAPATH@";
    lua_package_cpath "@LUACPATH@";
    server {
        listen 127.0.0.1:@PORT@;
        client_body_buffer_size 1m;
        client_max_body_size 1m;
@EVAL@
    }
}
]]


function _M.start_nginx()
    local port = nginx.free_port()
    local conf = CONF:gsub("@(%u+)@", { MODULES = nginx.MODULES, PORT = port,
                                        EVAL = nginx.EVAL_LOCATION,
                                        LUAPATH = nginx.lua_path(nginx.root()),
                                        LUACPATH = nginx.lua_cpath(nginx.root()) })
    return nginx.start{ conf = conf, port = port }
end


--- Runs code in nginx's content phase; returns { result = ... } | { raised = ... }.
function _M.eval(ngx_srv, code, timeout)
    local res, err = nginx.request(ngx_srv.port, { method = "POST", path = "/eval",
                                                   body = code, timeout = timeout or 120 })
    assert(res, err)
    assert(res.status == 200 and res.json, "eval failed: " .. tostring(res.status) .. " "
        .. tostring(res.body))
    return res.json
end


-- The call both transports run.  %s: the client options (Lua source) and
-- the body of function(client, acmpca) returning res, err.  The clock is
-- socket.gettime (ngx.now would need ngx.update_time and has ms steps).
local CALL = [[
local socket = require "socket"
local acmpca = require "acmpca"
local function kib(field)
    local f = io.open("/proc/self/status", "rb")
    local text = f and f:read("*a") or ""
    if f then f:close() end
    return tonumber(text:match(field .. ":%%s*(%%d+) kB"))
end
local function flat(err)
    if type(err) ~= "table" then
        return { str = tostring(err), kind = type(err) }
    end
    return { code = err.code, message = err.message, retryable = err.retryable,
             status = err.status, request_id = err.request_id, str = tostring(err),
             kind = "table" }
end
-- the peak counts from here: "5" to clear_refs resets VmHWM to the
-- current RSS (Linux 4.0), so what the earlier calls of this process (or an
-- ASan build's quarantine) held is not charged to this one
local reset = io.open("/proc/self/clear_refs", "wb")
local peak_reset = reset and reset:write("5") and reset:close() or false
local base_kib = kib("VmRSS")
local client = acmpca.new(%s)
local t0 = socket.gettime()
local ok, res, err = pcall(function(c) %s end, client)
local elapsed = socket.gettime() - t0
collectgarbage()
local out = { elapsed = elapsed, hwm_kib = kib("VmHWM"), rss_kib = kib("VmRSS"),
              base_kib = peak_reset and base_kib or 0 }
if not ok then
    out.raised = tostring(res)
elseif res ~= nil then
    out.ok = true
    out.res_type = type(res)
else
    out.err = err ~= nil and flat(err) or nil
end
if client.close then client:close() end
return out
]]


--- The Lua source that makes a client with opts_src and runs body_src.
function _M.call_source(opts_src, body_src)
    return format(CALL, opts_src, body_src)
end


--- Runs the call in this process (the libcurl transport).
function _M.call_here(opts_src, body_src)
    local fn = assert((loadstring or load)(_M.call_source(opts_src, body_src), "=call"))
    return fn()
end


--- Runs the call inside nginx (the cosocket transport).
function _M.call_nginx(ngx_srv, opts_src, body_src)
    local out = _M.eval(ngx_srv, _M.call_source(opts_src, body_src))
    assert(out.raised == nil, out.raised)
    return out.result
end


return _M
