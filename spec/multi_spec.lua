-- core.http_multi: many HTTP transfers at once through libcurl's multi
-- interface, against the local HTTP/1.1 server (spec/support/http_server.py)
-- on 127.0.0.1, port picked at runtime, stopped by PID.  No timed
-- assertions: overlap is shown by the server (the "peak" of /slow),
-- connection reuse by the client ports it reports.

local core = require "acmpca.core"
local cjson = require "cjson"
local proc = require "support.proc"

local PYTHON = "/usr/bin/python3"
local IS_54 = _VERSION == "Lua 5.4"


-- Start spec/support/http_server.py; returns { url =, pid = }.
local function start_server()
    local out = os.tmpname()
    local p = assert(io.popen(proc.CLEAN_ENV .. PYTHON .. " spec/support/http_server.py >"
                              .. out .. " 2>&1 & echo $!"))
    local pid = assert(tonumber(p:read("*l")), "no pid")
    p:close()
    local port
    for _ = 1, 500 do
        port = tonumber((proc.read_file(out) or ""):match("^(%d+)\n"))
        if port then break end
        core.sleep(0.01)
    end
    os.remove(out)
    assert(port, "http_server.py did not report its port")
    return { url = "http://127.0.0.1:" .. port, pid = pid }
end


-- Wait until the transfers in ids (a set) have all completed, within a
-- generous deadline; returns { [id] = { res =, err = } }.
local function collect(m, ids, deadline)
    local got, left = {}, 0
    for _ in pairs(ids) do
        left = left + 1
    end
    local stop = core.now() + (deadline or 20)
    while left > 0 and core.now() < stop do
        local id, res, err = m:wait(0.5)
        if id ~= nil then
            assert.is_true(ids[id], "unexpected id " .. tostring(id))
            assert.is_nil(got[id], "id returned twice")
            got[id] = { res = res, err = err }
            left = left - 1
        end
    end
    assert.equals(0, left, "transfers never completed")
    return got
end


-- The only completion of a one-transfer multi.
local function one(m, req)
    local id = assert(m:start(req))
    local r = collect(m, { [id] = true })[id]
    return r.res, r.err
end


describe("acmpca.core http_multi", function()
    local srv

    lazy_setup(function()
        srv = start_server()
    end)

    lazy_teardown(function()
        if srv then
            proc.stop(srv.pid, 5)
        end
    end)


    describe("http_multi", function()
        it("makes an object with start, wait, active and close", function()
            local m = core.http_multi()
            assert.equals("acmpca.multi (8 connections, 0 active)", tostring(m))
            assert.equals(0, m:active())
            m:close()
            m:close()   -- idempotent
            assert.equals("acmpca.multi (closed)", tostring(m))
            m = core.http_multi{ connections = 3, timeout = 5, connect_timeout = 2 }
            assert.equals("acmpca.multi (3 connections, 0 active)", tostring(m))
            m:close()
        end)

        it("rejects bad options, naming the option", function()
            local PRE = "acmpca.http_multi: "
            local CONN = PRE .. "connections: expected an integer from 1 to 256, got "
            assert.has_error(function() core.http_multi{ connections = 0 } end, CONN .. "0")
            assert.has_error(function() core.http_multi{ connections = 257 } end, CONN .. "257")
            assert.has_error(function() core.http_multi{ connections = 1.5 } end, CONN .. "1.5")
            assert.has_error(function() core.http_multi{ connections = "8" } end,
                CONN .. '"8"')
            assert.has_error(function() core.http_multi{ timeout = -1 } end,
                PRE .. "timeout: expected seconds in (0, 86400], got -1")
            assert.has_error(function() core.http_multi{ connect_timeout = "x" } end,
                PRE .. 'connect_timeout: expected seconds in (0, 86400], got "x"')
            assert.has_error(function() core.http_multi{ ca_file = 1 } end,
                PRE .. "ca_file: expected a string without NUL, got 1")
            assert.has_error(function() core.http_multi{ ca_file = "a\0b" } end,
                PRE .. 'ca_file: expected a string without NUL, got "a?b"')
            assert.has_error(function() core.http_multi("x") end,
                PRE .. 'opts: expected a table, got "x"')
        end)

        it("raises on every method once closed", function()
            local m = core.http_multi()
            m:close()
            assert.has_error(function() m:start{ url = srv.url .. "/echo" } end,
                "acmpca.multi:start: the multi is closed")
            assert.has_error(function() m:wait() end, "acmpca.multi:wait: the multi is closed")
            assert.has_error(function() m:active() end,
                "acmpca.multi:active: the multi is closed")
        end)
    end)


    describe("start", function()
        local m

        before_each(function()
            m = core.http_multi{ connections = 2, timeout = 5, connect_timeout = 2 }
        end)

        after_each(function()
            m:close()
        end)

        it("returns a fresh integer id per transfer and counts it active", function()
            local a = m:start{ url = srv.url .. "/echo" }
            local b = m:start{ url = srv.url .. "/echo" }
            assert.equals("number", type(a))
            assert.equals(0, a % 1)
            assert.not_equals(a, b)
            assert.equals(2, m:active())
            assert.equals("acmpca.multi (2 connections, 2 active)", tostring(m))
            collect(m, { [a] = true, [b] = true })
            assert.equals(0, m:active())
            local c = m:start{ url = srv.url .. "/echo" }
            assert.is_true(c ~= a and c ~= b)
            collect(m, { [c] = true })
        end)

        it("rejects malformed requests exactly as http:request does, sending nothing", function()
            local h = core.http_new()
            local bad = {
                {},
                { url = srv.url, method = "GE T" },
                { url = srv.url, body = {} },
                { url = srv.url, headers = { ["X-A"] = "a\r\nX-B: b" } },
                { url = srv.url, headers = { ["Bad Name"] = "v" } },
                { url = srv.url, headers = { [1] = "v" } },
                { url = srv.url, headers = "x" },
                { url = "http://127.0.0.1:1/\0" },
            }
            local headers = {}
            for i = 1, 33 do
                headers["X-H" .. i] = "v"
            end
            bad[#bad + 1] = { url = srv.url, headers = headers }
            for _, req in ipairs(bad) do
                local ok1, e1 = pcall(function() h:request(req) end)
                local ok2, e2 = pcall(function() m:start(req) end)
                assert.is_false(ok1)
                assert.is_false(ok2)
                e1, e2 = e1:gsub("^[^:]*:%d+: ", ""), e2:gsub("^[^:]*:%d+: ", "")
                assert.matches("^bad argument #1 to 'request' %(", e1)
                assert.equals((e1:gsub("'request'", "'start'")), e2)
            end
            assert.has_error(function() m:start() end,
                "bad argument #1 to 'start' (table expected, got no value)")
            assert.has_error(function() m:start{} end,
                "bad argument #1 to 'start' (url: expected a string)")
            assert.equals(0, m:active())
            assert.is_nil(m:wait())
            h:close()
        end)

        it("raises when every connection carries a transfer", function()
            local a = m:start{ url = srv.url .. "/slow?ms=50" }
            local b = m:start{ url = srv.url .. "/slow?ms=50" }
            assert.has_error(function() m:start{ url = srv.url .. "/echo" } end,
                "acmpca.multi:start: all 2 connections are busy")
            assert.equals(2, m:active())
            local got = collect(m, { [a] = true, [b] = true })
            assert.equals(200, got[a].res.status)
            -- the slots are free again
            local c = m:start{ url = srv.url .. "/echo" }
            local d = m:start{ url = srv.url .. "/echo" }
            collect(m, { [c] = true, [d] = true })
        end)
    end)


    describe("wait", function()
        local m

        before_each(function()
            m = core.http_multi{ connections = 4, timeout = 10, connect_timeout = 5 }
        end)

        after_each(function()
            m:close()
        end)

        it("runs the transfers at once: the server sees them all in flight together", function()
            local N = 4
            local ids = {}
            for _ = 1, N do
                ids[m:start{ url = srv.url .. "/slow?ms=300" }] = true
            end
            assert.equals(N, m:active())
            local got = collect(m, ids)
            local peak, ports = 0, {}
            for id in pairs(ids) do
                local res = assert(got[id].res, tostring(got[id].err))
                assert.equals(200, res.status)
                local echo = cjson.decode(res.body)
                peak = math.max(peak, echo.peak)
                ports[echo.peer_port] = true
            end
            assert.equals(N, peak)
            local nports = 0
            for _ in pairs(ports) do
                nports = nports + 1
            end
            assert.equals(N, nports)   -- one connection each
            assert.equals(0, m:active())
        end)

        it("keeps the connections alive: a second batch reuses them", function()
            local function batch()
                local ids = {}
                for _ = 1, 3 do
                    ids[m:start{ url = srv.url .. "/slow?ms=100" }] = true
                end
                local ports, n = {}, 0
                for _, r in pairs(collect(m, ids)) do
                    local port = cjson.decode(assert(r.res, tostring(r.err)).body).peer_port
                    if not ports[port] then
                        n = n + 1
                    end
                    ports[port] = true
                end
                return ports, n
            end
            local first, n = batch()
            assert.equals(3, n)
            local second = batch()
            assert.same(first, second)
            local third = batch()
            assert.same(first, third)
        end)

        it("returns the response exactly as http:request does", function()
            local req = {
                method = "POST", url = srv.url .. "/echo?x=1",
                headers = { ["Content-Type"] = "application/x-amz-json-1.1",
                            ["X-Amz-Target"] = "ACMPrivateCA.ListPermissions",
                            ["X-Num"] = 42, ["X-Empty"] = "" },
                body = '{"a":1}',
            }
            local res, err = one(m, req)
            assert.is_nil(err)
            local h = core.http_new()
            local want = assert(h:request(req))
            h:close()
            local echo, want_echo = cjson.decode(res.body), cjson.decode(want.body)
            echo.peer_port, want_echo.peer_port = nil, nil
            assert.same(want_echo, echo)
            res.body, want.body = nil, nil
            assert.same(want, res)
            assert.equals("a, b", res.headers["x-multi"])
            assert.equals("req-1", res.headers["x-amzn-requestid"])
            assert.equals("42", echo.headers["x-num"])
            assert.equals('{"a":1}', echo.body)
            assert.is_nil(echo.headers["expect"])
        end)

        it("sends every method, with a body, and HEAD without one", function()
            for _, meth in ipairs{ "PUT", "GET", "DELETE", "POST" } do
                local res = assert(one(m, { method = meth, url = srv.url .. "/echo",
                                            body = meth ~= "GET" and ("b"):rep(5000) or nil }))
                local echo = cjson.decode(res.body)
                assert.equals(meth, echo.method)
                assert.equals(meth ~= "GET" and ("b"):rep(5000) or "", echo.body)
            end
            local res = assert(one(m, { method = "HEAD", url = srv.url .. "/echo" }))
            assert.equals(200, res.status)
            assert.equals("", res.body)
        end)

        it("does not need the request's strings once start returned", function()
            local id = m:start{ method = "PUT", url = srv.url .. "/echo?" .. ("p"):rep(50),
                                headers = { ["X-Long"] = ("v"):rep(200) },
                                body = ("q"):rep(3000) .. "!" }
            for _ = 1, 3 do
                local junk = {}
                for i = 1, 2000 do
                    junk[i] = ("z"):rep(60) .. i
                end
                assert.equals(2000, #junk)
                collectgarbage()
            end
            local r = collect(m, { [id] = true })[id]
            local echo = cjson.decode(assert(r.res, tostring(r.err)).body)
            assert.equals("/echo?" .. ("p"):rep(50), echo.path)
            assert.equals(("v"):rep(200), echo.headers["x-long"])
            assert.equals(("q"):rep(3000) .. "!", echo.body)
        end)

        it("returns status 500 as a response, not an error", function()
            local res, err = one(m, { method = "POST", url = srv.url .. "/status/500", body = "" })
            assert.is_nil(err)
            assert.equals(500, res.status)
            assert.equals('{"__type": "Status500"}', res.body)
        end)

        it("reports a refused connection as a retryable NetworkError", function()
            local id = m:start{ url = "http://127.0.0.1:" .. proc.free_port() .. "/" }
            local got = collect(m, { [id] = true })[id]
            assert.is_nil(got.res)
            assert.equals("NetworkError", got.err.code)
            assert.is_true(got.err.retryable)
            assert.matches("127.0.0.1", got.err.message)
            assert.equals(getmetatable(core.new_error{ code = "X" }), getmetatable(got.err))
        end)

        it("times out with a retryable Timeout, by the request's or the multi's timeout", function()
            local res, err = one(m, { url = srv.url .. "/slow?ms=3000", timeout = 0.2 })
            assert.is_nil(res)
            assert.equals("Timeout", err.code)
            assert.is_true(err.retryable)
            assert.matches("^Timeout: .*timed out", tostring(err))
            local quick = core.http_multi{ timeout = 0.2 }
            res, err = one(quick, { url = srv.url .. "/slow?ms=3000" })
            quick:close()
            assert.is_nil(res)
            assert.equals("Timeout", err.code)
            -- the slot works afterwards
            assert.equals(200, assert(one(m, { url = srv.url .. "/echo" })).status)
        end)

        it("refuses a body over the limit while reading, then goes on", function()
            local max = core.transport_defaults.max_body
            local big = m:start{ url = srv.url .. "/big?n=" .. (max + 1) }
            local fine = m:start{ url = srv.url .. "/big?n=" .. max }
            local got = collect(m, { [big] = true, [fine] = true })
            assert.is_nil(got[big].res)
            assert.equals("ResponseTooLarge", got[big].err.code)
            assert.equals("response body larger than " .. max .. " bytes", got[big].err.message)
            assert.is_false(got[big].err.retryable)
            assert.equals(max, #got[fine].res.body)
            assert.equals(200, assert(one(m, { url = srv.url .. "/big?n=10" })).status)
        end)

        it("reports a TLS failure as TLSError and uses ca_file", function()
            local https = (srv.url:gsub("^http:", "https:")) .. "/echo"
            local res, err = one(m, { url = https })
            assert.is_nil(res)
            assert.equals("TLSError", err.code)
            assert.is_false(err.retryable)
            local bad_ca = core.http_multi{ ca_file = "/nonexistent/acmpca-ca.pem" }
            res, err = one(bad_ca, { url = https })
            bad_ca:close()
            assert.is_nil(res)
            assert.equals("TLSError", err.code)
            assert.matches("nonexistent/acmpca%-ca%.pem", err.message)
        end)

        it("returns nil when nothing completed within the timeout", function()
            assert.is_nil(m:wait())      -- nothing in flight: polls and returns
            assert.is_nil(m:wait(0))
            assert.is_nil(m:wait(0.05))
            local id = m:start{ url = srv.url .. "/slow?ms=3000" }
            assert.is_nil(m:wait(0))
            assert.is_nil(m:wait(0.05))  -- returned before the 3 s answer
            assert.equals(1, m:active())
            local got = collect(m, { [id] = true })
            assert.equals(200, got[id].res.status)
        end)

        it("returns one completion per call", function()
            local ids = {}
            for _ = 1, 4 do
                ids[m:start{ url = srv.url .. "/echo" }] = true
            end
            local seen = 0
            for id, r in pairs(collect(m, ids)) do
                assert.is_true(ids[id])
                assert.equals(200, r.res.status)
                seen = seen + 1
            end
            assert.equals(4, seen)
            assert.is_nil(m:wait(0))
        end)

        it("rejects a bad timeout", function()
            local PRE = "acmpca.multi:wait: timeout: expected seconds >= 0, got "
            assert.has_error(function() m:wait(-1) end, PRE .. "-1")
            assert.has_error(function() m:wait(0 / 0) end)
            assert.has_error(function() m:wait("1") end, PRE .. '"1"')
            assert.has_error(function() m:wait{} end, PRE .. "table")
        end)
    end)


    describe("close", function()
        it("aborts the transfers in flight and frees everything", function()
            local m = core.http_multi{ connections = 3 }
            for _ = 1, 3 do
                m:start{ url = srv.url .. "/slow?ms=2000" }
            end
            assert.is_nil(m:wait(0.1))   -- connected and sent, not answered
            assert.equals("acmpca.multi (3 connections, 3 active)", tostring(m))
            m:close()
            assert.equals("acmpca.multi (closed)", tostring(m))
            m:close()
        end)

        it("is what the collector runs on a multi with transfers in flight", function()
            for _ = 1, 3 do
                local m = core.http_multi{ connections = 2 }
                m:start{ url = srv.url .. "/slow?ms=2000" }
                m:start{ method = "POST", url = srv.url .. "/echo", body = "x" }
                m:wait(0.05)
            end
            collectgarbage()
            collectgarbage()
        end)

        it("runs at the end of a to-be-closed variable (Lua 5.4)", function()
            if not IS_54 then
                return
            end
            local f = assert(load([[
                local core, url = ...
                local m <close> = core.http_multi()
                m:start{ url = url }
                return m
            ]]))
            local m = f(core, srv.url .. "/slow?ms=2000")
            assert.equals("acmpca.multi (closed)", tostring(m))
        end)
    end)
end)
