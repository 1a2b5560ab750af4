--- acmpca.retry: the retry loop of the credential services' calls (STS,
-- the SSO portal): at most `ATTEMPTS` attempts, a jittered exponential
-- pause between them (full jitter, `2^(n-1)` seconds at most, capped at
-- `MAX_BACKOFF`), and a stop at the first error that is not retryable.
-- ACM PCA's own calls retry in acmpca.client (standard/adaptive modes).
-- @module acmpca.retry

local math_min, math_random = math.min, math.random

local _M = { _VERSION = "0.2.0" }

--- Attempts per call.
_M.ATTEMPTS = 3
--- Seconds of pause at most between two attempts.
_M.MAX_BACKOFF = 5


--- Calls attempt() until it succeeds, fails for good or runs out of
-- attempts.
-- @tparam function attempt returns a result, or nil and an error object
--   (a table; its `retryable` decides)
-- @tparam[opt] function sleep pauses so many seconds between attempts
--   (none given: no pause)
-- @return the result; or nil and the last error, its `attempts` set
function _M.run(attempt, sleep)
    local err
    for n = 1, _M.ATTEMPTS do
        if n > 1 and sleep then
            sleep(math_min(math_random() * 2 ^ (n - 1), _M.MAX_BACKOFF))
        end
        local out
        out, err = attempt()
        if out then
            return out
        end
        err.attempts = n
        if not err.retryable then
            break
        end
    end
    return nil, err
end


return _M
