--- acmpca.credentials: the AWS credential chain as botocore resolves it:
-- environment -> shared credentials file -> credential_process -> config
-- file -> container credentials (ECS/EKS) -> EC2 instance metadata
-- (IMDSv2). provider(opts) returns a function; nothing runs until it is
-- first called. Static credentials are cached for good; temporary ones are
-- refreshed before they expire (botocore's 15 minute advisory and 10
-- minute mandatory windows). Secrets never reach error messages.
--
-- Every failure is nil, err with err a CredentialsError error object
-- (core.new_error) naming the source; the provider never raises on what a
-- source answers (a transport that raises is caught too).  Limits:
--
--    * every answer is checked: strings where strings belong, no control
--     characters in keys, tokens or the IMDS role name and token;
--     credentials already expired when fetched are refused;
--    * credential_process runs under timeout(1) from coreutils
--     (opts.process_timeout seconds, default 60; killed 1 s after TERM) and
--     at most 1 MiB of its stdout is read (read in chunks; past that its
--     process group is killed).  Its stderr is inherited.  Inside nginx it
--     runs in the thread pool named by opts.process_thread_pool (default
--     "acmpca": `thread_pool acmpca threads=2;`) and does not block the
--     worker; without that pool, io.popen blocks the worker for at most
--     the timeout (acmpca.credentials.process);
--    * text from the network is scanned without backtracking patterns.
--
-- @module acmpca.credentials

local config = require "acmpca.config"
local url_parse = require("acmpca.url").parse
local process = require "acmpca.credentials.process"

local type = type
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local require = require
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local getmetatable = getmetatable
local error = error
local io_open = io.open
local os_time = os.time
local str_rep = string.rep
local str_sub = string.sub
local str_find = string.find
local str_match = string.match
local str_lower = string.lower
local str_upper = string.upper
local str_gsub = string.gsub
local str_format = string.format
local tbl_concat = table.concat
local math_floor = math.floor


local _M = { _VERSION = "0.2.0" }

local ADVISORY_REFRESH = 15 * 60
local MANDATORY_REFRESH = 10 * 60
-- After a refresh attempt inside the advisory window (or one that returned
-- credentials that are already close to expiry) the next attempt waits
-- this long, so an unreachable endpoint does not cost a timeout per call.
local REFRESH_RETRY_DELAY = 30

local CONTAINER_HOST = "http://169.254.170.2"
local CONTAINER_TIMEOUT = 2
local CONTAINER_ATTEMPTS = 3
local CONTAINER_TOKEN_MAX = 16 * 1024
local IMDS_ENDPOINT = "http://169.254.169.254"
local IMDS_ENDPOINT_V6 = "http://[fd00:ec2::254]"
local IMDS_TOKEN_TTL = "21600"
local IMDS_ROLE_PATH = "/latest/meta-data/iam/security-credentials/"
-- what a credential_process failure says, by process.run's problem
local PROCESS_PROBLEMS = {
    start = "could not be started",
    read = "could not be read",
    too_big = str_format("printed more than %d bytes; it was stopped", process.MAX_OUTPUT),
    no_status = "ended without an exit status",
    timeout = "did not finish",
}
-- single flight: how long a caller waits for another's lookup, how often
-- it looks
local FLIGHT_WAIT = 60
local FLIGHT_POLL = 0.01
local shared_get


local function new_error(message)
    return config.new_error("CredentialsError", message)
end


-- err as a CredentialsError (strings and other error objects wrapped).
local function as_error(err)
    if type(err) == "table" and err.code == "CredentialsError" then
        return err
    end
    if type(err) == "table" then
        err = err.message or err.code
    end
    return new_error(tostring(err or "acmpca: no credentials"))
end


local function is_space(b)
    return b == 32 or (b >= 9 and b <= 13)
end


-- s without leading and trailing white space: byte loops, linear.
local function trim(s)
    local i, j = 1, #s
    while i <= j and is_space(s:byte(i)) do
        i = i + 1
    end
    while j >= i and is_space(s:byte(j)) do
        j = j - 1
    end
    return str_sub(s, i, j)
end


-- Credentials objects -------------------------------------------------

local function mask(id)
    if type(id) ~= "string" then
        return "?"
    end
    local n = #id
    if n <= 4 then
        return str_rep("*", n)
    end
    return str_rep("*", n - 4) .. str_sub(id, -4)
end
--- mask(id) -> the access key id with all but its last 4 characters as "*".
_M.mask = mask


local creds_mt = {}
creds_mt.__index = {}
creds_mt.__tostring = function(c)
    return "acmpca.credentials(" .. mask(c.access_key_id) .. ", source=" .. tostring(c.source)
        .. ")"
end


local function new_creds(t)
    return setmetatable({
        access_key_id = t.access_key_id,
        secret_access_key = t.secret_access_key,
        session_token = t.session_token,
        expiration = t.expiration,
        source = t.source,
    }, creds_mt)
end


--- True when c is a credentials table made by this module.
function _M.is_credentials(c)
    return type(c) == "table" and getmetatable(c) == creds_mt
end


--- check_keys(t) -> true | nil, problem, field: whether t holds usable keys
-- (access_key_id and secret_access_key non-empty strings, session_token a
-- string or nil).  problem names the field, never a value; field is nil
-- when t is not a table.  static() and acmpca.client.new share this rule.
function _M.check_keys(t)
    if type(t) ~= "table" then
        return nil, "expected a table, got " .. type(t)
    end
    for _, f in ipairs{ "access_key_id", "secret_access_key" } do
        local v = t[f]
        if type(v) ~= "string" then
            return nil, str_format("%s: expected string, got %s", f, type(v)), f
        end
        if v == "" then
            return nil, f .. ": must not be empty", f
        end
    end
    if t.session_token ~= nil and type(t.session_token) ~= "string" then
        return nil, "session_token: expected string or nil, got " .. type(t.session_token),
            "session_token"
    end
    return true
end
local check_keys = _M.check_keys


--- Validates a caller's credentials table and returns a credentials object
-- (source "static" unless given). Misuse raises, naming the field and never
-- its value.
function _M.static(t)
    local ok, problem = check_keys(t)
    if not ok then
        error("acmpca.credentials.static: " .. problem, 2)
    end
    if t.expiration ~= nil and type(t.expiration) ~= "number" then
        error("acmpca.credentials.static: expiration: expected epoch seconds or nil, got "
              .. type(t.expiration), 2)
    end
    if t.source ~= nil and type(t.source) ~= "string" then
        error("acmpca.credentials.static: source: expected string or nil, got "
              .. type(t.source), 2)
    end
    return new_creds{
        access_key_id = t.access_key_id,
        secret_access_key = t.secret_access_key,
        session_token = t.session_token ~= "" and t.session_token or nil,
        expiration = t.expiration,
        source = t.source or "static",
    }
end


-- Helpers --------------------------------------------------------------

-- Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
-- days_from_civil).
local function days_from_civil(y, m, d)
    if m <= 2 then
        y = y - 1
    end
    local era = math_floor(y / 400)
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = math_floor((153 * mp + 2) / 5) + d - 1
    local doe = yoe * 365 + math_floor(yoe / 4) - math_floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end


-- ISO-8601 / RFC 3339 timestamp ("2024-05-01T12:00:00Z", fractional
-- seconds and +hh:mm offsets allowed) -> epoch seconds, or nil.
local function parse_time(s)
    if type(s) ~= "string" then
        return nil
    end
    if #s > 64 then
        return nil
    end
    local y, mo, d, h, mi, sec, rest = str_match(trim(s),
        "^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
    if not y then
        return nil
    end
    rest = str_match(rest, "^%.%d+(.*)$") or rest
    local offset = 0
    if rest ~= "" and rest ~= "Z" and rest ~= "z" then
        local sign, oh, om = str_match(rest, "^([%+%-])(%d%d):?(%d%d)$")
        if not sign then
            return nil
        end
        offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
    end
    y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
    h, mi, sec = tonumber(h), tonumber(mi), tonumber(sec)
    if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then
        return nil
    end
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
end
--- parse_time(s) -> epoch seconds, or nil: an ISO-8601 / RFC 3339 timestamp.
_M.parse_time = parse_time


local cjson_safe
-- The one excerpt of untrusted text (core.excerpt), loaded when first
-- needed: this module also loads where the C module is not on the path.
local function excerpt(s)
    local ok, core = pcall(require, "acmpca.core")
    if ok and type(core) == "table" and type(core.excerpt) == "function" then
        return core.excerpt(s)
    end
    s = str_gsub(str_sub(s, 1, 200), "[^\32-\126]", "?")
    return s
end


local function cjson_null()
    if not cjson_safe then
        cjson_safe = require "cjson.safe"
    end
    return cjson_safe.null
end


local function json_decode(s)
    if not cjson_safe then
        cjson_safe = require "cjson.safe"
    end
    if type(s) ~= "string" then
        return nil
    end
    local v = cjson_safe.decode(s)
    if type(v) ~= "table" then
        return nil
    end
    return v
end


local str_field = config.setting


local CONTROL = "[%z\1-\31\127]"


-- Checks fetched credentials: key and secret non-empty strings, token a
-- string or nil, none holding a control character (they go into request
-- headers), expiration (epoch seconds or nil) not already past.
-- names = { key, secret, token } as the source calls them.  Returns a
-- credentials object, or nil, problem (names a field, never a value).
local function checked(ctx, c, names)
    local vals = { c.access_key_id, c.secret_access_key, c.session_token }
    for i = 1, 3 do
        local v = vals[i]
        if i == 3 and v == nil then -- luacheck: ignore 542
        elseif type(v) ~= "string" then
            return nil, str_format("%s: expected a string, got %s", names[i], type(v))
        elseif v == "" and i < 3 then
            return nil, names[i] .. " is empty"
        elseif str_find(v, CONTROL) then
            return nil, names[i] .. " contains a control character"
        end
    end
    if c.expiration and c.expiration <= ctx.now() then
        return nil, "the credentials expired at " .. os.date("!%Y-%m-%dT%H:%M:%SZ",
            math_floor(math.max(c.expiration, 0))) .. " (already expired when fetched)"
    end
    return new_creds(c)
end


-- Credentials from a JSON document's fields (names: key, secret, token).
-- An absent or null Expiration is nil unless need_exp.
local function doc_creds(ctx, doc, names, source, need_exp)
    local token = doc[names[3]]
    if token == cjson_null() or token == "" then
        token = nil
    end
    local exp = doc.Expiration
    if exp == nil or exp == cjson_null() then
        if need_exp then
            return nil, "Expiration is missing"
        end
        exp = nil
    else
        exp = parse_time(exp)
        if not exp then
            return nil, "Expiration is not an ISO-8601 time"
        end
    end
    return checked(ctx, {
        access_key_id = doc[names[1]], secret_access_key = doc[names[2]],
        session_token = token, expiration = exp, source = source,
    }, names)
end


-- The text of a transport error (an error object or a string).
local function err_text(err)
    if type(err) == "table" then
        if err.code == "Timeout" then
            return "timed out"
        end
        if err.message then
            return tostring(err.code or "error") .. ": " .. tostring(err.message)
        end
    end
    local s = tostring(err)
    if str_find(s, "timed? ?out") or str_find(s, "[Tt]imeout") then
        return "timed out"
    end
    return s
end



-- The transport used for container and IMDS lookups when opts.http is
-- absent: the nginx cosocket transport inside nginx where it works, else
-- the libcurl one from acmpca.core. Built on first use only.
local function default_transport()
    if type(ngx) == "table" and ngx.socket then
        local ok, tngx = pcall(require, "acmpca.transport.ngx")
        if ok and type(tngx) == "table" and tngx.available and tngx.available() then
            return tngx.new{ timeout = 1, connect_timeout = 1 }
        end
    end
    local ok, core = pcall(require, "acmpca.core")
    if not ok then
        return nil, "acmpca.core cannot be loaded: " .. tostring(core)
    end
    if type(core.http_new) ~= "function" then
        return nil, "acmpca.core.http_new is not available"
    end
    local h = core.http_new{ timeout = 1, connect_timeout = 1 }
    return function(req)
        return h:request(req)
    end
end


local function default_sleep()
    if type(ngx) == "table" and type(ngx.sleep) == "function" then
        return ngx.sleep
    end
    local ok, core = pcall(require, "acmpca.core")
    if ok and type(core) == "table" and type(core.sleep) == "function" then
        return core.sleep
    end
    return function() end
end


-- The URL of an AWS service the chain calls: acmpca.settings' rules (the
-- endpoint overrides, regional STS, FIPS and dual-stack).
local function service_url(ctx, st, service, region)
    local ok, settings = pcall(require, "acmpca.settings")
    if ok and type(settings) == "table" and settings.service_url then
        local rok, url, err = pcall(settings.service_url, service, region, {
            getenv = ctx.opts.getenv, home = ctx.opts.home, profile = ctx.opts.profile,
            loaded = st,
        })
        if not rok then
            return nil, "acmpca: " .. tostring(url)
        end
        return url, err
    end
    local override = ctx.env("AWS_ENDPOINT_URL_" .. str_upper(service))
        or ctx.env("AWS_ENDPOINT_URL")
    if override then
        return override
    end
    if not region then
        return service == "sts" and "https://sts.amazonaws.com" or nil,
            "acmpca: no region for " .. service
    end
    if service == "sso" then
        return "https://portal.sso." .. region .. ".amazonaws.com"
    end
    return "https://" .. service .. "." .. region .. ".amazonaws.com"
end


-- Lazily resolved context shared by the sources of one provider.
local function new_ctx(opts)
    local ctx = {
        opts = opts,
        env = config.env_reader(opts),
        now = opts.now or os_time,
        explicit_profile = opts.profile ~= nil,
    }

    function ctx.http(req)
        if not ctx.transport then
            local t, err = opts.http, nil
            if not t then
                t, err = default_transport()
            end
            if not t then
                return nil, "no HTTP transport (" .. err .. ")"
            end
            ctx.transport = t
        end
        -- A transport that raises (acmpca.core refuses some arguments that
        -- way) gives an error like any other; header values (tokens) are
        -- cut out of its text.
        local ok, res, err = pcall(ctx.transport, req)
        if ok then
            return res, err
        end
        local text = type(res) == "string" and res or "(a " .. type(res) .. ")"
        for _, v in pairs(req.headers or {}) do
            if type(v) == "string" and #v >= 4 then
                local i = str_find(text, v, 1, true)
                while i do
                    text = str_sub(text, 1, i - 1) .. "<redacted>" .. str_sub(text, i + #v)
                    i = str_find(text, v, i + 10, true)
                end
            end
        end
        return nil, "the HTTP transport raised an error: " .. excerpt(text)
    end

    function ctx.sleep(s)
        if not ctx.sleeper then
            ctx.sleeper = opts.sleep or default_sleep()
        end
        return ctx.sleeper(s)
    end

    function ctx.files()
        if ctx.cfg == nil then
            local st, err = config.load(opts)
            ctx.cfg = st or false
            ctx.cfg_err = err
        end
        return ctx.cfg or nil, ctx.cfg_err
    end

    -- A credentials object from fetched values (checked as above).
    function ctx.creds(c, names)
        return checked(ctx, c, names)
    end

    -- The region STS is called in: opts.region, else AWS_REGION,
    -- AWS_DEFAULT_REGION, the profile's region; nil when none is set.
    function ctx.region()
        if opts.region then
            return opts.region
        end
        local ok, r = pcall(config.region, opts)
        return ok and r or nil
    end

    -- The URL of service ("sts", "sso") in region, with the profile's and
    -- the environment's overrides (acmpca.settings).
    function ctx.service_url(service, region)
        local st = ctx.files()
        return service_url(ctx, st, service, region)
    end

    -- A path with a leading "~" as the home directory.
    function ctx.expand(path)
        if path == "~" or str_sub(path, 1, 2) == "~/" then
            local home = config.home(opts)
            if home then
                return home .. str_sub(path, 2)
            end
        end
        return path
    end

    -- SSO credentials of profile pname (settings p), or false when the
    -- profile has no SSO settings.
    function ctx.sso(pname, p)
        local ok, sso = pcall(require, "acmpca.credentials.sso")
        if not ok then
            return false
        end
        return sso.from_profile(ctx, pname, p, ctx.cache)
    end

    -- The AWS CLI's file cache (~/.aws/cli/cache) when opts.disk_cache.
    if opts.disk_cache then
        local dir = opts.disk_cache
        if dir == true then
            local home = config.home(opts)
            dir = home and (home .. "/.aws/cli/cache")
        end
        if dir then
            ctx.cache = require("acmpca.credentials.cache").new{ dir = dir, now = ctx.now }
        end
    end

    return ctx
end


-- Sources -------------------------------------------------------------
-- Each source is function(ctx) returning:
--   creds                  found;
--   nil, err               configured but failing: the chain stops (as
--                          botocore raises);
--   false, note            not there; note says what was checked.

local function from_env(ctx)
    local env = ctx.env
    local key = env("AWS_ACCESS_KEY_ID")
    local secret = env("AWS_SECRET_ACCESS_KEY")
    if not key then
        if secret then
            return false, "environment (AWS_SECRET_ACCESS_KEY set without AWS_ACCESS_KEY_ID)"
        end
        return false, "environment (AWS_ACCESS_KEY_ID not set)"
    end
    if not secret then
        return nil, "acmpca: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; "
            .. "set both (and AWS_SESSION_TOKEN for temporary credentials)"
    end
    local exp
    local exp_s = env("AWS_CREDENTIAL_EXPIRATION")
    if exp_s then
        exp = parse_time(exp_s)
        if not exp then
            return nil, "acmpca: AWS_CREDENTIAL_EXPIRATION is not an ISO-8601 time"
        end
    end
    local c, problem = checked(ctx, {
        access_key_id = key,
        secret_access_key = secret,
        session_token = env("AWS_SESSION_TOKEN") or env("AWS_SECURITY_TOKEN"),
        expiration = exp,
        source = "env",
    }, { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN" })
    if not c then
        return nil, "acmpca: credentials from the environment: " .. problem
    end
    return c
end


-- Static keys of one file's profile section.
local function keys_from_section(ctx, sect, source, where)
    if not sect then
        return false
    end
    local key = str_field(sect, "aws_access_key_id")
    local secret = str_field(sect, "aws_secret_access_key")
    if key and not secret then
        return nil, str_format("acmpca: %s has aws_access_key_id but no "
            .. "aws_secret_access_key", where)
    end
    if secret and not key then
        return nil, str_format("acmpca: %s has aws_secret_access_key but no "
            .. "aws_access_key_id", where)
    end
    if not key then
        return false
    end
    local c, problem = checked(ctx, {
        access_key_id = key,
        secret_access_key = secret,
        session_token = str_field(sect, "aws_session_token")
            or str_field(sect, "aws_security_token"),
        source = source,
    }, { "aws_access_key_id", "aws_secret_access_key", "aws_session_token" })
    if not c then
        return nil, str_format("acmpca: %s: %s", where, problem)
    end
    return c
end


local function from_credentials_file(ctx)
    local st, err = ctx.files()
    if not st then
        return nil, err
    end
    local c, cerr = keys_from_section(ctx, st.credentials, "shared-credentials-file",
        str_format("profile %s in %s", st.profile, tostring(st.credentials_path)))
    if c == nil then
        return nil, cerr
    end
    return c or false
end


local function from_config_file(ctx)
    local st, err = ctx.files()
    if not st then
        return nil, err
    end
    local c, cerr = keys_from_section(ctx, st.config, "config-file",
        str_format("profile %s in %s", st.profile, tostring(st.config_path)))
    if c == nil then
        return nil, cerr
    end
    return c or false
end


-- Runs credential_process (acmpca.credentials.process). stdout must be
-- the JSON document (Version 1).
local function run_process(ctx, cmd, pname)
    local secs = ctx.opts.process_timeout or process.TIMEOUT
    local body, status, detail = process.run(cmd, {
        timeout = secs, popen = ctx.opts.popen, thread_pool = ctx.opts.process_thread_pool,
    })
    if not body then
        return nil, str_format("acmpca: credential_process for profile %s ", pname)
            .. (PROCESS_PROBLEMS[status] or "failed")
            .. (status == "start" and (": " .. tostring(detail)) or "")
            .. (status == "timeout" and str_format(" within %g s; it was stopped", secs) or "")
    end
    if status ~= 0 then
        return nil, str_format("acmpca: credential_process for profile %s exited with "
            .. "status %d (%s)", pname, status, type(ngx) == "table"
            and "its stderr, if any, is in nginx's error log"
            or "its stderr, if any, is shown above")
    end
    local doc = json_decode(body)
    if not doc then
        return nil, str_format("acmpca: credential_process for profile %s did not print a "
            .. "JSON object", pname)
    end
    if doc.Version ~= 1 then
        local v = doc.Version
        -- "%d" only within the exact integers: Lua 5.4 raises for a float
        -- without an integer representation (1e300)
        if type(v) == "number" and v % 1 == 0 and v > -2^53 and v < 2^53 then
            v = str_format("%d", v)
        elseif type(v) ~= "number" then
            v = type(v)
        end
        return nil, str_format("acmpca: credential_process for profile %s printed Version "
            .. "%s; only Version 1 is supported", pname, tostring(v))
    end
    local key, secret = str_field(doc, "AccessKeyId"), str_field(doc, "SecretAccessKey")
    if not key or not secret then
        return nil, str_format("acmpca: credential_process for profile %s printed no %s",
            pname, key and "SecretAccessKey" or "AccessKeyId")
    end
    local c, problem = doc_creds(ctx, doc, { "AccessKeyId", "SecretAccessKey", "SessionToken" },
                                 "credential_process")
    if not c then
        if problem == "Expiration is not an ISO-8601 time" then
            problem = "printed an Expiration that is not an ISO-8601 time"
        end
        return nil, str_format("acmpca: credential_process for profile %s: %s", pname, problem)
    end
    return c
end


-- credential_process of the selected profile, or of profile pname
-- (settings p) when given (a role's source profile).
local function from_process(ctx, pname, p)
    if not pname then
        local st, err = ctx.files()
        if not st then
            return nil, err
        end
        pname, p = st.profile, st.merged
    end
    local cmd = p.credential_process
    if type(cmd) ~= "string" or cmd == "" then
        return false
    end
    return run_process(ctx, cmd, pname)
end


local function is_loopback(host)
    if host == "localhost" or host == "::1" then
        return true
    end
    local a, b, c, d = str_match(host, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
    if a then
        a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
        return a == 127 and b < 256 and c < 256 and d < 256
    end
    return false
end


local CONTAINER_HOSTS = {
    ["169.254.170.2"] = true, ["169.254.170.23"] = true, ["fd00:ec2::23"] = true,
}


-- Scheme and host (lower case, IPv6 literals unbracketed) of an absolute
-- http(s) URL, or nil when acmpca.url refuses it.
local function url_host(s)
    local u = url_parse(s)
    if not u then
        return nil
    end
    return u.scheme, u.host
end
--- url_host(s) -> scheme, host of an absolute http(s) URL, or nil.
_M.url_host = url_host




-- A small file, at most max bytes, regular files only (core.read_file:
-- a FIFO does not block the open); io when the C module is not loadable.
local function read_small_file(path, max)
    local ok, core = pcall(require, "acmpca.core")
    if ok and type(core) == "table" and type(core.read_file) == "function" then
        return core.read_file(path, max)
    end
    local f, oerr = io_open(path, "rb")
    if not f then
        return nil, oerr
    end
    local data = f:read(max + 1) or ""
    f:close()
    if #data > max then
        return nil, path .. ": larger than " .. max .. " bytes"
    end
    return data
end


local function container_token(ctx)
    local env = ctx.env
    local token
    local file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if file then
        -- The file wins over the variable, as in botocore; it is read on
        -- every fetch because EKS rotates it.
        local oerr
        token, oerr = read_small_file(file, CONTAINER_TOKEN_MAX)
        if not token then
            return nil, "acmpca: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "
                .. tostring(oerr)
        end
        token = str_match(token, "^(.-)[\r\n]*$")
    else
        token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN")
    end
    if token and str_find(token, "[\r\n]") then
        return nil, "acmpca: the container authorization token contains a line break"
    end
    return token or false
end


local function from_container(ctx)
    local env = ctx.env
    local url
    local rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    local full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    if rel then
        url = CONTAINER_HOST .. rel
    elseif full then
        local scheme, host = url_host(full)
        if not scheme or (scheme ~= "http" and scheme ~= "https") or not host or host == "" then
            return nil, "acmpca: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL"
        end
        if scheme == "http" and not is_loopback(host) and not CONTAINER_HOSTS[host] then
            return nil, str_format("acmpca: AWS_CONTAINER_CREDENTIALS_FULL_URI host %q is "
                .. "not allowed: http URLs must use a loopback address, 169.254.170.2, "
                .. "169.254.170.23 or fd00:ec2::23 (https URLs may use any host)", host)
        end
        url = full
    else
        return false, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
            .. "and AWS_CONTAINER_CREDENTIALS_FULL_URI not set)"
    end

    local token, terr = container_token(ctx)
    if token == nil then
        return nil, terr
    end
    local headers = { Accept = "application/json" }
    if token then
        headers.Authorization = token
    end

    local last
    for attempt = 1, CONTAINER_ATTEMPTS do
        if attempt > 1 then
            ctx.sleep(1)
        end
        local res, err = ctx.http{ method = "GET", url = url, headers = headers,
                                   timeout = CONTAINER_TIMEOUT,
                                   connect_timeout = CONTAINER_TIMEOUT }
        if not res then
            last = err_text(err)
        elseif res.status ~= 200 then
            local doc = json_decode(res.body)
            local msg = doc and (str_field(doc, "message") or str_field(doc, "Message"))
            last = "HTTP " .. tostring(res.status) .. (msg and (": " .. excerpt(msg)) or "")
        else
            local doc = json_decode(res.body)
            if not doc then
                last = "the response is not a JSON object"
            else
                local key, secret = str_field(doc, "AccessKeyId"), str_field(doc, "SecretAccessKey")
                if not key or not secret then
                    return nil, str_format("acmpca: container credentials from %s: the "
                        .. "response has no %s", excerpt(url),
                        key and "SecretAccessKey" or "AccessKeyId")
                end
                local c, problem = doc_creds(ctx, doc, { "AccessKeyId", "SecretAccessKey",
                                                         "Token" }, "container")
                if not c then
                    return nil, str_format("acmpca: container credentials from %s: %s",
                                           excerpt(url), problem)
                end
                return c
            end
        end
    end
    return nil, str_format("acmpca: container credentials from %s failed after %d "
        .. "attempts: %s", url, CONTAINER_ATTEMPTS, last)
end


-- IMDS settings from the environment, then the profile, as botocore reads
-- metadata_service_timeout / metadata_service_num_attempts /
-- ec2_metadata_service_endpoint(_mode).
local function imds_settings(ctx)
    local env = ctx.env
    local st = ctx.files()
    local prof = st and st.merged or {}
    local function setting(var, key)
        local v = env(var)
        if v then
            return v, var
        end
        v = prof[key]
        if type(v) == "string" and v ~= "" then
            return v, key
        end
        return nil
    end
    local s = {}
    local v, name = setting("AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout")
    s.timeout = 1
    if v then
        s.timeout = tonumber(v)
        if not s.timeout or s.timeout <= 0 then
            return nil, str_format("acmpca: %s must be a positive number of seconds, got %q",
                                   name, v)
        end
    end
    v, name = setting("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "metadata_service_num_attempts")
    s.attempts = 1
    if v then
        s.attempts = tonumber(v)
        if not s.attempts or s.attempts < 1 or s.attempts % 1 ~= 0 then
            return nil, str_format("acmpca: %s must be a whole number >= 1, got %q", name, v)
        end
    end
    local endpoint = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint")
    if endpoint then
        local scheme = url_host(endpoint)
        if scheme ~= "http" and scheme ~= "https" then
            return nil, "acmpca: the EC2 metadata endpoint must be an http(s) URL"
        end
    else
        local mode
        mode, name = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                             "ec2_metadata_service_endpoint_mode")
        mode = mode and str_lower(mode)
        if mode == "ipv6" then
            endpoint = IMDS_ENDPOINT_V6
        elseif mode == nil or mode == "ipv4" then
            endpoint = IMDS_ENDPOINT
        else
            return nil, str_format("acmpca: %s must be IPv4 or IPv6", name)
        end
    end
    local e = #endpoint
    while e > 0 and str_sub(endpoint, e, e) == "/" do
        e = e - 1
    end
    s.endpoint = str_sub(endpoint, 1, e)
    local v1off = setting("AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled")
    s.v1_disabled = v1off ~= nil and str_lower(v1off) == "true"
    return s
end


-- One IMDS request with botocore's attempt loop: retried (without pause)
-- on a network error or, for GETs, a non-200 or empty response.
local function imds_request(ctx, s, method, path, headers)
    local res, err
    for _ = 1, s.attempts do
        res, err = ctx.http{ method = method, url = s.endpoint .. path, headers = headers,
                             timeout = s.timeout, connect_timeout = s.timeout }
        if res and (method ~= "GET" or (res.status == 200 and res.body and res.body ~= "")) then
            return res
        end
    end
    return res, err
end


local function from_imds(ctx)
    local env = ctx.env
    local disabled = env("AWS_EC2_METADATA_DISABLED")
    if disabled and str_lower(disabled) == "true" then
        return false, "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED=true)"
    end
    local s, serr = imds_settings(ctx)
    if not s then
        return nil, serr
    end
    local function note(why)
        return false, str_format("EC2 instance metadata (%s: %s)", s.endpoint, why)
    end

    -- IMDSv2 session token. 403/404/405 mean an IMDS without v2 support
    -- (fall back to v1 unless disabled); no answer at all means there is
    -- no IMDS here, so v1 is not tried (it would cost a second timeout).
    local res, err = imds_request(ctx, s, "PUT", "/latest/api/token",
        { ["X-aws-ec2-metadata-token-ttl-seconds"] = IMDS_TOKEN_TTL })
    if not res then
        return note(err_text(err))
    end
    local headers = {}
    if res.status == 200 and res.body and res.body ~= "" then
        if #res.body > 4096 or str_find(res.body, "[^\33-\126]") then
            return note("the IMDSv2 token is malformed (a control character, a blank or "
                .. "more than 4096 bytes)")
        end
        headers["X-aws-ec2-metadata-token"] = res.body
    elseif res.status == 403 or res.status == 404 or res.status == 405 then
        if s.v1_disabled then
            return note("IMDSv2 token request got HTTP " .. res.status
                .. " and IMDSv1 is disabled by AWS_EC2_METADATA_V1_DISABLED")
        end
    else
        return note("IMDSv2 token request got HTTP " .. tostring(res.status))
    end

    res, err = imds_request(ctx, s, "GET", IMDS_ROLE_PATH, headers)
    if not res then
        return note(err_text(err))
    end
    if res.status ~= 200 or not res.body or res.body == "" then
        return note(res.status == 404 and "no IAM role attached to the instance (HTTP 404)"
            or "listing IAM roles got HTTP " .. tostring(res.status))
    end
    -- The first line (plain find: linear), trimmed by byte loops.
    local body = res.body
    local nl = str_find(body, "[\r\n]%s*%S")
    local role = trim(nl and str_sub(body, 1, nl - 1) or body)
    if role == "" then
        return note("no IAM role attached to the instance")
    end
    if #role > 128 or str_find(role, "[^%w+=,.@_-]") or str_find(role, "^%.%.?$") then
        return note("the role name it lists is not an IAM role name")
    end

    res, err = imds_request(ctx, s, "GET", IMDS_ROLE_PATH .. role, headers)
    if not res then
        return note(err_text(err))
    end
    if res.status ~= 200 then
        return note("credentials of role " .. role .. " got HTTP " .. tostring(res.status))
    end
    local doc = json_decode(res.body)
    if not doc then
        return note("credentials of role " .. role .. ": response is not a JSON object")
    end
    local key, secret = str_field(doc, "AccessKeyId"), str_field(doc, "SecretAccessKey")
    local token, exp = str_field(doc, "Token"), parse_time(doc.Expiration)
    if not (key and secret and token and exp) then
        local code = str_field(doc, "Code")
        return note("credentials of role " .. role .. " incomplete"
            .. (code and code ~= "Success" and (" (Code " .. excerpt(code) .. ")") or ""))
    end
    local c, problem = doc_creds(ctx, doc, { "AccessKeyId", "SecretAccessKey", "Token" },
                                 "imds", true)
    if not c then
        return note("credentials of role " .. role .. ": " .. problem)
    end
    return c
end


-- The chain -------------------------------------------------------------

local function profile_missing_error(st)
    return str_format("acmpca: the config profile (%s) could not be found in %s or %s",
        st.profile, tostring(st.credentials_path), tostring(st.config_path))
end


-- The sources a role's source profile resolves through (acmpca.
-- credentials.role).
local ROLE_SOURCES = {
    env = function(ctx) return from_env(ctx) end,
    imds = function(ctx) return from_imds(ctx) end,
    container = function(ctx) return from_container(ctx) end,
    process = function(ctx, pname, p) return from_process(ctx, pname, p) end,
    sso = function(ctx, pname, p) return ctx.sso(pname, p) end,
    static = function(ctx, pname, p)
        local c, err = keys_from_section(ctx, p, "shared-credentials-file",
                                         "profile " .. pname)
        if c == false then
            return nil, "acmpca: profile " .. pname .. " has no usable static keys"
        end
        return c, err
    end,
}


local function role_module()
    return require "acmpca.credentials.role"
end


-- The sources by name.  Each is function(ctx) as above; profile = true
-- marks those that read the shared files' profile.
local NAMED = {
    environment = { fn = function(ctx) return from_env(ctx) end },
    assume_role = { profile = true, fn = function(ctx)
        return role_module().from_profile(ctx, ROLE_SOURCES, ctx.files())
    end },
    web_identity = { profile = true, fn = function(ctx)
        local st = ctx.files()
        return role_module().web_identity_profile(ctx, st.profile, st.merged,
                                                  not ctx.explicit_profile)
    end },
    sso = { profile = true, fn = function(ctx)
        local st = ctx.files()
        return ctx.sso(st.profile, st.merged)
    end },
    shared_credentials_file = { profile = true,
                                fn = function(ctx) return from_credentials_file(ctx) end },
    credential_process = { profile = true, fn = function(ctx) return from_process(ctx) end },
    config_file = { profile = true, fn = function(ctx) return from_config_file(ctx) end },
    container = { fn = function(ctx) return from_container(ctx) end },
    instance_metadata = { fn = function(ctx) return from_imds(ctx) end },
}

--- The sources of the default chain, in botocore's order: environment,
-- assume_role, web_identity, sso, shared_credentials_file,
-- credential_process, config_file, container (ECS, EKS Pod Identity),
-- instance_metadata (IMDSv2).  `provider{ sources = { ... } }` runs
-- these names in another order, or fewer of them.
_M.SOURCES = {
    "environment", "assume_role", "web_identity", "sso", "shared_credentials_file",
    "credential_process", "config_file", "container", "instance_metadata",
}


-- Runs the chain (the source names in order) once. Returns creds,
-- refresher (the source that produced them), or nil, err.
local function resolve(ctx, explicit_profile, order)
    local looked = {}
    local st, described
    for _, name in ipairs(order) do
        local src = NAMED[name]
        if name == "environment" and explicit_profile then
            -- As botocore: an explicitly chosen profile (--profile)
            -- disables the environment provider.
            looked[#looked + 1] = "environment (skipped: a profile was given explicitly)"
        else
            if src.profile and not st then
                local ferr
                st, ferr = ctx.files()
                if not st then
                    return nil, ferr
                end
                if not st.found and st.profile ~= "default" then
                    return nil, profile_missing_error(st)
                end
            end
            local c, note = src.fn(ctx)
            if c then
                return c, src.fn
            elseif c == nil then
                return nil, note
            end
            if src.profile then
                if not described then
                    described = true
                    looked[#looked + 1] = config.describe(st)
                end
            elseif note then
                looked[#looked + 1] = note
            end
        end
    end
    return nil, "acmpca: no AWS credentials found; looked in: " .. tbl_concat(looked, ", ")
end


-- Credentials shared by the workers of one nginx through a
-- lua_shared_dict: the first worker to need them takes a lock (dict:add),
-- runs the chain and stores them until the advisory refresh time; the
-- others wait for them (ngx.sleep, bounded), then run the chain themselves
-- if nothing came.  set(c) keeps them in the worker too.
function shared_get(dict, key, now, fetch, set)
    local function stored()
        local v = dict:get(key)
        local doc = type(v) == "string" and json_decode(v)
        if not doc then
            return nil
        end
        local c = new_creds{
            access_key_id = doc.k, secret_access_key = doc.s, session_token = doc.t,
            expiration = doc.e, source = doc.src,
        }
        if not check_keys(c) or (c.expiration and c.expiration - now() <= ADVISORY_REFRESH) then
            return nil
        end
        set(c)
        return c
    end
    local c = stored()
    if c then
        return c
    end
    local lock = key .. ":lock"
    local got = dict:add(lock, true, FLIGHT_WAIT)
    if not got then
        local deadline = now() + FLIGHT_WAIT
        while dict:get(lock) and now() < deadline do
            ngx.sleep(FLIGHT_POLL)
            c = stored()
            if c then
                return c
            end
        end
    end
    local err
    c, err = fetch()
    if c and c.expiration == nil or (c and c.expiration - now() > ADVISORY_REFRESH) then
        if not cjson_safe then
            cjson_safe = require "cjson.safe"
        end
        local ttl = c.expiration and (c.expiration - now() - ADVISORY_REFRESH) or 0
        dict:set(key, cjson_safe.encode{
            k = c.access_key_id, s = c.secret_access_key, t = c.session_token,
            e = c.expiration, src = c.source,
        }, ttl)
    end
    if got then
        dict:delete(lock)
    end
    if c then
        set(c)
    end
    return c, err
end


--- Returns a function() -> creds | nil, err resolving the chain on first
-- call and caching the result. opts (all optional): profile (explicit;
-- disables the environment source as aws `--profile` does), getenv
-- (default os.getenv), home (default $HOME), http (transport for
-- container/IMDS; default the ngx one inside nginx, else
-- acmpca.core.http_new), now (clock, epoch seconds; default os.time),
-- sleep (between container retries), popen (default io.popen),
-- process_timeout (seconds for a credential_process, default 60),
-- process_thread_pool (inside nginx: the thread pool credential_process
-- runs in, default "acmpca"; without such a pool it blocks the worker).
function _M.provider(opts)
    if opts ~= nil and type(opts) ~= "table" then
        error("acmpca.credentials.provider: opts: expected table or nil, got " .. type(opts), 2)
    end
    opts = opts or {}
    for _, f in ipairs{ "getenv", "http", "now", "sleep", "popen" } do
        if opts[f] ~= nil and type(opts[f]) ~= "function" then
            error(str_format("acmpca.credentials.provider: %s: expected function, got %s",
                             f, type(opts[f])), 2)
        end
    end
    local pt = opts.process_timeout
    if pt ~= nil and (type(pt) ~= "number" or not (pt > 0 and pt <= 86400)) then
        error("acmpca.credentials.provider: process_timeout: expected seconds (0 < n <= "
              .. "86400), got " .. tostring(pt), 2)
    end
    local tp = opts.process_thread_pool
    if tp ~= nil and (type(tp) ~= "string" or tp == "") then
        error("acmpca.credentials.provider: process_thread_pool: expected a non-empty "
              .. "string, got " .. type(tp), 2)
    end
    if opts.home ~= nil and type(opts.home) ~= "string" then
        error("acmpca.credentials.provider: home: expected string, got " .. type(opts.home), 2)
    end
    if opts.profile ~= nil and (type(opts.profile) ~= "string" or opts.profile == "") then
        error("acmpca.credentials.provider: profile: expected a non-empty string, got "
              .. type(opts.profile), 2)
    end
    for _, f in ipairs{ "mfa_prompt" } do
        if opts[f] ~= nil and type(opts[f]) ~= "function" then
            error(str_format("acmpca.credentials.provider: %s: expected function, got %s",
                             f, type(opts[f])), 2)
        end
    end
    local dc = opts.disk_cache
    if dc ~= nil and type(dc) ~= "boolean" and (type(dc) ~= "string" or dc == "") then
        error("acmpca.credentials.provider: disk_cache: expected true, false or a "
              .. "directory, got " .. type(dc), 2)
    end
    if opts.region ~= nil and (type(opts.region) ~= "string" or opts.region == "") then
        error("acmpca.credentials.provider: region: expected a non-empty string, got "
              .. type(opts.region), 2)
    end
    local shared = opts.shared_dict
    if shared ~= nil then
        if type(shared) ~= "string" or shared == "" then
            error("acmpca.credentials.provider: shared_dict: expected the name of a "
                  .. "lua_shared_dict, got " .. type(shared), 2)
        end
        if type(ngx) ~= "table" or type(ngx.shared) ~= "table" or not ngx.shared[shared] then
            error("acmpca.credentials.provider: shared_dict: no lua_shared_dict named "
                  .. shared .. " (declare it in nginx.conf's http block)", 2)
        end
    end

    local order = _M.SOURCES
    if opts.sources ~= nil then
        if type(opts.sources) ~= "table" or #opts.sources == 0 then
            error("acmpca.credentials.provider: sources: expected a list of source names", 2)
        end
        for i, name in ipairs(opts.sources) do
            if not NAMED[name] then
                error(str_format("acmpca.credentials.provider: sources[%d]: %s is not one of %s",
                                 i, tostring(name), tbl_concat(_M.SOURCES, ", ")), 2)
            end
        end
        order = opts.sources
    end

    local now = opts.now or os_time
    local cached, refresher
    local retry_after = 0
    local refreshing = false
    -- single flight: while a first fetch runs, other callers (coroutines
    -- of one nginx worker) wait for it and share its result
    local fetching, fetch_err = false, nil
    local dict = shared and ngx.shared[shared]
    local dict_key = "acmpca:credentials:" .. (opts.profile or "")

    -- Refreshes cached (in the advisory or mandatory window).
    local function refresh(t)
        local exp = cached.expiration
        local mandatory = exp - t <= MANDATORY_REFRESH
        if (t < retry_after or refreshing) and exp > t then
            -- Recently tried, or another coroutine (nginx) is
            -- refreshing right now; the old ones are still usable.
            return cached
        end
        refreshing = true
        local ok, c, err = pcall(refresher, new_ctx(opts))
        refreshing = false
        if not ok then
            c, err = nil, c
        end
        if c then
            cached = c
            if c.expiration and c.expiration - t <= ADVISORY_REFRESH then
                retry_after = t + REFRESH_RETRY_DELAY
            end
            if c.expiration and c.expiration <= t then
                return nil, "acmpca: refreshed credentials (" .. c.source
                    .. ") are already expired"
            end
            return c
        end
        if not mandatory then
            -- botocore keeps the old credentials when an advisory
            -- refresh fails.
            retry_after = t + REFRESH_RETRY_DELAY
            return cached
        end
        if c == false then
            err = "the source no longer provides credentials (" .. tostring(err) .. ")"
        end
        return nil, "acmpca: credentials from " .. cached.source
            .. " expire soon and could not be refreshed: " .. tostring(err)
    end

    -- The first fetch, shared: a caller that finds one running waits for it
    -- (ngx.sleep, bounded) and gets its result.
    local function first_fetch()
        if fetching and type(ngx) == "table" and type(ngx.sleep) == "function" then
            local deadline = now() + FLIGHT_WAIT
            while fetching and now() < deadline do
                ngx.sleep(FLIGHT_POLL)
            end
            if cached then
                return cached
            end
            if fetching then
                return nil, "acmpca: timed out waiting for another request's credential "
                    .. "lookup"
            end
            return nil, fetch_err
        end
        fetching = true
        local ok, c, src = pcall(resolve, new_ctx(opts), opts.profile ~= nil, order)
        fetching = false
        if not ok or not c then
            fetch_err = src or c
            return nil, fetch_err
        end
        cached, refresher = c, src
        retry_after = 0
        return c
    end

    local function get()
        local t = now()
        if cached then
            local exp = cached.expiration
            if not exp or exp - t > ADVISORY_REFRESH then
                return cached
            end
            if not dict then
                return refresh(t)
            end
            cached = nil
        end
        if dict then
            return shared_get(dict, dict_key, now, first_fetch, function(c)
                cached = c
            end)
        end
        return first_fetch()
    end

    -- Never raises; every failure is a CredentialsError.
    return function()
        local ok, c, err = pcall(get)
        if ok and c then
            return c
        end
        if not ok then
            refreshing, fetching = false, false
            err = "acmpca: the credential chain failed: " .. excerpt(tostring(c))
        end
        return nil, as_error(err)
    end
end


return _M
