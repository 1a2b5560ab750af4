-- Successful answers checked against the operation's output shape from the
-- model (src/answer.c through acmpca.client): a 2xx body whose members do
-- not have the model's JSON types is an InvalidResponse error object, never
-- a result read as empty.  Unknown members and nulls are allowed.

local F = require "support.client_fixture"
local ARN = F.ARN
local new = F.new


-- The answer to one call of method with args on a 200 carrying body.
local function answer(method, args, body)
    local c, rec = new(nil, { status = 200, headers = { ["x-amzn-requestid"] = "rid-ok" },
                              body = body })
    local res, err = c[method](c, args)
    assert.equals(1, #rec.calls)
    return res, err
end


local function list_permissions(body)
    return answer("list_permissions", { ca_arn = ARN }, body)
end


local function describe_ca(ca_json)
    return answer("describe_certificate_authority", { ca_arn = ARN },
                  '{"CertificateAuthority": ' .. ca_json .. '}')
end


-- err is the InvalidResponse of a 200 whose message names where.
local function assert_invalid(res, err, where)
    assert.is_nil(res)
    assert.is_table(err, "expected an error for " .. where)
    assert.equals("InvalidResponse", err.code)
    assert.equals(200, err.status)
    assert.equals("rid-ok", err.request_id)
    assert.is_false(err.retryable)
    assert.equals(1, err.message:find("HTTP 200 answer does not match the model: ", 1, true))
    assert.matches(where, err.message, 1, true)
end


describe("answers checked against the model", function()
    describe("top level", function()
        it("refuses an array where the output structure is an object", function()
            local res, err = list_permissions("[1,2]")
            assert_invalid(res, err, "(top): expected an object, got an array")
        end)

        it("refuses a string, a number and null at the top", function()
            for _, body in ipairs{ '"str"', "12", "null", "true" } do
                local res, err = list_permissions(body)
                assert.is_nil(res, body)
                assert.equals("InvalidResponse", err.code, body)
                assert.equals(200, err.status, body)
            end
        end)
    end)


    describe("lists", function()
        it("refuses a string where Permissions is a list", function()
            local res, err = list_permissions('{"Permissions": "str"}')
            assert_invalid(res, err, "Permissions: expected an array, got a string")
        end)

        it("refuses an object where Permissions is a list", function()
            local res, err = list_permissions('{"Permissions": {"a": 1}}')
            assert_invalid(res, err, "Permissions: expected an array, got an object")
        end)

        it("refuses a list item that is not an object", function()
            local res, err = list_permissions('{"Permissions": [{}, 1]}')
            assert_invalid(res, err, "Permissions[2]: expected an object, got a number")
        end)

        it("refuses a wrongly typed member deep in a list item", function()
            local res, err = list_permissions(
                '{"Permissions": [{"Actions": ["IssueCertificate", 7]}]}')
            assert_invalid(res, err, "Permissions[1].Actions[2]: expected a string, got a number")
        end)

        it("accepts empty lists and objects either way, and a null list", function()
            for _, body in ipairs{ '{"Permissions": []}', '{"Permissions": {}}',
                                   '{"Permissions": null}', "{}" } do
                local res, err = list_permissions(body)
                assert.is_nil(err, body)
                assert.same({ permissions = {} }, res)
            end
        end)
    end)


    describe("scalars", function()
        local bad = {
            { '{"CreatedAt": "yesterday"}',
              "CertificateAuthority.CreatedAt: expected a timestamp" },
            { '{"CreatedAt": 1e400}', "CertificateAuthority.CreatedAt: expected a timestamp" },
            { '{"CreatedAt": 1e300}', "CertificateAuthority.CreatedAt: expected a timestamp" },
            { '{"CreatedAt": -1e13}', "CertificateAuthority.CreatedAt: expected a timestamp" },
            { '{"Status": 5}', "CertificateAuthority.Status: expected a string, got a number" },
            { '{"Serial": true}', "CertificateAuthority.Serial: expected a string, got a boolean" },
            { '{"Arn": ["x"]}', "CertificateAuthority.Arn: expected a string, got an array" },
            { '{"RevocationConfiguration": {"CrlConfiguration": {"Enabled": "yes"}}}',
              "CertificateAuthority.RevocationConfiguration.CrlConfiguration.Enabled: "
              .. "expected a boolean, got a string" },
            { '{"RevocationConfiguration": {"CrlConfiguration": {"ExpirationInDays": 7.5}}}',
              "CrlConfiguration.ExpirationInDays: expected an integer" },
            { '{"RevocationConfiguration": {"CrlConfiguration": {"ExpirationInDays": "7"}}}',
              "CrlConfiguration.ExpirationInDays: expected an integer from -2147483648 to "
              .. "2147483647, got a string" },
            { '{"RevocationConfiguration": {"CrlConfiguration": {"ExpirationInDays": 3e9}}}',
              "CrlConfiguration.ExpirationInDays: expected an integer" },
            { '{"CertificateAuthorityConfiguration": {"Subject": "CN=x"}}',
              "CertificateAuthorityConfiguration.Subject: expected an object, got a string" },
        }
        for _, b in ipairs(bad) do
            it("refuses " .. b[1], function()
                local res, err = describe_ca(b[1])
                assert_invalid(res, err, b[2])
            end)
        end

        it("accepts the model's types, fractions in timestamps, 7.0 as an integer", function()
            local res, err = describe_ca('{"CreatedAt": 1700000000.25, "Status": "NEW_STATUS",'
                .. '"RevocationConfiguration": {"CrlConfiguration": {"Enabled": false,'
                .. '"ExpirationInDays": 7.0}}, "FailureReason": null}')
            assert.is_nil(err)
            assert.equals(1700000000.25, res.certificate_authority.created_at)
            assert.equals("NEW_STATUS", res.certificate_authority.status)   -- enums stay open
            assert.equals(7, res.certificate_authority.revocation_configuration
                                .crl_configuration.expiration_in_days)
        end)
    end)


    describe("forward compatibility and bounds", function()
        it("allows unknown members of any type", function()
            local res, err = list_permissions('{"Permissions": [{"Principal": "acm.amazonaws.com",'
                .. '"NewThing": {"a": [1, "b", {"c": null}]}}], "Extra": [true, 2.5, "x"]}')
            assert.is_nil(err)
            assert.same({ permissions = { { principal = "acm.amazonaws.com" } } }, res)
        end)

        it("bounds the nesting depth, unknown members included", function()
            local deep = ("["):rep(100) .. ("]"):rep(100)
            local res, err = list_permissions('{"Extra": ' .. deep .. '}')
            assert_invalid(res, err, "nested deeper than")
            res, err = list_permissions('{"Extra": ' .. ("["):rep(20) .. ("]"):rep(20) .. '}')
            assert.is_nil(err)
            assert.same({ permissions = {} }, res)
        end)

        it("never sends the write after a malformed list (ensure-style read)", function()
            local c, rec = new(nil, { status = 200, headers = {}, body = '{"Permissions": "x"}' })
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals("InvalidResponse", err.code)
            assert.equals(1, #rec.calls)
            assert.is_nil(err.request_id)
        end)
    end)
end)
