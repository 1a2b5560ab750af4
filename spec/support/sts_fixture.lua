-- spec/support/sts_fixture.lua: start, drive and stop the local STS and SSO
-- portal stand-in (spec/support/fake_sts.py) from busted specs, under Lua 5.4
-- and LuaJIT.
--
--   local sts_fixture = require "support.sts_fixture"
--   local sts = assert(sts_fixture.start{
--       credentials = { AKID = { secret = "..." } },
--       roles = { ["arn:aws:iam::111122223333:role/app"] = { trust = { "AKID" } } },
--   })
--   ... a provider with endpoint sts.url ...
--   sts.stats().counts.AssumeRole, sts.control{ faults = { { action = "AssumeRole",
--       code = "Throttling", status = 400, message = "Rate exceeded", times = 2 } } },
--   sts.reset(), sts.stop()
--
-- The config (fake_sts.py's header has every key): region, account,
-- credentials, roles, web_identity, sso, element_order.  An empty Lua table
-- where the fake wants a list (trust, an SSO account's roles, faults) is
-- read as an empty list.
--
-- sts_fixture.start(config, { tls = true }) serves HTTPS with a throwaway CA
-- in sts.ca_file.
--
-- The fake is a separate /usr/bin/python3 process bound to 127.0.0.1 on a
-- port it picks and prints; it is stopped by its PID (and exits by itself
-- once this process is gone).  The control plane is driven over HTTP with
-- acmpca.core's libcurl handle.  stats, control and reset raise on failure
-- (a broken fixture is a broken spec); start returns nil, err.

local core = require "acmpca.core"
local cjson = require "cjson.safe"
local socket = require "socket"
local proc = require "support.proc"

local concat = table.concat
local debug_getinfo = debug.getinfo
local error = error
local tonumber = tonumber
local tostring = tostring
local type = type


local _M = { _VERSION = "0.2.0" }

_M.python = "/usr/bin/python3"

local START_TIMEOUT = 15     -- seconds to wait for the port line
local STOP_TIMEOUT = 5
local quote = proc.quote


local function here()
    local dir = debug_getinfo(1, "S").source:match("^@(.*)/[^/]*$")
    return dir or "."
end

_M.script = here() .. "/fake_sts.py"
_M.selftest = here() .. "/fake_sts_selftest.py"


-- One HTTP exchange with the fake: res ({ status, headers, body }) or nil, err.
local function exchange(fx, method, path, body, headers)
    if fx.stopped then
        return nil, "fake_sts stopped"
    end
    fx.http = fx.http or core.http_new{ timeout = 30, connect_timeout = 5,
                                        ca_file = fx.ca_file }
    return fx.http:request{ method = method, url = fx.url .. path, body = body,
                            headers = headers }
end


-- A control call that must answer 200 with JSON; raises otherwise.
local function must(fx, method, path, doc)
    local body
    if doc ~= nil then
        body = assert(cjson.encode(doc))
    elseif method ~= "GET" then
        body = ""
    end
    local res, err = exchange(fx, method, path, body,
                              { ["Content-Type"] = "application/json" })
    if not res then
        error("fake_sts " .. path .. ": " .. tostring(err), 3)
    end
    if res.status ~= 200 then
        error("fake_sts " .. path .. ": HTTP " .. res.status .. ": " .. res.body, 3)
    end
    local out, derr = cjson.decode(res.body)
    if out == nil then
        error("fake_sts " .. path .. ": bad JSON: " .. tostring(derr), 3)
    end
    return out
end


-- The port the fake printed on its first stdout line, or nil, err.
local function wait_port(fx)
    local deadline = socket.gettime() + START_TIMEOUT
    while true do
        local out = proc.read_file(fx.dir .. "/stdout") or ""
        local port = out:match("^(%d+)\n")
        if port then
            return tonumber(port)
        end
        if not proc.alive(fx.pid) or socket.gettime() > deadline then
            return nil, "fake_sts did not start: "
                .. (proc.read_file(fx.dir .. "/stderr") or "")
        end
        socket.sleep(0.02)
    end
end


local function stop(fx)
    if fx.stopped then
        return true
    end
    fx.stopped = true
    if fx.http then
        fx.http:close()
        fx.http = nil
    end
    proc.stop(fx.pid, STOP_TIMEOUT)
    if fx.dir and fx.dir:match("^/tmp/acmpca%-sts%.") then
        proc.run("rm -rf " .. quote(fx.dir))
    end
    return true
end


-- The closures of a started fixture.  Each also takes a method call
-- (sts:stats()), so either spelling works in a spec.
local function bind(fx)
    local function arg(a, b)
        if a == fx then
            return b
        end
        return a
    end
    -- { counts = { ACTION = n }, total = n, requests = { record, ... } }
    fx.stats = function()
        return must(fx, "GET", "/__stats")
    end
    -- { faults =, clear_faults =, delay_ms =, expire_issued =, config = }
    fx.control = function(a, b)
        local doc = arg(a, b)
        if type(doc) ~= "table" then
            error("sts_fixture control: expected a table", 2)
        end
        return must(fx, "POST", "/__control", doc)
    end
    fx.reset = function()
        must(fx, "POST", "/__reset")
    end
    -- A raw exchange: res or nil, err (never raises on a service answer).
    fx.request = function(a, b, c, d)
        if a == fx then
            a, b, c, d = b, c, d, nil
        end
        return exchange(fx, a, b, c, d)
    end
    -- The fake's standard error (a crash's traceback), for debugging.
    fx.log = function()
        return proc.read_file(fx.dir .. "/stderr") or ""
    end
    fx.stop = function()
        return stop(fx)
    end
    return fx
end


-- sts_fixture.start(config, opts) -> fixture | nil, err.  opts.tls = true:
-- HTTPS with a throwaway CA (fixture.ca_file; fixture.url is https://).
function _M.start(config, opts)
    if config ~= nil and type(config) ~= "table" then
        error("sts_fixture.start: config must be a table", 2)
    end
    if opts ~= nil and type(opts) ~= "table" then
        error("sts_fixture.start: opts must be a table", 2)
    end
    opts = opts or {}
    local text, eerr = cjson.encode(config or {})
    if not text then
        error("sts_fixture.start: config is not JSON: " .. tostring(eerr), 2)
    end
    local dir, derr = proc.tmpdir("sts")
    if not dir then
        return nil, derr
    end
    proc.write_file(dir .. "/config.json", text == "[]" and "{}" or text)
    local fx = { dir = dir, config_file = dir .. "/config.json" }
    local args = {
        proc.CLEAN_ENV .. quote(_M.python), quote(_M.script),
        "--config", quote(fx.config_file),
    }
    local me = proc.own_pid()
    if me then
        args[#args + 1] = "--parent-pid " .. me
    end
    if opts.tls then
        local ca, cert, key = proc.make_certs(dir)
        if not ca then
            proc.run("rm -rf " .. quote(dir))
            return nil, cert
        end
        fx.ca_file = ca
        args[#args + 1] = "--cert " .. quote(cert) .. " --key " .. quote(key)
    end
    local cmd = concat(args, " ") .. " >" .. quote(dir .. "/stdout") .. " 2>"
        .. quote(dir .. "/stderr") .. " </dev/null & echo $!"
    fx.pid = tonumber((proc.read_cmd(cmd):match("(%d+)")))
    if not fx.pid then
        proc.run("rm -rf " .. quote(dir))
        return nil, "could not start " .. _M.script
    end
    local port, perr = wait_port(fx)
    if not port then
        stop(fx)
        return nil, perr
    end
    fx.port = port
    fx.url = (opts.tls and "https" or "http") .. "://127.0.0.1:" .. port
    return bind(fx)
end


return _M
