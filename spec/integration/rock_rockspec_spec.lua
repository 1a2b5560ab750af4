-- The two rockspecs (lua-acmpca-scm-1 and the versioned one): the versioned
-- rockspec builds exactly what the scm one builds and points at the release
-- archive `make dist` makes; both install every Lua module under lua/ and
-- compile every C file under src/ into acmpca.core.  Pure Lua, no luarocks:
-- the install itself is checked by spec/run.sh (tools/rock_check.sh) and
-- rock_nginx_spec.lua.

local proc = require "support.proc"

local assert = assert
local pairs = pairs
local rawget = rawget
local sort = table.sort
local gsub = string.gsub
local match = string.match

local SCM = "lua-acmpca-scm-1.rockspec"
local RELEASES = "https://github.com/lua-acmpca/lua-acmpca/releases/download/"


-- Runs a rockspec (Lua assignments) in an empty environment and returns it.
local function load_rockspec(path)
    local text = assert(proc.read_file(path), "cannot read " .. path)
    local env = {}
    local chunk
    local setfenv = rawget(_G, "setfenv")
    if setfenv then
        chunk = assert(rawget(_G, "loadstring")(text, "=" .. path))
        setfenv(chunk, env)
    else
        chunk = assert(load(text, "=" .. path, "t", env))
    end
    chunk()
    return env
end


-- The versioned rockspec beside the scm one (exactly one).
local function versioned_path()
    local names = {}
    local p = io.popen("ls lua-acmpca-*.rockspec")
    for name in p:lines() do
        if name ~= SCM then
            names[#names + 1] = name
        end
    end
    p:close()
    assert.equal(1, #names, "expected one versioned rockspec, found: " .. table.concat(names, " "))
    return names[1]
end


local function lines_of(cmd)
    local out = {}
    local p = io.popen(cmd)
    for line in p:lines() do
        out[#out + 1] = line
    end
    p:close()
    sort(out)
    return out
end


describe("rockspecs", function()
    local scm, rel, rel_path

    setup(function()
        scm = load_rockspec(SCM)
        rel_path = versioned_path()
        rel = load_rockspec(rel_path)
    end)

    describe("the versioned rockspec", function()
        it("is named after its package and version", function()
            assert.equal("lua-acmpca", rel.package)
            assert.equal(rel.package .. "-" .. rel.version .. ".rockspec", rel_path)
            assert.truthy(match(rel.version, "^%d+%.%d+%.%d+%-%d+$"), rel.version)
        end)

        it("points at the release archive on the project's download page", function()
            local v = match(rel.version, "^(.*)%-%d+$")
            assert.equal(RELEASES .. "v" .. v .. "/lua-acmpca-" .. v .. ".tar.gz", rel.source.url)
            assert.equal("lua-acmpca-" .. v, rel.source.dir)
            assert.equal(1, select(2, gsub(rel.source.url, "^" .. gsub(scm.description.homepage,
                "%p", "%%%0"), "")), "source.url is under the homepage")
        end)

        it("is the version the library, acmpca.core and the CHANGELOG say", function()
            local v = match(rel.version, "^(.*)%-%d+$")
            assert.equal(v, require("acmpca")._VERSION)
            assert.equal(v, require("acmpca.core")._VERSION)
            local f = assert(io.open("CHANGELOG.md", "rb"))
            local log = f:read("*a")
            f:close()
            -- the newest entry is this release, dated (under an optional
            -- "Unreleased" section collecting what comes next)
            local top = match(log, "\n## ([^\n]+)")
            if top == "Unreleased" then
                top = match(log, "\n## Unreleased\n.-\n## ([^\n]+)")
            end
            assert.truthy(match(top, "^" .. gsub(v, "%p", "%%%0") .. " %(%d%d%d%d%-%d%d%-%d%d%)$"),
                          top)
        end)

        it("builds, depends on and describes exactly what the scm rockspec does", function()
            for _, key in pairs{ "rockspec_format", "package", "description", "dependencies",
                                 "external_dependencies", "build", "test" } do
                assert.same(scm[key], rel[key], key)
            end
        end)
    end)

    describe("the scm rockspec", function()
        it("fetches the repository the homepage names", function()
            assert.equal("git+" .. scm.description.homepage .. ".git", scm.source.url)
            assert.equal("scm-1", scm.version)
        end)
    end)

    for _, name in pairs{ "scm", "versioned" } do
        describe("the " .. name .. " rockspec's build", function()
            local spec

            setup(function()
                spec = name == "scm" and scm or rel
            end)

            it("installs every Lua module under lua/ under its module name", function()
                local want = {}
                for _, file in pairs(lines_of("find lua -name '*.lua'")) do
                    local mod = gsub(gsub(gsub(file, "^lua/", ""), "/init%.lua$", ""), "%.lua$", "")
                    want[gsub(mod, "/", ".")] = file
                end
                local got = {}
                for mod, v in pairs(spec.build.modules) do
                    if type(v) == "string" then
                        got[mod] = v
                    end
                end
                assert.same(want, got, "a file under lua/ is missing from build.modules "
                    .. "(list it in both rockspecs), or a listed module has no file")
            end)

            it("compiles every C file under src/ into acmpca.core, and nothing else", function()
                local sources = {}
                for _, s in pairs(spec.build.modules["acmpca.core"].sources) do
                    sources[#sources + 1] = s
                end
                sort(sources)
                assert.same(lines_of("ls src/*.c"), sources)
            end)

            it("installs the acmpca command", function()
                assert.same({ acmpca = "bin/acmpca" }, spec.build.install.bin)
            end)
        end)
    end
end)
