-- acmpca.adaptive: the adaptive retry mode's rate limiter, replayed
-- against botocore's own classes (spec/fixtures/adaptive/botocore.json,
-- written by spec/support/adaptive_botocore.py) on a fake clock, and the
-- client's use of it (retry_mode = "adaptive").
local adaptive = require "acmpca.adaptive"
local cjson = require "cjson"

local PYTHON = "/usr/bin/python3"
local client = require "acmpca.client"

local ARN = "arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/"
    .. "12345678-1234-1234-1234-123456789012"
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "placeholder-secret" }


local function read_fixture()
    local f = assert(io.open("spec/fixtures/adaptive/botocore.json", "rb"))
    local rows = cjson.decode(f:read("*a"))
    f:close()
    return rows
end


-- A clock the spec moves by hand.
local function fake_clock(t)
    local clock = { t = t }
    function clock.now()
        return clock.t
    end
    return clock
end


local function near(expected, got, what)
    local tol = 1e-9 * math.max(1, math.abs(expected))
    assert(math.abs(expected - got) <= tol,
           ("%s: expected %.17g, got %.17g"):format(what, expected, got))
end


-- Replays rows (the events with botocore's state after each) on a new
-- limiter; every compared value must match.
local function replay(rows)
    local clock = fake_clock(rows[1].t)
    local rl = adaptive.new{ now = clock.now }
    local compared = 0
    for i, row in ipairs(rows) do
        local where = ("event %d (t = %s)"):format(i, row.t)
        clock.t = math.max(clock.t, row.t)
        local wait
        if row.send then
            wait = rl:acquire()
            near(row.wait, wait, where .. " wait")
            clock.t = clock.t + wait
        else
            rl:update(row.throttled)
        end
        local st = rl:state()
        assert.are.equal(row.enabled, st.enabled, where .. " enabled")
        near(row.rate, st.rate, where .. " rate")
        near(row.measured, st.measured, where .. " measured")
        near(row.w_max, st.w_max, where .. " w_max")
        near(row.k, st.k, where .. " k")
        near(row.last_fail, st.last_fail, where .. " last_fail")
        near(row.clock, clock.t, where .. " clock")
        -- after a wait botocore has slept and then taken the token; the
        -- limiter took it before (the capacity then differs by the wait's
        -- refill until the next refill): compare where both have refilled
        if not row.send or wait == 0 then
            near(row.capacity, st.capacity, where .. " capacity")
        end
        compared = compared + 1
    end
    return compared
end


local function has_botocore()
    local p = io.popen(PYTHON .. ' -c "import botocore.retries.adaptive" 2>/dev/null; echo $?')
    local out = p and p:read("*a") or ""
    if p then
        p:close()
    end
    return out:match("^0") ~= nil
end


describe("acmpca.adaptive", function()
    describe("new", function()
        it("wants a clock", function()
            assert.has_error(function() adaptive.new() end,
                "acmpca.adaptive.new: now: expected a function() -> seconds")
            assert.has_error(function() adaptive.new{ now = 5 } end,
                "acmpca.adaptive.new: now: expected a function() -> seconds")
        end)
    end)

    describe("against botocore's classes", function()
        it("matches the committed run step by step (CUBIC, bucket, measured rate)", function()
            local rows = read_fixture()
            assert.is_true(#rows > 200)
            -- the run has throttles, waits and a CUBIC climb to compare
            local throttles, waits = 0, 0
            for _, r in ipairs(rows) do
                throttles = throttles + (r.throttled and 1 or 0)
                waits = waits + ((r.wait or 0) > 0 and 1 or 0)
            end
            assert.is_true(throttles >= 4 and waits >= 10)
            assert.are.equal(#rows, replay(rows))
        end)

        it("matches botocore run live", function()
            if not has_botocore() then
                pending(PYTHON .. " cannot import botocore.retries.adaptive")
                return
            end
            local p = assert(io.popen(PYTHON .. " spec/support/adaptive_botocore.py"))
            local live = cjson.decode(p:read("*a"))
            p:close()
            assert.are.same(read_fixture(), live)
            replay(live)
        end)

        it("fails on a rate that is off (the replay can fail)", function()
            local rows = read_fixture()
            for _, r in ipairs(rows) do
                if r.throttled then
                    r.rate = r.rate * 1.001
                    break
                end
            end
            assert.has_error(function() replay(rows) end)
        end)
    end)

    describe("acquire and update", function()
        it("limits nothing before the first throttle", function()
            local clock = fake_clock(0)
            local rl = adaptive.new{ now = clock.now }
            for _ = 1, 1000 do
                assert.are.equal(0, rl:acquire())
                rl:update(false)
            end
            assert.is_false(rl:state().enabled)
        end)

        it("drops to 0.7 times the measured rate on a throttle", function()
            local clock = fake_clock(10)
            local rl = adaptive.new{ now = clock.now }
            -- 20 responses a second for 3 seconds
            for _ = 1, 60 do
                clock.t = clock.t + 0.05
                rl:update(false)
            end
            local measured = rl:state().measured
            assert.is_true(measured > 15 and measured < 25, measured)
            clock.t = clock.t + 0.05
            rl:update(true)
            local st = rl:state()
            assert.is_true(st.enabled)
            near(st.measured * 0.7, st.rate, "rate")
        end)

        it("never sends faster than the rate once enabled", function()
            local clock = fake_clock(100)
            local rl = adaptive.new{ now = clock.now }
            for _ = 1, 40 do
                clock.t = clock.t + 0.1
                rl:update(false)
            end
            rl:update(true)
            -- a caller that sends as soon as the limiter lets it, with
            -- every response a throttle: the rate only falls
            local start, sent = clock.t, 0
            local rate0 = rl:state().rate
            local cap0 = rl:state().max_capacity
            for _ = 1, 200 do
                clock.t = clock.t + rl:acquire()
                sent = sent + 1
                rl:update(true)
            end
            local elapsed = clock.t - start
            -- the bucket starts with at most cap0 tokens, then fills at
            -- no more than rate0 (the highest rate it had)
            assert.is_true(sent <= cap0 + rate0 * elapsed + 1e-9,
                           ("%d sends in %.3f s at %.3f/s"):format(sent, elapsed, rate0))
            assert.is_true(rl:state().rate >= adaptive.MIN_RATE)
            near(adaptive.MIN_RATE, rl:state().rate, "floor")
        end)

        it("queues callers sharing a limiter (a token is taken at once)", function()
            local clock = fake_clock(0)
            local rl = adaptive.new{ now = clock.now }
            rl:update(true) -- measured 0: the rate floors at 0.5/s
            local first, second, third = rl:acquire(), rl:acquire(), rl:acquire()
            near(2, first, "first")
            near(4, second, "second")
            near(6, third, "third")
        end)
    end)
    describe("in the client (retry_mode = adaptive)", function()
        -- A client on a fake clock: each send takes 0.01 s, sleeping moves
        -- the clock; answers[i] (true: throttled) for the i-th request.
        local function run(mode, answers, calls)
            local clock = { t = 5000 }
            local sleeps, sent = {}, {}
            local c = client.new{
                region = "eu-west-1", credentials = CREDS, retry_mode = mode, max_attempts = 1,
                getenv = function() return nil end,
                now = function() return clock.t end,
                sleep = function(s)
                    sleeps[#sleeps + 1] = { s = s, after = #sent }
                    clock.t = clock.t + s
                end,
                transport = function()
                    sent[#sent + 1] = clock.t
                    clock.t = clock.t + 0.01
                    if answers[#sent] then
                        return { status = 400, headers = {}, body = cjson.encode{
                            __type = "ThrottlingException", message = "slow down" } }
                    end
                    return { status = 200, headers = {}, body = "{}" }
                end,
            }
            local errs = {}
            for i = 1, calls do
                local ok, err = c:delete_permission{ ca_arn = ARN, principal = "acm.amazonaws.com" }
                errs[i] = ok and true or err.code
            end
            return sleeps, sent, errs, c
        end

        it("waits for nothing before the first throttle", function()
            local sleeps, sent = run("adaptive", {}, 100)
            assert.are.equal(100, #sent)
            assert.are.same({}, sleeps)
        end)

        it("waits for the bucket after a throttle, at no more than the rate", function()
            local sleeps, sent, errs, c = run("adaptive", { [30] = true }, 80)
            assert.are.equal("ThrottlingException", errs[30])
            assert.are.equal(80, #sent)
            for _, z in ipairs(sleeps) do
                assert.is_true(z.after >= 30 and z.s > 0)
            end
            assert.is_true(c:_state().limiter:state().enabled)
            assert.is_true(#sleeps > 10, #sleeps)
            -- unlimited, the 50 requests after the throttle take 0.49 s
            local elapsed = sent[80] - sent[31]
            assert.is_true(elapsed > 0.49 * 1.3, elapsed)
        end)

        it("leaves standard mode unlimited after a throttle", function()
            local sleeps, sent, errs, c = run("standard", { [30] = true }, 80)
            assert.are.equal("ThrottlingException", errs[30])
            assert.are.equal(80, #sent)
            assert.are.same({}, sleeps)
            assert.is_nil(c:_state().limiter)
        end)

        it("counts each attempt of a retried call", function()
            local clock = { t = 0 }
            local n = 0
            local c = client.new{
                region = "eu-west-1", credentials = CREDS, retry_mode = "adaptive",
                getenv = function() return nil end,
                now = function() return clock.t end,
                sleep = function(s) clock.t = clock.t + s end,
                transport = function()
                    n = n + 1
                    clock.t = clock.t + 0.01
                    if n == 1 then
                        return { status = 400, headers = {}, body = cjson.encode{
                            __type = "ThrottlingException", message = "slow down" } }
                    end
                    return { status = 200, headers = {}, body = "{}" }
                end,
            }
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = "acm.amazonaws.com" })
            assert.are.equal(2, n)
            assert.is_true(c:_state().limiter:state().enabled)
        end)
    end)
end)
