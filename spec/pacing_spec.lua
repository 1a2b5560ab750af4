-- acmpca.pacing: per-operation token buckets at the published quotas, and
-- the adaptive slow-down on throttling.
local pacing = require "acmpca.pacing"

describe("acmpca.pacing", function()

    it("knows the default quotas of every operation of the model", function()
        local model = require "acmpca.model"
        for _, op in ipairs(model.operations) do
            assert.is_number(pacing.QUOTAS[op.name], op.name)
        end
        assert.are.equal(5, pacing.QUOTAS.ListPermissions)
        assert.are.equal(1, pacing.QUOTAS.CreatePermission)
        assert.are.equal(20, pacing.QUOTAS.ListCertificateAuthorities)
    end)

    it("lets one second's burst through, then spaces requests at the rate", function()
        local p = assert(pacing.new("quota"))
        for _ = 1, 5 do
            assert.are.equal(0, p:delay("ListPermissions", 100))
        end
        -- the sixth waits 1/5 s, the seventh 2/5 s (slots are reserved)
        assert.are.near(0.2, p:delay("ListPermissions", 100), 1e-9)
        assert.are.near(0.4, p:delay("ListPermissions", 100), 1e-9)
        -- a second later the bucket has refilled by five
        assert.are.near(0, p:delay("ListPermissions", 101.4), 1e-9)
    end)

    it("keeps one bucket per operation", function()
        local p = assert(pacing.new("quota"))
        assert.are.equal(0, p:delay("CreatePermission", 0))
        assert.are.near(1, p:delay("CreatePermission", 0), 1e-9)
        assert.are.equal(0, p:delay("ListPermissions", 0))
    end)

    it("does not limit with rate_limit = false", function()
        local p = assert(pacing.new(false))
        for _ = 1, 1000 do
            assert.are.equal(0, p:delay("CreatePermission", 0))
        end
        assert.is_nil((p:rate("CreatePermission")))
    end)

    it("takes one number for every operation, or a table over the quotas", function()
        local p = assert(pacing.new(100))
        assert.are.equal(100, (p:rate("CreatePermission")))
        p = assert(pacing.new{ ListPermissions = 50 })
        assert.are.equal(50, (p:rate("ListPermissions")))
        assert.are.equal(1, (p:rate("CreatePermission")))
        p = assert(pacing.new{ ListPermissions = false })
        assert.is_nil((p:rate("ListPermissions")))
    end)

    it("refuses what is not a rate limit, saying why", function()
        local cases = {
            { "none", 'rate_limit: expected "quota", false, a number or a table, got string' },
            { 0, "rate_limit: expected a positive number of requests per second, got 0" },
            { -1, "got -1" },
            { 0 / 0, "expected a positive number" },
            { { Nope = 1 }, "rate_limit: unknown operation Nope" },
            { { ListPermissions = "fast" }, "rate_limit.ListPermissions: expected a positive" },
        }
        for _, c in ipairs(cases) do
            local p, why = pacing.new(c[1])
            assert.is_nil(p)
            assert.matches(c[2], why, 1, true)
        end
    end)

    it("slows an operation down on throttling, once per second, with a floor", function()
        local p = assert(pacing.new("quota"))
        local throttled = { code = "ThrottlingException", throttling = true }
        p:feedback("ListPermissions", throttled, 10)
        assert.are.near(3.5, (p:rate("ListPermissions")), 1e-9)
        -- a second throttle within the second (an answer already in flight)
        p:feedback("ListPermissions", throttled, 10.5)
        assert.are.near(3.5, (p:rate("ListPermissions")), 1e-9)
        for i = 1, 30 do
            p:feedback("ListPermissions", throttled, 11 + i)
        end
        local rate, throttles = p:rate("ListPermissions")
        assert.are.equal(0.2, rate)
        assert.are.equal(32, throttles)
    end)

    it("recovers toward the ceiling on success, never past it", function()
        local p = assert(pacing.new("quota"))
        p:feedback("ListPermissions", { throttling = true }, 0)
        p:feedback("ListPermissions", nil, 1)
        assert.are.near(3.75, (p:rate("ListPermissions")), 1e-9)
        for i = 1, 100 do
            p:feedback("ListPermissions", nil, 1 + i)
        end
        assert.are.equal(5, (p:rate("ListPermissions")))
    end)

    it("starts limiting an unlimited operation at the rate it was measured at", function()
        local p = assert(pacing.new(false))
        for i = 0, 15 do
            p:delay("ListPermissions", i / 100) -- 100 requests per second
        end
        p:feedback("ListPermissions", { throttling = true }, 0.16)
        assert.are.near(70, (p:rate("ListPermissions")), 1e-6)
        assert.is_true(p:delay("ListPermissions", 0.16) > 0)
    end)

    it("does not count other errors as throttling", function()
        local p = assert(pacing.new("quota"))
        p:feedback("ListPermissions", { code = "AccessDeniedException" }, 0)
        assert.are.equal(5, (p:rate("ListPermissions")))
    end)

    it("does not pile up waits across repeated throttles of one caller", function()
        -- one caller: reserve, wait, get throttled, back off, try again
        local p = assert(pacing.new(false))
        local now, waits = 0, {}
        for i = 1, 6 do
            local w = p:delay("ListCertificateAuthorities", now)
            waits[i] = w
            now = now + w + 0.15
            p:feedback("ListCertificateAuthorities", { throttling = true }, now)
            now = now + 0.5
        end
        -- never more than one slot at the floor rate
        for _, w in ipairs(waits) do
            assert.is_true(w <= 1 / 0.2 + 1e-9, "waited " .. w)
        end
    end)
end)
