-- Benchmark: SigV4-sign the ACM PCA CreatePermission request in a loop.
--
--   lua5.4 bench/sign.lua [rounds] [signatures per round]
--   luajit bench/sign.lua
--
-- Run from the repository root after `make` (and `make build/sign_c` for
-- the C figure; `make bench` builds both); it picks build/5.4 or build/jit
-- by interpreter (override with ACMPCA_CPATH).  Prints the median over the
-- rounds of signatures per second and microseconds per signature (CPU time,
-- os.clock) for the interpreter it runs under, side by side, from the same
-- run, with:
--   * the pure-C signer on the same request (build/sign_c, bench/sign_c.c):
--     the floor under the Lua binding, so the gap is the binding's cost;
--   * botocore signing the same request (bench/botocore_sign.py under
--     /usr/bin/python3; skipped with a note when botocore is not installed);
--   * the 650,000/s target (about 1.5 us per signature, Lua 5.4, one core).
--
-- Reference figures on the development VM (2 shared vCPUs, so noisy: the
-- median of three runs each, before and after taken side by side; callgrind
-- counts instructions per signature under valgrind, where OpenSSL takes its
-- non-SHA-NI path, as the difference of `1 20000` and `1 40000` runs):
--                          Lua 5.4       LuaJIT        C signer    callgrind (5.4)
--   before (EVP, one file)  2.24 us       2.14 us       1.20 us     48,464
--   after                   1.46 us       1.40 us       0.81 us     37,108

local jit = rawget(_G, "jit")
local variant = jit and "jit" or "5.4"
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("ACMPCA_CPATH") or ("build/" .. variant .. "/?.so")) .. ";"
                .. package.cpath

local sigv4 = require "acmpca.sigv4"

local clock = os.clock
local sign = sigv4.sign
local sort = table.sort
local fmt = string.format

local rounds = tonumber(arg and arg[1]) or 7
local per_round = tonumber(arg and arg[2]) or 200000

local TARGET = 650000

local CA_ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
               .. "12345678-1234-1234-1234-123456789012"

local request = {
    method = "POST",
    url = "https://acm-pca.us-east-1.amazonaws.com/",
    headers = {
        ["Content-Type"] = "application/x-amz-json-1.1",
        ["X-Amz-Target"] = "ACMPrivateCA.CreatePermission",
    },
    body = '{"CertificateAuthorityArn":"' .. CA_ARN .. '",'
           .. '"Principal":"acm.amazonaws.com",'
           .. '"Actions":["IssueCertificate","GetCertificate","ListPermissions"]}',
}

local opts = {
    region = "us-east-1",
    service = "acm-pca",
    time = 1700000000,
    credentials = {
        access_key_id = "AKIDEXAMPLE",
        secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    },
}


local function round(n)
    local t0 = clock()
    for _ = 1, n do
        sign(request, opts)
    end
    return clock() - t0
end


-- The first number a command prints, or nil (the command may be missing).
local function number_from(cmd, pattern)
    local p = io.popen(cmd .. " 2>/dev/null")
    if not p then
        return nil
    end
    local out = p:read("*a") or ""
    p:close()
    return tonumber(out:match(pattern))
end


local function row(label, rate, note)
    print(fmt("  %-28s %12.0f %14.2f %9.2fx%s", label, rate, 1e6 / rate, rate / TARGET,
              note or ""))
end


local interp = jit and jit.version or _VERSION
print(fmt("%s: signing CreatePermission, %d rounds x %d", interp, rounds, per_round))
print("  Authorization: " .. sign(request, opts).Authorization)
round(math.max(1, math.floor(per_round / 10))) -- warm up (JIT, key cache)

local rates = {}
for i = 1, rounds do
    local dt = round(per_round)
    rates[i] = per_round / dt
end
sort(rates)
local median = rates[math.floor((#rates + 1) / 2)]
print(fmt("  median: %.0f signatures/s, %.2f us/signature (min %.0f/s, max %.0f/s)",
          median, 1e6 / median, rates[1], rates[#rates]))

local c_rate = number_from(fmt("build/sign_c %d %d", rounds, per_round * 2), "median (%d+)")
local boto = number_from("/usr/bin/python3 bench/botocore_sign.py", "(%d+)")

print(fmt("  %-28s %12s %14s %10s", "", "signatures/s", "us/signature", "vs target"))
row("acmpca.sigv4 (" .. interp .. ")", median,
    median >= TARGET and "" or "   (below the target)")
if c_rate then
    row("C acmpca_sigv4_sign", c_rate)
    print(fmt("  the binding adds %.2f us per signature to the C signer's %.2f us",
              1e6 / median - 1e6 / c_rate, 1e6 / c_rate))
else
    print("  (build/sign_c not built: `make build/sign_c` for the pure-C figure)")
end
if boto then
    row("botocore SigV4Auth", boto)
    print(fmt("  acmpca.sigv4 is %.1f times botocore's rate", median / boto))
else
    print("  (botocore not available: install python3-botocore for the comparison)")
end
row("target", TARGET)
