-- acmpca.mock.signature: the fake ACM PCA's check of a request's SigV4
-- signature, as AWS words its refusals: the Authorization header, the
-- access key and session token, the X-Amz-Date against the scope and the
-- fake's clock (five minutes either way), then the signature recomputed
-- with acmpca.sigv4 over exactly the headers the request says it signed.
--
--   local err = signature.check(svc, req, h[, service])  -- nil when it verifies, else a wire.error
--   -- svc: credentials, region (nil: any), now(); h: headers by lower-case name;
--   -- service: the scope's service name (default "acm-pca"; "sts" for acmpca.mock.sts)
--   signature.parse_amz_date("20231114T221320Z") --> 1700000000

local wire = require "acmpca.mock.wire"
local parse_time = require("acmpca.credentials").parse_time

local type, pairs, pcall, require = type, pairs, pcall, require
local fmt = string.format
local floor = math.floor
local os_date = os.date
local api_error = wire.error

local _M = { _VERSION = "0.2.0" }


local SERVICE = "acm-pca"
local MAX_SKEW = 300


-- "YYYYMMDDTHHMMSSZ" -> unix seconds, or nil (independent of the local
-- time zone: acmpca.credentials' RFC 3339 parser does the arithmetic)
local function parse_amz_date(s)
    local y, mo, d, h, mi, sec = s:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
    if not y then
        return nil
    end
    return parse_time(fmt("%s-%s-%sT%s:%s:%sZ", y, mo, d, h, mi, sec))
end
_M.parse_amz_date = parse_amz_date


local function amz_date(t)
    return os_date("!%Y%m%dT%H%M%SZ", floor(t))
end


-- Authorization -> { akid, date, region, service, signed } or nil, api_error.
local function parse_authorization(auth)
    if not auth then
        return nil, api_error(403, "MissingAuthenticationTokenException",
                              "Missing Authentication Token")
    end
    local cred, signed = auth:match(
        "^AWS4%-HMAC%-SHA256 Credential=([^,%s]+),%s*SignedHeaders=([^,%s]+),%s*Signature=(%x+)$")
    if not cred then
        return nil, api_error(403, "IncompleteSignatureException",
                              "Authorization header requires 'Credential', 'Signature' and "
                              .. "'SignedHeaders' parameters (AWS4-HMAC-SHA256)")
    end
    local akid, date, region, service, term =
        cred:match("^([^/]+)/(%d+)/([^/]+)/([^/]+)/([^/]+)$")
    if not akid or term ~= "aws4_request" then
        return nil, api_error(403, "IncompleteSignatureException",
                              "Credential is not of the form "
                              .. "<key>/<date>/<region>/<service>/aws4_request")
    end
    return { akid = akid, date = date, region = region, service = service, signed = signed }
end


-- The access key and the session token are the fake's.
local function check_identity(creds, a, h)
    local token = h["x-amz-security-token"]
    if a.akid ~= creds.access_key_id
       or (creds.session_token or token) and token ~= creds.session_token then
        return api_error(403, "UnrecognizedClientException",
                         "The security token included in the request is invalid.")
    end
end


-- X-Amz-Date is well-formed and agrees with the scope.
local function check_date(xdate, a)
    if not xdate then
        return api_error(403, "IncompleteSignatureException",
                         "Authorization header requires existence of a 'X-Amz-Date' header.")
    end
    if not parse_amz_date(xdate) then
        return api_error(403, "IncompleteSignatureException",
                         "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    end
    if xdate:sub(1, 8) ~= a.date then
        return api_error(403, "InvalidSignatureException",
                         "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                         .. "version of date from HTTP: '" .. a.date .. "' != '"
                         .. xdate:sub(1, 8) .. "', from '" .. xdate .. "'.")
    end
end


-- The scope names this service (and the fake's region, when it has one),
-- and X-Amz-Date is within five minutes of the fake's clock.
local function check_scope_and_time(svc, xdate, a, service)
    if a.service ~= service then
        return api_error(403, "InvalidSignatureException",
                         "Credential should be scoped to correct service: '" .. service .. "'. ")
    end
    if svc.region and a.region ~= svc.region then
        return api_error(403, "InvalidSignatureException",
                         "Credential should be scoped to a valid region, not '" .. a.region
                         .. "'. ")
    end
    local t, now = parse_amz_date(xdate), svc.now()
    if t < now - MAX_SKEW then
        return api_error(400, "InvalidSignatureException",
                         "Signature expired: " .. xdate .. " is now earlier than "
                         .. amz_date(now - MAX_SKEW) .. " (" .. amz_date(now) .. " - 5 min.)")
    elseif t > now + MAX_SKEW then
        return api_error(400, "InvalidSignatureException",
                         "Signature not yet current: " .. xdate .. " is still later than "
                         .. amz_date(now + MAX_SKEW) .. " (" .. amz_date(now) .. " + 5 min.)")
    end
end


-- The headers named in SignedHeaders, as acmpca.sigv4 wants them (Host,
-- the others by lower-case name, X-Amz-Date and the token left to it) ->
-- { headers =, token_signed = }, or nil and an api_error.
local function signed_headers(signed, h)
    local headers, token_signed, has_host = {}, false, false
    for name in (signed .. ";"):gmatch("([^;]*);") do
        if name == "" or name ~= name:lower() then
            return nil, api_error(403, "IncompleteSignatureException",
                                  "SignedHeaders is not a ';'-separated list of lower-case names")
        end
        local v = h[name]
        if v == nil and name ~= "host" then
            return nil, api_error(403, "InvalidSignatureException",
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
        return nil, api_error(403, "InvalidSignatureException",
                              "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    end
    return { headers = headers, token_signed = token_signed }
end


-- The Authorization header acmpca.sigv4 computes for the request, or nil.
local function expected_authorization(req, signed, creds, a, xdate, service)
    local ok, out = pcall(require("acmpca.sigv4").sign, {
        method = req.method, url = req.url, headers = signed.headers, body = req.body or "",
    }, {
        region = a.region, service = service, credentials = creds, time = xdate,
        omit_session_token = creds.session_token ~= nil and not signed.token_signed or nil,
    })
    if ok and type(out) == "table" then
        for k, v in pairs(out) do
            if type(k) == "string" and k:lower() == "authorization" then
                return v
            end
        end
    end
end


-- signature.check(svc, req, h[, service]) -> nil when the request verifies,
-- else an api_error.
function _M.check(svc, req, h, service)
    service = service or SERVICE
    local auth = h["authorization"]
    local a, e = parse_authorization(auth)
    if not a then
        return e
    end
    local creds, xdate = svc.credentials, h["x-amz-date"]
    e = check_identity(creds, a, h) or check_date(xdate, a)
        or check_scope_and_time(svc, xdate, a, service)
    if e then
        return e
    end
    local signed
    signed, e = signed_headers(a.signed, h)
    if not signed then
        return e
    end
    if expected_authorization(req, signed, creds, a, xdate, service) ~= auth then
        return api_error(403, "InvalidSignatureException",
                         "The request signature we calculated does not match the signature "
                         .. "you provided. Check your AWS Secret Access Key and signing method. "
                         .. "Consult the service documentation for details.")
    end
    return nil
end


return _M
