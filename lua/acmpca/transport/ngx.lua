--- acmpca.transport.ngx: the client's transport over nginx cosockets.
--
--    local ngx_transport = require "acmpca.transport.ngx"
--    local ok, why = ngx_transport.available()
--    local transport = ngx_transport.new{ timeout = 30, connect_timeout = 10 }
--    local res, err = transport{ method = "POST", url = "https://...",
--                               headers = {...}, body = "..." }
--
-- HTTP/1.1 over ngx.socket.tcp(): connect, send and read timeouts, TLS with
-- certificate and host verification always on, Content-Length, chunked and
-- read-until-close bodies, connection reuse through the cosocket keepalive
-- pool.  Every wait yields to nginx, so one worker serves other requests
-- meanwhile.
--
-- Defaults: acmpca.core's transport_defaults, the figures the libcurl
-- transport uses too (src/http.h): 30 s for the whole attempt, 10 s to
-- connect (TCP and TLS handshake), 8 MiB of body, 64 KiB of status and
-- header lines; idle pooled connections are kept 60 s, 32 per host:port.
--
-- Layers, as in ledgetech/lua-resty-http: connect, send_request,
-- read_response; read_response is made of small readers (status line,
-- header block, chunked, Content-Length and until-close bodies), each
-- with its own limit, checked while reading.  `timeout` bounds the whole
-- attempt (connect, send, headers, body): every socket wait gets what is
-- left of it, and every read is one receiveany(), so a server dripping a
-- byte a second meets the deadline too.  An answer past max_body or past
-- 64 KiB of status and header lines (one line, or all of them: the field
-- count is bounded by the same bytes) is ResponseTooLarge, retryable =
-- false, as with libcurl; any other broken answer is a NetworkError or a
-- Timeout.  Always nil, err, never a raise.
--
-- Requests: the URL (acmpca.url) and every header name and value are
-- checked before a socket is made; CR, LF, NUL, a space or a control
-- character anywhere in them raises (they would split the request line).
--
-- Trust: ngx_lua 0.10.23 cannot set a CA file per socket.  The CAs that
-- verify the service's certificate come from `lua_ssl_trusted_certificate`
-- in nginx.conf (without it every TLS handshake fails verification);
-- opts.ca_file is therefore refused with an error saying so.
--
-- Names: cosockets resolve host names with nginx's `resolver` directive,
-- not /etc/hosts; "localhost" is mapped to 127.0.0.1 here for convenience.
--
-- @module acmpca.transport.ngx

local type = type
local tostring = tostring
local tonumber = tonumber
local pairs = pairs
local error = error
local byte = string.byte
local concat = table.concat
local find = string.find
local lower = string.lower
local match = string.match
local sub = string.sub
local floor = math.floor
local huge = math.huge
local min = math.min

local ngx = ngx

local core = require "acmpca.core"
local parse_url = require("acmpca.url").parse

local new_error = core.new_error
local excerpt = core.excerpt


local _M = { _VERSION = "0.2.0" }


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

-- Headers the transport writes itself; copies in req.headers are dropped.
local OWN_HEADERS = {
    ["content-length"] = true,
    connection = true,
    ["transfer-encoding"] = true,
}

local CHUNK_LINE_MAX = 4096    -- a chunk-size line, extensions included
local READ_MAX = 65536         -- bytes asked for per socket read
local SP, HT, CR = 32, 9, 13


-- Errors ------------------------------------------------------------------

-- retryable unless TLS failed or retrying cannot help (retryable == false).
local function make_error(code, message, retryable)
    if retryable == nil then
        retryable = code ~= "TLSError"
    end
    return new_error{ code = code, message = message, retryable = retryable }
end


local function io_error(err, what)
    if err == "timeout" then
        return make_error("Timeout", what .. " timed out")
    end
    return make_error("NetworkError", what .. " failed: " .. tostring(err))
end


local function too_large(max_body)
    return make_error("ResponseTooLarge", "response body larger than " .. max_body
        .. " bytes", false)
end


local function malformed(what)
    return make_error("NetworkError", "malformed " .. what .. " from server")
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


-- level: where the user's frame is, counting the function that raises as
-- 1 (2 in new and the transport function); a helper they call gets level + 1.
local function misuse(msg, level)
    error("acmpca.transport.ngx: " .. msg, level + 1)
end


-- level: the caller's, as for misuse.
local function check_phase(what, level)
    local ok, why = _M.available()
    if not ok then
        misuse(what .. ": " .. why .. "; create and use the client lazily in a request"
            .. " handler or an ngx.timer callback, never in init_by_lua, set_by_lua,"
            .. " header/body filters or log_by_lua", level + 1)
    end
end


-- Options -------------------------------------------------------------------

local function seconds_opt(opts, name, default, level)
    local v = opts[name]
    if v == nil then
        return default
    end
    if type(v) ~= "number" or v <= 0 or v ~= v or v == huge then
        misuse(name .. ": expected a positive number of seconds, got " .. tostring(v), level)
    end
    return v
end


local function count_opt(opts, name, default, level)
    local v = opts[name]
    if v == nil then
        return default
    end
    if type(v) ~= "number" or v < 1 or v % 1 ~= 0 or v == huge then
        misuse(name .. ": expected a positive integer", level)
    end
    return v
end


local function to_ms(seconds)
    local ms = floor(seconds * 1000)
    return ms < 1 and 1 or ms
end


-- opts over core.transport_defaults (src/http.h), checked.
local function read_settings(opts, level)
    local d = core.transport_defaults
    local max_head = d.max_header_bytes
    return {
        timeout = seconds_opt(opts, "timeout", d.timeout, level + 1),
        connect_timeout = seconds_opt(opts, "connect_timeout", d.connect_timeout, level + 1),
        idle_ms = to_ms(seconds_opt(opts, "keepalive_timeout", d.keepalive_timeout,
            level + 1)),
        pool_size = count_opt(opts, "pool_size", d.pool_size, level + 1),
        max_body = count_opt(opts, "max_body", d.max_body, level + 1),
        max_head = max_head,
        head_too_large = "response headers larger than " .. max_head .. " bytes",
        tcp = ngx.socket.tcp,
    }
end


-- The request ---------------------------------------------------------------

local function check_header(name, value, level)
    if type(name) ~= "string" or not match(name, "^[!#$%%&'*+.^_`|~%w-]+$") then
        misuse("bad header name " .. tostring(name), level)
    end
    if type(value) == "number" then
        value = tostring(value)
    elseif type(value) ~= "string" then
        misuse("header " .. name .. ": expected a string value", level)
    end
    if find(value, "[\r\n%z]") then
        misuse("header " .. name .. ": value contains CR, LF or NUL", level)
    end
    return value
end


-- The request's bytes (a table of strings for sock:send) and its method.
local function build_request(req, u, level)
    local method = req.method or "GET"
    if type(method) ~= "string" or not match(method, "^%u+$") then
        misuse("bad method " .. tostring(method), level)
    end
    local body = req.body
    if body ~= nil and type(body) ~= "string" then
        misuse("body: expected a string", level)
    end
    local headers = req.headers or {}
    if type(headers) ~= "table" then
        misuse("headers: expected a table", level)
    end

    local out = { method, " ", u.target, " HTTP/1.1\r\n" }
    local n = #out
    local host_sent = false
    for name, value in pairs(headers) do
        value = check_header(name, value, level + 1)
        local lname = lower(name)
        host_sent = host_sent or lname == "host"
        if not OWN_HEADERS[lname] then
            out[n + 1], out[n + 2], out[n + 3], out[n + 4] = name, ": ", value, "\r\n"
            n = n + 4
        end
    end
    if not host_sent then
        out[n + 1], out[n + 2] = "Host: ", u.host_header .. "\r\n"
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


-- Deadlines -----------------------------------------------------------------

-- Each cosocket wait gets what is left of the attempt's budget.
local function remaining_ms(deadline)
    ngx.update_time()
    local ms = floor((deadline - ngx.now()) * 1000)
    if ms < 1 then
        return nil
    end
    return ms
end


-- Gives sock what is left of the deadline; false when nothing is.
local function arm(sock, deadline)
    local ms = remaining_ms(deadline)
    if not ms then
        return false
    end
    sock:settimeout(ms)
    return true
end


-- Readers -------------------------------------------------------------------
--
-- r = { sock, deadline, buf (bytes received, not yet used, from pos),
--       pos, head_left (bytes of status and header lines still allowed), s }
--
-- Every socket read is one receiveany(): it returns as soon as any bytes
-- are there, and each is armed with what is left of the deadline.  (A
-- receive(n) or a receiveuntil() iterator re-arms nginx's read timer at
-- every byte that arrives, so a server sending one byte a second would
-- never time out.)

-- Appends up to n (at most READ_MAX) new bytes to r.buf.  true | nil, err, raw_err
local function fill(r, n, what)
    if not arm(r.sock, r.deadline) then
        return nil, make_error("Timeout", what .. " timed out"), "timeout"
    end
    local data, err = r.sock:receiveany(min(n, READ_MAX))
    if not data then
        return nil, io_error(err, what), err
    end
    local buf, pos = r.buf, r.pos
    if pos > #buf then
        r.buf = data
    else
        r.buf = sub(buf, pos) .. data
    end
    r.pos = 1
    return true
end


-- Takes n bytes from r.buf (all there).
local function take(r, n)
    local pos = r.pos
    r.pos = pos + n
    return sub(r.buf, pos, pos + n - 1)
end


-- Exactly n bytes: data | nil, err, raw_err
local function receive(r, n, what)
    local have = #r.buf - r.pos + 1
    if have >= n then
        return take(r, n)
    end
    local parts, k = { take(r, have) }, 1
    n = n - have
    while n > 0 do
        local ok, err, raw = fill(r, n, what)
        if not ok then
            return nil, err, raw
        end
        k = k + 1
        parts[k] = take(r, #r.buf)
        n = n - #parts[k]
    end
    return concat(parts, "", 1, k)
end


-- One LF-terminated line (its CR dropped) of at most max bytes; never
-- holds more than max + 2 bytes of it and one read; a longer one is an
-- error with code and the message too_long.  line | nil, err, raw_err
local function read_line(r, max, what, code, too_long)
    local from = r.pos
    while true do
        local lf = find(r.buf, "\n", from, true)
        if lf then
            local line = sub(r.buf, r.pos, lf - 1)
            r.pos = lf + 1
            if byte(line, -1) == CR then
                line = sub(line, 1, -2)
            end
            if #line > max then
                return nil, make_error(code, too_long, false)
            end
            return line
        end
        local have = #r.buf - r.pos + 1
        if have > max + 1 then
            return nil, make_error(code, too_long, false)
        end
        local ok, err, raw = fill(r, max + 2 - have, what)
        if not ok then
            return nil, err, raw
        end
        from = have + 1
    end
end


-- A status or header line, charged to the response's header budget.
local function read_head_line(r, what)
    local line, err, raw = read_line(r, r.head_left, what, "ResponseTooLarge",
        r.s.head_too_large)
    if line then
        r.head_left = r.head_left - #line - 2
        if r.head_left < 0 then
            r.head_left = 0
        end
    end
    return line, err, raw
end


-- "HTTP/1.1 200 ...": status, version (11) | nil, err, raw_err
local function read_status_line(r)
    local line, err, raw = read_head_line(r, "reading response status")
    if not line then
        return nil, err, raw
    end
    local major, minor, code = match(line, "^HTTP/(%d)%.(%d)[ \t]+(%d%d%d)")
    if not code then
        return nil, malformed("status line")
    end
    return tonumber(code), tonumber(major) * 10 + tonumber(minor)
end


-- s[i..j] without the spaces and tabs around it (byte loops: no pattern
-- backtracking over a hostile run of blanks).
local function trim(s, i, j)
    local b = byte(s, i)
    while i <= j and (b == SP or b == HT) do
        i = i + 1
        b = byte(s, i)
    end
    b = byte(s, j)
    while j >= i and (b == SP or b == HT) do
        j = j - 1
        b = byte(s, j)
    end
    return sub(s, i, j)
end


-- Appends v to a field's pieces { v, sep, v, ..., n = count, size = bytes }:
-- sep ", " for a repeated field, " " for a continuation.
local function add_piece(fields, name, v, sep)
    local p = fields[name]
    if not p then
        fields[name] = { v, n = 1, size = #v }
        return
    end
    local n, size = p.n, p.size
    if sep == ", " or size > 0 then    -- a continuation of "" needs no space
        n, size = n + 1, size + #sep
        p[n] = sep
    end
    n, size = n + 1, size + #v
    p[n] = v
    p.n, p.size = n, size
end


-- One header line into fields: "name: value" (repeats joined with ", "),
-- or an obs-fold continuation of the field named last (joined with " ").
-- Returns the name a continuation would extend.
local function add_header_line(fields, line, last)
    local b = byte(line, 1)
    if b == SP or b == HT then
        if last then
            local v = trim(line, 1, #line)
            if v ~= "" then
                add_piece(fields, last, v, " ")
            end
        end
        return last
    end
    local colon = find(line, ":", 1, true)
    if not colon then
        return nil
    end
    local name = lower(trim(line, 1, colon - 1))
    if not find(name, "^[^%s%c]+$") then
        return nil
    end
    add_piece(fields, name, trim(line, colon + 1, #line), ", ")
    return name
end


-- The header block up to its blank line: lower-case names, values joined
-- once at the end (never by repeated concatenation).  headers | nil, err
local function read_headers(r)
    local fields, last = {}, nil
    while true do
        local line, err = read_head_line(r, "reading response headers")
        if not line then
            return nil, err
        end
        if line == "" then
            break
        end
        last = add_header_line(fields, line, last)
    end
    local headers = {}
    for name, p in pairs(fields) do
        headers[name] = p.n == 1 and p[1] or concat(p, "", 1, p.n)
    end
    return headers
end


-- "1a2b[;ext]": the chunk size | nil, err
local function read_chunk_size(r)
    local line, err = read_line(r, CHUNK_LINE_MAX, "reading chunk size", "NetworkError",
        "chunk size line longer than " .. CHUNK_LINE_MAX .. " bytes")
    if not line then
        return nil, err
    end
    local lead, digits = match(line, "^([ \t]*)(%x+)")
    if not digits then
        return nil, malformed("chunk size")
    end
    local rest = sub(line, #lead + #digits + 1)
    if rest ~= "" and not find(rest, "^[ \t]*;") then
        return nil, malformed("chunk size")
    end
    digits = match(digits, "^0*(%x+)$")
    if #digits > 15 then
        return nil, too_large(r.s.max_body)
    end
    return tonumber(digits, 16)
end


-- Trailer lines up to the blank one, charged to the header budget.
local function skip_trailers(r)
    while true do
        local line, err = read_head_line(r, "reading chunk trailer")
        if not line then
            return nil, err
        end
        if line == "" then
            return true
        end
    end
end


local function read_chunked_body(r)
    local max_body = r.s.max_body
    local parts, n, total = {}, 0, 0
    while true do
        local size, err = read_chunk_size(r)
        if not size then
            return nil, err
        end
        if size == 0 then
            local ok, terr = skip_trailers(r)
            if not ok then
                return nil, terr
            end
            return concat(parts, "", 1, n)
        end
        total = total + size
        if total > max_body then
            return nil, too_large(max_body)
        end
        local data, derr = receive(r, size, "reading response body")
        if not data then
            return nil, derr
        end
        n = n + 1
        parts[n] = data
        local crlf, cerr = read_line(r, 0, "reading response body", "NetworkError",
            "malformed chunked body from server")
        if not crlf then
            return nil, cerr
        end
    end
end


local function read_length_body(r, value)
    local digits = match(value, "^[ \t]*(%d+)[ \t]*$")
    if not digits then
        return nil, make_error("NetworkError", "bad content-length in response")
    end
    local len = #digits <= 15 and tonumber(digits) or huge
    if len > r.s.max_body then
        return nil, too_large(r.s.max_body)
    end
    if len == 0 then
        return ""
    end
    return receive(r, len, "reading response body")
end


-- Until the server closes, never holding more than max_body + 1 bytes.
local function read_close_body(r)
    local max_body = r.s.max_body
    local parts, n, total = {}, 0, 0
    while true do
        if r.pos <= #r.buf then
            local data = take(r, #r.buf - r.pos + 1)
            total = total + #data
            if total > max_body then
                return nil, too_large(max_body)
            end
            n = n + 1
            parts[n] = data
        end
        local ok, err, raw = fill(r, max_body + 1 - total, "reading response body")
        if not ok then
            if raw == "closed" then
                return concat(parts, "", 1, n)
            end
            return nil, err
        end
    end
end


-- body, until_close | nil, err
local function read_body(r, method, status, headers)
    if method == "HEAD" or status == 204 or status == 304 then
        return ""
    end
    local te = lower(headers["transfer-encoding"] or "")
    if te ~= "" and te ~= "identity" then
        if not find(te, "chunked", 1, true) then
            return nil, make_error("NetworkError", "unsupported transfer-encoding "
                .. excerpt(te, 64))
        end
        return read_chunked_body(r)
    end
    if headers["content-length"] then
        return read_length_body(r, headers["content-length"])
    end
    local body, err = read_close_body(r)
    return body, body and true or err
end


-- Layers --------------------------------------------------------------------

-- A connection (pooled, or new with its TLS handshake done): sock, reused | nil, err
local function connect(s, u, deadline, conn_ms)
    local sock = s.tcp()
    local ms = remaining_ms(deadline) or 1
    sock:settimeouts(min(conn_ms, ms), ms, ms)
    local host, port = u.host, u.port
    local addr = host == "localhost" and "127.0.0.1" or (u.ipv6 and "[" .. host .. "]" or host)
    local pool = u.scheme .. "://" .. host .. ":" .. port
    local ok, err = sock:connect(addr, port, { pool = pool, pool_size = s.pool_size })
    if not ok then
        if err == "timeout" then
            return nil, make_error("Timeout", "connecting to " .. host .. ":" .. port
                .. " timed out")
        end
        return nil, make_error("NetworkError", "cannot connect to " .. host .. ":"
            .. port .. ": " .. tostring(err))
    end
    local reused = (sock:getreusedtimes() or 0) > 0
    if u.scheme ~= "https" or reused then
        return sock, reused
    end
    local session, herr = sock:sslhandshake(nil, host, true)
    if session then
        return sock, false
    end
    sock:close()
    if herr == "timeout" then
        return nil, make_error("Timeout", "TLS handshake with " .. host .. " timed out")
    end
    local hint = ""
    if find(tostring(herr), "verify", 1, true) then
        hint = " (the server's CA must be in nginx's lua_ssl_trusted_certificate file)"
    end
    return nil, make_error("TLSError", "TLS handshake with " .. host .. " failed: "
        .. tostring(herr) .. hint)
end


-- true | nil, err, raw_err
local function send_request(sock, wire, deadline)
    if not arm(sock, deadline) then
        return nil, make_error("Timeout", "request timed out before it was sent"), "timeout"
    end
    local sent, err = sock:send(wire)
    if not sent then
        return nil, io_error(err, "sending request"), err
    end
    return true
end


-- One response (1xx ones skipped).  res, reusable | nil, err, closed_before_status
local function read_response(sock, deadline, method, s)
    local r = { sock = sock, deadline = deadline, buf = "", pos = 1,
                head_left = s.max_head, s = s }
    local status, version, headers, err
    repeat
        local raw
        status, version, raw = read_status_line(r)
        if not status then
            return nil, version, raw == "closed" and headers == nil
        end
        headers, err = read_headers(r)
        if not headers then
            return nil, err
        end
    until status >= 200 or status == 101

    local body, until_close = read_body(r, method, status, headers)
    if not body then
        return nil, until_close
    end
    local connection = lower(headers.connection or "")
    -- bytes past the answer: nothing asked for them, the stream is not sound
    local reusable = version >= 11 and not until_close and r.pos > #r.buf
        and not find(connection, "close", 1, true)
    return { status = status, headers = headers, body = body }, reusable
end


-- One attempt on one connection: res | nil, err, retry_on_a_fresh_connection
local function attempt(s, u, wire, method, deadline, conn_ms)
    local sock, reused = connect(s, u, deadline, conn_ms)
    if not sock then
        return nil, reused
    end
    local ok, serr, sraw = send_request(sock, wire, deadline)
    if not ok then
        sock:close()
        -- a pooled connection the server already closed: try a fresh one
        return nil, serr, reused and sraw ~= "timeout"
    end
    local res, rerr, closed_early = read_response(sock, deadline, method, s)
    if not res then
        sock:close()
        return nil, rerr, reused and closed_early
    end
    if rerr then
        sock:setkeepalive(s.idle_ms, s.pool_size)
    else
        sock:close()
    end
    return res
end


-- The transport function's body (level: its own, for misuse).
local function request(s, req, level)
    check_phase("transport", level)
    if type(req) ~= "table" then
        misuse("expected a request table", level)
    end
    if type(req.url) ~= "string" then
        misuse("url: expected a string", level)
    end
    local u, uerr = parse_url(req.url)
    if not u then
        misuse("url: " .. uerr .. ": " .. excerpt(req.url), level)
    end
    local wire, method = build_request(req, u, level + 1)
    local timeout = seconds_opt(req, "timeout", s.timeout, level + 1)
    local conn_ms = to_ms(seconds_opt(req, "connect_timeout", s.connect_timeout, level + 1))
    ngx.update_time()
    local deadline = ngx.now() + timeout

    local res, err, retry = attempt(s, u, wire, method, deadline, conn_ms)
    if not res and retry then
        res, err = attempt(s, u, wire, method, deadline, conn_ms)
    end
    if not res then
        return nil, err
    end
    return res
end


--- Makes a transport function for acmpca.client.
-- opts: timeout, connect_timeout, keepalive_timeout (seconds), pool_size,
-- max_body; each defaults to core.transport_defaults.  Raises when
-- cosockets are not usable here.
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
    local s = read_settings(opts, 3)
    return function(req)
        local res, err = request(s, req, 3)   -- not a tail call: keeps the levels
        return res, err
    end
end


--- ngx.sleep where it is allowed (for the client's retry backoff).
function _M.sleep(seconds)
    return ngx.sleep(seconds)
end


return _M
