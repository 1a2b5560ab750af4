-- Benchmark: read STS answers with acmpca.xml (core.xml_decode over libexpat).
--
--   lua5.4 bench/xml.lua [rounds] [parses per round]
--   luajit bench/xml.lua
--
-- Run from the repository root after `make`; it picks build/5.4 or
-- build/jit by interpreter (override with ACMPCA_CPATH).  For the
-- AssumeRole answer and the ExpiredToken error of spec/fixtures/sts/, and
-- for a synthetic 1,000-element list, prints the median over the rounds of
-- microseconds per parse (CPU time, os.clock; the tree of tables built and
-- left to the GC), and for AssumeRole also the full read the credential
-- chain does (decode and the four xml.text lookups).
--
-- Reference figures on the development VM (2 shared vCPUs, so noisy; the
-- medians of 9 rounds, the range over three runs):
--                                 Lua 5.4          LuaJIT
--   AssumeRole answer, decode      12.5-13.1 us     9.9-11.9 us
--     + the credential lookups     13.0-14.1 us    10.9-13.2 us
--   ExpiredToken error, decode      5.9-7.0 us      5.3-6.0 us
--   1,001 elements, decode          289-320 us      191-196 us
-- In C alone (acmpca_xml_parse + free, the AssumeRole answer) 10.5 us, of
-- which bare expat is 9.6 us; about 2.7 us of that is expat drawing a
-- fresh hash salt from getrandom(2) for every parser (6.9 us with a fixed
-- salt), kept since a salt per parser is expat's defence against hash
-- flooding and STS answers come once per credential refresh.

local jit = rawget(_G, "jit")
local variant = jit and "jit" or "5.4"
package.path = "lua/?.lua;lua/?/init.lua;bench/?.lua;" .. package.path
package.cpath = (os.getenv("ACMPCA_CPATH") or ("build/" .. variant .. "/?.so")) .. ";"
                .. package.cpath

local xml = require "acmpca.xml"
local common = require "common"

local clock = os.clock
local fmt = string.format
local rep = string.rep
local decode = xml.decode
local text = xml.text

local rounds = tonumber(arg and arg[1]) or 9
local per_round = tonumber(arg and arg[2]) or 20000


local function fixture(name)
    local f = assert(io.open("spec/fixtures/sts/" .. name, "rb"))
    local s = f:read("a")
    f:close()
    return s
end


-- The median microseconds per call of fn(doc) over the rounds.
local function measure(fn, doc, n)
    local times = {}
    assert(fn(doc))
    for r = 1, rounds do
        collectgarbage()
        local t0 = clock()
        for _ = 1, n do
            fn(doc)
        end
        times[r] = (clock() - t0) / n * 1e6
    end
    return common.median(times)
end


-- What acmpca.sts reads of an AssumeRole answer.
local function read_credentials(doc)
    local root = decode(doc)
    local creds = root and xml.child(xml.child(root, "AssumeRoleResult"), "Credentials")
    return creds and text(creds, "AccessKeyId") and text(creds, "SecretAccessKey")
        and text(creds, "SessionToken") and text(creds, "Expiration")
end


-- The number of elements in a tree.
local function count(el)
    local n = 1
    for i = 1, #el do
        n = n + count(el[i])
    end
    return n
end


local assume_role = fixture("assume_role.xml")
local expired = fixture("error_expired_token.xml")
local list = "<r>" .. rep("<member><Name>abcdef</Name></member>", 500) .. "</r>"

print(fmt("acmpca.xml under %s, median of %d rounds", jit and jit.version or _VERSION, rounds))
print(fmt("  %-44s %9.2f us/parse", fmt("AssumeRole answer (%d bytes, %d elements)", #assume_role,
                                count(decode(assume_role))),
          measure(decode, assume_role, per_round)))
print(fmt("  %-44s %9.2f us/read", "  + the four credential lookups",
          measure(read_credentials, assume_role, per_round)))
print(fmt("  %-44s %9.2f us/parse", fmt("ExpiredToken error (%d bytes)", #expired),
          measure(decode, expired, per_round)))
print(fmt("  %-44s %9.2f us/parse", fmt("%d elements (%d bytes)", count(decode(list)), #list),
          measure(decode, list, math.max(1, math.floor(per_round / 100)))))
