-- bench/client.lua: ListPermissions over keep-alive against a local nginx
-- that answers instantly with a canned page (bench/nginx.conf).
--
--   lua5.4 bench/client.lua          (or luajit bench/client.lua)
--   ACMPCA_BENCH_CALLS=200 valgrind --leak-check=full lua5.4 bench/client.lua
--
-- Run from the repository root after `make`.  Prints, as medians over
-- rounds: calls per second, client CPU microseconds per call (os.clock,
-- user + system of this process), the same for a bare transport loop
-- (core.http_new posting the same request: the floor libcurl sets), peak
-- RSS (VmHWM) and RSS after warm-up vs at the end.

local variant = (jit and "jit") or "5.4"
package.path = "bench/?.lua;lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/" .. variant .. "/?.so;" .. package.cpath

local common = require "common"
local status_kib, median = common.status_kib, common.median

local core = require "acmpca.core"
local client = require "acmpca.client"
local socket = require "socket"

local CALLS = tonumber(os.getenv("ACMPCA_BENCH_CALLS")) or 100000
local ROUNDS = tonumber(os.getenv("ACMPCA_BENCH_ROUNDS")) or 10
local WARMUP = math.min(2000, math.max(10, math.floor(CALLS / 50)))
local ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"


local function sh(cmd)
    local ok = os.execute(cmd)
    return ok == true or ok == 0
end


-- nginx on 127.0.0.1:<free port>, prefix in a fresh temporary directory.
local function start_nginx()
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    local dir = os.tmpname()
    os.remove(dir)
    assert(sh("mkdir -p " .. dir .. "/tmp"), "mkdir failed")
    local f = assert(io.open("bench/nginx.conf"))
    local conf = f:read("*a"):gsub("__PORT__", tostring(port))
    f:close()
    f = assert(io.open(dir .. "/nginx.conf", "w"))
    f:write(conf)
    f:close()
    assert(sh("nginx -p " .. dir .. " -c " .. dir .. "/nginx.conf -e " .. dir .. "/error.log"),
           "nginx did not start")
    local pid
    for _ = 1, 200 do
        f = io.open(dir .. "/nginx.pid")
        pid = f and tonumber(f:read("*l"))
        if f then f:close() end
        if pid then break end
        core.sleep(0.01)
    end
    assert(pid, "nginx wrote no pid file")
    return { port = port, pid = pid, dir = dir }
end


local function stop_nginx(ngx_)
    sh("kill " .. ngx_.pid)
    for _ = 1, 200 do
        if not sh("kill -0 " .. ngx_.pid .. " 2>/dev/null") then break end
        core.sleep(0.01)
    end
    sh("rm -rf " .. ngx_.dir)
end


-- Run fn n times per round; returns median calls/s and CPU us/call.
local function measure(n, rounds, fn)
    local rates, cpus = {}, {}
    for r = 1, rounds do
        local t0, c0 = core.now(), os.clock()
        for _ = 1, n do
            fn()
        end
        local t1, c1 = core.now(), os.clock()
        rates[r] = n / (t1 - t0)
        cpus[r] = (c1 - c0) / n * 1e6
    end
    return median(rates), median(cpus)
end


-- Pin this process to one CPU (taskset on our own PID); false if impossible.
local function pin(cpu)
    local f = io.open("/proc/self/stat")
    local pid = f and f:read("*n")
    if f then f:close() end
    return pid ~= nil and sh(("taskset -cp %d %d >/dev/null 2>&1"):format(cpu, pid))
end


local function ncpus()
    local p = io.popen("nproc 2>/dev/null")
    local n = p and tonumber(p:read("*l"))
    if p then p:close() end
    return n or 1
end


local CREDS = { access_key_id = "AKIDEXAMPLE",
                secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local server = start_nginx()
local ok, err = pcall(function()
    local c = client.new{
        endpoint = "http://127.0.0.1:" .. server.port,
        region = "us-east-1",
        credentials = CREDS,
        max_attempts = 1,
    }
    local args = { ca_arn = ARN }

    local function call()
        local res, e = c:list_permissions(args)
        if not res then error(tostring(e)) end
        return res
    end

    -- the floor: the same signed request posted by the bare transport
    local h = core.http_new()
    local req = assert(c:_prepare("list_permissions", args, CREDS))
    local function bare()
        local res = h:request(req)
        if not res or res.status ~= 200 then error("bare request failed") end
    end

    local first = call()
    assert(#first.permissions == 1 and first.permissions[1].principal == "acm.amazonaws.com")
    for _ = 1, WARMUP do call() end
    for _ = 1, WARMUP do bare() end
    collectgarbage()
    local rss_warm = status_kib("VmRSS")
    local per_round = math.max(1, math.floor(CALLS / ROUNDS))

    print(("acmpca bench (%s), %d calls per figure in %d rounds, after %d warm-up calls")
          :format(jit and jit.version or _VERSION, per_round * ROUNDS, ROUNDS, WARMUP))
    -- Loopback round trips cost twice the CPU when client and server sit
    -- on different CPUs (wake-ups across cores), so both placements are
    -- measured; nginx's worker is pinned to CPU 0.
    local placements = { { 0, "client on nginx's CPU" } }
    if ncpus() > 1 then
        placements[2] = { 1, "client on another CPU" }
    end
    local verdict
    for i, p in ipairs(placements) do
        local pinned = pin(p[1])
        local rate, cpu = measure(per_round, ROUNDS, call)
        local bare_rate, bare_cpu = measure(per_round, ROUNDS, bare)
        print(("%s%s:"):format(p[2], pinned and "" or " (taskset failed: unpinned)"))
        print(("  ListPermissions via client: %8.0f calls/s  %6.1f us CPU/call (median)")
              :format(rate, cpu))
        print(("  bare transport, same POST:  %8.0f calls/s  %6.1f us CPU/call (median)")
              :format(bare_rate, bare_cpu))
        print(("  client overhead over the bare transport: %.1f us/call (x%.2f)")
              :format(cpu - bare_cpu, cpu / bare_cpu))
        if i == 1 then
            verdict = { rate = rate, cpu = cpu }
        end
    end
    h:close()
    c:close()
    collectgarbage()
    local rss_end = status_kib("VmRSS")
    local hwm = status_kib("VmHWM")
    print(("memory: RSS after warm-up %.1f MiB, at end %.1f MiB, peak (VmHWM) %.1f MiB")
          :format(rss_warm / 1024, rss_end / 1024, hwm / 1024))
    print(("targets (%s): <= 30 us CPU/call %s, >= 10000 calls/s %s, <= 12 MiB peak %s")
          :format(placements[1][2],
                  verdict.cpu <= 30 and "ok" or "MISSED",
                  verdict.rate >= 10000 and "ok" or "MISSED",
                  hwm <= 12 * 1024 and "ok" or "MISSED"))
end)
stop_nginx(server)
if not ok then
    io.stderr:write("bench failed: ", tostring(err), "\n")
    os.exit(1)
end
