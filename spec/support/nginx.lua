-- spec/support/nginx.lua: run a real nginx (Debian's nginx-light with the
-- Lua module) for the specs, and talk HTTP to it.
--
--   local nginx = require "support.nginx"
--   local srv = nginx.start{ conf = text, env = { K = "v" }, links = { lua = dir } }
--   local res = nginx.request(srv.port, { method = "GET", path = "/", headers = {} })
--   local results, seconds = nginx.concurrent(srv.port, { req1, req2, ... })
--   srv:stop()
--
-- nginx runs in the foreground (daemon off) with a master and one worker,
-- in a fresh prefix directory under /tmp (also its working directory),
-- with an empty environment apart from opts.env; it is stopped by its PID.
-- Started as root, its workers run as root too (see user_directive), so a
-- checkout nobody else may read still works.

local socket = require "socket"
local proc = require "support.proc"

local assert = assert
local error = error
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local require = require
local setmetatable = setmetatable
local tonumber = tonumber
local tostring = tostring
local concat = table.concat
local format = string.format
local gsub = string.gsub
local lower = string.lower
local match = string.match

local _M = {}

_M.NGINX = "/usr/sbin/nginx"
_M.MODULES = "/usr/share/nginx/modules"


local shell_quote, run, read_file, write_file = proc.quote, proc.run, proc.read_file,
    proc.write_file
_M.shell_quote = shell_quote
_M.read_file = read_file
_M.write_file = write_file
_M.free_port = proc.free_port


--- The absolute path of the checkout (specs run from its root).
function _M.root()
    local p = io.popen("pwd")
    local dir = p:read("*l")
    p:close()
    return dir
end


function _M.tmpdir(tag)
    return assert(proc.tmpdir(tag or "nginx"))
end


local function can_connect(port)
    local c = socket.tcp()
    c:settimeout(0.2)
    local ok = c:connect("127.0.0.1", port)
    c:close()
    return ok ~= nil
end


--- package.path for nginx's LuaJIT: the checkout's lua/ and the system's
-- Lua 5.1 modules (resty.core, cjson), absolute and nothing else (no ";;":
-- LuaJIT's defaults start with "./?.lua").
function _M.lua_path(root)
    return root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;"
        .. "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
end


--- package.cpath for nginx's LuaJIT: the LuaJIT build of acmpca.core
-- (build/jit, never the Lua 5.4 one `luarocks make` leaves in the
-- checkout root) and the system's Lua 5.1 C modules; no "./?.so".
function _M.lua_cpath(root)
    return root .. "/build/jit/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so"
end


-- A nginx started as root runs its workers as `nobody`, who cannot read
-- a checkout under a 0700 directory (a fresh mktemp -d, a CI workspace):
-- the workers then fail to load lua/ and build/jit.  So as root the
-- configuration gets a `user` directive naming the user running the
-- specs: the workers read exactly what the spec process can, wherever the
-- checkout is, for every configuration (the bench, the hostile suite's,
-- the example's with its symlinks into the checkout), with no list of
-- files to copy and no copy to go stale.  As anyone else nginx cannot
-- switch users and the workers run as the caller already.
local function user_directive(conf)
    if match(conf, "\n%s*user%s") or match(conf, "^%s*user%s") then
        return ""
    end
    local p = io.popen("id -u; id -un; id -gn")
    local uid, user, group = p:read("*l"), p:read("*l"), p:read("*l")
    p:close()
    if uid ~= "0" or not user or not group then
        return ""
    end
    return "user " .. user .. " " .. group .. ";\n"
end


local Server = {}
Server.__index = Server


function Server:error_log()
    return read_file(self.prefix .. "/logs/error.log") or ""
end


function Server:stop()
    proc.stop(self.pid, 5)
    self.pid = nil
    if self.prefix and not os.getenv("ACMPCA_KEEP_NGINX") then
        run("rm -rf " .. shell_quote(self.prefix))
    end
end


--- Starts nginx.  opts: conf (text, written to PREFIX/nginx.conf), env
-- (table), links ({ name = target } symlinks made in the prefix), files
-- ({ name = contents }), port (to wait for; default: first "listen" port).
function _M.start(opts)
    local prefix = opts.prefix or _M.tmpdir("nginx")
    assert(run("mkdir -p " .. shell_quote(prefix .. "/logs")))
    -- workers run as an unprivileged user when nginx starts as root
    assert(run("chmod 755 " .. shell_quote(prefix)))
    for name, target in pairs(opts.links or {}) do
        assert(run("ln -sfn " .. shell_quote(target) .. " " .. shell_quote(prefix .. "/" .. name)))
    end
    for name, data in pairs(opts.files or {}) do
        write_file(prefix .. "/" .. name, data)
    end
    write_file(prefix .. "/nginx.conf", user_directive(opts.conf) .. opts.conf)

    local env = { "PATH=/usr/sbin:/usr/bin:/bin" }
    for k, v in pairs(opts.env or {}) do
        env[#env + 1] = shell_quote(k .. "=" .. v)
    end
    -- run from the prefix: a "./?.so" left in some configuration's search
    -- path must not find the checkout root's Lua 5.4 acmpca/core.so
    local script = "cd " .. shell_quote(prefix) .. " || exit 1\n"
        .. "exec env -i " .. concat(env, " ") .. " " .. _M.NGINX
        .. " -p " .. shell_quote(prefix .. "/")
        .. " -c " .. shell_quote(prefix .. "/nginx.conf")
        .. " -e " .. shell_quote(prefix .. "/logs/error.log") .. "\n"
    write_file(prefix .. "/start.sh", script)
    local p = io.popen("sh " .. shell_quote(prefix .. "/start.sh")
        .. " >" .. shell_quote(prefix .. "/logs/stdout") .. " 2>&1 & echo $!")
    local pid = tonumber(p:read("*l"))
    p:close()
    local srv = setmetatable({ pid = pid, prefix = prefix }, Server)

    local port = opts.port or tonumber(match(opts.conf, "listen%s+127%.0%.0%.1:(%d+)"))
    srv.port = port
    for _ = 1, 200 do
        if can_connect(port) then
            return srv
        end
        if not proc.alive(pid) then
            break
        end
        socket.sleep(0.025)
    end
    local log = srv:error_log() .. (read_file(prefix .. "/logs/stdout") or "")
    srv:stop()
    error("nginx did not start on port " .. tostring(port) .. ":\n" .. log, 2)
end


-- The transport test bench: one nginx with
--   ports.main      /eval runs the Lua chunk in the request body in the
--                   content phase and answers its JSON-encoded result;
--                   /set, /header_filter, /log, /init report what
--                   acmpca.transport.ngx.new raises in those phases
--   ports.plain     canned HTTP answers (/cl, /chunked, /slow, /close,
--                   /noframing, /echo, /conn, /creds: container credentials
--                   set by an /eval, AWS_CONTAINER_CREDENTIALS_FULL_URI;
--                   /raw?kind=...&n=N: hand-made bytes nginx itself would
--                   never send: N repeated and N folded header lines, N
--                   fields, an N-byte line, broken chunked bodies, a
--                   close-delimited body that never ends)
--   ports.tls       the same over TLS, certificate from ca.pem
--   ports.untrusted the same over TLS, certificate from an untrusted CA
-- The location both test configurations share: POST a Lua chunk to /eval,
-- get {"result": ...} or {"raised": "..."} back (_M.eval sends it).
_M.EVAL_LOCATION = [[
        location = /eval {
            content_by_lua_block {
                local cjson = require "cjson.safe"
                ngx.req.read_body()
                local fn, perr = loadstring(ngx.req.get_body_data() or "", "=eval")
                local ok, res
                if fn then ok, res = pcall(fn) else ok, res = false, perr end
                ngx.header["Content-Type"] = "application/json"
                if ok then
                    ngx.say(cjson.encode({ result = res == nil and cjson.null or res }))
                else
                    ngx.say(cjson.encode({ raised = tostring(res) }))
                end
            }
        }
]]


local BENCH = [[
load_module @MODULES@/ndk_http_module.so;
load_module @MODULES@/ngx_http_lua_module.so;
daemon off;
master_process on;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log info;
env AWS_CONTAINER_CREDENTIALS_FULL_URI;
env AWS_EC2_METADATA_DISABLED;
events { worker_connections 1024; }
http {
    access_log off;
    lua_package_path "@LUAPATH@";
    lua_package_cpath "@LUACPATH@";
    lua_ssl_trusted_certificate @PREFIX@/ca.pem;
    lua_ssl_verify_depth 3;

    init_by_lua_block {
        local t = require "acmpca.transport.ngx"
        local ok, err = pcall(t.new)
        local avail, why = t.available()
        package.loaded["bench.init"] = { ok = ok, err = tostring(err),
                                         available = avail, why = why }
    }

    server {
        listen 127.0.0.1:@MAIN@;
        client_body_buffer_size 1m;
        client_max_body_size 1m;
@EVAL@
        location = /init {
            content_by_lua_block {
                ngx.say(require("cjson").encode(package.loaded["bench.init"]))
            }
        }
        location = /set {
            set_by_lua_block $raised {
                local ok, err = pcall(require("acmpca.transport.ngx").new)
                return ok and "no error" or tostring(err)
            }
            return 200 $raised;
        }
        location = /header_filter {
            header_filter_by_lua_block {
                local ok, err = pcall(require("acmpca.transport.ngx").new)
                ngx.header["X-Raised"] = ok and "no error" or tostring(err)
            }
            return 200 "ok";
        }
        location = /log {
            log_by_lua_block {
                local ok, err = pcall(require("acmpca.transport.ngx").new)
                ngx.log(ngx.ERR, "LOGPHASE: ", ok and "no error" or tostring(err))
            }
            return 200 "ok";
        }
    }

    server {
        listen 127.0.0.1:@PLAIN@;
        listen 127.0.0.1:@TLS@ ssl;
        ssl_certificate @PREFIX@/server.pem;
        ssl_certificate_key @PREFIX@/server.key;
        keepalive_requests 1000;
        location = /cl {
            content_by_lua_block {
                local body = string.rep("x", tonumber(ngx.var.arg_n) or 10)
                ngx.header["Content-Length"] = #body
                ngx.header["X-Multi"] = { "a", "b" }
                ngx.print(body)
            }
        }
        location = /chunked {
            content_by_lua_block {
                for i = 1, 5 do ngx.print(string.rep(tostring(i), i * 1000)); ngx.flush(true) end
            }
        }
        location = /slow {
            content_by_lua_block {
                ngx.sleep(tonumber(ngx.var.arg_s) or 1)
                ngx.say("late")
            }
        }
        location = /close {
            keepalive_timeout 0;
            content_by_lua_block { ngx.header["Content-Length"] = 6; ngx.print("closed") }
        }
        location = /noframing {
            chunked_transfer_encoding off;
            content_by_lua_block { ngx.print("until"); ngx.flush(true); ngx.print(" close") }
        }
        location = /echo {
            content_by_lua_block {
                ngx.req.read_body()
                local h = ngx.req.get_headers()
                h.body = ngx.req.get_body_data()
                h.method = ngx.req.get_method()
                h.uri = ngx.var.request_uri
                h.proto = ngx.var.server_protocol
                ngx.status = tonumber(ngx.var.arg_status) or 200
                ngx.print(require("cjson").encode(h))
            }
        }
        location = /creds {
            content_by_lua_block {
                local st = package.loaded["bench.creds"]
                if not st then return ngx.exit(404) end
                st.hits = st.hits + 1
                st.authorization = ngx.var.http_authorization
                ngx.sleep(0.05)
                ngx.header["Content-Type"] = "application/json"
                ngx.print(st.doc)
            }
        }
        location = /conn {
            content_by_lua_block {
                ngx.print(ngx.var.connection, " ", ngx.var.connection_requests)
            }
        }
        location = /raw {
            content_by_lua_block {
                local kind, n = ngx.var.arg_kind, tonumber(ngx.var.arg_n) or 1
                local rep = string.rep
                local heads = {
                    ["repeat"] = rep("X-Rep: ab\r\n", n) .. "X-Fold: start\r\n"
                        .. rep(" more\r\n", n),
                    fold = "X-Fold: first\r\n \t second  \r\n\tthird\r\n"
                        .. "X-Multi: a\r\nX-Multi: b\r\n  b2\r\nX-Empty:\r\n  later\r\n",
                    many = rep("a: b\r\n", n),
                    longline = "X-Long: " .. rep("v", n) .. "\r\n",
                }
                local chunked = {
                    badchunk = "zz\r\nab\r\n0\r\n\r\n",
                    hugechunk = "fffffffffffffffffffff\r\n",
                    negchunk = "-5\r\nabcde\r\n0\r\n\r\n",
                    emptychunk = "\r\nab\r\n0\r\n\r\n",
                    hexprefix = "0x3\r\nabc\r\n0\r\n\r\n",
                    nulchunk = "\0003\r\nabc\r\n0\r\n\r\n",
                    nocrlf = "3\r\nabcXY0\r\n\r\n",
                    chunkext = "3;name=value\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n",
                }
                local head, body = "HTTP/1.1 200 OK\r\nConnection: close\r\n", "ok"
                if heads[kind] then
                    head = head .. heads[kind] .. "Content-Length: 2\r\n"
                elseif chunked[kind] then
                    head, body = head .. "Transfer-Encoding: chunked\r\n", chunked[kind]
                elseif kind == "endless" then
                    body = ""
                end
                local sock = assert(ngx.req.socket(true))
                sock:send(head .. "\r\n" .. body)
                if kind == "endless" then
                    -- a close-delimited body that never ends: 64 KiB, then silence
                    local piece = rep("z", 1024)
                    for _ = 1, 64 do
                        if not sock:send(piece) then return end
                    end
                    ngx.sleep(5)
                end
            }
        }
    }

    server {
        listen 127.0.0.1:@UNTRUSTED@ ssl;
        ssl_certificate @PREFIX@/other.pem;
        ssl_certificate_key @PREFIX@/other.key;
        location / { return 200 "should not be reached"; }
    }
}
]]


--- Starts the transport test bench; returns the server with .ports.
function _M.start_bench()
    local prefix = _M.tmpdir("ngxbench")
    _M.make_certs(prefix)
    local ports = { main = _M.free_port(), plain = _M.free_port(), tls = _M.free_port(),
                    untrusted = _M.free_port() }
    local conf = gsub(BENCH, "@(%u+)@", {
        MODULES = _M.MODULES, PREFIX = prefix,
        LUAPATH = _M.lua_path(_M.root()), LUACPATH = _M.lua_cpath(_M.root()),
        EVAL = _M.EVAL_LOCATION, MAIN = ports.main, PLAIN = ports.plain, TLS = ports.tls,
        UNTRUSTED = ports.untrusted,
    })
    local srv = _M.start{ prefix = prefix, conf = conf, port = ports.main, env = {
        AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:" .. ports.plain .. "/creds",
        AWS_EC2_METADATA_DISABLED = "true",
    } }
    srv.ports = ports
    return srv
end


--- Runs a Lua chunk in the bench's content phase; returns the decoded
-- { result = ... } or { raised = "..." }; timeout: seconds to wait (10).
function _M.eval(srv, code, timeout)
    local res, err = _M.request(srv.ports.main, { method = "POST", path = "/eval", body = code,
                                                  timeout = timeout })
    assert(res, err)
    assert(res.status == 200 and res.json, "eval failed: " .. tostring(res.status) .. " "
        .. tostring(res.body))
    return res.json
end


--- The example configuration with its listen port replaced (and nothing else).
function _M.render_example(text, port)
    local out, n = gsub(text, "listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. port .. ";")
    assert(n == 1, "examples/openresty/nginx.conf: expected one 'listen 127.0.0.1:8080;'")
    return out
end


-- HTTP client (luasocket, HTTP/1.0 so the body is delimited by close) -----

local function request_bytes(req)
    local body = req.body or ""
    local lines = { format("%s %s HTTP/1.0", req.method or "GET", req.path or "/"),
                    "Host: 127.0.0.1" }
    for k, v in pairs(req.headers or {}) do
        lines[#lines + 1] = k .. ": " .. v
    end
    if req.body then
        lines[#lines + 1] = "Content-Length: " .. #body
    end
    return concat(lines, "\r\n") .. "\r\n\r\n" .. body
end


local function parse_response(raw)
    local head, body = match(raw, "^(.-)\r\n\r\n(.*)$")
    if not head then
        return nil, "malformed response: " .. raw
    end
    local status = tonumber(match(head, "^HTTP/%d%.%d (%d%d%d)"))
    local headers = {}
    for name, value in head:gmatch("\r\n([^:\r\n]+):%s*([^\r\n]*)") do
        headers[lower(name)] = value
    end
    local json
    local ok, cjson = pcall(require, "cjson.safe")
    if ok then
        json = cjson.decode(body)
    end
    return { status = status, headers = headers, body = body, json = json }
end


--- One request; returns { status, headers, body, json } or nil, err.
function _M.request(port, req)
    local c = socket.tcp()
    c:settimeout(req.timeout or 10)
    local ok, err = c:connect("127.0.0.1", port)
    if not ok then
        return nil, err
    end
    c:send(request_bytes(req))
    local raw, rerr, partial = c:receive("*a")
    c:close()
    raw = raw or (rerr == "closed" and partial)
    if not raw then
        return nil, rerr
    end
    return parse_response(raw)
end


--- All requests at once, over one connection each, multiplexed with
-- socket.select.  Returns the responses (in order) and the wall time;
-- on_first (optional) runs as soon as the first response is complete.
function _M.concurrent(port, reqs, timeout, on_first)
    timeout = timeout or 20
    local t0 = socket.gettime()
    local conns, bufs, done = {}, {}, {}
    for i, req in ipairs(reqs) do
        local c = socket.tcp()
        c:settimeout(5)
        assert(c:connect("127.0.0.1", port))
        assert(c:send(request_bytes(req)))
        c:settimeout(0)
        conns[i], bufs[i] = c, {}
    end
    local pending = #reqs
    local index = {}
    for i, c in ipairs(conns) do
        index[c] = i
    end
    while pending > 0 do
        if socket.gettime() - t0 > timeout then
            break
        end
        local readers = {}
        for i, c in ipairs(conns) do
            if not done[i] then
                readers[#readers + 1] = c
            end
        end
        local ready = socket.select(readers, nil, 1)
        for _, c in ipairs(ready) do
            local i = index[c]
            local data, err, partial = c:receive(65536)
            local chunk = data or partial
            if chunk and chunk ~= "" then
                bufs[i][#bufs[i] + 1] = chunk
            end
            if err == "closed" then
                done[i] = true
                pending = pending - 1
                c:close()
                if on_first then
                    on_first(i)
                    on_first = nil
                end
            end
        end
    end
    local elapsed = socket.gettime() - t0
    local results = {}
    for i = 1, #reqs do
        if done[i] then
            results[i] = parse_response(concat(bufs[i]))
        else
            conns[i]:close()
            results[i] = false
        end
    end
    return results, elapsed
end


--- A throwaway CA and certificates in dir: ca.pem, server.pem/server.key
-- (localhost, 127.0.0.1), other.pem/other.key (same names, signed by an
-- untrusted second CA).
function _M.make_certs(dir)
    assert(proc.make_certs(dir, { untrusted = true }))
end


return _M
