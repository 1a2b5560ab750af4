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


local function no_secret(s, secrets)
    for _, v in ipairs(secrets) do
        assert.is_nil(tostring(s):find(v, 1, true), "secret value leaked: " .. tostring(s))
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
    no_secret = no_secret,
}
