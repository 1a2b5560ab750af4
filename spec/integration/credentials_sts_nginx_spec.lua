-- The STS sources of acmpca.credentials inside a real nginx (Debian's
-- nginx-light with the Lua module, LuaJIT): assume role over the cosocket
-- transport against the local STS (spec/support/fake_sts.py, signatures
-- checked with botocore), one lookup for concurrent requests (single
-- flight) and credentials shared through a lua_shared_dict, in one worker
-- and across two worker processes.  Tagged #nginx.

local nginx = require "support.nginx"
local sts_fixture = require "support.sts_fixture"

local format = string.format

local ACCOUNT = "111122223333"
local BASE = { access_key_id = "AKIDSTSNGINX00000001",
               secret_access_key = "stsNginxSecret/0123456789abcdefghijklmno" }
local ROLE_ONE = "arn:aws:iam::" .. ACCOUNT .. ":role/ngx-one"
local ROLE_TWO = "arn:aws:iam::444455556666:role/ngx-two"
local ROLE_WEB = "arn:aws:iam::" .. ACCOUNT .. ":role/ngx-irsa"
local WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.nginx-pod.signature"

local CONF = [[
load_module @MODULES@/ndk_http_module.so;
load_module @MODULES@/ngx_http_lua_module.so;
daemon off;
master_process on;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    lua_package_path "@LUAPATH@";
    lua_package_cpath "@LUACPATH@";
    lua_shared_dict acmpca_creds 1m;
    server {
        listen 127.0.0.1:@PORT@;
@EVAL@
    }
}
]]

-- the chunk's prelude: the provider options over the prefix's files
local PRELUDE = [[
local credentials = require "acmpca.credentials"
local core = require "acmpca.core"
local ENV = { AWS_SHARED_CREDENTIALS_FILE = %q, AWS_CONFIG_FILE = %q,
              AWS_ENDPOINT_URL_STS = %q, AWS_REGION = "us-east-1",
              AWS_EC2_METADATA_DISABLED = "true" }
local function opts(extra)
    local o = { getenv = function(k) return ENV[k] end, home = %q }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
end
]]


describe("acmpca.credentials (STS) in nginx #nginx", function()
    local sts, srv, prelude

    lazy_setup(function()
        local err
        sts, err = sts_fixture.start{
            account = ACCOUNT,
            credentials = { [BASE.access_key_id] = { secret = BASE.secret_access_key } },
            roles = { [ROLE_ONE] = { trust = { BASE.access_key_id } },
                      [ROLE_TWO] = { trust = { ROLE_ONE } },
                      [ROLE_WEB] = { trust = {}, web_identity = true } },
            web_identity = { token = WEB_TOKEN },
        }
        assert(sts, err)
        local port = nginx.free_port()
        local root = nginx.root()
        local conf = CONF:gsub("@(%u+)@", {
            MODULES = nginx.MODULES, LUAPATH = nginx.lua_path(root),
            LUACPATH = nginx.lua_cpath(root), PORT = port, EVAL = nginx.EVAL_LOCATION,
        })
        srv = nginx.start{ conf = conf, port = port, files = {
            credentials = "[base]\naws_access_key_id = " .. BASE.access_key_id
                .. "\naws_secret_access_key = " .. BASE.secret_access_key .. "\n",
            config = "[profile one]\nrole_arn = " .. ROLE_ONE .. "\nsource_profile = base\n"
                .. "[profile two]\nrole_arn = " .. ROLE_TWO .. "\nsource_profile = one\n",
            ["web-token"] = WEB_TOKEN .. "\n",
        } }
        srv.ports = { main = port }
        prelude = format(PRELUDE, srv.prefix .. "/credentials", srv.prefix .. "/config",
                         sts.url, srv.prefix)
    end)

    lazy_teardown(function()
        if srv then
            srv:stop()
        end
        if sts then
            sts.stop()
        end
    end)

    before_each(function()
        sts.reset()
    end)

    local function eval(code)
        local out = nginx.eval(srv, prelude .. code, 20)
        assert.is_nil(out.raised)
        return out.result
    end

    it("assumes a chain of two roles over the cosocket transport", function()
        local r = eval([[
            local curl = 0
            local http_new = core.http_new
            core.http_new = function(...) curl = curl + 1 return http_new(...) end
            local c, err = credentials.provider(opts{ profile = "two" })()
            core.http_new = http_new
            return { key = c and c.access_key_id, source = c and c.source,
                     err = err and err.message, curl = curl,
                     cosocket = package.loaded["acmpca.transport.ngx"] ~= nil }
        ]])
        assert.is_nil(r.err)
        assert.equals("assume-role", r.source)
        assert.matches("^ASIA", r.key)
        assert.equals(0, r.curl)
        assert.is_true(r.cosocket)
        assert.equals(2, sts.stats().counts.AssumeRole)
    end)

    it("tells the caller's identity over the cosocket transport", function()
        local r = eval([[
            local curl = 0
            local http_new = core.http_new
            core.http_new = function(...) curl = curl + 1 return http_new(...) end
            local c = require("acmpca").new{ profile = "two",
                                             getenv = function(k) return ENV[k] end }
            local id, err = c:caller_identity()
            core.http_new = http_new
            return { account = id and id.account, arn = id and id.arn,
                     source = id and id.source, err = err and err.message, curl = curl }
        ]])
        assert.is_nil(r.err)
        assert.equals("444455556666", r.account)
        assert.matches("^arn:aws:sts::444455556666:assumed%-role/ngx%-two/", r.arn)
        assert.equals("assume-role", r.source)
        assert.equals(0, r.curl)
        local st = sts.stats()
        assert.equals(2, st.counts.AssumeRole)
        assert.equals(1, st.counts.GetCallerIdentity)
        assert.equals(200, st.requests[#st.requests].status)
    end)

    it("signs in with web identity (IRSA) over the cosocket transport", function()
        local r = eval(string.format([[
            ENV.AWS_WEB_IDENTITY_TOKEN_FILE = %q
            ENV.AWS_ROLE_ARN = %q
            local c, err = credentials.provider(opts())()
            ENV.AWS_WEB_IDENTITY_TOKEN_FILE, ENV.AWS_ROLE_ARN = nil, nil
            return { key = c and c.access_key_id, source = c and c.source,
                     err = err and err.message,
                     cosocket = package.loaded["acmpca.transport.ngx"] ~= nil }
        ]], srv.prefix .. "/web-token", ROLE_WEB))
        assert.is_nil(r.err)
        assert.equals("web-identity", r.source)
        assert.matches("^ASIA", r.key)
        assert.is_true(r.cosocket)
        local st = sts.stats()
        assert.equals(1, st.counts.AssumeRoleWithWebIdentity)
        assert.is_false(st.requests[1].signed)
    end)

    it("makes one lookup for concurrent requests (single flight)", function()
        sts.control{ delay_ms = 300 }
        local r = eval([[
            local p = credentials.provider(opts{ profile = "one" })
            local threads, keys = {}, {}
            for i = 1, 6 do
                threads[i] = ngx.thread.spawn(function()
                    local c, err = p()
                    return c and c.access_key_id or tostring(err)
                end)
            end
            for i = 1, 6 do
                local _, key = ngx.thread.wait(threads[i])
                keys[#keys + 1] = key
            end
            return keys
        ]])
        sts.control{ delay_ms = 0 }
        assert.equals(6, #r)
        for i = 2, 6 do
            assert.equals(r[1], r[i])
        end
        assert.matches("^ASIA", r[1])
        assert.equals(1, sts.stats().counts.AssumeRole)
    end)

    it("shares credentials across providers (workers) through a lua_shared_dict", function()
        local r = eval([[
            ngx.shared.acmpca_creds:flush_all()
            local a = credentials.provider(opts{ profile = "one", shared_dict = "acmpca_creds" })
            local b = credentials.provider(opts{ profile = "one", shared_dict = "acmpca_creds" })
            local ca, cb = a(), b()
            local ok, err = pcall(credentials.provider, opts{ shared_dict = "nope" })
            return { a = ca and ca.access_key_id, b = cb and cb.access_key_id,
                     missing = not ok and tostring(err) or nil }
        ]])
        assert.matches("^ASIA", r.a)
        assert.equals(r.a, r.b)
        assert.equals(1, sts.stats().counts.AssumeRole)
        assert.matches("shared_dict: no lua_shared_dict named nope", r.missing)
    end)
end)


-- Two worker processes, each looking the credentials up from a timer as it
-- starts (so both look at once, the STS answering slowly): through the
-- lua_shared_dict only one of them calls STS and both get its answer.
local WORKERS_CONF = [[
load_module @MODULES@/ndk_http_module.so;
load_module @MODULES@/ngx_http_lua_module.so;
daemon off;
master_process on;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    lua_package_path "@LUAPATH@";
    lua_package_cpath "@LUACPATH@";
    lua_shared_dict acmpca_creds 1m;
    lua_shared_dict results 64k;
    init_worker_by_lua_block {
        ngx.timer.at(0, function()
            local credentials = require "acmpca.credentials"
            local ENV = { AWS_SHARED_CREDENTIALS_FILE = "@PREFIX@/credentials",
                          AWS_CONFIG_FILE = "@PREFIX@/config",
                          AWS_ENDPOINT_URL_STS = "@STS@", AWS_REGION = "us-east-1",
                          AWS_EC2_METADATA_DISABLED = "true" }
            local p = credentials.provider{ profile = "one", home = "@PREFIX@",
                                            getenv = function(k) return ENV[k] end,
                                            shared_dict = "acmpca_creds" }
            local c, err = p()
            ngx.shared.results:set("worker" .. ngx.worker.id(),
                                   c and c.access_key_id or ("error: " .. tostring(err)))
        end)
    }
    server {
        listen 127.0.0.1:@PORT@;
@EVAL@
    }
}
]]


describe("acmpca.credentials (STS) across nginx workers #nginx", function()
    local sts, srv

    lazy_setup(function()
        local err
        sts, err = sts_fixture.start{
            account = ACCOUNT,
            credentials = { [BASE.access_key_id] = { secret = BASE.secret_access_key } },
            roles = { [ROLE_ONE] = { trust = { BASE.access_key_id } } },
        }
        assert(sts, err)
        -- slow enough that the two workers' lookups overlap
        sts.control{ delay_ms = 500 }
        local port = nginx.free_port()
        local root = nginx.root()
        local prefix = nginx.tmpdir("nginx")
        local conf = WORKERS_CONF:gsub("@(%u+)@", {
            MODULES = nginx.MODULES, LUAPATH = nginx.lua_path(root),
            LUACPATH = nginx.lua_cpath(root), PORT = port, EVAL = nginx.EVAL_LOCATION,
            PREFIX = prefix, STS = sts.url,
        })
        srv = nginx.start{ conf = conf, port = port, prefix = prefix, files = {
            credentials = "[base]\naws_access_key_id = " .. BASE.access_key_id
                .. "\naws_secret_access_key = " .. BASE.secret_access_key .. "\n",
            config = "[profile one]\nrole_arn = " .. ROLE_ONE .. "\nsource_profile = base\n",
        } }
        srv.ports = { main = port }
    end)

    lazy_teardown(function()
        if srv then
            srv:stop()
        end
        if sts then
            sts.stop()
        end
    end)

    it("makes one AssumeRole for two workers through the lua_shared_dict", function()
        local r
        for _ = 1, 100 do
            r = nginx.eval(srv, [[
                local d = ngx.shared.results
                return { d:get("worker0") or false, d:get("worker1") or false }
            ]]).result
            if r[1] and r[2] then
                break
            end
            os.execute("sleep 0.1")
        end
        assert.matches("^ASIA", r[1])
        assert.equals(r[1], r[2])
        assert.equals(1, sts.stats().counts.AssumeRole)
    end)
end)
