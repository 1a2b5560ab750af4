-- The one CA ARN rule (src/arn.c), core.parse_ca_arn.

local F = require "support.client_fixture"
local core = F.core
local sigv4 = F.sigv4
local cjson = F.cjson
local ARN = F.ARN
local ok = F.ok
local new = F.new


describe("core.parse_ca_arn", function()
    describe("core.parse_ca_arn", function()
        it("splits a CA ARN into partition, region, account and id", function()
            assert.same({ "aws", "eu-west-1", "123456789012",
                          "11111111-2222-3333-4444-555555555555" }, { core.parse_ca_arn(ARN) })
            assert.same({ "aws-us-gov", "us-gov-west-1", "000000000000", "a_b.c/d=e" },
                        { core.parse_ca_arn("arn:aws-us-gov:acm-pca:us-gov-west-1:000000000000:"
                                            .. "certificate-authority/a_b.c/d=e") })
        end)

        it("says why anything else is not one", function()
            local PFX = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
            local bad = {
                { nil, "expected a string, got nil" },
                { 42, "expected a string, got number" },
                { "x", "expected 5 to 200 characters" },
                { PFX .. string.rep("a", 201 - #PFX), "expected 5 to 200 characters" },
                { "urn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x",
                  "expected it to start with \"arn:\"" },
                { "arn::acm-pca:us-east-1:123456789012:certificate-authority/x", "bad partition" },
                { "arn:aws:acm:us-east-1:123456789012:certificate-authority/x",
                  "not an acm-pca ARN" },
                { "arn:aws:acm-pca::123456789012:certificate-authority/x", "bad region" },
                { "arn:aws:acm-pca:US-EAST-1:123456789012:certificate-authority/x", "bad region" },
                { "arn:aws:acm-pca:us-east-1:12345:certificate-authority/x",
                  "the account must be 12 digits" },
                { "arn:aws:acm-pca:us-east-1:1234567890123:certificate-authority/x",
                  "the account must be 12 digits" },
                { "arn:aws:acm-pca:us-east-1:123456789012:certificate/x",
                  "not a certificate-authority ARN" },
                { PFX, "bad resource id" },
                { PFX .. "a//b", "bad resource id" },
                { PFX .. "a/", "bad resource id" },
                { PFX .. "a b", "bad resource id" },
                { ARN .. "\n", "bad resource id" },
                { ARN .. "\0", "bad resource id" },
            }
            for _, case in ipairs(bad) do
                local v, why = core.parse_ca_arn(case[1])
                assert.is_nil(v)
                assert.equals(case[2], why)
            end
        end)

        it("is the rule of the client, acmpca.is_ca_arn and the mock alike", function()
            local acmpca = require "acmpca"
            local mock = require "acmpca.mock"
            local PFX = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
            local candidates = {
                ARN, PFX .. "x", PFX .. "a/b", PFX .. "a//b", PFX, PFX .. "a*b", "x",
                "arn:aws-cn:acm-pca:cn-north-1:123456789012:certificate-authority/a_b.c",
                "arn:aws:acm-pca:us-east-1:1234:certificate-authority/x",
                "arn:aws:acm-pca:us-east-1:111122223333:thing/x",
                "arn:aws:acm-pca:us_east_1:123456789012:certificate-authority/x",
                PFX .. string.rep("i", 200 - #PFX), PFX .. string.rep("i", 201 - #PFX),
            }
            for _, arn in ipairs(candidates) do
                local valid = core.parse_ca_arn(arn) ~= nil
                local c, rec = new(nil, ok())
                assert.equals(valid, (pcall(c.list_permissions, c, { ca_arn = arn })), arn)
                assert.equals(valid and 1 or 0, #rec.calls)
                assert.equals(valid, acmpca.is_ca_arn(arn), arn)
                -- the mock answers InvalidArnException (or, for what the model's
                -- own pattern refuses, ValidationException) exactly when the
                -- client refuses to send
                local svc = mock.new{ cas = { [arn] = "ACTIVE" } }
                local req = { method = "POST", url = "https://acm-pca.us-east-1.amazonaws.com/",
                              body = cjson.encode{ CertificateAuthorityArn = arn },
                              headers = { ["Content-Type"] = "application/x-amz-json-1.1",
                                          ["X-Amz-Target"] = "ACMPrivateCA.ListPermissions" } }
                req.headers = sigv4.sign(req, { region = "us-east-1", service = "acm-pca",
                                                credentials = svc.credentials })
                local res = svc(req)
                local code = cjson.decode(res.body).__type
                if valid then
                    assert.equals(200, res.status, arn)
                else
                    assert.is_truthy(code == "InvalidArnException"
                                     or code == "ValidationException", arn)
                end
            end
        end)
    end)


end)
