-- spec/helpers.lua: helpers shared by the specs.

local spy = require "luassert.spy"

local _M = {}


-- The process-facing functions a module must not touch while it loads.
local WATCHED = {
    { os, "getenv" }, { os, "execute" }, { os, "remove" },
    { io, "open" }, { io, "popen" },
}


-- Loads module `name` afresh (with the acmpca.* modules in `also`
-- unloaded first, so their own load is watched too) while spies sit on
-- os.getenv, os.execute, os.remove, io.open and io.popen.  Returns ok, the
-- module or error, and the names of the watched functions it called.
-- Afterwards the modules are loaded once more, unwatched, so no spy stays
-- cached in a module's locals.
function _M.load_watched(name, also)
    local names = { name }
    for _, n in ipairs(also or {}) do
        names[#names + 1] = n
    end
    for _, n in ipairs(names) do
        package.loaded[n] = nil
    end
    local spies = {}
    for i, w in ipairs(WATCHED) do
        spies[i] = spy.on(w[1], w[2])
    end
    local ok, mod = pcall(require, name)
    local called = {}
    for i, s in ipairs(spies) do
        s:revert()
        if #s.calls > 0 then
            called[#called + 1] = WATCHED[i][2]
        end
    end
    for _, n in ipairs(names) do
        package.loaded[n] = nil
    end
    for _, n in ipairs(names) do
        require(n)
    end
    return ok, mod, called
end


-- A stand-in for io.stdout/io.stderr that keeps what is written in .text.
function _M.buffer()
    local b = { text = "" }
    function b.write(self, ...)
        for i = 1, select("#", ...) do
            self.text = self.text .. select(i, ...)
        end
        return self
    end
    return b
end


return _M
