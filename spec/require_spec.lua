-- Nothing slow, networked or environment-dependent happens at require time
-- (lua-resty-core's rule; OpenResty init phases depend on it): loading each
-- public module, with the Lua modules it pulls in, touches no environment
-- variable, file or process.

local helpers = require "helpers"

local LUA_MODULES = {
    "acmpca", "acmpca.client", "acmpca.sigv4", "acmpca.credentials", "acmpca.config",
    "acmpca.mock", "acmpca.cli", "acmpca.transport.ngx",
}


describe("require", function()
    for _, name in ipairs(LUA_MODULES) do
        it(name .. " reads no environment, file or process", function()
            local ok, mod, called = helpers.load_watched(name, LUA_MODULES)
            assert.is_true(ok, mod)
            assert.is_table(mod)
            assert.same({}, called)
        end)
    end
end)
