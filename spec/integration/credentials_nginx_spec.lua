-- acmpca.credentials inside a real nginx (Debian's nginx-light with the Lua
-- module, LuaJIT), for the sources that do not go through STS:
-- credential_process in nginx's thread pool (ngx.run_worker_thread: the
-- worker keeps serving while the command runs; time, output and exit
-- status bounded as outside nginx; its stderr in the error log) and EKS
-- Pod Identity (the container source with the authorization token file,
-- over the cosocket transport, against a location of the same nginx that
-- checks the token).  Tagged #nginx.

local nginx = require "support.nginx"

local format = string.format

local POD_TOKEN = "pod-identity-token-0123456789abcdef"
local POD_KEY = "ASIAPODIDENTITY00001"
local POD_SECRET = "podIdentitySecret/0123456789abcdefghijk"
local POD_SESSION = "podIdentitySessionToken0123456789"
local PROC_SECRET = "procSecretInNginx/0123456789abcdefghij"

local CONF = [[
load_module @MODULES@/ndk_http_module.so;
load_module @MODULES@/ngx_http_lua_module.so;
daemon off;
master_process on;
worker_processes 1;
thread_pool acmpca threads=2;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    lua_package_path "@LUAPATH@";
    lua_package_cpath "@LUACPATH@";
    lua_shared_dict pod 64k;
    server {
        listen 127.0.0.1:@PORT@;
        # EKS Pod Identity's agent, as far as the provider sees it
        location = /v1/credentials {
            content_by_lua_block {
                local pod = ngx.shared.pod
                pod:incr("calls", 1, 0)
                pod:set("authorization", ngx.var.http_authorization or "")
                if ngx.var.http_authorization ~= "@POD_TOKEN@" then
                    ngx.status = 401
                    ngx.say('{"message": "bad token"}')
                    return
                end
                ngx.header["Content-Type"] = "application/json"
                ngx.say(require("cjson").encode({
                    AccessKeyId = "@POD_KEY@", SecretAccessKey = "@POD_SECRET@",
                    Token = "@POD_SESSION@",
                    Expiration = os.date("!%Y-%m-%dT%H:%M:%SZ", ngx.time() + 3600),
                }))
            }
        }
@EVAL@
    }
}
]]

local PRELUDE = [[
local credentials = require "acmpca.credentials"
local ENV = { AWS_CONFIG_FILE = %q, AWS_SHARED_CREDENTIALS_FILE = %q,
              AWS_EC2_METADATA_DISABLED = "true" }
local function opts(extra)
    local o = { getenv = function(k) return ENV[k] end, home = %q }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
end
-- runs provider p while a light thread counts its turns every 50 ms
local function timed(p)
    ngx.update_time()
    local t0, ticks, done = ngx.now(), 0, false
    local th = ngx.thread.spawn(function()
        while not done do
            ticks = ticks + 1
            ngx.sleep(0.05)
        end
    end)
    local c, err = p()
    done = true
    ngx.thread.wait(th)
    ngx.update_time()
    return { key = c and c.access_key_id, source = c and c.source,
             err = err and tostring(err), code = err and err.code,
             ticks = ticks, secs = ngx.now() - t0 }
end
]]

local function script(body)
    return "#!/bin/sh\n" .. body .. "\n"
end


describe("acmpca.credentials in nginx #nginx", function()
    local srv, prelude, pidfile

    lazy_setup(function()
        local port = nginx.free_port()
        local root = nginx.root()
        local conf = CONF:gsub("@([%u_]+)@", {
            MODULES = nginx.MODULES, LUAPATH = nginx.lua_path(root),
            LUACPATH = nginx.lua_cpath(root), PORT = port, EVAL = nginx.EVAL_LOCATION,
            POD_TOKEN = POD_TOKEN, POD_KEY = POD_KEY, POD_SECRET = POD_SECRET,
            POD_SESSION = POD_SESSION,
        })
        local prefix = nginx.tmpdir("nginx")
        pidfile = prefix .. "/child.pid"
        local doc = format('{"Version": 1, "AccessKeyId": "AKIDPROCNGINX", '
            .. '"SecretAccessKey": "%s"}', PROC_SECRET)
        local sh = "/bin/sh " .. prefix .. "/"
        srv = nginx.start{ conf = conf, port = port, prefix = prefix, files = {
            config = "[profile slow]\ncredential_process = " .. sh .. "slow.sh\n"
                .. "[profile hang]\ncredential_process = " .. sh .. "hang.sh\n"
                .. "[profile flood]\ncredential_process = " .. sh .. "flood.sh\n"
                .. "[profile bad]\ncredential_process = " .. sh .. "bad.sh\n",
            credentials = "",
            ["slow.sh"] = script("sleep 1\necho '" .. doc .. "'"),
            ["hang.sh"] = script("echo $$ > " .. pidfile .. "\nexec sleep 30"),
            ["flood.sh"] = script("echo $$ > " .. pidfile .. "\nexec yes '" .. doc .. "'"),
            ["bad.sh"] = script("printf 'no such role \\033[31m<red>\\n' >&2\nexit 3"),
            ["pod-token"] = POD_TOKEN .. "\n",
        } }
        srv.ports = { main = port }
        prelude = format(PRELUDE, prefix .. "/config", prefix .. "/credentials", prefix)
    end)

    lazy_teardown(function()
        if srv then
            srv:stop()
        end
    end)

    local function eval(code, timeout)
        local out = nginx.eval(srv, prelude .. code, timeout or 20)
        assert.is_nil(out.raised)
        return out.result
    end

    -- true when the process of the pid file has ended (gone, or a zombie
    -- its new parent has not reaped yet), waiting for it up to 2 s
    local function gone()
        local pid = nginx.read_file(pidfile)
        pid = pid and pid:match("^(%d+)")
        assert(pid, "the script wrote no pid")
        for _ = 1, 40 do
            local stat = nginx.read_file("/proc/" .. pid .. "/stat")
            if not stat or stat:match("^%d+ %b() Z") then
                return true
            end
            os.execute("sleep 0.05")
        end
        return false
    end

    describe("credential_process", function()
        it("runs in the thread pool: the worker serves others while the command runs", function()
            local r = eval([[
                return timed(credentials.provider(opts{ profile = "slow" }))
            ]])
            assert.is_nil(r.err)
            assert.equals("AKIDPROCNGINX", r.key)
            assert.equals("credential_process", r.source)
            assert.is_true(r.secs >= 0.9, "took " .. r.secs .. " s")
            -- one turn every 50 ms during the command's second
            assert.is_true(r.ticks >= 10, "the light thread ran " .. r.ticks .. " times")
        end)

        it("blocks the worker without the pool, which the spec above tells apart", function()
            local r = eval([[
                return timed(credentials.provider(opts{ profile = "slow",
                                                        process_thread_pool = "absent" }))
            ]])
            assert.is_nil(r.err)
            assert.equals("AKIDPROCNGINX", r.key)
            assert.is_true(r.ticks <= 2, "the light thread ran " .. r.ticks .. " times")
        end)

        it("stops a command past process_timeout, its process group too", function()
            os.remove(pidfile)
            local r = eval([[
                return timed(credentials.provider(opts{ profile = "hang", process_timeout = 1 }))
            ]])
            assert.equals("CredentialsError", r.code)
            assert.matches("credential_process for profile hang did not finish within 1 s; "
                .. "it was stopped", r.err, 1, true)
            assert.is_true(r.secs < 4, "took " .. r.secs .. " s")
            assert.is_true(r.ticks >= 10, "the light thread ran " .. r.ticks .. " times")
            assert.is_true(gone(), "the command still runs")
        end)

        it("stops reading past 1 MiB of output and stops the command", function()
            os.remove(pidfile)
            local r = eval([[
                return timed(credentials.provider(opts{ profile = "flood" }))
            ]])
            assert.equals("CredentialsError", r.code)
            assert.matches("credential_process for profile flood printed more than 1048576 "
                .. "bytes; it was stopped", r.err, 1, true)
            assert.is_true(r.secs < 5, "took " .. r.secs .. " s")
            assert.not_matches(PROC_SECRET, r.err, 1, true)
            -- stop() waited for timeout(1): nothing of the group is left
            assert.is_true(gone(), "the command still runs")
        end)

        it("reports the exit status; stderr reaches the error log", function()
            local r = eval([[
                return timed(credentials.provider(opts{ profile = "bad" }))
            ]])
            assert.equals("CredentialsError", r.code)
            assert.matches("credential_process for profile bad exited with status 3 "
                .. "(its stderr, if any, is in nginx's error log)", r.err, 1, true)
            -- the thread inherits the worker's stderr: the error log
            assert.matches("no such role", srv:error_log(), 1, true)
        end)
    end)

    describe("EKS Pod Identity", function()
        it("sends the token file's token over the cosocket transport", function()
            local r = eval(format([[
                ngx.shared.pod:flush_all()
                ENV.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:%d/v1/credentials"
                ENV.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = %q
                local core = require "acmpca.core"
                local curl = 0
                local http_new = core.http_new
                core.http_new = function(...) curl = curl + 1 return http_new(...) end
                local c, err = credentials.provider(opts())()
                core.http_new = http_new
                ENV.AWS_CONTAINER_CREDENTIALS_FULL_URI = nil
                ENV.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = nil
                return { key = c and c.access_key_id, token = c and c.session_token,
                         source = c and c.source, err = err and tostring(err),
                         expires_in = c and c.expiration and c.expiration - ngx.time(),
                         calls = ngx.shared.pod:get("calls"),
                         authorization = ngx.shared.pod:get("authorization"),
                         curl = curl,
                         cosocket = package.loaded["acmpca.transport.ngx"] ~= nil }
            ]], srv.ports.main, srv.prefix .. "/pod-token"))
            assert.is_nil(r.err)
            assert.equals(POD_KEY, r.key)
            assert.equals(POD_SESSION, r.token)
            assert.equals("container", r.source)
            assert.is_true(r.expires_in > 3500 and r.expires_in <= 3600)
            assert.equals(1, r.calls)
            -- the file's token, its newline cut
            assert.equals(POD_TOKEN, r.authorization)
            assert.equals(0, r.curl)
            assert.is_true(r.cosocket)
        end)

        it("refuses a host the SDKs do not accept, before connecting", function()
            local r = eval([[
                ngx.shared.pod:flush_all()
                ENV.AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://192.0.2.10/v1/credentials"
                ENV.AWS_CONTAINER_AUTHORIZATION_TOKEN = "t"
                local c, err = credentials.provider(opts())()
                ENV.AWS_CONTAINER_CREDENTIALS_FULL_URI = nil
                ENV.AWS_CONTAINER_AUTHORIZATION_TOKEN = nil
                return { key = c and c.access_key_id, err = err and tostring(err),
                         code = err and err.code }
            ]])
            assert.is_nil(r.key)
            assert.equals("CredentialsError", r.code)
            assert.matches("192.0.2.10", r.err, 1, true)
        end)
    end)
end)
