-- require "acmpca": constants, acmpca.new, and the module-level functions
-- on the default client, against the fake service (acmpca.mock).

local F = require "support.renewal_fixture"
local acmpca = F.acmpca
local mock = F.mock
local ARN = F.ARN
local ACM = F.ACM
local ALL = F.ALL
local BAD_ARN_MSG = F.BAD_ARN_MSG
local setup = F.setup
local acm_actions = F.acm_actions


describe("acmpca", function()
    describe("constants", function()
        it("names ACM's principal and the three renewal actions", function()
            assert.are.equal("acm.amazonaws.com", acmpca.ACM_PRINCIPAL)
            assert.are.same(ALL, acmpca.RENEWAL_ACTIONS)
        end)

        it("does not let a changed RENEWAL_ACTIONS change what is granted", function()
            local svc, client = setup()
            local saved = acmpca.RENEWAL_ACTIONS[1]
            acmpca.RENEWAL_ACTIONS[1] = "GetCertificate"
            local ok = client:ensure_acm_renewal(ARN)
            acmpca.RENEWAL_ACTIONS[1] = saved
            assert.is_true(ok)
            assert.are.same(ALL, acm_actions(svc))
        end)
    end)

    describe("is_ca_arn", function()
        it("accepts CA ARNs and nothing else", function()
            assert.is_true(acmpca.is_ca_arn(ARN))
            assert.is_true(acmpca.is_ca_arn(
                "arn:aws-cn:acm-pca:cn-north-1:123456789012:certificate-authority/a_b.c"))
            assert.is_false(acmpca.is_ca_arn("x"))
            assert.is_false(acmpca.is_ca_arn(
                "arn:aws:acm-pca:us-east-1:12345:certificate-authority/x"))
            assert.is_false(acmpca.is_ca_arn(
                "arn:aws:acm:us-east-1:123456789012:certificate-authority/x"))
            assert.is_false(acmpca.is_ca_arn(
                "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"))
            assert.is_false(acmpca.is_ca_arn(
                "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/a//b"))
            assert.is_false(acmpca.is_ca_arn(nil))
        end)
    end)

    describe("new", function()
        it("builds a client from explicit options without touching the network", function()
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" } }
            local client = acmpca.new{ transport = svc:transport(), credentials = svc.credentials,
                                       region = "us-east-1" }
            assert.are.equal(0, #svc.log)
            assert.is_true(client:has_acm_renewal(ARN) == false)
            assert.are.equal(1, #svc.log)
            client:close()
        end)

        it("uses a credentials function", function()
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" } }
            local asked = 0
            local client = acmpca.new{ transport = svc:transport(), region = "us-east-1",
                                       credentials = function()
                                           asked = asked + 1
                                           return svc.credentials
                                       end }
            assert.is_false(client:has_acm_renewal(ARN))
            assert.is_true(asked >= 1)
        end)

        it("rejects bad options", function()
            assert.has_error(function() acmpca.new("x") end,
                             "acmpca.new: opts: expected a table, got string")
            assert.has_error(function() acmpca.new{ profile = "" } end,
                             "acmpca.new: profile: expected a non-empty string, got string")
        end)

        it("finds credentials and region the way the AWS CLI does (environment)", function()
            -- a child process, so the environment can be set
            local lua = jit and "luajit" or "lua5.4"
            local build = jit and "build/jit" or "build/5.4"
            local script = ([[
                package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
                package.cpath = "%s/?.so;" .. package.cpath
                local arn = %q
                local svc = require("acmpca.mock").new{ cas = { [arn] = "ACTIVE" },
                                                       region = "eu-west-3" }
                local client = require("acmpca").new{ transport = svc:transport() }
                print(client:ensure_acm_renewal(arn))
            ]]):format(build, ARN)
            local path = os.tmpname()
            local f = assert(io.open(path, "w"))
            f:write(script)
            f:close()
            local cmd = "env -i PATH=\"$PATH\" HOME=/nonexistent AWS_REGION=eu-west-3 "
                .. "AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=AKIDEXAMPLE "
                .. "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY "
                .. lua .. " " .. path .. " 2>&1"
            local p = assert(io.popen(cmd))
            local out = p:read("*a")
            p:close()
            os.remove(path)
            assert.are.equal("true\tcreated\n", out)
        end)

        -- the region a request was signed for (its credential scope)
        local function signed_region(svc)
            return svc.log[#svc.log].headers.Authorization:match("/%d+/([^/]+)/acm%-pca/")
        end

        it("resolves the region explicit, AWS_REGION, AWS_DEFAULT_REGION, profile, ARN",
            function()
                local home = os.tmpname()
                os.remove(home)
                assert(os.execute("mkdir -p " .. home .. "/.aws"))
                local f = assert(io.open(home .. "/.aws/config", "w"))
                f:write("[default]\nregion = ap-south-1\n")
                f:close()
                local svc = mock.new{ cas = { [ARN] = "ACTIVE" } }
                local env = { HOME = home, AWS_REGION = "eu-west-3",
                              AWS_DEFAULT_REGION = "eu-west-2" }
                local function region_of(explicit)
                    local c = acmpca.new{ transport = svc:transport(), region = explicit,
                                          credentials = svc.credentials,
                                          getenv = function(k) return env[k] end }
                    c:has_acm_renewal(ARN)
                    return signed_region(svc)
                end
                local got = { region_of("ca-central-1"), region_of() }
                env.AWS_REGION = nil
                got[3] = region_of()
                env.AWS_DEFAULT_REGION = nil
                got[4] = region_of()
                os.remove(home .. "/.aws/config")
                got[5] = region_of()
                os.execute("rm -rf " .. home)
                assert.are.same({ "ca-central-1", "eu-west-3", "eu-west-2", "ap-south-1",
                                  "us-east-1" }, got)
            end)

        it("reads the credential chain from the same opts.getenv", function()
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" } }
            local env = { HOME = "/nonexistent", AWS_EC2_METADATA_DISABLED = "true",
                          AWS_ACCESS_KEY_ID = svc.credentials.access_key_id,
                          AWS_SECRET_ACCESS_KEY = svc.credentials.secret_access_key }
            local c = acmpca.new{ transport = svc:transport(), region = "us-east-1",
                                  getenv = function(k) return env[k] end }
            assert.are.same({ true, "created" }, { c:ensure_acm_renewal(ARN) })
        end)

        it("waits with ngx.sleep inside nginx, also with a transport given", function()
            local slept = {}
            local fake_ngx = {
                get_phase = function() return "content" end,
                sleep = function(s) slept[#slept + 1] = s end,
            }
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" } }
            svc:fail_next(1, "ThrottlingException")
            local core = require "acmpca.core"
            local real_sleep = core.sleep
            local blocked = 0
            core.sleep = function() blocked = blocked + 1 end
            rawset(_G, "ngx", fake_ngx)
            local ok, res = pcall(function()
                local c = acmpca.new{ transport = svc:transport(), region = "us-east-1",
                                      credentials = svc.credentials }
                return c:has_acm_renewal(ARN)
            end)
            rawset(_G, "ngx", nil)
            core.sleep = real_sleep
            assert.is_true(ok, tostring(res))
            assert.is_false(res)
            assert.are.equal(1, #slept)
            assert.are.equal(0, blocked)
        end)
    end)

    describe("module-level functions", function()
        after_each(function()
            acmpca.configure(nil)
        end)

        it("use one default client made on first use", function()
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" } }
            acmpca.configure{ transport = svc:transport(), credentials = svc.credentials }
            assert.are.equal(0, #svc.log)
            assert.are.same({ true, "created" }, { acmpca.ensure_acm_renewal(ARN) })
            assert.are.equal(acmpca.default_client(), acmpca.default_client())
            assert.is_true(acmpca.has_acm_renewal(ARN))
            assert.are.equal(1, #acmpca.list_all_permissions(ARN))
            local n = 0
            for _ in acmpca.permissions(ARN) do
                n = n + 1
            end
            assert.are.equal(1, n)
            assert.are.same({ true, "revoked" }, { acmpca.revoke_acm_renewal(ARN) })
            assert.are.same({ true, "absent" }, { acmpca.revoke_acm_renewal(ARN) })
            assert.is_true(acmpca.create_permission{ ca_arn = ARN, principal = ACM,
                                                     actions = ALL })
            assert.are.equal(1, #acmpca.list_permissions{ ca_arn = ARN }.permissions)
            assert.is_true(acmpca.delete_permission{ ca_arn = ARN, principal = ACM })
        end)

        it("configure replaces the default client", function()
            local a = mock.new{ cas = { [ARN] = "ACTIVE" } }
            local b = mock.new{ cas = { [ARN] = "ACTIVE" } }
            acmpca.configure{ transport = a:transport(), credentials = a.credentials }
            local first = acmpca.default_client()
            acmpca.ensure_acm_renewal(ARN)
            acmpca.configure{ transport = b:transport(), credentials = b.credentials }
            assert.are_not.equal(first, acmpca.default_client())
            assert.are.same({ true, "created" }, { acmpca.ensure_acm_renewal(ARN) })
            assert.are.equal(2, #a.log)
            assert.are.equal(2, #b.log)
        end)

        it("reject bad arguments", function()
            assert.has_error(function() acmpca.configure("x") end,
                             "acmpca.configure: opts: expected a table, got string")
            local svc = mock.new{ cas = { [ARN] = "ACTIVE" } }
            acmpca.configure{ transport = svc:transport(), credentials = svc.credentials }
            assert.has_error(function() acmpca.ensure_acm_renewal("x") end,
                             "acmpca.ensure_acm_renewal: " .. BAD_ARN_MSG)
            assert.are.equal(0, #svc.log)
        end)
    end)
end)
