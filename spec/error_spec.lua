-- src/error.c's Lua face: core.excerpt, the one cut of untrusted text for
-- messages (core.new_error and __tostring are in client_spec.lua).

local core = require "acmpca.core"


describe("core.excerpt", function()
    it("keeps printable text, turns CR, LF and TAB into spaces and the rest into '?'", function()
        assert.equals("a b c d?e?", core.excerpt("a\rb\nc\td\0e\255"))
        assert.equals("", core.excerpt(""))
    end)

    it("cuts at 200 bytes by default, or at max, and says so with ...", function()
        assert.equals(("x"):rep(200) .. "...", core.excerpt(("x"):rep(201)))
        assert.equals(("x"):rep(200), core.excerpt(("x"):rep(200)))
        assert.equals("abc...", core.excerpt("abcdef", 3))
        assert.equals("abc", core.excerpt("abc", 3))
    end)

    it("refuses a bad max or a non-string", function()
        for _, bad in ipairs{ 0, 201, -1 } do
            local ok, err = pcall(core.excerpt, "abc", bad)
            assert.is_false(ok)
            -- the function's name in the message differs between Lua 5.4 and LuaJIT
            assert.matches("bad argument #2 to ", err, 1, true)
            assert.matches("(expected 1 to 200)", err, 1, true)
        end
        local ok, err = pcall(core.excerpt, nil)
        assert.is_false(ok)
        assert.matches("bad argument #1 to ", err, 1, true)
    end)
end)
