-- acmpca.cli.fleet: the fleet-wide commands of `acmpca` (audit, and
-- ensure-renewal --all), over the client's fleet helpers (acmpca.fleet).
--
-- acmpca.cli hands in what commands share (usage errors, JSON objects,
-- ISO 8601 times); this file owns the audit table, the progress bar, the
-- JSON and text layouts of both commands and their exit codes:
--   audit             0 when every ACTIVE CA the account owns is COMPLETE,
--                     1 when one is not (or the CAs could not all be read);
--   ensure-renewal --all
--                     0 when no CA failed, 1 when one did;
--   both              2 on a usage error (acmpca.cli).

local type, ipairs, tostring, tonumber = type, ipairs, tostring, tonumber
local concat = table.concat
local fmt = string.format
local floor, max = math.floor, math.max

-- the verdicts and results in the order the library lists them
local fleet = require "acmpca.fleet"
local RENEWAL_ORDER = fleet.VERDICTS
local RESULT_ORDER = fleet.RESULTS
-- CA statuses, ACTIVE first, then the way to it, then the ends
local STATUS_ORDER = fleet.STATUSES
local counts = fleet.counts
local BAR_WIDTH = 30
local MAX_CELL = 40


return function(ctx)
    local usage, json, iso8601, int_arg = ctx.usage, ctx.json, ctx.iso8601, ctx.int_arg
    -- printable(s, limit): escaped (terminal escapes, C1, bad UTF-8) and bounded
    local printable, MAX_FIELD = ctx.printable, ctx.MAX_FIELD
    local object, array = json.object, json.array
    local cell
    local null = require("cjson.safe").null

    local M = {}

    --------------------------------------------------------------------
    -- options
    --------------------------------------------------------------------

    M.CONCURRENCY = { name = "concurrency", kind = "integer", min = 1, max = 256 }
    M.RATE_LIMIT = { name = "rate-limit", kind = "string" }
    M.RESOURCE_OWNER = { name = "resource-owner", kind = "string" }

    local RATE_HELP = [[
  --concurrency <n>        CAs worked on at once (1 to 256, default 4)
  --rate-limit <value>     requests per second per operation: "quota" (the
                           default: the service's published per-operation
                           quotas, e.g. ListPermissions 5/s), a number, or
                           "off" (no client-side ceiling; throttling still
                           slows the run down)]]

    -- --concurrency, --rate-limit -> the helpers' options
    function M.read_batch(o)
        local out = {}
        if o.concurrency ~= nil then
            out.concurrency = int_arg("concurrency", o.concurrency, 1, 256)
        end
        local rl = o["rate-limit"]
        if rl == nil or rl == "quota" then
            out.rate_limit = "quota"
        elseif rl == "off" or rl == "none" then
            out.rate_limit = false
        else
            local n = tonumber(rl)
            if not n or n <= 0 or n ~= n or n == math.huge then
                usage(fmt('argument --rate-limit: expected "quota", "off" or a positive '
                          .. "number of requests per second, got %q", rl))
            end
            out.rate_limit = n
        end
        return out
    end

    --------------------------------------------------------------------
    -- progress on stderr (a terminal only)
    --------------------------------------------------------------------

    local function progress(io_env, what)
        if not (io_env.isatty and io_env.isatty(2)) then
            return nil, function() end
        end
        local err = io_env.stderr
        local shown = false
        local function update(done, total)
            local line
            if total and total > 0 then
                local filled = floor(BAR_WIDTH * done / total + 0.5)
                line = fmt("\r%s [%s%s] %d/%d CAs", what, ("#"):rep(filled),
                           ("."):rep(BAR_WIDTH - filled), done, total)
            else
                line = fmt("\r%s ... %d CAs (listing)", what, done)
            end
            err:write(line)
            shown = true
        end
        local function finish()
            if shown then
                err:write("\r", (" "):rep(BAR_WIDTH + 40), "\r")
            end
        end
        return update, finish
    end

    --------------------------------------------------------------------
    -- tables for people
    --------------------------------------------------------------------

    -- enough of an ARN to tell CAs apart: <account>/<id's first 8>..<last 4>
    local function short_arn(arn)
        if type(arn) ~= "string" then
            return "?"
        end
        local account, id = arn:match(":(%d+):certificate%-authority/([%w%-]+)$")
        if not account then
            return cell(arn)
        end
        return account .. "/" .. (#id > 14 and id:sub(1, 8) .. ".." .. id:sub(-4) or id)
    end

    -- a value as a table cell or a text field: on one line, escaped, and
    -- (but for the last column, a finding or a reason) not too wide
    function cell(v, last)
        return printable(v == nil and "-" or v, last and MAX_FIELD or MAX_CELL)
    end

    -- the columns a cell takes: its characters (cells are valid UTF-8)
    local function width(c)
        return #c:gsub("[\128-\191]", "")
    end

    -- rows (lists of cells) under a header, columns padded; the last
    -- column is not padded
    local function render(header, rows)
        local widths = {}
        for i, h in ipairs(header) do
            widths[i] = #h
        end
        for _, r in ipairs(rows) do
            for i, c in ipairs(r) do
                widths[i] = max(widths[i] or 0, width(c))
            end
        end
        local out = {}
        local function line(cells)
            local parts = {}
            for i, c in ipairs(cells) do
                parts[i] = i < #cells and c .. (" "):rep(widths[i] - width(c)) or c
            end
            out[#out + 1] = concat(parts, "  ")
        end
        line(header)
        for _, r in ipairs(rows) do
            line(r)
        end
        return concat(out, "\n")
    end

    --------------------------------------------------------------------
    -- audit
    --------------------------------------------------------------------

    -- the summary under the table; the listing's error escaped and bounded
    local function audit_summary_line(s)
        return fleet.summary_text(s, function(m) return cell(m, true) end)
    end

    local function map(t, order)
        local kv = {}
        for _, k in ipairs(order) do
            if t[k] then
                kv[#kv + 1], kv[#kv + 2] = k, t[k]
            end
        end
        kv.n = #kv
        return object(kv)
    end

    -- one row at a time (json.write_list): 1,000 CAs never sit in memory
    -- twice over as JSON objects and text
    local function audit_json(out, rows, s)
        json.write_list(out, "CertificateAuthorities", #rows, function(i)
            local r = rows[i]
            return object(
                "Arn", r.arn, "Type", r.type, "Status", r.status,
                "CommonName", r.common_name, "NotAfter", iso8601(r.not_after),
                "Renewal", r.renewal, "MissingActions", array(r.missing_actions),
                "Finding", r.finding, "Fix", r.fix)
        end, object(
            "Summary", object(
                "Total", s.total, "Active", s.active, "ActiveComplete", s.active_complete,
                "ByStatus", map(s.by_status, STATUS_ORDER),
                "ByRenewal", map(s.by_renewal, RENEWAL_ORDER),
                "Compliant", s.compliant, "CompleteListing", s.complete_listing,
                "Requests", s.requests, "Throttled", s.throttled)))
    end

    local function audit_table(rows, s)
        local cells = {}
        for i, r in ipairs(rows) do
            cells[i] = { cell(r.common_name), short_arn(r.arn), cell(r.status),
                         cell(r.renewal), cell(r.finding, true) }
        end
        return render({ "COMMON NAME", "CA", "STATUS", "RENEWAL", "FINDING" }, cells)
            .. "\n\n" .. audit_summary_line(s)
    end

    local function audit_text(rows, s)
        local out = {}
        for _, r in ipairs(rows) do
            out[#out + 1] = concat({ "CERTIFICATEAUTHORITY", cell(r.arn, true), cell(r.type),
                                     cell(r.status), cell(r.common_name),
                                     cell(iso8601(r.not_after)), cell(r.renewal),
                                     cell(concat(r.missing_actions, ",")),
                                     cell(r.finding, true) }, "\t")
        end
        out[#out + 1] = concat({ "SUMMARY", s.total, s.active, s.active_complete,
                                 s.compliant and "COMPLIANT" or "NONCOMPLIANT" }, "\t")
        return concat(out, "\n")
    end

    local function read_audit(_, o)
        local opts = M.read_batch(o)
        local ro = o["resource-owner"]
        if ro ~= nil and ro ~= "SELF" and ro ~= "OTHER_ACCOUNTS" then
            usage(fmt("argument --resource-owner: invalid choice: %q (choose from 'SELF', "
                      .. "'OTHER_ACCOUNTS')", ro))
        end
        opts.resource_owner = ro
        return opts
    end

    -- runs a fleet helper with the progress bar; { rows, summary } | nil, err
    local function with_progress(io_env, what, fn)
        local update, finish = progress(io_env, what)
        local rows, s = fn(update and function(done, total) update(done, total) end or nil)
        finish()
        return rows and { rows = rows, summary = s } or nil, s
    end

    -- prints { rows, summary } in format with the three writers
    local function print_as(io_env, format, res, writers)
        local out = io_env.stdout
        if format == "table" then
            out:write(writers.table(res.rows, res.summary), "\n")
        elseif format == "text" then
            out:write(writers.text(res.rows, res.summary), "\n")
        else
            writers.json(out, res.rows, res.summary)
        end
    end

    local function run_audit(_, c, opts, _, io_env)
        return with_progress(io_env, "auditing", function(on_progress)
            opts.on_progress = on_progress
            return c:audit(opts)
        end)
    end

    local function emit_audit(io_env, format, res)
        print_as(io_env, format, res, { table = audit_table, text = audit_text,
                                        json = audit_json })
        return res.summary.compliant and 0 or 1
    end

    M.audit = {
        name = "audit",
        summary = "Audits ACM renewal on every CA of the account",
        options = { M.RESOURCE_OWNER, M.CONCURRENCY, M.RATE_LIMIT },
        synopsis = "[--resource-owner SELF|OTHER_ACCOUNTS] [--concurrency <n>]\n"
            .. "        [--rate-limit quota|off|<n>] [--output table|json|text]",
        about = "Lists every CA (ListCertificateAuthorities, every page) and reads each\n"
            .. "one's permissions concurrently, then prints one row per CA: common name,\n"
            .. "CA, status, renewal verdict and a finding with the fix:\n"
            .. "  COMPLETE  acm.amazonaws.com holds IssueCertificate, GetCertificate\n"
            .. "            and ListPermissions\n"
            .. "  PARTIAL   it holds some of them (the finding names the missing ones)\n"
            .. "  ABSENT    it holds none\n"
            .. "  UNKNOWN   the permissions could not be read (the finding says why), or\n"
            .. "            the CA is shared from another account\n"
            .. "Output: a table on a terminal, JSON otherwise (--output chooses).\n"
            .. "Exit status: 0 when every ACTIVE CA the account owns is COMPLETE,\n"
            .. "1 when one is not, 2 on a usage error.\n\n"
            .. "  --resource-owner <v>     SELF (default: CAs the account owns) or\n"
            .. "                           OTHER_ACCOUNTS (CAs shared with it)\n"
            .. RATE_HELP,
        outputs = { table = true, json = true, text = true },
        tty_output = "table",
        read = read_audit, run = run_audit, emit = emit_audit,
    }

    --------------------------------------------------------------------
    -- ensure-renewal --all
    --------------------------------------------------------------------

    local function ensure_json(out, results, s)
        json.write_list(out, "Results", #results, function(i)
            local r = results[i]
            local e = r.error
            return object(
                "Arn", r.arn, "CommonName", r.common_name, "Status", r.status,
                "Result", r.result, "Reason", r.reason,
                "Error", e and (type(e) == "table"
                    and object("Code", e.code, "Message", e.message) or tostring(e))
                    or null)
        end, object(
            "Summary", object("Total", s.total, "ByResult", map(s.by_result, RESULT_ORDER),
                              "Failed", s.failed, "DryRun", s.dry_run,
                              "CompleteListing", s.complete_listing,
                              "Requests", s.requests, "Throttled", s.throttled)))
    end

    local function ensure_table(results, s)
        local cells = {}
        for i, r in ipairs(results) do
            cells[i] = { cell(r.common_name), short_arn(r.arn), cell(r.status),
                         cell(r.result), cell(r.reason, true) }
        end
        local tail = fmt("%d CAs: %s.%s", s.total, counts(s.by_result, RESULT_ORDER),
                         s.dry_run and " Dry run: nothing was written." or "")
        if not s.complete_listing then
            tail = tail .. "\nThe listing stopped early: "
                .. cell(s.error and (s.error.message or s.error.code) or "unknown error", true)
        end
        return render({ "COMMON NAME", "CA", "STATUS", "RESULT", "REASON" }, cells)
            .. "\n\n" .. tail
    end

    local function ensure_text(results, s)
        local out = {}
        for _, r in ipairs(results) do
            out[#out + 1] = concat({ "RESULT", cell(r.arn, true), cell(r.status), cell(r.result),
                                     cell(r.reason, true) }, "\t")
        end
        out[#out + 1] = concat({ "SUMMARY", s.total, s.failed,
                                 s.dry_run and "DRYRUN" or "APPLIED" }, "\t")
        return concat(out, "\n")
    end

    function M.run_ensure_all(opts, c, io_env)
        return with_progress(io_env, opts.dry_run and "checking" or "ensuring",
                             function(on_progress)
            opts.on_progress = on_progress
            return c:ensure_acm_renewal_all(opts)
        end)
    end

    function M.emit_ensure_all(io_env, format, res)
        print_as(io_env, format, res, { table = ensure_table, text = ensure_text,
                                        json = ensure_json })
        return res.summary.ok and 0 or 1
    end

    M.RATE_HELP = RATE_HELP
    return M
end
