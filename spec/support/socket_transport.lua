-- A small blocking HTTP/1.1 transport over luasocket, for specs that talk
-- to the local stand-in servers before/without acmpca.core.http_new.
-- transport(req) -> { status, headers (lower-case), body } | nil, err
-- where err is { code = "Timeout" | "NetworkError", message = }.

local socket = require "socket"
local url = require "acmpca.url"

local _M = {}


local function fail(code, msg)
    return nil, setmetatable({ code = code, message = msg }, {
        __tostring = function(e) return e.code .. ": " .. e.message end,
    })
end


function _M.request(req)
    local u, uerr = url.parse(req.url)
    if not u or u.scheme ~= "http" then
        return fail("NetworkError", "unsupported URL: " .. (uerr or "not http"))
    end
    local sock = socket.tcp()
    sock:settimeout(req.connect_timeout or req.timeout or 5)
    local ok, err = sock:connect(u.host, u.port)
    if not ok then
        sock:close()
        return fail(err == "timeout" and "Timeout" or "NetworkError", "connect: " .. err)
    end
    sock:settimeout(req.timeout or 5)
    local body = req.body or ""
    local lines = { (req.method or "GET") .. " " .. u.target .. " HTTP/1.1",
                    "Host: " .. u.host_header, "Connection: close",
                    "Content-Length: " .. #body }
    for k, v in pairs(req.headers or {}) do
        lines[#lines + 1] = k .. ": " .. v
    end
    ok, err = sock:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. body)
    if not ok then
        sock:close()
        return fail("NetworkError", "send: " .. err)
    end
    local status_line
    status_line, err = sock:receive("*l")
    if not status_line then
        sock:close()
        return fail(err == "timeout" and "Timeout" or "NetworkError", "receive: " .. err)
    end
    local res = { status = tonumber(status_line:match("^HTTP/%d%.%d (%d+)")), headers = {} }
    while true do
        local line
        line, err = sock:receive("*l")
        if not line then
            sock:close()
            return fail(err == "timeout" and "Timeout" or "NetworkError", "receive: " .. err)
        end
        if line == "" then
            break
        end
        local k, v = line:match("^([^:]+):%s*(.-)%s*$")
        if k then
            res.headers[k:lower()] = v
        end
    end
    local n = tonumber(res.headers["content-length"])
    if n == 0 then
        res.body = ""
    elseif n then
        res.body, err = sock:receive(n)
    else
        local partial
        res.body, err, partial = sock:receive("*a")
        res.body = res.body or partial
    end
    sock:close()
    if not res.body then
        return fail(err == "timeout" and "Timeout" or "NetworkError", "receive: " .. err)
    end
    return res
end


return _M
