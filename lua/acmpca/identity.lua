--- acmpca.identity: who the client's credentials are, as
-- `aws sts get-caller-identity` tells it: the account, the ARN (a user,
-- or an assumed role and its session) and the user id, plus the source of
-- the credential chain that gave them.  Before a fleet-wide change, a
-- script (or `acmpca get-caller-identity`) checks it runs in the account
-- it means to.
--
--    local id, err = client:caller_identity()
--    -- id = { account = "444455556666",
--    --        arn = "arn:aws:sts::444455556666:assumed-role/acmpca-admin/ops",
--    --        user_id = "AROA...:ops", source = "assume-role" }
--
-- The request is STS GetCallerIdentity (acmpca.sts), signed with the
-- client's credentials, sent through the client's transport (the cosocket
-- one inside nginx), to the STS endpoint of the client's region and
-- settings (acmpca.settings: AWS_ENDPOINT_URL_STS, the profile's
-- services section, FIPS, dual-stack, sts_regional_endpoints); the client's
-- own endpoint option is ACM PCA's and is not used.  Retried as every STS
-- call is (acmpca.retry); errors are error objects with operation
-- "GetCallerIdentity".
--
-- @module acmpca.identity

local sts = require "acmpca.sts"
local settings = require "acmpca.settings"
local core = require "acmpca.core"
local show = require "acmpca.show"

local type, tostring, require = type, tostring, require
local error = error
local os_time = os.time
local fmt = string.format

local new_error = core.new_error


local _M = { _VERSION = "0.2.0" }

local OPTIONS = { endpoint = true }


local function check_opts(opts)
    if opts == nil then
        return {}
    elseif type(opts) ~= "table" then
        error("acmpca.caller_identity: opts: expected a table or nil, got " .. type(opts), 3)
    end
    show.check_options("caller_identity", opts, OPTIONS, 3)
    local ep = opts.endpoint
    if ep ~= nil and (type(ep) ~= "string" or not ep:find("^[Hh][Tt][Tt][Pp][Ss]?://[^/]")) then
        error("acmpca.caller_identity: endpoint: expected an http:// or https:// URL, got "
              .. (type(ep) == "string" and fmt("%q", ep:sub(1, 100)) or type(ep)), 3)
    end
    return opts
end


local function failure(code, message)
    return nil, new_error{ code = code, message = message, operation = "GetCallerIdentity",
                           retryable = false }
end


-- The STS URL: opts.endpoint, else acmpca.settings' for the region.
local function target(st, region, opts)
    if opts.endpoint then
        return opts.endpoint
    end
    local url, err = settings.service_url("sts", region, st.settings)
    if not url then
        return nil, type(err) == "table" and err.message or tostring(err)
    end
    return url
end


--- client:caller_identity([opts]) -> { account, arn, user_id, source } |
-- nil, err.  opts.endpoint: an STS URL to send to instead (the CLI's
-- --endpoint-url).  source is where the credentials came from, as
-- acmpca.credentials names it ("env", "assume-role", "web-identity",
-- "sso", "shared-credentials-file", "container", ...; "static" for a
-- credentials table given to the client).
-- @function client:caller_identity
function _M.caller_identity(self, opts)
    opts = check_opts(opts)
    local st = self:_state()
    local region = self:region()
    local url, uerr = target(st, region, opts)
    if not url then
        return failure("ConfigError", uerr)
    end
    -- acmpca.client is loaded: it installed this method
    local c, cerr = require("acmpca.client").credentials_for(st.credentials,
                                                             "GetCallerIdentity")
    if not c then
        return nil, cerr
    end
    local transport = st.transport
    local ctx = {
        -- the signing time: the wall clock (st.now is the pacing clock)
        now = os_time,
        sleep = st.sleep,
        http = function(req)
            if transport then
                return transport(req)
            end
            return self:_send(req)
        end,
    }
    local id, err = sts.get_caller_identity(ctx, {
        url = url, region = sts.target(url, region), credentials = c,
        timeout = st.timeout,
    })
    if not id then
        return nil, err
    end
    id.source = c.source or "static"
    return id
end


--- The client methods this module adds (acmpca.client installs them).
_M.methods = { caller_identity = _M.caller_identity }

--- One line for acmpca.help.
_M.help = {
    caller_identity = "([{endpoint}]) -> {account, arn, user_id, source}: who the "
        .. "credentials are (STS GetCallerIdentity)",
}


return _M
