-- acmpca.mock.ops: the fake ACM PCA's operations, with the service's
-- semantics (the Python fake, spec/support/fake_acmpca.py, has the same):
--
--   CreatePermission, DeletePermission, PutPolicy, DeletePolicy  need the CA
--     ACTIVE and the caller's (a shared CA: AccessDeniedException)
--   ListPermissions  the caller's CA, ACTIVE, DISABLED or EXPIRED
--   DescribeCertificateAuthority  any CA, any status, shared ones too
--   GetPolicy  any CA not DELETED, shared ones too
--   ListCertificateAuthorities  the caller's CAs (SELF) or the shared ones
--     (OTHER_ACCOUNTS), every status, at most 100 a page
--
-- Every operation first finds its CA by the rule of its row in RULES
-- (InvalidArnException, ResourceNotFoundException, AccessDeniedException,
-- InvalidStateException, in that order), then acts on it.  NextTokens are
-- opaque and name the operation and what was listed.
--
--   local body, err = ops.run(svc, "GetPolicy", params)  -- err: a wire.error
--   ops.operations()  -- the names, in the model's order

local cjson = require "cjson.safe"
local json = require "acmpca.json"
local wire = require "acmpca.mock.wire"
local cas = require "acmpca.mock.cas"

local type, ipairs, require = type, ipairs, require
local min = math.min
local fmt = string.format
local api_error = wire.error
local json_decode = cjson.decode

local _M = { _VERSION = "0.2.0" }


-- the service answers at most this many CAs a page, whatever MaxResults says
local MAX_CA_PAGE = 100

local ACTIVE = { ACTIVE = true }
local LISTABLE = { ACTIVE = true, DISABLED = true, EXPIRED = true }
local NOT_DELETED = {
    CREATING = true, PENDING_CERTIFICATE = true, ACTIVE = true, DISABLED = true,
    EXPIRED = true, FAILED = true,
}

local NEEDS_ACTIVE = "; this action needs it ACTIVE"

-- how each operation finds its CA: the ARN member, whether the CA must be
-- the caller's, the statuses it may be in and what the refusal adds
local WRITE = { arn = "CertificateAuthorityArn", owned = true, states = ACTIVE,
                need = NEEDS_ACTIVE }
local POLICY_WRITE = { arn = "ResourceArn", owned = true, states = ACTIVE, need = NEEDS_ACTIVE }

local RULES = {
    CreatePermission = WRITE,
    DeletePermission = WRITE,
    ListPermissions = { arn = "CertificateAuthorityArn", owned = true, states = LISTABLE,
                        need = "; this action needs it ACTIVE, DISABLED or EXPIRED" },
    DescribeCertificateAuthority = { arn = "CertificateAuthorityArn" },
    GetPolicy = { arn = "ResourceArn", states = NOT_DELETED, need = "" },
    PutPolicy = POLICY_WRITE,
    DeletePolicy = POLICY_WRITE,
    ListCertificateAuthorities = {},
}


------------------------------------------------------------------------
-- finding the CA
------------------------------------------------------------------------

-- A CA ARN, by the client's own rule (core.parse_ca_arn, in C), loaded on
-- first use.
local function ca_arn_ok(s)
    return require("acmpca.core").parse_ca_arn(s) ~= nil
end


local function find_ca(svc, rule, params)
    local arn = params[rule.arn]
    if not ca_arn_ok(arn) then
        return nil, api_error(400, "InvalidArnException",
                              "The certificate authority ARN is not valid: " .. arn)
    end
    local ca = svc.cas[arn]
    if not ca then
        return nil, api_error(400, "ResourceNotFoundException",
                              "Could not find certificate authority " .. arn .. ".")
    end
    if rule.owned and ca.shared then
        return nil, api_error(400, "AccessDeniedException",
                              "The certificate authority " .. arn
                              .. " is not owned by the caller.")
    end
    if rule.states and not rule.states[ca.status] then
        return nil, api_error(400, "InvalidStateException",
                              "The certificate authority " .. arn .. " is in the " .. ca.status
                              .. " state" .. rule.need .. ".")
    end
    return ca
end


------------------------------------------------------------------------
-- pages
------------------------------------------------------------------------

local function token_error(op)
    return api_error(400, "InvalidNextTokenException",
                     "The token specified in the NextToken argument is not valid. "
                     .. "Use the token returned from your previous call to " .. op .. ".")
end


-- The first index of the page params.NextToken asks for (1 without one),
-- or nil and the error; key: what the token was issued for.
local function page_start(svc, op, key, token)
    if token == nil then
        return 1
    end
    local t = svc._tokens[token]
    if not t or t.op ~= op or t.key ~= key then
        return nil, token_error(op)
    end
    return t.offset
end


-- A new token for the page that starts at offset.
local function issue_token(svc, op, key, offset)
    svc._token_seq = svc._token_seq + 1
    local token = fmt("AAEAAbmockPCA%08d%s", svc._token_seq, ("x"):rep(svc._token_seq % 7))
    svc._tokens[token] = { op = op, key = key, offset = offset }
    return token
end


------------------------------------------------------------------------
-- the permission operations
------------------------------------------------------------------------

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


-- handlers.<Operation>(svc, params, ca) -> body | nil, wire.error
local handlers = {}


function handlers.CreatePermission(svc, params, ca)
    if cas.find_perm(ca, params.Principal) then
        return nil, api_error(400, "PermissionAlreadyExistsException",
                              "The designated permission has already been given to the user.")
    end
    cas.grant(ca, params.Principal, params.Actions, params.SourceAccount, svc.now())
    return "{}"
end


function handlers.DeletePermission(_, params, ca)
    local p = cas.find_perm(ca, params.Principal)
    if not p or (params.SourceAccount and p.source_account
                 and params.SourceAccount ~= p.source_account) then
        return nil, api_error(400, "ResourceNotFoundException",
                              "Could not find a permission for principal " .. params.Principal
                              .. " on certificate authority " .. ca.arn .. ".")
    end
    cas.revoke(ca, params.Principal)
    return "{}"
end


function handlers.ListPermissions(svc, params, ca)
    local op, arn = "ListPermissions", ca.arn
    local start, e = page_start(svc, op, arn, params.NextToken)
    if not start then
        return nil, e
    end
    local size = params.MaxResults or svc.page_size
    local list = {}
    for i = start, min(start + size - 1, #ca.perms) do
        local p = ca.perms[i]
        list[#list + 1] = {
            CertificateAuthorityArn = arn, CreatedAt = p.created_at, Principal = p.principal,
            SourceAccount = p.source_account, Actions = p.actions,
            Policy = policy_document(arn, p),
        }
    end
    local token = ca.perms[start + size] and issue_token(svc, op, arn, start + size) or nil
    return wire.body("ListPermissionsResponse", { NextToken = token, Permissions = list })
end


------------------------------------------------------------------------
-- the CA operations
------------------------------------------------------------------------

function handlers.ListCertificateAuthorities(svc, params)
    local op, owner = "ListCertificateAuthorities", params.ResourceOwner or "SELF"
    local start, e = page_start(svc, op, owner, params.NextToken)
    if not start then
        return nil, e
    end
    local shared = owner == "OTHER_ACCOUNTS"
    local listed = {}
    for _, arn in ipairs(svc._order) do
        local ca = svc.cas[arn]
        if ca.shared == shared then
            listed[#listed + 1] = ca
        end
    end
    local size = min(params.MaxResults or svc.page_size, MAX_CA_PAGE)
    local list = {}
    for i = start, min(start + size - 1, #listed) do
        list[#list + 1] = cas.describe(listed[i])
    end
    local token = listed[start + size] and issue_token(svc, op, owner, start + size) or nil
    return wire.body("ListCertificateAuthoritiesResponse",
                     { NextToken = token, CertificateAuthorities = list })
end


function handlers.DescribeCertificateAuthority(_, _, ca)
    return wire.body("DescribeCertificateAuthorityResponse",
                     { CertificateAuthority = cas.describe(ca) })
end


------------------------------------------------------------------------
-- resource policies
------------------------------------------------------------------------

local function no_policy(ca)
    return api_error(400, "ResourceNotFoundException",
                     "The certificate authority " .. ca.arn .. " has no attached policy.")
end


-- Why a policy text is not a resource policy, or nil: a JSON object with
-- a Statement (a list or an object) and a Version string.
local function policy_problem(text)
    local doc = json_decode(text)
    if doc == nil then
        return "not JSON"
    elseif type(doc) ~= "table" or not text:match("^%s*{") then
        return "not a JSON object"
    elseif doc.Statement == nil then
        return "no Statement"
    elseif type(doc.Statement) ~= "table" then
        return "Statement is neither a list nor an object"
    elseif type(doc.Version) ~= "string" then
        return "no Version string"
    end
end


function handlers.GetPolicy(_, _, ca)
    if not ca.policy then
        return nil, no_policy(ca)
    end
    return wire.body("GetPolicyResponse", { Policy = ca.policy })
end


function handlers.PutPolicy(_, params, ca)
    local problem = policy_problem(params.Policy)
    if problem then
        return nil, api_error(400, "InvalidPolicyException",
                              "The resource policy is invalid: " .. problem .. ".")
    end
    ca.policy = params.Policy
    return "{}"
end


function handlers.DeletePolicy(_, _, ca)
    if not ca.policy then
        return nil, no_policy(ca)
    end
    ca.policy = nil
    return "{}"
end


------------------------------------------------------------------------
-- the entry point
------------------------------------------------------------------------

local operations


-- ops.operations() -> the operations' names, in the model's order (read
-- from acmpca.model on first use).
function _M.operations()
    if not operations then
        operations = {}
        for _, op in ipairs(require("acmpca.model")._private().operations) do
            if handlers[op.name] then
                operations[#operations + 1] = op.name
            end
        end
    end
    return operations
end


function _M.known(op)
    return handlers[op] ~= nil
end


-- ops.run(svc, op, params) -> body | nil, wire.error; params validated.
function _M.run(svc, op, params)
    local rule, ca = RULES[op], nil
    if rule.arn then
        local e
        ca, e = find_ca(svc, rule, params)
        if not ca then
            return nil, e
        end
    end
    return handlers[op](svc, params, ca)
end


return _M
