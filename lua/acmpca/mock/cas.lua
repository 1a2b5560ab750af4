-- acmpca.mock.cas: the fake ACM PCA's certificate authorities: the record
-- each CA keeps (status, certificate, subject, permissions, resource
-- policy, whose it is), the seeding options that make one, its status
-- changes (active_at included) and its description in the model's terms.
--
--   local ca, why = cas.new(arn, opts, now, account)
--   cas.set_status(ca, status, now)   -- LastStateChangeAt, certificate
--   cas.tick(ca, now)                 -- has active_at come?
--   cas.describe(ca)                  -- the CertificateAuthority shape, wire names
--
-- Times are epoch seconds; a year is 365 days.  A CA in CREATING or
-- PENDING_CERTIFICATE has no certificate: no Serial, NotBefore, NotAfter.
-- The Python fake (spec/support/fake_acmpca.py) keeps the same records.

local type, pairs, ipairs, tostring, require = type, pairs, ipairs, tostring, require
local concat, insert, remove, sort = table.concat, table.insert, table.remove, table.sort

local _M = { _VERSION = "0.2.0" }


local DAY = 86400
local YEAR = 365 * DAY
local RESTORABLE_FOR = 30 * DAY

local VALIDITY = { ROOT = 10 * YEAR, SUBORDINATE = 5 * YEAR }
local KEY_ALGORITHM = "RSA_2048"
local SIGNING_ALGORITHM = "SHA256WITHRSA"
local KEY_STORAGE = "FIPS_140_2_LEVEL_3_OR_HIGHER"
local USAGE_MODE = "GENERAL_PURPOSE"

local STATUSES = {
    CREATING = true, PENDING_CERTIFICATE = true, ACTIVE = true, DELETED = true,
    DISABLED = true, EXPIRED = true, FAILED = true,
}
_M.STATUSES = STATUSES

-- no certificate yet
local NO_CERT = { CREATING = true, PENDING_CERTIFICATE = true }

local FAILURE_REASONS = { "REQUEST_TIMED_OUT", "UNSUPPORTED_ALGORITHM", "OTHER" }

-- the seeding options (Lua names; the Python fake's JSON uses the same)
local OPTIONS = {
    status = true, type = true, common_name = true, organization = true,
    not_before = true, not_after = true, created_at = true, failure_reason = true,
    policy = true, permissions = true, shared = true, active_at = true,
}


local function copy_list(t)
    local out = {}
    for i = 1, #t do
        out[i] = t[i]
    end
    return out
end
_M.copy_list = copy_list


-- "arn:<p>:acm-pca:<region>:<account>:certificate-authority/<id>" -> account, id.
-- Lenient: the fake holds whatever string it is given (the client is the one
-- that refuses ARNs that are not a CA's).
local function arn_parts(arn)
    local account, resource = arn:match("^arn:[^:]*:[^:]*:[^:]*:([^:]*):(.*)$")
    local id = resource and (resource:match("^certificate%-authority/(.*)$") or resource) or arn
    return account ~= "" and account or nil, id
end


------------------------------------------------------------------------
-- seeding options
------------------------------------------------------------------------

local function status_list()
    local names = {}
    for s in pairs(STATUSES) do
        names[#names + 1] = s
    end
    sort(names)
    return concat(names, ", ")
end


local function is_time(v)
    return type(v) == "number" and v == v and v > -1 / 0 and v < 1 / 0
end


local function check_times(o)
    for _, k in ipairs{ "created_at", "not_before", "not_after", "active_at" } do
        if o[k] ~= nil and not is_time(o[k]) then
            return k .. ": expected epoch seconds, got " .. type(o[k])
        end
    end
end


local function check_strings(o)
    for _, k in ipairs{ "common_name", "organization" } do
        if o[k] ~= nil and type(o[k]) ~= "string" then
            return k .. ": expected a string, got " .. type(o[k])
        end
    end
    if o.policy ~= nil and type(o.policy) ~= "string" then
        return "policy: expected a JSON text, got " .. type(o.policy)
    end
end


local function check_failure(o, status)
    local reason = o.failure_reason
    if reason == nil then
        return nil
    elseif status ~= "FAILED" then
        return "failure_reason: only for a FAILED CA"
    end
    for _, r in ipairs(FAILURE_REASONS) do
        if r == reason then
            return nil
        end
    end
    return "failure_reason: expected one of " .. concat(FAILURE_REASONS, ", ") .. ", got "
        .. tostring(reason)
end


local function check_permissions(list)
    if list == nil then
        return nil
    elseif type(list) ~= "table" then
        return "permissions: expected a list of { principal =, actions = [, source_account =] }"
    end
    for i, p in ipairs(list) do
        if type(p) ~= "table" or type(p.principal) ~= "string" or type(p.actions) ~= "table"
           or (p.source_account ~= nil and type(p.source_account) ~= "string") then
            return "permissions[" .. i .. "]: expected { principal =, actions = "
                .. "[, source_account =] }"
        end
    end
end


-- Returns nil when o holds good seeding options, else why not.
local function check(o)
    for k in pairs(o) do
        if not OPTIONS[k] then
            return "unknown option " .. tostring(k)
        end
    end
    local status = o.status or "ACTIVE"
    if not STATUSES[status] then
        return "status: expected one of " .. status_list() .. ", got " .. tostring(status)
    end
    if o.type ~= nil and not VALIDITY[o.type] then
        return "type: expected ROOT or SUBORDINATE, got " .. tostring(o.type)
    end
    local why = check_times(o) or check_strings(o) or check_failure(o, status)
        or check_permissions(o.permissions)
    if why then
        return why
    end
    if o.shared ~= nil and type(o.shared) ~= "boolean" then
        return "shared: expected a boolean, got " .. type(o.shared)
    end
    if o.active_at ~= nil and not NO_CERT[status] then
        return "active_at: only for a CA seeded CREATING or PENDING_CERTIFICATE"
    end
end


-- "ACTIVE, CREATING, ..." for the service's own argument checks
_M.status_list = status_list


------------------------------------------------------------------------
-- the record
------------------------------------------------------------------------

-- The serial: the first 16 bytes of the ARN's SHA-256, as the Python fake's.
local function serial_of(arn)
    local hex = require("acmpca.sigv4").sha256_hex(arn):sub(1, 32)
    return (hex:gsub("(%x%x)", "%1:"):sub(1, -2))
end


-- The CA gets its certificate at t: the serial, and NotBefore/NotAfter
-- unless they were seeded.
local function issue(ca, t)
    ca.serial = ca.serial or serial_of(ca.arn)
    ca.not_before = ca.not_before or t
    ca.not_after = ca.not_after or t + VALIDITY[ca.type]
end


-- cas.new(arn, opts, now, account) -> record | nil, why.  opts: the
-- seeding options (the permissions are the caller's to grant); account: the
-- caller's, or nil.  With an account, a CA is shared (not the caller's)
-- exactly when its ARN names another (a shared option must agree); without
-- one, when seeded shared.
function _M.new(arn, o, now, account)
    local why = check(o)
    if why then
        return nil, why
    end
    local owner, id = arn_parts(arn)
    if account ~= nil and o.shared ~= nil and o.shared ~= (owner ~= account) then
        return nil, "shared: the caller's account is " .. account
            .. ": a CA is shared exactly when its ARN names another account"
    end
    local created = o.created_at or now
    local ca = {
        arn = arn, owner = owner,
        shared = o.shared == true or account ~= nil and owner ~= account,
        type = o.type or "SUBORDINATE", status = o.status or "ACTIVE",
        created_at = created, last_change = created,
        common_name = o.common_name or id:sub(1, 8), organization = o.organization,
        not_before = o.not_before, not_after = o.not_after,
        failure_reason = o.failure_reason, policy = o.policy, active_at = o.active_at,
        perms = {},
    }
    if not NO_CERT[ca.status] then
        issue(ca, created) -- NotBefore = created, NotAfter = created + validity
    end
    if ca.status == "FAILED" then
        ca.failure_reason = ca.failure_reason or "OTHER"
    end
    return ca
end


-- A status change at now: LastStateChangeAt, the certificate of a CA that
-- had none, the failure reason of a FAILED one.
function _M.set_status(ca, status, now)
    if status == ca.status then
        return
    end
    if NO_CERT[ca.status] and not NO_CERT[status] then
        issue(ca, now)
    end
    ca.status, ca.last_change = status, now
    if status == "FAILED" then
        ca.failure_reason = ca.failure_reason or "OTHER"
    end
end


-- active_at: a CA still waiting for its certificate becomes ACTIVE at t,
-- seen from the first request at or after t.  Returns true once done.
function _M.tick(ca, now)
    local t = ca.active_at
    if not t then
        return true
    elseif not NO_CERT[ca.status] then
        ca.active_at = nil
        return true
    elseif now < t then
        return false
    end
    issue(ca, t)
    ca.status, ca.last_change, ca.active_at = "ACTIVE", t, nil
    return true
end


-- The CA as DescribeCertificateAuthority and ListCertificateAuthorities
-- answer it: a CertificateAuthority value keyed by wire names.
function _M.describe(ca)
    local cert = not NO_CERT[ca.status]
    return {
        Arn = ca.arn,
        OwnerAccount = ca.owner,
        CreatedAt = ca.created_at,
        LastStateChangeAt = ca.last_change,
        Type = ca.type,
        Serial = cert and ca.serial or nil,
        Status = ca.status,
        NotBefore = cert and ca.not_before or nil,
        NotAfter = cert and ca.not_after or nil,
        FailureReason = ca.status == "FAILED" and ca.failure_reason or nil,
        CertificateAuthorityConfiguration = {
            KeyAlgorithm = KEY_ALGORITHM,
            SigningAlgorithm = SIGNING_ALGORITHM,
            Subject = { CommonName = ca.common_name, Organization = ca.organization },
        },
        RestorableUntil = ca.status == "DELETED" and ca.last_change + RESTORABLE_FOR or nil,
        KeyStorageSecurityStandard = KEY_STORAGE,
        UsageMode = USAGE_MODE,
    }
end


------------------------------------------------------------------------
-- permissions
------------------------------------------------------------------------

function _M.find_perm(ca, principal)
    for i, p in ipairs(ca.perms) do
        if p.principal == principal then
            return p, i
        end
    end
    return nil
end


-- Add principal's permission, or replace its actions and source account.
function _M.grant(ca, principal, actions, source_account, created_at)
    local p = _M.find_perm(ca, principal)
    if p then
        p.actions, p.source_account = copy_list(actions), source_account
        p.created_at = created_at or p.created_at
    else
        insert(ca.perms, { principal = principal, actions = copy_list(actions),
                           source_account = source_account, created_at = created_at })
    end
end


function _M.revoke(ca, principal)
    local _, i = _M.find_perm(ca, principal)
    if i then
        remove(ca.perms, i)
        return true
    end
    return false
end


-- The permissions as the helpers hand them out (copies, creation order).
function _M.permissions(ca)
    local out = {}
    for i, p in ipairs(ca.perms) do
        out[i] = {
            certificate_authority_arn = ca.arn, principal = p.principal,
            source_account = p.source_account, actions = copy_list(p.actions),
            created_at = p.created_at,
        }
    end
    return out
end


return _M
