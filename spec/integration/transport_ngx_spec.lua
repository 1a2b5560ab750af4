-- acmpca.transport.ngx inside a real nginx (Debian's nginx-light +
-- ngx_http_lua, LuaJIT) on a test bench.  Tagged #nginx: spec/run.sh runs
-- it in the LuaJIT pass only.

local F = require "support.nginx_fixture"
local nginx = F.nginx
local fake = F.fake
local socket = F.socket
local format = F.format
local ARN = F.ARN
local PRELUDE = F.PRELUDE


describe("acmpca.transport.ngx #nginx", function()
    local bench

    local function run(code, timeout)
        local p = bench.ports
        local out = nginx.eval(bench, format(PRELUDE, p.plain, p.tls, p.untrusted, p.main)
            .. code, timeout)
        assert.is_nil(out.raised)
        return out.result
    end

    local function raised(code)
        local p = bench.ports
        local out = nginx.eval(bench, format(PRELUDE, p.plain, p.tls, p.untrusted, p.main)
            .. code)
        return out.raised
    end

    lazy_setup(function()
        bench = nginx.start_bench()
    end)

    lazy_teardown(function()
        if bench then
            bench:stop()
        end
    end)

    describe("available", function()
        it("is false outside nginx, with a reason", function()
            local t = require "acmpca.transport.ngx"
            local ok, why = t.available()
            assert.is_false(ok)
            assert.matches("not running inside nginx", why)
        end)

        it("is true in the content phase", function()
            assert.same({ true }, run("return { T.available() }"))
        end)

        it("is false in init_by_lua, with the phase named", function()
            local res = nginx.request(bench.ports.main, { path = "/init" })
            assert.is_false(res.json.available)
            assert.matches("not allowed in the 'init' phase", res.json.why)
        end)
    end)

    describe("new", function()
        it("raises outside nginx", function()
            local t = require "acmpca.transport.ngx"
            assert.has_error(function() t.new() end,
                "acmpca.transport.ngx: new: not running inside nginx with the Lua module;"
                .. " create and use the client lazily in a request handler or an ngx.timer"
                .. " callback, never in init_by_lua, set_by_lua, header/body filters or"
                .. " log_by_lua")
        end)

        it("raises in init_by_lua instead of blocking", function()
            local res = nginx.request(bench.ports.main, { path = "/init" })
            assert.is_false(res.json.ok)
            assert.matches("acmpca.transport.ngx: new: nginx cosockets are not allowed in"
                .. " the 'init' phase", res.json.err, 1, true)
        end)

        it("raises in set_by_lua", function()
            local res = nginx.request(bench.ports.main, { path = "/set" })
            assert.matches("cosockets are not allowed in the 'set' phase", res.body, 1, true)
        end)

        it("raises in header_filter_by_lua", function()
            local res = nginx.request(bench.ports.main, { path = "/header_filter" })
            assert.matches("cosockets are not allowed in the 'header_filter' phase",
                res.headers["x-raised"], 1, true)
        end)

        it("raises in log_by_lua", function()
            nginx.request(bench.ports.main, { path = "/log" })
            local log
            for _ = 1, 40 do
                log = bench:error_log():match("LOGPHASE: ([^\n]*)")
                if log then break end
                socket.sleep(0.05)
            end
            assert.matches("cosockets are not allowed in the 'log' phase", log, 1, true)
        end)

        it("refuses ca_file and points at lua_ssl_trusted_certificate", function()
            local msg = raised("T.new{ ca_file = '/tmp/ca.pem' }")
            assert.matches("ca_file cannot be set per connection with ngx_lua; trust the CA"
                .. " with the `lua_ssl_trusted_certificate <file>;` directive", msg, 1, true)
        end)

        it("refuses turning certificate verification off", function()
            assert.matches("TLS certificate verification cannot be turned off",
                raised("T.new{ ssl_verify = false }"), 1, true)
        end)

        it("refuses bad timeouts", function()
            assert.matches("timeout: expected a positive number of seconds, got -1",
                raised("T.new{ timeout = -1 }"), 1, true)
            assert.matches("connect_timeout: expected a positive number of seconds, got x",
                raised("T.new{ connect_timeout = 'x' }"), 1, true)
            assert.matches("pool_size: expected a positive integer",
                raised("T.new{ pool_size = 0.5 }"), 1, true)
        end)
    end)

    describe("transport", function()
        -- A bad request raises and opens no socket.
        local function refused(req_code)
            return run(format([[
                local opened = 0
                local real = ngx.socket.tcp
                ngx.socket.tcp = function() opened = opened + 1; return real() end
                local t = T.new()
                ngx.socket.tcp = real
                local ok, err = pcall(t, %s)
                return { ok = ok, err = tostring(err), opened = opened }
            ]], req_code))
        end

        it("reads a Content-Length body and keeps headers in lower case", function()
            local res = run([[
                local t = T.new()
                local res, err = t{ url = "http://127.0.0.1:" .. P.plain .. "/cl?n=5" }
                return { res = res, err = E(err) }
            ]])
            assert.is_nil(res.err)
            assert.equal(200, res.res.status)
            assert.equal("xxxxx", res.res.body)
            assert.equal("5", res.res.headers["content-length"])
            assert.equal("a, b", res.res.headers["x-multi"])
        end)

        it("reads a chunked body", function()
            local res = run([[
                local res, err = T.new(){ url = "http://127.0.0.1:" .. P.plain .. "/chunked" }
                return { status = res.status, te = res.headers["transfer-encoding"],
                         body = res.body, err = E(err) }
            ]])
            assert.equal("chunked", res.te)
            local want = {}
            for i = 1, 5 do want[i] = string.rep(tostring(i), i * 1000) end
            assert.equal(table.concat(want), res.body)
        end)

        it("reads a body delimited by the connection closing", function()
            local res = run([[
                return T.new(){ url = "http://127.0.0.1:" .. P.plain .. "/noframing" }
            ]])
            assert.equal("until close", res.body)
        end)

        it("sends method, path, Host, Content-Length, keep-alive and the headers", function()
            local res = run([[
                local res = T.new(){ method = "POST",
                    url = "http://127.0.0.1:" .. P.plain .. "/echo?status=418",
                    headers = { ["X-Amz-Target"] = "ACMPrivateCA.ListPermissions",
                                ["Content-Length"] = "999" },
                    body = '{"a":1}' }
                res.echo = require("cjson").decode(res.body)
                return res
            ]])
            assert.equal(418, res.status)
            assert.same({
                method = "POST", uri = "/echo?status=418", proto = "HTTP/1.1",
                host = "127.0.0.1:" .. bench.ports.plain, ["content-length"] = "7",
                connection = "keep-alive", ["x-amz-target"] = "ACMPrivateCA.ListPermissions",
                body = '{"a":1}',
            }, res.echo)
        end)

        it("sends the caller's Host header (the signed one) unchanged", function()
            local res = run([[
                local res = T.new(){ url = "http://127.0.0.1:" .. P.plain .. "/echo",
                                     headers = { Host = "acm-pca.example:8443" } }
                return require("cjson").decode(res.body)
            ]])
            assert.equal("acm-pca.example:8443", res.host)
        end)

        it("reuses the connection through the keepalive pool", function()
            local res = run([[
                local t = T.new()
                local out = {}
                for i = 1, 3 do
                    out[i] = t{ url = "http://127.0.0.1:" .. P.plain .. "/conn" }.body
                end
                return out
            ]])
            -- the pool is per worker: the first call may reuse an older connection
            local conn, n = res[1]:match("^(%d+) (%d+)$")
            n = tonumber(n)
            assert.same({ conn .. " " .. n, conn .. " " .. n + 1, conn .. " " .. n + 2 }, res)
        end)

        it("does not reuse a connection the server closes", function()
            local res = run([[
                local t = T.new()
                local a = t{ url = "http://127.0.0.1:" .. P.plain .. "/close" }
                local b = t{ url = "http://127.0.0.1:" .. P.plain .. "/conn" }
                local c = t{ url = "http://127.0.0.1:" .. P.plain .. "/close" }
                return { a.body, a.headers.connection, b.body, c.body }
            ]])
            assert.equal("closed", res[1])
            assert.equal("close", res[2])
            assert.matches("^%d+ 1$", res[3])
            assert.equal("closed", res[4])
        end)

        it("verifies the certificate against lua_ssl_trusted_certificate", function()
            local res = run([[
                local t = T.new()
                local out = {}
                for i = 1, 2 do
                    local res, err = t{ url = "https://localhost:" .. P.tls .. "/conn" }
                    out[i] = res and res.body or E(err)
                end
                return out
            ]])
            local conn, n = res[1]:match("^(%d+) (%d+)$")
            assert.equal(conn .. " " .. tonumber(n) + 1, res[2])
        end)

        it("fails with TLSError for an untrusted certificate", function()
            local res = run([[
                local res, err = T.new(){ url = "https://localhost:" .. P.untrusted .. "/" }
                return { res = res, err = E(err) }
            ]])
            assert.is_nil(res.res)
            assert.equal("TLSError", res.err.code)
            assert.matches("TLS handshake with localhost failed: .*unable to verify",
                res.err.message)
            assert.matches("lua_ssl_trusted_certificate", res.err.message, 1, true)
        end)

        it("fails with TLSError when the host name does not match", function()
            local res = run([[
                local res, err = T.new(){ url = "https://127.0.0.1:" .. P.tls .. "/" }
                return { res = res, err = E(err) }
            ]])
            assert.is_nil(res.res)
            assert.equal("TLSError", res.err.code)
            assert.matches("certificate host mismatch", res.err.message, 1, true)
        end)

        it("times out reading with Timeout", function()
            local res = run([[
                local res, err = T.new{ timeout = 5 }{
                    url = "http://127.0.0.1:" .. P.plain .. "/slow?s=2", timeout = 0.2 }
                return { res = res, err = E(err) }
            ]])
            assert.is_nil(res.res)
            assert.equal("Timeout", res.err.code)
            assert.is_true(res.err.retryable)
            assert.equal("reading response status timed out", res.err.message)
        end)

        it("fails with NetworkError when nothing listens", function()
            local port = nginx.free_port()
            local res = run(format([[
                local res, err = T.new(){ url = "http://127.0.0.1:%d/" }
                return { res = res, err = E(err) }
            ]], port))
            assert.is_nil(res.res)
            assert.equal("NetworkError", res.err.code)
            assert.matches("cannot connect to 127.0.0.1:" .. port .. ": connection refused",
                res.err.message, 1, true)
        end)

        it("raises for a request that is not a table, opening no socket", function()
            local res = refused("'http://x/'")
            assert.is_false(res.ok)
            assert.matches("acmpca.transport.ngx: expected a request table", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for a missing URL, opening no socket", function()
            local res = refused("{ method = 'GET' }")
            assert.matches("acmpca.transport.ngx: url: expected a string", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for an unsupported scheme, opening no socket", function()
            local res = refused("{ url = 'ftp://127.0.0.1/' }")
            assert.matches("url: unsupported scheme 'ftp': ftp://127.0.0.1/", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for credentials in the URL, opening no socket", function()
            local res = refused("{ url = 'http://u:p@127.0.0.1/' }")
            assert.matches("url: credentials in the URL are not supported", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for a bad port, opening no socket", function()
            local res = refused("{ url = 'http://127.0.0.1:70000/' }")
            assert.matches("url: bad port", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for a header value with CR/LF, opening no socket", function()
            local res = refused([[{ url = "http://127.0.0.1:" .. P.plain .. "/",
                                    headers = { ["X-A"] = "1\r\nX-Injected: 2" } }]])
            assert.matches("header X-A: value contains CR, LF or NUL", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for CR, LF or NUL anywhere in the URL, opening no socket", function()
            for _, url in ipairs{
                [["http://127.0.0.1:" .. P.plain .. "/a\r\nX-Injected: 1"]],
                [["http://127.0.0.1:" .. P.plain .. "/a HTTP/1.1\r\nHost: evil\r\n\r\nGET /"]],
                [["http://127.0.0.1:" .. P.plain .. "/a?q=1\nX-Injected: 1"]],
                [["http://127.0.0.1:" .. P.plain .. "/a?q=\0"]],
                [["http://127.0.0.1\r\nX-Injected: 1:" .. P.plain .. "/"]],
                [["http://127.0.0.1:" .. P.plain .. "\r\n/"]],
            } do
                local res = refused("{ url = " .. url .. " }")
                assert.is_false(res.ok, url)
                assert.matches("url: contains a space or a control character", res.err, 1, true)
                assert.equal(0, res.opened, url)
            end
        end)

        it("raises for CR or LF in a header name, opening no socket", function()
            local res = refused([[{ url = "http://127.0.0.1:" .. P.plain .. "/",
                                    headers = { ["X-A\r\nX-Injected"] = "1" } }]])
            assert.matches("bad header name X-A", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for a NUL in a header value, opening no socket", function()
            local res = refused([[{ url = "http://127.0.0.1:" .. P.plain .. "/",
                                    headers = { ["X-A"] = "1\0002" } }]])
            assert.matches("header X-A: value contains CR, LF or NUL", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for a bad header name, opening no socket", function()
            local res = refused([[{ url = "http://127.0.0.1:" .. P.plain .. "/",
                                    headers = { ["X A"] = "1" } }]])
            assert.matches("bad header name X A", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for a body that is not a string, opening no socket", function()
            local res = refused([[{ url = "http://127.0.0.1:" .. P.plain .. "/", body = {} }]])
            assert.matches("body: expected a string", res.err, 1, true)
            assert.equal(0, res.opened)
        end)

        it("raises for a bad method, opening no socket", function()
            local res = refused([[{ url = "http://127.0.0.1:" .. P.plain .. "/",
                                    method = "GET / HTTP/1.0\r\n" }]])
            assert.matches("bad method", res.err, 1, true)
            assert.equal(0, res.opened)
        end)
    end)

    describe("hostile responses", function()
        -- One request to /raw?<query> with T.new(<opts>); res and err flattened.
        local function raw(query, opts)
            return run(format([[
                local res, err = T.new(%s){ url = "http://127.0.0.1:" .. P.plain
                    .. "/raw?%s" }
                return { res = res, err = E(err) }
            ]], opts or "", query))
        end

        it("joins thousands of repeated and folded header lines in one pass", function()
            local n = 2500
            local res = run(format([[
                collectgarbage()
                collectgarbage("stop")
                local before = collectgarbage("count")
                local res, err = T.new(){ url = "http://127.0.0.1:" .. P.plain
                    .. "/raw?kind=repeat&n=%d" }
                local grown = collectgarbage("count") - before
                collectgarbage("restart")
                return { rep = res and res.headers["x-rep"], fold = res and res.headers["x-fold"],
                         body = res and res.body, grown = grown, err = E(err) }
            ]], n))
            assert.is_nil(res.err)
            -- Lua memory allocated with the collector stopped: the lines
            -- read and the pieces, linear (~0.5 MiB); joining by repeated
            -- concatenation would allocate every prefix of both values
            -- (~28 MiB).
            assert.is_true(res.grown < 4096, format("allocated %.0f KiB", res.grown))
            assert.equal("ok", res.body)
            assert.equal(("ab, "):rep(n - 1) .. "ab", res.rep)
            assert.equal("start" .. (" more"):rep(n), res.fold)
        end)

        it("joins an obs-fold continuation to its field with one space", function()
            local res = raw("kind=fold")
            assert.is_nil(res.err)
            assert.equal("first second third", res.res.headers["x-fold"])
            assert.equal("a, b b2", res.res.headers["x-multi"])
            assert.equal("later", res.res.headers["x-empty"])
            assert.equal("ok", res.res.body)
        end)

        it("refuses a header block larger than max_header_bytes", function()
            local res = raw("kind=many&n=12000")     -- 72,000 bytes of "a: b" lines
            assert.is_nil(res.res)
            assert.equal("ResponseTooLarge", res.err.code)
            assert.equal("response headers larger than 65536 bytes", res.err.message)
            assert.is_false(res.err.retryable)
        end)

        it("accepts a header block just under max_header_bytes", function()
            local res = raw("kind=many&n=10000")     -- 60,000 bytes
            assert.is_nil(res.err)
            assert.equal(("b, "):rep(9999) .. "b", res.res.headers.a)
        end)

        it("refuses one header line longer than the header block may be", function()
            local res = raw("kind=longline&n=100000")
            assert.is_nil(res.res)
            assert.equal("ResponseTooLarge", res.err.code)
            assert.equal("response headers larger than 65536 bytes", res.err.message)
            assert.is_false(res.err.retryable)
        end)

        it("returns nil, err for a chunk size that is not hex", function()
            local res = raw("kind=badchunk")
            assert.is_nil(res.res)
            assert.equal("NetworkError", res.err.code)
            assert.equal("malformed chunk size from server", res.err.message)
        end)

        it("returns nil, err for every malformed chunk size line", function()
            for _, kind in ipairs{ "negchunk", "emptychunk", "hexprefix", "nulchunk" } do
                local res = raw("kind=" .. kind)
                assert.is_nil(res.res, kind)
                assert.equal("NetworkError", res.err.code, kind)
                assert.equal("malformed chunk size from server", res.err.message, kind)
            end
        end)

        it("refuses a chunk larger than max_body before reading it", function()
            local res = raw("kind=hugechunk")
            assert.is_nil(res.res)
            assert.equal("ResponseTooLarge", res.err.code)
            assert.equal("response body larger than 8388608 bytes", res.err.message)
            assert.is_false(res.err.retryable)
        end)

        it("refuses chunk data not followed by CRLF", function()
            local res = raw("kind=nocrlf")
            assert.is_nil(res.res)
            assert.equal("malformed chunked body from server", res.err.message)
        end)

        it("reads chunk extensions and trailers", function()
            local res = raw("kind=chunkext")
            assert.is_nil(res.err)
            assert.equal("abc", res.res.body)
        end)

        it("stops a close-delimited body at max_body while reading it", function()
            -- the server sends 64 KiB and then holds the connection open:
            -- a limit checked only after the close would end in Timeout
            local res = raw("kind=endless", "{ max_body = 4096, timeout = 3 }")
            assert.is_nil(res.res)
            assert.equal("ResponseTooLarge", res.err.code)
            assert.is_false(res.err.retryable)
            assert.equal("response body larger than 4096 bytes", res.err.message)
        end)
    end)

    describe("limits and deadlines against a stand-in outside nginx", function()
        local stub
        local MIB_KIB = 1024

        lazy_setup(function()
            stub = assert(require("support.ngx_stub").start())
        end)

        lazy_teardown(function()
            if stub then
                stub:stop()
            end
        end)

        -- One GET of path on the stub with T.new(opts); the worker's peak
        -- RSS during the call (VmHWM after clear_refs reset it to the
        -- current RSS) and the elapsed seconds come back with the result.
        local function call(path, opts)
            local out = run(format([[
                local function field(name)
                    local f = assert(io.open("/proc/self/status"))
                    local text = f:read("*a")
                    f:close()
                    return tonumber(text:match(name .. ":%%s*(%%d+)"))
                end
                collectgarbage()
                collectgarbage()
                local cr = io.open("/proc/self/clear_refs", "w")
                local reset = cr and cr:write("5") and cr:close() and true or false
                local before = field("VmRSS")
                ngx.update_time()
                local t0 = ngx.now()
                local res, err = T.new(%s){ url = "http://127.0.0.1:%d%s" }
                ngx.update_time()
                return { ok = res ~= nil, err = E(err), elapsed = ngx.now() - t0,
                         reset = reset, before = before, peak = field("VmHWM") }
            ]], opts or "", stub.port, path), 70)
            assert.is_true(out.reset, "cannot reset VmHWM through /proc/self/clear_refs")
            if os.getenv("ACMPCA_NGX_REPORT") then
                io.stderr:write(format("\nNGX %-22s %-60s %6.2f s  RSS %6d KiB  peak %6d KiB\n",
                    path, out.err and out.err.str:sub(1, 60) or "ok", out.elapsed, out.before,
                    out.peak))
            end
            return out
        end

        local function too_large(out, message)
            assert.is_false(out.ok)
            assert.equal("ResponseTooLarge", out.err.code)
            assert.equal(message, out.err.message)
            assert.is_false(out.err.retryable)
        end

        local BODY_MSG = "response body larger than 8388608 bytes"
        local HEAD_MSG = "response headers larger than 65536 bytes"

        it("stops a 200 MiB close-delimited body at 8 MiB, the worker under 100 MiB", function()
            local out = call("/close?n=200")
            too_large(out, BODY_MSG)
            assert.is_true(out.peak < 100 * MIB_KIB, format("peak RSS %d KiB", out.peak))
        end)

        it("refuses a 200 MiB Content-Length before reading it", function()
            local out = call("/length?n=200")
            too_large(out, BODY_MSG)
            assert.is_true(out.peak < 100 * MIB_KIB, format("peak RSS %d KiB", out.peak))
        end)

        it("stops a 200 MiB chunked body at 8 MiB, the worker under 100 MiB", function()
            local out = call("/chunks?n=200")
            too_large(out, BODY_MSG)
            assert.is_true(out.peak < 100 * MIB_KIB, format("peak RSS %d KiB", out.peak))
        end)

        it("stops a header line that never ends at 64 KiB", function()
            local out = call("/line?n=200")
            too_large(out, HEAD_MSG)
            assert.is_true(out.peak < 100 * MIB_KIB, format("peak RSS %d KiB", out.peak))
        end)

        it("stops header lines that never end at 64 KiB", function()
            local out = call("/headers?n=200")
            too_large(out, HEAD_MSG)
            assert.is_true(out.peak < 100 * MIB_KIB, format("peak RSS %d KiB", out.peak))
        end)

        -- one byte a second: every read succeeds, only the attempt's
        -- deadline can end it
        for _, what in ipairs{ "status", "headers", "body", "chunked", "close" } do
            it("ends a one-byte-a-second " .. what .. " with Timeout at the deadline", function()
                local out = call("/drip/" .. what, "{ timeout = 2 }")
                assert.is_false(out.ok)
                assert.equal("Timeout", out.err.code, out.err.str)
                assert.is_true(out.err.retryable)
                assert.is_true(out.elapsed < 4, format("took %.1f s", out.elapsed))
            end)
        end

        it("ends a drip with the request's own timeout", function()
            local out = run(format([[
                ngx.update_time()
                local t0 = ngx.now()
                local res, err = T.new{ timeout = 30 }{
                    url = "http://127.0.0.1:%d/drip/body?interval=0.2", timeout = 1 }
                ngx.update_time()
                return { ok = res ~= nil, err = E(err), elapsed = ngx.now() - t0 }
            ]], stub.port))
            assert.is_false(out.ok)
            assert.equal("Timeout", out.err.code)
            assert.is_true(out.elapsed < 3, format("took %.1f s", out.elapsed))
        end)
    end)

    describe("defaults", function()
        -- The timeouts the first socket of one request is given.
        local function timeouts(new_args)
            return run(format([[
                local real, seen = ngx.socket.tcp, nil
                ngx.socket.tcp = function()
                    local sock = real()
                    local settimeouts = sock.settimeouts
                    sock.settimeouts = function(self, c, s, r)
                        seen = seen or { c, s, r }
                        return settimeouts(self, c, s, r)
                    end
                    return sock
                end
                local t = T.new(%s)
                ngx.socket.tcp = real
                local res, err = t{ url = "http://127.0.0.1:" .. P.plain .. "/cl?n=1" }
                return { seen = seen, err = E(err), status = res and res.status }
            ]], new_args))
        end

        it("are acmpca.core's transport_defaults", function()
            local res = run([[
                local d = require("acmpca.core").transport_defaults
                return { d.timeout, d.connect_timeout, d.max_body, d.max_header_bytes,
                         d.keepalive_timeout, d.pool_size }
            ]])
            assert.same({ 30, 10, 8388608, 65536, 60, 32 }, res)
        end)

        it("give 10 s to connect and 30 s to the whole attempt", function()
            local res = timeouts("")
            assert.equal(200, res.status)
            assert.equal(10000, res.seen[1])
            -- what is left of 30 s when the socket is made
            assert.is_true(res.seen[2] > 29000 and res.seen[2] <= 30000, tostring(res.seen[2]))
            assert.equal(res.seen[2], res.seen[3])
        end)

        it("give way to the options", function()
            local res = timeouts("{ timeout = 5, connect_timeout = 2 }")
            assert.equal(2000, res.seen[1])
            assert.is_true(res.seen[2] > 4000 and res.seen[2] <= 5000, tostring(res.seen[2]))
        end)

        it("allow a body of exactly max_body (8 MiB) and refuse one byte more", function()
            local res = run([[
                local t = T.new()
                local url = "http://127.0.0.1:" .. P.plain .. "/cl?n="
                local ok, oerr = t{ url = url .. 8388608 }
                local _, err = t{ url = url .. 8388609 }
                return { len = ok and #ok.body, oerr = E(oerr), err = E(err) }
            ]])
            assert.is_nil(res.oerr)
            assert.equal(8388608, res.len)
            assert.equal("ResponseTooLarge", res.err.code)
            assert.equal("response body larger than 8388608 bytes", res.err.message)
            assert.is_false(res.err.retryable)
        end)

        it("refuses a bad max_body", function()
            assert.matches("max_body: expected a positive integer",
                raised("T.new{ max_body = -1 }"), 1, true)
        end)
    end)

    describe("inside nginx's LuaJIT", function()
        it("loads the LuaJIT build of acmpca.core", function()
            local res = run([[
                local core = require "acmpca.core"
                return { version = core._VERSION, jit = jit and jit.version,
                         file = package.searchpath("acmpca.core", package.cpath) }
            ]])
            assert.matches("^LuaJIT", res.jit)
            assert.matches("/build/jit/acmpca/core%.so$", res.file)
            assert.equal("0.2.0", res.version)
        end)

        it("searches absolute paths only: build/jit, the checkout's lua/, the system's",
            function()
            local res = run([[ return { path = package.path, cpath = package.cpath } ]])
            local root = nginx.root()
            local seen = {}
            assert.is_nil(res.path:find(";;", 1, true), res.path)
            assert.is_nil(res.cpath:find(";;", 1, true), res.cpath)
            for entry in (res.path .. ";" .. res.cpath):gmatch("[^;]+") do
                assert.matches("^/", entry, 1)       -- no "./?.so" from the defaults
                seen[#seen + 1] = entry
            end
            assert.equal(root .. "/build/jit/?.so", res.cpath:match("^[^;]*"))
            for _, entry in ipairs(seen) do
                if entry:sub(1, #root + 1) == root .. "/" then
                    local rel = entry:sub(#root + 1)
                    assert.is_truthy(rel:find("^/lua/%?") or rel == "/build/jit/?.so", entry)
                end
            end
        end)

        it("runs its workers as the user running the specs, so any checkout is readable",
            function()
            local res = run([[
                local f = assert(io.open("/proc/self/status"))
                local uid = f:read("*a"):match("Uid:%s*%d+%s+(%d+)")
                f:close()
                return { uid = tonumber(uid) }
            ]])
            local p = io.popen("id -u")
            local me = tonumber(p:read("*l"))
            p:close()
            assert.equal(me, res.uid)
        end)

        it("runs nginx outside the checkout, so a stray ./acmpca/core.so is never seen",
            function()
            local res = run([[
                local ffi = require "ffi"
                pcall(ffi.cdef, "char *getcwd(char *buf, size_t size);")
                local buf = ffi.new("char[4096]")
                return { cwd = ffi.string(ffi.C.getcwd(buf, 4096)) }
            ]])
            assert.equal(bench.prefix, res.cwd)
        end)

        it("makes its errors with acmpca.core's error objects", function()
            local res = run([[
                local core = require "acmpca.core"
                local _, err = T.new(){ url = "https://localhost:" .. P.untrusted .. "/" }
                local ref = core.new_error{ code = "X", message = "y" }
                return { same = getmetatable(err) == getmetatable(ref), str = tostring(err) }
            ]])
            assert.is_true(res.same)
            assert.matches("^TLSError: TLS handshake with localhost failed", res.str)
        end)

        it("acmpca.new picks this transport, never the blocking libcurl one", function()
            local res = run([[
                local core = require "acmpca.core"
                local curl, picked = 0, 0
                local real_http_new, real_new = core.http_new, T.new
                core.http_new = function(...) curl = curl + 1; return real_http_new(...) end
                T.new = function(...) picked = picked + 1; return real_new(...) end
                local ok, err = pcall(function()
                    local acmpca = require "acmpca"
                    return acmpca.new{ region = "us-east-1",
                        credentials = { access_key_id = "AKID", secret_access_key = "S" } }
                end)
                core.http_new, T.new = real_http_new, real_new
                return { ok = ok, err = tostring(err), curl = curl, picked = picked }
            ]])
            assert.is_true(res.ok, res.err)
            assert.equal(1, res.picked)
            assert.equal(0, res.curl)
        end)

        it("looks up container credentials through this transport", function()
            local creds = { access_key_id = "ASIAFAKECONTAINER001",
                            secret_access_key = "containerSecret/0123456789abcdefghijkl",
                            session_token = "container-session-token" }
            local svc = assert(fake.start{ cas = { [ARN] = "ACTIVE" },
                access_key_id = creds.access_key_id,
                secret_access_key = creds.secret_access_key,
                session_token = creds.session_token })
            local ok, res = pcall(run, format([[
                package.loaded["bench.creds"] = { hits = 0, doc = require("cjson").encode{
                    AccessKeyId = %q, SecretAccessKey = %q, Token = %q,
                    Expiration = os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", ngx.time() + 3600) } }
                local core = require "acmpca.core"
                local curl = 0
                local real_http_new = core.http_new
                core.http_new = function(...) curl = curl + 1; return real_http_new(...) end
                local ok, has, err = pcall(function()
                    local c = require("acmpca").new{ region = "us-east-1", endpoint = %q }
                    local a, e = c:has_acm_renewal(%q)
                    local b = c:has_acm_renewal(%q)
                    return a and b == a and a, e
                end)
                core.http_new = real_http_new
                local st = package.loaded["bench.creds"]
                return { ok = ok, has = has, err = E(err) or (not ok and tostring(has)) or nil,
                         curl = curl, hits = st.hits }
            ]], creds.access_key_id, creds.secret_access_key, creds.session_token, svc.url,
                ARN, ARN))
            local calls = svc:calls()
            svc:stop()
            assert.is_true(ok, res)
            assert.is_nil(res.err)
            assert.is_false(res.has)
            assert.equal(1, res.hits)           -- fetched once, then cached
            assert.equal(0, res.curl)
            assert.equal(2, calls.ListPermissions)
        end)
    end)
end)
