-- Fault injection (issue 12): a real client, over the libcurl transport
-- (Lua 5.4 and LuaJIT) and over the cosocket transport in a real nginx
-- (LuaJIT, tagged #nginx), against spec/support/hostile_server.py: resets,
-- truncations, stalls, drips, huge and endless answers, broken chunking,
-- HTML pages, JSON of the wrong shape, odd statuses, a repeated NextToken
-- and a Date in the year 9999.  Each call must come back as nil and an
-- error object, in bounded time and bounded memory.

local H = require "support.hostile_fixture"

local format = string.format

local ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local SECRET = "hostileSecret/0123456789abcdefghijklmnopqrs"
local TIMEOUT, ATTEMPTS = 3, 2
-- generous: every attempt may use its whole timeout, three times over
local MAX_ELAPSED = 3 * TIMEOUT * ATTEMPTS
local MIB_KIB = 1024
local LIST = format("return c:list_permissions{ ca_arn = %q }", ARN)


local function client_opts(endpoint)
    return format("{ region = 'us-east-1', endpoint = %q, credentials = {"
        .. " access_key_id = 'AKIDHOSTILE000000001', secret_access_key = %q },"
        .. " timeout = %d, max_attempts = %d, sleep = function() end }",
        endpoint, SECRET, TIMEOUT, ATTEMPTS)
end


local function one_of(list, code)
    for _, c in ipairs(list) do
        if c == code then
            return true
        end
    end
    return false
end


-- What every hostile call must come back as: nil and an error object.
local function failed(out)
    assert.is_nil(out.raised, "raised: " .. tostring(out.raised))
    assert.is_nil(out.ok, "succeeded where it should have failed")
    local err = out.err
    assert.is_table(err, "no error object")
    assert.equal("table", err.kind)
    assert.is_string(err.code)
    assert.is_true(#err.code > 0)
    assert.is_string(err.message)
    assert.is_boolean(err.retryable, "retryable: " .. tostring(err.retryable))
    assert.is_nil(err.str:find(SECRET, 1, true), "the secret key is in the error")
    assert.is_true(out.elapsed < MAX_ELAPSED, format("took %.1f s", out.elapsed))
    return err
end


local function status_is(err, want, optional)
    if optional and err.status == nil then
        return
    end
    assert.equal(want, err.status, "status")
end


-- ACMPCA_HOSTILE_REPORT=1: one line per call on stderr (the table in the
-- issue: behaviour, transport, error, time, memory).
local function report(name, kind, out)
    if os.getenv("ACMPCA_HOSTILE_REPORT") then
        io.stderr:write(format("HOSTILE %-5s %-16s %-60s %5.2f s  VmHWM %6d KiB  VmRSS %6d KiB\n",
            name, kind, out.ok and "ok" or out.raised and ("raised " .. out.raised)
                or out.err and out.err.str:sub(1, 60) or "?", out.elapsed or -1,
            out.hwm_kib or -1, out.rss_kib or -1))
    end
end


-- behaviour -> what the error must say beyond failed() (codes: one string
-- or a list of acceptable ones; status: the one read, `optional` when a
-- reset may beat it; retryable when it matters; huge: memory checked).
local CASES = {
    { "reset_before", code = "NetworkError", retryable = true },
    { "reset_after", code = { "NetworkError", "InvalidResponse" }, status = 200,
      optional = true },
    { "trunc_headers", code = { "NetworkError", "InvalidResponse" }, status = 200,
      optional = true },
    -- the connection ended before Content-Length bytes: a network failure,
    -- retried as the SDKs retry an incomplete read
    { "trunc_body", code = "NetworkError", retryable = true },
    { "stall", code = "Timeout", retryable = true },
    { "drip", code = "Timeout", retryable = true },
    { "huge_cl", code = "ResponseTooLarge", retryable = false, huge = true },
    { "huge_close", code = "ResponseTooLarge", retryable = false, huge = true },
    { "huge_chunked", code = "ResponseTooLarge", retryable = false, huge = true },
    { "endless_line", code = "ResponseTooLarge", retryable = false, huge = true },
    { "endless_headers", code = "ResponseTooLarge", retryable = false, huge = true },
    { "chunk_nonhex", code = { "InvalidResponse", "NetworkError" }, status = 200,
      optional = true },
    { "chunk_negative", code = { "InvalidResponse", "NetworkError" }, status = 200,
      optional = true },
    { "chunk_overlong", code = { "InvalidResponse", "NetworkError", "ResponseTooLarge" },
      status = 200, optional = true },
    { "chunk_nocrlf", code = { "InvalidResponse", "NetworkError" }, status = 200,
      optional = true },
    { "html200", code = "InvalidResponse", status = 200, retryable = false,
      message = "Bad Gateway" },
    { "html502", code = "InvalidResponse", status = 502, retryable = true,
      message = "Bad Gateway" },
    { "json_array", code = "InvalidResponse", status = 200 },
    { "json_str_list", code = "InvalidResponse", status = 200 },
    { "json_bad_time", code = "InvalidResponse", status = 200 },
    { "errortype_only", code = "AccessDeniedException", status = 400, retryable = false,
      request_id = "hostile-400" },
    -- not an HTTP status class: either code will do, but the status read is kept
    { "status999", code = { "InvalidResponse", "UnknownError" }, status = 999 },
}


-- The shared suite; call(kind, key, body_src) runs one client call on a
-- transport and returns the flat record; mem_limit_kib bounds the growth of
-- VmHWM during the call.
local function suite(name, call, mem_limit_kib)
    local srv
    local stamp = tostring(os.time()) .. "-" .. tostring(math.random(1e6))

    lazy_setup(function()
        srv = assert(H.start())
    end)

    lazy_teardown(function()
        if srv then
            srv:stop()
        end
    end)

    for _, case in ipairs(CASES) do
        local kind = case[1]
        it(kind .. " -> " .. (type(case.code) == "table" and table.concat(case.code, "|")
                              or case.code), function()
            local out = call(srv:endpoint(kind, name .. "-" .. kind .. "-" .. stamp), LIST)
            report(name, kind, out)
            local err = failed(out)
            local codes = type(case.code) == "table" and case.code or { case.code }
            assert.is_true(one_of(codes, err.code),
                format("code %s (%s), want %s", err.code, err.str, table.concat(codes, "|")))
            if case.status then
                status_is(err, case.status, case.optional)
            end
            if case.retryable ~= nil then
                assert.equal(case.retryable, err.retryable, "retryable")
            end
            if case.message then
                assert.matches(case.message, err.message, 1, true)
            end
            if case.request_id then
                assert.equal(case.request_id, err.request_id)
            end
            if case.huge then
                assert.is_true(out.hwm_kib - out.base_kib < mem_limit_kib,
                    format("VmHWM %d KiB after %s, from %d KiB", out.hwm_kib, kind,
                           out.base_kib))
            end
        end)
    end

    it("repeat_token -> PaginationLoop after two pages", function()
        local key = name .. "-pages-" .. stamp
        local out = call(srv:endpoint("repeat_token", key),
            format("return require('acmpca.paginate').all(c, 'list_permissions',"
                   .. " { ca_arn = %q })", ARN))
        report(name, "repeat_token", out)
        local err = failed(out)
        assert.equal("PaginationLoop", err.code)
        assert.is_false(err.retryable)
        assert.equal(2, #srv:log(key))
    end)

    describe("a Date in the year 9999 on a clock-skew error", function()
        local key = name .. "-skew-" .. stamp
        local two_calls = format([[
            local a = { ca_arn = %q }
            c:list_permissions(a)
            return c:list_permissions(a)
        ]], ARN)
        local out

        it("a later normal request is still sent and succeeds", function()
            out = call(srv:endpoint("skew", key), two_calls)
            report(name, "skew", out)
            assert.is_nil(out.raised, out.raised)
            assert.is_true(out.ok, out.err and out.err.str)
            assert.is_true(out.elapsed < MAX_ELAPSED, format("took %.1f s", out.elapsed))
        end)

        it("no request is ever signed with the year 9999", function()
            assert.is_table(out, "the previous case did not run")
            local log = srv:log(key)
            assert.is_true(#log >= 2)
            local now = os.time(os.date("!*t"))
            for i, rec in ipairs(log) do
                local y, mo, d, h, mi, s = rec.amz_date:match(
                    "^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
                assert.truthy(y, "request " .. i .. ": X-Amz-Date " .. rec.amz_date)
                local t = os.time{ year = tonumber(y), month = tonumber(mo), day = tonumber(d),
                                   hour = tonumber(h), min = tonumber(mi), sec = tonumber(s) }
                assert.is_true(math.abs(t - now) < 86400,
                    format("request %d of %d signed at %s", i, #log, rec.amz_date))
            end
        end)
    end)

    it("leaves no connection the server still writes to", function()
        -- every client has gone away: the server's connection threads end
        -- (main thread and parent watcher left) within a few seconds
        local threads
        for _ = 1, 100 do
            threads = H.status_field(srv.pid, "Threads")
            if threads and threads <= 2 then
                break
            end
            require("socket").sleep(0.1)
        end
        assert.is_true(threads <= 2, tostring(threads) .. " threads left")
    end)
end


describe("hostile server, libcurl transport", function()
    suite("curl", function(endpoint, body)
        return H.call_here(client_opts(endpoint), body)
    end, 200 * MIB_KIB)
end)


describe("hostile server, nginx cosocket transport #nginx", function()
    local ngx_srv

    lazy_setup(function()
        ngx_srv = H.start_nginx()
    end)

    lazy_teardown(function()
        if ngx_srv then
            ngx_srv:stop()
        end
    end)

    suite("ngx", function(endpoint, body)
        return H.call_nginx(ngx_srv, client_opts(endpoint), body)
    end, 150 * MIB_KIB)
end)
