-- The `acmpca` command's operation commands, read from acmpca.model: the
-- command list, each command's options and synopsis, and, through a
-- recording transport that answers canned JSON, the exact request a command
-- sends and what it prints.  (spec/cli_spec.lua drives the permission and
-- renewal commands against the fake service.)

local cjson = require "cjson.safe"
local acmpca = require "acmpca"
local cli = require "acmpca.cli"
local model = require "acmpca.model"

local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local ARN2 = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "66666666-7777-8888-9999-000000000000"
local ARN_HINT = "arn:<partition>:acm-pca:<region>:<12-digit account>:certificate-authority/<id>"
local POLICY = '{"Version":"2012-10-17","Statement":[]}'


local buffer = require("helpers").buffer


-- A transport that records each request (its X-Amz-Target and decoded
-- body) and answers with answers[i] = { status =, body = table } for the
-- i-th request (the last answer repeats; default 200 {}).
local function recorder(answers)
    answers = answers or { {} }
    local rec = { calls = {} }
    function rec.transport(req)
        rec.calls[#rec.calls + 1] = {
            target = req.headers["X-Amz-Target"], params = cjson.decode(req.body),
        }
        local a = answers[math.min(#rec.calls, #answers)]
        return {
            status = a.status or 200,
            headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
            body = cjson.encode(a.body or {}),
        }
    end
    return rec
end


-- run argv with clients that send through rec (region us-east-1, fixed
-- keys, no environment); code, stdout, stderr
local function run(argv, rec)
    local out, err = buffer(), buffer()
    local code = cli.main(argv, {
        stdout = out, stderr = err, sleep = function() end,
        new = function(opts)
            opts.transport = rec.transport
            opts.credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }
            opts.region = opts.region or "us-east-1"
            opts.profile = nil
            opts.getenv = function() return nil end
            return acmpca.new(opts)
        end,
    })
    return code, out.text, err.text
end


-- the option aws-cli gives an input member of op
local function option_name(op, m)
    local pg = op.paginator
    if pg and m.wire == pg.limit_key then
        return "page-size"
    elseif pg and m.wire == pg.input_token then
        return "starting-token"
    end
    return model.kebab(m.wire)
end


describe("acmpca.cli operation commands", function()

    describe("commands and options from the model", function()
        it("lists every operation of the model in the help", function()
            for _, argv in ipairs{ { "--help" }, { "help" } } do
                local code, out, err = run(argv, recorder())
                assert.are.equal(0, code)
                assert.are.equal("", err)
                assert.truthy(out:find("\n  describe-certificate-authority\n", 1, true), out)
                assert.truthy(out:find("\n  get-policy          Calls the ACM PCA GetPolicy "
                                       .. "operation\n", 1, true), out)
                for _, op in ipairs(model.operations) do
                    local line = "\n  " .. model.kebab(op.name)
                    assert.truthy(out:find(line .. " ", 1, true) or out:find(line .. "\n", 1, true),
                                  op.name)
                end
            end
        end)

        it("shows list-certificate-authorities' options as aws-cli names them", function()
            local code, out = run({ "list-certificate-authorities", "--help" }, recorder())
            assert.are.equal(0, code)
            assert.are.equal("usage: acmpca list-certificate-authorities "
                             .. "[--resource-owner <value>]\n"
                             .. "        [--starting-token <value>] [--page-size <value>] "
                             .. "[--max-items <value>]\n\n"
                             .. "Calls the ACM PCA ListCertificateAuthorities operation, "
                             .. "every page.\n", out:match("^.-page%.\n"))
            assert.is_nil(out:find("--max-results", 1, true))
            assert.is_nil(out:find("--next-token", 1, true))
        end)

        it("gives each command its input members as options, required as the model says",
           function()
            for _, op in ipairs(model.operations) do
                local cmd = model.kebab(op.name)
                local code, out = run({ "help", cmd }, recorder())
                assert.are.equal(0, code)
                local synopsis = out:match("^(.-)\n\n")
                for _, m in ipairs(model.shape(op.input).members) do
                    local opt = "--" .. option_name(op, m) .. " <value>"
                    local at = synopsis:find(opt, 1, true)
                    assert.truthy(at, cmd .. " " .. opt)
                    assert.are.equal(not m.required, synopsis:sub(at - 1, at - 1) == "[",
                                     cmd .. " " .. opt)
                end
                assert.are.equal(op.paginator ~= nil,
                                 synopsis:find("[--max-items <value>]", 1, true) ~= nil, cmd)
            end
        end)

        it("asks for the model's required members, in model order", function()
            for _, op in ipairs(model.operations) do
                local missing = {}
                for _, m in ipairs(model.shape(op.input).members) do
                    if m.required then
                        missing[#missing + 1] = "--" .. option_name(op, m)
                    end
                end
                if #missing > 0 then
                    local rec = recorder()
                    local code, out, err = run({ model.kebab(op.name) }, rec)
                    assert.are.equal(2, code)
                    assert.are.equal("", out)
                    assert.truthy(err:find("acmpca: error: the following arguments are "
                                           .. "required: " .. table.concat(missing, ", ") .. "\n",
                                           1, true), err)
                    assert.are.equal(0, #rec.calls)
                end
            end
            local _, _, err = run({ "put-policy" }, recorder())
            assert.truthy(err:find("required: --resource-arn, --policy\n", 1, true), err)
        end)
    end)

    describe("get-policy", function()
        it("sends GetPolicy with the ResourceArn and prints the Policy", function()
            local rec = recorder{ { body = { Policy = POLICY } } }
            local code, out, err = run({ "get-policy", "--resource-arn", ARN }, rec)
            assert.are.equal(0, code, err)
            assert.are.equal(1, #rec.calls)
            assert.are.equal("ACMPrivateCA.GetPolicy", rec.calls[1].target)
            assert.are.same({ ResourceArn = ARN }, rec.calls[1].params)
            assert.are.equal('{\n    "Policy": "{\\"Version\\":\\"2012-10-17\\",'
                             .. '\\"Statement\\":[]}"\n}\n', out)
        end)

        it("prints nothing for an empty answer, as aws-cli", function()
            local code, out = run({ "get-policy", "--resource-arn", ARN }, recorder())
            assert.are.equal(0, code)
            assert.are.equal("", out)
        end)

        it("exits 1 with the service's error", function()
            local rec = recorder{ { status = 400, body = {
                __type = "ResourceNotFoundException", message = "Could not find resource" } } }
            local code, out, err = run({ "get-policy", "--resource-arn", ARN }, rec)
            assert.are.equal(1, code)
            assert.are.equal("", out)
            assert.are.equal("acmpca: An error occurred (ResourceNotFoundException) when "
                             .. "calling the GetPolicy operation: Could not find resource\n", err)
        end)
    end)

    describe("describe-certificate-authority", function()
        it("prints the nested CA with wire names in model order and ISO 8601 times", function()
            local rec = recorder{ { body = { CertificateAuthority = {
                Status = "ACTIVE", Type = "ROOT", LastStateChangeAt = 1700000000.25,
                CreatedAt = 1700000000, OwnerAccount = "111122223333", Arn = ARN,
                NotAGivenMember = "dropped",
                RevocationConfiguration = { CrlConfiguration = { Enabled = false } },
                CertificateAuthorityConfiguration = {
                    Subject = { CommonName = "Example Root", Country = "US" },
                    SigningAlgorithm = "SHA256WITHRSA", KeyAlgorithm = "RSA_2048",
                },
            } } } }
            local code, out, err = run({ "describe-certificate-authority",
                                         "--certificate-authority-arn", ARN }, rec)
            assert.are.equal(0, code, err)
            assert.are.equal("ACMPrivateCA.DescribeCertificateAuthority", rec.calls[1].target)
            assert.are.same({ CertificateAuthorityArn = ARN }, rec.calls[1].params)
            assert.are.equal(table.concat({
                '{',
                '    "CertificateAuthority": {',
                '        "Arn": "' .. ARN .. '",',
                '        "OwnerAccount": "111122223333",',
                '        "CreatedAt": "2023-11-14T22:13:20+00:00",',
                '        "LastStateChangeAt": "2023-11-14T22:13:20.250000+00:00",',
                '        "Type": "ROOT",',
                '        "Status": "ACTIVE",',
                '        "CertificateAuthorityConfiguration": {',
                '            "KeyAlgorithm": "RSA_2048",',
                '            "SigningAlgorithm": "SHA256WITHRSA",',
                '            "Subject": {',
                '                "Country": "US",',
                '                "CommonName": "Example Root"',
                '            }',
                '        },',
                '        "RevocationConfiguration": {',
                '            "CrlConfiguration": {',
                '                "Enabled": false',
                '            }',
                '        }',
                '    }',
                '}',
                '',
            }, "\n"), out)
        end)
    end)

    describe("list-certificate-authorities", function()
        it("reads every page, sending --resource-owner and --page-size each time", function()
            local rec = recorder{
                { body = { CertificateAuthorities = { { Arn = ARN, Status = "ACTIVE" } },
                           NextToken = "t1" } },
                { body = { CertificateAuthorities = { { Status = "DISABLED", Arn = ARN2 } } } },
            }
            local code, out, err = run({ "list-certificate-authorities", "--resource-owner",
                                         "SELF", "--page-size", "1" }, rec)
            assert.are.equal(0, code, err)
            assert.are.equal(2, #rec.calls)
            assert.are.equal("ACMPrivateCA.ListCertificateAuthorities", rec.calls[1].target)
            assert.are.same({ ResourceOwner = "SELF", MaxResults = 1 }, rec.calls[1].params)
            assert.are.same({ ResourceOwner = "SELF", MaxResults = 1, NextToken = "t1" },
                            rec.calls[2].params)
            assert.are.equal('{\n    "CertificateAuthorities": [\n'
                             .. '        {\n            "Arn": "' .. ARN .. '",\n'
                             .. '            "Status": "ACTIVE"\n        },\n'
                             .. '        {\n            "Arn": "' .. ARN2 .. '",\n'
                             .. '            "Status": "DISABLED"\n        }\n    ]\n}\n', out)
        end)

        it("stops at --max-items with the NextToken for --starting-token", function()
            local rec = recorder{ { body = { CertificateAuthorities = { { Arn = ARN } },
                                             NextToken = "t2" } } }
            local code, out = run({ "list-certificate-authorities", "--max-items", "1" }, rec)
            assert.are.equal(0, code)
            assert.are.equal(1, #rec.calls)
            assert.are.same({}, rec.calls[1].params) -- as aws: no MaxResults but --page-size
            local res = cjson.decode(out)
            assert.are.equal(1, #res.CertificateAuthorities)
            -- botocore's token: base64 of {"NextToken": "t2"} (spec/cli_token_spec.lua)
            local t2 = "eyJOZXh0VG9rZW4iOiAidDIifQ=="
            assert.are.equal(t2, res.NextToken)
            assert.truthy(out:find('\n    ],\n    "NextToken": "' .. t2 .. '"\n}\n$'), out)

            rec = recorder{ { body = { CertificateAuthorities = { { Arn = ARN2 } } } } }
            code, out = run({ "list-certificate-authorities", "--starting-token", t2 }, rec)
            assert.are.equal(0, code)
            assert.are.same({ NextToken = "t2" }, rec.calls[1].params)
            assert.is_nil(cjson.decode(out).NextToken)
        end)

        it("prints an empty list", function()
            local code, out = run({ "list-certificate-authorities" }, recorder())
            assert.are.equal(0, code)
            assert.are.equal('{\n    "CertificateAuthorities": []\n}\n', out)
        end)
    end)

    describe("put-policy and delete-policy", function()
        it("send the request and print nothing", function()
            local rec = recorder()
            local code, out, err = run({ "put-policy", "--resource-arn", ARN, "--policy",
                                         POLICY }, rec)
            assert.are.equal(0, code, err)
            assert.are.equal("", out)
            assert.are.equal("ACMPrivateCA.PutPolicy", rec.calls[1].target)
            assert.are.same({ ResourceArn = ARN, Policy = POLICY }, rec.calls[1].params)
            code, out, err = run({ "delete-policy", "--resource-arn=" .. ARN }, rec)
            assert.are.equal(0, code, err)
            assert.are.equal("", out)
            assert.are.equal("ACMPrivateCA.DeletePolicy", rec.calls[2].target)
            assert.are.same({ ResourceArn = ARN }, rec.calls[2].params)
        end)
    end)

    describe("usage errors", function()
        local cases = {
            { { "get-policy", "--resource-arn", "x" },
              "argument --resource-arn: expected " .. ARN_HINT .. ", got \"x\"" },
            { { "get-policy", "--resource-arn" },
              "argument --resource-arn: expected one argument" },
            { { "get-policy", "--resource-arn", ARN, "--certificate-authority-arn", ARN },
              "Unknown options: --certificate-authority-arn" },
            { { "get-policy", "--resource-arn", ARN, "--max-items", "1" },
              "Unknown options: --max-items" },
            { { "put-policy", "--resource-arn", ARN, "--policy", "" },
              "argument --policy: expected a non-empty string of at most 81920 characters, "
              .. "got \"\"" },
            { { "describe-certificate-authority", "--certificate-authority-arn",
                "arn:aws:s3:::b" },
              "argument --certificate-authority-arn: expected " .. ARN_HINT },
            { { "list-certificate-authorities", "--resource-owner", "ME" },
              "argument --resource-owner: expected one of SELF, OTHER_ACCOUNTS, got \"ME\"" },
            { { "list-certificate-authorities", "--page-size", "0" },
              "argument --page-size: expected an integer from 1 to 1000, got \"0\"" },
            { { "list-certificate-authorities", "--page-size", "1001" },
              "argument --page-size: expected an integer from 1 to 1000, got \"1001\"" },
            { { "list-certificate-authorities", "--max-items", "two" },
              "argument --max-items: expected an integer from 1 up, got \"two\"" },
            { { "list-certificate-authorities", "--starting-token=" },
              "argument --starting-token: expected a non-empty string" },
            { { "delete-permission", "--certificate-authority-arn", ARN, "--principal",
                "acm.amazonaws.com", "--source-account", "123" },
              "argument --source-account: expected a string of 12 digits, got \"123\"" },
        }
        for _, case in ipairs(cases) do
            it("exits 2 and sends nothing for " .. table.concat(case[1], " "), function()
                local rec = recorder()
                local code, out, err = run(case[1], rec)
                assert.are.equal(2, code)
                assert.are.equal("", out)
                assert.truthy(err:find("acmpca: error: " .. case[2], 1, true), err)
                assert.are.equal(0, #rec.calls)
            end)
        end
    end)
end)
