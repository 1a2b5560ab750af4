-- Benchmark: SigV4-sign the ACM PCA CreatePermission request in a loop.
--
--   lua5.4 bench/sign.lua [rounds] [signatures per round]
--   luajit bench/sign.lua
--
-- Run from the repository root after `make`; it picks build/5.4 or
-- build/jit by interpreter (override with ACMPCA_CPATH).  Prints the median
-- over the rounds of signatures per second and microseconds per signature
-- (CPU time, os.clock), for the interpreter it runs under, side by side
-- with botocore signing the same request in the same run
-- (bench/botocore_sign.py under /usr/bin/python3; skipped with a note when
-- botocore is not installed) and with the 250,000/s target.

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

local TARGET = 250000
local p = io.popen("/usr/bin/python3 bench/botocore_sign.py 2>/dev/null")
local boto = p and tonumber(p:read("*a"):match("%d+"))
if p then p:close() end
print(fmt("  %-28s %12s %14s %10s", "", "signatures/s", "us/signature", "vs target"))
print(fmt("  %-28s %12.0f %14.2f %9.1fx", "acmpca.sigv4 (" .. interp .. ")", median,
          1e6 / median, median / TARGET))
if boto then
    print(fmt("  %-28s %12.0f %14.2f %9.2fx", "botocore SigV4Auth", boto, 1e6 / boto,
              boto / TARGET))
    print(fmt("  acmpca.sigv4 is %.1f times botocore's rate", median / boto))
else
    print("  (botocore not available: install python3-botocore for the comparison)")
end
