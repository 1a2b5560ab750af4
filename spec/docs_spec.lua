-- spec/docs_spec.lua: the committed API reference (docs/, built by LDoc
-- from config.ld: make docs) documents every public function, method and
-- option, so it cannot go stale without this failing.  tools/docs.sh
-- checks that docs/ is what a fresh build gives.

local acmpca = require "acmpca"
local mock = require "acmpca.mock"
local credentials = require "acmpca.credentials"
local client_mod = require "acmpca.client"
local renewal = require "acmpca.renewal"

local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local MODULES = { "acmpca", "acmpca.client", "acmpca.renewal", "acmpca.fleet", "acmpca.identity",
                  "acmpca.credentials", "acmpca.config", "acmpca.mock", "acmpca.show",
                  "acmpca.sigv4", "acmpca.model", "acmpca.paginate",
                  "acmpca.transport.ngx", "acmpca.core", "acmpca.json", "acmpca.cli",
                  "acmpca.repl", "acmpca.serve" }

local pages = {}
for _, m in ipairs(MODULES) do
    pages[m] = read("docs/modules/" .. m .. ".html")
end

-- LDoc's anchor for a documented item: <a name = "NAME"></a>
local function has_anchor(page, name)
    return page:find('<a name = "' .. name .. '"></a>', 1, true) ~= nil
end

local function anywhere(name)
    for _, page in pairs(pages) do
        if has_anchor(page, name) then
            return true
        end
    end
    return false
end

-- a client method: client:NAME on the renewal and fleet pages, NAME on the
-- client's own page (LDoc drops the module's name there)
local function client_method(name)
    return has_anchor(pages["acmpca.client"], name) or anywhere("client:" .. name)
end

local function sorted_keys(t, want)
    local names = {}
    for k, v in pairs(t) do
        if type(k) == "string" and k:sub(1, 1) ~= "_" and (not want or type(v) == want) then
            names[#names + 1] = k
        end
    end
    table.sort(names)
    return names
end

-- the names in names that fail ok(name)
local function missing(names, ok)
    local out = {}
    for _, n in ipairs(names) do
        if not ok(n) then
            out[#out + 1] = n
        end
    end
    return out
end


describe("docs/", function()
    describe("index and topics", function()
        it("lists every module and the errors topic", function()
            local index = read("docs/index.html")
            for _, m in ipairs(MODULES) do
                assert.truthy(index:find("modules/" .. m .. ".html", 1, true), m)
            end
            assert.truthy(index:find("topics/errors.md.html", 1, true))
        end)

        it("the errors topic names every field of the error object and each code", function()
            local page = read("docs/topics/errors.md.html")
            for _, field in ipairs{ "code", "message", "status", "request_id", "retryable",
                                    "operation", "attempts", "throttling" } do
                assert.truthy(page:find("<code>" .. field .. "</code>", 1, true), field)
            end
            for _, code in ipairs{ "NetworkError", "Timeout", "TLSError", "InvalidResponse",
                                   "ResponseTooLarge", "UnknownError", "PaginationLoop",
                                   "CredentialsError", "ConfigError", "WaiterTimeout",
                                   "NoRegionError" } do
                assert.truthy(page:find("<code>" .. code .. "</code>", 1, true), code)
            end
        end)
    end)

    describe("acmpca", function()
        it("documents every function of the module (a client method's on its page)", function()
            local page = pages.acmpca
            local names = sorted_keys(acmpca, "function")
            assert.is_true(#names > 20)
            assert.same({}, missing(names, function(n)
                return has_anchor(page, n) or client_method(n)
            end))
        end)

        it("documents _VERSION, ACM_PRINCIPAL, RENEWAL_ACTIONS and model", function()
            for _, n in ipairs{ "_VERSION", "ACM_PRINCIPAL", "RENEWAL_ACTIONS", "model" } do
                assert.is_true(has_anchor(pages.acmpca, n), n)
            end
        end)
    end)

    describe("the client", function()
        it("documents every method a client has", function()
            local svc = mock.new{}
            local c = svc:client()
            local names = sorted_keys(getmetatable(c).__index, "function")
            assert.is_true(#names > 15)
            assert.same({}, missing(names, client_method))
            c:close()
        end)

        it("names every option of acmpca.new on the client's page", function()
            local names = sorted_keys(client_mod.OPTIONS)
            names[#names + 1] = "profile"
            assert.same({}, missing(names, function(n)
                return pages["acmpca.client"]:find("%f[%w_]" .. n .. "%f[^%w_]") ~= nil
                    or pages.acmpca:find("%f[%w_]" .. n .. "%f[^%w_]") ~= nil
            end))
        end)

        it("names every option of the renewal helpers on their page", function()
            local names = {}
            for _, known in pairs(renewal.OPTIONS) do
                for k in pairs(known) do
                    names[#names + 1] = k
                end
            end
            table.sort(names)
            assert.same({}, missing(names, function(n)
                return pages["acmpca.renewal"]:find("%f[%w_]" .. n .. "%f[^%w_]") ~= nil
            end))
        end)
    end)

    describe("acmpca.mock", function()
        it("documents every method of the fake service", function()
            local svc = mock.new{}
            local names = sorted_keys(getmetatable(svc).__index, "function")
            assert.is_true(#names > 10)
            assert.same({}, missing(names, function(n)
                return has_anchor(pages["acmpca.mock"], "svc:" .. n)
            end))
        end)

        it("documents every field of the module", function()
            assert.same({}, missing(sorted_keys(mock), function(n)
                return has_anchor(pages["acmpca.mock"], n)
            end))
        end)
    end)

    describe("acmpca.credentials", function()
        it("documents every field of the module", function()
            local names = sorted_keys(credentials)
            assert.is_true(#names >= 5)
            assert.same({}, missing(names, function(n)
                return has_anchor(pages["acmpca.credentials"], n)
            end))
        end)
    end)

    describe("the command's modules", function()
        it("document main (acmpca.cli, acmpca.repl, acmpca.serve)", function()
            for _, m in ipairs{ "acmpca.cli", "acmpca.repl", "acmpca.serve" } do
                assert.is_function(require(m).main, m)
                assert.is_true(has_anchor(pages[m], "main"), m)
            end
        end)

        it("show command-line options as typed, not with typographic dashes", function()
            for m, page in pairs(pages) do
                assert.falsy(page:find("&ndash;", 1, true), m)
                assert.falsy(page:find("&mdash;", 1, true), m)
            end
            assert.truthy(pages["acmpca.cli"]:find("<code>--mock</code>", 1, true))
        end)
    end)

    describe("acmpca.core", function()
        it("documents every field of the C module", function()
            local core = require "acmpca.core"
            assert.same({}, missing(sorted_keys(core), function(n)
                return has_anchor(pages["acmpca.core"], n)
            end))
            assert.is_true(has_anchor(pages["acmpca.core"], "_VERSION"))
        end)
    end)
end)
