-- spec/support/mock_fixture.lua: a fake ACM PCA with a fixed clock, and
-- signed requests to it, for the acmpca.mock specs.

local assert = require "luassert"
local cjson = require "cjson.safe"
local mock = require "acmpca.mock"
local sigv4 = require "acmpca.sigv4"

local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local OTHER = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "99999999-8888-7777-6666-555555555555"
local NOW = 1700000000
local URL = "https://acm-pca.us-east-1.amazonaws.com/"
local ALL = { "IssueCertificate", "GetCertificate", "ListPermissions" }


local function fixed_clock()
    return NOW
end


-- A clock for svc.now that starts at the real time (so the client's own
-- signatures stay within the fake's five minutes) and moves when told:
-- clock.now() -> t, clock.advance(seconds), clock.start.
local function clock()
    local start = os.time()
    local t = start
    return {
        start = start,
        now = function() return t end,
        advance = function(s) t = t + s end,
    }
end


local function new_svc(opts)
    opts = opts or {}
    opts.now = opts.now or fixed_clock
    opts.cas = opts.cas or { [ARN] = { status = "ACTIVE" } }
    return mock.new(opts)
end


-- A request for op, signed unless o.unsigned; o overrides the parts.
local function request(op, body, o)
    o = o or {}
    local req = {
        method = o.method or "POST",
        url = o.url or URL,
        headers = {
            ["Content-Type"] = o.content_type or "application/x-amz-json-1.1",
            ["X-Amz-Target"] = o.target or ("ACMPrivateCA." .. op),
        },
        body = type(body) == "string" and body or cjson.encode(body),
    }
    if o.unsigned then
        return req
    end
    req.headers = sigv4.sign(req, {
        region = o.region or "us-east-1",
        service = o.service or "acm-pca",
        credentials = o.credentials or mock.credentials,
        time = o.time or NOW,
    })
    return req
end


local function call(svc, op, body, o)
    local res, err = svc(request(op, body, o))
    assert.is_nil(err)
    local decoded = cjson.decode(res.body)
    return res, decoded
end


local function expect_error(svc, op, body, status, code, message, o)
    local res, decoded = call(svc, op, body, o)
    assert.are.equal(status, res.status)
    assert.are.equal(code, decoded.__type)
    if message then
        assert.truthy(decoded.message:find(message, 1, true),
                      "message was: " .. tostring(decoded.message))
    end
    return decoded
end


return {
    cjson = cjson,
    mock = mock,
    sigv4 = sigv4,
    ARN = ARN,
    OTHER = OTHER,
    NOW = NOW,
    URL = URL,
    ALL = ALL,
    fixed_clock = fixed_clock,
    clock = clock,
    new_svc = new_svc,
    request = request,
    call = call,
    expect_error = expect_error,
}
