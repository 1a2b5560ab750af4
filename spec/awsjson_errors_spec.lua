-- The awsJson1_1 error protocol (src/response.c) through the client's answer
-- path: the Smithy protocol test cases of spec/fixtures/awsjson/errors.json
-- (see its NOTICE), then this project's precedence cases.  Each case is a
-- canned response handed to a client over a recording transport.

local F = require "support.client_fixture"
local cjson = F.cjson
local ARN = F.ARN
local new = F.new


local function load_cases()
    local f = assert(io.open("spec/fixtures/awsjson/errors.json", "rb"))
    local data = cjson.decode(f:read("*a"))
    f:close()
    return data
end


-- The error the client returns for case c (one attempt, no retries).
local function run(c)
    local body = c.body ~= cjson.null and c.body or ""
    local headers = { ["x-amzn-requestid"] = "rid-" .. c.id }
    for k, v in pairs(c.headers) do
        headers[k:lower()] = v
    end
    local client, rec = new({ max_attempts = 1 },
                            { status = c.status, headers = headers, body = body })
    local res, err = client:list_permissions{ ca_arn = ARN }
    assert.is_nil(res, c.id)
    assert.equals(1, #rec.calls, c.id)
    return err
end


local function check(c)
    local err = run(c)
    assert.equals(c.code, err.code, c.id)
    if c.message == cjson.null then
        assert.equals(("HTTP %d"):format(c.status), err.message, c.id)
    else
        assert.equals(c.message, err.message, c.id)
    end
    assert.equals(c.status, err.status, c.id)
    assert.equals("rid-" .. c.id, err.request_id, c.id)
    assert.equals(c.status >= 500, err.retryable, c.id)
    assert.equals("ListPermissions", err.operation, c.id)
end


describe("awsJson1_1 errors", function()
    local data = load_cases()

    describe("Smithy protocol tests", function()
        it("has the suite's cases", function()
            assert.equals(12, #data.cases)
        end)

        for _, c in ipairs(data.cases) do
            it(c.id, function()
                check(c)
            end)
        end
    end)


    describe("precedence and sanitising", function()
        for _, c in ipairs(data.precedence) do
            it(c.id, function()
                check(c)
            end)
        end
    end)
end)
