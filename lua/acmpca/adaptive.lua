--- acmpca.adaptive: the client-side rate limiter of the AWS SDKs'
-- "adaptive" retry mode (botocore/retries/adaptive.py, bucket.py and
-- throttling.py; the SDK reference "Retry behavior").
--
--    local rl = adaptive.new{ now = core.now }
--    local wait = rl:acquire()   -- seconds to sleep before sending (0: go)
--    ...send...
--    rl:update(err ~= nil and err.throttling)   -- after every response
--
-- Nothing is limited until the first throttling response.  From then on
-- every attempt takes a token from a bucket filled at the allowed rate
-- (at least 0.5 per second; capacity the rate, at least 1).  The rate
-- follows CUBIC: on a throttle the highest rate becomes the measured send
-- rate (or the bucket's rate, if lower) and the allowed rate drops to 0.7
-- times it; on a success it grows as 0.4 * (t - k)^3 + w_max, k the time
-- CUBIC needs to climb back to w_max; never above twice the measured
-- rate.  The measured rate counts responses in 0.5 s buckets, smoothed
-- 0.8 new / 0.2 old.
--
-- acquire never sleeps: it takes the token at once (the bucket may go
-- below zero) and says how long to wait, so callers sharing a limiter
-- (coroutines of one nginx worker) queue behind each other.  The clock is
-- injected (opts.now, seconds), so specs are deterministic.
--
-- @module acmpca.adaptive

local type = type
local error = error
local floor = math.floor
local min = math.min
local max = math.max
local setmetatable = setmetatable


local _M = { _VERSION = "0.2.0" }

-- botocore's published parameters
local BETA = 0.7              -- CubicCalculator._BETA
local SCALE = 0.4             -- CubicCalculator._SCALE_CONSTANT
local MIN_RATE = 0.5          -- TokenBucket._MIN_RATE
local SMOOTHING = 0.8         -- RateClocker._DEFAULT_SMOOTHING
local BUCKET_SECONDS = 0.5    -- RateClocker._TIME_BUCKET_RANGE
local MAX_ADJUST = 2.0        -- ClientRateLimiter._MAX_RATE_ADJUST_SCALE
_M.BETA, _M.SCALE, _M.MIN_RATE, _M.SMOOTHING = BETA, SCALE, MIN_RATE, SMOOTHING

local mt = {}
mt.__index = mt


-- The bucket's refill up to now (TokenBucket._refill).
local function refill(self, t)
    if self.last_refill == nil then
        self.last_refill = t
        return
    end
    local add = (t - self.last_refill) * self.fill_rate
    self.capacity = min(self.max_capacity, self.capacity + add)
    self.last_refill = t
end


-- A new allowed rate (the TokenBucket.max_rate setter): refill at the old
-- rate first, then the new rate, capacity and cap.
local function set_rate(self, rate, t)
    refill(self, t)
    self.fill_rate = max(rate, MIN_RATE)
    self.max_capacity = rate >= 1 and rate or 1
    self.capacity = min(self.capacity, self.max_capacity)
end


-- CUBIC's zero point: the time to climb back to w_max.
local function zero_point(w_max)
    return (w_max * (1 - BETA) / SCALE) ^ (1 / 3)
end


-- The measured send rate, with this response counted (RateClocker.record).
local function record(self, t)
    local scale = 1 / BUCKET_SECONDS
    local bucket = floor(t * scale) / scale
    self.count = self.count + 1
    if bucket > self.last_bucket then
        local current = self.count / (bucket - self.last_bucket)
        self.measured = current * SMOOTHING + self.measured * (1 - SMOOTHING)
        self.count = 0
        self.last_bucket = bucket
    end
    return self.measured
end


--- adaptive.new{ now = fn } -> limiter.  now: a clock in seconds
-- (required: core.now for a client).
function _M.new(opts)
    if type(opts) ~= "table" or type(opts.now) ~= "function" then
        error("acmpca.adaptive.new: now: expected a function() -> seconds", 2)
    end
    local now = opts.now
    local t = now()
    local self = setmetatable({
        now = now,
        enabled = false,
        -- CUBIC (starting_max_rate 0)
        w_max = 0, k = 0, last_fail = t,
        -- the token bucket (max_rate 1)
        capacity = 0, fill_rate = nil, max_capacity = nil, last_refill = nil,
        -- the rate clocker (its first bucket starts at the whole second)
        measured = 0, count = 0, last_bucket = floor(t),
    }, mt)
    set_rate(self, 1, t)
    return self
end


--- rl:acquire() -> seconds to wait before sending: 0 before the first
-- throttle or when a token is there; the token is taken either way.
function mt:acquire()
    if not self.enabled then
        return 0
    end
    refill(self, self.now())
    local short = 1 - self.capacity
    self.capacity = self.capacity - 1
    if short <= 0 then
        return 0
    end
    return short / self.fill_rate
end


--- rl:update(throttled): after every response (or transport failure),
-- whether it was a throttling error.  Returns the new allowed rate.
function mt:update(throttled)
    local t = self.now()
    local measured = record(self, t)
    local rate
    if throttled then
        local current = measured
        if self.enabled then
            current = min(measured, self.fill_rate)
        end
        self.w_max = current
        self.k = zero_point(current)
        self.last_fail = t
        rate = current * BETA
        self.enabled = true
    else
        local d = t - self.last_fail - self.k
        rate = SCALE * d * d * d + self.w_max
    end
    set_rate(self, min(rate, MAX_ADJUST * measured), t)
    return self.fill_rate
end


--- rl:state() -> a snapshot for tests and debugging: enabled, rate (the
-- bucket's fill rate), capacity, max_capacity, measured, w_max, k, last_fail.
function mt:state()
    return {
        enabled = self.enabled, rate = self.fill_rate, capacity = self.capacity,
        max_capacity = self.max_capacity, measured = self.measured, w_max = self.w_max,
        k = self.k, last_fail = self.last_fail,
    }
end


return _M
