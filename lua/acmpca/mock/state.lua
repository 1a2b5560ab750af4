-- acmpca.mock.state: the fake service's state in a file, for `acmpca
-- --mock-state FILE`: a sequence of commands, each its own process, sees
-- one fake.
--
--   local svc, err = state.load(path)   -- the file's fake, or the demo fleet
--                                      -- when there is no file; nil, err
--   local ok, err = state.save(svc, path)
--
-- What is kept: the caller's account and region, and per CA (in listing
-- order) its status, type, subject, times, failure reason, resource policy,
-- whether it is shared, active_at, and its permissions with their times.
-- Not kept: call counts, the log, faults, hooks, and NextTokens (a token
-- is good for the process that issued it).
--
-- The file is JSON ({"version": 1, ...}), at most MAX_SIZE bytes; one that
-- is larger, not JSON, or holds a value the fake would refuse is refused
-- with a message naming the file and the member, never raised.  It is
-- written to a temporary file beside it, made mode 0600 while still empty,
-- then renamed over the old one (a reader sees the old state or the new,
-- never half of one).

local cjson = require "cjson.safe"
local json = require "acmpca.json"
local mock = require "acmpca.mock"

local type, ipairs, pairs, tostring, pcall, next = type, ipairs, pairs, tostring, pcall, next
local fmt, gsub = string.format, string.gsub
local floor = math.floor
local io_open, os_rename, os_remove, os_execute = io.open, os.rename, os.remove, os.execute

local _M = { _VERSION = "0.2.0" }

_M.MAX_SIZE = 4 * 1024 * 1024
local VERSION = 1
local MAX_CAS = 10000


------------------------------------------------------------------------
-- saving
------------------------------------------------------------------------

-- the seeding options of a CA record (acmpca.mock.cas), as JSON members
local CA_FIELDS = {
    "status", "type", "common_name", "organization", "created_at", "last_change",
    "not_before", "not_after", "failure_reason", "policy", "shared", "active_at",
}
local PERM_FIELDS = { "principal", "actions", "source_account", "created_at" }


local function object_of(t, fields)
    local kv = {}
    for _, k in ipairs(fields) do
        local v = t[k]
        if v ~= nil then
            if type(v) == "table" then
                v = json.array(v)
            end
            kv[#kv + 1], kv[#kv + 2] = k, v
        end
    end
    kv.n = #kv
    return json.object(kv)
end


-- the fake's state as JSON text
function _M.encode(svc)
    local list = {}
    for _, arn in ipairs(svc:cas_list()) do
        local ca = svc.cas[arn]
        local perms = {}
        for i, p in ipairs(svc:permissions(arn)) do
            perms[i] = object_of(p, PERM_FIELDS)
        end
        local o = object_of(ca, CA_FIELDS)
        o[o.n + 1], o[o.n + 2], o[o.n + 3], o[o.n + 4] = "arn", arn, "permissions",
            json.array(perms)
        o.n = o.n + 4
        list[#list + 1] = o
    end
    return json.encode(json.object("version", VERSION, "account", svc.account,
                                   "region", svc.region, "cas", json.array(list)), 1) .. "\n"
end


local function shell_quote(s)
    return "'" .. gsub(s, "'", "'\\''") .. "'"
end


-- state.save(svc, path) -> true | nil, err
function _M.save(svc, path)
    local text = _M.encode(svc)
    if #text > _M.MAX_SIZE then
        -- load would refuse it: the old file stays
        return nil, fmt("the fake's state is %d bytes, more than %d: %s not written", #text,
                        _M.MAX_SIZE, path)
    end
    -- a name no other process picks: the time and this process's address of a table
    local tmp = fmt("%s.tmp-%d-%s", path, floor(os.time()),
                    tostring({}):match("(%x+)$") or "0")
    local f, why = io_open(tmp, "wb")
    if not f then
        return nil, fmt("cannot write %s: %s", path, tostring(why))
    end
    -- 0600 before a byte is in it (Lua's io cannot give a mode)
    local ok = os_execute("chmod 600 " .. shell_quote(tmp) .. " 2>/dev/null")
    if not (ok == true or ok == 0) then
        f:close()
        os_remove(tmp)
        return nil, fmt("cannot make %s private (chmod 600 failed)", tmp)
    end
    local wrote, werr = f:write(text)
    local closed, cerr = f:close()
    if not wrote or not closed then
        os_remove(tmp)
        return nil, fmt("cannot write %s: %s", path, tostring(werr or cerr))
    end
    local renamed, rerr = os_rename(tmp, path)
    if not renamed then
        os_remove(tmp)
        return nil, fmt("cannot write %s: %s", path, tostring(rerr))
    end
    return true
end


------------------------------------------------------------------------
-- loading
------------------------------------------------------------------------

local function is_time(v)
    return v == nil or (type(v) == "number" and v == v and v > -1e12 and v < 1e12)
end


local function is_string(v, max)
    return v == nil or (type(v) == "string" and #v <= (max or 1024))
end


local function check_strings(list, max)
    if type(list) ~= "table" then
        return false
    end
    for k, v in pairs(list) do
        if type(k) ~= "number" or type(v) ~= "string" or #v > max then
            return false
        end
    end
    return true
end


-- a CA member of the file -> its seeding options, or nil, why
local function seeding(e)
    if type(e) ~= "table" then
        return nil, "expected an object"
    end
    if type(e.arn) ~= "string" or #e.arn > 200 then
        return nil, "arn: expected a string"
    end
    for _, k in ipairs{ "created_at", "last_change", "not_before", "not_after", "active_at" } do
        if not is_time(e[k]) then
            return nil, k .. ": expected a time (epoch seconds)"
        end
    end
    for _, k in ipairs{ "status", "type", "common_name", "organization", "failure_reason" } do
        if not is_string(e[k]) then
            return nil, k .. ": expected a string"
        end
    end
    if not is_string(e.policy, 81920) then
        return nil, "policy: expected a string of at most 81920 characters"
    end
    if e.shared ~= nil and type(e.shared) ~= "boolean" then
        return nil, "shared: expected true or false"
    end
    if e.permissions ~= nil and type(e.permissions) ~= "table" then
        return nil, "permissions: expected a list"
    end
    for i, p in ipairs(e.permissions or {}) do
        if type(p) ~= "table" or type(p.principal) ~= "string" or #p.principal > 128
           or not check_strings(p.actions, 64) or not is_string(p.source_account, 12)
           or not is_time(p.created_at) then
            return nil, fmt("permissions[%d]: expected { principal, actions[, source_account]"
                            .. "[, created_at] }", i)
        end
    end
    local o = {}
    for _, k in ipairs(CA_FIELDS) do
        if k ~= "last_change" then
            o[k] = e[k]
        end
    end
    return o
end


local function decode(text)
    local doc = cjson.decode(text)
    if type(doc) ~= "table" then
        return nil, "not a JSON object"
    end
    if doc.version ~= VERSION then
        return nil, "version: expected 1"
    end
    if doc.account ~= nil and (type(doc.account) ~= "string"
                               or not doc.account:match("^" .. ("%d"):rep(12) .. "$")) then
        return nil, "account: expected 12 digits"
    end
    if not is_string(doc.region, 64) then
        return nil, "region: expected a string"
    end
    local cas = doc.cas
    if type(cas) ~= "table" or #cas > MAX_CAS or (next(cas) ~= nil and cas[1] == nil) then
        return nil, fmt("cas: expected a list of at most %d CAs", MAX_CAS)
    end
    return doc
end


-- the file's fake service; nil, why
local function build(doc)
    local ok, svc = pcall(mock.new, { account = doc.account, region = doc.region })
    if not ok then
        return nil, tostring(svc)
    end
    for i, e in ipairs(doc.cas) do
        local o, why = seeding(e)
        if not o then
            return nil, fmt("cas[%d]: %s", i, why)
        end
        local added, err = pcall(svc.add_ca, svc, e.arn, o)
        if not added then
            return nil, fmt("cas[%d]: %s", i, (tostring(err):gsub("^[^\n]-acmpca%.mock%.add_ca: ",
                                                                   "")))
        end
        svc.cas[e.arn].last_change = e.last_change or svc.cas[e.arn].last_change
        for _, p in ipairs(e.permissions or {}) do
            local granted, gerr = pcall(svc.grant, svc, e.arn, p.principal, p.actions,
                                        p.source_account, p.created_at)
            if not granted then
                return nil, fmt("cas[%d]: %s", i, tostring(gerr))
            end
        end
    end
    return svc
end


-- state.load(path) -> svc (the file's, or mock.demo() when there is no
-- file) | nil, err
function _M.load(path)
    local f = io_open(path, "rb")
    if not f then
        if io_open(path, "r") == nil and not os_rename(path, path) then
            return mock.demo()
        end
        return nil, fmt("cannot read %s", path)
    end
    local text = f:read(_M.MAX_SIZE + 1)
    f:close()
    if text and #text > _M.MAX_SIZE then
        return nil, fmt("%s is larger than %d bytes", path, _M.MAX_SIZE)
    end
    local doc, why = decode(text or "")
    local svc
    if doc then
        svc, why = build(doc)
    end
    if not svc then
        return nil, fmt("%s is not a saved fake: %s", path, why)
    end
    return svc
end


return _M
