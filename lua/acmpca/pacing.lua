-- acmpca.pacing: client-side request-rate limits for a batch of calls.
--
--   local pace = pacing.new("quota")   -- or false, a number, a table
--   local wait = pace:delay("ListPermissions", now)   -- seconds to wait, a slot taken
--   pace:feedback("ListPermissions", err, now)        -- after each answer
--
-- ACM PCA throttles each operation per account and region (a token bucket
-- on the service side; over it, ThrottlingException).  A batch that fans
-- out over a fleet of CAs would hit those quotas at once, so it paces
-- itself: one token bucket per operation, refilled at the operation's
-- rate, with one second's worth of burst.
--
-- rate_limit:
--   "quota" (default)  the published default quotas below;
--   false              no ceiling until the service throttles;
--   a number           that many requests per second for every operation;
--   a table            { ListPermissions = 50, ... } over the quotas.
--
-- Throttling answers lower the operation's rate (x0.7, at most once per
-- second, never under 0.2/s), as the SDKs' adaptive retry mode does; each
-- success then raises it by a twentieth of the ceiling (or of the rate
-- measured before the first throttle), so a batch settles just under what
-- the service accepts instead of failing.

local type, pairs, tostring, setmetatable = type, pairs, tostring, setmetatable
local min, max = math.min, math.max
local fmt = string.format

local _M = { _VERSION = "0.2.0" }

-- Default request-rate quotas of AWS Private CA, requests per second per
-- account and Region (Service Quotas, "AWS Certificate Manager Private
-- Certificate Authority (ACM PCA)"; none adjustable):
_M.QUOTAS = {
    ListCertificateAuthorities = 20,   -- L-5A3CF806
    DescribeCertificateAuthority = 20, -- L-46ADAC63
    ListPermissions = 5,               -- L-20AFF03D
    CreatePermission = 1,              -- L-773738D3
    DeletePermission = 1,              -- L-511291FD
    GetPolicy = 5,                     -- L-3549B861
    PutPolicy = 5,                     -- L-506CC328
    DeletePolicy = 5,                  -- L-F4B48431
}

local BACKOFF = 0.7    -- rate factor per throttling answer
local MIN_RATE = 0.2   -- requests per second, the floor
local CALM = 1.0       -- seconds between two reductions
local WINDOW = 16      -- send times kept to measure the rate

local mt = { __index = {} }
local methods = mt.__index


local function rate_ok(v)
    return type(v) == "number" and v == v and v > 0 and v ~= math.huge
end


local function bad_rate(k, v)
    return nil, fmt("%s: expected a positive number of requests per second, got %s",
                    k, tostring(v))
end


-- rate_limit -> { [op] = rate } (["*"]: every other operation), or nil, why
local function ceilings(rate_limit)
    local out = {}
    if rate_limit == nil or rate_limit == "quota" or rate_limit == true then
        for op, r in pairs(_M.QUOTAS) do
            out[op] = r
        end
    elseif rate_limit == false then
        return out
    elseif type(rate_limit) == "number" then
        if not rate_ok(rate_limit) then
            return bad_rate("rate_limit", rate_limit)
        end
        for op in pairs(_M.QUOTAS) do
            out[op] = rate_limit
        end
        out["*"] = rate_limit
    elseif type(rate_limit) == "table" then
        for op, r in pairs(_M.QUOTAS) do
            out[op] = r
        end
        for op, r in pairs(rate_limit) do
            if type(op) ~= "string" or not _M.QUOTAS[op] then
                return nil, fmt("rate_limit: unknown operation %s (expected an operation "
                                .. "name such as ListPermissions)", tostring(op))
            end
            if r ~= false and not rate_ok(r) then
                return bad_rate("rate_limit." .. op, r)
            end
            out[op] = r or nil
        end
    else
        return nil, fmt('rate_limit: expected "quota", false, a number or a table, got %s',
                        type(rate_limit))
    end
    return out
end


--- pacing.new(rate_limit) -> pace | nil, why (a bad rate_limit)
function _M.new(rate_limit)
    local caps, why = ceilings(rate_limit)
    if not caps then
        return nil, why
    end
    return setmetatable({ caps = caps, buckets = {} }, mt)
end


local function bucket(self, op, now)
    local b = self.buckets[op]
    if not b then
        local cap = self.caps[op] or self.caps["*"]
        b = { cap = cap, rate = cap, tokens = cap and max(1, cap) or 0, last = now,
              sent = {}, n = 0, cut = -math.huge, throttles = 0 }
        self.buckets[op] = b
    end
    return b
end


-- requests per second over the last WINDOW sends (nil: too few to say)
local function measured(b)
    local n = min(b.n, WINDOW)
    if n < 2 then
        return nil
    end
    local newest = b.sent[(b.n - 1) % WINDOW + 1]
    local oldest = b.sent[(b.n - n) % WINDOW + 1]
    local span = newest - oldest
    return span > 0 and (n - 1) / span or nil
end


--- pace:delay(op, now) -> seconds to wait before sending (0: go now).
-- The slot is taken: the caller sends after waiting that long.
function methods.delay(self, op, now)
    local b = bucket(self, op, now)
    b.n = b.n + 1
    b.sent[(b.n - 1) % WINDOW + 1] = now
    local rate = b.rate
    if not rate then
        return 0
    end
    local burst = max(1, b.cap or rate)
    b.tokens = min(burst, b.tokens + (now - b.last) * rate)
    b.last = now
    b.tokens = b.tokens - 1
    if b.tokens >= 0 then
        return 0
    end
    return -b.tokens / rate
end


--- pace:feedback(op, err, now): an answer came back (err nil: success).
function methods.feedback(self, op, err, now)
    local b = bucket(self, op, now)
    if type(err) == "table" and err.throttling then
        b.throttles = b.throttles + 1
        if now - b.cut < CALM then
            return
        end
        b.cut = now
        local base = b.rate or measured(b) or 1
        if b.rate then
            -- what the old rate earned until now (a slot reserved ahead
            -- of time is paid back, not carried over as debt)
            b.tokens = min(max(1, b.cap or b.rate), b.tokens + (now - b.last) * b.rate)
        end
        b.last = now
        b.ceiling = b.ceiling or b.cap or base
        b.rate = max(MIN_RATE, base * BACKOFF)
        -- no burst right after a throttle
        b.tokens = min(b.tokens, 0)
    elseif err == nil and b.ceiling and b.rate then
        b.rate = min(b.ceiling, b.rate + b.ceiling / 20)
    end
end


--- pace:rate(op) -> the current rate (nil: unlimited), the throttles seen
function methods.rate(self, op)
    local b = self.buckets[op]
    if not b then
        local cap = self.caps[op] or self.caps["*"]
        return cap, 0
    end
    return b.rate, b.throttles
end


return _M
