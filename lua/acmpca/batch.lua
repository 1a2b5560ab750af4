-- acmpca.batch: one task per item, run concurrently, the same way in plain
-- Lua and inside nginx.
--
--   local results, err = batch.run(client, {
--       concurrency = 8,            -- tasks in flight at once
--       rate_limit = "quota",       -- acmpca.pacing
--       produce = function(emit) ... emit(item) ... return true | nil, err end,
--       work = function(item) return result end,
--       failed = function(item, message) return result end,  -- work raised
--       on_progress = function(done, total, result) end,
--   })
--
-- produce runs as a task of its own and emits items while the workers take
-- them (a listing's first page is being worked on while the next is
-- fetched).  results[i] is work(item i), in emission order; err is
-- produce's error (the results of what was emitted before it are kept).
--
-- Backends:
-- * inside nginx (a phase with cosockets): workers are ngx.thread light
--   threads over the client's cosocket transport; sleeps are ngx.sleep;
-- * elsewhere: workers are coroutines on a small scheduler here.  When the
--   client uses the built-in libcurl transport, every request a task sends
--   is started on one libcurl multi handle (core.http_multi: one reused,
--   kept-alive connection per worker) and the task yields until its answer
--   is in; sleeps (retry backoff, pacing) yield too, so one slow or
--   throttled CA never holds up the others.  A client with its own
--   transport (acmpca.mock) keeps it: tasks then interleave at sleeps.
--
-- acmpca.client's call loop asks batch.current() for the batch of the
-- running task: it paces each attempt, sends through the batch and sleeps
-- through it.  Nothing here raises on what arrives: work errors become
-- failed(item, message) results.

local core = require "acmpca.core"
local pacing = require "acmpca.pacing"

local type, pcall, pairs, setmetatable, tostring, error =
    type, pcall, pairs, setmetatable, tostring, error
local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_running, co_status = coroutine.running, coroutine.status
local traceback = debug.traceback
local min, max, floor = math.min, math.max, math.floor
local remove = table.remove
local fmt = string.format

local _M = { _VERSION = "0.2.0" }

local DEFAULT_CONCURRENCY = 4
local MAX_CONCURRENCY = 256
local PARK_POLL = 0.005 -- s between looks for new items (nginx backend)

-- the batch of each running task (a coroutine or an ngx light thread)
local of = setmetatable({}, { __mode = "k" })

local mt = { __index = {} }
local B = mt.__index

local SEND, SLEEP, PARK = {}, {}, {} -- what a task yields to the scheduler


-- how many batches are running in this Lua state: while none is, a call
-- need not look its coroutine up (the common case costs one field read)
_M.running = 0

--- batch.current() -> the batch of the running task, or nil
function _M.current()
    if _M.running == 0 then
        return nil
    end
    return of[co_running()]
end


local function in_ngx_threads()
    if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function"
       or type(ngx.thread) ~= "table" then
        return false
    end
    local phase = ngx.get_phase()
    return phase == "rewrite" or phase == "access" or phase == "content"
        or phase == "timer" or phase == "ssl_cert" or phase == "ssl_session_fetch"
end


------------------------------------------------------------------------
-- what a running task asks of its batch (acmpca.client's call loop)
------------------------------------------------------------------------

--- batch.sleeper(fallback) -> the sleep a call should use: the running
-- batch's (the task waits, the others go on) or, outside one, fallback
function _M.sleeper(fallback)
    local b = _M.current()
    if not b then
        return fallback
    end
    return function(seconds) return b:sleep(seconds) end
end


--- batch:sends() -> true when requests go through batch:send
function B.sends(self)
    return self.multi ~= nil
end


--- batch:send(req) -> res | nil, err  (the task yields until the answer)
function B.send(_, req)
    return co_yield(SEND, req)
end


--- batch:sleep(seconds): the task waits; the others go on
function B.sleep(self, seconds)
    if seconds ~= seconds or seconds <= 0 then
        return
    end
    if self.ngx then
        return ngx.sleep(seconds)
    end
    return co_yield(SLEEP, seconds)
end


--- batch:pace(op): wait for the operation's next slot (acmpca.pacing)
function B.pace(self, op)
    local wait = self.pacing:delay(op, self.now())
    if wait > 0 then
        self.paced = self.paced + wait
        self:sleep(wait)
    end
end


--- batch:feedback(op, err): an answer came back (err nil: success)
function B.feedback(self, op, err)
    self.requests = self.requests + 1
    if type(err) == "table" and err.throttling then
        self.throttled = self.throttled + 1
    end
    self.pacing:feedback(op, err, self.now())
end


------------------------------------------------------------------------
-- the items, shared by the workers
------------------------------------------------------------------------

local function take(self)
    local i = self.taken + 1
    if i <= self.emitted then
        self.taken = i
        return i
    end
    return nil
end


local function run_one(self, i)
    local item = self.items[i]
    local ok, res = pcall(self.work, item)
    if not ok then
        local okf, r = pcall(self.failed, item, tostring(res))
        res = okf and r or { error = tostring(res) }
    end
    self.results[i] = res
    self.items[i] = nil
    self.done = self.done + 1
    if self.on_progress then
        pcall(self.on_progress, self.done, self.produced and self.emitted or nil, res)
    end
end


local function worker(self)
    while true do
        local i = take(self)
        if i then
            run_one(self, i)
        elseif self.produced then
            return
        else
            self:park()
        end
    end
end


local function producer(self)
    local function emit(item)
        self.emitted = self.emitted + 1
        self.items[self.emitted] = item
        self:wake_one()
    end
    local ok, res, err = pcall(self.produce, emit)
    if not ok then
        self.err = core.new_error{ code = "InternalError", message = tostring(res),
                                   retryable = false }
    elseif not res then
        self.err = err
    end
    self.produced = true
    self:wake_all()
end


------------------------------------------------------------------------
-- backend: coroutines (and a libcurl multi handle)
------------------------------------------------------------------------

local function fifo()
    return { head = 1, tail = 0 }
end

local function push(q, v)
    q.tail = q.tail + 1
    q[q.tail] = v
end

local function shift(q)
    if q.head > q.tail then
        return nil
    end
    local v = q[q.head]
    q[q.head] = nil
    q.head = q.head + 1
    return v
end


local function wake_one_co(self)
    local co = remove(self.parked, 1)
    if co then
        push(self.ready, { co })
    end
end


local function wake_all_co(self)
    while #self.parked > 0 do
        wake_one_co(self)
    end
end


local function park_co()
    co_yield(PARK)
end


-- sleepers: kept sorted by wake time (few at a time: a plain insertion)
local function add_sleeper(self, co, wake)
    local s = self.sleepers
    local i = #s
    while i > 0 and s[i].wake > wake do
        s[i + 1] = s[i]
        i = i - 1
    end
    s[i + 1] = { wake = wake, co = co }
end


local function step(self, co, ...)
    of[co] = self
    local ok, what, arg = co_resume(co, ...)
    if not ok then
        -- the task wrappers catch errors: this is a bug in this file
        self.crash = self.crash or traceback(co, tostring(what))
        self.live = self.live - 1
        return
    end
    if co_status(co) == "dead" then
        self.live = self.live - 1
        return
    end
    if what == SEND then
        local id, err = self.multi:start(arg)
        if id then
            self.transfers[id] = co
        else
            push(self.ready, { co, nil, err })
        end
    elseif what == SLEEP then
        add_sleeper(self, co, self.now() + arg)
    elseif what == PARK then
        self.parked[#self.parked + 1] = co
    else
        -- a yield that is not ours (code inside a task yielding on its
        -- own): give it back nothing and go on
        push(self.ready, { co })
    end
end


local function wake_sleepers(self, now)
    local s = self.sleepers
    local n = 0
    while n < #s and s[n + 1].wake <= now do
        n = n + 1
        push(self.ready, { s[n].co })
    end
    if n > 0 then
        for i = 1, #s - n do
            s[i] = s[i + n]
        end
        for i = #s - n + 1, #s do
            s[i] = nil
        end
    end
end


local function collect(self, timeout)
    local m = self.multi
    local id, res, err = m:wait(timeout)
    if not id and res then
        -- the multi handle itself failed: every transfer in flight did
        for tid, co in pairs(self.transfers) do
            self.transfers[tid] = nil
            push(self.ready, { co, nil, res })
        end
        return
    end
    while id do
        local co = self.transfers[id]
        self.transfers[id] = nil
        push(self.ready, { co, res, err })
        id, res, err = m:wait(0)
    end
end


local function loop(self)
    while self.live > 0 do
        local r = shift(self.ready)
        if r then
            step(self, r[1], r[2], r[3])
        else
            local now = self.now()
            wake_sleepers(self, now)
            if self.ready.head > self.ready.tail then
                local nexts = self.sleepers[1]
                local busy = self.multi and self.multi:active() > 0
                if busy then
                    collect(self, nexts and max(0, min(1, nexts.wake - now)) or 1)
                elseif nexts then
                    self.idle(nexts.wake - now)
                elseif #self.parked > 0 then
                    -- nobody left to emit: let the parked workers end
                    self.produced = true
                    wake_all_co(self)
                else
                    break
                end
            end
        end
    end
end


local function run_coroutines(self, workers)
    self.ready, self.sleepers, self.parked, self.transfers = fifo(), {}, {}, {}
    self.wake_one, self.wake_all, self.park = wake_one_co, wake_all_co, park_co
    self.live = workers + 1
    push(self.ready, { co_create(function() producer(self) end) })
    for _ = 1, workers do
        push(self.ready, { co_create(function() worker(self) end) })
    end
    loop(self)
end


------------------------------------------------------------------------
-- backend: nginx light threads
------------------------------------------------------------------------

local function nop() end

local function park_ngx()
    ngx.sleep(PARK_POLL)
end


local function run_ngx(self, workers)
    self.ngx = true
    self.wake_one, self.wake_all, self.park = nop, nop, park_ngx
    local spawn, wait = ngx.thread.spawn, ngx.thread.wait
    local function task(fn)
        return function()
            of[co_running()] = self
            return fn(self)
        end
    end
    local threads = { spawn(task(producer)) }
    for i = 1, workers do
        threads[i + 1] = spawn(task(worker))
    end
    for i = 1, #threads do
        local ok, err = wait(threads[i])
        if not ok then
            self.crash = self.crash or tostring(err)
        end
    end
end


------------------------------------------------------------------------
-- run
------------------------------------------------------------------------

--- batch.check_concurrency(v, fn) -> v: an integer from 1 to 256 (nil: the default)
function _M.check_concurrency(v, fn)
    if v == nil then
        return DEFAULT_CONCURRENCY
    end
    if type(v) ~= "number" or v ~= floor(v) or v < 1 or v > MAX_CONCURRENCY then
        error(fmt("acmpca.%s: concurrency: expected an integer from 1 to %d, got %s",
                  fn, MAX_CONCURRENCY, tostring(v)), 3)
    end
    return v
end

_M.DEFAULT_CONCURRENCY = DEFAULT_CONCURRENCY


-- The client's multi handle for n workers (kept in its state between batches:
-- its connections stay alive).
local function multi_for(client, n)
    local st = client:_state()
    local m = st.multi
    if m and st.multi_size >= n then
        return m
    end
    if m then
        m:close()
    end
    m = core.http_multi{
        connections = n, timeout = st.timeout, connect_timeout = st.connect_timeout,
        ca_file = st.ca_file,
    }
    st.multi, st.multi_size = m, n
    return m
end


--- batch.run(client, opts) -> results, err, stats
-- stats: { requests =, throttled =, paced = seconds spent waiting for
-- pacing, backend = "ngx" | "multi" | "coroutines" }
function _M.run(client, opts)
    local pace, why = pacing.new(opts.rate_limit)
    if not pace then
        error("acmpca." .. (opts.name or "batch") .. ": " .. why, 3)
    end
    local st = client:_state()
    local self = setmetatable({
        produce = opts.produce, work = opts.work, on_progress = opts.on_progress,
        failed = opts.failed or function(_, message) return { error = message } end,
        pacing = pace, now = opts.now or st.now or core.now, idle = st.sleep,
        items = {}, results = {}, emitted = 0, taken = 0, done = 0, produced = false,
        requests = 0, throttled = 0, paced = 0,
    }, mt)
    local workers = opts.concurrency or DEFAULT_CONCURRENCY
    local backend = in_ngx_threads() and "ngx" or st.transport == nil and "multi"
        or "coroutines"
    if backend == "multi" then
        -- one connection per worker, and the listing's
        self.multi = multi_for(client, min(MAX_CONCURRENCY, workers + 1))
    end
    _M.running = _M.running + 1
    if backend == "ngx" then
        run_ngx(self, workers)
    else
        run_coroutines(self, workers)
    end
    _M.running = _M.running - 1
    if self.crash then
        error("acmpca.batch: internal error: " .. self.crash, 0)
    end
    return self.results, self.err, {
        requests = self.requests, throttled = self.throttled, paced = self.paced,
        backend = backend,
    }
end


return _M
