-- acmpca.renewal: the renewal helpers every client has, run against the
-- fake service (acmpca.mock) through the real client.

local F = require "support.renewal_fixture"
local acmpca = F.acmpca
local mock = F.mock
local ARN = F.ARN
local OTHER = F.OTHER
local ACM = F.ACM
local ALL = F.ALL
local BAD_ARN_MSG = F.BAD_ARN_MSG
local setup = F.setup
local counter = F.counter
local acm_actions = F.acm_actions


describe("acmpca.renewal", function()
    describe("ensure_acm_renewal", function()
        it("creates the permission, then finds it present with one ListPermissions", function()
            local svc, client = setup()
            local delta = counter(svc)
            assert.are.same({ true, "created" }, { client:ensure_acm_renewal(ARN) })
            assert.are.same({ ListPermissions = 1, CreatePermission = 1, DeletePermission = 0 },
                            delta())
            assert.are.same(ALL, acm_actions(svc))

            assert.are.same({ true, "present" }, { client:ensure_acm_renewal(ARN) })
            assert.are.same({ ListPermissions = 1, CreatePermission = 0, DeletePermission = 0 },
                            delta())
        end)

        it("repairs an incomplete permission by deleting and re-creating it", function()
            local svc, client = setup()
            svc:grant(ARN, ACM, { "GetCertificate" })
            local delta = counter(svc)
            assert.are.same({ true, "repaired" }, { client:ensure_acm_renewal(ARN) })
            assert.are.same({ ListPermissions = 1, CreatePermission = 1, DeletePermission = 1 },
                            delta())
            assert.are.same(ALL, acm_actions(svc))
            assert.are.same({ true, "present" }, { client:ensure_acm_renewal(ARN) })
        end)

        it("treats a concurrent creator's permission as success once re-listed", function()
            local svc, client = setup()
            svc:on_before("CreatePermission", function(s, params)
                s:grant(params.CertificateAuthorityArn, ACM, ALL)
            end)
            local delta = counter(svc)
            assert.are.same({ true, "present" }, { client:ensure_acm_renewal(ARN) })
            assert.are.same({ ListPermissions = 2, CreatePermission = 1, DeletePermission = 0 },
                            delta())
            assert.are.equal(1, #svc:permissions(ARN))
        end)

        it("repairs what an incomplete concurrent creator left", function()
            local svc, client = setup()
            svc:on_before("CreatePermission", function(s, params)
                s:on_before("CreatePermission", nil)
                s:grant(params.CertificateAuthorityArn, ACM, { "IssueCertificate" })
            end)
            assert.are.same({ true, "repaired" }, { client:ensure_acm_renewal(ARN) })
            assert.are.same(ALL, acm_actions(svc))
        end)

        it("gives up with PermissionAlreadyExistsException when it keeps losing", function()
            local svc, client = setup()
            svc:on_before("CreatePermission", function(s, params)
                s:grant(params.CertificateAuthorityArn, ACM, { "IssueCertificate" })
            end)
            local ok, err = client:ensure_acm_renewal(ARN)
            assert.is_nil(ok)
            assert.are.equal("PermissionAlreadyExistsException", err.code)
            assert.are.equal(3, svc.calls.CreatePermission)
        end)

        it("retries throttling", function()
            local svc, client, sleeps = setup()
            svc:fail_next(2, "ThrottlingException")
            assert.are.same({ true, "created" }, { client:ensure_acm_renewal(ARN) })
            assert.are.equal(3, svc.calls.ListPermissions)
            assert.are.equal(2, #sleeps)
        end)

        it("follows the service's clock when the local one is an hour off", function()
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" },
                                  now = function() return os.time() + 3600 end }
            local client = svc:client{ sleep = function() end }
            assert.are.same({ true, "created" }, { client:ensure_acm_renewal(ARN) })
            assert.are.equal("InvalidSignatureException", svc.log[1].code)
            assert.are.equal(200, svc.log[2].status)
            assert.are.equal(3, #svc.log)
        end)

        it("returns the error once the retries are spent", function()
            local svc, client = setup()
            svc:fail_next(3, "ThrottlingException")
            local ok, err = client:ensure_acm_renewal(ARN)
            assert.is_nil(ok)
            assert.are.equal("ThrottlingException", err.code)
            assert.are.equal(0, svc.calls.CreatePermission)
        end)

        it("says in plain words that the CA must be ACTIVE", function()
            local svc, client = setup{ cas = { [ARN] = "DISABLED" } }
            local ok, err = client:ensure_acm_renewal(ARN)
            assert.is_nil(ok)
            assert.are.equal("InvalidStateException", err.code)
            assert.are.equal("permissions can only be changed while the CA is ACTIVE; CA "
                             .. ARN .. " is DISABLED", err.message)
            assert.truthy(tostring(err):find("is DISABLED", 1, true))
            assert.are.same({}, svc:permissions(ARN))
        end)

        it("says a refused read is about reading, and a refused change about ACTIVE", function()
            local svc, client = setup{ cas = { [ARN] = "CREATING" } }
            local ok, err = client:has_acm_renewal(ARN)
            assert.is_nil(ok)
            assert.are.equal("InvalidStateException", err.code)
            assert.are.equal("the CA's permissions cannot be read in its current state; CA "
                             .. ARN .. " is CREATING", err.message)
            local list, lerr = client:list_all_permissions(ARN)
            assert.is_nil(list)
            assert.are.equal(err.message, lerr.message)
            local _, ensure_err = client:ensure_acm_renewal(ARN)
            assert.are.equal("permissions can only be changed while the CA is ACTIVE; CA "
                             .. ARN .. " is CREATING", ensure_err.message)
            assert.are.equal(0, svc.calls.CreatePermission)
        end)

        it("passes the source account through", function()
            local svc, client = setup()
            assert.is_true(client:ensure_acm_renewal(ARN, { source_account = "111122223333" }))
            assert.are.equal("111122223333", svc:permissions(ARN)[1].source_account)
            assert.are.equal("111122223333", svc.log[#svc.log].params.SourceAccount)
        end)

        describe("with source_account", function()
            local MINE, THEIRS = "111122223333", "444455556666"

            it("re-grants a complete permission held for another source account", function()
                local svc, client = setup()
                svc:grant(ARN, ACM, ALL, THEIRS)
                local delta = counter(svc)
                assert.are.same({ true, "repaired" },
                                { client:ensure_acm_renewal(ARN, { source_account = MINE }) })
                assert.are.same({ ListPermissions = 1, CreatePermission = 1,
                                  DeletePermission = 1 }, delta())
                local perms = svc:permissions(ARN)
                assert.are.equal(1, #perms)
                assert.are.equal(MINE, perms[1].source_account)
                assert.are.same(ALL, perms[1].actions)
                -- the delete named the account the permission was held for
                local del
                for _, entry in ipairs(svc.log) do
                    if entry.operation == "DeletePermission" then
                        del = entry
                    end
                end
                assert.are.equal(THEIRS, del.params.SourceAccount)
                assert.are.same({ true, "present" },
                                { client:ensure_acm_renewal(ARN, { source_account = MINE }) })
            end)

            it("re-grants a complete permission held for no source account", function()
                local svc, client = setup()
                svc:grant(ARN, ACM, ALL)
                assert.are.same({ true, "repaired" },
                                { client:ensure_acm_renewal(ARN, { source_account = MINE }) })
                assert.are.equal(MINE, svc:permissions(ARN)[1].source_account)
            end)

            it("finds the one asked for present", function()
                local svc, client = setup()
                svc:grant(ARN, ACM, ALL, MINE)
                local delta = counter(svc)
                assert.are.same({ true, "present" },
                                { client:ensure_acm_renewal(ARN, { source_account = MINE }) })
                assert.are.same({ ListPermissions = 1, CreatePermission = 0,
                                  DeletePermission = 0 }, delta())
            end)

            it("without it, any source account is present", function()
                local svc, client = setup()
                svc:grant(ARN, ACM, ALL, THEIRS)
                assert.are.same({ true, "present" }, { client:ensure_acm_renewal(ARN) })
                assert.are.equal(THEIRS, svc:permissions(ARN)[1].source_account)
            end)

            it("has_acm_renewal agrees with ensure_acm_renewal", function()
                local svc, client = setup()
                svc:grant(ARN, ACM, ALL, THEIRS)
                assert.is_true(client:has_acm_renewal(ARN))
                assert.is_true(client:has_acm_renewal(ARN, { source_account = THEIRS }))
                assert.is_false(client:has_acm_renewal(ARN, { source_account = MINE }))
                assert.has_error(function()
                    client:has_acm_renewal(ARN, { source_account = "12" })
                end, "acmpca.has_acm_renewal: source_account: expected 12 digits, got \"12\"")
            end)
        end)

        it("reads every page", function()
            local svc, client = setup{ page_size = 2 }
            for i = 1, 5 do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" })
            end
            svc:grant(ARN, ACM, ALL)
            local delta = counter(svc)
            assert.are.same({ true, "present" }, { client:ensure_acm_renewal(ARN) })
            assert.are.same({ ListPermissions = 3, CreatePermission = 0, DeletePermission = 0 },
                            delta())
        end)

        it("stops listing at the page that holds a complete permission", function()
            local svc, client = setup{ page_size = 2 }
            svc:grant(ARN, ACM, ALL)
            for i = 1, 5 do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" })
            end
            local delta = counter(svc)
            assert.are.same({ true, "present" }, { client:ensure_acm_renewal(ARN) })
            assert.are.same({ ListPermissions = 1, CreatePermission = 0, DeletePermission = 0 },
                            delta())
        end)

        it("passes service errors through", function()
            local _, client = setup()
            local ok, err = client:ensure_acm_renewal(OTHER)
            assert.is_nil(ok)
            assert.are.equal("ResourceNotFoundException", err.code)
            assert.are.equal("ListPermissions", err.operation)
        end)

        it("stops when the delete of a repair fails", function()
            local svc, client = setup()
            svc:grant(ARN, ACM, { "GetCertificate" })
            svc:fail_next(1, "AccessDeniedException", { operation = "DeletePermission" })
            local ok, err = client:ensure_acm_renewal(ARN)
            assert.is_nil(ok)
            assert.are.equal("AccessDeniedException", err.code)
            assert.are.equal(0, svc.calls.CreatePermission)
        end)

        it("rejects bad arguments before sending anything", function()
            local svc, client = setup()
            assert.has_error(function() client:ensure_acm_renewal("x") end,
                             "acmpca.ensure_acm_renewal: " .. BAD_ARN_MSG)
            assert.has_error(function() client:ensure_acm_renewal(ARN, "x") end,
                             "acmpca.ensure_acm_renewal: opts: expected a table, got string")
            assert.has_error(function()
                client:ensure_acm_renewal(ARN, { source_account = "12" })
            end, "acmpca.ensure_acm_renewal: source_account: expected 12 digits, got \"12\"")
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("has_acm_renewal", function()
        it("is true only when all three actions are held", function()
            local svc, client = setup()
            assert.is_false(client:has_acm_renewal(ARN))
            svc:grant(ARN, ACM, { "IssueCertificate", "GetCertificate" })
            assert.is_false(client:has_acm_renewal(ARN))
            svc:grant(ARN, ACM, { "ListPermissions", "GetCertificate", "IssueCertificate" })
            assert.is_true(client:has_acm_renewal(ARN))
            assert.are.equal(3, svc.calls.ListPermissions)
            assert.are.equal(0, svc.calls.CreatePermission)
        end)

        it("reads the pages only up to the complete permission", function()
            local svc, client = setup{ page_size = 2 }
            svc:grant(ARN, "p1.example.com", { "GetCertificate" })
            svc:grant(ARN, ACM, ALL)
            for i = 2, 5 do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" })
            end
            assert.is_true(client:has_acm_renewal(ARN))
            assert.are.equal(1, svc.calls.ListPermissions)
            svc:grant(ARN, ACM, { "GetCertificate" })
            assert.is_false(client:has_acm_renewal(ARN))
            assert.are.equal(1 + 3, svc.calls.ListPermissions)
        end)

        it("returns nil, err on failure", function()
            local _, client = setup{ cas = { [ARN] = "DELETED" } }
            local ok, err = client:has_acm_renewal(ARN)
            assert.is_nil(ok)
            assert.are.equal("InvalidStateException", err.code)
            assert.truthy(err.message:find("is DELETED", 1, true))
        end)

        it("rejects a bad ARN before sending anything", function()
            local svc, client = setup()
            assert.has_error(function() client:has_acm_renewal("x") end,
                             "acmpca.has_acm_renewal: " .. BAD_ARN_MSG)
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("revoke_acm_renewal", function()
        it("revokes, then reports absent without deleting again", function()
            local svc, client = setup()
            svc:grant(ARN, ACM, ALL)
            svc:grant(ARN, "other.example.com", ALL)
            local delta = counter(svc)
            assert.are.same({ true, "revoked" }, { client:revoke_acm_renewal(ARN) })
            assert.are.same({ ListPermissions = 1, CreatePermission = 0, DeletePermission = 1 },
                            delta())
            assert.are.same({ true, "absent" }, { client:revoke_acm_renewal(ARN) })
            assert.are.same({ ListPermissions = 1, CreatePermission = 0, DeletePermission = 0 },
                            delta())
            local perms = svc:permissions(ARN)
            assert.are.equal(1, #perms)
            assert.are.equal("other.example.com", perms[1].principal)
        end)

        it("treats a permission deleted meanwhile as absent", function()
            local svc, client = setup()
            svc:grant(ARN, ACM, ALL)
            svc:on_before("DeletePermission", function(s) s:remove(ARN, ACM) end)
            assert.are.same({ true, "absent" }, { client:revoke_acm_renewal(ARN) })
        end)

        it("explains a CA that is not ACTIVE", function()
            local svc, client = setup()
            svc:grant(ARN, ACM, ALL)
            svc:set_status(ARN, "DISABLED")
            local ok, err = client:revoke_acm_renewal(ARN)
            assert.is_nil(ok)
            assert.truthy(err.message:find("only be changed while the CA is ACTIVE", 1, true))
        end)

        it("rejects a bad ARN before sending anything", function()
            local svc, client = setup()
            assert.has_error(function() client:revoke_acm_renewal("x") end,
                             "acmpca.revoke_acm_renewal: " .. BAD_ARN_MSG)
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("permissions", function()
        it("iterates across every page", function()
            local svc, client = setup{ page_size = 2 }
            for i = 1, 5 do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" })
            end
            local seen = {}
            for p in client:permissions(ARN) do
                seen[#seen + 1] = p.principal
            end
            assert.are.same({ "p1.example.com", "p2.example.com", "p3.example.com",
                              "p4.example.com", "p5.example.com" }, seen)
            assert.are.equal(3, svc.calls.ListPermissions)
        end)

        it("takes the page size from opts.max_results", function()
            local svc, client = setup()
            for i = 1, 3 do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" })
            end
            local n = 0
            for _ in client:permissions(ARN, { max_results = 1 }) do
                n = n + 1
            end
            assert.are.equal(3, n)
            assert.are.equal(3, svc.calls.ListPermissions)
        end)

        it("yields false, err once on failure, then ends", function()
            local svc, client = setup{ page_size = 1, max_attempts = 1 }
            svc:grant(ARN, "p1.example.com", { "GetCertificate" })
            svc:grant(ARN, "p2.example.com", { "GetCertificate" })
            local got = {}
            svc:fail_next(1, "network", { operation = "ListPermissions" })
            for p, err in client:permissions(ARN) do
                got[#got + 1] = p and p.principal or err.code
            end
            assert.are.same({ "NetworkError" }, got)

            local iter = client:permissions(ARN)
            assert.are.equal("p1.example.com", iter().principal)
            svc:fail_next(1, "InternalFailure")
            local p, err = iter()
            assert.is_false(p)
            assert.are.equal("InternalFailure", err.code)
            assert.is_nil(iter())
        end)

        it("rejects bad arguments before sending anything", function()
            local svc, client = setup()
            assert.has_error(function() client:permissions("x") end,
                             "acmpca.permissions: " .. BAD_ARN_MSG)
            assert.has_error(function() client:permissions(ARN, { max_results = 0 }) end,
                             "acmpca.permissions: max_results: expected an integer from 1 "
                             .. "to 1000, got 0")
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("a service that repeats a NextToken", function()
        -- every page says there is another one, under the same token
        local function looping()
            local n = 0
            local client = acmpca.new{
                region = "us-east-1", credentials = mock.credentials,
                transport = function()
                    n = n + 1
                    return { status = 200, headers = {},
                             body = '{"Permissions":[{"Principal":"p' .. n
                                 .. '.example.com"}],"NextToken":"again"}' }
                end,
            }
            return client, function() return n end
        end
        local function is_loop_error(err)
            assert.are.equal("PaginationLoop", err.code)
            assert.is_false(err.retryable)
            assert.are.equal("ListPermissions", err.operation)
            assert.matches("ListPermissions: the service returned the same NextToken twice",
                           err.message, 1, true)
        end

        it("stops list_all_permissions with an error", function()
            local client, calls = looping()
            local list, err = client:list_all_permissions(ARN)
            assert.is_nil(list)
            is_loop_error(err)
            assert.are.equal(2, calls())
        end)

        it("stops permissions() with false, err once, then the end", function()
            local client, calls = looping()
            local iter = client:permissions(ARN)
            assert.are.equal("p1.example.com", iter().principal)
            local p, err = iter()
            assert.is_false(p)
            is_loop_error(err)
            assert.is_nil(iter())
            assert.are.equal(2, calls())
        end)
    end)

    describe("list_all_permissions", function()
        it("returns every permission as a list", function()
            local svc, client = setup{ page_size = 2 }
            for i = 1, 3 do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" }, "111122223333")
            end
            local list = client:list_all_permissions(ARN)
            assert.are.equal(3, #list)
            assert.are.equal("p3.example.com", list[3].principal)
            assert.are.equal("111122223333", list[1].source_account)
            assert.are.same({ "GetCertificate" }, list[2].actions)
            assert.are.equal(ARN, list[1].certificate_authority_arn)
            assert.is_number(list[1].created_at)
        end)

        it("returns nil, err on failure", function()
            local _, client = setup()
            local list, err = client:list_all_permissions(OTHER)
            assert.is_nil(list)
            assert.are.equal("ResourceNotFoundException", err.code)
        end)

        it("rejects a bad ARN before sending anything", function()
            local svc, client = setup()
            assert.has_error(function() client:list_all_permissions("x") end,
                             "acmpca.list_all_permissions: " .. BAD_ARN_MSG)
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("a NextToken the service repeats", function()
        -- A client whose ListPermissions always answers NextToken "again".
        local function looping()
            local n = 0
            local transport = function()
                n = n + 1
                return { status = 200, headers = { ["x-amzn-requestid"] = "r" .. n },
                         body = '{"Permissions": [], "NextToken": "again"}' }
            end
            local o = { region = "us-east-1", transport = transport,
                        credentials = { access_key_id = "AKID", secret_access_key = "s" },
                        getenv = function() end }
            return acmpca.new(o), function() return n end, o
        end

        local function loop_error(err, calls)
            assert.is_table(err)
            assert.equals("PaginationLoop", err.code)
            assert.is_string(err.message)
            assert.matches("same NextToken twice", err.message)
            assert.is_false(err.retryable)
            assert.equals(2, calls())
        end

        it("is a PaginationLoop error object from each helper", function()
            local c, calls = looping()
            local list, err = c:list_all_permissions(ARN)
            assert.is_nil(list)
            loop_error(err, calls)

            c, calls = looping()
            local ok, herr = c:has_acm_renewal(ARN)
            assert.is_nil(ok)
            loop_error(herr, calls)

            c, calls = looping()
            local eok, eerr = c:ensure_acm_renewal(ARN)
            assert.is_nil(eok)
            loop_error(eerr, calls)

            c, calls = looping()
            local got = {}
            for p, perr in c:permissions(ARN) do
                got[#got + 1] = { p, perr }
            end
            assert.equals(1, #got)
            assert.is_false(got[1][1])
            loop_error(got[1][2], calls)
        end)

        it("is a PaginationLoop error object through the module-level functions", function()
            local _, calls, o = looping()
            acmpca.configure(o)
            local list, err = acmpca.list_all_permissions(ARN)
            local ok, herr = acmpca.has_acm_renewal(ARN)
            acmpca.configure(nil)
            assert.is_nil(list)
            assert.is_nil(ok)
            assert.equals("PaginationLoop", herr.code)
            assert.equals(4, calls())
            assert.equals("PaginationLoop", err.code)
            assert.is_false(err.retryable)
        end)
    end)
end)
