--- acmpca.serve: `acmpca serve`, the fake ACM PCA (acmpca.mock, every
-- operation of the model) over HTTP on a loopback address, for the AWS
-- CLI, boto3 and scripts.  nginx with the Lua module serves it (Debian's
-- /usr/sbin/nginx + libnginx-mod-http-lua, LuaJIT); the side that runs in
-- nginx is acmpca.serve.handler.
--
--    local code = require("acmpca.serve").main({ "--port", "8080" }, io_env)
--
-- One nginx worker holds the fake, so its state (permissions, policies)
-- lasts for the life of the server.  Every request's SigV4 signature is
-- checked (acmpca.mock.signature) against one set of credentials: the AWS
-- documentation's example keys, acmpca.mock.credentials (access key
-- AKIDEXAMPLE), scoped to us-east-1; anything else is refused as AWS
-- refuses it (UnrecognizedClientException, InvalidSignatureException).
--
-- main writes nginx's prefix (configuration, logs) under a mktemp
-- directory, points nginx's Lua at the directory this module was loaded
-- from and at the LuaJIT build of acmpca.core (the checkout's build/jit or
-- a rock installed for Lua 5.1; never a Lua 5.4 build), and runs nginx in
-- the foreground under a small shell supervisor that stops it by PID on
-- SIGINT, SIGTERM and when this process dies (setpriv `--pdeathsig`).  The
-- URL and the AWS CLI's settings are printed once nginx listens.
--
-- @module acmpca.serve

local type, ipairs, pairs, pcall, require, tostring, tonumber = type, ipairs, pairs, pcall,
    require, tostring, tonumber
local setmetatable, getmetatable, rawget, error = setmetatable, getmetatable, rawget, error
local concat = table.concat
local fmt = string.format
local io_open, io_popen = io.open, io.popen
local os_execute, os_remove, os_time, os_rename = os.execute, os.remove, os.time, os.rename
local random, randomseed = math.random, math.randomseed

local _M = { _VERSION = "0.2.0" }


_M.NGINX = "/usr/sbin/nginx"
_M.MODULES = "/usr/share/nginx/modules"
_M.REGION = "us-east-1"
-- where a rock installed for Lua 5.1 keeps acmpca/core.so, looked at last
_M.CORE_DIRS = { "/usr/local/lib/lua/5.1" }

local PACKAGES = "Debian's nginx-light (or nginx) and libnginx-mod-http-lua "
    .. "(apt-get install nginx-light libnginx-mod-http-lua)"

-- the demo fleet's issuing-prod.example.com, for the printed examples
local EXAMPLE_ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "de000000-0000-4000-8000-000000000002"

local USAGE = [[
usage: acmpca serve [--port N] [--host 127.0.0.1] [--seed demo|empty] [--ready FILE]

Runs the fake ACM PCA over HTTP on a loopback address (nginx with the Lua
module), for the AWS CLI, boto3 and scripts, until Ctrl-C.

  --port N       the port (default 0: a free one, printed)
  --host ADDR    127.0.0.1 (default), another 127.x.y.z, localhost or ::1;
                 nothing else: anyone holding the example keys could use it
  --seed NAME    demo (default): nine CAs of account 111122223333 in every
                 state; empty: no CA
  --ready FILE   once it listens, write {"url", "pid", "serve_pid",
                 "prefix"} there as JSON (pid: nginx's master)

Requests are signed with the AWS documentation's example keys (printed at
start, not a secret) for us-east-1; others are refused as AWS refuses them.
The state lasts until the server stops.  Needs Debian's nginx-light (or
nginx) and libnginx-mod-http-lua.
]]


------------------------------------------------------------------------
-- small helpers
-- @section small_helpers
------------------------------------------------------------------------

local function quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


-- Runs a shell command -> whether it exited 0 (Lua 5.1 and 5.2+).
local function run(cmd)
    local ok = os_execute(cmd)
    return ok == true or ok == 0
end


local function read_cmd(cmd)
    local p = io_popen(cmd, "r")
    if not p then
        return ""
    end
    local s = p:read("*a") or ""
    p:close()
    return s
end


local function read_file(path)
    local f = io_open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end


local function write_file(path, data)
    local f, err = io_open(path, "wb")
    if not f then
        return nil, err
    end
    f:write(data)
    f:close()
    return true
end


local function exists(path)
    local f = io_open(path, "rb")
    if f then
        f:close()
        return true
    end
    return false
end


-- The JSON text of a flat table of strings and numbers (keys sorted).
local function json_object(t)
    local keys, out = {}, {}
    for k in pairs(t) do
        keys[#keys + 1] = k
    end
    table.sort(keys)
    for _, k in ipairs(keys) do
        local v = t[k]
        if type(v) == "string" then
            v = '"' .. v:gsub('[%c"\\]', function(c)
                return fmt("\\u%04x", c:byte())
            end) .. '"'
        end
        out[#out + 1] = fmt('"%s": %s', k, tostring(v))
    end
    return "{" .. concat(out, ", ") .. "}"
end


------------------------------------------------------------------------
-- the arguments
-- @section the_arguments
------------------------------------------------------------------------

local Usage = {}


local function usage(msg)
    error(setmetatable({ msg = msg }, Usage), 0)
end


-- "127.0.0.1", "127.x.y.z", "localhost", "::1" -> the listen address and
-- the URL's host; anything else is refused.
local function loopback(host)
    if host == "localhost" then
        return "127.0.0.1", "127.0.0.1"
    elseif host == "::1" or host == "[::1]" then
        return "[::1]", "[::1]"
    end
    local a, b, c = host:match("^127%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
    if a and tonumber(a) <= 255 and tonumber(b) <= 255 and tonumber(c) <= 255 then
        return host, host
    end
    usage("argument --host: " .. host .. " is not a loopback address (127.0.0.1, "
          .. "127.x.y.z, localhost or ::1): the fake accepts anyone holding its "
          .. "published keys")
end


local OPTIONS = { port = true, host = true, seed = true, ready = true }


-- args -> { port, host, seed, ready, help } or raises Usage.
local function parse(args)
    local o = { port = 0, host = "127.0.0.1", seed = "demo" }
    local i = (args[1] == "serve") and 2 or 1
    while args[i] ~= nil do
        local a = tostring(args[i])
        if a == "--help" or a == "-h" then
            o.help = true
            i = i + 1
        else
            local name, inline = a:match("^%-%-([%w-]+)=(.*)$")
            name = name or a:match("^%-%-([%w-]+)$")
            if not name or not OPTIONS[name] then
                usage("unknown option " .. a)
            end
            local v = inline or args[i + 1]
            if v == nil then
                usage("argument --" .. name .. ": expected one argument")
            end
            o[name] = tostring(v)
            i = i + (inline and 1 or 2)
        end
    end
    local port = tonumber(o.port)
    if not tostring(o.port):match("^%d+$") or not port or port > 65535 then
        usage("argument --port: expected a port number 0-65535, got " .. tostring(o.port))
    end
    o.port = port
    if o.seed ~= "demo" and o.seed ~= "empty" then
        usage("argument --seed: expected demo or empty, got " .. o.seed)
    end
    o.listen, o.url_host = loopback(o.host)
    return o
end


------------------------------------------------------------------------
-- what nginx needs: the binary, its Lua module, acmpca's files
-- @section what_nginx_needs_the_binary_its_lua_modu
------------------------------------------------------------------------

-- nil when nginx and its Lua module are there, else why not.
local function check_nginx(nginx, modules)
    if not run("test -x " .. quote(nginx)) then
        return nginx .. " is missing: install " .. PACKAGES
    end
    for _, m in ipairs({ "ngx_http_lua_module.so", "ndk_http_module.so" }) do
        local path = modules .. "/" .. m
        if not exists(path) then
            return "nginx's Lua module " .. path .. " is missing: install " .. PACKAGES
                .. (m == "ndk_http_module.so" and " (it brings libnginx-mod-http-ndk)" or "")
        end
    end
end


local function absolute(path)
    if path:sub(1, 1) == "/" then
        return path
    end
    local cwd = read_cmd("pwd"):gsub("%s+$", "")
    return cwd .. "/" .. path:gsub("^%./", "")
end


-- Whether a core.so was built against Lua 5.2+ (a LuaJIT build never
-- names these functions: they are macros or absent there).
local function built_for_new_lua(path)
    local data = read_file(path) or ""
    return data:find("lua_callk", 1, true) ~= nil or data:find("luaL_checkversion_", 1, true)
        ~= nil
end


-- The directory of acmpca's Lua files and the one holding the LuaJIT
-- build's acmpca/core.so -> lua_dir, core_dir, or nil, why.
local function locate()
    local me = package.searchpath and package.searchpath("acmpca.serve", package.path)
    if not me then
        return nil, "cannot find acmpca/serve.lua on package.path"
    end
    local lua_dir = absolute(me):match("^(.*)/acmpca/serve%.lua$")
    local candidates = {}
    local checkout = lua_dir:match("^(.*)/lua$")
    if checkout then
        candidates[#candidates + 1] = checkout .. "/build/jit"
    end
    local tree = lua_dir:match("^(.*)/share/lua/5%.%d$")
    if tree then
        candidates[#candidates + 1] = tree .. "/lib/lua/5.1"
    end
    if rawget(_G, "jit") then
        local here = package.searchpath("acmpca.core", package.cpath)
        if here then
            candidates[#candidates + 1] = absolute(here):match("^(.*)/acmpca/core%.so$")
        end
    end
    for _, dir in ipairs(_M.CORE_DIRS) do
        candidates[#candidates + 1] = dir
    end
    for _, dir in ipairs(candidates) do
        local so = dir .. "/acmpca/core.so"
        if exists(so) and not built_for_new_lua(so) then
            return lua_dir, dir
        end
    end
    return nil, "no LuaJIT (Lua 5.1) build of acmpca/core.so in " .. concat(candidates, ", ")
        .. ": run make (build/jit) or luarocks --lua-version=5.1 make"
end


-- The system's Lua 5.1 module directories (cjson, resty.core).
local function system_paths()
    local lpath = { "/usr/local/share/lua/5.1/?.lua", "/usr/local/share/lua/5.1/?/init.lua",
                    "/usr/share/lua/5.1/?.lua", "/usr/share/lua/5.1/?/init.lua" }
    local cpath = { "/usr/local/lib/lua/5.1/?.so" }
    for dir in read_cmd("ls -d /usr/lib/*/lua/5.1 2>/dev/null"):gmatch("[^\n]+") do
        cpath[#cpath + 1] = dir .. "/?.so"
    end
    cpath[#cpath + 1] = "/usr/lib/lua/5.1/?.so"
    return concat(lpath, ";"), concat(cpath, ";")
end


------------------------------------------------------------------------
-- the port
-- @section the_port
------------------------------------------------------------------------

-- port 0 -> a free one (luasocket's bind to 0 when it is there, else a
-- random one nginx will try); a given port -> it, or nil and why when it
-- is visibly in use.
local function choose_port(host, port)
    local ok, socket = pcall(require, "socket")
    ok = ok and type(socket) == "table" and socket.bind
    local bind_host = host == "[::1]" and "::1" or host
    if port == 0 then
        if ok then
            local s = socket.bind(bind_host, 0)
            if s then
                local _, p = s:getsockname()
                s:close()
                return tonumber(p)
            end
        end
        return random(20000, 60999)
    end
    if ok then
        local s, err = socket.bind(bind_host, port)
        if s then
            s:close()
        elseif tostring(err):find("in use", 1, true) then
            return nil, "in use"
        end
    end
    return port
end


local function busy_message(host, port)
    return fmt("port %d on %s is already in use: pick another with --port, or --port 0 "
               .. "for a free one", port, host)
end


------------------------------------------------------------------------
-- nginx's prefix: the configuration and the supervisor
-- @section nginx_s_prefix_the_configuration_and_the
------------------------------------------------------------------------

local CONF = [[
load_module @MODULES@/ndk_http_module.so;
load_module @MODULES@/ngx_http_lua_module.so;
@USER@daemon off;
master_process on;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 256; }
http {
    log_format acmpca '$remote_addr [$time_local] $status $http_x_amz_target $request_time';
    access_log logs/access.log acmpca;
    lua_package_path "@LUAPATH@";
    lua_package_cpath "@LUACPATH@";
    client_body_buffer_size 1m;
    client_max_body_size 1m;
    server_tokens off;
    init_by_lua_block {
        require("acmpca.serve.handler").init{ seed = @SEED@, region = @REGION@,
                                              ready = @READY@ }
    }
    init_worker_by_lua_block { require("acmpca.serve.handler").ready() }
    server {
        listen @LISTEN@;
        location / {
            content_by_lua_block { require("acmpca.serve.handler").serve() }
        }
    }
}
]]


-- When nginx starts as root its workers would run as nobody, who may not
-- read a checkout or a home directory: name the user running acmpca.
local function user_directive()
    local ids = read_cmd("id -u; id -un; id -gn")
    local uid, user, group = ids:match("^(%d+)\n([^\n]+)\n([^\n]+)")
    if uid ~= "0" then
        return ""
    end
    return "user " .. user .. " " .. group .. ";\n"
end


-- The supervisor: its own PID first ("PID pid"), nginx in the
-- background, nginx's PID once the worker is up ("READY pid"), then a
-- "TICK" every half second while nginx runs (so a reader blocked on the
-- pipe gets to run its Lua, and a reader that died is noticed); nginx is
-- stopped by PID on INT/TERM/HUP/PIPE (and on this process's death: the
-- supervisor runs under setpriv --pdeathsig TERM); nginx's logs ("LOG
-- ...") when it failed; "EXIT status" last; the prefix removed on the way out.
local SUPERVISOR = [[
P=@PREFIX@
echo "PID $$"
@NGINX@ -p "$P/" -c "$P/nginx.conf" -e "$P/logs/error.log" \
    </dev/null >"$P/logs/stdout" 2>&1 &
NGINX_PID=$!
stop() { kill -TERM "$NGINX_PID" 2>/dev/null; }
# running: not gone, not a zombie waiting for us
running() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
trap stop INT TERM HUP PIPE
i=0
while [ ! -f "$P/logs/ready" ] && running "$NGINX_PID"; do
    i=$((i + 1))
    if [ "$i" -gt 600 ]; then echo "LOG nginx did not start within 30 s"; stop; break; fi
    sleep 0.05
done
if [ -f "$P/logs/ready" ] && running "$NGINX_PID"; then
    echo "READY $NGINX_PID" 2>/dev/null || stop
fi
while running "$NGINX_PID"; do
    echo TICK 2>/dev/null || stop
    sleep 0.5
done
wait "$NGINX_PID"
status=$?
if [ "$status" -ne 0 ] || [ ! -f "$P/logs/ready" ]; then
    tail -n 40 "$P/logs/error.log" "$P/logs/stdout" 2>/dev/null | sed 's/^/LOG /' 2>/dev/null
fi
echo "EXIT $status" 2>/dev/null
rm -rf "$P"
]]


-- Writes nginx's prefix under a fresh mktemp directory -> prefix, or nil, why.
local function write_prefix(o, port, nginx, modules, lua_dir, core_dir)
    local prefix = read_cmd("mktemp -d /tmp/acmpca-serve.XXXXXX"):gsub("%s+$", "")
    if prefix == "" or not run("mkdir -p " .. quote(prefix .. "/logs") .. " && chmod 755 "
                               .. quote(prefix)) then
        return nil, "cannot make a directory under /tmp"
    end
    local sys_lpath, sys_cpath = system_paths()
    local conf = CONF:gsub("@(%u+)@", {
        MODULES = modules, USER = user_directive(),
        LUAPATH = lua_dir .. "/?.lua;" .. lua_dir .. "/?/init.lua;" .. sys_lpath,
        LUACPATH = core_dir .. "/?.so;" .. sys_cpath,
        SEED = fmt("%q", o.seed), REGION = fmt("%q", _M.REGION),
        READY = fmt("%q", prefix .. "/logs/ready"),
        LISTEN = o.listen .. ":" .. port,
    })
    local script = SUPERVISOR:gsub("@(%u+)@", { PREFIX = quote(prefix), NGINX = quote(nginx) })
    local ok, err = write_file(prefix .. "/nginx.conf", conf)
    if ok then
        ok, err = write_file(prefix .. "/run.sh", script)
    end
    if not ok then
        run("rm -rf " .. quote(prefix))
        return nil, "cannot write nginx's configuration: " .. tostring(err)
    end
    return prefix
end


------------------------------------------------------------------------
-- running
-- @section running
------------------------------------------------------------------------

local function banner(url, nginx_pid, seed)
    local creds = require("acmpca.mock").credentials
    local fleet = seed == "demo"
        and "the demo fleet: nine CAs of account 111122223333 in every state"
        or "no CA"
    return concat({
        "acmpca serve: the fake ACM PCA listens on " .. url,
        "nginx PID " .. nginx_pid .. "; " .. fleet .. ";",
        "its state lasts until the server stops.",
        "",
        "It checks every request's signature against these credentials only (the AWS",
        "documentation's example keys, not a secret) for region " .. _M.REGION .. ":",
        "",
        "  export AWS_ACCESS_KEY_ID=" .. creds.access_key_id,
        "  export AWS_SECRET_ACCESS_KEY=" .. creds.secret_access_key,
        "  export AWS_DEFAULT_REGION=" .. _M.REGION,
        "  unset AWS_SESSION_TOKEN",
        "",
        "  aws --endpoint-url " .. url .. " acm-pca list-certificate-authorities",
        "  aws --endpoint-url " .. url .. " acm-pca list-permissions \\",
        "      --certificate-authority-arn " .. EXAMPLE_ARN,
        "  acmpca --endpoint-url " .. url .. " list-permissions \\",
        "      --certificate-authority-arn " .. EXAMPLE_ARN,
        "",
        "boto3: boto3.client(\"acm-pca\", endpoint_url=\"" .. url .. "\", region_name=\""
            .. _M.REGION .. "\")",
        "",
        "Press Ctrl-C to stop it.",
        "",
    }, "\n")
end


-- nginx listens: the banner, then the ready file.
local function on_ready(st, pid)
    local o, env = st.o, st.env
    st.ready = true
    local url = "http://" .. o.url_host .. ":" .. st.port
    env.stdout:write(banner(url, pid, o.seed))
    if env.stdout.flush then
        env.stdout:flush()
    end
    if o.ready then
        local serve_pid = (read_file("/proc/self/stat") or ""):match("^(%d+)")
        write_file(o.ready .. ".tmp", json_object({
            url = url, pid = tonumber(pid), serve_pid = tonumber(serve_pid),
            prefix = st.prefix }) .. "\n")
        os_rename(o.ready .. ".tmp", o.ready)
    end
end


-- Reads the supervisor's lines until it closes the pipe.  A read that a
-- signal cuts short (Lua 5.4's SIGINT handler does not restart it) is
-- read again.
local function read_lines(st)
    local failures = 0
    while failures < 100 do
        local line, err = st.pipe:read("*l")
        if not line and not err then
            return
        end
        failures = line and 0 or failures + 1
        line = line or ""
        local pid = line:match("^READY (%d+)$")
        if pid then
            on_ready(st, pid)
        elseif line:match("^PID %d+$") then
            st.supervisor = line:match("%d+")
        elseif line:match("^LOG ") then
            st.log[#st.log + 1] = line:sub(5)
        elseif line:match("^EXIT %d+$") then
            st.status = tonumber(line:match("%d+"))
        end
    end
end


-- Runs nginx from prefix until it exits -> { ready, busy, status, log }.
-- A Ctrl-C (or SIGINT to this process alone), which lua.c turns into an
-- "interrupted!" error at the next Lua instruction, has the supervisor
-- stop nginx; the lines are read on until it is done.
local function supervise(prefix, o, port, env)
    local setpriv = exists("/usr/bin/setpriv") and "exec /usr/bin/setpriv --pdeathsig TERM "
        or "exec "
    local st = { o = o, env = env, port = port, prefix = prefix, log = {} }
    st.pipe = io_popen(setpriv .. "env -i PATH=/usr/sbin:/usr/bin:/bin sh "
                       .. quote(prefix .. "/run.sh"), "r")
    while true do
        local ok, err = pcall(read_lines, st)
        local interrupted = not ok and tostring(err):find("interrupted", 1, true)
        if not ok and not interrupted then
            st.log[#st.log + 1] = tostring(err)
        end
        if not ok and st.supervisor and not st.status then
            run("kill -TERM " .. st.supervisor .. " 2>/dev/null")
        end
        if not interrupted then
            break
        end
    end
    st.pipe:close()
    if o.ready and st.ready then
        os_remove(o.ready)
    end
    run("rm -rf " .. quote(prefix))
    st.busy = concat(st.log, "\n"):find("Address already in use", 1, true) ~= nil
    return st
end


-- One attempt on port -> exit code, or nil when the port turned out busy.
local function attempt(o, port, env, where)
    local prefix, why = write_prefix(o, port, env.nginx, env.modules, where.lua, where.core)
    if not prefix then
        env.stderr:write("acmpca serve: ", why, "\n")
        return 1
    end
    local r = supervise(prefix, o, port, env)
    if r.busy and not r.ready then
        return nil
    end
    if not r.ready then
        env.stderr:write("acmpca serve: nginx did not start:\n", concat(r.log, "\n"), "\n")
        return 1
    end
    if r.status ~= 0 then
        env.stderr:write("acmpca serve: nginx exited with status ", tostring(r.status), ":\n",
                         concat(r.log, "\n"), "\n")
        return 1
    end
    env.stdout:write("acmpca serve: stopped\n")
    return 0
end


local function serve(o, env)
    if o.ready then
        os_remove(o.ready) -- a script waiting for it must not read a stale one
    end
    local why = check_nginx(env.nginx, env.modules)
    if why then
        env.stderr:write("acmpca serve: ", why, "\n")
        return 1
    end
    local lua_dir, core_dir = locate()
    if not lua_dir then
        env.stderr:write("acmpca serve: ", core_dir, "\n")
        return 1
    end
    local where = { lua = lua_dir, core = core_dir }
    randomseed(os_time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    local port = o.port
    for _ = 1, o.port == 0 and 5 or 1 do
        local chosen = choose_port(o.listen, o.port)
        if not chosen then
            break
        end
        port = chosen
        local code = attempt(o, port, env, where)
        if code then
            return code
        end
    end
    env.stderr:write("acmpca serve: ", busy_message(o.host, port), "\n")
    return 1
end


--- serve.main(args[, io_env]) -> exit code.  args: the words after
-- `acmpca serve` (a leading "serve" is skipped).  io_env: stdout, stderr
-- (objects with :write), nginx (the binary, default /usr/sbin/nginx),
-- modules (the directory of ngx_http_lua_module.so and ndk_http_module.so,
-- default /usr/share/nginx/modules).
function _M.main(args, io_env)
    if type(args) ~= "table" then
        error("acmpca.serve.main: args: expected a table, got " .. type(args), 2)
    end
    io_env = io_env or {}
    local env = {
        stdout = io_env.stdout or io.stdout, stderr = io_env.stderr or io.stderr,
        nginx = io_env.nginx or _M.NGINX, modules = io_env.modules or _M.MODULES,
    }
    local ok, o = pcall(parse, args)
    if not ok then
        if getmetatable(o) == Usage then
            env.stderr:write(USAGE:match("^[^\n]*"), "  (acmpca serve --help for more)\n",
                             "acmpca: error: ", o.msg, "\n")
            return 2
        end
        error(o, 0)
    end
    if o.help then
        env.stdout:write(USAGE)
        return 0
    end
    local code
    ok, code = pcall(serve, o, env)
    if not ok then
        -- a Ctrl-C before or after nginx runs (during it, serve stops nginx)
        if tostring(code):find("interrupted!", 1, true) then
            env.stderr:write("acmpca serve: interrupted\n")
            return 130
        end
        error(code, 0)
    end
    return code
end


return _M
