-- spec/support/renewal_fixture.lua: a fake ACM PCA and a client over it,
-- and counters, for the acmpca (init_spec) and acmpca.renewal specs.

local acmpca = require "acmpca"
local mock = require "acmpca.mock"

local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local OTHER = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "99999999-8888-7777-6666-555555555555"
local ACM = "acm.amazonaws.com"
local ALL = { "IssueCertificate", "GetCertificate", "ListPermissions" }

local BAD_ARN_MSG = "ca_arn: expected arn:<partition>:acm-pca:<region>:<12-digit account>:"
    .. "certificate-authority/<id>, got \"x\""


-- svc, client over it, and the list of the client's retry sleeps.
local function setup(opts)
    opts = opts or {}
    local sleeps = {}
    local svc = mock.new{ cas = opts.cas or { [ARN] = { status = "ACTIVE" } },
                          page_size = opts.page_size }
    local client = svc:client{
        sleep = function(s) sleeps[#sleeps + 1] = s end,
        max_attempts = opts.max_attempts,
    }
    return svc, client, sleeps
end


-- calls made since the last snapshot, per operation
local function counter(svc)
    local last = { ListPermissions = 0, CreatePermission = 0, DeletePermission = 0 }
    return function()
        local d = {}
        for op, n in pairs(last) do
            d[op] = svc.calls[op] - n
            last[op] = svc.calls[op]
        end
        return d
    end
end


local function acm_actions(svc, arn)
    for _, p in ipairs(svc:permissions(arn or ARN)) do
        if p.principal == ACM then
            return p.actions
        end
    end
    return nil
end


return {
    acmpca = acmpca,
    mock = mock,
    ARN = ARN,
    OTHER = OTHER,
    ACM = ACM,
    ALL = ALL,
    BAD_ARN_MSG = BAD_ARN_MSG,
    setup = setup,
    counter = counter,
    acm_actions = acm_actions,
}
