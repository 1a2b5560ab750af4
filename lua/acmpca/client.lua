--- acmpca.client: the low-level ACM PCA client.
--
-- The client class is assembled here, in one place: the C userdata of
-- acmpca.core (validation, endpoint, encoding, signing and response parsing
-- in src/), one method per operation of the model (acmpca.model), and the
-- renewal helpers (acmpca.renewal).  This file resolves the options and runs
-- the call loop in Lua, so that a transport or a credentials function may
-- yield (OpenResty cosockets: LuaJIT cannot yield across a C call).
--
-- Retries follow the AWS SDKs' "standard" mode (botocore/retries/standard.py
-- and the SDK reference "Retry behavior"): at most max_attempts attempts
-- (default 3), delay = min(random() * 2 ^ (attempt - 1), 20) seconds, a retry
-- quota of 500 tokens per client (5 per retry, 10 per retry after a
-- timeout, 1 back per success), on throttling codes, transient codes,
-- HTTP 500/502/503/504, timeouts and connection failures; never on other
-- 4xx errors.  A clock-skew error (RequestTimeTooSkewed, expired signature)
-- corrects the client's clock offset from the response Date and is retried
-- once, outside that budget.
--
-- retry_mode = "adaptive" adds the SDKs' client-side rate limiter
-- (acmpca.adaptive, one per client): off until the first throttling
-- response, then each attempt waits for a token first.  "legacy" is
-- standard with 5 attempts by default (botocore's legacy default).
-- Settings the caller does not pass come from acmpca.settings: the
-- environment, then the profile (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE,
-- AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT, AWS_CA_BUNDLE,
-- AWS_ENDPOINT_URL_ACM_PCA, ...); an invalid one raises naming its place.
--
-- @module acmpca.client

local core = require "acmpca.core"

local type, pairs, ipairs = type, pairs, ipairs
local error = error
local require = require
local tostring = tostring
local getmetatable = getmetatable
local random = math.random
local min = math.min
local floor = math.floor
local io_open = io.open
local os_getenv = os.getenv
local new_error = core.new_error
local core_now = core.now
local client_new = core.client_new
local core_sleep = core.sleep
local show = require "acmpca.show"
local check_options, tag = show.check_options, show.tag
local batch_mod = require "acmpca.batch"
local settings_mod = require "acmpca.settings"
local adaptive = require "acmpca.adaptive"
local current_batch, batch_sleeper = batch_mod.current, batch_mod.sleeper

local QUOTA = 500
local RETRY_COST = 5
local TIMEOUT_COST = 10
local MAX_BACKOFF = 20
-- In a batch (acmpca.batch), a throttled call waits for the batch's pacing
-- and tries again, up to this many attempts, without spending the retry
-- quota: throttling slows a fleet-wide run down instead of failing CAs.
local BATCH_THROTTLE_ATTEMPTS = 10

local _M = { _VERSION = "0.2.0" }

local methods = core.client_methods
_M.methods = methods


local function callable(v)
    if type(v) == "function" then
        return true
    end
    local mt = type(v) == "table" and getmetatable(v)
    return mt and type(mt) == "table" and mt.__call ~= nil or false
end


-- An environment variable, with "" treated as unset.
local function env(getenv, name)
    local v = getenv(name)
    if v == nil or v == "" then
        return nil
    end
    return v
end


-- A credentials table must hold usable keys (acmpca.credentials' rule,
-- loaded only when a table is given: the chain itself is acmpca.new's).
local function check_credentials(creds)
    if creds == nil or callable(creds) then
        return
    end
    local ok, _, field = require("acmpca.credentials").check_keys(creds)
    if ok then
        return
    end
    if field == "session_token" then
        error("acmpca.new: credentials: session_token: expected a string", 3)
    end
    error("acmpca.new: credentials: expected a table with access_key_id and "
          .. "secret_access_key strings (and optionally session_token), "
          .. "or a function returning one", 3)
end


local function credentials_error(op, err)
    local msg
    if type(err) == "table" then
        msg = err.message or err.code
    elseif err ~= nil then
        msg = err
    end
    return new_error{
        code = "CredentialsError",
        message = tostring(msg or "the credentials function returned no credentials"),
        retryable = false,
        operation = op,
        -- what STS (or the SSO portal) answered, as an error object
        cause = type(err) == "table" and type(err.cause) == "table" and err.cause or nil,
    }
end


local NO_CREDENTIALS = "no credentials: pass credentials to acmpca.client.new, "
    .. "or use acmpca.new for the AWS credential chain"


--- client.credentials_for(creds, name) -> credentials | nil, err: what to
-- sign one request of operation name with: creds itself (a table), or
-- what it returns (a function); a CredentialsError naming the operation
-- when there is none.  The call loop's, and acmpca.identity's.
local function credentials_for(creds, name)
    if creds == nil then
        return nil, credentials_error(name, NO_CREDENTIALS)
    elseif not callable(creds) then
        return creds
    end
    local c, err = creds()
    if not c then
        return nil, credentials_error(name, err)
    end
    return c
end
_M.credentials_for = credentials_for


local model, OPERATIONS = require("acmpca.model")._private()


-- One operation: credentials -> _prepare -> transport -> _finish, retried.
local function invoke(self, op, args)
    local st = self:_state()
    local creds = st.credentials
    local from_fn = callable(creds)
    if from_fn then
        -- misuse must raise even when the credentials lookup would fail
        self:_prepare(op, args, false)
    elseif creds == nil then
        return nil, credentials_error(OPERATIONS[op].name, NO_CREDENTIALS)
    end
    local transport = st.transport
    local max_attempts = st.max_attempts
    local attempt, skew_retried, acquired = 1, false, 0
    local name = OPERATIONS[op].name
    local batch = current_batch()
    local via_batch = batch and batch:sends()
    local sleep = batch and batch_sleeper(st.sleep) or st.sleep
    local limiter = st.limiter

    while true do
        -- credentials_for, inlined: callable(creds) is known (measured:
        -- the call cost 0.1-0.2 us of 4 us per call under Lua 5.4)
        local c = creds
        if from_fn then
            local cerr
            c, cerr = creds()
            if not c then
                return nil, credentials_error(name, cerr)
            end
        end

        local req, err = self:_prepare(op, args, c)
        if not req then
            return nil, err
        end

        if batch then
            batch:pace(name)
        end
        if limiter then
            local wait = limiter:acquire()
            if wait > 0 then
                sleep(wait)
            end
        end
        local res
        if transport then
            res, err = transport(req)
        elseif via_batch then
            res, err = batch:send(req)
        else
            res, err = self:_send(req)
        end

        local out
        out, err = self:_finish(op, res, err)
        if limiter then
            limiter:update(out == nil and err.throttling == true)
        end
        if batch then
            batch:feedback(name, err)
        end
        if out ~= nil then
            tag(op, out)
            st.quota = min(QUOTA, st.quota + (acquired > 0 and acquired or 1))
            return out
        end

        err.attempts = attempt
        if err.clock_skew and not skew_retried then
            skew_retried = true

        elseif batch and err.throttling and attempt < BATCH_THROTTLE_ATTEMPTS then
            -- the pacing has slowed down; a short jittered backoff on top
            sleep(min(random() * 2 ^ (attempt - 1), MAX_BACKOFF) / 4)
            attempt = attempt + 1

        elseif err.retryable and attempt < max_attempts then
            local cost = err.code == "Timeout" and TIMEOUT_COST or RETRY_COST
            if st.quota < cost then
                return nil, err
            end
            st.quota = st.quota - cost
            acquired = cost
            sleep(min(random() * 2 ^ (attempt - 1), MAX_BACKOFF))
            attempt = attempt + 1

        else
            return nil, err
        end
    end
end


-- One method per operation of the model: client:create_permission{...},
-- client:list_permissions{...}, client:describe_certificate_authority{...}
-- and so on, arguments and results as acmpca.model describes them.
for _, op in ipairs(model.operations) do
    local method = op.method
    methods[method] = function(self, args)
        return invoke(self, method, args)
    end
end

-- The renewal helpers (ensure_acm_renewal, ...) and the fleet helpers
-- (audit, ensure_acm_renewal_all, certificate_authorities, ...), built on
-- those methods: every client has them, however it was made.
for name, fn in pairs(require("acmpca.renewal").methods) do
    methods[name] = fn
end
for name, fn in pairs(require("acmpca.fleet").methods) do
    methods[name] = fn
end
-- client:caller_identity(): STS GetCallerIdentity with the client's
-- credentials, transport and settings (acmpca.identity).
for name, fn in pairs(require("acmpca.identity").methods) do
    methods[name] = fn
end


-- The options client.new knows; acmpca.new adds profile.  A key not here
-- is an error naming it (show.check_options), so a typo is not ignored.
local OPTIONS = {
    region = true, credentials = true, endpoint = true, use_fips = true, use_dualstack = true,
    transport = true, timeout = true, connect_timeout = true, max_attempts = true,
    retry_mode = true, ca_file = true, user_agent = true, sleep = true, now = true,
    getenv = true,
}
_M.OPTIONS = OPTIONS


local function profile_note(key)
    if key == "profile" then
        return "acmpca.new takes it; acmpca.client.new does not"
    end
    return nil
end


local RETRY_MODES = { standard = true, adaptive = true, legacy = true }


-- The options a caller gave, by acmpca.settings' names (those are not
-- read from the environment or the profile).
local function given_settings(opts)
    return {
        max_attempts = opts.max_attempts, retry_mode = opts.retry_mode,
        use_fips_endpoint = opts.use_fips, use_dualstack_endpoint = opts.use_dualstack,
        ca_bundle = opts.ca_file,
    }
end


-- "use_fips" when the caller passed it, else "use_fips (AWS_USE_FIPS_ENDPOINT)".
local function named(option, from)
    if from == nil or from == "option" then
        return option
    end
    return option .. " (" .. from .. ")"
end


-- The settings the caller left out, from acmpca.settings; raises naming
-- the place of an invalid one.  Returns the settings and the endpoint
-- with its place.
local function resolve_settings(opts, getenv, profile)
    local s, err = settings_mod.load{ getenv = getenv, profile = profile, caller = "acmpca.new",
                                      given = given_settings(opts) }
    if not s then
        error(err.message, 3)
    end
    local endpoint, from = opts.endpoint, "option"
    if endpoint == nil then
        endpoint, from = s:endpoint_url("acm-pca")
        if endpoint == nil and from ~= nil then
            error(from.message, 3)
        end
    end
    if endpoint ~= nil then
        for _, o in ipairs{ { "use_fips", "use_fips_endpoint" },
                            { "use_dualstack", "use_dualstack_endpoint" } } do
            if s[o[2]] then
                error(("acmpca.new: %s and %s cannot be combined (a custom endpoint is used "
                       .. "as given)"):format(named("endpoint", from), named(o[1], s.from[o[2]])),
                      3)
            end
        end
    end
    return s, endpoint, from
end


local function check_retry_options(opts)
    local max_attempts = opts.max_attempts
    if max_attempts ~= nil and (type(max_attempts) ~= "number" or max_attempts < 1
        or max_attempts > 100 or max_attempts ~= floor(max_attempts)) then
        error("acmpca.new: max_attempts: expected an integer from 1 to 100, got "
              .. tostring(max_attempts), 3)
    end
    local mode = opts.retry_mode
    if mode ~= nil and not RETRY_MODES[mode] then
        error("acmpca.new: retry_mode: expected \"standard\", \"adaptive\" or \"legacy\", got "
              .. (type(mode) == "string" and ("%q"):format(mode) or tostring(mode)), 3)
    end
    for _, k in ipairs{ "use_fips", "use_dualstack" } do
        if opts[k] ~= nil and type(opts[k]) ~= "boolean" then
            error(("acmpca.new: %s: expected a boolean, got %s"):format(k, type(opts[k])), 3)
        end
    end
end


--- client.new(opts) -> client
-- opts: region, credentials, endpoint, use_fips, use_dualstack, transport,
-- timeout, connect_timeout, max_attempts, retry_mode ("standard",
-- "adaptive" or "legacy"), ca_file, user_agent, sleep, now (a clock in
-- seconds for the batch helpers and the adaptive limiter, with sleep: for
-- tests; default core.now), and getenv (a function like os.getenv, for
-- tests).  Any other key is an error.  What is not given comes from
-- acmpca.settings (the environment, then the profile: AWS_PROFILE or
-- default here, acmpca.new's profile option there).  The client reports where it sends requests:
-- client:region() (nil: each CA ARN's region) and client:endpoint() (nil
-- when that depends on the ARN), read-only.
function _M.new(opts, internal)
    if opts == nil then
        opts = {}
    elseif type(opts) ~= "table" then
        error("acmpca.new: expected a table of options, got " .. type(opts), 2)
    end
    check_options("new", opts, OPTIONS, 2, profile_note)

    local getenv = opts.getenv or os_getenv
    if not callable(getenv) then
        error("acmpca.new: getenv: expected a function", 2)
    end
    if opts.transport ~= nil and not callable(opts.transport) then
        error("acmpca.new: transport: expected a function(req) -> res | nil, err", 2)
    end
    if opts.sleep ~= nil and not callable(opts.sleep) then
        error("acmpca.new: sleep: expected a function(seconds)", 2)
    end
    if opts.now ~= nil and not callable(opts.now) then
        error("acmpca.new: now: expected a function() -> seconds", 2)
    end
    check_credentials(opts.credentials)

    check_retry_options(opts)
    local s, endpoint = resolve_settings(opts, getenv, internal and internal.profile)

    local region = opts.region
    if region == nil then
        region = env(getenv, "AWS_REGION") or env(getenv, "AWS_DEFAULT_REGION")
    end

    if opts.ca_file ~= nil then
        if type(opts.ca_file) ~= "string" then
            error("acmpca.new: ca_file: expected a file name, got " .. type(opts.ca_file), 2)
        end
        local f = io_open(opts.ca_file, "rb")
        if not f then
            error("acmpca.new: ca_file: cannot read " .. opts.ca_file, 2)
        end
        f:close()
    end

    local state = {
        credentials = opts.credentials,
        transport = opts.transport,
        sleep = opts.sleep or core_sleep,
        now = opts.now,
        max_attempts = s.max_attempts,
        retry_mode = s.retry_mode,
        limiter = s.retry_mode == "adaptive" and adaptive.new{ now = opts.now or core_now } or nil,
        quota = QUOTA,
        -- for the batch's libcurl multi handle (acmpca.batch)
        timeout = opts.timeout,
        connect_timeout = opts.connect_timeout,
        ca_file = s.ca_bundle,
        -- for the STS endpoint of client:caller_identity (acmpca.identity)
        settings = s,
    }
    return client_new({
        region = region,
        endpoint = endpoint,
        use_fips = endpoint == nil and s.use_fips_endpoint or nil,
        use_dualstack = endpoint == nil and s.use_dualstack_endpoint or nil,
        user_agent = opts.user_agent,
        timeout = opts.timeout,
        connect_timeout = opts.connect_timeout,
        ca_file = s.ca_bundle,
    }, state)
end

return _M
