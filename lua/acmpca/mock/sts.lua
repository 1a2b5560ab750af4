-- acmpca.mock.sts: the fake's STS, for client:caller_identity (and
-- `acmpca get-caller-identity --mock`): a form-encoded POST is STS's query
-- protocol; GetCallerIdentity, signed for the service "sts" with the fake's
-- keys (acmpca.mock.signature), answers the fake's account and
-- arn:aws:iam::<account>:user/acmpca-mock (user id AIDACKCEVSQ6C2EXAMPLE).
-- Anything else is what STS answers: MissingAction, InvalidAction (checked
-- first), and its signature errors.
--
--   local res = sts.handle(svc, req, h, request_id)  -- h: headers by lower-case name

local signature = require "acmpca.mock.signature"

local type = type
local fmt, gsub, char, tonumber = string.format, string.gsub, string.char, tonumber

local _M = { _VERSION = "0.2.0" }

--- What a form-encoded body's Content-Type starts with.
_M.CONTENT_TYPE = "application/x-www-form-urlencoded"
--- The account the fake reports when it was made without one.
_M.DEFAULT_ACCOUNT = "123456789012"
--- The user id it reports (the AWS documentation's example).
_M.USER_ID = "AIDACKCEVSQ6C2EXAMPLE"

local NS = "https://sts.amazonaws.com/doc/2011-06-15/"
-- acmpca.mock.signature's refusals, by STS's codes
local CODES = {
    UnrecognizedClientException = "InvalidClientTokenId",
    InvalidSignatureException = "SignatureDoesNotMatch",
    IncompleteSignatureException = "IncompleteSignature",
    MissingAuthenticationTokenException = "MissingAuthenticationToken",
}


local function xml_escape(s)
    return (gsub(s, "[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                ['"'] = "&quot;" }))
end


local function form_decode(body)
    local t = {}
    for pair in (type(body) == "string" and body or ""):gmatch("[^&]+") do
        local k, v = pair:match("^([^=]*)=?(.*)$")
        v = gsub(gsub(v, "+", " "), "%%(%x%x)", function(x) return char(tonumber(x, 16)) end)
        t[k] = v
    end
    return t
end


local function answer(status, body, request_id)
    return {
        status = status,
        headers = { ["content-type"] = "text/xml", ["content-length"] = fmt("%d", #body),
                    ["x-amzn-requestid"] = request_id },
        body = body,
    }
end


local function failure(status, code, message, request_id)
    local kind = status >= 500 and "Receiver" or "Sender"
    return answer(status, fmt('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code>'
        .. '<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>',
        NS, kind, code, xml_escape(message), request_id), request_id), code
end


--- sts.identity(svc) -> account, arn: who the fake's keys are.
function _M.identity(svc)
    local account = svc.account or _M.DEFAULT_ACCOUNT
    return account, "arn:aws:iam::" .. account .. ":user/acmpca-mock"
end


--- sts.action(req) -> the STS action a request names, or nil.
function _M.action(req)
    local action = form_decode(req.body).Action
    return action ~= "" and action or nil
end


--- sts.handle(svc, req, h, request_id) -> res, code: STS's answer to req
-- (code: the error's, nil on success).
function _M.handle(svc, req, h, request_id)
    local action = _M.action(req)
    if action == nil or action == "" then
        return failure(400, "MissingAction", "Missing Action", request_id)
    elseif action ~= "GetCallerIdentity" then
        return failure(400, "InvalidAction", fmt("Could not find operation %s for version "
            .. "2011-06-15", action:sub(1, 64)), request_id)
    end
    local e = signature.check(svc, req, h, "sts")
    if e then
        return failure(e.status == 400 and 400 or 403, CODES[e.code] or e.code, e.message,
                       request_id)
    end
    local account, arn = _M.identity(svc)
    return answer(200, fmt('<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult>'
        .. '<Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult>'
        .. '<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>'
        .. '</GetCallerIdentityResponse>', NS, arn, _M.USER_ID, account,
        request_id), request_id)
end


return _M
