-- End-to-end specs of the CA-level operations: acmpca.client over real HTTP
-- and HTTPS against the local fake ACM PCA service (ListCertificateAuthorities,
-- DescribeCertificateAuthority, GetPolicy, PutPolicy, DeletePolicy), which
-- checks every SigV4 signature independently with botocore.

local fake = require "support.fake_service"
local cjson = require "cjson.safe"
local socket = require "socket"

local floor = math.floor

local ACCOUNT = "123456789012"
local OTHER = "444455556666"
local PREFIX = "arn:aws:acm-pca:us-east-1:" .. ACCOUNT .. ":certificate-authority/"
local ROOT = PREFIX .. "aaaaaaaa-1111-4000-8000-000000000001"
local SUB = PREFIX .. "bbbbbbbb-2222-4000-8000-000000000002"
local PENDING = PREFIX .. "cccccccc-3333-4000-8000-000000000003"
local DISABLED = PREFIX .. "dddddddd-4444-4000-8000-000000000004"
local DELETED = PREFIX .. "eeeeeeee-5555-4000-8000-000000000005"
local FAILED = PREFIX .. "ffffffff-6666-4000-8000-000000000006"
local EXPIRED = PREFIX .. "12345678-7777-4000-8000-000000000007"
local LATE = PREFIX .. "87654321-8888-4000-8000-000000000008"
local UNKNOWN = PREFIX .. "99999999-9999-4000-8000-000000000009"
local SHARED = "arn:aws:acm-pca:us-east-1:" .. OTHER
    .. ":certificate-authority/0a0a0a0a-0000-4000-8000-00000000000a"

local ACM = "acm.amazonaws.com"
local ALL_ACTIONS = { "IssueCertificate", "GetCertificate", "ListPermissions" }
local SIGNED = "content-type;host;x-amz-date;x-amz-target"
local DAY = 86400
local YEAR = 365 * DAY
local T0 = 1700000000

local function policy_for(arn, sid)
    return assert(cjson.encode{
        Version = "2012-10-17",
        Statement = { { Sid = sid, Effect = "Allow", Principal = { AWS = OTHER },
                        Action = { "acm-pca:IssueCertificate" }, Resource = arn } },
    })
end

local ROOT_POLICY = policy_for(ROOT, "seeded")
local SHARED_POLICY = policy_for(SHARED, "owner")

-- the seeded CAs, in list order; SHARED is another account's
local SEEDS = {
    { arn = ROOT, type = "ROOT", common_name = "root.example.com",
      organization = "Example Corp", created_at = T0, policy = ROOT_POLICY },
    { arn = SUB, created_at = T0 + 100,
      permissions = { { principal = ACM, actions = ALL_ACTIONS } } },
    { arn = PENDING, status = "PENDING_CERTIFICATE", created_at = T0 + 200 },
    { arn = DISABLED, status = "DISABLED", created_at = T0 + 300 },
    { arn = DELETED, status = "DELETED", created_at = T0 + 400 },
    { arn = FAILED, status = "FAILED", failure_reason = "UNSUPPORTED_ALGORITHM" },
    { arn = EXPIRED, status = "EXPIRED", not_before = T0, not_after = T0 + DAY },
    { arn = SHARED, common_name = "partner.example.com", policy = SHARED_POLICY },
}
local OWN = { ROOT, SUB, PENDING, DISABLED, DELETED, FAILED, EXPIRED }


local function new_client(svc, opts)
    local client = require "acmpca.client"
    local o = {
        endpoint = svc.url, region = "us-east-1", credentials = fake.credentials,
        ca_file = svc.ca_file, timeout = 10, connect_timeout = 5,
        sleep = function() end,
    }
    for k, v in pairs(opts or {}) do
        o[k] = v
    end
    return client.new(o)
end


-- Every request since the last reset was verified by botocore (a rejected
-- one has no signed_headers) and carried the target of op; returns them.
local function assert_signed(svc, op, n)
    local recs = svc:requests()
    if n then
        assert.equal(n, #recs)
    end
    for _, r in ipairs(recs) do
        assert.equal("ACMPrivateCA." .. op, fake.header(r, "X-Amz-Target"))
        assert.equal(SIGNED, r.signed_headers)
        assert.equal(svc.tls, r.tls)
    end
    return recs
end


-- Pages through ListCertificateAuthorities; returns the ARNs and page sizes.
local function list_all(c, args)
    local arns, sizes, token = {}, {}, nil
    repeat
        local a = { next_token = token }
        for k, v in pairs(args or {}) do
            a[k] = v
        end
        local res = assert(c:list_certificate_authorities(a))
        sizes[#sizes + 1] = #res.certificate_authorities
        for _, ca in ipairs(res.certificate_authorities) do
            arns[#arns + 1] = ca.arn
        end
        token = res.next_token
    until token == nil
    return arns, sizes
end


-- call() fails with an error object for a 400 the client did not retry:
-- one request, verified by the fake; returns the error.
local function expect_error(svc, code, call)
    local before = #svc:requests()
    local res, err = call()
    assert.is_nil(res)
    assert.equal(code, err.code)
    assert.is_string(err.message)
    assert.equal(400, err.status)
    assert.is_false(err.retryable)
    local recs = svc:requests()
    assert.equal(before + 1, #recs)
    assert.equal(recs[#recs].request_id, err.request_id)
    assert.equal(code, recs[#recs].code)
    assert.equal(SIGNED, recs[#recs].signed_headers)
    return err
end


local function describe_ca(c, arn)
    return assert(c:describe_certificate_authority{ ca_arn = arn }).certificate_authority
end


for _, scheme in ipairs{ "http", "https" } do
describe("acmpca fleet end to end over " .. scheme, function()
    local tls = scheme == "https"
    local svc, fleet

    lazy_setup(function()
        local err
        svc, err = fake.start{ cas = SEEDS, account = ACCOUNT, tls = tls }
        assert(svc, err)
        fleet, err = fake.start{ fleet = 250, tls = tls,
                                 cas = { { arn = UNKNOWN, shared = true } } }
        assert(fleet, err)
    end)

    lazy_teardown(function()
        if svc then svc:stop() end
        if fleet then fleet:stop() end
    end)

    before_each(function()
        svc:reset()
        fleet:reset()
    end)


    describe("list_certificate_authorities", function()
        local FLEET = {}

        lazy_setup(function()
            for i, ca in ipairs(fleet:cas()) do
                FLEET[i] = ca.arn
            end
            assert.equal(251, #FLEET)
            FLEET[251] = nil                    -- the shared one, seeded last
        end)

        it("pages 250 CAs seven at a time, in seeding order", function()
            local c = new_client(fleet)
            local arns, sizes = list_all(c, { max_results = 7 })
            assert.same(FLEET, arns)
            assert.equal(36, #sizes)
            for i = 1, 35 do
                assert.equal(7, sizes[i])
            end
            assert.equal(5, sizes[36])
            local recs = assert_signed(fleet, "ListCertificateAuthorities", 36)
            assert.same({ MaxResults = 7 }, cjson.decode(recs[1].body))
            assert.is_string(cjson.decode(recs[2].body).NextToken)
            assert.equal(recs[1].connection_id, recs[36].connection_id)
            c:close()
        end)

        it("caps a page at 100 whatever max_results says", function()
            local c = new_client(fleet)
            for _, n in ipairs{ 100, 1000 } do
                fleet:reset()
                local arns, sizes = list_all(c, { max_results = n })
                assert.same(FLEET, arns)
                assert.same({ 100, 100, 50 }, sizes)
                local recs = assert_signed(fleet, "ListCertificateAuthorities", 3)
                assert.equal(n, cjson.decode(recs[3].body).MaxResults)
            end
            c:close()
        end)

        it("answers 100 by default, NextToken first on the wire", function()
            local c = new_client(fleet)
            local res = assert(c:list_certificate_authorities{})
            assert.equal(100, #res.certificate_authorities)
            assert.is_string(res.next_token)
            local rec = assert_signed(fleet, "ListCertificateAuthorities", 1)[1]
            assert.equal("{}", rec.body)
            assert.matches('^{"NextToken": ?"[^"]+", ?"CertificateAuthorities": ?%[', rec.response)
            local first = res.certificate_authorities[1]
            assert.equal("fleet-00001.example.com",
                         first.certificate_authority_configuration.subject.common_name)
            assert.equal("ACTIVE", first.status)
            assert.equal("SUBORDINATE", first.type)
            c:close()
        end)

        it("gives ACM partial, no and complete permissions in turn", function()
            local c = new_client(fleet)
            for i, want in ipairs{ 2, 0, 3, 2 } do
                local perms = assert(c:list_permissions{ ca_arn = FLEET[i] }).permissions
                assert.equal(want == 0 and 0 or 1, #perms, FLEET[i])
                if want > 0 then
                    assert.equal(ACM, perms[1].principal)
                    assert.equal(want, #perms[1].actions)
                end
            end
            assert_signed(fleet, "ListPermissions", 4)
            c:close()
        end)

        it("lists a CA seeded shared = true under OTHER_ACCOUNTS only", function()
            local c = new_client(fleet)
            local res = assert(c:list_certificate_authorities{ resource_owner = "OTHER_ACCOUNTS" })
            assert.equal(1, #res.certificate_authorities)
            assert.equal(UNKNOWN, res.certificate_authorities[1].arn)
            assert.is_nil(res.next_token)
            c:close()
        end)

        it("lists the caller's CAs (every status) under SELF", function()
            local c = new_client(svc)
            assert.same(OWN, (list_all(c, {})))
            assert.same(OWN, (list_all(c, { resource_owner = "SELF" })))
            local res = assert(c:list_certificate_authorities{ max_results = 5 })
            assert.equal("DELETED", res.certificate_authorities[5].status)
            assert.equal(T0 + 400 + 30 * DAY, res.certificate_authorities[5].restorable_until)
            assert_signed(svc, "ListCertificateAuthorities", 3)
            c:close()
        end)

        it("lists another account's CA under OTHER_ACCOUNTS", function()
            local c = new_client(svc)
            local res = assert(c:list_certificate_authorities{ resource_owner = "OTHER_ACCOUNTS" })
            assert.equal(1, #res.certificate_authorities)
            local ca = res.certificate_authorities[1]
            assert.equal(SHARED, ca.arn)
            assert.equal(OTHER, ca.owner_account)
            assert.same({ ResourceOwner = "OTHER_ACCOUNTS" },
                        cjson.decode(assert_signed(svc, "ListCertificateAuthorities", 1)[1].body))
            assert.same(ca, describe_ca(c, SHARED))     -- described as well
            c:close()
        end)

        it("rejects a token never issued, or issued for another owner or operation", function()
            local c = new_client(fleet)
            local page = assert(c:list_certificate_authorities{ max_results = 10 })
            fleet:reset()                       -- forgets the tokens it issued
            expect_error(fleet, "InvalidNextTokenException", function()
                return c:list_certificate_authorities{ next_token = page.next_token }
            end)
            page = assert(c:list_certificate_authorities{ max_results = 10 })
            local err = expect_error(fleet, "InvalidNextTokenException", function()
                return c:list_certificate_authorities{ resource_owner = "OTHER_ACCOUNTS",
                                                       next_token = page.next_token }
            end)
            assert.matches("ListCertificateAuthorities", err.message, 1, true)
            c:close()

            c = new_client(svc)
            for i = 1, 2 do
                assert(c:create_permission{ ca_arn = ROOT, principal = "p" .. i .. ".example.com",
                                            actions = { "GetCertificate" } })
            end
            local perms = assert(c:list_permissions{ ca_arn = ROOT, max_results = 1 })
            expect_error(svc, "InvalidNextTokenException", function()
                return c:list_certificate_authorities{ next_token = perms.next_token }
            end)
            c:close()
        end)

        it("raises on a bad resource_owner and sends nothing", function()
            local c = new_client(svc)
            local ok, msg = pcall(c.list_certificate_authorities, c, { resource_owner = "ALL" })
            assert.is_false(ok)
            assert.matches("resource_owner", msg, 1, true)
            assert.equal(0, svc:calls().total)
            c:close()
        end)
    end)


    describe("describe_certificate_authority", function()
        it("answers the nested record with epoch timestamps", function()
            local c = new_client(svc)
            local ca = describe_ca(c, ROOT)
            assert.matches("^%x%x:%x%x:", ca.serial)
            assert.same({
                arn = ROOT, owner_account = ACCOUNT, created_at = T0, last_state_change_at = T0,
                type = "ROOT", serial = ca.serial, status = "ACTIVE",
                not_before = T0, not_after = T0 + 10 * YEAR,
                certificate_authority_configuration = {
                    key_algorithm = "RSA_2048", signing_algorithm = "SHA256WITHRSA",
                    subject = { common_name = "root.example.com", organization = "Example Corp" },
                },
                key_storage_security_standard = "FIPS_140_2_LEVEL_3_OR_HIGHER",
                usage_mode = "GENERAL_PURPOSE",
            }, ca)
            assert.equal("number", type(ca.created_at))
            local rec = assert_signed(svc, "DescribeCertificateAuthority", 1)[1]
            assert.same({ CertificateAuthorityArn = ROOT }, cjson.decode(rec.body))
            c:close()
        end)

        it("answers members in the model's order", function()
            local c = new_client(svc)
            describe_ca(c, ROOT)
            local wire = svc:last_request().response
            local at = 0
            for _, name in ipairs{ "CertificateAuthority", "Arn", "OwnerAccount", "CreatedAt",
                                   "LastStateChangeAt", "Type", "Serial", "Status", "NotBefore",
                                   "NotAfter", "CertificateAuthorityConfiguration",
                                   "KeyAlgorithm", "SigningAlgorithm", "Subject",
                                   "Organization", "CommonName", "KeyStorageSecurityStandard",
                                   "UsageMode" } do
                local pos = wire:find('"' .. name .. '"', 1, true)
                assert.truthy(pos and pos > at, name)
                at = pos
            end
            c:close()
        end)

        it("defaults a SUBORDINATE CA's name and validity", function()
            local c = new_client(svc)
            local ca = describe_ca(c, SUB)
            assert.equal("SUBORDINATE", ca.type)
            assert.equal("bbbbbbbb", ca.certificate_authority_configuration.subject.common_name)
            assert.is_nil(ca.certificate_authority_configuration.subject.organization)
            assert.equal(T0 + 100, ca.not_before)
            assert.equal(T0 + 100 + 5 * YEAR, ca.not_after)
            ca = describe_ca(c, EXPIRED)
            assert.equal("EXPIRED", ca.status)
            assert.equal(T0 + DAY, ca.not_after)
            c:close()
        end)

        it("leaves out the certificate of a PENDING_CERTIFICATE CA", function()
            local c = new_client(svc)
            local ca = describe_ca(c, PENDING)
            assert.equal("PENDING_CERTIFICATE", ca.status)
            assert.equal(T0 + 200, ca.created_at)
            assert.is_nil(ca.serial)
            assert.is_nil(ca.not_before)
            assert.is_nil(ca.not_after)
            assert.is_nil(ca.restorable_until)
            assert.is_table(ca.certificate_authority_configuration)
            c:close()
        end)

        it("gives a DELETED CA RestorableUntil and a FAILED one its reason", function()
            local c = new_client(svc)
            local ca = describe_ca(c, DELETED)
            assert.equal("DELETED", ca.status)
            assert.equal(ca.last_state_change_at + 30 * DAY, ca.restorable_until)
            assert.is_nil(ca.failure_reason)
            ca = describe_ca(c, FAILED)
            assert.equal("UNSUPPORTED_ALGORITHM", ca.failure_reason)
            assert.is_nil(ca.restorable_until)
            assert.is_nil(describe_ca(c, ROOT).failure_reason)
            assert_signed(svc, "DescribeCertificateAuthority", 3)
            c:close()
        end)

        it("reports an unknown CA as ResourceNotFoundException", function()
            local c = new_client(svc)
            expect_error(svc, "ResourceNotFoundException", function()
                return c:describe_certificate_authority{ ca_arn = UNKNOWN }
            end)
            c:close()
        end)
    end)


    describe("policies", function()
        local POLICY = policy_for(SUB, "put")

        it("puts, gets and deletes a policy", function()
            local c = new_client(svc)
            assert.is_true(c:put_policy{ resource_arn = SUB, policy = POLICY })
            assert.equal(POLICY, svc:policy(SUB))
            assert.same({ policy = POLICY }, assert(c:get_policy{ resource_arn = SUB }))
            assert.is_true(c:delete_policy{ resource_arn = SUB })
            assert.is_nil(svc:policy(SUB))
            local recs = svc:requests()
            assert.equal(3, #recs)
            for i, op in ipairs{ "PutPolicy", "GetPolicy", "DeletePolicy" } do
                assert.equal("ACMPrivateCA." .. op, fake.header(recs[i], "X-Amz-Target"))
                assert.equal(SIGNED, recs[i].signed_headers)
                assert.equal(200, recs[i].status)
            end
            assert.same({ ResourceArn = SUB, Policy = POLICY }, cjson.decode(recs[1].body))
            assert.equal("{}", recs[1].response)
            c:close()
        end)

        it("answers a seeded policy, also of another account's CA", function()
            local c = new_client(svc)
            assert.equal(ROOT_POLICY, assert(c:get_policy{ resource_arn = ROOT }).policy)
            assert.equal(SHARED_POLICY, assert(c:get_policy{ resource_arn = SHARED }).policy)
            assert_signed(svc, "GetPolicy", 2)
            c:close()
        end)

        it("reports a CA without a policy as ResourceNotFoundException", function()
            local c = new_client(svc)
            for _, case in ipairs{
                { function() return c:get_policy{ resource_arn = SUB } end,
                  "has no attached policy" },
                { function() return c:delete_policy{ resource_arn = SUB } end,
                  "has no attached policy" },
                { function() return c:get_policy{ resource_arn = UNKNOWN } end,
                  "Could not find certificate authority" },
            } do
                local err = expect_error(svc, "ResourceNotFoundException", case[1])
                assert.matches(case[2], err.message, 1, true)
            end
            c:close()
        end)

        for name, text in pairs{
            ["not JSON"] = "Version: 2012-10-17",
            ["a list"] = "[]",
            ["without Statement"] = '{"Version": "2012-10-17"}',
            ["with a string Statement"] = '{"Version": "2012-10-17", "Statement": "all"}',
            ["without Version"] = '{"Statement": []}',
            ["with a number Version"] = '{"Version": 2012, "Statement": {}}',
        } do
            it("rejects a policy " .. name .. " as InvalidPolicyException", function()
                local c = new_client(svc)
                local err = expect_error(svc, "InvalidPolicyException", function()
                    return c:put_policy{ resource_arn = SUB, policy = text }
                end)
                assert.matches("^The resource policy is invalid: ", err.message)
                assert.equal("PutPolicy", err.operation)
                assert.is_nil(svc:policy(SUB))
                c:close()
            end)
        end

        it("takes a Statement object as well as a list", function()
            local c = new_client(svc)
            local text = '{"Version": "2012-10-17", "Statement": {"Effect": "Deny"}}'
            assert.is_true(c:put_policy{ resource_arn = SUB, policy = text })
            assert.equal(text, assert(c:get_policy{ resource_arn = SUB }).policy)
            c:close()
        end)

        it("needs an ACTIVE CA to put or delete, any but DELETED to get", function()
            local c = new_client(svc)
            svc:add_ca(DISABLED, { status = "DISABLED", policy = POLICY })
            local err = expect_error(svc, "InvalidStateException", function()
                return c:put_policy{ resource_arn = DISABLED, policy = POLICY }
            end)
            assert.matches("is in the DISABLED state", err.message, 1, true)
            assert.equal(POLICY, assert(c:get_policy{ resource_arn = DISABLED }).policy)
            expect_error(svc, "InvalidStateException", function()
                return c:delete_policy{ resource_arn = PENDING }
            end)
            err = expect_error(svc, "InvalidStateException", function()
                return c:get_policy{ resource_arn = DELETED }
            end)
            assert.matches("is in the DELETED state", err.message, 1, true)
            c:close()
        end)

        it("denies writes to another account's CA", function()
            local c = new_client(svc)
            for _, call in ipairs{
                function() return c:put_policy{ resource_arn = SHARED, policy = POLICY } end,
                function() return c:delete_policy{ resource_arn = SHARED } end,
                function() return c:create_permission{ ca_arn = SHARED, principal = ACM,
                                                       actions = ALL_ACTIONS } end,
                function() return c:list_permissions{ ca_arn = SHARED } end,
                function() return c:delete_permission{ ca_arn = SHARED, principal = ACM } end,
            } do
                local err = expect_error(svc, "AccessDeniedException", call)
                assert.matches("is not owned by the caller", err.message, 1, true)
            end
            assert.equal(SHARED_POLICY, svc:policy(SHARED))
            c:close()
        end)
    end)


    describe("seeded state", function()
        it("lists permissions while DISABLED or EXPIRED, not while PENDING", function()
            local c = new_client(svc)
            assert.same({}, assert(c:list_permissions{ ca_arn = DISABLED }).permissions)
            assert.same({}, assert(c:list_permissions{ ca_arn = EXPIRED }).permissions)
            local perms = assert(c:list_permissions{ ca_arn = SUB }).permissions
            assert.equal(1, #perms)
            assert.equal(ACM, perms[1].principal)
            assert.same(ALL_ACTIONS, perms[1].actions)
            local _, err = c:list_permissions{ ca_arn = PENDING }
            assert.equal("InvalidStateException", err.code)
            c:close()
        end)

        it("turns a PENDING_CERTIFICATE CA ACTIVE at active_at", function()
            local t = floor(socket.gettime()) + 600
            svc:add_ca(LATE, { status = "PENDING_CERTIFICATE", created_at = T0, active_at = t })
            local c = new_client(svc)
            local ca = describe_ca(c, LATE)
            assert.equal("PENDING_CERTIFICATE", ca.status)
            assert.is_nil(ca.serial)
            local _, err = c:create_permission{ ca_arn = LATE, principal = ACM,
                                                actions = ALL_ACTIONS }
            assert.equal("InvalidStateException", err.code)
            svc:set_clock_offset(601)      -- within the signature's 15 minutes
            ca = describe_ca(c, LATE)
            assert.equal("ACTIVE", ca.status)
            assert.is_string(ca.serial)
            assert.equal(t, ca.last_state_change_at)
            assert.equal(t, ca.not_before)
            assert.equal(t + 5 * YEAR, ca.not_after)
            assert.equal(T0, ca.created_at)
            assert.is_true(c:create_permission{ ca_arn = LATE, principal = ACM,
                                                actions = ALL_ACTIONS })
            assert.equal("ACTIVE", svc:ca(LATE).status)
            c:close()
        end)

        it("goes back to the seeded start state on reset", function()
            local start = svc:state()
            local c = new_client(svc)
            assert(c:put_policy{ resource_arn = SUB, policy = policy_for(SUB, "x") })
            assert(c:delete_policy{ resource_arn = ROOT })
            assert(c:delete_permission{ ca_arn = SUB, principal = ACM })
            svc:add_ca(LATE, { status = "CREATING" })
            svc:set_ca(ROOT, "DISABLED")
            local ca = svc:ca(ROOT)
            assert.equal("DISABLED", ca.status)
            assert.equal("DISABLED", ca.description.Status)
            svc:reset()
            local now = svc:state()
            assert.same(start.cas, now.cas)
            assert.same(start.policies, now.policies)
            assert.same(start.permissions, now.permissions)
            assert.equal(ROOT_POLICY, svc:policy(ROOT))
            c:close()
        end)

        it("refuses a bad seed and keeps its CAs", function()
            local before = svc:cas()
            for _, case in ipairs{
                { { colour = "red" }, "unknown seed option(s) colour" },
                { { status = "SLEEPING" }, "status must be one of" },
                { { status = "ACTIVE", active_at = 5 }, "active_at: only for" },
                { { failure_reason = "OTHER" }, "failure_reason: only for a FAILED CA" },
                { { shared = true }, "shared: the caller's account is " .. ACCOUNT },
            } do
                local ok, err = pcall(svc.add_ca, svc, LATE, case[1])
                assert.is_false(ok)
                assert.matches(case[2], err, 1, true)
            end
            local ok, err = pcall(svc.add_ca, svc, "arn:aws:s3:::bucket", { status = "ACTIVE" })
            assert.is_false(ok)
            assert.matches("not a CA ARN", err, 1, true)
            assert.same(before, svc:cas())
        end)

        it("shows the wire record, shared flag and policy in its state", function()
            local cas = svc:cas()
            assert.equal(#SEEDS, #cas)
            for i, ca in ipairs(cas) do
                assert.equal(SEEDS[i].arn, ca.arn)
                assert.equal(SEEDS[i].arn, ca.description.Arn)
                assert.equal(SEEDS[i].status or "ACTIVE", ca.status)
                assert.equal(SEEDS[i].arn == SHARED, ca.shared)
            end
            assert.equal(ROOT_POLICY, cas[1].policy)
            assert.equal(ACCOUNT, svc.account)
        end)
    end)


    describe("signing", function()
        it("is rejected by the service when the secret is wrong", function()
            local c = new_client(svc, { credentials = {
                access_key_id = fake.credentials.access_key_id,
                secret_access_key = "wrong/secret/key/0123456789abcdefghijklm",
            } })
            for _, call in ipairs{
                function() return c:list_certificate_authorities{} end,
                function() return c:describe_certificate_authority{ ca_arn = ROOT } end,
                function() return c:get_policy{ resource_arn = ROOT } end,
                function() return c:put_policy{ resource_arn = SUB, policy = ROOT_POLICY } end,
                function() return c:delete_policy{ resource_arn = ROOT } end,
            } do
                local res, err = call()
                assert.is_nil(res)
                assert.equal("InvalidSignatureException", err.code)
                assert.equal(403, err.status)
            end
            for _, r in ipairs(svc:requests()) do
                assert.equal(cjson.null, r.signed_headers)     -- not verified
                assert.equal(403, r.status)
            end
            assert.equal(ROOT_POLICY, svc:policy(ROOT))
            c:close()
        end)
    end)
end)
end


describe("acmpca fleet: the fake checked with botocore's own client", function()
    local svc

    lazy_setup(function()
        svc = assert(fake.start{ cas = SEEDS, account = ACCOUNT })
    end)

    lazy_teardown(function()
        if svc then svc:stop() end
    end)

    before_each(function()
        svc:reset()
    end)

    it("parses DescribeCertificateAuthority and ListCertificateAuthorities", function()
        local res = fake.botocore(svc, "DescribeCertificateAuthority",
                                  { CertificateAuthorityArn = ROOT })
        local ca = res.ok.CertificateAuthority
        assert.equal(ROOT, ca.Arn)
        assert.matches("^2023%-11%-14", ca.CreatedAt)
        assert.equal("root.example.com", ca.CertificateAuthorityConfiguration.Subject.CommonName)
        res = fake.botocore(svc, "ListCertificateAuthorities", { ResourceOwner = "OTHER_ACCOUNTS" })
        assert.equal(1, #res.ok.CertificateAuthorities)
        local recs = svc:requests()
        assert.equal(2, #recs)
        for i, op in ipairs{ "DescribeCertificateAuthority", "ListCertificateAuthorities" } do
            assert.equal("ACMPrivateCA." .. op, fake.header(recs[i], "X-Amz-Target"))
            assert.equal(SIGNED, recs[i].signed_headers)
            assert.equal(200, recs[i].status)
        end
    end)

    it("reports an ARN that is not a CA's as InvalidArnException", function()
        local not_ca = "arn:aws:acm-pca:us-east-1:" .. ACCOUNT .. ":certificate-authority"
        local res = fake.botocore(svc, "DescribeCertificateAuthority",
                                  { CertificateAuthorityArn = not_ca })
        assert.equal("InvalidArnException", res.error.code)
        assert.equal(400, res.error.status)
    end)

    it("puts and gets a policy, and rejects a bad one", function()
        local text = policy_for(SUB, "botocore")
        assert.same({ ok = {} },
                    fake.botocore(svc, "PutPolicy", { ResourceArn = SUB, Policy = text }))
        assert.same({ ok = { Policy = text } },
                    fake.botocore(svc, "GetPolicy", { ResourceArn = SUB }))
        local res = fake.botocore(svc, "PutPolicy", { ResourceArn = SUB, Policy = "{}" })
        assert.equal("InvalidPolicyException", res.error.code)
    end)
end)


describe("acmpca fleet: the demo fleet", function()
    local svc, c
    local NAMES = {
        "root-ca.example.com", "issuing-prod.example.com", "issuing-staging.example.com",
        "issuing-dev.example.com", "legacy.example.com", "new-team.example.com",
        "old.example.com", "deleted.example.com",
    }
    local STATUSES = { "ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "DISABLED",
                       "PENDING_CERTIFICATE", "EXPIRED", "DELETED" }
    local GRANTED = { 0, 3, 2, 0, 3 }     -- ACM's actions on the first five

    lazy_setup(function()
        svc = assert(fake.start{ demo = true })
        c = new_client(svc)
    end)

    lazy_teardown(function()
        if c then c:close() end
        if svc then svc:stop() end
    end)

    local function cas(owner)
        local res = assert(c:list_certificate_authorities{ resource_owner = owner })
        assert.is_nil(res.next_token)
        return res.certificate_authorities
    end

    it("lists the eight CAs of the caller's account in order", function()
        assert.equal("111122223333", svc.account)
        local list = cas()
        assert.equal(8, #list)
        for i, ca in ipairs(list) do
            assert.equal(NAMES[i], ca.certificate_authority_configuration.subject.common_name)
            assert.equal(STATUSES[i], ca.status)
            assert.equal(i == 1 and "ROOT" or "SUBORDINATE", ca.type)
            assert.matches("^arn:aws:acm%-pca:us%-east%-1:111122223333:certificate%-authority/"
                           .. "%x+%-%x+%-%x+%-%x+%-%x+$", ca.arn)
            assert.equal("111122223333", ca.owner_account)
        end
        assert.is_nil(list[6].serial)
        assert.is_number(list[8].restorable_until)
        assert.equal(svc.started_at + 20 * DAY, list[4].not_after)
        assert.equal(svc.started_at - 30 * DAY, list[7].not_after)
    end)

    it("gives ACM all, some or none of the renewal actions", function()
        local list = cas()
        for i, want in ipairs(GRANTED) do
            local perms = assert(c:list_permissions{ ca_arn = list[i].arn }).permissions
            assert.equal(want == 0 and 0 or 1, #perms, NAMES[i])
            if want > 0 then
                assert.equal(ACM, perms[1].principal)
                assert.equal(want, #perms[1].actions)
            end
        end
    end)

    it("shares the partner's CA from another account", function()
        local list = cas("OTHER_ACCOUNTS")
        assert.equal(1, #list)
        assert.equal("partner-issuing.example.com",
                     list[1].certificate_authority_configuration.subject.common_name)
        assert.equal(OTHER, list[1].owner_account)
        assert.equal("ACTIVE", list[1].status)
    end)
end)
