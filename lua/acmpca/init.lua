--- acmpca: the module users require.
--
--    local acmpca = require "acmpca"
--    local client = acmpca.new{ region = "eu-west-1" }
--    local ok, status = client:ensure_acm_renewal(ca_arn)  -- "created" | "present" | "repaired"
--    -- or, with a default client made on first use:
--    local ok, status = acmpca.ensure_acm_renewal(ca_arn)
--
--    client:region(), client:endpoint()   -- where requests go (nil: each ARN's)
--    acmpca.show(client:list_permissions{ ca_arn = ca_arn })  -- readable text
--    acmpca.help()                         -- the public functions, one line each
--
-- Options tables are strict: a key acmpca.new (or configure, or a helper)
-- does not know is an error naming it, with the closest known key.
--
-- acmpca.new fills in credentials (acmpca.credentials, the AWS CLI's chain)
-- and region (acmpca.config) and, inside nginx, the cosocket transport; the
-- client class (its operations from acmpca.model, its renewal helpers from
-- acmpca.renewal) is assembled by acmpca.client.  Nothing here touches the
-- network or the file system at require time.
--
-- @module acmpca

local client = require "acmpca.client"
local core = require "acmpca.core"

local type, pairs, ipairs, tostring, pcall, require = type, pairs, ipairs, tostring, pcall,
    require
local error = error

local new_error = core.new_error
local show = require "acmpca.show"
local check_options = show.check_options

-- acmpca.new's options: acmpca.client.new's and profile; inside nginx,
-- without opts.transport, also the cosocket transport's own settings
-- (acmpca.transport.ngx.new: keepalive_timeout, pool_size, max_body).
local NEW_OPTIONS = { profile = true }
for k in pairs(client.OPTIONS) do
    NEW_OPTIONS[k] = true
end
local NGX_OPTIONS = { keepalive_timeout = true, pool_size = true, max_body = true }
local NGX_NEW_OPTIONS = {}
for k in pairs(NEW_OPTIONS) do
    NGX_NEW_OPTIONS[k] = true
end
for k in pairs(NGX_OPTIONS) do
    NGX_NEW_OPTIONS[k] = true
end


local _M = { _VERSION = "0.2.0" }


local renewal = require "acmpca.renewal"
--- The library's version ("0.2.0"), also `acmpca.core._VERSION`.
-- @field _VERSION

--- The actions ACM needs: IssueCertificate, GetCertificate, ListPermissions.
-- @field RENEWAL_ACTIONS

--- The service principal ACM renews certificates as: "acm.amazonaws.com".
_M.ACM_PRINCIPAL = renewal.ACM_PRINCIPAL
-- a copy: changing it does not change what the helpers ask for
_M.RENEWAL_ACTIONS = { renewal.RENEWAL_ACTIONS[1], renewal.RENEWAL_ACTIONS[2],
                       renewal.RENEWAL_ACTIONS[3] }
--- acmpca.is_ca_arn(s) -> boolean: is s a CA ARN the client accepts?
-- (acmpca.renewal.is_ca_arn; the rule is core.parse_ca_arn's.)
_M.is_ca_arn = renewal.is_ca_arn
--- The operations and their shapes: the acmpca.model module.
_M.model = require "acmpca.model"


------------------------------------------------------------------------
-- acmpca.new
------------------------------------------------------------------------

local function in_nginx()
    return type(ngx) == "table" and type(ngx.get_phase) == "function"
end


-- Inside nginx the cosocket transport.  A client made where cosockets are
-- not allowed (init_by_lua, say) makes it on first use and, until then,
-- says why it cannot work in that phase instead of blocking the worker on
-- libcurl.
local function nginx_transport(o)
    local tn = require "acmpca.transport.ngx"
    if tn.available() then
        return tn.new(o)
    end
    local inner
    return function(req)
        if not inner then
            local ok, why = tn.available()
            if not ok then
                local msg = "acmpca: " .. tostring(why)
                    .. "; use the client from rewrite, access or content handlers or a timer"
                return nil, new_error{ code = "NetworkError", message = msg, retryable = false }
            end
            inner = tn.new(o)
        end
        return inner(req)
    end
end


-- Any key of opts acmpca.new (fn: or configure) does not take raises.
local function check_new_options(fn, opts)
    local cosocket = in_nginx() and opts.transport == nil
    for k in pairs(NGX_OPTIONS) do
        if opts[k] ~= nil and not cosocket then
            error(("acmpca.%s: %s: a setting of the nginx cosocket transport, taken only "
                   .. "inside nginx and without opts.transport"):format(fn, k), 3)
        end
    end
    check_options(fn, opts, cosocket and NGX_NEW_OPTIONS or NEW_OPTIONS, 3)
end


--- acmpca.new(opts) -> client.  opts as acmpca.client.new, plus profile
-- (the shared-config profile for credentials, region, and the settings
-- of acmpca.settings: max_attempts, retry_mode, use_fips_endpoint,
-- use_dualstack_endpoint, ca_bundle, endpoint_url); opts.getenv (tests)
-- feeds the credential chain and the region lookup as well.  An invalid
-- setting raises here, naming the variable or the profile and file.
-- Inside nginx (no opts.transport), keepalive_timeout, pool_size and
-- max_body go to the cosocket transport; elsewhere they are errors.
function _M.new(opts)
    if opts ~= nil and type(opts) ~= "table" then
        error("acmpca.new: opts: expected a table, got " .. type(opts), 2)
    end
    check_new_options("new", opts or {})
    local o, ngx_o = {}, {}
    for k, v in pairs(opts or {}) do
        if NGX_OPTIONS[k] then
            ngx_o[k] = v
        else
            o[k] = v
        end
    end
    local profile = o.profile
    o.profile = nil
    if profile ~= nil and (type(profile) ~= "string" or profile == "") then
        error("acmpca.new: profile: expected a non-empty string, got " .. type(profile), 2)
    end

    -- Inside nginx, retries wait with ngx.sleep whatever the transport (a
    -- transport given explicitly, the cosocket one included, must not get
    -- the blocking core.sleep).
    local in_ngx = in_nginx()
    local nginx = o.transport == nil and in_ngx
    if nginx then
        for k, v in pairs(o) do
            ngx_o[k] = v
        end
        o.transport = nginx_transport(ngx_o)
    end
    if in_ngx and o.sleep == nil then
        o.sleep = ngx.sleep
    end
    -- the environment the client reads (opts.getenv, for tests) is the one
    -- the credential chain and the profile's region are read from too
    local getenv = type(o.getenv) == "function" and o.getenv or nil
    if o.credentials == nil then
        o.credentials = require("acmpca.credentials").provider{
            profile = profile,
            getenv = getenv,
            http = nginx and o.transport or nil,
            sleep = in_ngx and ngx.sleep or nil,
        }
    end
    if o.region == nil then
        local ok, region = pcall(require("acmpca.config").region,
                                 { profile = profile, getenv = getenv })
        o.region = ok and region or nil
    end
    -- the profile's retry, FIPS, dual-stack, CA bundle and endpoint
    -- settings are read there (acmpca.settings), for this profile
    return client.new(o, { profile = profile })
end


------------------------------------------------------------------------
-- module-level helpers on a default client
-- @section default_client
------------------------------------------------------------------------

local default_opts, default_client


--- acmpca.configure(opts): options for the default client (made on first
-- use); closes the current one.
function _M.configure(opts)
    if opts ~= nil and type(opts) ~= "table" then
        error("acmpca.configure: opts: expected a table, got " .. type(opts), 2)
    end
    check_new_options("configure", opts or {})
    local old = default_client
    default_client, default_opts = nil, opts
    if old then
        old:close()
    end
end


--- acmpca.default_client() -> the client the module-level functions use.
function _M.default_client()
    if not default_client then
        default_client = _M.new(default_opts)
    end
    return default_client
end


-- acmpca.<method>(...) for every client method: the renewal helpers and
-- one per operation of the model, on the default client.
local function forward(name)
    _M[name] = function(...)
        local c = _M.default_client()
        return c[name](c, ...)
    end
end

--- `acmpca.<method>(...)`: every client method but region, endpoint and close,
-- on the default client: the renewal helpers (ensure_acm_renewal,
-- has_acm_renewal, revoke_acm_renewal, permissions, list_all_permissions:
-- acmpca.renewal), the fleet helpers (audit, ensure_acm_renewal_all,
-- certificate_authorities, list_all_certificate_authorities: acmpca.fleet),
-- caller_identity (acmpca.identity) and one per operation
-- (create_permission, list_permissions, ...: acmpca.client).  acmpca.ensure_acm_renewal(arn) is
-- acmpca.default_client():ensure_acm_renewal(arn).
-- @function acmpca.method
-- @param ... the client method's arguments
for name in pairs(renewal.methods) do
    forward(name)
end
for name in pairs(require("acmpca.fleet").methods) do
    forward(name)
end
for name in pairs(require("acmpca.identity").methods) do
    forward(name)
end
for _, op in ipairs(_M.model.operations) do
    forward(op.method)
end


------------------------------------------------------------------------
-- the REPL's helpers: show and help
-- @section repl
------------------------------------------------------------------------

--- acmpca.show(...) -> text: prints any values (results, a client, an
-- error, the fake service) readably, secrets redacted, and returns the text.
function _M.show(...)
    local text = show.render(...)
    io.stdout:write(text, "\n")
    return text
end


-- One line per public function: acmpca.help() prints them.  The renewal
-- helpers' lines live next to them (acmpca.renewal.help), the operations'
-- come from the model; spec/init_spec.lua checks that every function of
-- the module is here and every name here is a function of the module.
local HELP = {
    new = "(opts) -> client: region, credentials, endpoint, profile, max_attempts, ... "
        .. "(unknown keys are errors)",
    configure = "(opts): acmpca.new's options for the default client (closes the current one)",
    default_client = "() -> the client the module-level functions use (made on first use)",
    is_ca_arn = "(s) -> boolean: is s a CA ARN the client accepts?",
    show = "(...) -> text: print any value readably (a result, a client, an error), "
        .. "secrets redacted",
    help = "([out]) -> text: print this list (to out:write, default io.stdout)",
    audit = "([{resource_owner, concurrency, rate_limit, on_progress}]) -> report: "
        .. "each CA's renewal permission",
    ensure_acm_renewal_all = "([{dry_run, concurrency, filter, on_progress, rate_limit}]) "
        .. "-> results, summary: ensure on every ACTIVE CA",
    certificate_authorities = "([{resource_owner, max_results}]) -> iterator over every CA",
    list_all_certificate_authorities = "([{resource_owner, max_results}]) -> the list of "
        .. "every CA",
}
for name, line in pairs(renewal.help) do
    HELP[name] = line
end
for name, line in pairs(require("acmpca.identity").help) do
    HELP[name] = line
end
do
    local shapes = _M.model._private().shapes
    for _, op in ipairs(_M.model.operations) do
        local args = {}
        for _, m in ipairs(shapes[op.input].members) do
            args[#args + 1] = m.required and m.lua or m.lua .. "?"
        end
        HELP[op.method] = "{" .. table.concat(args, ", ") .. "} -> result: the " .. op.name
            .. " operation"
    end
end
_M._HELP = HELP


--- acmpca.help([out]) -> text: the public functions, one line each (also
-- `client:<name>` for every one but new, configure, default_client,
-- is_ca_arn, show and help), written to out (an object with :write,
-- default io.stdout) and returned.
function _M.help(out)
    if out ~= nil and (type(out) ~= "table" and type(out) ~= "userdata") then
        error("acmpca.help: out: expected an object with :write, got " .. type(out), 2)
    end
    local names = {}
    for name in pairs(HELP) do
        names[#names + 1] = name
    end
    table.sort(names)
    local lines = { "acmpca " .. _M._VERSION .. ": acmpca.<name>, and client:<name> for the "
                    .. "client methods" }
    for _, name in ipairs(names) do
        lines[#lines + 1] = "  " .. name .. HELP[name]
    end
    local text = table.concat(lines, "\n")
    local w = out or io.stdout
    w:write(text, "\n")
    return text
end


return _M
