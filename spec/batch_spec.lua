-- acmpca.batch: tasks run concurrently on the coroutine scheduler; pacing,
-- throttling and sleeps go through the batch.  A fake clock makes time
-- deterministic: sleeping advances it.
local batch = require "acmpca.batch"
local client_mod = require "acmpca.client"

local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }
local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"


local function clock()
    local c = { t = 1000, slept = {} }
    c.now = function() return c.t end
    c.sleep = function(s)
        c.slept[#c.slept + 1] = s
        c.t = c.t + s
    end
    return c
end


-- A client whose transport answers ListPermissions from answer(n, req).
local function client_with(answer, c)
    local n = 0
    local cl = client_mod.new{
        region = "us-east-1", credentials = CREDS, now = c.now, sleep = c.sleep,
        transport = function(req)
            n = n + 1
            local status, body = answer(n, req)
            return { status = status, headers = { ["x-amzn-requestid"] = "r" .. n },
                     body = body }
        end,
    }
    return cl, function() return n end
end


local function ok_answer()
    return 200, '{"Permissions": []}'
end


local function items(n)
    return function(emit)
        for i = 1, n do
            emit(i)
        end
        return true
    end
end


describe("acmpca.batch", function()

    it("runs work for every item and keeps the emission order", function()
        local c = clock()
        local cl = client_with(ok_answer, c)
        local results, err, stats = batch.run(cl, {
            concurrency = 3, produce = items(10),
            work = function(i) return i * i end,
        })
        assert.is_nil(err)
        assert.are.same({ 1, 4, 9, 16, 25, 36, 49, 64, 81, 100 }, results)
        assert.are.equal("coroutines", stats.backend)
    end)

    it("interleaves tasks at their sleeps: N sleepers take one sleep, not N", function()
        local c = clock()
        local cl = client_with(ok_answer, c)
        local function sleepy()
            return function(i)
                batch.current():sleep(1)
                return i
            end
        end
        batch.run(cl, { concurrency = 4, produce = items(4), work = sleepy() })
        assert.are.equal(1001, c.t)
        c.t = 1000
        batch.run(cl, { concurrency = 1, produce = items(4), work = sleepy() })
        assert.are.equal(1004, c.t)
        c.t = 1000
        batch.run(cl, { concurrency = 2, produce = items(5), work = sleepy() })
        assert.are.equal(1003, c.t)
    end)

    it("is current only inside a task", function()
        assert.is_nil(batch.current())
        local c = clock()
        local seen
        batch.run(client_with(ok_answer, c), {
            produce = items(1), work = function() seen = batch.current() end,
        })
        assert.is_table(seen)
        assert.is_nil(batch.current())
    end)

    it("turns a task that raises into that item's failed result; the others go on", function()
        local c = clock()
        local results = batch.run(client_with(ok_answer, c), {
            concurrency = 2, produce = items(4),
            work = function(i)
                if i == 2 then
                    error("boom " .. i)
                end
                return "ok " .. i
            end,
            failed = function(i, message) return { item = i, message = message } end,
        })
        assert.are.equal("ok 1", results[1])
        assert.are.equal(2, results[2].item)
        assert.matches("boom 2", results[2].message, 1, true)
        assert.are.equal("ok 4", results[4])
    end)

    it("keeps what was emitted when the producer fails midway", function()
        local c = clock()
        local failure = { code = "InvalidNextTokenException", message = "bad token" }
        local results, err = batch.run(client_with(ok_answer, c), {
            concurrency = 2,
            produce = function(emit)
                emit("a")
                emit("b")
                return nil, failure
            end,
            work = function(x) return x .. "!" end,
        })
        assert.are.same({ "a!", "b!" }, results)
        assert.are.equal(failure, err)
    end)

    it("turns a producer that raises into an InternalError", function()
        local c = clock()
        local results, err = batch.run(client_with(ok_answer, c), {
            produce = function() error("listing broke") end,
            work = function(x) return x end,
        })
        assert.are.same({}, results)
        assert.are.equal("InternalError", err.code)
        assert.matches("listing broke", err.message, 1, true)
    end)

    it("reports progress, with the total once the listing is complete", function()
        local c = clock()
        local seen = {}
        batch.run(client_with(ok_answer, c), {
            concurrency = 1, produce = items(3), work = function(i) return i end,
            on_progress = function(done, total, r) seen[#seen + 1] = { done, total, r } end,
        })
        assert.are.equal(3, #seen)
        assert.are.same({ 3, 3, 3 }, seen[3])
        for i, s in ipairs(seen) do
            assert.are.equal(i, s[1])
        end
    end)

    it("paces a client's calls under the operation's quota", function()
        local c = clock()
        local cl, calls = client_with(ok_answer, c)
        local _, _, stats = batch.run(cl, {
            concurrency = 8, produce = items(20),
            work = function(i) return (cl:list_permissions{ ca_arn = ARN .. i }) end,
        })
        assert.are.equal(20, calls())
        assert.are.equal(20, stats.requests)
        -- 5 at once, then 15 more at 5 per second
        assert.are.near(1003, c.t, 1e-6)
        assert.is_true(stats.paced > 0)
    end)

    it("does not pace with rate_limit = false", function()
        local c = clock()
        local cl = client_with(ok_answer, c)
        batch.run(cl, {
            concurrency = 8, produce = items(20), rate_limit = false,
            work = function(i) return (cl:list_permissions{ ca_arn = ARN .. i }) end,
        })
        assert.are.equal(1000, c.t)
    end)

    it("rides out throttling: the batch slows down and every call succeeds", function()
        local c = clock()
        -- the first 12 answers are throttled
        local cl, calls = client_with(function(n)
            if n <= 12 then
                return 400, '{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            end
            return 200, '{"Permissions": []}'
        end, c)
        local results, _, stats = batch.run(cl, {
            concurrency = 4, produce = items(6), rate_limit = false,
            work = function(i)
                local res, err = cl:list_permissions{ ca_arn = ARN .. i }
                return res and "ok" or err.code
            end,
        })
        assert.are.same({ "ok", "ok", "ok", "ok", "ok", "ok" }, results)
        assert.are.equal(18, calls())
        assert.are.equal(12, stats.throttled)
        -- and the retry quota was not spent on them
        assert.are.equal(500, cl:_state().quota)
    end)

    it("gives up on a call throttled on every attempt, after 10 attempts", function()
        local c = clock()
        local cl, calls = client_with(function()
            return 400, '{"__type": "ThrottlingException", "message": "Rate exceeded"}'
        end, c)
        local results = batch.run(cl, {
            concurrency = 1, produce = items(1),
            work = function()
                local _, err = cl:list_permissions{ ca_arn = ARN .. "x" }
                return err
            end,
        })
        assert.are.equal("ThrottlingException", results[1].code)
        assert.are.equal(10, results[1].attempts)
        assert.are.equal(10, calls())
    end)

    it("refuses a bad concurrency and a bad rate_limit", function()
        assert.has_error(function() batch.check_concurrency(0, "audit") end,
                         "acmpca.audit: concurrency: expected an integer from 1 to 256, got 0")
        assert.has_error(function() batch.check_concurrency(1.5, "audit") end)
        assert.are.equal(batch.DEFAULT_CONCURRENCY, batch.check_concurrency(nil, "audit"))
        local c = clock()
        assert.has_error(function()
            batch.run(client_with(ok_answer, c), {
                name = "audit", rate_limit = "fast", produce = items(1), work = tostring,
            })
        end, 'acmpca.audit: rate_limit: expected "quota", false, a number or a table, got string')
    end)
end)
