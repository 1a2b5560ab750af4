-- acmpca.show and the readable results: tostring of a page and of a
-- permission, acmpca.show of anything (secrets redacted), acmpca.help,
-- client:region() and client:endpoint().

local F = require "support.renewal_fixture"
local acmpca = F.acmpca
local mock = F.mock
local ARN = F.ARN
local ACM = F.ACM
local ALL = F.ALL
local setup = F.setup
local show = require "acmpca.show"

local SECRET = mock.credentials.secret_access_key


-- acmpca.show's output, captured
local function shown(...)
    local real = io.stdout
    local buf = {}
    local fake = { write = function(self, ...)
        for i = 1, select("#", ...) do
            buf[#buf + 1] = select(i, ...)
        end
        return self
    end }
    io.stdout = fake -- luacheck: ignore
    local ok, text = pcall(acmpca.show, ...)
    io.stdout = real -- luacheck: ignore
    assert(ok, text)
    assert.are.equal(text .. "\n", table.concat(buf))
    return text
end


describe("acmpca.show", function()
    describe("tostring of results", function()
        it("a list_permissions page lists its permissions, one a line", function()
            local svc, c = setup{ page_size = 1 }
            svc:grant(ARN, ACM, ALL, "444455556666")
            svc:grant(ARN, "example.com", { "GetCertificate" })
            local page = c:list_permissions{ ca_arn = ARN, max_results = 1 }
            assert.are.equal("ListPermissions page: 1 permission, more to come (next_token) on "
                .. ARN .. "\n  acm.amazonaws.com: IssueCertificate, GetCertificate, "
                .. "ListPermissions (source account 444455556666)", tostring(page))
            local last = c:list_permissions{ ca_arn = ARN, next_token = page.next_token }
            assert.are.equal("ListPermissions page: 1 permission, the last page on " .. ARN
                .. "\n  example.com: GetCertificate", tostring(last))
        end)

        it("an empty page says so", function()
            local _, c = setup()
            assert.are.equal("ListPermissions page: 0 permissions, the last page",
                             tostring(c:list_permissions{ ca_arn = ARN }))
        end)

        it("a permission is one line", function()
            local _, c = setup()
            c:ensure_acm_renewal(ARN)
            local p = c:list_all_permissions(ARN)[1]
            assert.are.equal("permission acm.amazonaws.com: IssueCertificate, GetCertificate, "
                             .. "ListPermissions on " .. ARN, tostring(p))
        end)

        it("results keep their fields and compare as plain tables", function()
            local _, c = setup()
            c:ensure_acm_renewal(ARN)
            local page = c:list_permissions{ ca_arn = ARN }
            assert.are.same(ALL, page.permissions[1].actions)
            assert.are.equal(ACM, page.permissions[1].principal)
            assert.is_nil(page.next_token)
        end)
    end)

    describe("show", function()
        it("prints and returns a result as indented text, keys sorted", function()
            local _, c = setup()
            c:ensure_acm_renewal(ARN, { source_account = "111122223333" })
            local text = shown(c:describe_certificate_authority{ ca_arn = ARN })
            assert.matches("^certificate_authority:\n  arn: \"arn:aws:acm%-pca:", text)
            assert.matches("\n  status: \"ACTIVE\"", text)
        end)

        it("shows several values on one line when each fits one", function()
            assert.are.equal("true\tcreated", shown(true, "created"))
            assert.are.equal("nil", shown(nil))
        end)

        it("shows a list with dashes, a page and a permission as their tostring", function()
            local _, c = setup()
            c:ensure_acm_renewal(ARN)
            local list = c:list_all_permissions(ARN)
            assert.are.equal("- " .. tostring(list[1]), shown(list))
            local page = c:list_permissions{ ca_arn = ARN }
            assert.are.equal(tostring(page), shown(page))
        end)

        it("shows a client by where it sends requests, never its credentials", function()
            local c = acmpca.new{ region = "eu-west-1", credentials = mock.credentials }
            local text = shown(c)
            assert.are.equal("acmpca.client (region eu-west-1, endpoint "
                             .. "https://acm-pca.eu-west-1.amazonaws.com/)", text)
        end)

        it("shows an error with its fields", function()
            local svc, c = setup{ max_attempts = 2 }
            svc:fail_next(5, "ThrottlingException")
            local _, err = c:has_acm_renewal(ARN)
            local text = shown(nil, err)
            assert.matches("^nil\nThrottlingException", text)
            assert.matches("\n  code: ThrottlingException\n", text, 1, true)
            assert.matches("\n  attempts: 2", text, 1, true)
            assert.matches("\n  retryable: true", text, 1, true)
        end)

        it("never shows a secret, however it is held", function()
            local svc, c = setup()
            c:has_acm_renewal(ARN)
            local token = "FwoGZXIvYXdzEXAMPLETOKEN"
            local text = shown({
                credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET,
                                session_token = token },
                headers = { Authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, "
                                .. "SignedHeaders=host, Signature=0123abcd",
                            ["X-Amz-Security-Token"] = token },
                url = "https://h/?X-Amz-Signature=abcdef&X-Amz-Security-Token=" .. token,
                endpoint = "http://user:" .. SECRET .. "@proxy.example/",
            }, svc.log[#svc.log], svc, mock.credentials)
            assert.is_nil(text:find(SECRET, 1, true))
            assert.is_nil(text:find(token, 1, true))
            assert.is_nil(text:find("abcdef", 1, true))
            assert.is_nil(text:find("0123abcd", 1, true))
            assert.matches("AKIDEXAMPLE", text, 1, true)
            assert.matches("secret_access_key: <redacted>", text, 1, true)
        end)

        it("survives cycles, deep nesting and odd keys", function()
            local t = { 1, 2 }
            t.self = t
            local deep = {}
            local cur = deep
            for _ = 1, 20 do
                cur.next = {}
                cur = cur.next
            end
            local text = show.render(t, deep, { [true] = 1, [2.5] = "x", f = print })
            assert.matches("self: <cycle>", text, 1, true)
            assert.matches("{...}", text, 1, true)
            assert.matches("[true]: 1", text, 1, true)
            assert.matches("f: function", text, 1, true)
        end)
    end)

    describe("help", function()
        local function listed(text)
            local names = {}
            for line in text:gmatch("[^\n]+") do
                local name = line:match("^  ([%w_]+)")
                if name then
                    assert.is_nil(names[name], "listed twice: " .. name)
                    names[name] = line
                end
            end
            return names
        end

        it("lists every public function once, and only those", function()
            local real = io.stdout
            io.stdout = { write = function(s) return s end } -- luacheck: ignore
            local ok, text = pcall(acmpca.help)
            io.stdout = real -- luacheck: ignore
            assert(ok, text)
            local names = listed(text)
            for name, v in pairs(acmpca) do
                if type(v) == "function" then
                    assert.is_string(names[name], "acmpca." .. name .. " is not in help()")
                end
            end
            for name in pairs(names) do
                assert.are.equal("function", type(acmpca[name]),
                                 "help() lists acmpca." .. name .. ", which is not a function")
            end
            assert.matches("  ensure_acm_renewal%(ca_arn", text)
            assert.matches("  create_permission{ca_arn, principal, source_account%?, actions}",
                           text)
        end)
    end)

    describe("client:region() and client:endpoint()", function()
        it("are the resolved region and endpoint", function()
            local env = { AWS_REGION = "eu-west-2" }
            local c = acmpca.new{ credentials = mock.credentials,
                                  getenv = function(n) return env[n] end }
            assert.are.equal("eu-west-2", c:region())
            assert.are.equal("https://acm-pca.eu-west-2.amazonaws.com/", c:endpoint())
        end)

        it("follow FIPS and a custom endpoint", function()
            local f = acmpca.new{ region = "us-east-1", use_fips = true,
                                  credentials = mock.credentials }
            assert.are.equal("https://acm-pca-fips.us-east-1.amazonaws.com/", f:endpoint())
            local e = acmpca.new{ region = "us-east-1", endpoint = "http://127.0.0.1:4566",
                                  credentials = mock.credentials }
            assert.are.equal("us-east-1", e:region())
            assert.matches("^http://127%.0%.0%.1:4566", e:endpoint())
        end)

        it("are nil when each CA ARN gives the region, and after close", function()
            local c = acmpca.new{ credentials = mock.credentials, getenv = function() end }
            assert.is_nil(c:region())
            assert.is_nil(c:endpoint())
            local d = acmpca.new{ region = "eu-west-1", credentials = mock.credentials }
            d:close()
            assert.is_nil(d:region())
            assert.is_nil(d:endpoint())
        end)
    end)
end)
