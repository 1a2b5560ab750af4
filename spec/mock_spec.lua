-- The fake ACM PCA (acmpca.mock): request checks, signature verification,
-- the permission semantics, faults, counters and the JSON helper.

local cjson = require "cjson.safe"
local mock = require "acmpca.mock"
local sigv4 = require "acmpca.sigv4"

local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local OTHER = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "99999999-8888-7777-6666-555555555555"
local NOW = 1700000000
local URL = "https://acm-pca.us-east-1.amazonaws.com/"
local ALL = { "IssueCertificate", "GetCertificate", "ListPermissions" }


local function fixed_clock()
    return NOW
end


local function new_svc(opts)
    opts = opts or {}
    opts.now = opts.now or fixed_clock
    opts.cas = opts.cas or { [ARN] = { status = "ACTIVE" } }
    return mock.new(opts)
end


-- A request for op, signed unless o.unsigned; o overrides the parts.
local function request(op, body, o)
    o = o or {}
    local req = {
        method = o.method or "POST",
        url = o.url or URL,
        headers = {
            ["Content-Type"] = o.content_type or "application/x-amz-json-1.1",
            ["X-Amz-Target"] = o.target or ("ACMPrivateCA." .. op),
        },
        body = type(body) == "string" and body or cjson.encode(body),
    }
    if o.unsigned then
        return req
    end
    req.headers = sigv4.sign(req, {
        region = o.region or "us-east-1",
        service = o.service or "acm-pca",
        credentials = o.credentials or mock.credentials,
        time = o.time or NOW,
    })
    return req
end


local function call(svc, op, body, o)
    local res, err = svc(request(op, body, o))
    assert.is_nil(err)
    local decoded = cjson.decode(res.body)
    return res, decoded
end


local function expect_error(svc, op, body, status, code, message, o)
    local res, decoded = call(svc, op, body, o)
    assert.are.equal(status, res.status)
    assert.are.equal(code, decoded.__type)
    if message then
        assert.truthy(decoded.message:find(message, 1, true),
                      "message was: " .. tostring(decoded.message))
    end
    return decoded
end


describe("acmpca.mock", function()

    describe("new", function()
        it("makes a service with the given CAs", function()
            local svc = new_svc{ cas = { [ARN] = { status = "DISABLED" }, [OTHER] = "ACTIVE" } }
            assert.are.equal("DISABLED", svc:status(ARN))
            assert.are.equal("ACTIVE", svc:status(OTHER))
            assert.are.same({}, svc:permissions(ARN))
            assert.are.equal(0, svc.calls.ListPermissions)
            assert.are.equal(0, #svc.log)
        end)

        it("seeds permissions given with a CA", function()
            local svc = new_svc{ cas = { [ARN] = { status = "ACTIVE", permissions = {
                { principal = "acm.amazonaws.com", actions = { "GetCertificate" } },
            } } } }
            local perms = svc:permissions(ARN)
            assert.are.equal(1, #perms)
            assert.are.same({ "GetCertificate" }, perms[1].actions)
        end)

        it("rejects bad options", function()
            assert.has_error(function() mock.new("x") end,
                             "acmpca.mock.new: opts: expected a table, got string")
            assert.has_error(function() mock.new{ credentials = { access_key_id = "A" } } end,
                             "acmpca.mock.new: credentials: expected { access_key_id =, "
                             .. "secret_access_key = [, session_token =] }")
            assert.has_error(function() mock.new{ cas = { [ARN] = "ASLEEP" } } end,
                             "acmpca.mock.new: cas: bad entry for " .. ARN)
            assert.has_error(function() mock.new{ page_size = 0 } end,
                             "acmpca.mock.new: page_size: expected a positive integer")
            assert.has_error(function() mock.new{ now = 5 } end,
                             "acmpca.mock.new: now: expected a function, got number")
            assert.has_error(function() mock.new{ region = 5 } end,
                             "acmpca.mock.new: region: expected a string, got number")
        end)

        it("never shows the secret key", function()
            local svc = new_svc()
            assert.falsy(tostring(svc):find(mock.credentials.secret_access_key, 1, true))
            assert.falsy(tostring(svc.credentials):find("EXAMPLEKEY", 1, true))
            assert.truthy(tostring(svc.credentials):find("AKIDEXAMPLE", 1, true))
        end)
    end)

    describe("request checks", function()
        it("answers a well-formed, signed request like AWS", function()
            local svc = new_svc()
            local res, body = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN })
            assert.are.equal(200, res.status)
            assert.are.equal("application/x-amz-json-1.1", res.headers["content-type"])
            assert.are.equal(tostring(#res.body), res.headers["content-length"])
            assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", res.headers["x-amzn-requestid"])
            assert.are.equal("Tue, 14 Nov 2023 22:13:20 GMT", res.headers["date"])
            assert.are.equal('{"Permissions":[]}', res.body)
            assert.are.same({ Permissions = {} }, body)
        end)

        it("rejects a request signed with the wrong secret, and changes nothing", function()
            local svc = new_svc()
            local bad = { access_key_id = "AKIDEXAMPLE", secret_access_key = "not-the-secret" }
            local e = expect_error(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com", Actions = ALL,
            }, 403, "InvalidSignatureException",
                "The request signature we calculated does not match", { credentials = bad })
            assert.falsy(e.message:find("not-the-secret", 1, true))
            assert.are.same({}, svc:permissions(ARN))
            assert.are.equal(1, svc.calls.CreatePermission)
            assert.are.equal("InvalidSignatureException", svc.log[1].code)
        end)

        it("rejects a body changed after signing", function()
            local svc = new_svc()
            local req = request("ListPermissions", { CertificateAuthorityArn = ARN })
            req.body = cjson.encode{ CertificateAuthorityArn = OTHER }
            local res = svc(req)
            assert.are.equal(403, res.status)
            assert.are.equal("InvalidSignatureException", cjson.decode(res.body).__type)
        end)

        it("rejects a changed signed header", function()
            local svc = new_svc()
            local req = request("ListPermissions", { CertificateAuthorityArn = ARN })
            req.headers.Host = "acm-pca.eu-west-1.amazonaws.com"
            local res = svc(req)
            assert.are.equal(403, res.status)
            assert.are.equal("InvalidSignatureException", cjson.decode(res.body).__type)
        end)

        it("rejects an unknown access key", function()
            local svc = new_svc()
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 403,
                         "UnrecognizedClientException", "security token included",
                         { credentials = { access_key_id = "AKIDOTHER",
                                           secret_access_key = "x" } })
        end)

        it("checks the session token", function()
            local creds = { access_key_id = "ASIAEXAMPLE", secret_access_key = "s3cr3t",
                            session_token = "tok" }
            local svc = new_svc{ credentials = creds }
            local res = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN },
                             { credentials = creds })
            assert.are.equal(200, res.status)
            assert.are.equal("<redacted>", svc.log[1].headers["X-Amz-Security-Token"])
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 403,
                         "UnrecognizedClientException", nil,
                         { credentials = { access_key_id = "ASIAEXAMPLE",
                                           secret_access_key = "s3cr3t",
                                           session_token = "other" } })
        end)

        it("requires an Authorization header", function()
            local svc = new_svc()
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 403,
                         "MissingAuthenticationTokenException", "Missing Authentication Token",
                         { unsigned = true })
        end)

        it("requires the service's name and, when it has one, its region in the scope", function()
            local svc = new_svc{ region = "us-east-1" }
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 403,
                         "InvalidSignatureException", "scoped to correct service: 'acm-pca'",
                         { service = "acm" })
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 403,
                         "InvalidSignatureException", "valid region, not 'eu-west-1'",
                         { region = "eu-west-1" })
        end)

        it("refuses a signature more than five minutes off its clock", function()
            local svc = new_svc()
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 400,
                         "InvalidSignatureException",
                         "Signature expired: 20231114T220320Z is now earlier than "
                         .. "20231114T220820Z", { time = NOW - 600 })
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 400,
                         "InvalidSignatureException", "Signature not yet current",
                         { time = NOW + 600 })
            local res = call(svc, "ListPermissions", { CertificateAuthorityArn = ARN },
                             { time = NOW - 200 })
            assert.are.equal(200, res.status)
        end)

        it("accepts only POST /", function()
            local svc = new_svc()
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 404,
                         "UnknownOperationException", "only POST /", { method = "GET" })
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 404,
                         "UnknownOperationException", "only POST /",
                         { url = "https://acm-pca.us-east-1.amazonaws.com/other" })
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 404,
                         "UnknownOperationException", nil, { url = URL .. "?x=1" })
        end)

        it("needs the JSON 1.1 content type", function()
            local svc = new_svc()
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 400,
                         "SerializationException", "Content-Type must be",
                         { content_type = "application/json" })
        end)

        it("needs a known X-Amz-Target", function()
            local svc = new_svc()
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 400,
                         "UnknownOperationException", "ACMPrivateCA.GetPolicy",
                         { target = "ACMPrivateCA.GetPolicy" })
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN }, 400,
                         "UnknownOperationException", "Other.ListPermissions",
                         { target = "Other.ListPermissions" })
            assert.are.equal(0, svc.calls.ListPermissions)
        end)

        it("needs a JSON object body", function()
            local svc = new_svc()
            expect_error(svc, "ListPermissions", "{not json", 400, "SerializationException",
                         "not a JSON object")
            expect_error(svc, "ListPermissions", '["x"]', 400, "SerializationException",
                         "not a JSON object")
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN, Extra = 1 },
                         400, "SerializationException", "Unexpected member 'Extra'")
        end)

        it("raises when the request is not a table", function()
            local svc = new_svc()
            assert.has_error(function() svc("x") end,
                             "acmpca.mock: request: expected a table, got string")
        end)
    end)

    describe("input validation", function()
        local svc
        before_each(function() svc = new_svc() end)

        it("reports missing members", function()
            expect_error(svc, "CreatePermission", { CertificateAuthorityArn = ARN }, 400,
                         "ValidationException",
                         "2 validation errors detected: Value null at 'actions' failed to "
                         .. "satisfy constraint: Member must not be null; Value null at "
                         .. "'principal' failed to satisfy constraint: Member must not be null")
        end)

        it("checks the principal", function()
            expect_error(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "*", Actions = ALL,
            }, 400, "ValidationException", "Value '*' at 'principal' failed to satisfy "
                .. "constraint: Member must satisfy regular expression pattern: [^*]+")
            expect_error(svc, "DeletePermission", {
                CertificateAuthorityArn = ARN, Principal = ("p"):rep(129),
            }, 400, "ValidationException", "length less than or equal to 128")
            expect_error(svc, "DeletePermission", {
                CertificateAuthorityArn = ARN, Principal = 5,
            }, 400, "SerializationException", "Principal must be a string")
        end)

        it("checks the actions", function()
            local function bad(actions, message)
                expect_error(svc, "CreatePermission", {
                    CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com",
                    Actions = actions,
                }, 400, "ValidationException", message)
            end
            bad({ "IssueCertificate", "GetCertificate", "ListPermissions", "IssueCertificate" },
                "length less than or equal to 3")
            bad({ "RevokeCertificate" }, "enum value set")
            bad({ "GetCertificate", "GetCertificate" }, "must not contain duplicates")
            expect_error(svc, "CreatePermission", '{"CertificateAuthorityArn": "' .. ARN
                         .. '", "Principal": "acm.amazonaws.com", "Actions": "GetCertificate"}',
                         400, "SerializationException", "Actions must be a list")
            assert.are.same({}, svc:permissions(ARN))
        end)

        it("checks the source account", function()
            expect_error(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com", Actions = ALL,
                SourceAccount = "1234",
            }, 400, "ValidationException", "at 'sourceAccount'")
            expect_error(svc, "CreatePermission", {
                CertificateAuthorityArn = ARN, Principal = "acm.amazonaws.com", Actions = ALL,
                SourceAccount = "12345678901x",
            }, 400, "ValidationException", "pattern: [0-9]+")
        end)

        it("checks MaxResults and NextToken", function()
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN, MaxResults = 0 },
                         400, "ValidationException", "greater than or equal to 1")
            expect_error(svc, "ListPermissions",
                         { CertificateAuthorityArn = ARN, MaxResults = 1001 },
                         400, "ValidationException", "less than or equal to 1000")
            expect_error(svc, "ListPermissions",
                         { CertificateAuthorityArn = ARN, MaxResults = 1.5 },
                         400, "SerializationException", "MaxResults must be an integer")
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = ARN, NextToken = "" },
                         400, "ValidationException", "at 'nextToken'")
        end)

        it("tells a malformed ARN from a well-formed ARN that is not a CA's", function()
            expect_error(svc, "ListPermissions", { CertificateAuthorityArn = "arn:x" }, 400,
                         "ValidationException", "at 'certificateAuthorityArn'")
            expect_error(svc, "ListPermissions", {
                CertificateAuthorityArn = "arn:aws:acm-pca:us-east-1:1234:certificate-authority/x",
            }, 400, "InvalidArnException", "not valid")
            expect_error(svc, "ListPermissions", {
                CertificateAuthorityArn = "arn:aws:acm-pca:us-east-1:111122223333:thing/x",
            }, 400, "InvalidArnException")
        end)
    end)

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
            assert.has_error(function() svc:on_before("GetPolicy", function() end) end,
                             "acmpca.mock.on_before: op: expected CreatePermission, "
                             .. "ListPermissions or DeletePermission, got GetPolicy")
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

    describe("json", function()
        local json = mock.json

        it("keeps key order, leaves nil out and encodes empty arrays", function()
            assert.are.equal('{"b":1,"a":[],"c":"x/y"}',
                             json.encode(json.object("b", 1, "a", json.array(), "z", nil,
                                                     "c", "x/y")))
        end)

        it("escapes like JSON requires", function()
            assert.are.equal('"q\\"b\\\\n\\nt\\t\\u0001"', json.encode('q"b\\n\nt\t\1'))
        end)

        it("pretty-prints like Python's json.dumps(indent=4)", function()
            assert.are.equal('{\n    "A": [\n        1,\n        2.5\n    ],\n    "B": {},\n'
                             .. '    "C": true\n}',
                             json.encode(json.object("A", { 1, 2.5 }, "B", {}, "C", true), 4))
        end)

        it("refuses what JSON cannot hold", function()
            assert.has_error(function() json.encode(0 / 0) end)
            assert.has_error(function() json.encode{ [true] = 1 } end)
        end)
    end)
end)
