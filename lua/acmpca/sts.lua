--- acmpca.sts: the AWS STS calls of the library: the two the credential
-- chain makes, AssumeRole (signed with the source credentials) and
-- AssumeRoleWithWebIdentity (unsigned), and GetCallerIdentity (who the
-- credentials belong to: client:caller_identity), over STS's `query`
-- protocol: a
-- form-encoded POST, an XML answer read with acmpca.xml (libexpat), never
-- with patterns over the text.
--
--    local res, err = sts.assume_role(ctx, {
--        url = "https://sts.eu-west-1.amazonaws.com", region = "eu-west-1",
--        credentials = source, params = { RoleArn =, RoleSessionName =, ... } })
--    -- res = { access_key_id, secret_access_key, session_token, expiration
--    --         (epoch seconds), arn (the assumed role's), response = the
--    --         answer as the AWS CLI caches it }
--    local id, err = sts.get_caller_identity(ctx, { url =, region =, credentials = })
--    -- id = { account, arn, user_id }
--
-- ctx is the credential chain's: ctx.http(req) (never raises), ctx.now(),
-- ctx.sleep(s).  Errors are error objects like ACM PCA's (code, message,
-- status, request_id, retryable, throttling), with the action in
-- `operation`; no secret, session token or web identity token is ever in
-- one.  Throttling, 5xx answers, IDPCommunicationError and network errors
-- are retried (3 attempts in all, jittered exponential backoff, at most
-- 5 s apart).
--
-- @module acmpca.sts

local core = require "acmpca.core"
local xml = require "acmpca.xml"
local retry = require "acmpca.retry"

local type, pairs, ipairs, pcall, tostring, require, error =
    type, pairs, ipairs, pcall, tostring, require, error
local str_byte, str_format, str_gsub, str_sub = string.byte, string.format, string.gsub,
    string.sub
local tbl_concat, tbl_sort = table.concat, table.sort

local new_error = core.new_error


local _M = { _VERSION = "0.2.0" }

local VERSION = "2011-06-15"
-- STS's global endpoint, signed for us-east-1 (botocore's rule set)
local GLOBAL_URL = "https://sts.amazonaws.com"
local TIMEOUT = 10
-- an STS answer is a few KiB; the XML reader refuses more than 1 MiB
local MAX_ANSWER = 64 * 1024

-- botocore/retries/standard.py: throttling codes; STS's own transient one.
local THROTTLING = {
    Throttling = true, ThrottlingException = true, ThrottledException = true,
    RequestThrottledException = true, TooManyRequestsException = true,
    RequestLimitExceeded = true, RequestThrottled = true, SlowDown = true,
}
local TRANSIENT = { IDPCommunicationError = true, RequestTimeout = true,
                    RequestTimeoutException = true, InternalError = true }


-- RFC 3986 percent-encoding: all but A-Z a-z 0-9 - _ . ~
local function pct(s)
    return (str_gsub(s, "[^%w%-_%.~]", function(c)
        return str_format("%%%02X", str_byte(c))
    end))
end
_M.pct = pct


--- sts.target(url, region) -> the signing region for a request to url:
-- us-east-1 for the global endpoint (or when there is no region), else
-- region.
function _M.target(url, region)
    if url == GLOBAL_URL or region == nil then
        return "us-east-1"
    end
    return region
end


--- form(params) -> the form-encoded body: Action and Version first, then the
-- other parameters in name order.
-- @tparam string action
-- @tparam table params
function _M.form(action, params)
    local names = {}
    for k in pairs(params) do
        names[#names + 1] = k
    end
    tbl_sort(names)
    local out = { "Action=" .. pct(action), "Version=" .. VERSION }
    for _, k in ipairs(names) do
        out[#out + 1] = pct(k) .. "=" .. pct(tostring(params[k]))
    end
    return tbl_concat(out, "&")
end


local function sts_error(action, code, message, fields)
    local e = { code = code, message = message, operation = action, retryable = false }
    for k, v in pairs(fields or {}) do
        e[k] = v
    end
    return new_error(e)
end


-- The header value of name (any case), or nil.
local function header(res, name)
    local h = res.headers
    if type(h) ~= "table" then
        return nil
    end
    local want = name:lower()
    for k, v in pairs(h) do
        if type(k) == "string" and k:lower() == want then
            return type(v) == "table" and v[1] or v
        end
    end
    return nil
end


-- Text of the answer that may go into a message: printable, bounded.
local function clean(s, max)
    if type(s) ~= "string" then
        return nil
    end
    return core.excerpt and core.excerpt(str_sub(s, 1, max or 1024))
        or (str_gsub(str_sub(s, 1, max or 1024), "[%z\1-\31\127]", "?"))
end


-- An STS error answer: <ErrorResponse><Error><Code/><Message/></Error>
-- <RequestId/></ErrorResponse>.
local function error_of(action, res)
    local status = res.status
    local request_id = header(res, "x-amzn-RequestId")
    local code, message
    local root = type(res.body) == "string" and res.body ~= "" and xml.decode(res.body)
    if root and root.name == "ErrorResponse" then
        code = xml.text(root, "Error", "Code")
        message = xml.text(root, "Error", "Message")
        request_id = xml.text(root, "RequestId") or request_id
    end
    if not code or code == "" then
        code = status >= 500 and "InternalError" or "UnknownError"
        message = message or str_format("HTTP %d with no STS error in the answer", status)
    end
    code = clean(code, 128)
    local throttling = THROTTLING[code] or status == 429
    return sts_error(action, code, clean(message, 4096) or code, {
        status = status,
        request_id = clean(request_id, 128),
        throttling = throttling or nil,
        retryable = throttling or TRANSIENT[code] or status >= 500 or false,
    })
end


-- ISO-8601 "2026-12-05T13:00:00Z" (fractions, offsets) -> epoch seconds:
-- the chain's one parser (acmpca.credentials requires this module lazily).
local function parse_time(s)
    return require("acmpca.credentials").parse_time(s)
end


-- The credentials of a success answer, or nil, err (InvalidResponse).
local function credentials_of(action, root)
    local result = xml.child(root, action .. "Result")
    local creds = result and xml.child(result, "Credentials")
    if root.name ~= action .. "Response" or not creds then
        return nil, sts_error(action, "InvalidResponse", "the STS answer has no "
            .. action .. "Result/Credentials")
    end
    local out = {}
    for field, name in pairs{ access_key_id = "AccessKeyId",
                              secret_access_key = "SecretAccessKey",
                              session_token = "SessionToken", expiration = "Expiration" } do
        local v = xml.text(creds, name)
        if not v or v == "" then
            return nil, sts_error(action, "InvalidResponse", "the STS answer has no "
                .. name)
        end
        out[field] = v
    end
    local iso = out.expiration
    out.expiration = parse_time(iso)
    if not out.expiration then
        return nil, sts_error(action, "InvalidResponse",
            "the STS answer's Expiration is not an ISO-8601 time")
    end
    out.arn = xml.text(result, "AssumedRoleUser", "Arn")
    out.response = {
        Credentials = {
            AccessKeyId = out.access_key_id, SecretAccessKey = out.secret_access_key,
            SessionToken = out.session_token, Expiration = iso,
        },
        AssumedRoleUser = out.arn and {
            Arn = out.arn, AssumedRoleId = xml.text(result, "AssumedRoleUser", "AssumedRoleId"),
        } or nil,
    }
    return out
end


-- One attempt.  Returns result | nil, err.
local function attempt(ctx, action, o, body)
    local headers = {
        ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8",
        Accept = "text/xml",
    }
    local req = { method = "POST", url = o.url, headers = headers, body = body,
                  timeout = o.timeout or TIMEOUT, connect_timeout = o.timeout or TIMEOUT }
    if o.credentials then
        local ok, signed = pcall(core.sign, req, {
            region = o.region, service = "sts", credentials = o.credentials,
            time = ctx.now(),
        })
        if not ok then
            return nil, sts_error(action, "CredentialsError", "cannot sign the STS request: "
                .. tostring(signed))
        end
        req.headers = signed
    end
    local res, err = ctx.http(req)
    if not res then
        if type(err) == "table" and err.code then
            return nil, err
        end
        return nil, sts_error(action, "NetworkError", tostring(err), { retryable = true })
    end
    if type(res.status) ~= "number" then
        return nil, sts_error(action, "InvalidResponse", "the transport gave no status")
    end
    if res.status < 200 or res.status > 299 then
        return nil, error_of(action, res)
    end
    if type(res.body) ~= "string" or #res.body > MAX_ANSWER then
        return nil, sts_error(action, "InvalidResponse", "the STS answer is missing or larger "
            .. "than " .. MAX_ANSWER .. " bytes", { status = res.status })
    end
    local root, xerr = xml.decode(res.body)
    if not root then
        return nil, sts_error(action, "InvalidResponse", "the STS answer is not XML ("
            .. tostring(xerr) .. ")", { status = res.status })
    end
    local out, cerr = (o.read or credentials_of)(action, root)
    if not out then
        cerr.status = res.status
        return nil, cerr
    end
    return out
end


-- The call with retries.
local function call(ctx, action, o)
    if type(o.url) ~= "string" or type(o.region) ~= "string" then
        error("acmpca.sts: url and region are required", 3)
    end
    local body = _M.form(action, o.params)
    return retry.run(function() return attempt(ctx, action, o, body) end, ctx.sleep)
end


-- GetCallerIdentity's answer -> { account, arn, user_id }, or nil, err.
local function identity_of(action, root)
    local result = xml.child(root, action .. "Result")
    if root.name ~= action .. "Response" or not result then
        return nil, sts_error(action, "InvalidResponse", "the STS answer has no "
            .. action .. "Result")
    end
    local out = {}
    for field, name in pairs{ account = "Account", arn = "Arn", user_id = "UserId" } do
        local v = xml.text(result, name)
        if not v or v == "" then
            return nil, sts_error(action, "InvalidResponse", "the STS answer has no " .. name)
        end
        out[field] = clean(v, 2048)
    end
    if not out.account:find("^%d%d%d%d%d%d%d%d%d%d%d%d$") then
        return nil, sts_error(action, "InvalidResponse", "the STS answer's Account is not a "
            .. "12-digit account id: " .. out.account)
    end
    return out
end


--- sts.assume_role(ctx, o) -> result | nil, err: AssumeRole signed with
-- o.credentials (o.url, o.region, o.params: RoleArn, RoleSessionName,
-- ExternalId, DurationSeconds, SerialNumber, TokenCode).
function _M.assume_role(ctx, o)
    if type(o.credentials) ~= "table" then
        error("acmpca.sts.assume_role: credentials are required", 2)
    end
    return call(ctx, "AssumeRole", o)
end


--- sts.assume_role_with_web_identity(ctx, o) -> result | nil, err: sent
-- unsigned (o.url, o.region, o.params: RoleArn, RoleSessionName,
-- WebIdentityToken, DurationSeconds).
function _M.assume_role_with_web_identity(ctx, o)
    local p = {}
    for k, v in pairs(o) do
        p[k] = v
    end
    p.credentials = nil
    return call(ctx, "AssumeRoleWithWebIdentity", p)
end


--- sts.get_caller_identity(ctx, o) -> { account, arn, user_id } | nil, err:
-- GetCallerIdentity signed with o.credentials (o.url, o.region); the
-- account and the ARN of the user or assumed role the credentials are.
function _M.get_caller_identity(ctx, o)
    if type(o.credentials) ~= "table" then
        error("acmpca.sts.get_caller_identity: credentials are required", 2)
    end
    return call(ctx, "GetCallerIdentity", { url = o.url, region = o.region,
                                            credentials = o.credentials, params = {},
                                            timeout = o.timeout, read = identity_of })
end


return _M
