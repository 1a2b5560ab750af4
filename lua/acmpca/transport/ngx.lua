-- acmpca.transport.ngx: the client's transport over nginx cosockets.
--
--   local ngx_transport = require "acmpca.transport.ngx"
--   local ok, why = ngx_transport.available()
--   local transport = ngx_transport.new{ timeout = 10, connect_timeout = 3 }
--   local res, err = transport{ method = "POST", url = "https://...",
--                               headers = {...}, body = "..." }
--
-- HTTP/1.1 over ngx.socket.tcp(): connect, send and read timeouts, TLS with
-- certificate and host verification always on, Content-Length, chunked and
-- read-until-close bodies, connection reuse through the cosocket keepalive
-- pool.  Every wait yields to nginx, so one worker serves other requests
-- meanwhile.
--
-- Trust: ngx_lua 0.10.23 cannot set a CA file per socket.  The CAs that
-- verify the service's certificate come from `lua_ssl_trusted_certificate`
-- in nginx.conf (without it every TLS handshake fails verification);
-- opts.ca_file is therefore refused with an error saying so.
--
-- Names: cosockets resolve host names with nginx's `resolver` directive,
-- not /etc/hosts; "localhost" is mapped to 127.0.0.1 here for convenience.

local type = type
local tostring = tostring
local tonumber = tonumber
local pairs = pairs
local pcall = pcall
local require = require
local setmetatable = setmetatable
local error = error
local concat = table.concat
local find = string.find
local lower = string.lower
local match = string.match
local sub = string.sub
local gsub = string.gsub
local floor = math.floor
local huge = math.huge

local ngx = ngx


local _M = { _VERSION = "0.1.0" }


-- Phases where ngx.socket.tcp() may be used (lua-nginx-module docs, 0.10.23).
local COSOCKET_PHASES = {
    rewrite = true,
    access = true,
    content = true,
    timer = true,
    ssl_cert = true,
    ssl_session_fetch = true,
    ssl_client_hello = true,
}

local DEFAULTS = {
    timeout = 10,               -- seconds, whole request (send + response)
    connect_timeout = 3,        -- seconds
    keepalive_timeout = 60,     -- seconds a pooled connection may stay idle
    pool_size = 32,             -- connections kept per host:port per worker
    max_body = 16 * 1024 * 1024,
}

local DEFAULT_PORTS = { http = 80, https = 443 }

-- Headers the transport writes itself; copies in req.headers are dropped.
local OWN_HEADERS = {
    ["content-length"] = true,
    connection = true,
    ["transfer-encoding"] = true,
}


-- Error objects ---------------------------------------------------------

local fallback_mt = {
    __tostring = function(e)
        return tostring(e.code) .. ": " .. tostring(e.message)
    end,
}

local make_error_impl


local function make_error(code, message)
    if make_error_impl == nil then
        local ok, core = pcall(require, "acmpca.core")
        if ok and type(core) == "table" and type(core.new_error) == "function" then
            make_error_impl = core.new_error
        else
            make_error_impl = false
        end
    end
    local fields = {
        code = code,
        message = message,
        retryable = code ~= "TLSError",
    }
    if make_error_impl then
        local ok, e = pcall(make_error_impl, fields)
        if ok and e ~= nil then
            return e
        end
    end
    return setmetatable(fields, fallback_mt)
end


-- Phase checks ------------------------------------------------------------

--- true when cosockets can be used right now, else false and a reason.
function _M.available()
    if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then
        return false, "not running inside nginx with the Lua module"
    end
    if type(ngx.socket) ~= "table" or type(ngx.socket.tcp) ~= "function" then
        return false, "ngx.socket.tcp is not available in this nginx"
    end
    local phase = ngx.get_phase()
    if not COSOCKET_PHASES[phase] then
        return false, "nginx cosockets are not allowed in the '" .. tostring(phase)
            .. "' phase (only in rewrite, access, content, ngx.timer and ssl_* handlers)"
    end
    return true
end


local function misuse(msg, level)
    error("acmpca.transport.ngx: " .. msg, level + 1)
end


local function check_phase(what, level)
    local ok, why = _M.available()
    if not ok then
        misuse(what .. ": " .. why .. "; create and use the client lazily in a request"
            .. " handler or an ngx.timer callback, never in init_by_lua, set_by_lua,"
            .. " header/body filters or log_by_lua", level + 1)
    end
end


-- URL and request -----------------------------------------------------------

-- "https://host:port/path?q" -> scheme, host, port, path(with query), host header
local function parse_url(url)
    local scheme, authority, rest = match(url, "^(%a[%w+.-]*)://([^/?#]*)(.*)$")
    if not scheme then
        return nil, "not an absolute URL"
    end
    scheme = lower(scheme)
    local default_port = DEFAULT_PORTS[scheme]
    if not default_port then
        return nil, "unsupported scheme '" .. scheme .. "'"
    end
    if find(authority, "@", 1, true) then
        return nil, "credentials in the URL are not supported"
    end
    local host, port
    if sub(authority, 1, 1) == "[" then
        host, port = match(authority, "^(%[[%x:.]+%]):?(%d*)$")
    else
        host, port = match(authority, "^([%w.-]+):?(%d*)$")
    end
    if not host or host == "" then
        return nil, "bad host"
    end
    local hostport = authority
    if port == "" then
        port = default_port
    else
        port = tonumber(port)
        if port < 1 or port > 65535 then
            return nil, "bad port"
        end
        if port == default_port then
            hostport = host
        end
    end
    rest = gsub(rest, "#.*$", "")
    if rest == "" then
        rest = "/"
    elseif sub(rest, 1, 1) == "?" then
        rest = "/" .. rest
    end
    return scheme, lower(host), port, rest, hostport
end


local function check_header(name, value)
    if type(name) ~= "string" or not match(name, "^[!#$%%&'*+.^_`|~%w-]+$") then
        misuse("bad header name " .. tostring(name), 4)
    end
    if type(value) == "number" then
        value = tostring(value)
    elseif type(value) ~= "string" then
        misuse("header " .. name .. ": expected a string value", 4)
    end
    if find(value, "[\r\n%z]") then
        misuse("header " .. name .. ": value contains CR, LF or NUL", 4)
    end
    return value
end


local function build_request(req, path, hostport)
    local method = req.method or "GET"
    if type(method) ~= "string" or not match(method, "^%u+$") then
        misuse("bad method " .. tostring(method), 3)
    end
    local body = req.body
    if body ~= nil and type(body) ~= "string" then
        misuse("body: expected a string", 3)
    end
    local headers = req.headers or {}
    if type(headers) ~= "table" then
        misuse("headers: expected a table", 3)
    end

    local out = { method, " ", path, " HTTP/1.1\r\n" }
    local n = #out
    local host_sent = false
    for name, value in pairs(headers) do
        value = check_header(name, value)
        local lname = lower(name)
        if lname == "host" then
            host_sent = true
        end
        if not OWN_HEADERS[lname] then
            out[n + 1], out[n + 2], out[n + 3], out[n + 4] = name, ": ", value, "\r\n"
            n = n + 4
        end
    end
    if not host_sent then
        out[n + 1], out[n + 2] = "Host: ", hostport .. "\r\n"
        n = n + 2
    end
    if body or method == "POST" or method == "PUT" or method == "PATCH" then
        out[n + 1] = "Content-Length: " .. #(body or "") .. "\r\n"
        n = n + 1
    end
    out[n + 1] = "Connection: keep-alive\r\n\r\n"
    out[n + 2] = body
    return out, method
end


-- Response reading -------------------------------------------------------------

-- Per-request deadline: each cosocket wait gets what is left of the budget.
local function remaining_ms(deadline)
    ngx.update_time()
    local ms = floor((deadline - ngx.now()) * 1000)
    if ms < 1 then
        return nil
    end
    return ms
end


local function io_error(err, what)
    if err == "timeout" then
        return make_error("Timeout", what .. " timed out")
    end
    return make_error("NetworkError", what .. " failed: " .. tostring(err))
end


local function receive(sock, deadline, pattern, what)
    local ms = remaining_ms(deadline)
    if not ms then
        return nil, make_error("Timeout", what .. " timed out")
    end
    sock:settimeout(ms)
    local data, err = sock:receive(pattern)
    if not data then
        return nil, io_error(err, what), err
    end
    return data
end


local function read_headers(sock, deadline)
    local headers = {}
    for _ = 1, 200 do
        local line, err = receive(sock, deadline, "*l", "reading response headers")
        if not line then
            return nil, err
        end
        if line == "" then
            return headers
        end
        local name, value = match(line, "^([^:%s]+)%s*:%s*(.-)%s*$")
        if name then
            name = lower(name)
            local old = headers[name]
            headers[name] = old and (old .. ", " .. value) or value
        end
    end
    return nil, make_error("NetworkError", "too many response headers")
end


local function read_chunked(sock, deadline, max_body)
    local parts, total = {}, 0
    while true do
        local line, err = receive(sock, deadline, "*l", "reading chunk size")
        if not line then
            return nil, err
        end
        local size = tonumber(match(line, "^%s*(%x+)"), 16)
        if not size then
            return nil, make_error("NetworkError", "bad chunk size line in response")
        end
        if size == 0 then
            -- trailers up to the blank line
            for _ = 1, 100 do
                local trailer, terr = receive(sock, deadline, "*l", "reading chunk trailer")
                if not trailer then
                    return nil, terr
                end
                if trailer == "" then
                    return concat(parts)
                end
            end
            return nil, make_error("NetworkError", "too many trailers in response")
        end
        total = total + size
        if total > max_body then
            return nil, make_error("NetworkError", "response body larger than "
                .. max_body .. " bytes")
        end
        local data, derr = receive(sock, deadline, size, "reading response body")
        if not data then
            return nil, derr
        end
        parts[#parts + 1] = data
        local crlf, cerr = receive(sock, deadline, "*l", "reading response body")
        if not crlf then
            return nil, cerr
        end
    end
end


local function read_until_close(sock, deadline, max_body)
    local ms = remaining_ms(deadline)
    if not ms then
        return nil, make_error("Timeout", "reading response body timed out")
    end
    sock:settimeout(ms)
    local data, err, partial = sock:receive("*a")
    if not data then
        if err == "closed" then
            data = partial
        else
            return nil, io_error(err, "reading response body")
        end
    end
    if #data > max_body then
        return nil, make_error("NetworkError", "response body larger than "
            .. max_body .. " bytes")
    end
    return data
end


-- Reads one response.  Returns res, reusable | nil, err, first_read_closed.
local function read_response(sock, deadline, method, max_body)
    local status, version, headers
    repeat
        local line, err, raw = receive(sock, deadline, "*l", "reading response status")
        if not line then
            return nil, err, raw == "closed" and status == nil
        end
        local major, minor, code = match(line, "^HTTP/(%d)%.(%d)%s+(%d%d%d)")
        if not code then
            return nil, make_error("NetworkError", "malformed status line from server")
        end
        version = tonumber(major) * 10 + tonumber(minor)
        status = tonumber(code)
        headers, err = read_headers(sock, deadline)
        if not headers then
            return nil, err
        end
    until status >= 200 or status == 101

    local connection = lower(headers.connection or "")
    local reusable = version >= 11 and not find(connection, "close", 1, true)
    local body
    local te = lower(headers["transfer-encoding"] or "")
    if method == "HEAD" or status == 204 or status == 304 then
        body = ""
    elseif te ~= "" and te ~= "identity" then
        if not find(te, "chunked", 1, true) then
            return nil, make_error("NetworkError", "unsupported transfer-encoding " .. te)
        end
        local err
        body, err = read_chunked(sock, deadline, max_body)
        if not body then
            return nil, err
        end
    elseif headers["content-length"] then
        local len = tonumber(match(headers["content-length"], "^%s*(%d+)%s*$"))
        if not len then
            return nil, make_error("NetworkError", "bad content-length in response")
        end
        if len > max_body then
            return nil, make_error("NetworkError", "response body larger than "
                .. max_body .. " bytes")
        end
        if len == 0 then
            body = ""
        else
            local err
            body, err = receive(sock, deadline, len, "reading response body")
            if not body then
                return nil, err
            end
        end
    else
        local err
        body, err = read_until_close(sock, deadline, max_body)
        if not body then
            return nil, err
        end
        reusable = false
    end
    return { status = status, headers = headers, body = body }, reusable
end


-- The transport -----------------------------------------------------------------

local function seconds_opt(opts, name)
    local v = opts[name]
    if v == nil then
        return DEFAULTS[name]
    end
    if type(v) ~= "number" or v <= 0 or v ~= v or v == huge then
        misuse(name .. ": expected a positive number of seconds, got " .. tostring(v), 3)
    end
    return v
end


local function to_ms(seconds)
    local ms = floor(seconds * 1000)
    return ms < 1 and 1 or ms
end


--- Makes a transport function for acmpca.client.
-- opts: timeout, connect_timeout, keepalive_timeout (seconds),
--       pool_size, max_body.  Raises when cosockets are not usable here.
function _M.new(opts)
    check_phase("new", 2)
    opts = opts or {}
    if type(opts) ~= "table" then
        misuse("new: expected an options table", 2)
    end
    if opts.ca_file ~= nil then
        misuse("ca_file cannot be set per connection with ngx_lua; trust the CA with"
            .. " the `lua_ssl_trusted_certificate <file>;` directive in nginx.conf"
            .. " and leave ca_file unset", 2)
    end
    if opts.ssl_verify == false then
        misuse("TLS certificate verification cannot be turned off", 2)
    end
    local timeout = seconds_opt(opts, "timeout")
    local connect_timeout = seconds_opt(opts, "connect_timeout")
    local idle_ms = to_ms(seconds_opt(opts, "keepalive_timeout"))
    local pool_size = opts.pool_size or DEFAULTS.pool_size
    if type(pool_size) ~= "number" or pool_size < 1 or pool_size % 1 ~= 0 then
        misuse("pool_size: expected a positive integer", 2)
    end
    local max_body = opts.max_body or DEFAULTS.max_body
    local tcp = ngx.socket.tcp

    -- One attempt on one connection: res | nil, err, retry_on_fresh_connection
    local function attempt(scheme, host, port, wire, method, deadline, conn_ms)
        local sock = tcp()
        local ms = remaining_ms(deadline) or 1
        sock:settimeouts(conn_ms < ms and conn_ms or ms, ms, ms)
        local addr = host == "localhost" and "127.0.0.1" or host
        local pool = scheme .. "://" .. host .. ":" .. port
        local ok, err = sock:connect(addr, port, { pool = pool, pool_size = pool_size })
        if not ok then
            if err == "timeout" then
                return nil, make_error("Timeout", "connecting to " .. host .. ":" .. port
                    .. " timed out")
            end
            return nil, make_error("NetworkError", "cannot connect to " .. host .. ":"
                .. port .. ": " .. tostring(err))
        end
        local reused = (sock:getreusedtimes() or 0) > 0
        if scheme == "https" and not reused then
            local session, herr = sock:sslhandshake(nil, host, true)
            if not session then
                sock:close()
                if herr == "timeout" then
                    return nil, make_error("Timeout", "TLS handshake with " .. host
                        .. " timed out")
                end
                local hint = ""
                if find(tostring(herr), "verify", 1, true) then
                    hint = " (the server's CA must be in nginx's"
                        .. " lua_ssl_trusted_certificate file)"
                end
                return nil, make_error("TLSError", "TLS handshake with " .. host
                    .. " failed: " .. tostring(herr) .. hint)
            end
        end

        ms = remaining_ms(deadline)
        if not ms then
            sock:close()
            return nil, make_error("Timeout", "request timed out before it was sent")
        end
        sock:settimeout(ms)
        local sent, serr = sock:send(wire)
        if not sent then
            sock:close()
            -- a pooled connection the server already closed: try a fresh one
            return nil, io_error(serr, "sending request"), reused and serr ~= "timeout"
        end

        local res, rerr, closed_early = read_response(sock, deadline, method, max_body)
        if not res then
            sock:close()
            return nil, rerr, reused and closed_early
        end
        if rerr then
            sock:setkeepalive(idle_ms, pool_size)
        else
            sock:close()
        end
        return res
    end

    return function(req)
        check_phase("transport", 2)
        if type(req) ~= "table" then
            misuse("expected a request table", 2)
        end
        if type(req.url) ~= "string" then
            misuse("url: expected a string", 2)
        end
        local scheme, host, port, path, hostport = parse_url(req.url)
        if not scheme then
            misuse("url: " .. host .. ": " .. req.url, 2)
        end
        local wire, method = build_request(req, path, hostport)
        local total = req.timeout and seconds_opt(req, "timeout") or timeout
        local conn = req.connect_timeout and seconds_opt(req, "connect_timeout")
            or connect_timeout
        ngx.update_time()
        local deadline = ngx.now() + total
        local conn_ms = to_ms(conn)

        local res, err, retry = attempt(scheme, host, port, wire, method, deadline, conn_ms)
        if not res and retry then
            res, err = attempt(scheme, host, port, wire, method, deadline, conn_ms)
        end
        if not res then
            return nil, err
        end
        return res
    end
end


--- ngx.sleep where it is allowed (for the client's retry backoff).
function _M.sleep(seconds)
    return ngx.sleep(seconds)
end


return _M
