-- spec/support/sigv4_fixture.lua: requests, options and credentials
-- the acmpca.sigv4 specs share.

local assert = require "luassert"
local sigv4 = require "acmpca.sigv4"
local V = require "support.vectors"

local OLD_SUITE_CASES = 34
local V4_SUITE_CASES = 38


local function err_of(f, ...)
    local ok, err = pcall(f, ...)
    assert.is_false(ok, "expected an error")
    return tostring(err)
end


local function copy(t)
    local out = {}
    for k, v in pairs(t) do
        out[k] = type(v) == "table" and copy(v) or v
    end
    return out
end


local function merge(base, over)
    local out = copy(base)
    for k, v in pairs(over or {}) do
        out[k] = v
    end
    return out
end


local OPTS = {
    region = "us-east-1",
    service = "service",
    time = V.AMZ_DATE,
    credentials = { access_key_id = V.ACCESS_KEY_ID, secret_access_key = V.SECRET },
}

local REQ = {
    method = "GET",
    url = "https://example.amazonaws.com/",
}


local function opts(over)
    return merge(OPTS, over)
end


local function req(over)
    return merge(REQ, over)
end


local function creds(over)
    return merge(OPTS.credentials, over)
end


-- The request of a suite case as a sigv4 request table.
local function request_of(parsed)
    local host = V.header(parsed, "host")
    return {
        method = parsed.method,
        url = "https://" .. host .. parsed.target,
        headers = parsed.headers,
        body = parsed.body,
    }, host
end


return {
    sigv4 = sigv4,
    V = V,
    OLD_SUITE_CASES = OLD_SUITE_CASES,
    V4_SUITE_CASES = V4_SUITE_CASES,
    err_of = err_of,
    copy = copy,
    merge = merge,
    OPTS = OPTS,
    REQ = REQ,
    opts = opts,
    req = req,
    creds = creds,
    request_of = request_of,
}
