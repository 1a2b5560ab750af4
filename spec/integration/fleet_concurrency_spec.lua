-- The fleet helpers over real HTTP against the signature-checking fake
-- service, concurrently: in plain Lua through libcurl's multi interface
-- (acmpca.batch + core.http_multi) and inside a real nginx through
-- ngx.thread over the cosocket transport.  The fake answers every request
-- after a delay and reports the most requests it was answering at once:
-- that, not a stopwatch, shows the calls overlapped.

local fake = require "support.fake_service"
local cjson = require "cjson.safe"

local N = 15          -- CAs in the generated fleet
local DELAY_MS = 120  -- every answer waits this long


local function new_client(svc, opts)
    local o = {
        endpoint = svc.url, region = "us-east-1", credentials = fake.credentials,
        ca_file = svc.ca_file, timeout = 10, connect_timeout = 5,
    }
    for k, v in pairs(opts or {}) do
        o[k] = v
    end
    return require("acmpca.client").new(o)
end


-- the verdict the generated fleet gives CA i (1-based): every third
-- complete, every third + 1 partial, the rest absent
local function expected(i)
    local k = i % 3
    return k == 0 and "COMPLETE" or k == 1 and "PARTIAL" or "ABSENT"
end


local function max_in_flight(svc)
    return svc:state().max_in_flight
end


for _, tls in ipairs{ false, true } do
    describe("fleet helpers over " .. (tls and "HTTPS" or "HTTP") .. ", concurrently", function()
        local svc

        lazy_setup(function()
            svc = fake.start{ fleet = N, delay_ms = DELAY_MS, tls = tls }
        end)

        lazy_teardown(function()
            if svc then
                svc:stop()
            end
        end)

        before_each(function()
            svc:reset()
        end)

        it("audits the fleet with the calls in flight together (libcurl multi)", function()
            local client = new_client(svc)
            local rows, s = client:audit{ concurrency = 8, rate_limit = false }
            assert.are.equal(N, #rows)
            for i, r in ipairs(rows) do
                assert.are.equal(expected(i), r.renewal, r.arn)
                assert.are.equal("ACTIVE", r.status)
            end
            assert.are.equal(N - N / 3, s.active - s.active_complete)
            assert.is_false(s.compliant)
            -- the listing and eight readers answered at once
            assert.is_true(max_in_flight(svc) >= 6, "max in flight " .. max_in_flight(svc))
            assert.is_true(s.requests >= N + 1)
            -- every request verified by botocore, none refused
            for _, rec in ipairs(svc:requests()) do
                assert.are.equal(200, rec.status)
            end
            -- connections kept alive and reused: one per worker at most
            -- (and the listing's), not one per request
            local conns = {}
            for _, rec in ipairs(svc:requests()) do
                conns[rec.connection_id] = true
            end
            local n = 0
            for _ in pairs(conns) do
                n = n + 1
            end
            assert.is_true(n <= 9, n .. " connections for " .. #svc:requests() .. " requests")
        end)

        it("gives the same rows as a sequential audit", function()
            local client = new_client(svc)
            local together = client:audit{ concurrency = 12, rate_limit = false }
            svc:reset()
            local one = client:audit{ concurrency = 1, rate_limit = false }
            assert.are.equal(1, max_in_flight(svc))
            for i = 1, N do
                assert.are.equal(one[i].arn, together[i].arn)
                assert.are.equal(one[i].renewal, together[i].renewal)
                assert.are.same(one[i].missing_actions, together[i].missing_actions)
                assert.are.equal(one[i].finding, together[i].finding)
            end
        end)

        -- over HTTP only: what they check does not depend on TLS
        local it_plain = tls and function() end or it

        it_plain("ensures renewal on the whole fleet, then audits it compliant", function()
            local client = new_client(svc)
            local results, s = client:ensure_acm_renewal_all{ concurrency = 8,
                                                               rate_limit = false }
            assert.are.equal(N, #results)
            assert.are.equal(0, s.failed)
            assert.are.same({ created = N / 3, repaired = N / 3, present = N / 3 }, s.by_result)
            local _, audit = client:audit{ concurrency = 8, rate_limit = false }
            assert.is_true(audit.compliant)
        end)

        it_plain("rides out throttling from the service", function()
            local client = new_client(svc)
            svc:fault("throttle", 3)
            local rows, s = client:audit{ concurrency = 4, rate_limit = false }
            assert.are.equal(N, #rows)
            for i, r in ipairs(rows) do
                assert.are.equal(expected(i), r.renewal)
            end
            assert.are.equal(3, s.throttled)
        end)

        it_plain("paces itself under the published quotas by default", function()
            local client = new_client(svc)
            local t0 = require("acmpca.core").now()
            local rows, s = client:audit{ concurrency = 8 }
            local elapsed = require("acmpca.core").now() - t0
            assert.are.equal(N, #rows)
            -- ListPermissions at 5/s after a burst of 5: at least (N - 5) / 5 s
            assert.is_true(elapsed >= (N - 5) / 5 - 0.05, "took " .. elapsed .. " s")
            assert.are.equal(0, s.throttled)
        end)
    end)
end


describe("fleet helpers inside nginx #nginx", function()
    local nginx = require "support.nginx"
    local svc, bench

    lazy_setup(function()
        svc = fake.start{ fleet = N, delay_ms = DELAY_MS }
        bench = nginx.start_bench()
    end)

    lazy_teardown(function()
        if bench then
            bench:stop()
        end
        if svc then
            svc:stop()
        end
    end)

    local function eval(code)
        local out = nginx.eval(bench, code)
        assert.is_nil(out.raised)
        return out.result
    end

    local CLIENT = [[
        local acmpca = require "acmpca"
        local client = acmpca.new{ endpoint = %q, region = "us-east-1",
                                   credentials = { access_key_id = %q, secret_access_key = %q } }
    ]]

    local function client_code()
        return string.format(CLIENT, svc.url, fake.credentials.access_key_id,
                             fake.credentials.secret_access_key)
    end

    it("audits through ngx.thread light threads, the calls in flight together", function()
        svc:reset()
        local res = eval(client_code() .. [[
            local rows, s = client:audit{ concurrency = 8, rate_limit = false }
            local out = {}
            for i, r in ipairs(rows) do out[i] = r.renewal end
            return { renewal = out, total = s.total, compliant = s.compliant }
        ]])
        assert.are.equal(N, res.total)
        for i = 1, N do
            assert.are.equal(expected(i), res.renewal[i])
        end
        assert.is_false(res.compliant)
        assert.is_true(max_in_flight(svc) >= 6, "max in flight " .. max_in_flight(svc))
    end)

    it("gives the same verdicts as plain Lua", function()
        svc:reset()
        local res = eval(client_code() .. [[
            local results, s = client:ensure_acm_renewal_all{ concurrency = 6,
                                                               rate_limit = false }
            local by = {}
            for _, r in ipairs(results) do by[#by + 1] = r.result end
            return { results = by, failed = s.failed }
        ]])
        assert.are.equal(0, res.failed)
        for i = 1, N do
            local want = ({ [0] = "present", "repaired", "created" })[i % 3]
            assert.are.equal(want, res.results[i])
        end
        local _, audit = new_client(svc):audit{ rate_limit = false, concurrency = 8 }
        assert.is_true(audit.compliant)
        assert.is_string(cjson.encode(res))
    end)
end)
