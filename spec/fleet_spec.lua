-- acmpca.fleet: the CA listing helpers, the audit and ensure_acm_renewal_all
-- over the in-process fake service (acmpca.mock) and its demo fleet, and
-- ensure_acm_renewal's wait.  A fake clock shared by the service and the
-- client makes pacing and polling deterministic: sleeping advances it.
local mock = require "acmpca.mock"

local ACCOUNT = "111122223333"
local PREFIX = "arn:aws:acm-pca:us-east-1:" .. ACCOUNT .. ":certificate-authority/"


local function clock()
    local c = { t = os.time(), slept = 0 }
    c.now = function() return c.t end
    c.sleep = function(s)
        c.slept = c.slept + s
        c.t = c.t + s
    end
    return c
end


-- the demo fleet and a client on it, sharing one fake clock
local function demo(opts)
    local c = clock()
    local svc = mock.demo{ now = c.now }
    local client = svc:client{ now = c.now, sleep = c.sleep }
    local arn = {}
    for _, ca in ipairs(assert(client:list_all_certificate_authorities())) do
        arn[ca.certificate_authority_configuration.subject.common_name:match("^[^.]+")] = ca.arn
    end
    if opts and opts.reset then
        svc:reset()
    end
    return svc, client, arn, c
end


local function by_name(rows)
    local out = {}
    for _, r in ipairs(rows) do
        out[(r.common_name or "?"):match("^[^.]+")] = r
    end
    return out
end


describe("acmpca.fleet", function()

    describe("certificate_authorities and list_all_certificate_authorities", function()
        it("walk every page, in the service's order", function()
            local c = clock()
            local svc = mock.fleet(250, { now = c.now })
            local client = svc:client{ now = c.now, sleep = c.sleep }
            local seen = {}
            for ca, err in client:certificate_authorities{ max_results = 7 } do
                assert.is_nil(err)
                seen[#seen + 1] = ca.arn
            end
            assert.are.equal(250, #seen)
            assert.are.equal(36, svc.calls.ListCertificateAuthorities)
            local all = assert(client:list_all_certificate_authorities())
            assert.are.equal(250, #all)
            for i = 1, 250 do
                assert.are.equal(seen[i], all[i].arn)
            end
            assert.are.equal(36 + 3, svc.calls.ListCertificateAuthorities)
        end)

        it("list the account's own CAs, or those shared with it", function()
            local _, client = demo()
            local own = assert(client:list_all_certificate_authorities{ resource_owner = "SELF" })
            local shared = assert(client:list_all_certificate_authorities{
                resource_owner = "OTHER_ACCOUNTS" })
            assert.are.equal(8, #own)
            assert.are.equal(1, #shared)
            assert.are.equal("444455556666", shared[1].owner_account)
        end)

        it("end with false, err once on failure", function()
            local svc, client = demo()
            svc:fail_next(1, "AccessDeniedException",
                          { operation = "ListCertificateAuthorities" })
            local iter = client:certificate_authorities()
            local ca, err = iter()
            assert.is_false(ca)
            assert.are.equal("AccessDeniedException", err.code)
            assert.is_nil(iter())
        end)

        it("refuse bad options before sending anything", function()
            local svc, client = demo{ reset = true }
            assert.has_error(function()
                client:certificate_authorities{ resource_owner = "ME" }
            end, 'acmpca.certificate_authorities: resource_owner: expected "SELF" or '
                .. '"OTHER_ACCOUNTS", got "ME"')
            assert.has_error(function()
                client:list_all_certificate_authorities{ max_results = 0 }
            end, "acmpca.list_all_certificate_authorities: max_results: expected an integer "
                .. "from 1 to 1000, got 0")
            assert.has_error(function()
                client:list_all_certificate_authorities{ regoin = "x" }
            end, "acmpca.list_all_certificate_authorities: unknown option regoin "
                .. "(expected max_results, resource_owner)")
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("audit", function()
        it("gives every CA of the demo fleet its verdict, finding and fix", function()
            local _, client, arn = demo()
            local rows, s = client:audit()
            assert.are.equal(8, #rows)
            local r = by_name(rows)

            assert.are.equal("COMPLETE", r["issuing-prod"].renewal)
            assert.are.same({}, r["issuing-prod"].missing_actions)
            assert.is_nil(r["issuing-prod"].fix)

            assert.are.equal("PARTIAL", r["issuing-staging"].renewal)
            assert.are.same({ "ListPermissions" }, r["issuing-staging"].missing_actions)
            assert.matches("acm.amazonaws.com lacks ListPermissions", r["issuing-staging"].finding,
                           1, true)
            assert.matches("ensure-renewal --certificate-authority-arn " .. arn["issuing-staging"],
                           r["issuing-staging"].fix, 1, true)

            assert.are.equal("ABSENT", r["root-ca"].renewal)
            assert.are.equal("ROOT", r["root-ca"].type)
            assert.are.equal("ABSENT", r["issuing-dev"].renewal)
            assert.matches("; expires in %d+ days$", r["issuing-dev"].finding)
            assert.is_true(r["issuing-dev"].expires_in_days <= 20)

            assert.are.equal("DISABLED", r.legacy.status)
            assert.are.equal("COMPLETE", r.legacy.renewal)
            assert.are.equal("not ACTIVE (DISABLED): permissions can only be changed while "
                             .. "ACTIVE; renewal COMPLETE", r.legacy.finding)
            assert.matches("re-enable the CA", r.legacy.fix, 1, true)

            assert.are.equal("UNKNOWN", r["new-team"].renewal)
            assert.are.equal("InvalidStateException", r["new-team"].error.code)
            assert.matches("^not ACTIVE %(PENDING_CERTIFICATE%)", r["new-team"].finding)
            assert.matches("install the CA certificate", r["new-team"].fix, 1, true)

            assert.are.equal("EXPIRED", r.old.status)
            assert.matches("^not ACTIVE %(EXPIRED%)", r.old.finding)
            assert.are.equal("UNKNOWN", r.deleted.renewal)
            assert.matches("restorable until %d%d%d%d%-%d%d%-%d%d", r.deleted.fix)

            for _, row in ipairs(rows) do
                assert.are.equal(1, row.arn:find(PREFIX, 1, true))
                assert.is_false(row.shared)
                assert.are.equal(ACCOUNT, row.owner_account)
            end

            assert.are.equal(8, s.total)
            assert.are.equal(4, s.active)
            assert.are.equal(1, s.active_complete)
            assert.is_false(s.compliant)
            assert.is_true(s.complete_listing)
            assert.are.same({ ACTIVE = 4, DISABLED = 1, PENDING_CERTIFICATE = 1, EXPIRED = 1,
                              DELETED = 1 }, s.by_status)
            assert.are.equal(2, s.by_renewal.COMPLETE)
            assert.are.equal(1 + 8, s.requests) -- one listing page, one read per CA
        end)

        it("keeps the listing's order", function()
            local _, client = demo()
            local rows = client:audit{ concurrency = 8 }
            local listed = client:list_all_certificate_authorities()
            for i, ca in ipairs(listed) do
                assert.are.equal(ca.arn, rows[i].arn)
            end
        end)

        it("does not read the permissions of CAs shared from other accounts", function()
            local svc, client = demo{ reset = true }
            local rows, s = client:audit{ resource_owner = "OTHER_ACCOUNTS" }
            assert.are.equal(1, #rows)
            assert.are.equal("UNKNOWN", rows[1].renewal)
            assert.is_true(rows[1].shared)
            assert.are.equal("shared from account 444455556666: renewal depends on that "
                             .. "account's resource policy and on ACM's service-linked role in "
                             .. "this account", rows[1].finding)
            assert.are.equal(0, svc.calls.ListPermissions)
            assert.are.equal(0, s.active)
            assert.is_true(s.compliant)
        end)

        it("says why permissions could not be read: access denied, throttling", function()
            local svc, client = demo()
            -- concurrency 1: the first CA read gets the faults
            svc:fail_next(1, "AccessDeniedException", { operation = "ListPermissions" })
            local rows = client:audit{ concurrency = 1 }
            assert.are.equal("UNKNOWN", rows[1].renewal)
            assert.are.equal("access denied reading its permissions", rows[1].finding)
            assert.are.equal("COMPLETE", rows[2].renewal)

            svc:fail_next(10, "ThrottlingException", { operation = "ListPermissions" })
            local rows2, s = client:audit{ concurrency = 1 }
            assert.are.equal("UNKNOWN", rows2[1].renewal)
            assert.are.equal("throttled after 10 attempts", rows2[1].finding)
            assert.are.equal(10, s.throttled)
            assert.are.equal("COMPLETE", rows2[2].renewal)
        end)

        it("rides out throttling: it slows down, every verdict still arrives", function()
            local svc, client, _, c = demo()
            local t0 = c.t
            svc:fail_next(6, "ThrottlingException", { operation = "ListPermissions" })
            local rows, s = client:audit{ concurrency = 4 }
            for _, r in ipairs(rows) do
                assert.is_nil(r.error and r.error.throttling)
            end
            assert.are.equal(6, s.throttled)
            assert.is_true(c.t > t0)
        end)

        it("keeps the rows it has when the listing fails midway", function()
            local c = clock()
            local svc = mock.fleet(5, { now = c.now, page_size = 2 })
            local inner = svc:transport()
            local client = svc:client{
                now = c.now, sleep = c.sleep, max_attempts = 1,
                transport = function(req)
                    if req.body:find('"NextToken"', 1, true)
                        and req.headers["X-Amz-Target"]:find("ListCertificateAuthorities") then
                        return { status = 400, headers = {},
                                 body = '{"__type": "InvalidNextTokenException", '
                                     .. '"message": "token expired"}' }
                    end
                    return inner(req)
                end,
            }
            local rows, s = client:audit()
            assert.are.equal(2, #rows)
            assert.is_false(s.complete_listing)
            assert.is_false(s.compliant)
            assert.are.equal("InvalidNextTokenException", s.error.code)
        end)

        it("returns nil, err when nothing could be listed", function()
            local svc, client = demo()
            svc:fail_next(1, "AccessDeniedException",
                          { operation = "ListCertificateAuthorities" })
            local rows, err = client:audit()
            assert.is_nil(rows)
            assert.are.equal("AccessDeniedException", err.code)
        end)

        it("summarises in the words the command and the console print", function()
            local fleet = require "acmpca.fleet"
            local _, client = demo()
            local _, s = client:audit()
            local text = fleet.summary_text(s)
            local first, second = text:match("^([^\n]*)\n([^\n]*)$")
            assert.matches("^8 CAs %(%d+ ACTIVE, .*%); renewal: %d+ COMPLETE, ", first)
            assert.matches("^ACM cannot renew from %d+ of %d+ ACTIVE CAs: run "
                           .. "`acmpca ensure%-renewal %-%-all` to fix them%.$", second)
            assert.are.equal("3 ACTIVE, 1 DISABLED",
                             fleet.counts({ DISABLED = 1, ACTIVE = 3, FAILED = 0 },
                                          fleet.STATUSES))
            local stopped = { total = 0, by_status = {}, by_renewal = {}, compliant = true,
                              active = 0, active_complete = 0, complete_listing = false,
                              error = { code = "ThrottlingException", message = "slow\27[2J" } }
            assert.matches("\nThe listing stopped early: <slow\27%[2J>$",
                           fleet.summary_text(stopped, function(m) return "<" .. m .. ">" end))
        end)

        it("reports progress per CA, the total once the listing is done", function()
            local _, client = demo()
            local calls = {}
            client:audit{ concurrency = 2, on_progress = function(done, total, row)
                calls[#calls + 1] = { done = done, total = total, row = row }
            end }
            assert.are.equal(8, #calls)
            assert.are.equal(8, calls[8].done)
            assert.are.equal(8, calls[8].total)
            assert.is_string(calls[1].row.renewal)
        end)

        it("refuses bad options, naming them", function()
            local svc, client = demo{ reset = true }
            local cases = {
                { { concurrency = 0 }, "acmpca.audit: concurrency: expected an integer from 1 "
                  .. "to 256, got 0" },
                { { resource_owner = "self" }, "acmpca.audit: resource_owner: expected" },
                { { on_progress = 1 }, "acmpca.audit: on_progress: expected a function" },
                { { rate_limit = "fast" }, "acmpca.audit: rate_limit: expected" },
                { { concurency = 2 }, "acmpca.audit: unknown option concurency" },
                { "x", "acmpca.audit: expected a table of options, got string" },
            }
            for _, case in ipairs(cases) do
                local ok, err = pcall(client.audit, client, case[1])
                assert.is_false(ok)
                assert.matches(case[2], err, 1, true)
            end
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("ensure_acm_renewal_all", function()
        it("ensures renewal on every ACTIVE CA and skips the others with the reason", function()
            local _, client, arn = demo()
            local results, s = client:ensure_acm_renewal_all()
            local r = by_name(results)
            assert.are.equal("created", r["root-ca"].result)
            assert.are.equal("present", r["issuing-prod"].result)
            assert.are.equal("repaired", r["issuing-staging"].result)
            assert.are.equal("created", r["issuing-dev"].result)
            assert.are.equal("skipped", r.legacy.result)
            assert.are.equal("not ACTIVE (DISABLED): permissions can only be changed while "
                             .. "ACTIVE", r.legacy.reason)
            assert.are.equal("skipped", r["new-team"].result)
            assert.are.equal("skipped", r.old.result)
            assert.are.equal("skipped", r.deleted.result)
            assert.are.equal(8, s.total)
            assert.are.equal(0, s.failed)
            assert.is_true(s.ok)
            assert.are.same({ created = 2, present = 1, repaired = 1, skipped = 4 }, s.by_result)
            assert.is_true(client:has_acm_renewal(arn["issuing-staging"]))
            local _, audit = client:audit()
            assert.is_true(audit.compliant)
        end)

        it("writes nothing on a dry run and says what it would do", function()
            local svc, client = demo{ reset = true }
            local results, s = client:ensure_acm_renewal_all{ dry_run = true }
            local r = by_name(results)
            assert.are.equal("would_create", r["root-ca"].result)
            assert.are.equal("present", r["issuing-prod"].result)
            assert.are.equal("would_repair", r["issuing-staging"].result)
            assert.matches("lacking ListPermissions", r["issuing-staging"].reason, 1, true)
            assert.are.equal("skipped", r.legacy.result)
            assert.is_true(s.dry_run)
            assert.are.equal(0, svc.calls.CreatePermission)
            assert.are.equal(0, svc.calls.DeletePermission)
        end)

        it("goes on past a CA that fails midway", function()
            local svc, client = demo()
            svc:fail_next(1, "AccessDeniedException", { operation = "CreatePermission" })
            local results, s = client:ensure_acm_renewal_all{ concurrency = 1 }
            local r = by_name(results)
            assert.are.equal("failed", r["root-ca"].result)
            assert.are.equal("AccessDeniedException", r["root-ca"].error.code)
            assert.are.equal("created", r["issuing-dev"].result)
            assert.are.equal("repaired", r["issuing-staging"].result)
            assert.are.equal(1, s.failed)
            assert.is_false(s.ok)
        end)

        it("is slowed down by throttling, not failed", function()
            local svc, client = demo()
            svc:fail_next(3, "ThrottlingException", { operation = "CreatePermission" })
            local results, s = client:ensure_acm_renewal_all{ concurrency = 4 }
            assert.are.equal(0, s.failed)
            assert.are.equal(3, s.throttled)
            assert.are.equal("created", by_name(results)["root-ca"].result)
        end)

        it("takes a filter; a filter that raises fails only its CA", function()
            local _, client = demo()
            local results = client:ensure_acm_renewal_all{ filter = function(ca)
                local cn = ca.certificate_authority_configuration.subject.common_name
                if cn:find("^root") then
                    error("no roots here")
                end
                return cn:find("prod", 1, true) ~= nil
            end }
            local r = by_name(results)
            assert.are.equal("present", r["issuing-prod"].result)
            assert.are.equal("skipped", r["issuing-dev"].result)
            assert.are.equal("excluded by the filter", r["issuing-dev"].reason)
            assert.are.equal("failed", r["root-ca"].result)
            assert.matches("no roots here", r["root-ca"].reason, 1, true)
        end)

        it("refuses bad options before sending anything", function()
            local svc, client = demo{ reset = true }
            assert.has_error(function() client:ensure_acm_renewal_all{ dry_run = "yes" } end,
                             "acmpca.ensure_acm_renewal_all: dry_run: expected a boolean, "
                             .. "got string")
            assert.has_error(function() client:ensure_acm_renewal_all{ filter = true } end,
                             "acmpca.ensure_acm_renewal_all: filter: expected a function, "
                             .. "got boolean")
            assert.has_error(function() client:ensure_acm_renewal_all{ rate_limit = 0 } end,
                             "acmpca.ensure_acm_renewal_all: rate_limit: expected a positive "
                             .. "number of requests per second, got 0")
            assert.has_error(function() client:ensure_acm_renewal_all{ all = true } end,
                             "acmpca.ensure_acm_renewal_all: unknown option all (expected "
                             .. "concurrency, dry_run, filter, on_progress, rate_limit)")
            assert.are.equal(0, #svc.log)
        end)
    end)

    describe("ensure_acm_renewal with wait", function()
        local function pending(active_in)
            local c = clock()
            local svc = mock.new{ now = c.now, account = ACCOUNT }
            local a = PREFIX .. "0f0f0f0f-0000-4000-8000-000000000001"
            svc:add_ca(a, { status = "PENDING_CERTIFICATE", active_at = c.t + active_in })
            return svc, svc:client{ now = c.now, sleep = c.sleep }, a, c
        end

        it("polls until the new CA is ACTIVE, then grants", function()
            local svc, client, a, c = pending(30)
            local t0 = c.t
            assert.are.same({ true, "created" },
                            { client:ensure_acm_renewal(a, { wait = 120 }) })
            assert.is_true(c.t - t0 >= 30)
            assert.is_true(c.t - t0 < 45)
            assert.is_true(svc.calls.DescribeCertificateAuthority >= 3)
            assert.is_true(client:has_acm_renewal(a))
        end)

        it("gives up after wait seconds with a WaiterTimeout", function()
            local _, client, a, c = pending(600)
            local t0 = c.t
            local ok, err = client:ensure_acm_renewal(a, { wait = 20 })
            assert.is_nil(ok)
            assert.are.equal("WaiterTimeout", err.code)
            assert.matches("still PENDING_CERTIFICATE after waiting 20 s", err.message, 1, true)
            assert.are.near(20, c.t - t0, 1e-6)
        end)

        it("does not wait for a CA that will not become ACTIVE", function()
            local svc, client, a = pending(30)
            svc:set_status(a, "DISABLED")
            local ok, err = client:ensure_acm_renewal(a, { wait = 60 })
            assert.is_nil(ok)
            assert.are.equal("InvalidStateException", err.code)
            assert.matches("is DISABLED: waiting cannot make it ACTIVE", err.message, 1, true)
        end)

        it("without wait, fails at once as before", function()
            local svc, client, a = pending(30)
            local ok, err = client:ensure_acm_renewal(a)
            assert.is_nil(ok)
            assert.are.equal("InvalidStateException", err.code)
            assert.are.equal(0, svc.calls.DescribeCertificateAuthority)
        end)

        it("does not describe an ACTIVE CA", function()
            local svc, client, a = pending(0)
            assert.is_true((client:ensure_acm_renewal(a, { wait = 60 })))
            assert.are.equal(0, svc.calls.DescribeCertificateAuthority)
        end)

        it("refuses a bad wait before sending anything", function()
            local svc, client, a = pending(0)
            for _, w in ipairs{ -1, 0 / 0, 86401, "30" } do
                assert.has_error(function() client:ensure_acm_renewal(a, { wait = w }) end,
                                 "acmpca.ensure_acm_renewal: wait: expected a number of seconds "
                                 .. "from 0 to 86400, got " .. tostring(w))
            end
            assert.are.equal(0, #svc.log)
        end)
    end)
end)
