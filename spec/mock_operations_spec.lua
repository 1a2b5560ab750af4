-- acmpca.mock: the operations' semantics, injected faults, hooks, state
-- helpers and the client over the fake.

local F = require "support.mock_fixture"
local cjson = F.cjson
local ARN = F.ARN
local OTHER = F.OTHER
local NOW = F.NOW
local ALL = F.ALL
local new_svc = F.new_svc
local request = F.request
local call = F.call
local expect_error = F.expect_error


describe("acmpca.mock operations", function()
    describe("CreatePermission", function()
        it("stores the permission", function()
            local svc = new_svc()
            local res = call(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com", Actions = ALL,
                SourceAccount = "111122223333",
            })
            assert.are.equal(200, res.status)
            assert.are.equal("{}", res.body)
            assert.are.same({ {
                certificate_authority_arn = ARN, principal = "acm.amazonaws.com",
                actions = ALL, source_account = "111122223333", created_at = NOW,
            } }, svc:permissions(ARN))
        end)

        it("refuses a principal that already has a permission", function()
            local svc = new_svc()
            svc:grant(ARN, "acm.amazonaws.com", { "GetCertificate" })
            expect_error(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com", Actions = ALL,
            }, 400, "PermissionAlreadyExistsException", "already been given")
            assert.are.same({ "GetCertificate" }, svc:permissions(ARN)[1].actions)
        end)

        it("knows unknown CAs and CAs that are not ACTIVE", function()
            local svc = new_svc{ cas = { [ARN] = { status = "DISABLED" } } }
            local body = { CertificateAuthorityArn = OTHER, Principal = "acm.amazonaws.com",
                           Actions = ALL }
            expect_error(svc, "CreatePermission", body, 400, "ResourceNotFoundException", OTHER)
            body.CertificateAuthorityArn = ARN
            expect_error(svc, "CreatePermission", body, 400, "InvalidStateException",
                         "is in the DISABLED state")
            assert.are.same({}, svc:permissions(ARN))
        end)
    end)

    describe("DeletePermission", function()
        it("removes the principal's permission", function()
            local svc = new_svc()
            svc:grant(ARN, "acm.amazonaws.com", ALL)
            svc:grant(ARN, "other.amazonaws.com", ALL)
            local res = call(svc, "DeletePermission",
                             { CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com" })
            assert.are.equal(200, res.status)
            local perms = svc:permissions(ARN)
            assert.are.equal(1, #perms)
            assert.are.equal("other.amazonaws.com", perms[1].principal)
        end)

        it("reports a permission that is not there", function()
            local svc = new_svc()
            expect_error(svc, "DeletePermission",
                         { CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com" },
                         400, "ResourceNotFoundException", "acm.amazonaws.com")
        end)

        it("needs the CA ACTIVE", function()
            local svc = new_svc()
            svc:grant(ARN, "acm.amazonaws.com", ALL)
            svc:set_status(ARN, "EXPIRED")
            expect_error(svc, "DeletePermission",
                         { CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com" },
                         400, "InvalidStateException", "EXPIRED")
            assert.are.equal(1, #svc:permissions(ARN))
        end)
    end)

    describe("ListPermissions", function()
        local function seed(svc, n)
            for i = 1, n do
                svc:grant(ARN, "p" .. i .. ".example.com", { "GetCertificate" })
            end
        end

        it("returns the permissions as AWS does", function()
            local svc = new_svc()
            svc:grant(ARN, "acm.amazonaws.com", ALL, "111122223333")
            local res, body = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN })
            assert.are.equal(200, res.status)
            assert.is_nil(body.NextToken)
            local p = body.Permissions[1]
            assert.are.equal(ARN, p.CertificateAuthorityArn)
            assert.are.equal(NOW, p.CreatedAt)
            assert.are.equal("acm.amazonaws.com", p.Principal)
            assert.are.equal("111122223333", p.SourceAccount)
            assert.are.same(ALL, p.Actions)
            local policy = cjson.decode(p.Policy)
            assert.are.equal("acm.amazonaws.com", policy.Statement[1].Principal.Service)
            assert.are.same({ "acm-pca:IssueCertificate", "acm-pca:GetCertificate",
                              "acm-pca:ListPermissions" }, policy.Statement[1].Action)
            -- model member order, as AWS sends it
            assert.truthy(res.body:find('"CertificateAuthorityArn".*"CreatedAt".*"Principal"'
                                        .. '.*"SourceAccount".*"Actions".*"Policy"'))
        end)

        it("pages with MaxResults and an opaque NextToken", function()
            local svc = new_svc()
            seed(svc, 5)
            local seen, token, pages = {}, nil, 0
            repeat
                local _, body = call(svc, "ListPermissions",
                                     { CertificateAuthorityArn = ARN, MaxResults = 2,
                                       NextToken = token })
                pages = pages + 1
                for _, p in ipairs(body.Permissions) do
                    seen[#seen + 1] = p.Principal
                end
                token = body.NextToken
                if token then
                    assert.falsy(token:find("^%d+$"))
                end
            until not token
            assert.are.equal(3, pages)
            assert.are.same({ "p1.example.com", "p2.example.com", "p3.example.com",
                              "p4.example.com", "p5.example.com" }, seen)
        end)

        it("pages by the service's page size without MaxResults", function()
            local svc = new_svc{ page_size = 3 }
            seed(svc, 4)
            local _, body = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN })
            assert.are.equal(3, #body.Permissions)
            assert.is_string(body.NextToken)
        end)

        it("refuses a token it did not issue, or issued for another CA", function()
            local svc = new_svc{ cas = { [ARN] = "ACTIVE", [OTHER] = "ACTIVE" } }
            seed(svc, 3)
            expect_error(svc, "ListPermissions",
                         { CertificateAuthorityArn = ARN, NextToken = "made-up" },
                         400, "InvalidNextTokenException", "NextToken argument is not valid")
            local _, body = call(svc, "ListPermissions",
                                 { CertificateAuthorityArn = ARN, MaxResults = 1 })
            expect_error(svc, "ListPermissions",
                         { CertificateAuthorityArn = OTHER, NextToken = body.NextToken },
                         400, "InvalidNextTokenException")
        end)

        it("lists while DISABLED but not once DELETED", function()
            local svc = new_svc{ cas = { [ARN] = "DISABLED" } }
            local res = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN })
            assert.are.equal(200, res.status)
            svc:set_status(ARN, "DELETED")
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 400,
                         "InvalidStateException", "DELETED")
        end)
    end)

    describe("fail_next", function()
        it("throttles the next n calls, then answers", function()
            local svc = new_svc()
            svc:fail_next(2, "ThrottlingException")
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 400,
                         "ThrottlingException", "Rate exceeded")
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 400,
                         "ThrottlingException")
            local res = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN })
            assert.are.equal(200, res.status)
            assert.are.equal(3, svc.calls.ListPermissions)
            assert.are.equal("ThrottlingException", svc.log[1].fault)
            assert.is_nil(svc.log[3].fault)
        end)

        it("can target one operation", function()
            local svc = new_svc()
            svc:fail_next(1, "AccessDeniedException", { operation = "CreatePermission" })
            local res = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN })
            assert.are.equal(200, res.status)
            expect_error(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com", Actions = ALL,
            }, 400, "AccessDeniedException")
            assert.are.same({}, svc:permissions(ARN))
        end)

        it("answers 5xx with JSON or a proxy's HTML page", function()
            local svc = new_svc()
            svc:fail_next(1, 503):fail_next(1, 500):fail_next(1, 502)
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 503,
                         "ServiceUnavailable")
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 500,
                         "InternalFailure")
            local res = svc(request("ListPermissions", { CertificateAuthorityArn = ARN }))
            assert.are.equal(502, res.status)
            assert.are.equal("text/html", res.headers["content-type"])
            assert.truthy(res.body:find("<html>", 1, true))
        end)

        it("sends a malformed body", function()
            local svc = new_svc()
            svc:fail_next(1, "malformed")
            local res = svc(request("ListPermissions", { CertificateAuthorityArn = ARN }))
            assert.are.equal(200, res.status)
            assert.is_nil(cjson.decode(res.body))
        end)

        it("fails at the network level", function()
            local svc = new_svc()
            svc:fail_next(1, "network"):fail_next(1, "timeout")
            local res, err = svc(request("ListPermissions", { CertificateAuthorityArn = ARN }))
            assert.is_nil(res)
            assert.are.equal("NetworkError", err.code)
            res, err = svc(request("ListPermissions", { CertificateAuthorityArn = ARN }))
            assert.is_nil(res)
            assert.are.equal("Timeout", err.code)
            assert.are.equal(2, svc.calls.ListPermissions)
        end)

        it("rejects bad arguments", function()
            local svc = new_svc()
            assert.has_error(function() svc:fail_next(0, "ThrottlingException") end,
                             "acmpca.mock.fail_next: n: expected a positive integer, got 0")
            assert.has_error(function() svc:fail_next(1, {}) end)
            assert.has_error(function()
                svc:fail_next(1, "ThrottlingException", { operation = "IssueCertificate" })
            end, "acmpca.mock.fail_next: operation: expected one of CreatePermission, "
                .. "DeletePermission, DeletePolicy, DescribeCertificateAuthority, GetPolicy, "
                .. "ListCertificateAuthorities, ListPermissions, PutPolicy, got IssueCertificate")
        end)
    end)

    describe("on_before", function()
        it("runs before the service acts, with the request's parameters", function()
            local svc = new_svc()
            local got
            svc:on_before("CreatePermission", function(s, params)
                got = params.Principal
                s:grant(ARN, params.Principal, ALL)
            end)
            expect_error(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com", Actions = ALL,
            }, 400, "PermissionAlreadyExistsException")
            assert.are.equal("acm.amazonaws.com", got)
            svc:on_before("CreatePermission", nil)
            svc:remove(ARN, "acm.amazonaws.com")
            local res = call(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com", Actions = ALL,
            })
            assert.are.equal(200, res.status)
        end)

        it("rejects unknown operations", function()
            local svc = new_svc()
            assert.has_error(function() svc:on_before("IssueCertificate", function() end) end,
                             "acmpca.mock.on_before: op: expected one of CreatePermission, "
                             .. "DeletePermission, DeletePolicy, DescribeCertificateAuthority, "
                             .. "GetPolicy, ListCertificateAuthorities, ListPermissions, "
                             .. "PutPolicy, got IssueCertificate")
        end)
    end)

    describe("state helpers", function()
        it("set_status, grant, remove and permissions check their arguments", function()
            local svc = new_svc()
            assert.has_error(function() svc:set_status(OTHER, "ACTIVE") end,
                             "acmpca.mock.set_status: no such CA: " .. OTHER)
            assert.has_error(function() svc:set_status(ARN, "SLEEPING") end)
            assert.has_error(function() svc:permissions(OTHER) end)
            assert.has_error(function() svc:grant(ARN, 5, {}) end)
            assert.is_false(svc:remove(ARN, "nobody"))
            svc:add_ca(OTHER, "CREATING")
            assert.are.equal("CREATING", svc:status(OTHER))
        end)

        it("reset forgets counts, log and faults but not state", function()
            local svc = new_svc()
            svc:grant(ARN, "acm.amazonaws.com", ALL)
            svc:fail_next(5, "ThrottlingException")
            call(svc, "ListPermissions", { CertificateAuthorityArn = ARN })
            svc:reset()
            assert.are.equal(0, svc.calls.ListPermissions)
            assert.are.equal(0, #svc.log)
            local res = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN })
            assert.are.equal(200, res.status)
            assert.are.equal(1, #svc:permissions(ARN))
        end)
    end)

    describe("client", function()
        it("returns an acmpca client wired to the service", function()
            local svc = new_svc{ now = os.time }
            local client = svc:client()
            assert.is_true(client:create_permission{
                ca_arn = ARN, principal = "acm.amazonaws.com", actions = ALL,
            })
            local page = client:list_permissions{ ca_arn = ARN }
            assert.are.equal("acm.amazonaws.com", page.permissions[1].principal)
            assert.are.equal(1, svc.calls.CreatePermission)
            assert.are.equal(1, svc.calls.ListPermissions)
            client:close()
        end)
    end)

end)
