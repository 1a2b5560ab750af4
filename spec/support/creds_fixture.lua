-- spec/support/creds_fixture.lua: what the acmpca.credentials specs share
-- (spec/credentials_spec.lua, spec/integration/credentials_metadata_spec.lua).

local assert = require "luassert"

local T0 = 1700000000


local function tmpdir()
    local p = os.tmpname()
    os.remove(p)
    assert(os.execute("mkdir -p " .. p .. "/.aws"))
    return p
end


local function write(path, text, mode)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    if mode then
        assert(os.execute("chmod " .. mode .. " " .. path))
    end
end


local function iso(t)
    return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end


-- A transport that records every request and answers from a function.
local function fake_http(answer)
    local log = {}
    return function(req)
        log[#log + 1] = req
        if answer then
            return answer(req)
        end
        return nil, { code = "Timeout", message = "timed out" }
    end, log
end


-- A transport that raises on what acmpca.core's HTTP layer refuses with an
-- argument error (CR, LF or NUL in a header value, NUL or a control
-- character in the URL), then answers from a function as fake_http.
local function strict_http(answer)
    local inner, log = fake_http(answer)
    return function(req)
        if req.url:find("[%z\1-\31\127]") then
            error("bad argument #2 to '?' (url: contains NUL)")
        end
        for k, v in pairs(req.headers or {}) do
            if v:find("[%z\r\n]") then
                error("bad argument #2 to '?' (headers: invalid header name or value for "
                      .. k .. ")")
            end
        end
        return inner(req)
    end, log
end


-- None of secrets appears in s: a string, or an error object (its
-- tostring and its message).
local function no_secret(s, secrets)
    local texts = { tostring(s) }
    if type(s) == "table" then
        texts[2] = tostring(s.message)
    end
    for _, text in ipairs(texts) do
        for _, v in ipairs(secrets) do
            assert.is_nil(text:find(v, 1, true), "secret value leaked: " .. text)
        end
    end
end


-- err is a CredentialsError object (never a string, never raised) whose
-- message matches each of the patterns.
local function creds_error(err, ...)
    assert.is_table(err, "expected an error object, got " .. tostring(err))
    assert.equals("CredentialsError", err.code)
    assert.is_string(err.message)
    assert.is_false(err.retryable)
    for i = 1, select("#", ...) do
        assert.matches(select(i, ...), err.message)
    end
end


-- A sandbox per spec: a temporary HOME, an injected environment (IMDS off),
-- clock and sleep.  S.opts(extra) gives the provider options over them;
-- S.reset and S.cleanup are the before_each and after_each.
local function sandbox()
    local S = {}

    function S.opts(extra)
        local o = {
            home = S.home,
            getenv = function(k) return S.env[k] end,
            now = function() return S.clock end,
            sleep = function(s) S.sleeps[#S.sleeps + 1] = s end,
        }
        for k, v in pairs(extra or {}) do
            o[k] = v
        end
        return o
    end

    function S.reset()
        S.home = tmpdir()
        S.env = { HOME = S.home, AWS_EC2_METADATA_DISABLED = "true" }
        S.clock = T0
        S.sleeps = {}
    end

    function S.cleanup()
        os.execute("rm -rf " .. S.home)
    end

    return S
end


return {
    sandbox = sandbox,
    T0 = T0,
    tmpdir = tmpdir,
    write = write,
    iso = iso,
    fake_http = fake_http,
    strict_http = strict_http,
    no_secret = no_secret,
    creds_error = creds_error,
}
