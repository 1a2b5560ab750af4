-- The release rock in real nginx, installed as examples/openresty/README.md
-- says ("Installing lua-acmpca for nginx's LuaJIT"): `make dist`'s source
-- rock installed with luarocks for nginx's LuaJIT into a scratch tree
-- (tools/rock_check.sh install jit), nginx configured with the README's two
-- lua_package_* lines only (the tree in place of /opt/lua-acmpca), and a
-- call against the in-process fake ACM PCA inside a request.  Tagged
-- #nginx: spec/run.sh runs it in the LuaJIT pass only.

local nginx = require "support.nginx"
local proc = require "support.proc"

local assert = assert
local concat = table.concat
local gsub = string.gsub
local match = string.match

local README = "examples/openresty/README.md"
local DOC_TREE = "/opt/lua-acmpca"
local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"

local CONF = [[
load_module @MODULES@/ndk_http_module.so;
load_module @MODULES@/ngx_http_lua_module.so;
daemon off;
master_process on;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 64; }
http {
    access_log off;
@PATHS@
    server {
        listen 127.0.0.1:@PORT@;
        location = /rock {
            content_by_lua_block {
                local cjson = require "cjson"
                local acmpca = require "acmpca"
                local mock = require "acmpca.mock"
                local svc = mock.new{}
                svc:add_ca("@ARN@")
                local client = svc:client()
                local ok, status = client:ensure_acm_renewal("@ARN@")
                local has = client:has_acm_renewal("@ARN@")
                ngx.say(cjson.encode({
                    ok = ok, status = tostring(status), has = has,
                    creates = svc.calls.CreatePermission,
                    version = acmpca._VERSION,
                    ngx_transport = require("acmpca.transport.ngx").available(),
                    lua = package.searchpath("acmpca", package.path),
                    core = package.searchpath("acmpca.core", package.cpath),
                    cjson = package.searchpath("cjson", package.cpath),
                }))
            }
        }
    }
}
]]


-- The README's lua_package_path and lua_package_cpath lines (exactly two,
-- naming /opt/lua-acmpca), in the order they appear.
local function documented_lines()
    local text = assert(proc.read_file(README))
    local lines = {}
    for line in text:gmatch("[^\n]+") do
        if match(line, "^lua_package_c?path%s") and line:find(DOC_TREE, 1, true) then
            lines[#lines + 1] = line
        end
    end
    return lines
end


-- make dist archives HEAD: an unpacked release (`luarocks test`) has no repository.
local in_git = proc.run("git rev-parse --verify -q HEAD >/dev/null 2>&1")


if not in_git then
    pending("the release rock in nginx: not a git checkout, make dist needs one")
    return
end


describe("the release rock in nginx #nginx", function()
    local work, tree, srv, log

    lazy_setup(function()
        work = nginx.tmpdir("rock")
        local out = proc.read_cmd("sh tools/dist.sh " .. proc.quote(work .. "/dist"))
        local rock = match(out, "([^\n]+%.src%.rock)")
        assert(rock, "tools/dist.sh made no source rock: " .. out)
        tree = work .. "/tree"
        log = work .. "/install.log"
        local ok = proc.run(proc.CLEAN_ENV .. "sh tools/rock_check.sh install jit "
            .. proc.quote(tree) .. " " .. proc.quote(rock) .. " >" .. proc.quote(log) .. " 2>&1")
        assert(ok, "the install for LuaJIT failed:\n" .. (proc.read_file(log) or ""))
    end)

    lazy_teardown(function()
        if srv then
            srv:stop()
        end
        if work then
            proc.run("rm -rf " .. proc.quote(work))
        end
    end)

    it("documents two lua_package_* lines for a tree, LuaJIT's defaults after them", function()
        local lines = documented_lines()
        assert.equal(2, #lines, concat(lines, "\n"))
        assert.truthy(match(lines[1], '^lua_package_path%s+"[^"]*;;";$'), lines[1])
        assert.truthy(match(lines[2], '^lua_package_cpath%s+"[^"]*;;";$'), lines[2])
    end)

    it("installs the Lua modules and a LuaJIT acmpca.core into the tree's 5.1 paths", function()
        assert.truthy(proc.read_file(tree .. "/share/lua/5.1/acmpca/init.lua"))
        assert.truthy(proc.read_file(tree .. "/lib/lua/5.1/acmpca/core.so"))
        assert.is_nil(proc.read_file(tree .. "/lib/lua/5.4/acmpca/core.so"))
    end)

    it("loads in nginx with only the documented paths and runs a call on the fake", function()
        local port = nginx.free_port()
        local paths = gsub(concat(documented_lines(), "\n"), "/opt/lua%-acmpca",
                           (gsub(tree, "%%", "%%%%")))
        local conf = gsub(CONF, "@(%u+)@", { MODULES = nginx.MODULES, PORT = port, ARN = ARN,
                                             PATHS = (gsub(paths, "%%", "%%%%")) })
        srv = nginx.start{ conf = conf, port = port }
        local res, err = nginx.request(port, { method = "GET", path = "/rock" })
        assert(res, err)
        assert.equal(200, res.status, res.body .. srv:error_log())
        local j = res.json
        assert.same({ ok = true, status = "created", has = true, creates = 1 },
                    { ok = j.ok, status = j.status, has = j.has, creates = j.creates })
        assert.equal(require("acmpca")._VERSION, j.version)
        assert.is_true(j.ngx_transport)
        -- the modules came from the tree, cjson from apt (LuaJIT's defaults)
        assert.equal(tree .. "/share/lua/5.1/acmpca/init.lua", j.lua)
        assert.equal(tree .. "/lib/lua/5.1/acmpca/core.so", j.core)
        assert.equal("/usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so", j.cjson)
    end)
end)
