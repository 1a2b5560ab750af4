-- Arguments against the model's input shapes (src/validate.c): every rule
-- with its message, and nothing sent for bad input.

local F = require "support.client_fixture"
local cjson = F.cjson
local ARN = F.ARN
local ACM = F.ACM
local ALL = F.ALL
local CREDS = F.CREDS
local ok = F.ok
local new = F.new


describe("acmpca.client validation", function()
    describe("validation", function()
        local long = string.rep("a", 129)
        local rules = {
            { "create_permission", { principal = ACM, actions = ALL }, "ca_arn: expected "
              .. "arn:<partition>:acm-pca:<region>:<12-digit account>:certificate-authority/<id>"
              .. ", got nil" },
            { "create_permission", { ca_arn = "x", principal = ACM, actions = ALL },
              "ca_arn: expected arn:<partition>:acm-pca:<region>:<12-digit account>:"
              .. "certificate-authority/<id>, got \"x\"" },
            { "list_permissions", { ca_arn = "arn:aws:acm:us-east-1:123456789012:certificate/x" },
              "ca_arn: expected" },
            { "list_permissions",
              { ca_arn = "arn:aws:acm-pca:us-east-1:12345:certificate-authority/x" },
              "ca_arn: expected" },
            { "list_permissions",
              { ca_arn = "arn:aws:acm-pca::123456789012:certificate-authority/x" },
              "ca_arn: expected" },
            { "list_permissions",
              { ca_arn = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/" },
              "ca_arn: expected" },
            { "list_permissions", { ca_arn = ARN .. "\n" }, "ca_arn: expected" },
            { "list_permissions", { ca_arn = 42 }, "ca_arn: expected arn:", "got 42" },
            { "create_permission", { ca_arn = ARN, principal = ACM }, "actions: expected a "
              .. "non-empty list of IssueCertificate, GetCertificate, ListPermissions, got nil" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = {} },
              "actions: expected a non-empty list", "got table" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = "IssueCertificate" },
              "actions: expected a non-empty list", "got \"IssueCertificate\"" },
            { "create_permission", { ca_arn = ARN, principal = ACM,
                                     actions = { "IssueCertificate", "RevokeCertificate" } },
              "actions[2]: expected one of IssueCertificate, GetCertificate, ListPermissions, "
              .. "got \"RevokeCertificate\"" },
            { "create_permission", { ca_arn = ARN, principal = ACM,
                                     actions = { "GetCertificate", "GetCertificate" } },
              "actions[2]: duplicate action, got \"GetCertificate\"" },
            { "create_permission", { ca_arn = ARN, principal = ACM,
                                     actions = { "GetCertificate", x = 1 } },
              "actions: expected a list (keys 1..n only)" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = { 1 } },
              "actions[1]: expected one of", "got 1" },
            { "create_permission", { ca_arn = ARN, actions = ALL },
              "principal: expected a string such as \"acm.amazonaws.com\", got nil" },
            { "create_permission", { ca_arn = ARN, principal = "", actions = ALL },
              "principal: must not be empty" },
            { "delete_permission", { ca_arn = ARN, principal = "*" },
              "principal: must not contain '*'" },
            { "delete_permission", { ca_arn = ARN, principal = "acm\r\n.amazonaws.com" },
              "principal: must not contain CR, LF or NUL" },
            { "delete_permission", { ca_arn = ARN, principal = "acm\0" },
              "principal: must not contain CR, LF or NUL" },
            { "delete_permission", { ca_arn = ARN, principal = long },
              "principal: must be at most 128 characters" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = ALL,
                                     source_account = "12345678901" },
              "source_account: expected a string of 12 digits, got \"12345678901\"" },
            { "delete_permission", { ca_arn = ARN, principal = ACM, source_account = 123456789012 },
              "source_account: expected a string of 12 digits, got 123456789012" },
            { "delete_permission",
              { ca_arn = ARN, principal = ACM, source_account = "12345678901a" },
              "source_account: expected a string of 12 digits" },
            { "list_permissions", { ca_arn = ARN, max_results = 0 },
              "max_results: expected an integer from 1 to 1000, got 0" },
            { "list_permissions", { ca_arn = ARN, max_results = 1001 },
              "max_results: expected an integer from 1 to 1000, got 1001" },
            { "list_permissions", { ca_arn = ARN, max_results = 2.5 },
              "max_results: expected an integer from 1 to 1000, got 2.5" },
            { "list_permissions", { ca_arn = ARN, max_results = "10" },
              "max_results: expected an integer from 1 to 1000, got \"10\"" },
            { "list_permissions", { ca_arn = ARN, next_token = "" },
              "next_token: expected a non-empty string of at most 43739 characters, got \"\"" },
            { "list_permissions", { ca_arn = ARN, next_token = string.rep("t", 43740) },
              "next_token: expected a non-empty string of at most 43739 characters" },
            { "list_permissions", { ca_arn = ARN, next_token = 5 },
              "next_token: expected a non-empty string" },
            { "list_permissions", { ca_arn = ARN, principal = ACM },
              "unknown argument \"principal\"" },
            { "create_permission", { ca_arn = ARN, principal = ACM, actions = ALL, ca_arm = 1 },
              "unknown argument \"ca_arm\"" },
            { "delete_permission", { ca_arn = ARN, principal = ACM, actions = ALL },
              "unknown argument \"actions\"" },
            -- names and actions are compared with their length, NUL included
            { "create_permission", { ca_arn = ARN, principal = ACM,
                                     actions = { "IssueCertificate\0x" } },
              "actions[1]: expected one of IssueCertificate, GetCertificate, ListPermissions, "
              .. "got \"IssueCertificate?x\"" },
            { "list_permissions", { ca_arn = ARN, ["max_results\0"] = 5 },
              "unknown argument \"max_results?\"" },
        }

        it("accepts the edges of every rule", function()
            local c, rec = new(nil, ok())
            assert(c:create_permission{ ca_arn = ARN, principal = string.rep("é", 128),
                                        actions = { "ListPermissions" } })
            assert(c:list_permissions{ ca_arn = ARN, max_results = 1000,
                                       next_token = string.rep("t", 43739) })
            assert(c:list_permissions{ ca_arn = "arn:aws-us-gov:acm-pca:us-gov-west-1:"
                                       .. "000000000000:certificate-authority/a_b.c" })
            assert(c:list_permissions{ ca_arn = ARN, max_results = 1 })
            assert.equals(4, #rec.calls)
            assert.equals(1000, cjson.decode(rec.calls[2].body).MaxResults)
        end)

        for i, rule in ipairs(rules) do
            local method, args, want, also = rule[1], rule[2], rule[3], rule[4]
            it(("rule %d: %s: %s"):format(i, method, want), function()
                for _, creds in ipairs{ CREDS, function() error("must not be called") end } do
                    local c, rec = new({ credentials = creds }, ok())
                    local ok_, err = pcall(c[method], c, args)
                    assert.is_false(ok_)
                    assert.is_string(err)
                    assert.matches("acmpca." .. method .. ": " .. want, err, 1, true)
                    if also then
                        assert.matches(also, err, 1, true)
                    end
                    assert.equals(0, #rec.calls)
                end
            end)
        end

        it("raises when the arguments are not a table", function()
            local c, rec = new(nil, ok())
            assert.has_error(function() c:list_permissions("arn") end,
                "acmpca.list_permissions: expected a table of arguments, got \"arn\"")
            assert.has_error(function() c:create_permission() end,
                "acmpca.create_permission: expected a table of arguments, got nil")
            assert.equals(0, #rec.calls)
        end)
    end)



    describe("the operations the model adds", function()
        local cases = {
            { "put_policy", { resource_arn = ARN }, "acmpca.put_policy: policy: expected a "
              .. "non-empty string of at most 81920 characters, got nil" },
            { "put_policy", { resource_arn = ARN, policy = "{\"a\":\"\1\"}" },
              "acmpca.put_policy: policy: must hold only tab, LF, CR and characters U+0020 "
              .. "to U+00FF" },
            { "put_policy", { resource_arn = ARN, policy = "{\"a\":\"\226\130\172\"}" },
              "policy: must hold only tab" },
            { "put_policy", { resource_arn = ARN, policy = ("x"):rep(81921) },
              "policy: expected a non-empty string of at most 81920 characters" },
            { "get_policy", { resource_arn = "arn:aws:s3:::bucket" },
              "acmpca.get_policy: resource_arn: expected arn:<partition>:acm-pca:" },
            { "get_policy", { ca_arn = ARN }, "acmpca.get_policy: unknown argument \"ca_arn\"" },
            { "delete_policy", {}, "acmpca.delete_policy: resource_arn: expected arn:" },
            { "describe_certificate_authority", { ca_arn = 1 }, "ca_arn: expected arn:",
              "got 1" },
            { "list_certificate_authorities", { resource_owner = "ME" },
              "acmpca.list_certificate_authorities: resource_owner: expected one of SELF, "
              .. "OTHER_ACCOUNTS, got \"ME\"" },
            { "list_certificate_authorities", { max_results = 0 },
              "max_results: expected an integer from 1 to 1000, got 0" },
            { "list_certificate_authorities", "x",
              "acmpca.list_certificate_authorities: expected a table of arguments" },
        }
        for _, case in ipairs(cases) do
            it(case[1] .. ": " .. case[3]:sub(1, 60), function()
                local c, rec = new(nil, ok())
                local okc, err = pcall(c[case[1]], c, case[2])
                assert.is_false(okc)
                assert.matches(case[3], err, 1, true)
                if case[4] then
                    assert.matches(case[4], err, 1, true)
                end
                assert.equals(0, #rec.calls)
            end)
        end

        it("accepts a policy of Latin-1 text, tabs and newlines, sent as given", function()
            local c, rec = new(nil, ok())
            local policy = '{"Version":"2012-10-17",\n\t"Sid":"caf\195\169"}'
            assert.is_true(c:put_policy{ policy = policy, resource_arn = ARN })
            assert.equals('{"ResourceArn":"' .. ARN .. '","Policy":'
                          .. cjson.encode(policy):gsub("\\/", "/") .. '}', rec.calls[1].body)
            assert.equals("ACMPrivateCA.PutPolicy", rec.calls[1].headers["X-Amz-Target"])
        end)

        it("an operation without an ARN needs the client's region, and says so", function()
            local c, rec = new({ region = false }, ok())
            local res, err = c:list_certificate_authorities{ resource_owner = "SELF" }
            assert.is_nil(res)
            assert.equals("NoRegionError", err.code)
            assert.equals("ListCertificateAuthorities", err.operation)
            assert.matches("no region", err.message, 1, true)
            assert.equals(0, #rec.calls)
        end)
    end)


    describe("UTF-8", function()
        local model = require("acmpca.model")._private()
        local SHAPES = model.shapes

        -- a valid value for a shape: the fewest members and items the model allows
        local function valid(name)
            local sh = SHAPES[name]
            if sh.type == "string" then
                if sh.enum then
                    return sh.enum[1]
                end
                local by_check = { arn = ARN, digits = "123456789012", principal = ACM,
                                   policy = "{}" }
                return by_check[sh.check] or ("a"):rep(math.max(1, math.floor(sh.min or 1)))
            elseif sh.type == "integer" or sh.type == "long" then
                return math.floor(sh.min or 1)
            elseif sh.type == "boolean" then
                return true
            elseif sh.type == "list" then
                return { valid(sh.member) }
            elseif sh.type == "structure" then
                local t = {}
                for _, m in ipairs(sh.members) do
                    if m.required then
                        t[m.lua] = valid(m.shape)
                    end
                end
                return t
            end
            return 0
        end

        -- every string member reachable from a shape: { path = "a.b[1]", keys = { k, shape }... }
        local function string_members(name, path, keys, out)
            local sh = SHAPES[name]
            if sh.type == "string" then
                out[#out + 1] = { path = path, keys = keys }
            elseif sh.type == "list" and #keys < 6 then
                local k = { table.unpack(keys) }
                k[#k + 1] = { 1, sh.member }
                string_members(sh.member, path .. "[1]", k, out)
            elseif sh.type == "structure" and #keys < 6 then
                for _, m in ipairs(sh.members) do
                    local k = { table.unpack(keys) }
                    k[#k + 1] = { m.lua, m.shape }
                    string_members(m.shape, path == "" and m.lua or path .. "." .. m.lua, k, out)
                end
            end
            return out
        end

        -- args with the member at keys set to v (its containers made valid)
        local function set(args, keys, v)
            local t = args
            for i = 1, #keys - 1 do
                local k, shape = keys[i][1], keys[i][2]
                if t[k] == nil then
                    t[k] = valid(shape)
                end
                t = t[k]
            end
            t[keys[#keys][1]] = v
            return args
        end

        local function members_of(op)
            return string_members(op.input, "", {}, {})
        end

        local BAD = {
            { "\128", "stray continuation byte" },
            { "a\191b", "stray continuation byte" },
            { "\192\175", "overlong encoding" },
            { "\193\191", "overlong encoding" },
            { "\224\128\175", "overlong encoding" },
            { "\224\159\191", "overlong encoding" },
            { "\240\128\128\175", "overlong encoding" },
            { "\240\143\191\191", "overlong encoding" },
            { "\237\160\128", "surrogate" },
            { "\237\191\191", "surrogate" },
            { "\237\173\191\237\176\128", "surrogate" },
            { "\244\144\128\128", "code point past U+10FFFF" },
            { "\245\128\128\128", "code point past U+10FFFF" },
            { "\248\136\128\128\128", "code point past U+10FFFF" },
            { "\255", "code point past U+10FFFF" },
            { "\195", "truncated sequence" },
            { "ab\226\130", "truncated sequence" },
            { "\240\159\152", "truncated sequence" },
            { "\226\130A", "truncated sequence" },
            { "\195\195\169", "truncated sequence" },
        }

        local count = 0
        for _, op in ipairs(model.operations) do
            for _, m in ipairs(members_of(op)) do
                count = count + 1
                it(("%s: %s: refuses every class of ill-formed sequence"):format(op.method, m.path),
                   function()
                    for _, bad in ipairs(BAD) do
                        local c, rec = new(nil, ok())
                        local args = set(valid(op.input), m.keys, bad[1])
                        local okc, err = pcall(c[op.method], c, args)
                        assert.is_false(okc, op.method .. " " .. m.path .. " " .. bad[2])
                        assert.matches("acmpca." .. op.method .. ": " .. m.path
                                       .. ": must be valid UTF-8 (" .. bad[2] .. " at byte ",
                                       err, 1, true)
                        assert.equals(0, #rec.calls)
                    end
                end)
            end
        end

        it("walks every operation's string members", function()
            -- ca_arn, principal, actions[1], source_account; ca_arn, principal,
            -- source_account; resource_arn; ca_arn; resource_arn; next_token,
            -- resource_owner; ca_arn, next_token; resource_arn, policy
            assert.equals(16, count)
            local c, rec = new(nil, ok())
            for _, op in ipairs(model.operations) do
                assert(c[op.method](c, valid(op.input)))
            end
            assert.equals(#model.operations, #rec.calls)
        end)

        it("accepts the edges of each encoding length", function()
            local c, rec = new(nil, ok())
            local edges = { "\0\127", "\194\128", "\223\191", "\224\160\128", "\237\159\191",
                            "\238\128\128", "\239\191\191", "\240\144\128\128",
                            "\244\143\191\191", "caf\195\169 \240\159\152\128" }
            for _, s in ipairs(edges) do
                assert(c:list_permissions{ ca_arn = ARN, next_token = s })
            end
            assert.equals(#edges, #rec.calls)
            assert.equals("\244\143\191\191",
                          cjson.decode(rec.calls[9].body).NextToken)
        end)

        it("counts characters, not bytes: 128 four-byte characters, not 129", function()
            local c, rec = new(nil, ok())
            local emoji = "\240\159\152\128"
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = emoji:rep(128) })
            assert.equals(emoji:rep(128), cjson.decode(rec.calls[1].body).Principal)
            local okc, err = pcall(c.delete_permission, c,
                                   { ca_arn = ARN, principal = emoji:rep(129) })
            assert.is_false(okc)
            assert.matches("principal: must be at most 128 characters", err, 1, true)
            assert.is_table(c:list_permissions{ ca_arn = ARN, next_token = emoji:rep(43739) })
            okc, err = pcall(c.list_permissions, c, { ca_arn = ARN, next_token = emoji:rep(43740) })
            assert.is_false(okc)
            assert.matches("next_token: expected a non-empty string of at most 43739 characters",
                           err, 1, true)
            assert.equals(2, #rec.calls)
        end)

        it("counts characters for the minimum too", function()
            -- AccountId: exactly 12 (digits, so one byte each); NextToken: at least 1
            local c, rec = new(nil, ok())
            assert(c:list_permissions{ ca_arn = ARN, next_token = "\226\130\172" })
            local okc, err = pcall(c.list_permissions, c, { ca_arn = ARN, next_token = "" })
            assert.is_false(okc)
            assert.matches("next_token: expected a non-empty string", err, 1, true)
            assert.equals(1, #rec.calls)
        end)

        it("refuses 10 MB of \\x80 without a request, and quotes a bounded excerpt", function()
            for _, method in ipairs{ "delete_permission", "create_permission" } do
                local c, rec = new(nil, ok())
                local okc, err = pcall(c[method], c, { ca_arn = ARN,
                                                       principal = ("\128"):rep(10 * 1024 * 1024),
                                                       actions = method == "create_permission"
                                                           and ALL or nil })
                assert.is_false(okc)
                assert.matches("acmpca." .. method .. ": principal: must be valid UTF-8 "
                               .. "(stray continuation byte at byte 1)", err, 1, true)
                assert.is_true(#err < 400, #err)
                assert.equals(0, #rec.calls)
            end
        end)

        it("names the byte where the sequence goes wrong", function()
            local c = new(nil, ok())
            local okc, err = pcall(c.list_permissions, c,
                                   { ca_arn = ARN, next_token = ("a"):rep(1000) .. "\237\160\128" })
            assert.is_false(okc)
            assert.matches("next_token: must be valid UTF-8 (surrogate at byte 1001)", err, 1, true)
        end)
    end)
end)
