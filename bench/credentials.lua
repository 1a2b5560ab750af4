-- bench/credentials.lua: what a credential lookup through an assumed role
-- costs, side by side, against the local STS stand-in
-- (spec/support/fake_sts.py, every AssumeRole signature checked with
-- botocore, answering at once):
--
--   cold      a new provider per lookup, no disk cache: a chain of two
--             roles (two AssumeRole calls) each time, as every run of a
--             tool without a cache pays it
--   disk      a new provider per lookup with disk_cache (~/.aws/cli/cache
--             warm): what the second and later runs of `acmpca` pay
--   memory    the same provider again: the in-process cache
--
-- then, beside it, client:caller_identity() with those credentials (one
-- GetCallerIdentity, signed, answered by the stand-in) and the disk
-- cache's key of an AssumeRole call without and with a 300-byte Policy
-- (read and rewritten as Python writes it).
--
--   lua5.4 bench/credentials.lua     (or luajit; from the repository root
--                                     after `make`)
--
-- Prints the median time per lookup (microseconds) of each, and the
-- AssumeRole calls the stand-in counted.

local variant = (jit and "jit") or "5.4"
package.path = "bench/?.lua;lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/" .. variant .. "/?.so;" .. package.cpath

local common = require "common"
local core = require "acmpca.core"
local credentials = require "acmpca.credentials"
local sts_fixture = require "support.sts_fixture"

local median = common.median
local now = core.now

local ROUNDS = tonumber(os.getenv("ACMPCA_BENCH_ROUNDS")) or 50
local BASE = { access_key_id = "AKIDBENCHBASE0000001",
               secret_access_key = "benchBaseSecret/0123456789abcdefghijklmn" }
local ONE = "arn:aws:iam::111122223333:role/bench-one"
local TWO = "arn:aws:iam::444455556666:role/bench-two"
local POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
    .. '["acm-pca:CreatePermission", "acm-pca:ListPermissions", "acm-pca:DeletePermission"], '
    .. '"Resource": "*", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 3600.0}, '
    .. '"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}}]}'


local function tmpdir()
    local p = os.tmpname()
    os.remove(p)
    assert(os.execute("mkdir -p " .. p .. "/.aws"))
    return p
end


local function write(path, text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
end


-- The median seconds of rounds calls of fn.
local function timed(rounds, fn)
    local t = {}
    for i = 1, rounds do
        local t0 = now()
        fn()
        t[i] = now() - t0
    end
    return median(t)
end


local sts = assert(sts_fixture.start{
    credentials = { [BASE.access_key_id] = { secret = BASE.secret_access_key } },
    roles = { [ONE] = { trust = { BASE.access_key_id } }, [TWO] = { trust = { ONE } } },
})
local home = tmpdir()
local ok, err = pcall(function()
    write(home .. "/.aws/credentials", "[base]\naws_access_key_id = " .. BASE.access_key_id
        .. "\naws_secret_access_key = " .. BASE.secret_access_key .. "\n")
    write(home .. "/.aws/config", "[profile one]\nrole_arn = " .. ONE
        .. "\nsource_profile = base\n[profile two]\nrole_arn = " .. TWO
        .. "\nsource_profile = one\n")
    local env = { HOME = home, AWS_ENDPOINT_URL_STS = sts.url, AWS_REGION = "us-east-1",
                  AWS_EC2_METADATA_DISABLED = "true" }
    local function provider(disk)
        return credentials.provider{ profile = "two", home = home, disk_cache = disk,
                                     getenv = function(k) return env[k] end }
    end
    local function lookup(p)
        assert(p())
    end

    local cold = timed(ROUNDS, function() lookup(provider(false)) end)
    local cold_calls = sts.stats().counts.AssumeRole
    sts.reset()
    lookup(provider(true))    -- warms ~/.aws/cli/cache
    local disk = timed(ROUNDS, function() lookup(provider(true)) end)
    local disk_calls = sts.stats().counts.AssumeRole
    local p = provider(true)
    lookup(p)
    local memory = timed(ROUNDS * 100, function() lookup(p) end)

    print(("credential lookup, profile with a chain of two roles (%s, %d rounds):")
          :format(jit and "LuaJIT" or _VERSION, ROUNDS))
    print(("  cold (two AssumeRole)   %9.1f us   %4d AssumeRole calls"):format(cold * 1e6,
                                                                               cold_calls))
    print(("  disk cache              %9.1f us   %4d AssumeRole calls (%.0fx faster)")
          :format(disk * 1e6, disk_calls, cold / disk))
    print(("  in-process cache        %9.3f us"):format(memory * 1e6))

    local client = require("acmpca.client").new{ region = "us-east-1", credentials = p,
                                                  getenv = function(k) return env[k] end }
    local identity = timed(ROUNDS, function() assert(client:caller_identity()) end)
    print(("  caller_identity()       %9.1f us   (one GetCallerIdentity, %d sent)")
          :format(identity * 1e6, sts.stats().counts.GetCallerIdentity))

    local cache = require("acmpca.credentials.cache").new{ dir = home .. "/keys" }
    local args = { RoleArn = TWO, RoleSessionName = "ops" }
    local with = { RoleArn = TWO, RoleSessionName = "ops", Policy = POLICY }
    local plain = timed(ROUNDS * 100, function() cache:key_assume_role(args) end)
    local policy = timed(ROUNDS * 100, function() cache:key_assume_role(with) end)
    print(("cache key of an AssumeRole call: %.1f us, with a %d-byte Policy %.1f us (%.1fx)")
          :format(plain * 1e6, #POLICY, policy * 1e6, policy / plain))
end)
sts.stop()
os.execute("rm -rf " .. home)
assert(ok, err)
