-- acmpca.mock: an in-memory ACM Private CA for specs, examples and the REPL.
--
--   local mock = require "acmpca.mock"
--   local svc = mock.new{ cas = { [arn] = { status = "ACTIVE" } } }
--   local client = svc:client()          -- acmpca.new{ transport = svc, ... }
--
-- The service object is callable: svc(req) -> res | nil, err, the client's
-- transport seam.  Each request is checked the way AWS checks it (POST /,
-- the JSON 1.1 content type, X-Amz-Target, a JSON object body with the
-- model's shapes) and its SigV4 signature is recomputed with acmpca.sigv4
-- from the request's own X-Amz-Date and SignedHeaders; a mismatch gets
-- 403 InvalidSignatureException.  CreatePermission, ListPermissions and
-- DeletePermission keep per-CA state with the service's semantics:
-- unknown CA, CA not ACTIVE (writes need ACTIVE; listing works while the CA
-- is ACTIVE, DISABLED or EXPIRED), duplicate principal, opaque NextToken
-- pagination.  Faults can be injected and every call is counted and logged.

local cjson = require "cjson.safe"
local parse_time = require("acmpca.credentials").parse_time

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local setmetatable, select, pcall, require = setmetatable, select, pcall, require
local error, next = error, next
local concat, insert, remove = table.concat, table.insert, table.remove
local fmt = string.format
local floor = math.floor
local os_time, os_date = os.time, os.date
local json_decode = cjson.decode


local _M = { _VERSION = "0.1.0" }


local SERVICE = "acm-pca"
local TARGET_PREFIX = "ACMPrivateCA."
local CONTENT_TYPE = "application/x-amz-json-1.1"
local MAX_SKEW = 300
local DEFAULT_PAGE_SIZE = 100

local OPERATIONS = { "CreatePermission", "ListPermissions", "DeletePermission" }


local STATUSES = {
    CREATING = true, PENDING_CERTIFICATE = true, ACTIVE = true, DELETED = true,
    DISABLED = true, EXPIRED = true, FAILED = true,
}

-- statuses in which ListPermissions answers (writes need ACTIVE)
local LISTABLE = { ACTIVE = true, DISABLED = true, EXPIRED = true }

-- HTTP status of an injected error code
local FAULT_STATUS = {
    ThrottlingException = 400, ThrottledException = 400, RequestLimitExceeded = 400,
    TooManyRequestsException = 429, ServiceUnavailable = 503, InternalFailure = 500,
    InternalServerError = 500, RequestTimeout = 408,
}

local STATUS_CODE = { [500] = "InternalFailure", [503] = "ServiceUnavailable" }

local STATUS_TEXT = {
    [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
    [504] = "Gateway Timeout",
}


-- The AWS documentation's example keys: not a secret anywhere.
local CREDS_MT = {
    __tostring = function(c)
        return "acmpca.mock credentials (access key " .. tostring(c.access_key_id) .. ")"
    end,
}

_M.credentials = setmetatable({
    access_key_id = "AKIDEXAMPLE",
    secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
}, CREDS_MT)


local json = require "acmpca.json"
_M.json = json -- kept for callers of mock.json

local wire = require "acmpca.mock.wire"
local validate = require("acmpca.mock.validate").validate
local is_array = require("acmpca.mock.validate").is_array
local api_error = wire.error


------------------------------------------------------------------------
-- small helpers
------------------------------------------------------------------------

local function http_date(t)
    return os_date("!%a, %d %b %Y %H:%M:%S GMT", floor(t))
end


-- "YYYYMMDDTHHMMSSZ" -> unix seconds, or nil (independent of the local
-- time zone: acmpca.credentials' RFC 3339 parser does the arithmetic)
local function parse_amz_date(s)
    local y, mo, d, h, mi, sec = s:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
    if not y then
        return nil
    end
    return parse_time(fmt("%s-%s-%sT%s:%s:%sZ", y, mo, d, h, mi, sec))
end


local function amz_date(t)
    return os_date("!%Y%m%dT%H%M%SZ", floor(t))
end


local function copy_list(t)
    local out = {}
    for i = 1, #t do
        out[i] = t[i]
    end
    return out
end


-- A CA ARN, by the client's own rule (core.parse_ca_arn, in C).  Loaded on
-- first use, like acmpca.sigv4 for the signature check.
local function ca_arn_ok(s)
    return require("acmpca.core").parse_ca_arn(s) ~= nil
end


local function lower_headers(headers)
    local h = {}
    if type(headers) ~= "table" then
        return h
    end
    for k, v in pairs(headers) do
        if type(k) == "string" then
            if type(v) == "table" then
                v = concat(v, ",")
            end
            h[k:lower()] = tostring(v)
        end
    end
    return h
end


local function split_url(url)
    local scheme, authority, rest = url:match("^(%a[%w+.%-]*)://([^/?#]*)(.*)$")
    if not scheme then
        return nil
    end
    local path, query = rest:match("^([^?#]*)%??([^#]*)")
    if path == "" then
        path = "/"
    end
    return scheme:lower(), authority, path, query
end


local core_mod


local function net_error(code, message)
    if core_mod == nil then
        local ok, m = pcall(require, "acmpca.core")
        core_mod = ok and type(m) == "table" and m or false
    end
    if core_mod and core_mod.new_error then
        return core_mod.new_error{ code = code, message = message, retryable = true }
    end
    return code .. ": " .. message
end


------------------------------------------------------------------------
-- the service
------------------------------------------------------------------------

local methods = {}
local SVC_MT = { __index = methods }


local function next_id(svc)
    svc._seq = svc._seq + 1
    local n = svc._seq
    return fmt("%08x-%04x-4%03x-8%03x-%012x", 0x6d6f636b, n % 0x10000, n % 0x1000,
               (n * 7) % 0x1000, n)
end


local function respond(svc, status, body)
    return {
        status = status,
        headers = {
            ["content-type"] = CONTENT_TYPE,
            ["content-length"] = tostring(#body),
            ["x-amzn-requestid"] = next_id(svc),
            ["date"] = http_date(svc.now()),
        },
        body = body,
    }
end


local function error_response(svc, e)
    return respond(svc, e.status, wire.error_body(e))
end


-- The signature check.  Returns nil when the request verifies, else an
-- api_error.  h holds the request headers by lower-case name.
local function check_signature(svc, req, h)
    local auth = h["authorization"]
    if not auth then
        return api_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    end
    local cred, signed = auth:match(
        "^AWS4%-HMAC%-SHA256 Credential=([^,%s]+),%s*SignedHeaders=([^,%s]+),%s*Signature=(%x+)$")
    if not cred then
        return api_error(403, "IncompleteSignatureException",
                         "Authorization header requires 'Credential', 'Signature' and "
                         .. "'SignedHeaders' parameters (AWS4-HMAC-SHA256)")
    end
    local akid, date, region, service, term = cred:match("^([^/]+)/(%d+)/([^/]+)/([^/]+)/([^/]+)$")
    if not akid or term ~= "aws4_request" then
        return api_error(403, "IncompleteSignatureException",
                         "Credential is not of the form "
                         .. "<key>/<date>/<region>/<service>/aws4_request")
    end

    local creds = svc.credentials
    if akid ~= creds.access_key_id then
        return api_error(403, "UnrecognizedClientException",
                         "The security token included in the request is invalid.")
    end
    local token = h["x-amz-security-token"]
    if (creds.session_token or token) and token ~= creds.session_token then
        return api_error(403, "UnrecognizedClientException",
                         "The security token included in the request is invalid.")
    end

    local xdate = h["x-amz-date"]
    if not xdate then
        return api_error(403, "IncompleteSignatureException",
                         "Authorization header requires existence of a 'X-Amz-Date' header.")
    end
    local t = parse_amz_date(xdate)
    if not t then
        return api_error(403, "IncompleteSignatureException",
                         "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    end
    if xdate:sub(1, 8) ~= date then
        return api_error(403, "InvalidSignatureException",
                         "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                         .. "version of date from HTTP: '" .. date .. "' != '"
                         .. xdate:sub(1, 8) .. "', from '" .. xdate .. "'.")
    end
    if service ~= SERVICE then
        return api_error(403, "InvalidSignatureException",
                         "Credential should be scoped to correct service: '" .. SERVICE .. "'. ")
    end
    if svc.region and region ~= svc.region then
        return api_error(403, "InvalidSignatureException",
                         "Credential should be scoped to a valid region, not '" .. region .. "'. ")
    end
    local now = svc.now()
    if t < now - MAX_SKEW then
        return api_error(400, "InvalidSignatureException",
                         "Signature expired: " .. xdate .. " is now earlier than "
                         .. amz_date(now - MAX_SKEW) .. " (" .. amz_date(now) .. " - 5 min.)")
    elseif t > now + MAX_SKEW then
        return api_error(400, "InvalidSignatureException",
                         "Signature not yet current: " .. xdate .. " is still later than "
                         .. amz_date(now + MAX_SKEW) .. " (" .. amz_date(now) .. " + 5 min.)")
    end

    -- recompute over exactly the headers the request says it signed
    local headers, token_signed, has_host = {}, false, false
    for name in (signed .. ";"):gmatch("([^;]*);") do
        if name == "" or name ~= name:lower() then
            return api_error(403, "IncompleteSignatureException",
                             "SignedHeaders is not a ';'-separated list of lower-case names")
        end
        local v = h[name]
        if v == nil and name ~= "host" then
            return api_error(403, "InvalidSignatureException",
                             "Signed header '" .. name .. "' is missing from the request")
        end
        if name == "x-amz-security-token" then
            token_signed = true
        elseif name == "host" then
            has_host = true
            headers.Host = v
        elseif name ~= "x-amz-date" and name ~= "authorization" then
            headers[name] = v
        end
    end
    if not has_host then
        return api_error(403, "InvalidSignatureException",
                         "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    end

    local sigv4 = require("acmpca.sigv4")
    local ok, out = pcall(sigv4.sign, {
        method = req.method, url = req.url, headers = headers, body = req.body or "",
    }, {
        region = region, service = SERVICE, credentials = creds, time = xdate,
        omit_session_token = creds.session_token ~= nil and not token_signed or nil,
    })
    local expected
    if ok and type(out) == "table" then
        for k, v in pairs(out) do
            if type(k) == "string" and k:lower() == "authorization" then
                expected = v
            end
        end
    end
    if expected ~= auth then
        return api_error(403, "InvalidSignatureException",
                         "The request signature we calculated does not match the signature "
                         .. "you provided. Check your AWS Secret Access Key and signing method. "
                         .. "Consult the service documentation for details.")
    end
    return nil
end


------------------------------------------------------------------------
-- the operations
------------------------------------------------------------------------

local function find_ca(svc, arn, writing)
    if not ca_arn_ok(arn) then
        return nil, api_error(400, "InvalidArnException",
                              "The certificate authority ARN is not valid: " .. arn)
    end
    local ca = svc.cas[arn]
    if not ca then
        return nil, api_error(400, "ResourceNotFoundException",
                              "Could not find certificate authority " .. arn .. ".")
    end
    if writing and ca.status ~= "ACTIVE" or not writing and not LISTABLE[ca.status] then
        return nil, api_error(400, "InvalidStateException",
                              "The certificate authority " .. arn .. " is in the " .. ca.status
                              .. " state; this action needs it ACTIVE.")
    end
    return ca
end


local function find_perm(ca, principal)
    for i, p in ipairs(ca.perms) do
        if p.principal == principal then
            return p, i
        end
    end
    return nil
end


local function policy_document(arn, p)
    local actions = {}
    for i, a in ipairs(p.actions) do
        actions[i] = "acm-pca:" .. a
    end
    local statement = json.object(
        "Sid", "acm-pca-permission",
        "Effect", "Allow",
        "Principal", json.object("Service", p.principal),
        "Action", json.array(actions),
        "Resource", arn,
        "Condition", p.source_account and json.object(
            "StringEquals", json.object("aws:SourceAccount", p.source_account)) or nil)
    return json.encode(json.object("Version", "2012-10-17",
                                   "Statement", json.array{ statement }))
end


-- ops.<Operation>(svc, params, ca, arn) -> body | nil, api_error; the
-- handler has found the CA (find_ca) before it calls one.
local ops = {}

-- what ListPermissions may read; the others write and need ACTIVE
local READS = { ListPermissions = true }


function ops.CreatePermission(svc, params, ca)
    if find_perm(ca, params.Principal) then
        return nil, api_error(400, "PermissionAlreadyExistsException",
                              "The designated permission has already been given to the user.")
    end
    insert(ca.perms, {
        principal = params.Principal,
        source_account = params.SourceAccount,
        actions = copy_list(params.Actions),
        created_at = svc.now(),
    })
    return "{}"
end


function ops.DeletePermission(_, params, ca, arn)
    local p, i = find_perm(ca, params.Principal)
    if not p or (params.SourceAccount and p.source_account
                 and params.SourceAccount ~= p.source_account) then
        return nil, api_error(400, "ResourceNotFoundException",
                              "Could not find a permission for principal " .. params.Principal
                              .. " on certificate authority " .. arn .. ".")
    end
    remove(ca.perms, i)
    return "{}"
end


function ops.ListPermissions(svc, params, ca, arn)
    local start = 1
    if params.NextToken then
        local tok = svc._tokens[params.NextToken]
        if not tok or tok.arn ~= arn then
            return nil, api_error(400, "InvalidNextTokenException",
                                  "The token specified in the NextToken argument is not valid. "
                                  .. "Use the token returned from your previous call to "
                                  .. "ListPermissions.")
        end
        start = tok.offset
    end
    local size = params.MaxResults or svc.page_size
    local list = {}
    local last = start + size - 1
    for i = start, last do
        local p = ca.perms[i]
        if not p then
            break
        end
        list[#list + 1] = json.object(
            "CertificateAuthorityArn", arn,
            "CreatedAt", p.created_at,
            "Principal", p.principal,
            "SourceAccount", p.source_account,
            "Actions", json.array(copy_list(p.actions)),
            "Policy", policy_document(arn, p))
    end
    local token
    if ca.perms[last + 1] then
        svc._token_seq = svc._token_seq + 1
        token = fmt("AAEAAbmockPCA%08d%s", svc._token_seq,
                    ("x"):rep(svc._token_seq % 7))
        svc._tokens[token] = { arn = arn, offset = last + 1 }
    end
    return json.encode(json.object("NextToken", token, "Permissions", json.array(list)))
end


------------------------------------------------------------------------
-- faults
------------------------------------------------------------------------

local function take_fault(svc, op)
    for i, f in ipairs(svc._faults) do
        if f.operation == nil or f.operation == op then
            f.remaining = f.remaining - 1
            if f.remaining <= 0 then
                remove(svc._faults, i)
            end
            return f
        end
    end
    return nil
end


local function fault_response(svc, f)
    local kind = f.kind
    if kind == "network" then
        return nil, net_error("NetworkError", "acmpca.mock: injected connection failure")
    elseif kind == "timeout" then
        return nil, net_error("Timeout", "acmpca.mock: injected timeout")
    elseif kind == "malformed" then
        return respond(svc, f.status or 200, '{"Permissions": [{"Principal": "acm.amaz')
    elseif kind == "html" then
        local status = f.status or 502
        local res = respond(svc, status, "<html><body><h1>" .. status .. " "
                            .. (STATUS_TEXT[status] or "Error") .. "</h1></body></html>")
        res.headers["content-type"] = "text/html"
        return res
    elseif type(kind) == "number" then
        if kind == 502 or kind == 504 then
            return fault_response(svc, { kind = "html", status = kind })
        end
        return error_response(svc, api_error(kind, STATUS_CODE[kind] or "InternalFailure",
                                             f.message or "injected HTTP " .. kind))
    end
    local status = f.status or FAULT_STATUS[kind] or 400
    return error_response(svc, api_error(status, kind,
                                         f.message or (kind == "ThrottlingException"
                                                       and "Rate exceeded"
                                                       or "injected " .. kind)))
end


------------------------------------------------------------------------
-- the request handler: svc(req)
------------------------------------------------------------------------

local function redacted(headers)
    local out = {}
    if type(headers) == "table" then
        for k, v in pairs(headers) do
            if type(k) == "string" and k:lower() == "x-amz-security-token" then
                v = "<redacted>"
            end
            out[k] = v
        end
    end
    return out
end


local function handle(svc, req)
    if type(req) ~= "table" then
        error("acmpca.mock: request: expected a table, got " .. type(req), 2)
    end
    local entry = { method = req.method, url = req.url, headers = redacted(req.headers),
                    body = req.body }
    insert(svc.log, entry)

    local function finish(res, e)
        entry.status = res and res.status
        entry.code = e and e.code
        entry.request_id = res and res.headers["x-amzn-requestid"]
        return res
    end

    local h = lower_headers(req.headers)
    local _, _, path, query = split_url(type(req.url) == "string" and req.url or "")
    if req.method ~= "POST" or path ~= "/" or query ~= "" then
        local e = api_error(404, "UnknownOperationException",
                            "ACM PCA accepts only POST / (got " .. tostring(req.method) .. " "
                            .. tostring(path) .. ")")
        return finish(error_response(svc, e), e)
    end
    local ctype = h["content-type"]
    if not ctype or ctype:match("^%s*([^;%s]+)") ~= CONTENT_TYPE then
        local e = api_error(400, "SerializationException",
                            "Content-Type must be " .. CONTENT_TYPE .. ", got "
                            .. tostring(ctype))
        return finish(error_response(svc, e), e)
    end
    local target = h["x-amz-target"]
    local op = target and target:sub(1, #TARGET_PREFIX) == TARGET_PREFIX
               and target:sub(#TARGET_PREFIX + 1)
    if not op or not ops[op] then
        local e = api_error(400, "UnknownOperationException",
                            "Unknown or unsupported operation: " .. tostring(target))
        return finish(error_response(svc, e), e)
    end
    entry.operation = op
    svc.calls[op] = (svc.calls[op] or 0) + 1

    local e = check_signature(svc, req, h)
    if e then
        return finish(error_response(svc, e), e)
    end

    local f = take_fault(svc, op)
    if f then
        entry.fault = f.kind
        local res, err = fault_response(svc, f)
        if not res then
            entry.code = type(err) == "table" and err.code or tostring(err)
            return nil, err
        end
        local body = json_decode(res.body)
        return finish(res, type(body) == "table" and { code = body.__type } or nil)
    end

    local params = type(req.body) == "string" and json_decode(req.body)
    if type(params) ~= "table" or (next(params) ~= nil and is_array(params)) then
        e = api_error(400, "SerializationException", "The request body is not a JSON object")
        return finish(error_response(svc, e), e)
    end
    entry.params = params
    e = validate(op, params)
    if e then
        return finish(error_response(svc, e), e)
    end

    local hook = svc._hooks[op]
    if hook then
        hook(svc, params)
    end

    local arn = params.CertificateAuthorityArn
    local ca, body
    ca, e = find_ca(svc, arn, not READS[op])
    if ca then
        body, e = ops[op](svc, params, ca, arn)
    end
    if not body then
        return finish(error_response(svc, e), e)
    end
    return finish(respond(svc, 200, body))
end

SVC_MT.__call = handle
SVC_MT.__tostring = function(svc)
    local n = 0
    for _ in pairs(svc.cas) do
        n = n + 1
    end
    return fmt("acmpca.mock (%d CA%s, %d request%s)", n, n == 1 and "" or "s",
               #svc.log, #svc.log == 1 and "" or "s")
end


------------------------------------------------------------------------
-- the public API
------------------------------------------------------------------------

local function check_arn_arg(fn, arn)
    if type(arn) ~= "string" then
        error(fmt("acmpca.mock.%s: ca_arn: expected a string, got %s", fn, type(arn)), 3)
    end
end


local function check_status(fn, status)
    if not STATUSES[status] then
        error(fmt("acmpca.mock.%s: status: expected one of ACTIVE, CREATING, DELETED, DISABLED, "
                  .. "EXPIRED, FAILED, PENDING_CERTIFICATE, got %s", fn, tostring(status)), 3)
    end
end


-- svc:add_ca(arn[, status]): a CA (ACTIVE unless said otherwise).
function methods.add_ca(svc, arn, status)
    check_arn_arg("add_ca", arn)
    status = status or "ACTIVE"
    check_status("add_ca", status)
    if svc.cas[arn] then
        svc.cas[arn].status = status
    else
        svc.cas[arn] = { status = status, perms = {} }
    end
    return svc
end


function methods.set_status(svc, arn, status)
    check_arn_arg("set_status", arn)
    check_status("set_status", status)
    local ca = svc.cas[arn]
    if not ca then
        error("acmpca.mock.set_status: no such CA: " .. arn, 2)
    end
    ca.status = status
    return svc
end


function methods.status(svc, arn)
    local ca = svc.cas[arn]
    return ca and ca.status
end


-- svc:permissions(arn) -> list of { principal=, actions=, source_account=,
-- created_at=, certificate_authority_arn= } (copies), in creation order.
function methods.permissions(svc, arn)
    check_arn_arg("permissions", arn)
    local ca = svc.cas[arn]
    if not ca then
        error("acmpca.mock.permissions: no such CA: " .. arn, 2)
    end
    local out = {}
    for i, p in ipairs(ca.perms) do
        out[i] = {
            certificate_authority_arn = arn, principal = p.principal,
            source_account = p.source_account, actions = copy_list(p.actions),
            created_at = p.created_at,
        }
    end
    return out
end


-- svc:grant(arn, principal, actions[, source_account[, created_at]]): seed
-- a permission directly, without a request (nothing is counted or logged).
function methods.grant(svc, arn, principal, actions, source_account, created_at)
    check_arn_arg("grant", arn)
    local ca = svc.cas[arn]
    if not ca then
        error("acmpca.mock.grant: no such CA: " .. arn, 2)
    end
    if type(principal) ~= "string" or type(actions) ~= "table" then
        error("acmpca.mock.grant: expected (arn, principal, actions[, source_account])", 2)
    end
    local p = find_perm(ca, principal)
    if p then
        p.actions, p.source_account = copy_list(actions), source_account
        p.created_at = created_at or p.created_at
    else
        insert(ca.perms, { principal = principal, actions = copy_list(actions),
                           source_account = source_account,
                           created_at = created_at or svc.now() })
    end
    return svc
end


-- svc:remove(arn, principal): drop a permission directly.
function methods.remove(svc, arn, principal)
    local ca = svc.cas[arn]
    local i = ca and select(2, find_perm(ca, principal))
    if i then
        remove(ca.perms, i)
        return true
    end
    return false
end


-- svc:fail_next(n, kind[, opts]): the next n matching requests fail.
-- kind: an error code ("ThrottlingException", ...; HTTP 400 unless known),
-- an HTTP status (500, 503: JSON error; 502, 504: an HTML page), "malformed"
-- (200 with a truncated body), "html" (a proxy's 502 page), "network" or
-- "timeout" (the transport returns nil, err).  opts: operation (only
-- requests for it), status, message.
function methods.fail_next(svc, n, kind, opts)
    if type(n) ~= "number" or n < 1 or floor(n) ~= n then
        error("acmpca.mock.fail_next: n: expected a positive integer, got " .. tostring(n), 2)
    end
    if type(kind) ~= "string" and type(kind) ~= "number" then
        error("acmpca.mock.fail_next: kind: expected an error code, HTTP status, \"malformed\", "
              .. "\"html\", \"network\" or \"timeout\", got " .. type(kind), 2)
    end
    opts = opts or {}
    insert(svc._faults, { remaining = n, kind = kind, operation = opts.operation,
                          status = opts.status, message = opts.message })
    return svc
end


-- svc:on_before(op, fn): fn(svc, params) runs after a request for op is
-- validated and before the service acts on it (e.g. a concurrent creator).
-- fn = nil removes the hook.
function methods.on_before(svc, op, fn)
    if not ops[op] then
        error("acmpca.mock.on_before: op: expected CreatePermission, ListPermissions or "
              .. "DeletePermission, got " .. tostring(op), 2)
    end
    if fn ~= nil and type(fn) ~= "function" then
        error("acmpca.mock.on_before: fn: expected a function, got " .. type(fn), 2)
    end
    svc._hooks[op] = fn
    return svc
end


-- svc:reset(): forget counts, the log and pending faults (not the CAs).
function methods.reset(svc)
    for _, op in ipairs(OPERATIONS) do
        svc.calls[op] = 0
    end
    for k in pairs(svc.log) do
        svc.log[k] = nil
    end
    svc._faults = {}
    return svc
end


-- svc:transport(): a plain function wrapping the service.
function methods.transport(svc)
    return function(req)
        return handle(svc, req)
    end
end


-- svc:client([opts]): require("acmpca").new with this service as transport
-- and its credentials; opts add to or override those.
function methods.client(svc, opts)
    local o = {}
    if opts ~= nil then
        if type(opts) ~= "table" then
            error("acmpca.mock.client: opts: expected a table, got " .. type(opts), 2)
        end
        for k, v in pairs(opts) do
            o[k] = v
        end
    end
    if o.transport == nil then
        o.transport = methods.transport(svc)
    end
    if o.credentials == nil then
        o.credentials = svc.credentials
    end
    if o.region == nil then
        o.region = svc.region
    end
    return require("acmpca").new(o)
end


-- mock.new{ cas = { [arn] = { status = "ACTIVE" } | "ACTIVE" }, credentials =,
--           region =, page_size = 100, now = os.time }
function _M.new(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        error("acmpca.mock.new: opts: expected a table, got " .. type(opts), 2)
    end
    local creds = opts.credentials or _M.credentials
    if type(creds) ~= "table" or type(creds.access_key_id) ~= "string"
       or type(creds.secret_access_key) ~= "string" then
        error("acmpca.mock.new: credentials: expected { access_key_id =, "
              .. "secret_access_key = [, session_token =] }", 2)
    end
    if opts.region ~= nil and type(opts.region) ~= "string" then
        error("acmpca.mock.new: region: expected a string, got " .. type(opts.region), 2)
    end
    local page_size = opts.page_size or DEFAULT_PAGE_SIZE
    if type(page_size) ~= "number" or page_size < 1 or floor(page_size) ~= page_size then
        error("acmpca.mock.new: page_size: expected a positive integer", 2)
    end
    local now = opts.now or os_time
    if type(now) ~= "function" then
        error("acmpca.mock.new: now: expected a function, got " .. type(now), 2)
    end

    local svc = setmetatable({
        cas = {},
        calls = {},
        log = {},
        credentials = setmetatable({
            access_key_id = creds.access_key_id,
            secret_access_key = creds.secret_access_key,
            session_token = creds.session_token,
        }, CREDS_MT),
        region = opts.region,
        page_size = page_size,
        now = now,
        _seq = 0,
        _token_seq = 0,
        _tokens = {},
        _faults = {},
        _hooks = {},
    }, SVC_MT)
    methods.reset(svc)

    if opts.cas ~= nil and type(opts.cas) ~= "table" then
        error("acmpca.mock.new: cas: expected a table of arn -> { status = ... }", 2)
    end
    for arn, ca in pairs(opts.cas or {}) do
        local status = type(ca) == "table" and (ca.status or "ACTIVE") or ca
        if type(arn) ~= "string" or not STATUSES[status] then
            error("acmpca.mock.new: cas: bad entry for " .. tostring(arn), 2)
        end
        methods.add_ca(svc, arn, status)
        if type(ca) == "table" and ca.permissions then
            for _, p in ipairs(ca.permissions) do
                methods.grant(svc, arn, p.principal, p.actions, p.source_account)
            end
        end
    end
    return svc
end


_M.parse_amz_date = parse_amz_date


return _M
