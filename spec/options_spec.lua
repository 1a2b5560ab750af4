-- Options tables are strict: a key the library does not know is an error
-- naming it (with the closest known key when one is near), raised before
-- anything is sent; AWS_MAX_ATTEMPTS must be an integer from 1 to 100.

local F = require "support.renewal_fixture"
local acmpca = F.acmpca
local mock = F.mock
local ARN = F.ARN
local setup = F.setup


local function env(t)
    return function(name) return t[name] end
end


-- A client whose transport records what it is asked to send.
local function recording()
    local sent = {}
    local svc = mock.new{ cas = { [ARN] = { status = "ACTIVE" } } }
    local fake = svc:transport()
    local c = svc:client{ transport = function(req)
        sent[#sent + 1] = req
        return fake(req)
    end }
    return c, sent
end


describe("strict options", function()
    describe("acmpca.new", function()
        it("refuses an unknown key, naming it and the closest known one", function()
            assert.has_error(function() acmpca.new{ regoin = "eu-west-1" } end,
                'acmpca.new: unknown option "regoin" (did you mean "region"?)')
            assert.has_error(function() acmpca.new{ max_attempt = 2 } end,
                'acmpca.new: unknown option "max_attempt" (did you mean "max_attempts"?)')
            assert.has_error(function() acmpca.new{ profil = "x" } end,
                'acmpca.new: unknown option "profil" (did you mean "profile"?)')
        end)

        it("names a key far from every known one without a guess", function()
            local ok, err = pcall(acmpca.new, { colour = "blue" })
            assert.is_false(ok)
            assert.matches('acmpca.new: unknown option "colour" %(known: ', err)
            assert.matches("region", err, 1, true)
        end)

        it("names a key that is not a string", function()
            assert.has_error(function() acmpca.new{ "eu-west-1" } end,
                "acmpca.new: unknown option [1] (options are named: { region = ... })")
        end)

        it("accepts every documented key", function()
            local c = acmpca.new{
                region = "eu-west-1", credentials = mock.credentials, endpoint = nil,
                use_fips = false, use_dualstack = false, retry_mode = "standard",
                transport = function() end, timeout = 5,
                connect_timeout = 2, max_attempts = 2, user_agent = "x/1",
                sleep = function() end, now = function() return 0 end,
                getenv = env{}, profile = "p",
            }
            assert.are.equal("eu-west-1", c:region())
        end)
    end)

    describe("the nginx cosocket transport's settings", function()
        local SETTINGS = { keepalive_timeout = 30, pool_size = 8, max_body = 65536 }

        it("are refused outside nginx, saying where they belong", function()
            for k, v in pairs(SETTINGS) do
                assert.has_error(function()
                    acmpca.new{ [k] = v, region = "eu-west-1", credentials = mock.credentials }
                end, ("acmpca.new: %s: a setting of the nginx cosocket transport, taken only "
                      .. "inside nginx and without opts.transport"):format(k))
                assert.has_error(function() acmpca.configure{ [k] = v } end,
                    ("acmpca.configure: %s: a setting of the nginx cosocket transport, taken "
                     .. "only inside nginx and without opts.transport"):format(k))
            end
        end)

        it("go to the cosocket transport inside nginx", function()
            local fake_ngx = {
                get_phase = function() return "content" end,
                socket = { tcp = function() error("no network in this spec") end },
                sleep = function() end,
            }
            rawset(_G, "ngx", fake_ngx)
            finally(function() rawset(_G, "ngx", nil) end)
            local c = acmpca.new{ keepalive_timeout = 30, pool_size = 8, max_body = 65536,
                                  region = "eu-west-1", credentials = mock.credentials }
            assert.are.equal("eu-west-1", c:region())
            local ok, err = pcall(acmpca.new, { pool_size = 0.5, region = "eu-west-1",
                                                credentials = mock.credentials })
            assert.is_false(ok)
            assert.matches("pool_size: expected a positive integer", err, 1, true)
            -- with a transport of one's own they mean nothing: refused
            assert.has_error(function()
                acmpca.new{ pool_size = 8, transport = function() end }
            end, "acmpca.new: pool_size: a setting of the nginx cosocket transport, taken "
                 .. "only inside nginx and without opts.transport")
        end)
    end)

    describe("acmpca.client.new", function()
        it("refuses an unknown key too (profile is acmpca.new's)", function()
            local client = require "acmpca.client"
            assert.has_error(function() client.new{ endpiont = "http://x" } end,
                'acmpca.new: unknown option "endpiont" (did you mean "endpoint"?)')
            assert.has_error(function() client.new{ profile = "x" } end,
                'acmpca.new: unknown option "profile" (acmpca.new takes it; '
                .. 'acmpca.client.new does not)')
        end)
    end)

    describe("acmpca.configure", function()
        after_each(function() acmpca.configure(nil) end)

        it("refuses an unknown key when called, not when the client is made", function()
            assert.has_error(function() acmpca.configure{ regoin = "eu-west-1" } end,
                'acmpca.configure: unknown option "regoin" (did you mean "region"?)')
        end)

        it("accepts acmpca.new's keys", function()
            local svc = mock.new{ cas = { [ARN] = { status = "ACTIVE" } } }
            acmpca.configure{ transport = svc:transport(), credentials = svc.credentials,
                              profile = "default", getenv = env{} }
            assert.is_false(acmpca.has_acm_renewal(ARN))
        end)
    end)

    describe("the renewal helpers", function()
        local cases = {
            { "ensure_acm_renewal", { source_acount = "111122223333" }, "source_account" },
            { "ensure_acm_renewal", { wiat = 5 }, "wait" },
            { "has_acm_renewal", { source_acount = "111122223333" }, "source_account" },
            { "permissions", { max_result = 5 }, "max_results" },
            { "list_all_permissions", { max_resutls = 5 }, "max_results" },
        }
        for _, case in ipairs(cases) do
            local fn, opts, near = case[1], case[2], case[3]
            local key = next(opts)
            it(fn .. " refuses " .. key .. " and sends nothing", function()
                local c, sent = recording()
                assert.has_error(function() c[fn](c, ARN, opts) end,
                    ('acmpca.%s: unknown option "%s" (did you mean "%s"?)'):format(fn, key, near))
                assert.are.equal(0, #sent)
            end)
        end

        it("revoke_acm_renewal takes no options: any key is refused", function()
            local c, sent = recording()
            assert.has_error(function() c:revoke_acm_renewal(ARN, { source_account = "1" }) end,
                'acmpca.revoke_acm_renewal: unknown option "source_account" '
                .. "(revoke_acm_renewal takes no options)")
            assert.has_error(function() c:revoke_acm_renewal(ARN, 5) end,
                "acmpca.revoke_acm_renewal: opts: expected a table, got number")
            assert.are.equal(0, #sent)
            assert.are.same({ true, "absent" }, { c:revoke_acm_renewal(ARN, {}) })
        end)

        it("the module-level forms say the same", function()
            local svc = mock.new{ cas = { [ARN] = { status = "ACTIVE" } } }
            acmpca.configure{ transport = svc:transport(), credentials = svc.credentials }
            finally(function() acmpca.configure(nil) end)
            assert.has_error(function() acmpca.ensure_acm_renewal(ARN, { wiat = 1 }) end,
                'acmpca.ensure_acm_renewal: unknown option "wiat" (did you mean "wait"?)')
            assert.are.equal(0, svc.calls.ListPermissions)
        end)

        it("accept their known keys", function()
            local svc, c = setup()
            assert.are.same({ true, "created" },
                            { c:ensure_acm_renewal(ARN, { source_account = "111122223333",
                                                          wait = 0 }) })
            assert.is_true(c:has_acm_renewal(ARN, { source_account = "111122223333" }))
            assert.are.equal(1, #c:list_all_permissions(ARN, { max_results = 5 }))
            assert.are.equal(1, #svc:permissions(ARN))
        end)
    end)

    describe("AWS_MAX_ATTEMPTS", function()
        for _, bad in ipairs{ "abc", "0", "1.5", "101", "-2", "3x" } do
            it("refuses " .. bad .. ", naming the variable", function()
                assert.has_error(function()
                    acmpca.new{ getenv = env{ AWS_MAX_ATTEMPTS = bad }, region = "eu-west-1",
                                credentials = mock.credentials }
                end, ('acmpca.new: AWS_MAX_ATTEMPTS: expected an integer from 1 to 100, '
                      .. 'got "%s"'):format(bad))
            end)
        end

        it("takes a valid value, and max_attempts wins over it", function()
            for _, case in ipairs{ { "1", nil, 1 }, { " 7 ", nil, 7 }, { "", nil, 3 },
                                   { "abc", 2, 2 } } do
                local svc = mock.new{ cas = { [ARN] = { status = "ACTIVE" } } }
                svc:fail_next(10, "ThrottlingException")
                local c = acmpca.new{ getenv = env{ AWS_MAX_ATTEMPTS = case[1] },
                                      max_attempts = case[2], transport = svc:transport(),
                                      credentials = svc.credentials, sleep = function() end }
                local ok, err = c:has_acm_renewal(ARN)
                assert.is_nil(ok)
                assert.are.equal(case[3], err.attempts)
            end
        end)
    end)
end)
