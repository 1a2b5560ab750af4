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


return {
    T0 = T0,
    tmpdir = tmpdir,
    write = write,
    iso = iso,
    fake_http = fake_http,
    no_secret = no_secret,
}
