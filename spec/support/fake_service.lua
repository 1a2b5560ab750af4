-- spec/support/fake_service.lua: start, drive and stop the local fake ACM PCA
-- service (spec/support/fake_acmpca.py) from busted specs.
--
--   local fake = require "support.fake_service"
--   local svc = fake.start{ cas = { [arn] = "ACTIVE" }, tls = true }
--   ... client.new{ endpoint = svc.url, credentials = fake.credentials,
--                   region = "us-east-1", ca_file = svc.ca_file } ...
--   svc:stop()
--
-- The service is a separate /usr/bin/python3 process that checks every SigV4
-- signature with botocore.  Its control plane is plain HTTP on a second
-- loopback port, driven here with luasocket; works under Lua 5.4 and LuaJIT.
--
-- Start options (fake.start):
--   cas        { [arn] = "STATUS" | seed } (seeded in ARN order), or a list
--              { { arn = A, <seed> }, ... } (seeded in list order)
--   account    the caller's account: a CA of another account is shared
--   demo       true: the demo fleet first (caller account 111122223333)
--   fleet      n: n generated ACTIVE CAs (fleet-00001.example.com ...)
--   tls, delay_ms, region, access_key_id, secret_access_key, session_token,
--   extra_credentials = { creds, ... }
--
-- A seed (a CA's options; fake_acmpca.py has the details): status (ACTIVE),
-- type (SUBORDINATE), common_name, organization, not_before, not_after,
-- created_at, failure_reason, policy (JSON text), permissions
-- ({ { principal =, actions = { ... }, source_account = }, ... }),
-- shared (true), active_at (epoch seconds: CREATING/PENDING_CERTIFICATE
-- becomes ACTIVE at the first request handled from then on).
--
-- svc.started_at is the fake's clock when it seeded (the demo fleet's
-- times count from it), svc.account the caller's account (or nil).
-- svc:add_ca(arn, seed) seeds (or re-seeds) one CA while running;
-- svc:set_ca(arn, status) changes only the status (nil removes the CA);
-- svc:cas(), svc:ca(arn), svc:policy(arn), svc:permissions(arn) read the
-- state; svc:reset() goes back to the start state.

local cjson = require "cjson.safe"
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local proc = require "support.proc"

local concat = table.concat
local format = string.format
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local type = type
local error = error
local setmetatable = setmetatable
local next = next
local sort = table.sort
local debug_getinfo = debug.getinfo


local _M = { _VERSION = "0.2.0" }

local mt = { __index = {} }
local methods = mt.__index

-- Credentials the service knows unless start{} says otherwise.
_M.credentials = {
    access_key_id = "AKIDFAKEACMPCAE2E001",
    secret_access_key = "fakeE2Esecret/0123456789+abcdefghijklmnopq",
}

_M.python = "/usr/bin/python3"
_M.region = "us-east-1"

local CLEAN_ENV = proc.CLEAN_ENV
local quote, run, read_cmd = proc.quote, proc.run, proc.read_cmd
local read_file, write_file, alive = proc.read_file, proc.write_file, proc.alive

local START_TIMEOUT = 15     -- seconds to wait for the service to listen
local STOP_TIMEOUT = 5


local function here()
    local src = debug_getinfo(1, "S").source
    local dir = src:match("^@(.*)/[^/]*$")
    return dir or "."
end

local SCRIPT = here() .. "/fake_acmpca.py"
_M.script = SCRIPT


_M.quote = quote
-- fake.make_certs(dir) -> ca_pem, server_pem, server_key | nil, err
_M.make_certs = proc.make_certs


-- One HTTP exchange with the control plane; returns the decoded JSON.
local function control(self, method, path, body)
    local payload = body ~= nil and assert(cjson.encode(body)) or ""
    local chunks = {}
    local ok, status = http.request{
        url = self.control_url .. path,
        method = method,
        headers = {
            ["content-type"] = "application/json",
            ["content-length"] = tostring(#payload),
        },
        source = ltn12.source.string(payload),
        sink = ltn12.sink.table(chunks),
    }
    if not ok then
        return nil, "control " .. path .. ": " .. tostring(status)
    end
    local text = concat(chunks)
    if status ~= 200 then
        return nil, format("control %s: HTTP %s: %s", path, tostring(status), text)
    end
    local out, err = cjson.decode(text)
    if out == nil then
        return nil, "control " .. path .. ": bad JSON: " .. tostring(err)
    end
    return out
end


-- svc:control(method, path, body_table) -> decoded reply | nil, err
function methods.control(self, method, path, body)
    if self.stopped then
        return nil, "service stopped"
    end
    return control(self, method, path, body)
end


local function must(self, method, path, body)
    local out, err = control(self, method, path, body)
    if out == nil then
        error("fake service: " .. err, 3)
    end
    return out
end


-- Counts of service requests received (including rejected ones), by
-- operation: { CreatePermission = n, ListPermissions = n,
-- DeletePermission = n, total = n }, and the other operations' once called.
function methods.calls(self)
    return must(self, "GET", "/_fake/calls")
end


-- Every request record, oldest first (see fake_acmpca.py for the fields).
function methods.requests(self)
    return must(self, "GET", "/_fake/requests")
end


-- The last request record, or nil when nothing was received.
function methods.last_request(self)
    local rec = must(self, "GET", "/_fake/last")
    if rec.seq == nil then
        return nil
    end
    return rec
end


function methods.state(self)
    return must(self, "GET", "/_fake/state")
end


-- The stored permissions of one CA (raw wire shape), oldest first.
function methods.permissions(self, arn)
    local st = must(self, "GET", "/_fake/state")
    return st.permissions[arn] or {}
end


function methods.reset(self)
    must(self, "POST", "/_fake/reset", {})
end


function methods.set_delay(self, ms)
    must(self, "POST", "/_fake/delay", { ms = ms })
end


-- Changes only the status of a CA (a new ARN gets a default CA); status
-- nil removes the CA.
function methods.set_ca(self, arn, status)
    must(self, "POST", "/_fake/ca", { arn = arn, status = status or cjson.null })
end


-- A seed (a table, or a status) as the service reads it: the ARN added, an
-- empty permission list kept a list.
local function seed_body(arn, seed)
    if type(seed) ~= "table" then
        seed = { status = seed }
    end
    local body = { arn = arn }
    for k, v in pairs(seed) do
        body[k] = v
    end
    if type(body.permissions) == "table" and next(body.permissions) == nil then
        body.permissions = cjson.empty_array
    end
    return body
end


-- Seeds one CA from seed (the options in the header, or a status),
-- replacing a CA of that ARN, which keeps its place in the list order.  A
-- seed of a status alone only changes the status of a CA already there
-- (svc:set_ca).  Raises on a seed the service refuses, with its reason.
function methods.add_ca(self, arn, seed)
    must(self, "POST", "/_fake/ca", seed_body(arn, seed))
end


-- The CAs in list order: { arn =, status =, shared =, active_at =,
-- policy =, description = <the wire CertificateAuthority> }, ...
function methods.cas(self)
    return must(self, "GET", "/_fake/state").cas
end


-- One CA's state entry (as in svc:cas()), or nil.
function methods.ca(self, arn)
    for _, ca in ipairs(must(self, "GET", "/_fake/state").cas) do
        if ca.arn == arn then
            return ca
        end
    end
    return nil
end


-- The policy attached to a CA (its JSON text), or nil.
function methods.policy(self, arn)
    local p = must(self, "GET", "/_fake/state").policies[arn]
    if p == cjson.null then
        return nil
    end
    return p
end


function methods.set_clock_offset(self, seconds)
    must(self, "POST", "/_fake/clock", { offset = seconds })
end


-- kind: throttle | unavailable | internal | html | garbage | truncated |
-- close | error; count: how many of the next authenticated requests;
-- opts.status / opts.body override the answer (error: body = the code).
function methods.fault(self, kind, count, opts)
    opts = opts or {}
    must(self, "POST", "/_fake/fault", {
        kind = kind, count = count or 1,
        status = opts.status or cjson.null, body = opts.body or cjson.null,
    })
end


function methods.clear_faults(self)
    must(self, "POST", "/_fake/faults/clear", {})
end


-- Kills the service by PID and removes its temporary directory; idempotent.
function methods.stop(self)
    if self.stopped then
        return true
    end
    self.stopped = true
    proc.stop(self.pid, STOP_TIMEOUT)
    if self.dir and self.dir:match("^/tmp/") then
        run("rm -rf " .. quote(self.dir))
    end
    return true
end


-- The service's own log (requests and connection errors), for debugging.
function methods.log(self)
    return read_file(self.dir .. "/service.log") or ""
end


-- Case-insensitive lookup of a header in a request record.
function _M.header(record, name)
    name = name:lower()
    for _, pair in ipairs(record and record.headers or {}) do
        if pair[1]:lower() == name then
            return pair[2]
        end
    end
    return nil
end


local function cred_entry(c)
    return { secret = c.secret_access_key, token = c.session_token or cjson.null }
end


-- The start option cas as a list of seeds: a list is kept in its order, a
-- map { [arn] = status | seed } is taken in ARN order.
local function seed_list(cas)
    local list = {}
    if cas == nil then
        return list
    end
    if cas[1] ~= nil then
        for i, seed in ipairs(cas) do
            list[i] = seed_body(seed.arn, seed)
        end
        return list
    end
    local arns = {}
    for arn in pairs(cas) do
        arns[#arns + 1] = arn
    end
    sort(arns)
    for i, arn in ipairs(arns) do
        list[i] = seed_body(arn, cas[arn])
    end
    return list
end


-- fake.start(opts) -> svc (the options are in the header).  A key given with
-- session_token requires that token.
function _M.start(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        error("fake.start: opts must be a table", 2)
    end
    local creds = {
        access_key_id = opts.access_key_id or _M.credentials.access_key_id,
        secret_access_key = opts.secret_access_key or _M.credentials.secret_access_key,
        session_token = opts.session_token,
    }
    local known = { [creds.access_key_id] = cred_entry(creds) }
    for _, c in ipairs(opts.extra_credentials or {}) do
        known[c.access_key_id] = cred_entry(c)
    end
    local cas = seed_list(opts.cas)
    local region = opts.region or _M.region

    local dir, derr = proc.tmpdir("fake")
    if not dir then
        return nil, derr
    end
    local svc = setmetatable({
        dir = dir, host = "127.0.0.1", region = region, tls = opts.tls and true or false,
        credentials = creds,
    }, mt)

    local config = {
        credentials = known, region = region, delay_ms = opts.delay_ms or 0,
        cas = next(cas) and cas or cjson.empty_array,
        account = opts.account, demo = opts.demo and true or nil, fleet = opts.fleet,
    }
    write_file(dir .. "/config.json", assert(cjson.encode(config)))
    local args = {
        CLEAN_ENV .. quote(_M.python), quote(SCRIPT), "serve",
        "--port-file", quote(dir .. "/ports"),
        "--config", quote(dir .. "/config.json"),
        "--log", quote(dir .. "/service.log"),
    }
    local me = proc.own_pid()
    if me then
        args[#args + 1] = "--parent-pid " .. me
    end
    if opts.tls then
        local ca, cert, key = proc.make_certs(dir)
        if not ca then
            svc:stop()
            return nil, cert
        end
        svc.ca_file, svc.cert_file, svc.key_file = ca, cert, key
        args[#args + 1] = "--cert " .. quote(cert) .. " --key " .. quote(key)
    end
    local cmd = concat(args, " ") .. " >" .. quote(dir .. "/stderr.log")
        .. " 2>&1 </dev/null & echo $!"
    svc.pid = tonumber((read_cmd(cmd):match("(%d+)")))
    if not svc.pid then
        svc:stop()
        return nil, "could not start " .. SCRIPT
    end

    local deadline = socket.gettime() + START_TIMEOUT
    local ports
    while true do
        ports = read_file(dir .. "/ports")
        if ports and ports:match("^%d+ %d+") then
            break
        end
        if not alive(svc.pid) or socket.gettime() > deadline then
            local log = read_file(dir .. "/stderr.log") or ""
            svc:stop()
            return nil, "fake service did not start: " .. log
        end
        socket.sleep(0.02)
    end
    local port, cport = ports:match("^(%d+) (%d+)")
    svc.port, svc.control_port = tonumber(port), tonumber(cport)
    svc.url = format("%s://127.0.0.1:%d", opts.tls and "https" or "http", svc.port)
    svc.control_url = format("http://127.0.0.1:%d", svc.control_port)

    local pong, err = control(svc, "GET", "/_fake/ping")
    if not pong then
        svc:stop()
        return nil, err
    end
    -- the fake's clock when it seeded its CAs; the caller account, if any
    svc.started_at = pong.started_at
    svc.account = pong.account ~= cjson.null and pong.account or nil
    return svc
end


-- Runs one call through botocore's own client (the "call" mode of the
-- script), an independent check of the fake.  Returns the decoded
-- { ok = result } or { error = { code =, message =, status = } }.
function _M.botocore(svc, operation, params, creds)
    creds = creds or svc.credentials
    local cmd = {
        CLEAN_ENV .. quote(_M.python), quote(SCRIPT), "call",
        "--endpoint", quote(svc.url), "--region", quote(svc.region),
        "--akid", quote(creds.access_key_id),
        "--secret", quote(creds.secret_access_key),
    }
    if creds.session_token then
        cmd[#cmd + 1] = "--token " .. quote(creds.session_token)
    end
    if svc.ca_file then
        cmd[#cmd + 1] = "--ca-file " .. quote(svc.ca_file)
    end
    cmd[#cmd + 1] = quote(operation)
    cmd[#cmd + 1] = quote(assert(cjson.encode(params or {})))
    local out = read_cmd(concat(cmd, " ") .. " 2>&1")
    local res = cjson.decode(out)
    if type(res) ~= "table" then
        return nil, "botocore call failed: " .. out
    end
    return res
end


return _M
