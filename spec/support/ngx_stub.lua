-- spec/support/ngx_stub.lua: start and stop spec/support/ngx_stub.py, the
-- raw HTTP stand-in (huge, endless and dripping answers) the cosocket
-- transport's memory and deadline specs call from inside nginx.
--
--   local stub = require "support.ngx_stub"
--   local srv = assert(stub.start())    -- srv.port, srv.pid
--   srv:stop()

local socket = require "socket"
local proc = require "support.proc"

local setmetatable = setmetatable
local tonumber = tonumber

local _M = { _VERSION = "0.2.0" }

_M.python = "/usr/bin/python3"

local START_TIMEOUT = 15
local quote, read_file, read_cmd = proc.quote, proc.read_file, proc.read_cmd


local function here()
    local src = debug.getinfo(1, "S").source
    return src:match("^@(.*)/[^/]*$") or "."
end


local Server = {}
Server.__index = Server


function Server:stop()
    proc.stop(self.pid, 5)
    self.pid = nil
    proc.run("rm -rf " .. quote(self.dir))
end


--- Starts the stub; returns it or nil, err.
function _M.start()
    local dir, derr = proc.tmpdir("ngxstub")
    if not dir then
        return nil, derr
    end
    local srv = setmetatable({ dir = dir }, Server)
    local me = proc.own_pid()
    local cmd = proc.CLEAN_ENV .. quote(_M.python) .. " " .. quote(here() .. "/ngx_stub.py")
        .. (me and " --parent-pid " .. me or "")
        .. " >" .. quote(dir .. "/port") .. " 2>" .. quote(dir .. "/stderr.log")
        .. " </dev/null & echo $!"
    srv.pid = tonumber((read_cmd(cmd):match("(%d+)")))
    local deadline = socket.gettime() + START_TIMEOUT
    while srv.pid do
        srv.port = tonumber((read_file(dir .. "/port") or ""):match("^(%d+)\n"))
        if srv.port then
            return srv
        end
        if not proc.alive(srv.pid) or socket.gettime() > deadline then
            break
        end
        socket.sleep(0.02)
    end
    local log = read_file(dir .. "/stderr.log") or ""
    srv:stop()
    return nil, "ngx_stub.py did not start: " .. log
end


return _M
