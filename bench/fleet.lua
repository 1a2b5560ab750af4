-- bench/fleet.lua: the fleet audit against a local HTTP fake of ACM PCA
-- holding 1,000 CAs (spec/support/fake_acmpca.py --fleet 1000, every
-- signature checked with botocore) that waits 50 ms before every answer.
--
--   lua5.4 bench/fleet.lua            (or luajit bench/fleet.lua)
--   ACMPCA_BENCH_CAS=200 ACMPCA_BENCH_SEQUENTIAL=0 lua5.4 bench/fleet.lua
--
-- Run from the repository root after `make`.  Each measurement runs in a
-- child process of its own (so its peak RSS, VmHWM, is its own): the
-- library's client:audit at concurrency 32 (median of 5 runs), 8 (3
-- runs) and 1 (one run: the sequential baseline, about 50 s), and the
-- `acmpca audit --concurrency 32` command once.  The service quotas are
-- the fake's business here: every run passes rate_limit = false (--rate-
-- limit off).  Prints wall time, requests per second, peak RSS and the
-- speed-up over the sequential run, side by side.

local variant = (jit and "jit") or "5.4"
package.path = "bench/?.lua;lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/" .. variant .. "/?.so;" .. package.cpath

local common = require "common"
local status_kib, median = common.status_kib, common.median

local CAS = tonumber(os.getenv("ACMPCA_BENCH_CAS")) or 1000
local DELAY_MS = tonumber(os.getenv("ACMPCA_BENCH_DELAY_MS")) or 50
local SEQUENTIAL = os.getenv("ACMPCA_BENCH_SEQUENTIAL") ~= "0"
local INTERPRETER = (jit and "luajit") or "lua5.4"


------------------------------------------------------------------------
-- child: one audit, its figures as one line of JSON
------------------------------------------------------------------------

if arg[1] == "--child" then
    local core = require "acmpca.core"
    local cjson = require "cjson"
    local url, concurrency = arg[2], tonumber(arg[3])
    local client = require("acmpca.client").new{
        endpoint = url, region = "us-east-1",
        credentials = require("support.fake_service").credentials,
    }
    local t0 = core.now()
    local rows, s = client:audit{ concurrency = concurrency, rate_limit = false }
    local elapsed = core.now() - t0
    assert(rows, s)
    io.write(cjson.encode{
        elapsed = elapsed, cas = #rows, requests = s.requests,
        complete = s.by_renewal.COMPLETE or 0, throttled = s.throttled,
        hwm_kib = status_kib("VmHWM"),
    }, "\n")
    os.exit(0)
end


------------------------------------------------------------------------
-- parent
------------------------------------------------------------------------

local cjson = require "cjson"
local fake = require "support.fake_service"
local proc = require "support.proc"


local function read_all(cmd)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    return out
end


local function child(url, concurrency)
    local out = read_all(INTERPRETER .. " bench/fleet.lua --child " .. proc.quote(url) .. " "
                         .. concurrency)
    local ok, res = pcall(cjson.decode, out:match("(%b{})%s*$") or "")
    assert(ok and type(res) == "table", "child failed: " .. out)
    assert(res.cas == CAS, "audited " .. tostring(res.cas) .. " CAs, not " .. CAS)
    return res
end


-- `acmpca audit` once: wall time and peak RSS from /usr/bin/time
local function command(url, concurrency)
    local env = "AWS_ACCESS_KEY_ID=" .. proc.quote(fake.credentials.access_key_id)
        .. " AWS_SECRET_ACCESS_KEY=" .. proc.quote(fake.credentials.secret_access_key)
        .. " AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null"
        .. " AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true"
    local cmd = "env -i PATH=/usr/bin:/bin " .. env .. " /usr/bin/time -f '%e %M' "
        .. INTERPRETER .. " bin/acmpca audit --endpoint-url " .. proc.quote(url)
        .. " --concurrency " .. concurrency .. " --rate-limit off --output json"
        .. " 2>&1 >/dev/null | tail -n 1"
    local wall, kib = read_all(cmd):match("([%d.]+) (%d+)")
    return tonumber(wall), tonumber(kib)
end


local svc = fake.start{ fleet = CAS, delay_ms = DELAY_MS }
local url = svc.url
local ok, err = pcall(function()
    print(string.format("bench/fleet.lua (%s): audit of %d CAs, the fake answers after %d ms; "
                        .. "medians", INTERPRETER, CAS, DELAY_MS))
    local rows = {}
    local plan = { { 32, 5 }, { 8, 3 } }
    if SEQUENTIAL then
        plan[#plan + 1] = { 1, 1 }
    end
    for _, p in ipairs(plan) do
        local walls, rates, hwms, req
        walls, rates, hwms = {}, {}, {}
        for i = 1, p[2] do
            svc:reset()
            local r = child(url, p[1])
            walls[i], rates[i], hwms[i], req = r.elapsed, r.requests / r.elapsed,
                r.hwm_kib / 1024, r.requests
        end
        rows[#rows + 1] = { label = "client:audit, concurrency " .. p[1], runs = p[2],
                            wall = median(walls), rate = median(rates), hwm = median(hwms),
                            requests = req }
    end
    svc:reset()
    local wall, kib = command(url, 32)
    rows[#rows + 1] = { label = "acmpca audit --concurrency 32", runs = 1, wall = wall,
                        rate = (CAS + math.ceil(CAS / 100)) / wall, hwm = kib / 1024,
                        requests = CAS + math.ceil(CAS / 100) }

    local seq = SEQUENTIAL and rows[3].wall or nil
    print(string.format("%-34s %4s %9s %9s %10s %9s", "", "runs", "wall s", "req/s",
                        "peak MiB", "speed-up"))
    for _, r in ipairs(rows) do
        print(string.format("%-34s %4d %9.2f %9.0f %10.1f %9s", r.label, r.runs, r.wall,
                            r.rate, r.hwm, seq and string.format("%.1fx", seq / r.wall) or "-"))
    end
    print(string.format("target: %d CAs in at most 3 s at concurrency 32, peak RSS at most "
                        .. "20 MiB", CAS))
end)
svc:stop()
assert(ok, err)
