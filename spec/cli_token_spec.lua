-- The pagination tokens of the `acmpca` command (acmpca.cli.token): the
-- tokens it prints are botocore's (TokenEncoder), proved by decoding them
-- with botocore itself through /usr/bin/python3, and the tokens botocore
-- prints are taken by --starting-token; --output text ends with NEXTTOKEN.

local cjson = require "cjson.safe"
local acmpca = require "acmpca"
local cli = require "acmpca.cli"
local token = require "acmpca.cli.token"

local PYTHON = "/usr/bin/python3"
local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"

local buffer = require("helpers").buffer

-- botocore's encoder and decoder, one call per line of input (JSON in,
-- JSON out), so a spec pays for one python start
local SCRIPT = [[
import json, sys
from botocore.paginate import TokenEncoder, TokenDecoder
for line in sys.stdin:
    op, arg = json.loads(line)
    try:
        if op == "encode":
            out = TokenEncoder().encode(arg)
        else:
            out = TokenDecoder().decode(arg)
    except Exception as e:
        out = {"error": type(e).__name__}
    print(json.dumps(out))
]]


-- botocore(calls) -> results: calls is a list of { "encode", dict } or
-- { "decode", token }
local function botocore(calls)
    local script, input, output = os.tmpname(), os.tmpname(), os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(SCRIPT)
    f:close()
    f = assert(io.open(input, "w"))
    for _, c in ipairs(calls) do
        f:write(cjson.encode(c), "\n")
    end
    f:close()
    local ok = os.execute(PYTHON .. " " .. script .. " < " .. input .. " > " .. output)
    assert.is_truthy(ok == true or ok == 0)
    local results = {}
    for line in io.lines(output) do
        results[#results + 1] = cjson.decode(line)
    end
    os.remove(script)
    os.remove(input)
    os.remove(output)
    assert.are.equal(#calls, #results)
    return results
end


-- A transport answering ListCertificateAuthorities from a list of n CAs,
-- pages of the MaxResults asked for (or `size` regardless, when given),
-- tokens "t<offset>"; it records each request's parameters.
local function lister(n, size)
    local rec = { calls = {} }
    function rec.transport(req)
        local p = cjson.decode(req.body)
        rec.calls[#rec.calls + 1] = p
        local from = p.NextToken and tonumber(p.NextToken:match("^t(%d+)$")) or 0
        local count = size or p.MaxResults or 100
        local cas = {}
        for i = from + 1, math.min(from + count, n) do
            cas[#cas + 1] = { Arn = ARN:gsub("11111111", ("%08d"):format(i)) }
        end
        local body = { CertificateAuthorities = cas }
        if from + count < n then
            body.NextToken = ("t%d"):format(from + count)
        end
        return { status = 200, headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
                 body = cjson.encode(body) }
    end
    return rec
end


local function run(argv, rec)
    local out, err = buffer(), buffer()
    local code = cli.main(argv, {
        stdout = out, stderr = err, sleep = function() end,
        new = function(opts)
            opts.transport = rec.transport
            opts.credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }
            opts.region = opts.region or "us-east-1"
            opts.profile = nil
            opts.getenv = function() return nil end
            return acmpca.new(opts)
        end,
    })
    return code, out.text, err.text
end


-- the CA numbers (the ARN's first 8 digits) a listing printed
local function numbers(res)
    local out = {}
    for i, ca in ipairs(res.CertificateAuthorities) do
        out[i] = tonumber(ca.Arn:match("/(%d+)%-"))
    end
    return out
end


describe("acmpca.cli.token", function()

    describe("encode", function()
        it("writes what botocore's TokenEncoder writes, byte for byte", function()
            local cases = {
                { { NextToken = "abc" }, token.encode("abc") },
                { { NextToken = "a\"b\\c/\n\1" }, token.encode("a\"b\\c/\n\1") },
                { { NextToken = "caf\195\169 \240\159\152\128" },
                  token.encode("caf\195\169 \240\159\152\128") },
            }
            local calls = {}
            for i, c in ipairs(cases) do
                calls[i] = { "encode", c[1] }
            end
            local res = botocore(calls)
            for i, c in ipairs(cases) do
                assert.are.equal(res[i], c[2])
            end
            -- with the truncation, key order as json.dumps of the dict botocore builds
            assert.are.equal("eyJOZXh0VG9rZW4iOiAidDIiLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxfQ==",
                             token.encode("t2", 1))
        end)

        it("prints tokens botocore's TokenDecoder reads back", function()
            local res = botocore{ { "decode", token.encode("svc/token+==") },
                                  { "decode", token.encode("t2", 3) },
                                  { "decode", token.encode(nil, 2) } }
            assert.are.same({ NextToken = "svc/token+==" }, res[1])
            assert.are.same({ NextToken = "t2", boto_truncate_amount = 3 }, res[2])
            assert.are.equal(cjson.null, res[3].NextToken)
            assert.are.equal(2, res[3].boto_truncate_amount)
        end)
    end)

    describe("decode", function()
        it("reads the tokens botocore prints", function()
            local res = botocore{ { "encode", { NextToken = "opaque-svc-token==" } },
                                  { "encode", { NextToken = "t5", boto_truncate_amount = 2 } } }
            assert.are.same({ "opaque-svc-token==", 0 }, { token.decode(res[1]) })
            assert.are.same({ "t5", 2 }, { token.decode(res[2]) })
        end)

        it("takes a token that is not botocore's as the service's own", function()
            assert.are.same({ "t2", 0 }, { token.decode("t2") })
            assert.are.same({ "AAAA", 0 }, { token.decode("AAAA") })
        end)

        it("refuses a botocore-shaped token it cannot use", function()
            local function b64(s)
                return token.b64encode(s)
            end
            local cases = {
                { "", "expected a non-empty string" },
                { b64('{"Marker": "x"}'), 'bad starting token: unexpected key "Marker"' },
                { b64('{"NextToken": 5}'), "bad starting token: NextToken is not" },
                { b64('{"NextToken": "t", "boto_truncate_amount": -1}'),
                  "bad starting token: boto_truncate_amount is not a count" },
                { b64('{"NextToken": null}'), "bad starting token: no NextToken" },
                { ("A"):rep(token.MAX_LENGTH + 4), "longer than" },
            }
            for _, c in ipairs(cases) do
                local t, why = token.decode(c[1])
                assert.is_nil(t)
                assert.truthy(why:find(c[2], 1, true), why)
            end
        end)
    end)

    describe("the command", function()
        it("prints botocore's token at a page boundary, and resumes from it", function()
            local rec = lister(5)
            local code, out, err = run({ "list-certificate-authorities", "--max-items", "2",
                                         "--page-size", "2" }, rec)
            assert.are.equal(0, code, err)
            local res = cjson.decode(out)
            assert.are.same({ 1, 2 }, numbers(res))
            assert.are.same({ NextToken = "t2" }, botocore{ { "decode", res.NextToken } }[1])
            code, out = run({ "list-certificate-authorities", "--starting-token",
                              res.NextToken }, rec)
            assert.are.equal(0, code)
            res = cjson.decode(out)
            assert.are.same({ 3, 4, 5 }, numbers(res))
            assert.is_nil(res.NextToken)
            assert.are.equal("t2", rec.calls[2].NextToken)
        end)

        it("cuts a page longer than --max-items and says where (boto_truncate_amount)",
           function()
            local rec = lister(7, 3) -- the service answers 3 a page whatever is asked
            local code, out = run({ "list-certificate-authorities", "--max-items", "4" }, rec)
            assert.are.equal(0, code)
            local res = cjson.decode(out)
            assert.are.same({ 1, 2, 3, 4 }, numbers(res))
            assert.are.same({ NextToken = "t3", boto_truncate_amount = 1 },
                            botocore{ { "decode", res.NextToken } }[1])
            -- resumed: the page of t3 again, its first item skipped
            code, out = run({ "list-certificate-authorities", "--starting-token",
                              res.NextToken, "--max-items", "2" }, rec)
            assert.are.equal(0, code)
            res = cjson.decode(out)
            assert.are.same({ 5, 6 }, numbers(res))
            assert.are.equal("t3", rec.calls[3].NextToken)
            assert.are.same({ NextToken = "t6" }, botocore{ { "decode", res.NextToken } }[1])
        end)

        it("takes the token the AWS CLI printed inside a page", function()
            local rec = lister(7, 3)
            local t = botocore{ { "encode", { NextToken = "t3", boto_truncate_amount = 2 } } }[1]
            local code, out = run({ "list-certificate-authorities", "--starting-token", t }, rec)
            assert.are.equal(0, code)
            assert.are.same({ 6, 7 }, numbers(cjson.decode(out)))
            -- and the one of a first page cut short (NextToken null)
            t = botocore{ { "encode", { NextToken = cjson.null, boto_truncate_amount = 1 } } }[1]
            code, out = run({ "list-certificate-authorities", "--starting-token", t }, rec)
            assert.are.equal(0, code)
            assert.are.same({ 2, 3, 4, 5, 6, 7 }, numbers(cjson.decode(out)))
            assert.is_nil(rec.calls[#rec.calls - 2].NextToken)
        end)

        it("ends --output text with NEXTTOKEN<TAB>token, as aws does", function()
            local code, out = run({ "list-certificate-authorities", "--max-items", "2",
                                    "--output", "text" }, lister(5))
            -- one page of five, two printed: {"NextToken": null, "boto_truncate_amount": 2}
            assert.are.equal(0, code)
            local lines = {}
            for line in out:gmatch("([^\n]*)\n") do
                lines[#lines + 1] = line
            end
            assert.are.equal(3, #lines)
            assert.truthy(lines[1]:find("^CERTIFICATEAUTHORITIES\t"), lines[1])
            assert.are.equal("NEXTTOKEN\t" .. token.encode(nil, 2), lines[3])
            code, out = run({ "list-certificate-authorities", "--output", "text" }, lister(2))
            assert.are.equal(0, code)
            assert.falsy(out:find("NEXTTOKEN", 1, true))
        end)

        it("exits 2 and sends nothing for a bad token", function()
            local rec = lister(5)
            local code, out, err = run({ "list-certificate-authorities", "--starting-token",
                                         token.b64encode('{"NextToken": 7}') }, rec)
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.truthy(err:find("argument --starting-token: bad starting token", 1, true), err)
            assert.are.equal(0, #rec.calls)
        end)
    end)
end)
