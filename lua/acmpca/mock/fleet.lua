-- acmpca.mock.fleet: the seeds of the fake ACM PCA's ready-made fleets, as
-- lists of { arn = ..., <seeding options> } that mock.new takes as `cas`.
-- The Python fake (spec/support/fake_acmpca.py, --demo and --fleet N) seeds
-- the same CAs, with the same ARNs, in the same order.
--
--   fleet.demo(start)        the demo fleet, its times relative to start
--   fleet.generated(n)       n ACTIVE SUBORDINATE CAs for benchmarks
--
-- Both are for caller account 111122223333 in us-east-1.

local ipairs, pairs = ipairs, pairs
local fmt = string.format

local _M = { _VERSION = "0.2.0" }


local DAY = 86400
local YEAR = 365 * DAY

local ACCOUNT = "111122223333"
local PARTNER = "444455556666"
local REGION = "us-east-1"
_M.ACCOUNT, _M.REGION = ACCOUNT, REGION

local ACM = "acm.amazonaws.com"
local COMPLETE = { "IssueCertificate", "GetCertificate", "ListPermissions" }
local PARTIAL = { "IssueCertificate", "GetCertificate" }


local function arn(account, id)
    return fmt("arn:aws:acm-pca:%s:%s:certificate-authority/%s", REGION, account, id)
end


local function acm(actions)
    return { { principal = ACM, actions = actions } }
end


-- The demo fleet, in listing order: uuid, account, seed (times relative).
local DEMO = {
    { 1, ACCOUNT, { common_name = "root-ca.example.com", type = "ROOT" } },
    { 2, ACCOUNT, { common_name = "issuing-prod.example.com", permissions = COMPLETE } },
    { 3, ACCOUNT, { common_name = "issuing-staging.example.com", permissions = PARTIAL } },
    -- expires soon, and ACM cannot renew what it issues
    { 4, ACCOUNT, { common_name = "issuing-dev.example.com", not_after = 20 * DAY } },
    { 5, ACCOUNT, { common_name = "legacy.example.com", status = "DISABLED",
                    permissions = COMPLETE } },
    { 6, ACCOUNT, { common_name = "new-team.example.com", status = "PENDING_CERTIFICATE" } },
    { 7, ACCOUNT, { common_name = "old.example.com", status = "EXPIRED",
                    created_at = -5 * YEAR - 30 * DAY, not_after = -30 * DAY } },
    { 8, ACCOUNT, { common_name = "deleted.example.com", status = "DELETED" } },
    -- shared with the caller by its owner (ResourceOwner=OTHER_ACCOUNTS)
    { 9, PARTNER, { common_name = "partner-issuing.example.com" } },
}

local RELATIVE = { "created_at", "not_before", "not_after", "active_at" }


function _M.demo(start)
    local out = {}
    for i, row in ipairs(DEMO) do
        local seed = { arn = arn(row[2], fmt("de000000-0000-4000-8000-%012d", row[1])) }
        for k, v in pairs(row[3]) do
            seed[k] = v
        end
        for _, k in ipairs(RELATIVE) do
            if seed[k] then
                seed[k] = start + seed[k]
            end
        end
        if seed.permissions then
            seed.permissions = acm(seed.permissions)
        end
        out[i] = seed
    end
    return out
end


-- n ACTIVE SUBORDINATE CAs fleet-00001.example.com ...: ACM holds every
-- action on each third one (3, 6, ...), IssueCertificate and GetCertificate
-- on the one after each third (1, 4, 7, ...), nothing on the rest.
function _M.generated(n)
    local out = {}
    for i = 1, n do
        local seed = {
            arn = arn(ACCOUNT, fmt("f1ee0000-0000-4000-8000-%012d", i)),
            common_name = fmt("fleet-%05d.example.com", i),
        }
        if i % 3 == 0 then
            seed.permissions = acm(COMPLETE)
        elseif i % 3 == 1 then
            seed.permissions = acm(PARTIAL)
        end
        out[i] = seed
    end
    return out
end


return _M
