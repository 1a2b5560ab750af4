-- acmpca.mock: making the fake service, its request checks and input
-- validation (as the service words them), and its JSON.

local F = require "support.mock_fixture"
local cjson = F.cjson
local mock = F.mock
local ARN = F.ARN
local OTHER = F.OTHER
local NOW = F.NOW
local URL = F.URL
local ALL = F.ALL
local new_svc = F.new_svc
local request = F.request
local call = F.call
local expect_error = F.expect_error


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
                             "acmpca.mock.new: cas: bad entry for " .. ARN .. ": status: "
                             .. "expected one of ACTIVE, CREATING, DELETED, DISABLED, EXPIRED, "
                             .. "FAILED, PENDING_CERTIFICATE, got ASLEEP")
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
                         "UnknownOperationException", "ACMPrivateCA.IssueCertificate",
                         { target = "ACMPrivateCA.IssueCertificate" })
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
