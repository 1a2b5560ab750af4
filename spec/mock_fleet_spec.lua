-- acmpca.mock: the CA-level operations (ListCertificateAuthorities,
-- DescribeCertificateAuthority, GetPolicy, PutPolicy, DeletePolicy), the
-- seeding options, the caller's account, active_at, the demo fleet and
-- mock.fleet, driven through the real client.

local F = require "support.mock_fixture"
local mock = F.mock
local ALL = F.ALL
local clock = F.clock
local expect_error = F.expect_error

local DAY = 86400
local YEAR = 365 * DAY
local ACM = "acm.amazonaws.com"
local ME = "111122223333"
local PARTNER = "444455556666"
local PFX = "arn:aws:acm-pca:us-east-1:" .. ME .. ":certificate-authority/"
local A = PFX .. "aaaaaaaa-0000-4000-8000-000000000001"
local B = PFX .. "bbbbbbbb-0000-4000-8000-000000000002"
local C = PFX .. "cccccccc-0000-4000-8000-000000000003"
local SHARED = "arn:aws:acm-pca:us-east-1:" .. PARTNER .. ":certificate-authority/"
    .. "dddddddd-0000-4000-8000-000000000004"
local POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    .. '"Principal":{"AWS":"arn:aws:iam::' .. PARTNER .. ':root"},'
    .. '"Action":"acm-pca:IssueCertificate","Resource":"' .. A .. '"}]}'


-- svc on a movable clock (in us-east-1), its client and the clock
local function setup(opts)
    opts = opts or {}
    local c = clock()
    opts.now = c.now
    opts.region = "us-east-1"
    local svc = mock.new(opts)
    return svc, svc:client{ sleep = function() end }, c
end


-- every page of ListCertificateAuthorities: the ARNs in order and the page sizes
local function list_all(client, args)
    args = args or {}
    local arns, sizes, token = {}, {}, nil
    repeat
        local page = assert(client:list_certificate_authorities{
            max_results = args.max_results, resource_owner = args.resource_owner,
            next_token = token,
        })
        sizes[#sizes + 1] = #page.certificate_authorities
        for _, ca in ipairs(page.certificate_authorities) do
            arns[#arns + 1] = ca.arn
        end
        token = page.next_token
    until not token
    return arns, sizes
end


local function describe_ca(client, arn)
    local out, err = client:describe_certificate_authority{ ca_arn = arn }
    return out and out.certificate_authority, err
end


describe("acmpca.mock CA operations", function()
    describe("seeding", function()
        it("fills in a CA's description with the defaults", function()
            local svc, client, c = setup{ cas = { [A] = "ACTIVE" } }
            local ca = describe_ca(client, A)
            assert.are.same({
                arn = A, owner_account = ME, created_at = c.start,
                last_state_change_at = c.start, type = "SUBORDINATE", serial = ca.serial,
                status = "ACTIVE", not_before = c.start, not_after = c.start + 5 * YEAR,
                certificate_authority_configuration = {
                    key_algorithm = "RSA_2048", signing_algorithm = "SHA256WITHRSA",
                    subject = { common_name = "aaaaaaaa" },
                },
                key_storage_security_standard = "FIPS_140_2_LEVEL_3_OR_HIGHER",
                usage_mode = "GENERAL_PURPOSE",
            }, ca)
            assert.matches("^%x%x:[%x:]+$", ca.serial)
            assert.are.same(ca, svc:ca(A))
        end)

        it("takes the seeding options", function()
            local svc, client = setup()
            svc:add_ca(A, { type = "ROOT", common_name = "root.example.com",
                            organization = "Example Corp", created_at = 1000, status = "ACTIVE",
                            policy = POLICY,
                            permissions = { { principal = ACM, actions = ALL,
                                              source_account = ME } } })
            local ca = describe_ca(client, A)
            assert.are.equal("ROOT", ca.type)
            assert.are.equal(1000, ca.created_at)
            assert.are.equal(1000, ca.not_before)
            assert.are.equal(1000 + 10 * YEAR, ca.not_after)
            assert.are.same({ common_name = "root.example.com", organization = "Example Corp" },
                            ca.certificate_authority_configuration.subject)
            assert.are.equal(POLICY, svc:policy(A))
            assert.are.equal(ME, svc:permissions(A)[1].source_account)
            svc:add_ca(B, { not_before = 2000, not_after = 3000, created_at = 1500 })
            ca = describe_ca(client, B)
            assert.are.equal(2000, ca.not_before)
            assert.are.equal(3000, ca.not_after)
            assert.is_nil(svc:policy(B))
        end)

        it("keeps today's add_ca(arn, status) and the hash form of cas", function()
            local svc = mock.new{ cas = { [C] = "DISABLED", [A] = { status = "EXPIRED" } } }
            svc:add_ca(B, "CREATING")
            assert.are.equal("CREATING", svc:status(B))
            svc:add_ca(B, "ACTIVE")
            assert.are.equal("ACTIVE", svc:status(B))
            -- a hash is added sorted by ARN, later CAs after
            assert.are.same({ A, C, B }, svc:cas_list())
        end)

        it("keeps the order of cas given as a list", function()
            local svc = mock.new{ cas = {
                { arn = C, status = "ACTIVE" }, { arn = A }, { arn = B, status = "DISABLED" },
            } }
            assert.are.same({ C, A, B }, svc:cas_list())
            assert.are.equal("ACTIVE", svc:status(A))
            assert.are.equal("DISABLED", svc:status(B))
        end)

        it("rejects bad seeding options", function()
            local svc = mock.new{ account = ME }
            local function bad(opts, message)
                assert.has_error(function() svc:add_ca(A, opts) end, message)
            end
            bad({ status = "SLEEPING" }, "acmpca.mock.add_ca: status: expected one of ACTIVE, "
                .. "CREATING, DELETED, DISABLED, EXPIRED, FAILED, PENDING_CERTIFICATE, "
                .. "got SLEEPING")
            bad({ type = "LEAF" }, "acmpca.mock.add_ca: type: expected ROOT or SUBORDINATE, "
                .. "got LEAF")
            bad({ colour = "red" }, "acmpca.mock.add_ca: unknown option colour")
            bad({ created_at = "today" }, "acmpca.mock.add_ca: created_at: expected epoch "
                .. "seconds, got string")
            bad({ status = "ACTIVE", active_at = 5 }, "acmpca.mock.add_ca: active_at: only for "
                .. "a CA seeded CREATING or PENDING_CERTIFICATE")
            bad({ failure_reason = "OTHER" }, "acmpca.mock.add_ca: failure_reason: only for a "
                .. "FAILED CA")
            bad({ failure_reason = "BAD", status = "FAILED" }, "acmpca.mock.add_ca: "
                .. "failure_reason: expected one of REQUEST_TIMED_OUT, UNSUPPORTED_ALGORITHM, "
                .. "OTHER, got BAD")
            bad({ policy = 5 }, "acmpca.mock.add_ca: policy: expected a JSON text, got number")
            bad({ shared = "yes" }, "acmpca.mock.add_ca: shared: expected a boolean, got string")
            bad({ shared = true }, "acmpca.mock.add_ca: shared: the caller's account is "
                .. ME .. ": a CA is shared exactly when its ARN names another account")
            assert.has_error(function() svc:add_ca(SHARED, { shared = false }) end,
                             "acmpca.mock.add_ca: shared: the caller's account is " .. ME
                             .. ": a CA is shared exactly when its ARN names another account")
            bad({ permissions = { { principal = ACM } } }, "acmpca.mock.add_ca: permissions[1]: "
                .. "expected { principal =, actions = [, source_account =] }")
            assert.has_error(function() mock.new{ account = "12" } end,
                             "acmpca.mock.new: account: expected a 12-digit account id")
            assert.has_error(function() mock.new{ cas = { { status = "ACTIVE" } } } end,
                             "acmpca.mock.new: cas[1]: expected { arn = ..., ... }")
            assert.has_error(function() mock.new{ cas = { [A] = { type = "LEAF" } } } end,
                             "acmpca.mock.new: cas: bad entry for " .. A .. ": type: expected "
                             .. "ROOT or SUBORDINATE, got LEAF")
            assert.has_error(function() svc:add_ca(A, 5) end,
                             "acmpca.mock.add_ca: expected a status or a table of options, "
                             .. "got number")
            assert.is_nil(svc:ca(A))
        end)
    end)

    describe("ListCertificateAuthorities", function()
        it("pages over 250 CAs at several page sizes, none over 100", function()
            local fleet = mock.fleet(250, { now = clock().now })
            local client = fleet:client{ sleep = function() end }
            local want = fleet:cas_list()
            assert.are.equal(250, #want)
            local cases = {
                { 7, 36, 5 }, { 100, 3, 50 }, { 250, 3, 50 }, { 1000, 3, 50 }, { 1, 250, 1 },
            }
            for _, case in ipairs(cases) do
                local arns, sizes = list_all(client, { max_results = case[1] })
                assert.are.same(want, arns)
                assert.are.equal(case[2], #sizes, "pages at max_results " .. case[1])
                assert.are.equal(case[3], sizes[#sizes])
                for _, n in ipairs(sizes) do
                    assert.is_true(n <= 100)
                end
            end
            local arns, sizes = list_all(client)
            assert.are.same(want, arns)
            assert.are.same({ 100, 100, 50 }, sizes)
        end)

        it("pages by the service's page size without MaxResults", function()
            local svc, client = setup{ page_size = 2,
                                       cas = { { arn = A }, { arn = B }, { arn = C } } }
            local arns, sizes = list_all(client)
            assert.are.same({ A, B, C }, arns)
            assert.are.same({ 2, 1 }, sizes)
            assert.are.equal(2, svc.calls.ListCertificateAuthorities)
        end)

        it("lists every status, DELETED with RestorableUntil", function()
            local statuses = { "CREATING", "PENDING_CERTIFICATE", "ACTIVE", "DELETED",
                               "DISABLED", "EXPIRED", "FAILED" }
            local cas = {}
            for i, s in ipairs(statuses) do
                cas[i] = { arn = PFX .. "0000000" .. i, status = s }
            end
            local _, client, c = setup{ cas = cas }
            local page = assert(client:list_certificate_authorities{})
            assert.are.equal(#statuses, #page.certificate_authorities)
            for i, ca in ipairs(page.certificate_authorities) do
                assert.are.equal(statuses[i], ca.status)
                if ca.status == "DELETED" then
                    assert.are.equal(c.start + 30 * DAY, ca.restorable_until)
                else
                    assert.is_nil(ca.restorable_until)
                end
            end
        end)

        it("lists the caller's CAs as SELF, the others' as OTHER_ACCOUNTS", function()
            local _, client = setup{ account = ME, cas = {
                { arn = A }, { arn = SHARED }, { arn = B, status = "DISABLED" },
            } }
            assert.are.same({ A, B }, (list_all(client)))
            assert.are.same({ A, B }, (list_all(client, { resource_owner = "SELF" })))
            assert.are.same({ SHARED }, (list_all(client, { resource_owner = "OTHER_ACCOUNTS" })))
        end)

        it("without an account, shares only what was seeded shared", function()
            local svc, client = setup{ cas = { { arn = A }, { arn = SHARED },
                                               { arn = B, shared = true } } }
            assert.are.same({ A, SHARED }, (list_all(client)))
            assert.are.same({ B }, (list_all(client, { resource_owner = "OTHER_ACCOUNTS" })))
            assert.are.equal(ME, svc:ca(B).owner_account)
        end)

        it("with an account, takes a shared option that agrees with the ARN", function()
            local _, client = setup{ account = ME, cas = { { arn = A, shared = false },
                                                           { arn = SHARED, shared = true } } }
            assert.are.same({ A }, (list_all(client)))
            assert.are.same({ SHARED }, (list_all(client, { resource_owner = "OTHER_ACCOUNTS" })))
        end)

        it("sends the model's member order, NextToken first, '/' unescaped", function()
            local svc = F.new_svc{ cas = { { arn = A }, { arn = B } } }
            local res, body = F.call(svc, "ListCertificateAuthorities", { MaxResults = 1 })
            assert.are.equal(200, res.status)
            assert.truthy(res.body:find('^{"NextToken":"[^"]+","CertificateAuthorities":%[{'
                                        .. '"Arn":"arn:aws:acm%-pca:us%-east%-1:111122223333:'
                                        .. 'certificate%-authority/aaaaaaaa'))
            assert.truthy(res.body:find('"Arn".*"OwnerAccount".*"CreatedAt".*"LastStateChangeAt"'
                                        .. '.*"Type".*"Serial".*"Status".*"NotBefore".*"NotAfter"'
                                        .. '.*"CertificateAuthorityConfiguration".*"KeyAlgorithm"'
                                        .. '.*"SigningAlgorithm".*"Subject".*"CommonName".*'
                                        .. '"KeyStorageSecurityStandard".*"UsageMode"'))
            assert.are.equal(F.NOW, body.CertificateAuthorities[1].CreatedAt)
            local _, empty = F.call(svc, "ListCertificateAuthorities",
                                    { ResourceOwner = "OTHER_ACCOUNTS" })
            assert.are.same({ CertificateAuthorities = {} }, empty)
        end)

        it("refuses a NextToken not issued, or issued for another owner or operation", function()
            local svc, client = setup{ account = ME, cas = {
                { arn = A }, { arn = B }, { arn = SHARED }, { arn = PFX .. "other-shared",
                                                           status = "ACTIVE" },
            } }
            svc:grant(A, "p1.example.com", ALL):grant(A, "p2.example.com", ALL)
            local function refused(args, what)
                local out, err = client:list_certificate_authorities(args)
                assert.is_nil(out, what)
                assert.are.equal("InvalidNextTokenException", err.code, what)
                assert.truthy(err.message:find("ListCertificateAuthorities", 1, true))
            end
            refused({ next_token = "made-up" }, "made up")
            local page = assert(client:list_certificate_authorities{ max_results = 1 })
            refused({ next_token = page.next_token, resource_owner = "OTHER_ACCOUNTS" },
                    "SELF's token as OTHER_ACCOUNTS")
            local perms = assert(client:list_permissions{ ca_arn = A, max_results = 1 })
            refused({ next_token = perms.next_token }, "ListPermissions' token")
            local out, err = client:list_permissions{ ca_arn = A, next_token = page.next_token }
            assert.is_nil(out)
            assert.are.equal("InvalidNextTokenException", err.code)
            -- the right token still works, twice
            for _ = 1, 2 do
                local next_page = assert(client:list_certificate_authorities{
                    max_results = 1, next_token = page.next_token })
                assert.are.equal(B, next_page.certificate_authorities[1].arn)
            end
        end)

        it("validates ResourceOwner and MaxResults as the model says", function()
            local svc = F.new_svc()
            expect_error(svc, "ListCertificateAuthorities", { ResourceOwner = "ME" }, 400,
                         "ValidationException", "at 'resourceOwner' failed to satisfy "
                         .. "constraint: Member must satisfy enum value set: [SELF, "
                         .. "OTHER_ACCOUNTS]")
            expect_error(svc, "ListCertificateAuthorities", { MaxResults = 1001 }, 400,
                         "ValidationException", "less than or equal to 1000")
        end)
    end)

    describe("DescribeCertificateAuthority", function()
        local CERT = { serial = true, not_before = true, not_after = true }
        local expect = {
            CREATING = {}, PENDING_CERTIFICATE = {},
            ACTIVE = CERT, DISABLED = CERT, EXPIRED = CERT,
            FAILED = { serial = true, not_before = true, not_after = true,
                       failure_reason = true },
            DELETED = { serial = true, not_before = true, not_after = true,
                        restorable_until = true },
        }
        for status, present in pairs(expect) do
            it("describes a " .. status .. " CA with the fields of that status", function()
                local _, client, c = setup{ cas = { [A] = status } }
                local ca = assert(describe_ca(client, A))
                assert.are.equal(status, ca.status)
                for _, field in ipairs{ "serial", "not_before", "not_after", "failure_reason",
                                        "restorable_until" } do
                    assert.are.equal(present[field] or false, ca[field] ~= nil,
                                     field .. " for " .. status)
                end
                if status == "FAILED" then
                    assert.are.equal("OTHER", ca.failure_reason)
                elseif status == "DELETED" then
                    assert.are.equal(c.start + 30 * DAY, ca.restorable_until)
                end
            end)
        end

        it("keeps a seeded failure reason", function()
            local _, client = setup{ cas = { [A] = { status = "FAILED",
                                                     failure_reason = "REQUEST_TIMED_OUT" } } }
            assert.are.equal("REQUEST_TIMED_OUT", describe_ca(client, A).failure_reason)
        end)

        it("describes a shared CA", function()
            local _, client = setup{ account = ME, cas = { [SHARED] = "ACTIVE" } }
            local ca = assert(describe_ca(client, SHARED))
            assert.are.equal(PARTNER, ca.owner_account)
        end)

        it("knows unknown CAs and ARNs that are not a CA's", function()
            local svc, client = setup{ cas = { [A] = "ACTIVE" } }
            local ca, err = describe_ca(client, B)
            assert.is_nil(ca)
            assert.are.equal("ResourceNotFoundException", err.code)
            assert.truthy(err.message:find(B, 1, true))
            svc.now = F.fixed_clock
            expect_error(svc, "DescribeCertificateAuthority", {
                CertificateAuthorityArn = "arn:aws:acm-pca:us-east-1:1234:certificate-authority/x",
            }, 400, "InvalidArnException", "not valid")
            expect_error(svc, "DescribeCertificateAuthority", {}, 400, "ValidationException",
                         "Value null at 'certificateAuthorityArn'")
        end)

        it("follows set_status: timestamps, certificate and deletion", function()
            local svc, client, c = setup{ cas = { [A] = "PENDING_CERTIFICATE" } }
            c.advance(60)
            svc:set_status(A, "ACTIVE")
            local ca = describe_ca(client, A)
            assert.are.equal(c.start + 60, ca.last_state_change_at)
            assert.are.equal(c.start + 60, ca.not_before)
            assert.is_string(ca.serial)
            c.advance(60)
            svc:set_status(A, "DELETED")
            ca = describe_ca(client, A)
            assert.are.equal(c.start + 120, ca.last_state_change_at)
            assert.are.equal(c.start + 120 + 30 * DAY, ca.restorable_until)
        end)
    end)

    describe("policies", function()
        it("puts, gets and deletes a resource policy", function()
            local svc, client = setup{ cas = { [A] = "ACTIVE" } }
            assert.is_true(client:put_policy{ resource_arn = A, policy = POLICY })
            assert.are.equal(POLICY, svc:policy(A))
            local got = assert(client:get_policy{ resource_arn = A })
            assert.are.same({ policy = POLICY }, got)
            assert.is_true(client:delete_policy{ resource_arn = A })
            assert.is_nil(svc:policy(A))
            local out, err = client:get_policy{ resource_arn = A }
            assert.is_nil(out)
            assert.are.equal("ResourceNotFoundException", err.code)
            assert.truthy(err.message:find("has no attached policy", 1, true))
            out, err = client:delete_policy{ resource_arn = A }
            assert.is_nil(out)
            assert.are.equal("ResourceNotFoundException", err.code)
            assert.are.equal(1, svc.calls.PutPolicy)
            assert.are.equal(2, svc.calls.GetPolicy)
            assert.are.equal(2, svc.calls.DeletePolicy)
        end)

        it("answers GetPolicy with the text as put, '/' unescaped", function()
            local svc = F.new_svc{ cas = { [A] = { policy = POLICY } } }
            local res, body = F.call(svc, "GetPolicy", { ResourceArn = A })
            assert.are.equal(200, res.status)
            assert.are.equal(POLICY, body.Policy)
            assert.falsy(res.body:find("\\/", 1, true))
        end)

        it("needs the CA ACTIVE to put or delete, not DELETED to get", function()
            local svc, client = setup{ cas = { [A] = { status = "DISABLED", policy = POLICY } } }
            local out, err = client:put_policy{ resource_arn = A, policy = POLICY }
            assert.is_nil(out)
            assert.are.equal("InvalidStateException", err.code)
            assert.truthy(err.message:find("is in the DISABLED state", 1, true))
            out, err = client:delete_policy{ resource_arn = A }
            assert.is_nil(out)
            assert.are.equal("InvalidStateException", err.code)
            assert.are.equal(POLICY, assert(client:get_policy{ resource_arn = A }).policy)
            svc:set_status(A, "DELETED")
            out, err = client:get_policy{ resource_arn = A }
            assert.is_nil(out)
            assert.are.equal("InvalidStateException", err.code)
            assert.truthy(err.message:find("DELETED", 1, true))
            assert.are.equal(POLICY, svc:policy(A))
        end)

        it("refuses a policy that is not a JSON object with Version and Statement", function()
            local svc, client = setup{ cas = { [A] = "ACTIVE" } }
            local cases = {
                { "{not json", "not JSON" },
                { '["Statement"]', "not a JSON object" },
                { '{"Version":"2012-10-17"}', "no Statement." },
                { '{"Version":"2012-10-17","Statement":"allow"}',
                  "Statement is neither a list nor an object." },
                { '{"Statement":[]}', "no Version string." },
                { '{"Version":2012,"Statement":[]}', "no Version string." },
            }
            for _, case in ipairs(cases) do
                local out, err = client:put_policy{ resource_arn = A, policy = case[1] }
                assert.is_nil(out, case[1])
                assert.are.equal("InvalidPolicyException", err.code, case[1])
                assert.truthy(err.message:find("The resource policy is invalid: ", 1, true),
                              err.message)
                assert.truthy(err.message:find(case[2], 1, true), err.message)
            end
            assert.is_nil(svc:policy(A))
            assert.is_true(client:put_policy{ resource_arn = A,
                                              policy = '{"Version":"2012-10-17","Statement":{}}' })
        end)

        it("refuses to change a shared CA's policy, but reads it", function()
            local svc, client = setup{ account = ME, cas = {
                [SHARED] = { status = "ACTIVE", policy = POLICY } } }
            local out, err = client:put_policy{ resource_arn = SHARED, policy = POLICY }
            assert.is_nil(out)
            assert.are.equal("AccessDeniedException", err.code)
            assert.are.equal(400, err.status)
            assert.truthy(err.message:find("is not owned by the caller", 1, true))
            out, err = client:delete_policy{ resource_arn = SHARED }
            assert.is_nil(out)
            assert.are.equal("AccessDeniedException", err.code)
            assert.are.equal(POLICY, assert(client:get_policy{ resource_arn = SHARED }).policy)
            assert.are.equal(POLICY, svc:policy(SHARED))
        end)

        it("knows unknown CAs", function()
            local _, client = setup{ cas = { [A] = "ACTIVE" } }
            for _, call in ipairs{
                function() return client:get_policy{ resource_arn = B } end,
                function() return client:put_policy{ resource_arn = B, policy = POLICY } end,
                function() return client:delete_policy{ resource_arn = B } end,
            } do
                local out, err = call()
                assert.is_nil(out)
                assert.are.equal("ResourceNotFoundException", err.code)
            end
        end)
    end)

    describe("permissions on a shared CA", function()
        it("are refused, read or written", function()
            local svc, client = setup{ account = ME, cas = { [SHARED] = "ACTIVE" } }
            local calls = {
                function() return client:list_permissions{ ca_arn = SHARED } end,
                function()
                    return client:create_permission{ ca_arn = SHARED, principal = ACM,
                                                     actions = ALL }
                end,
                function() return client:delete_permission{ ca_arn = SHARED, principal = ACM } end,
            }
            for _, call in ipairs(calls) do
                local out, err = call()
                assert.is_nil(out)
                assert.are.equal("AccessDeniedException", err.code)
            end
            assert.are.same({}, svc:permissions(SHARED))
        end)
    end)

    describe("active_at", function()
        it("turns a PENDING_CERTIFICATE CA ACTIVE at the first request at or after t", function()
            local svc, client, c = setup()
            local t = c.start + 120
            svc:add_ca(A, { status = "PENDING_CERTIFICATE", active_at = t })
            c.advance(119)
            local ca = describe_ca(client, A)
            assert.are.equal("PENDING_CERTIFICATE", ca.status)
            assert.is_nil(ca.serial)
            local _, err = client:create_permission{ ca_arn = A, principal = ACM, actions = ALL }
            assert.are.equal("InvalidStateException", err.code)
            c.advance(10)
            assert.is_true(client:create_permission{ ca_arn = A, principal = ACM, actions = ALL })
            ca = describe_ca(client, A)
            assert.are.equal("ACTIVE", ca.status)
            assert.are.equal(t, ca.last_state_change_at)
            assert.are.equal(t, ca.not_before)
            assert.are.equal(t + 5 * YEAR, ca.not_after)
            assert.is_string(ca.serial)
        end)

        it("turns a CREATING CA ACTIVE too, and leaves others alone", function()
            local svc, client, c = setup()
            svc:add_ca(A, { status = "CREATING", active_at = c.start + 5 })
            svc:add_ca(B, { status = "CREATING" })
            c.advance(5)
            assert.are.equal("ACTIVE", describe_ca(client, A).status)
            assert.are.equal("CREATING", describe_ca(client, B).status)
        end)
    end)

    describe("operations", function()
        it("are counted, hooked and faulted like the permission operations", function()
            local svc, client = setup{ cas = { [A] = "ACTIVE" } }
            local seen = {}
            svc:on_before("DescribeCertificateAuthority", function(_, params)
                seen[#seen + 1] = params.CertificateAuthorityArn
            end)
            svc:fail_next(1, "ThrottlingException", { operation = "GetPolicy" })
            describe_ca(client, A)
            client:get_policy{ resource_arn = A }
            assert.are.same({ A }, seen)
            assert.are.equal(1, svc.calls.DescribeCertificateAuthority)
            assert.are.equal(2, svc.calls.GetPolicy)
            assert.are.equal("ThrottlingException", svc.log[2].fault)
            svc:reset()
            for _, op in ipairs{ "ListCertificateAuthorities", "DescribeCertificateAuthority",
                                 "GetPolicy", "PutPolicy", "DeletePolicy" } do
                assert.are.equal(0, svc.calls[op])
            end
        end)
    end)

    describe("demo", function()
        local svc, client, c, by_cn

        before_each(function()
            c = clock()
            svc = mock.demo{ now = c.now }
            client = svc:client{ sleep = function() end }
            by_cn = {}
            for _, arn in ipairs(svc:cas_list()) do
                local ca = svc:ca(arn)
                by_cn[ca.certificate_authority_configuration.subject.common_name] = ca
            end
        end)

        it("lists the fleet in its order, the partner's CA as shared", function()
            local names = {}
            for _, ca in ipairs(assert(client:list_certificate_authorities{})
                                .certificate_authorities) do
                names[#names + 1] = ca.certificate_authority_configuration.subject.common_name
                    .. " " .. ca.type .. " " .. ca.status
            end
            assert.are.same({
                "root-ca.example.com ROOT ACTIVE",
                "issuing-prod.example.com SUBORDINATE ACTIVE",
                "issuing-staging.example.com SUBORDINATE ACTIVE",
                "issuing-dev.example.com SUBORDINATE ACTIVE",
                "legacy.example.com SUBORDINATE DISABLED",
                "new-team.example.com SUBORDINATE PENDING_CERTIFICATE",
                "old.example.com SUBORDINATE EXPIRED",
                "deleted.example.com SUBORDINATE DELETED",
            }, names)
            local shared = assert(client:list_certificate_authorities{
                resource_owner = "OTHER_ACCOUNTS" }).certificate_authorities
            assert.are.equal(1, #shared)
            assert.are.equal("partner-issuing.example.com",
                             shared[1].certificate_authority_configuration.subject.common_name)
            assert.are.equal(PARTNER, shared[1].owner_account)
            assert.are.equal("ACTIVE", shared[1].status)
            for _, ca in pairs(by_cn) do
                assert.matches("^arn:aws:acm%-pca:us%-east%-1:%d+:certificate%-authority/"
                               .. "%x+%-%x+%-%x+%-%x+%-%x+$", ca.arn)
            end
        end)

        it("gives ACM complete, partial or no permissions", function()
            local function acm(cn)
                for _, p in ipairs(svc:permissions(by_cn[cn].arn)) do
                    if p.principal == ACM then
                        table.sort(p.actions)
                        return table.concat(p.actions, ",")
                    end
                end
                return "none"
            end
            assert.are.equal("none", acm("root-ca.example.com"))
            assert.are.equal("GetCertificate,IssueCertificate,ListPermissions",
                             acm("issuing-prod.example.com"))
            assert.are.equal("GetCertificate,IssueCertificate", acm("issuing-staging.example.com"))
            assert.are.equal("none", acm("issuing-dev.example.com"))
            assert.are.equal("GetCertificate,IssueCertificate,ListPermissions",
                             acm("legacy.example.com"))
            local page = assert(client:list_permissions{
                ca_arn = by_cn["issuing-prod.example.com"].arn })
            assert.are.same({ "IssueCertificate", "GetCertificate", "ListPermissions" },
                            page.permissions[1].actions)
        end)

        it("sets its times from the clock at creation", function()
            assert.are.equal(c.start + 20 * DAY, by_cn["issuing-dev.example.com"].not_after)
            assert.are.equal(c.start - 30 * DAY, by_cn["old.example.com"].not_after)
            assert.is_nil(by_cn["new-team.example.com"].serial)
            assert.is_true(by_cn["deleted.example.com"].restorable_until > c.start)
            for _, ca in pairs(by_cn) do
                assert.is_true(ca.created_at <= c.start)
                if ca.not_before then
                    assert.is_true(ca.not_before < ca.not_after)
                end
            end
            local root = by_cn["root-ca.example.com"]
            assert.are.equal(root.created_at + 10 * YEAR, root.not_after)
        end)

        it("is a new service each time, in us-east-1 for account " .. ME, function()
            local other = mock.demo{ now = c.now }
            assert.are.same(svc:cas_list(), other:cas_list())
            other:set_status(other:cas_list()[1], "DISABLED")
            assert.are.equal("ACTIVE", svc:status(svc:cas_list()[1]))
            assert.are.equal("us-east-1", svc.region)
            assert.are.equal(ME, svc.account)
            assert.are.equal(9, #svc:cas_list())
        end)
    end)

    describe("fleet", function()
        it("makes n ACTIVE SUBORDINATE CAs, ACM partial, none, complete in turn", function()
            local c = clock()
            local svc = mock.fleet(7, { now = c.now })
            local arns = svc:cas_list()
            assert.are.equal(7, #arns)
            local want = { 2, 0, 3, 2, 0, 3, 2 }
            for i, arn in ipairs(arns) do
                local ca = svc:ca(arn)
                assert.are.equal(string.format("fleet-%05d.example.com", i),
                                 ca.certificate_authority_configuration.subject.common_name)
                assert.are.equal("ACTIVE", ca.status)
                assert.are.equal("SUBORDINATE", ca.type)
                assert.are.equal(ME, ca.owner_account)
                local perms = svc:permissions(arn)
                assert.are.equal(want[i], perms[1] and #perms[1].actions or 0, arn)
                if perms[1] then
                    assert.are.equal(ACM, perms[1].principal)
                end
            end
            assert.are.same(arns, mock.fleet(7):cas_list())
        end)

        it("rejects a bad count", function()
            assert.has_error(function() mock.fleet(-1) end,
                             "acmpca.mock.fleet: n: expected a non-negative integer, got -1")
            assert.are.same({}, mock.fleet(0):cas_list())
        end)
    end)
end)
