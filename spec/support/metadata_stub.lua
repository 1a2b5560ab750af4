-- Starts and drives spec/support/metadata_stub.py (IMDS + container
-- credentials stand-in) on 127.0.0.1, on a port picked at runtime.
--   local stub = require("support.metadata_stub").start()
--   stub.url, stub:config{...}, stub:reset(), stub:calls(), stub:stop()

local socket = require "socket"
local cjson = require "cjson"
local transport = require "support.socket_transport"

local _M = {}
local Stub = {}
Stub.__index = Stub

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"


function _M.start()
    local portfile = os.tmpname()
    os.remove(portfile)
    local cmd = "/usr/bin/python3 " .. here .. "metadata_stub.py " .. portfile
        .. " </dev/null >/dev/null 2>&1 & echo $!"
    local p = assert(io.popen(cmd, "r"))
    local pid = tonumber(p:read("*l"))
    p:close()
    assert(pid, "metadata_stub: no pid")
    local port
    for _ = 1, 500 do
        local f = io.open(portfile, "r")
        if f then
            port = tonumber(f:read("*a"))
            f:close()
            if port then
                break
            end
        end
        socket.sleep(0.02)
    end
    os.remove(portfile)
    if not port then
        os.execute("kill " .. pid .. " 2>/dev/null")
        error("metadata_stub did not start")
    end
    return setmetatable({ pid = pid, port = port, url = "http://127.0.0.1:" .. port }, Stub)
end


function Stub:control(path, doc)
    local res, err = transport.request{ method = "POST", url = self.url .. path,
                                        body = doc and cjson.encode(doc) or "" }
    assert(res and res.status == 200, "metadata_stub control " .. path .. ": " .. tostring(err))
    return res
end


function Stub:config(doc)
    self:control("/_config", doc)
end


function Stub:reset()
    self:control("/_reset")
end


function Stub:calls()
    local res = self:control("/_calls")
    return cjson.decode(res.body)
end


function Stub:stop()
    if self.pid then
        os.execute("kill " .. self.pid .. " 2>/dev/null")
        self.pid = nil
    end
end


return _M
