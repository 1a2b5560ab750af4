-- acmpca.retry: the credential services' retry loop.

local retry = require "acmpca.retry"


describe("acmpca.retry", function()
    -- an attempt function answering from a list: a result, or an error
    local function script(answers)
        local calls = 0
        return function()
            calls = calls + 1
            local a = answers[calls]
            if a.ok then
                return a.ok
            end
            return nil, { code = a.code, retryable = a.retryable }
        end, function() return calls end
    end

    it("returns the first success, pausing between attempts", function()
        local attempt, calls = script{ { code = "Throttling", retryable = true }, { ok = "done" } }
        local pauses = {}
        local out, err = retry.run(attempt, function(s) pauses[#pauses + 1] = s end)
        assert.equals("done", out)
        assert.is_nil(err)
        assert.equals(2, calls())
        assert.equals(1, #pauses)
        -- full jitter: 0 .. 2^(n-1) s before attempt n
        assert.is_true(pauses[1] >= 0 and pauses[1] <= 2)
    end)

    it("stops at an error that is not retryable", function()
        local attempt, calls = script{ { code = "AccessDenied", retryable = false }, { ok = "x" } }
        local out, err = retry.run(attempt, function() end)
        assert.is_nil(out)
        assert.same({ code = "AccessDenied", retryable = false, attempts = 1 }, err)
        assert.equals(1, calls())
    end)

    it("gives up after ATTEMPTS with the last error and its count", function()
        local answers = {}
        for i = 1, retry.ATTEMPTS + 1 do
            answers[i] = { code = "E" .. i, retryable = true }
        end
        local attempt, calls = script(answers)
        local pauses = {}
        local out, err = retry.run(attempt, function(s) pauses[#pauses + 1] = s end)
        assert.is_nil(out)
        assert.equals("E" .. retry.ATTEMPTS, err.code)
        assert.equals(retry.ATTEMPTS, err.attempts)
        assert.equals(retry.ATTEMPTS, calls())
        assert.equals(retry.ATTEMPTS - 1, #pauses)
        for n, s in ipairs(pauses) do
            assert.is_true(s >= 0 and s <= math.min(2 ^ n, retry.MAX_BACKOFF))
        end
    end)

    it("does not pause without a sleep function", function()
        local attempt, calls = script{ { code = "E", retryable = true }, { ok = 1 } }
        assert.equals(1, retry.run(attempt))
        assert.equals(2, calls())
    end)
end)
