-- The `acmpca` command's fleet commands: audit and ensure-renewal --all
-- (and --wait, and the CA-level operation commands) against the demo fleet
-- of the fake service, with a fake clock: their output in each format, the
-- progress bar and the exit codes.

local cjson = require "cjson.safe"
local cli = require "acmpca.cli"
local mock = require "acmpca.mock"

local buffer = require("helpers").buffer


local function clock()
    local c = { t = os.time() }
    c.now = function() return c.t end
    c.sleep = function(s) c.t = c.t + s end
    return c
end


-- run argv against svc (nil: --mock makes its own); code, stdout, stderr
local function run(argv, svc, extra)
    local out, err = buffer(), buffer()
    local c = clock()
    local env = { stdout = out, stderr = err, mock = svc, sleep = c.sleep, now = c.now }
    for k, v in pairs(extra or {}) do
        env[k] = v
    end
    local code = cli.main(argv, env)
    return code, out.text, err.text
end


local function tty(fd_set)
    return function(fd) return fd_set[fd] == true end
end


-- the demo fleet's ARN by the first word of its common name
local function arns(svc)
    local out = {}
    local client = svc:client()
    for _, scope in ipairs{ "SELF", "OTHER_ACCOUNTS" } do
        for _, ca in ipairs(assert(client:list_all_certificate_authorities{
            resource_owner = scope })) do
            out[ca.certificate_authority_configuration.subject.common_name:match("^[^.]+")] =
                ca.arn
        end
    end
    svc:reset()
    return out
end


describe("acmpca.cli fleet commands", function()

    describe("audit", function()
        it("prints JSON when stdout is not a terminal, and exits 1 when ACM cannot renew "
           .. "from an ACTIVE CA", function()
            local code, out, err = run{ "audit", "--mock" }
            assert.are.equal(1, code)
            assert.are.equal("", err)
            local doc = assert(cjson.decode(out))
            assert.are.equal(8, #doc.CertificateAuthorities)
            local first = doc.CertificateAuthorities[1]
            for _, k in ipairs{ "Arn", "Type", "Status", "CommonName", "NotAfter", "Renewal",
                                "MissingActions", "Finding" } do
                assert.is_not_nil(first[k], k)
            end
            assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%+00:00$", first.NotAfter)
            assert.are.equal(8, doc.Summary.Total)
            assert.are.equal(4, doc.Summary.Active)
            assert.are.equal(1, doc.Summary.ActiveComplete)
            assert.is_false(doc.Summary.Compliant)
            assert.are.equal(4, doc.Summary.ByStatus.ACTIVE)
            -- keys in the documented order
            assert.matches('"Arn".-"Type".-"Status".-"CommonName".-"NotAfter".-"Renewal"'
                           .. '.-"MissingActions".-"Finding"', out)
        end)

        it("prints a table and a summary on a terminal, a progress bar on stderr", function()
            local code, out, err = run({ "audit", "--mock" }, nil,
                                       { isatty = tty{ [1] = true, [2] = true } })
            assert.are.equal(1, code)
            local lines = {}
            for l in out:gmatch("[^\n]*") do
                lines[#lines + 1] = l
            end
            assert.matches("^COMMON NAME%s+CA%s+STATUS%s+RENEWAL%s+FINDING$", lines[1])
            assert.matches("issuing%-prod%.example%.com%s+111122223333/%x+%.%.0002%s+ACTIVE"
                           .. "%s+COMPLETE%s+ACM can renew", out)
            assert.matches("issuing%-staging%.example%.com.-PARTIAL%s+acm%.amazonaws%.com lacks "
                           .. "ListPermissions", out)
            assert.matches("legacy%.example%.com.-DISABLED%s+COMPLETE%s+not ACTIVE %(DISABLED%)",
                           out)
            assert.matches("8 CAs %(4 ACTIVE, 1 PENDING_CERTIFICATE, 1 DISABLED, 1 EXPIRED, "
                           .. "1 DELETED%); renewal: ", out)
            assert.matches("ACM cannot renew from 3 of 4 ACTIVE CAs: run `acmpca ensure%-renewal "
                           .. "%-%-all` to fix them%.", out)
            assert.matches("auditing %[#+%.*%] %d+/8 CAs", err)
            -- the bar is erased at the end
            assert.matches("\r%s+\r$", err)
        end)

        it("prints no progress when stderr is not a terminal", function()
            local _, _, err = run({ "audit", "--mock", "--output", "table" }, nil,
                                  { isatty = tty{} })
            assert.are.equal("", err)
        end)

        it("prints text rows and a summary row", function()
            local code, out = run{ "audit", "--mock", "--output", "text" }
            assert.are.equal(1, code)
            assert.matches("CERTIFICATEAUTHORITY\tarn:aws:acm%-pca:[^\t]+\tSUBORDINATE\tACTIVE\t"
                           .. "issuing%-staging%.example%.com\t[^\t]+\tPARTIAL\tListPermissions\t",
                           out)
            assert.matches("\nSUMMARY\t8\t4\t1\tNONCOMPLIANT\n$", out)
        end)

        it("lists the CAs shared with the account", function()
            local code, out = run{ "audit", "--mock", "--resource-owner", "OTHER_ACCOUNTS" }
            -- no ACTIVE CA of the account's own: nothing to fail
            assert.are.equal(0, code)
            local doc = cjson.decode(out)
            assert.are.equal(1, #doc.CertificateAuthorities)
            assert.matches("^shared from account 444455556666",
                           doc.CertificateAuthorities[1].Finding)
        end)

        it("exits 0 once ensure-renewal --all has fixed the fleet", function()
            local svc = mock.demo()
            local code, out = run({ "ensure-renewal", "--all", "--mock" }, svc)
            assert.are.equal(0, code)
            local doc = cjson.decode(out)
            assert.are.equal(8, #doc.Results)
            assert.are.equal(0, doc.Summary.Failed)
            code = run({ "audit", "--mock", "--output", "json" }, svc)
            assert.are.equal(0, code)
        end)

        it("refuses bad options with exit status 2", function()
            local cases = {
                { { "audit", "--mock", "--concurrency", "0" },
                  "argument --concurrency: expected an integer from 1 to 256" },
                { { "audit", "--mock", "--resource-owner", "ME" },
                  "argument --resource-owner: invalid choice: \"ME\"" },
                { { "audit", "--mock", "--rate-limit", "fast" },
                  "argument --rate-limit: expected \"quota\", \"off\" or a positive number" },
                { { "audit", "--mock", "--output", "yaml" },
                  "argument --output: invalid choice: \"yaml\" (choose from 'json', 'text', "
                  .. "'table')" },
                { { "list-permissions", "--mock", "--output", "table",
                    "--certificate-authority-arn",
                    "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x" },
                  "argument --output: invalid choice: \"table\" (choose from 'json', 'text')" },
                { { "audit", "--mock", "--all" }, "Unknown options: --all" },
            }
            for _, case in ipairs(cases) do
                local svc = mock.demo()
                local code, out, err = run(case[1], svc)
                assert.are.equal(2, code, table.concat(case[1], " "))
                assert.are.equal("", out)
                assert.matches(case[2], err, 1, true)
                assert.are.equal(0, #svc.log)
            end
        end)

        it("exits 1 with the service's message when the CAs cannot be listed", function()
            local svc = mock.demo()
            svc:fail_next(1, "AccessDeniedException",
                          { operation = "ListCertificateAuthorities", message = "no way" })
            local code, out, err = run({ "audit", "--mock" }, svc)
            assert.are.equal(1, code)
            assert.are.equal("", out)
            assert.matches("An error occurred (AccessDeniedException) when calling the "
                           .. "ListCertificateAuthorities operation: no way", err, 1, true)
        end)
    end)

    describe("ensure-renewal --all", function()
        it("prints one result per CA in JSON", function()
            local code, out = run{ "ensure-renewal", "--all", "--mock", "--output", "json" }
            assert.are.equal(0, code)
            local doc = cjson.decode(out)
            local seen = {}
            for _, r in ipairs(doc.Results) do
                assert.is_string(r.Arn)
                seen[r.Result] = (seen[r.Result] or 0) + 1
                assert.are.equal(cjson.null, r.Error)
            end
            assert.are.same({ created = 2, present = 1, repaired = 1, skipped = 4 }, seen)
            assert.are.same({ created = 2, repaired = 1, present = 1, skipped = 4 },
                            doc.Summary.ByResult)
            assert.is_false(doc.Summary.DryRun)
        end)

        it("writes nothing with --dry-run and says so", function()
            local svc = mock.demo()
            local code, out = run({ "ensure-renewal", "--all", "--dry-run", "--mock",
                                    "--output", "table" }, svc)
            assert.are.equal(0, code)
            assert.matches("root%-ca%.example%.com.-ACTIVE%s+would_create", out)
            assert.matches("issuing%-staging%.example%.com.-would_repair", out)
            assert.matches("Dry run: nothing was written%.", out)
            assert.are.equal(0, svc.calls.CreatePermission)
        end)

        it("exits 1 when a CA failed, with its error", function()
            local svc = mock.demo()
            svc:fail_next(1, "AccessDeniedException", { operation = "CreatePermission" })
            local code, out = run({ "ensure-renewal", "--all", "--mock", "--concurrency", "1" },
                                  svc)
            assert.are.equal(1, code)
            local doc = cjson.decode(out)
            assert.are.equal(1, doc.Summary.Failed)
            local failed
            for _, r in ipairs(doc.Results) do
                if r.Result == "failed" then
                    failed = r
                end
            end
            assert.are.equal("AccessDeniedException", failed.Error.Code)
        end)

        it("refuses options that do not go together", function()
            local arn = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x"
            local cases = {
                { { "ensure-renewal", "--mock" },
                  "one of the arguments --certificate-authority-arn --all is required" },
                { { "ensure-renewal", "--mock", "--all", "--certificate-authority-arn", arn },
                  "argument --certificate-authority-arn: not allowed with --all" },
                { { "ensure-renewal", "--mock", "--certificate-authority-arn", arn, "--dry-run" },
                  "argument --dry-run: only with --all" },
                { { "ensure-renewal", "--mock", "--all=yes" },
                  "argument --all: takes no value" },
                { { "ensure-renewal", "--mock", "--certificate-authority-arn", arn,
                    "--wait", "soon" }, "argument --wait: expected an integer from 0 to 86400" },
            }
            for _, case in ipairs(cases) do
                local svc = mock.demo()
                local code, _, err = run(case[1], svc)
                assert.are.equal(2, code, table.concat(case[1], " "))
                assert.matches(case[2], err, 1, true)
                assert.are.equal(0, #svc.log)
            end
        end)
    end)

    describe("ensure-renewal --wait", function()
        it("waits for a CA still PENDING_CERTIFICATE, then says it gave up", function()
            local svc = mock.demo()
            local a = arns(svc)["new-team"]
            local code, _, err = run({ "ensure-renewal", "--mock", "--certificate-authority-arn",
                                       a, "--wait", "30" }, svc)
            assert.are.equal(1, code)
            assert.matches("WaiterTimeout", err, 1, true)
            assert.matches("still PENDING_CERTIFICATE after waiting 30 s", err, 1, true)
            assert.is_true(svc.calls.DescribeCertificateAuthority >= 2)
        end)
    end)

    describe("the CA-level operation commands", function()
        it("list-certificate-authorities prints every CA as aws acm-pca does", function()
            local code, out = run{ "list-certificate-authorities", "--mock" }
            assert.are.equal(0, code)
            local doc = cjson.decode(out)
            assert.are.equal(8, #doc.CertificateAuthorities)
            assert.matches("^%d%d%d%d%-", doc.CertificateAuthorities[1].CreatedAt)
            assert.is_string(doc.CertificateAuthorities[1].CertificateAuthorityConfiguration
                .Subject.CommonName)
        end)

        it("put-policy reads file://, get-policy prints it, delete-policy removes it", function()
            local svc = mock.demo()
            local a = arns(svc)["issuing-prod"]
            local path = os.tmpname()
            local policy = '{"Version": "2012-10-17", "Statement": []}'
            local f = assert(io.open(path, "wb"))
            f:write(policy)
            f:close()
            local code, out, err = run({ "put-policy", "--mock", "--resource-arn", a,
                                         "--policy", "file://" .. path }, svc)
            os.remove(path)
            assert.are.equal(0, code, err)
            assert.are.equal("", out)
            code, out = run({ "get-policy", "--mock", "--resource-arn", a }, svc)
            assert.are.equal(0, code)
            assert.are.equal(policy, cjson.decode(out).Policy)
            code = run({ "delete-policy", "--mock", "--resource-arn", a }, svc)
            assert.are.equal(0, code)
            local _
            code, _, err = run({ "get-policy", "--mock", "--resource-arn", a }, svc)
            assert.are.equal(1, code)
            assert.matches("ResourceNotFoundException", err, 1, true)
        end)

        it("says which file:// it could not read, and sends nothing", function()
            local svc = mock.demo()
            local code, _, err = run({ "put-policy", "--mock", "--resource-arn",
                "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
                "--policy", "file:///nonexistent/policy.json" }, svc)
            assert.are.equal(2, code)
            assert.matches("argument --policy: cannot read /nonexistent/policy.json", err, 1, true)
            assert.are.equal(0, #svc.log)
        end)

        it("refuses a file:// over 1 MiB", function()
            local svc = mock.demo()
            local path = os.tmpname()
            local f = assert(io.open(path, "wb"))
            f:write(("x"):rep(1024 * 1024 + 1))
            f:close()
            local code, _, err = run({ "put-policy", "--mock", "--resource-arn",
                "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
                "--policy", "file://" .. path }, svc)
            os.remove(path)
            assert.are.equal(2, code)
            assert.matches("argument --policy: " .. path .. " is larger than 1048576 bytes",
                           err, 1, true)
            assert.are.equal(0, #svc.log)
        end)
    end)
end)
