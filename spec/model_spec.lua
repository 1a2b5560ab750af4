-- acmpca.model and src/model_gen.c against the published service model
-- (spec/fixtures/acm-pca-model, botocore's data, Apache-2.0): the committed
-- generated file is what the generator makes of the model today, and the
-- description the library runs on says what the model says.

local core = require "acmpca.core"
local model = require "acmpca.model"

package.path = "tools/?.lua;" .. package.path
local gen = require "gen_model"

local DIR = "spec/fixtures/acm-pca-model"


local read = gen.read


local service = gen.json_decode(read(DIR .. "/service-2.json"))
local paginators = gen.json_decode(read(DIR .. "/paginators-1.json")).pagination
local described = core.model()


local function opt(v)
    if v == nil or v == gen.null then
        return nil
    end
    return v
end


describe("acmpca.model", function()
    describe("src/model_gen.c", function()
        it("is exactly what tools/gen_model.lua makes of the model file (make model)", function()
            assert.equals(gen.generate(DIR), read("src/model_gen.c"))
        end)

        it("covers the operations the project speaks", function()
            local names = {}
            for _, op in ipairs(described.operations) do
                names[#names + 1] = op.name
            end
            assert.same({ "CreatePermission", "DeletePermission", "DeletePolicy",
                          "DescribeCertificateAuthority", "GetPolicy",
                          "ListCertificateAuthorities", "ListPermissions", "PutPolicy" }, names)
        end)

        it("refuses to generate an input pattern without a check in src/validate.c", function()
            local saved = gen.PATTERN_CHECKS["[^*]+"]
            gen.PATTERN_CHECKS["[^*]+"] = nil
            local ok, err = pcall(gen.generate, DIR)
            gen.PATTERN_CHECKS["[^*]+"] = saved
            assert.is_false(ok)
            assert.matches("shape Principal: input pattern", err, 1, true)
        end)
    end)

    describe("core.model()", function()
        it("has the service's metadata", function()
            local m = service.metadata
            assert.same({ api_version = m.apiVersion, service_id = m.serviceId,
                          target_prefix = m.targetPrefix, signing_name = m.signingName,
                          endpoint_prefix = m.endpointPrefix, json_version = m.jsonVersion,
                          content_type = "application/x-amz-json-1.1" }, described.service)
        end)

        for _, op in ipairs(described.operations) do
            it(op.name .. ": target, shapes, errors and paginator as the model says", function()
                local src = service.operations[op.name]
                assert.equals(service.metadata.targetPrefix .. "." .. op.name, op.target)
                assert.equals(gen.snake(op.name), op.method)
                assert.equals(src.input and src.input.shape, op.input)
                assert.equals(src.output and src.output.shape, op.output)
                local errors = {}
                for i, e in ipairs(src.errors or {}) do
                    errors[i] = e.shape
                end
                assert.same(errors, op.errors)
                local p = paginators[op.name]
                assert.same(p and { input_token = p.input_token, output_token = p.output_token,
                                    limit_key = p.limit_key, result_key = p.result_key },
                            op.paginator)
            end)
        end

        it("describes every shape the operations reach as the model does", function()
            local tops = {}
            for _, op in ipairs(described.operations) do
                if op.input then tops[op.input] = true end
            end
            local count = 0
            for name, shape in pairs(described.shapes) do
                local src = service.shapes[name]
                count = count + 1
                assert.equals(src.type, shape.type, name)
                assert.equals(opt(src.min), shape.min, name)
                assert.equals(opt(src.max), shape.max, name)
                assert.equals(opt(src.pattern), shape.pattern, name)
                assert.same(opt(src.enum), shape.enum, name)
                assert.equals(src.member and src.member.shape, shape.member, name)
                if src.type == "structure" then
                    local required = {}
                    for _, r in ipairs(src.required or {}) do
                        required[r] = true
                    end
                    local wires = gen.keys_of(src.members)
                    assert.equals(#wires, #shape.members, name)
                    for i, m in ipairs(shape.members) do
                        assert.equals(wires[i], m.wire, name .. " member order")
                        assert.equals(src.members[m.wire].shape, m.shape, name)
                        assert.equals(required[m.wire] == true, m.required, name)
                        local lua = tops[name] and gen.LUA_INPUT_NAMES[m.wire] or gen.snake(m.wire)
                        assert.equals(lua, m.lua, name)
                    end
                end
                if shape.pattern and shape.hint then
                    assert.is_string(shape.check, name .. ": an input pattern needs a check")
                end
            end
            -- nested output structures are there too
            assert.truthy(described.shapes.CertificateAuthorityConfiguration)
            assert.truthy(described.shapes.ASN1Subject)
            assert.truthy(count >= 60)
        end)
    end)

    describe("the Lua names", function()
        it("follow one rule", function()
            for wire, lua in pairs{
                CertificateAuthorityArn = "certificate_authority_arn", CreatedAt = "created_at",
                S3BucketName = "s3_bucket_name", CRLSign = "crl_sign", Rfc822Name = "rfc822_name",
                KeyStorageSecurityStandard = "key_storage_security_standard", Arn = "arn",
            } do
                assert.equals(lua, model.snake(wire))
                assert.equals(lua, gen.snake(wire))
            end
            assert.equals("certificate-authority-arn", model.kebab("CertificateAuthorityArn"))
        end)
    end)

    describe("the module", function()
        it("finds operations by model name or method, and shapes by name", function()
            assert.equals("ACMPrivateCA.ListPermissions", model.operation("ListPermissions").target)
            assert.equals("ListPermissions", model.operation("list_permissions").name)
            assert.is_nil(model.operation("IssueCertificate"))
            assert.equals("structure", model.shape("CertificateAuthority").type)
        end)

        it("is read-only: new keys raise, and changing it changes nothing", function()
            assert.has_error(function() model.operations.extra = 1 end,
                             "acmpca.model is read-only (a copy of the library's model): "
                             .. "cannot set extra")
            model.operation("ListPermissions").target = "Changed"
            assert.equals("ACMPrivateCA.ListPermissions", core.model().operations[7].target)
            local client = require("acmpca.client").new{
                region = "us-east-1", credentials = { access_key_id = "AKID",
                                                      secret_access_key = "secret" },
                transport = function(req)
                    assert.equals("ACMPrivateCA.ListPermissions", req.headers["X-Amz-Target"])
                    return { status = 200, headers = {}, body = "{}" }
                end,
            }
            assert.same({ permissions = {} }, client:list_permissions{
                ca_arn = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x" })
            model.operation("ListPermissions").target = "ACMPrivateCA.ListPermissions"
        end)
    end)
end)
