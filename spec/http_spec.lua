-- The built-in libcurl transport (core.http_new and client:_send) against a
-- tiny local HTTP/1.1 server (spec/support/http_server.py) on 127.0.0.1,
-- port picked at runtime, stopped by PID.

local core = require "acmpca.core"
local client = require "acmpca.client"
local cjson = require "cjson"
local socket = require "socket"

local PYTHON = "/usr/bin/python3"


-- Start the server (default spec/support/http_server.py); returns { url =, pid = }.
local function start_server(script)
    local out = os.tmpname()
    local cmd = string.format("%s %s >%s 2>&1 & echo $!",
                              PYTHON, script or "spec/support/http_server.py", out)
    local p = assert(io.popen(cmd))
    local pid = assert(tonumber(p:read("*l")), "no pid")
    p:close()
    local port
    for _ = 1, 500 do
        local f = io.open(out)
        local line = f and f:read("*l")
        if f then f:close() end
        port = line and tonumber(line:match("^(%d+)$"))
        if port then break end
        core.sleep(0.01)
    end
    os.remove(out)
    assert(port, "http_server.py did not report its port")
    return { url = "http://127.0.0.1:" .. port, pid = pid }
end


local function stop_server(srv)
    if srv then
        os.execute("kill " .. srv.pid .. " 2>/dev/null")
    end
end


-- A server answering with raw header lines that http_server.py cannot
-- produce: obs-fold continuations (/), N repeated and N folded lines
-- (/repeat/N), N tiny fields (/many/N), N tiny folded lines (/folds/N),
-- one field of N bytes (/long/N), N fields of W bytes (/wide/N/W).
local RAW_SERVER = [=[
import socket, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
def head(path):
    parts = path.split("/")
    if parts[1] == "repeat":
        n = int(parts[2])
        return b"X-Rep: ab\r\n" * n + b"X-Fold: start\r\n" + b" more\r\n" * n
    if parts[1] == "many":
        return b"a: b\r\n" * int(parts[2])
    if parts[1] == "folds":
        return b"a: b\r\n" + b" c\r\n" * int(parts[2])
    if parts[1] == "long":
        return b"X-Long: " + b"x" * int(parts[2]) + b"\r\n"
    if parts[1] == "wide":
        return (b"X-W: " + b"w" * int(parts[3]) + b"\r\n") * int(parts[2])
    return (b"X-Fold: first\r\n \t second  \r\n\tthird\r\n"
            b"X-Multi: a\r\nX-Multi: b\r\n  b2\r\n"
            b"X-Empty:\r\n  later\r\n")
def serve(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(65536)
        if not d:
            return
        data += d
    path = data.split(b" ")[1].decode()
    try:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
                  + head(path) + b"\r\nok")
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
]=]


-- A port nobody listens on: bind port 0, note it, close.
local function free_port()
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    return port
end


describe("acmpca.core http", function()
    local srv

    lazy_setup(function()
        srv = start_server()
    end)

    lazy_teardown(function()
        stop_server(srv)
    end)


    describe("http_new", function()
        it("makes an object with request and close", function()
            local h = core.http_new{ timeout = 5, connect_timeout = 2 }
            assert.matches("^acmpca.http %(open%)$", tostring(h))
            h:close()
            h:close()   -- idempotent
            assert.matches("closed", tostring(h))
        end)

        it("rejects bad options", function()
            assert.has_error(function() core.http_new{ timeout = -1 } end,
                "bad argument #1 to 'http_new' (timeout: expected seconds in (0, 86400])")
            assert.has_error(function() core.http_new{ timeout = "x" } end,
                "bad argument #1 to 'http_new' (timeout: expected a number of seconds)")
            assert.has_error(function() core.http_new{ ca_file = 1 } end,
                "bad argument #1 to 'http_new' (ca_file: expected a string)")
            -- curl would read the file named by the bytes before the NUL
            assert.has_error(function() core.http_new{ ca_file = "spec/http_spec.lua\0x" } end,
                "bad argument #1 to 'http_new' (ca_file: contains NUL)")
        end)

        it("refuses requests once closed", function()
            local h = core.http_new()
            h:close()
            assert.has_error(function() h:request{ url = srv.url .. "/echo" } end)
        end)
    end)


    describe("request", function()
        local h

        before_each(function()
            h = core.http_new{ timeout = 5, connect_timeout = 2 }
        end)

        after_each(function()
            h:close()
        end)

        it("POSTs the body and headers and returns status, headers and body", function()
            local res, err = h:request{
                method = "POST", url = srv.url .. "/echo?x=1",
                headers = { ["Content-Type"] = "application/x-amz-json-1.1",
                            ["X-Amz-Target"] = "ACMPrivateCA.ListPermissions",
                            ["X-Empty"] = "" },
                body = '{"a":1}',
            }
            assert.is_nil(err)
            assert.equals(200, res.status)
            local echo = cjson.decode(res.body)
            assert.equals("POST", echo.method)
            assert.equals("/echo?x=1", echo.path)
            assert.equals('{"a":1}', echo.body)
            assert.equals("application/x-amz-json-1.1", echo.headers["content-type"])
            assert.equals("ACMPrivateCA.ListPermissions", echo.headers["x-amz-target"])
            assert.equals("", echo.headers["x-empty"])
            assert.equals("7", echo.headers["content-length"])
            assert.is_nil(echo.headers["expect"])
            -- response header names are lower-case, repeated ones joined
            assert.equals("req-1", res.headers["x-amzn-requestid"])
            assert.equals("a, b", res.headers["x-multi"])
            assert.equals("application/json", res.headers["content-type"])
        end)

        it("supports GET, PUT, DELETE and HEAD on the same handle", function()
            for _, m in ipairs{ "PUT", "GET", "DELETE", "POST", "GET" } do
                local res = assert(h:request{ method = m, url = srv.url .. "/echo",
                                              body = m == "GET" and nil or "b" })
                local echo = cjson.decode(res.body)
                assert.equals(m, echo.method)
                if m ~= "GET" then
                    assert.equals("b", echo.body)
                    -- curl's form content type is not invented for a bare body
                    assert.is_nil(echo.headers["content-type"])
                end
            end
            local res = assert(h:request{ method = "HEAD", url = srv.url .. "/echo" })
            assert.equals(200, res.status)
            assert.equals("", res.body)
            res = assert(h:request{ url = srv.url .. "/echo" })   -- GET by default
            assert.equals("GET", cjson.decode(res.body).method)
        end)

        it("sends number header values as text, whatever the GC does meanwhile", function()
            local headers = { ["X-Str"] = "s" }
            for i = 1, 20 do
                headers["X-Num-" .. i] = i * 1000 + 0.5
            end
            collectgarbage()
            local echo = cjson.decode(assert(h:request{ method = "POST", url = srv.url .. "/echo",
                                                        headers = headers, body = "" }).body)
            assert.equals("s", echo.headers["x-str"])
            for i = 1, 20 do
                assert.equals(tostring(i * 1000 + 0.5), echo.headers["x-num-" .. i])
            end
        end)

        it("refuses more than 32 request headers", function()
            local headers = {}
            for i = 1, 33 do
                headers["X-H" .. i] = "v"
            end
            assert.has_error(function() h:request{ url = srv.url, headers = headers } end,
                "bad argument #1 to 'request' (headers: more than 32 headers)")
            headers["X-H33"] = nil
            local res = assert(h:request{ url = srv.url .. "/echo", headers = headers })
            assert.equals(200, res.status)
        end)

        it("sends a body larger than 1 KiB without Expect: 100-continue", function()
            local big = string.rep("z", 5000)
            local res = assert(h:request{ method = "POST", url = srv.url .. "/echo", body = big })
            local echo = cjson.decode(res.body)
            assert.equals(big, echo.body)
            assert.is_nil(echo.headers["expect"])
        end)

        it("returns non-2xx statuses as responses, not errors", function()
            local res, err = h:request{ method = "POST", url = srv.url .. "/status/503", body = "" }
            assert.is_nil(err)
            assert.equals(503, res.status)
            assert.equals('{"__type": "Status503"}', res.body)
        end)

        it("keeps the connection alive across calls", function()
            local ports = {}
            for i = 1, 5 do
                local res = assert(h:request{ method = "POST", url = srv.url .. "/echo",
                                              body = tostring(i) })
                ports[i] = cjson.decode(res.body).peer_port
            end
            for i = 2, 5 do
                assert.equals(ports[1], ports[i])
            end
        end)

        it("reconnects after the server closed the connection", function()
            local a = cjson.decode(assert(h:request{ url = srv.url .. "/close" }).body)
            local b = cjson.decode(assert(h:request{ url = srv.url .. "/echo" }).body)
            assert.not_equals(a.peer_port, b.peer_port)
        end)

        it("times out with a retryable Timeout error", function()
            local res, err = h:request{ url = srv.url .. "/slow?ms=3000", timeout = 0.2 }
            assert.is_nil(res)
            assert.equals("Timeout", err.code)
            assert.is_true(err.retryable)
            assert.matches("^Timeout: .*timed out", tostring(err))
            -- the handle still works afterwards
            assert.equals(200, assert(h:request{ url = srv.url .. "/echo" }).status)
        end)

        it("reports a refused connection as a retryable NetworkError", function()
            local port = free_port()
            local res, err = h:request{ url = "http://127.0.0.1:" .. port .. "/" }
            assert.is_nil(res)
            assert.equals("NetworkError", err.code)
            assert.is_true(err.retryable)
            assert.matches("127.0.0.1", err.message)
        end)

        it("reports a TLS failure as TLSError (plain HTTP server, https URL)", function()
            local res, err = h:request{ url = (srv.url:gsub("^http:", "https:")) .. "/echo" }
            assert.is_nil(res)
            assert.equals("TLSError", err.code)
            assert.is_false(err.retryable)
        end)

        it("rejects a response body over the size limit", function()
            local res, err = h:request{ url = srv.url .. "/big?n=" .. (9 * 1024 * 1024) }
            assert.is_nil(res)
            assert.equals("ResponseTooLarge", err.code)
            assert.equals("response body larger than 8388608 bytes", err.message)
            assert.is_false(err.retryable)
            assert.equals(200, assert(h:request{ url = srv.url .. "/big?n=10" }).status)
        end)

        it("joins an obs-fold continuation to its field with one space", function()
            local script = os.tmpname()
            local f = assert(io.open(script, "w"))
            f:write(RAW_SERVER)
            f:close()
            local raw = start_server(script)
            local ok_, res = pcall(h.request, h, { url = raw.url .. "/" })
            stop_server(raw)
            os.remove(script)
            assert(ok_, res)
            assert.equals(200, res.status)
            assert.equals("first second third", res.headers["x-fold"])
            assert.equals("a, b b2", res.headers["x-multi"])
            assert.equals("later", res.headers["x-empty"])
            assert.equals("ok", res.body)
        end)

        it("keeps url, method and body alive while the request runs", function()
            -- fresh strings from an __index are referenced by nothing but
            -- the C stack; reading headers runs a GC and reuses freed blocks
            local path = "/echo?" .. ("p"):rep(100)
            local body = ("b"):rep(300) .. "!"
            local keep = {}
            local req = setmetatable({}, { __index = function(_, k)
                if k == "url" then
                    return srv.url .. path .. tostring(#keep)
                elseif k == "method" then
                    return ("put"):upper()
                elseif k == "body" then
                    return body:sub(1, -2) .. "!"
                elseif k == "headers" then
                    collectgarbage()
                    collectgarbage()
                    for i = 1, 300 do
                        keep[#keep + 1] = ("Z"):rep(300) .. i
                        keep[#keep + 1] = ("Y"):rep(120) .. i
                    end
                end
                return nil
            end })
            local echo = cjson.decode(assert(h:request(req)).body)
            assert.equals(path .. "0", echo.path)
            assert.equals("PUT", echo.method)
            assert.equals(body, echo.body)
        end)

        it("rejects malformed requests", function()
            assert.has_error(function() h:request{} end,
                "bad argument #1 to 'request' (url: expected a string)")
            assert.has_error(function() h:request{ url = srv.url, method = "GE T" } end,
                "bad argument #1 to 'request' (method: not an HTTP method)")
            assert.has_error(function() h:request{ url = srv.url, body = {} } end,
                "bad argument #1 to 'request' (body: expected a string)")
            assert.has_error(function()
                h:request{ url = srv.url, headers = { ["X-A"] = "a\r\nX-B: b" } }
            end, "bad argument #1 to 'request' (headers: invalid header name or value for X-A)")
            assert.has_error(function()
                h:request{ url = srv.url, headers = { ["Bad Name"] = "v" } }
            end, "bad argument #1 to 'request' (headers: invalid header name or value "
                 .. "for Bad Name)")
            assert.has_error(function()
                h:request{ url = srv.url, headers = { [1] = "v" } }
            end, "bad argument #1 to 'request' (headers: names and values must be strings)")
        end)
    end)


    describe("response headers", function()
        local h, raw, script

        lazy_setup(function()
            script = os.tmpname()
            local f = assert(io.open(script, "w"))
            f:write(RAW_SERVER)
            f:close()
            raw = start_server(script)
        end)

        lazy_teardown(function()
            stop_server(raw)
            os.remove(script)
        end)

        before_each(function()
            h = core.http_new{ timeout = 5, connect_timeout = 2 }
        end)

        after_each(function()
            h:close()
        end)

        it("joins thousands of repeated and folded lines in one pass", function()
            local n = 990   -- 2n + 1 lines, + 4: just under the 2000-line bound
            collectgarbage()
            collectgarbage("stop")
            local before = collectgarbage("count")
            local ok, res, err = pcall(h.request, h, { url = raw.url .. "/repeat/" .. n })
            local grown = collectgarbage("count") - before
            collectgarbage("restart")
            assert(ok, res)
            assert.is_nil(err)
            -- Lua memory allocated with the collector stopped: the two
            -- joined values (~9 KiB) and the tables; joining by repeated
            -- concatenation would allocate every prefix of both (~4.4 MiB).
            assert.is_true(grown < 1024, ("allocated %.0f KiB"):format(grown))
            assert.equals(("ab, "):rep(n - 1) .. "ab", res.headers["x-rep"])
            assert.equals("start" .. (" more"):rep(n), res.headers["x-fold"])
            assert.equals("ok", res.body)
        end)

        -- the status line, Content-Length, Connection and the blank line are 4
        -- of the 2000 lines
        it("accepts the largest header block of tiny fields, in linear time", function()
            for _, path in ipairs{ "/many/1996", "/folds/1995" } do
                local t0 = os.clock()
                local res = assert(h:request{ url = raw.url .. path })
                local cpu = os.clock() - t0
                -- generous: a join by repeated copying of 2000 prefixes is
                -- still fast at this size; the bound catches the seconds
                -- of the old quadratic path, never a slow machine
                assert.is_true(cpu < 2, ("%s took %.2f s of CPU"):format(path, cpu))
                if path == "/many/1996" then
                    assert.equals(("b, "):rep(1995) .. "b", res.headers.a)
                else
                    assert.equals("b" .. (" c"):rep(1995), res.headers.a)
                end
            end
        end)

        it("refuses more than 2000 header lines", function()
            for _, path in ipairs{ "/many/1997", "/folds/1996", "/many/50000" } do
                local res, err = h:request{ url = raw.url .. path }
                assert.is_nil(res, path)
                assert.equals("ResponseTooLarge", err.code)
                assert.equals("response has more than 2000 header lines", err.message)
                assert.is_false(err.retryable)
            end
            assert.equals(200, assert(h:request{ url = raw.url .. "/repeat/1" }).status)
        end)

        it("accepts a header block just under max_header_bytes", function()
            -- 1000 lines of 64 bytes (+ the 3 others, ~62 KB)
            local res = assert(h:request{ url = raw.url .. "/wide/1000/57" })
            assert.equals(#("w"):rep(57) * 1000 + 2 * 999, #res.headers["x-w"])
        end)

        it("refuses a header block larger than max_header_bytes", function()
            -- 72,000 bytes in 1,000 lines; one 70,000-byte line; one line past
            -- libcurl's own 100 KiB bound; 300 KB of lines (once seconds of CPU)
            for _, path in ipairs{ "/wide/1000/65", "/long/70000", "/long/200000",
                                   "/wide/1900/160" } do
                local res, err = h:request{ url = raw.url .. path }
                assert.is_nil(res, path)
                assert.equals("ResponseTooLarge", err.code, path)
                assert.equals("response headers larger than 65536 bytes", err.message, path)
                assert.is_false(err.retryable)
            end
            assert.equals(200, assert(h:request{ url = raw.url .. "/repeat/1" }).status)
        end)
    end)


    describe("transport_defaults", function()
        local FIGURES = { timeout = 30, connect_timeout = 10, max_body = 8 * 1024 * 1024,
                          max_header_bytes = 64 * 1024, max_header_lines = 2000,
                          keepalive_timeout = 60,
                          pool_size = 32 }

        it("are the documented figures", function()
            local d = core.transport_defaults
            for k, v in pairs(FIGURES) do
                assert.equals(v, d[k], k)
            end
            assert.is_nil(d.nothing)
            assert.is_nil(d[1])
            assert.same(FIGURES, d())
        end)

        it("cannot be changed from Lua", function()
            local d = core.transport_defaults
            assert.has_error(function() d.timeout = 1 end,
                "acmpca.core.transport_defaults: read-only (the defaults are http.h's;"
                .. " pass options to the transport instead)")
            assert.has_error(function() d.extra = 1 end)
            assert.has_error(function() rawset(d, "timeout", 1) end)
            assert.is_false(getmetatable(d))
            local copy = d()
            copy.timeout = 1
            copy.max_body = 1
            assert.equals(30, d.timeout)
            assert.same(FIGURES, core.transport_defaults())
            assert.matches("^acmpca.core.transport_defaults$", tostring(d))
        end)

        it("bound the libcurl transport's body at max_body exactly", function()
            local h = core.http_new{ timeout = 5 }
            local max = core.transport_defaults.max_body
            local res = assert(h:request{ url = srv.url .. "/big?n=" .. max })
            assert.equals(max, #res.body)
            local none, err = h:request{ url = srv.url .. "/big?n=" .. (max + 1) }
            assert.is_nil(none)
            assert.equals("response body larger than " .. max .. " bytes", err.message)
            assert.is_false(err.retryable)
            h:close()
        end)
    end)


    describe("client transport", function()
        local ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/abc"
        local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "SECRETKEY" }

        it("sends the signed request over one kept-alive connection", function()
            local c = client.new{ endpoint = srv.url, region = "us-east-1",
                                  credentials = CREDS, timeout = 5 }
            local st = c:_state()
            assert.is_nil(st.transport)   -- the built-in libcurl transport
            local ports, echo = {}, nil
            for i = 1, 3 do
                local req = assert(c:_prepare("list_permissions", { ca_arn = ARN }, CREDS))
                local res = assert(c:_send(req))
                echo = cjson.decode(res.body)
                ports[i] = echo.peer_port
            end
            assert.equals(ports[1], ports[2])
            assert.equals(ports[1], ports[3])
            assert.equals("POST", echo.method)
            assert.equals("/", echo.path)
            assert.equals("ACMPrivateCA.ListPermissions", echo.headers["x-amz-target"])
            assert.equals(srv.url:match("//(.*)"), echo.headers["host"])
            assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/",
                           echo.headers["authorization"])
            assert.same({ CertificateAuthorityArn = ARN }, cjson.decode(echo.body))
            c:close()
        end)

        it("maps a refused connection to NetworkError and retries it", function()
            local sleeps = {}
            local c = client.new{ endpoint = "http://127.0.0.1:" .. free_port(),
                                  region = "us-east-1", credentials = CREDS,
                                  sleep = function(s) sleeps[#sleeps + 1] = s end }
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals("NetworkError", err.code)
            assert.equals("ListPermissions", err.operation)
            assert.equals(3, err.attempts)
            assert.equals(2, #sleeps)
            c:close()
        end)

        it("maps a slow answer to Timeout", function()
            local c = client.new{ endpoint = srv.url .. "/slow", region = "us-east-1",
                                  credentials = CREDS, timeout = 0.2, max_attempts = 1 }
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals("Timeout", err.code)
            c:close()
        end)
    end)
end)
