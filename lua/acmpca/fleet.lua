--- acmpca.fleet: every CA of the account at once.
--
--    for ca, err in client:certificate_authorities{ resource_owner = "SELF" } do ... end
--    client:list_all_certificate_authorities{ ... }     -> list | nil, err
--    client:audit{ resource_owner =, concurrency =, on_progress =, rate_limit = }
--                                                      -> rows, summary | nil, err
--    client:ensure_acm_renewal_all{ dry_run =, concurrency =, filter =,
--                                  on_progress =, rate_limit = }
--                                                      -> results, summary | nil, err
--
-- The listing (ListCertificateAuthorities, every page) feeds the per-CA
-- calls while it goes on; those run concurrently (acmpca.batch: libcurl's
-- multi interface in plain Lua, ngx.thread inside nginx), paced under the
-- service's per-operation quotas (acmpca.pacing).  One CA's failure never
-- stops the others: it is that CA's row.  nil, err only when the CAs
-- cannot be listed at all; a listing that fails midway keeps the rows of
-- what it got, with summary.complete_listing = false and summary.error.
--
-- @module acmpca.fleet

local core = require "acmpca.core"
local batch = require "acmpca.batch"
local paginate = require "acmpca.paginate"
local renewal = require "acmpca.renewal"

local type, ipairs, pairs, tostring, error = type, ipairs, pairs, tostring, error
local getmetatable = getmetatable
local fmt = string.format
local concat = table.concat
local floor = math.floor
local os_time, os_date = os.time, os.date

local _M = { _VERSION = "0.2.0" }
local methods = {}
_M.methods = methods

local ACM_PRINCIPAL = renewal.ACM_PRINCIPAL
local RENEWAL_ACTIONS = renewal.RENEWAL_ACTIONS
local find_renewal = renewal.find_renewal -- p, complete | false, false | nil, err
local missing_actions = renewal.missing_actions

local EXPIRY_WARNING_DAYS = 90
local DAY = 86400

_M.VERDICTS = { "COMPLETE", "PARTIAL", "ABSENT", "UNKNOWN" }
_M.RESULTS = { "created", "repaired", "present", "would_create", "would_repair",
               "skipped", "failed" }
-- the order summaries list CA statuses in
_M.STATUSES = { "ACTIVE", "CREATING", "PENDING_CERTIFICATE", "DISABLED", "EXPIRED",
                "FAILED", "DELETED" }


--- "3 ACTIVE, 1 DISABLED": the counts of t in the given order, zeros left out.
function _M.counts(t, order)
    local parts = {}
    for _, k in ipairs(order) do
        local n = t[k]
        if type(n) == "number" and n > 0 then
            parts[#parts + 1] = fmt("%d %s", n, k)
        end
    end
    return concat(parts, ", ")
end


--- The summary under the audit's table (`acmpca audit`, the console), from
-- audit()'s second result.  show(text) renders the listing's error message
-- for the medium (the command escapes and bounds it); default tostring.
function _M.summary_text(s, show)
    show = show or tostring
    local lines = { fmt("%d CAs (%s); renewal: %s.", s.total, _M.counts(s.by_status, _M.STATUSES),
                        _M.counts(s.by_renewal, _M.VERDICTS)) }
    if s.compliant then
        lines[2] = fmt("ACM can renew from every ACTIVE CA the account owns (%d of %d).",
                       s.active_complete, s.active)
    else
        lines[2] = fmt("ACM cannot renew from %d of %d ACTIVE CAs: run "
                       .. "`acmpca ensure-renewal --all` to fix them.",
                       s.active - s.active_complete, s.active)
    end
    if not s.complete_listing then
        local e = s.error
        local why = type(e) == "table" and (e.message or e.code) or e
        lines[3] = "The listing stopped early: " .. show(why or "unknown error")
    end
    return concat(lines, "\n")
end


------------------------------------------------------------------------
-- options
-- @section options
------------------------------------------------------------------------

local OWNERS = { SELF = true, OTHER_ACCOUNTS = true }


local function callable(v)
    if type(v) == "function" then
        return true
    end
    local mt = type(v) == "table" and getmetatable(v)
    return mt and type(mt) == "table" and mt.__call ~= nil or false
end


local function check_opts(fn, opts, allowed)
    if opts == nil then
        return {}
    end
    if type(opts) ~= "table" then
        error(fmt("acmpca.%s: expected a table of options, got %s", fn, type(opts)), 3)
    end
    for k in pairs(opts) do
        if not allowed[k] then
            local names = {}
            for name in pairs(allowed) do
                names[#names + 1] = name
            end
            table.sort(names)
            error(fmt("acmpca.%s: unknown option %s (expected %s)", fn, tostring(k),
                      concat(names, ", ")), 3)
        end
    end
    local ro = opts.resource_owner
    if ro ~= nil and not OWNERS[ro] then
        error(fmt('acmpca.%s: resource_owner: expected "SELF" or "OTHER_ACCOUNTS", got %s',
                  fn, type(ro) == "string" and fmt("%q", ro) or type(ro)), 3)
    end
    local mr = opts.max_results
    if mr ~= nil and (type(mr) ~= "number" or mr ~= floor(mr) or mr < 1 or mr > 1000) then
        error(fmt("acmpca.%s: max_results: expected an integer from 1 to 1000, got %s",
                  fn, tostring(mr)), 3)
    end
    for _, k in ipairs{ "on_progress", "filter" } do
        if opts[k] ~= nil and not callable(opts[k]) then
            error(fmt("acmpca.%s: %s: expected a function, got %s", fn, k, type(opts[k])), 3)
        end
    end
    if opts.dry_run ~= nil and type(opts.dry_run) ~= "boolean" then
        error(fmt("acmpca.%s: dry_run: expected a boolean, got %s", fn, type(opts.dry_run)), 3)
    end
    opts = { resource_owner = ro, max_results = mr, on_progress = opts.on_progress,
             filter = opts.filter, dry_run = opts.dry_run, rate_limit = opts.rate_limit,
             concurrency = batch.check_concurrency(opts.concurrency, fn) }
    return opts
end


------------------------------------------------------------------------
-- listing
-- @section listing
------------------------------------------------------------------------

local LIST_OPTS = { resource_owner = true, max_results = true }


--- client:certificate_authorities([opts]): an iterator over every CA.
-- `for ca[, err] in client:certificate_authorities{ resource_owner =,
-- max_results = } do` walks every CA across all pages (the description as
-- ListCertificateAuthorities gives it); a failure gives false, err once.
-- @function client:certificate_authorities
function methods.certificate_authorities(self, opts)
    opts = check_opts("certificate_authorities", opts, LIST_OPTS)
    return paginate.items(self, "list_certificate_authorities",
                          { resource_owner = opts.resource_owner,
                            max_results = opts.max_results })
end


--- client:list_all_certificate_authorities([opts]) -> list | nil, err: every CA.
-- opts as certificate_authorities': resource_owner, max_results.
-- @function client:list_all_certificate_authorities
function methods.list_all_certificate_authorities(self, opts)
    opts = check_opts("list_all_certificate_authorities", opts, LIST_OPTS)
    return paginate.all(self, "list_certificate_authorities",
                        { resource_owner = opts.resource_owner,
                          max_results = opts.max_results })
end


-- A producer for acmpca.batch: emits every CA, page by page.
local function lister(self, resource_owner)
    return function(emit)
        for ca, err in paginate.items(self, "list_certificate_authorities",
                                      { resource_owner = resource_owner }) do
            if ca == false then
                return nil, err
            end
            emit(ca)
        end
        return true
    end
end


------------------------------------------------------------------------
-- what a CA's state means for renewal
-- @section what_a_ca_s_state_means_for_renewal
------------------------------------------------------------------------

local function common_name(ca)
    local cfg = type(ca.certificate_authority_configuration) == "table"
        and ca.certificate_authority_configuration
    local subject = cfg and type(cfg.subject) == "table" and cfg.subject
    return subject and subject.common_name or nil
end


local function account_of(arn)
    if type(arn) ~= "string" then
        return nil
    end
    local _, _, account = core.parse_ca_arn(arn)
    return account
end


local function day(t)
    return type(t) == "number" and os_date("!%Y-%m-%d", floor(t)) or "?"
end


-- Why a CA that is not ACTIVE cannot have its permissions changed, and
-- what to do about it.
local function not_active(ca)
    local status = tostring(ca.status)
    local finding = fmt("not ACTIVE (%s): permissions can only be changed while ACTIVE", status)
    local fix
    if status == "DISABLED" then
        fix = "re-enable the CA (aws acm-pca update-certificate-authority --status ACTIVE), "
            .. "then run acmpca ensure-renewal"
    elseif status == "PENDING_CERTIFICATE" then
        fix = "install the CA certificate (import-certificate-authority-certificate), "
            .. "then run acmpca ensure-renewal --wait 300"
    elseif status == "CREATING" then
        fix = "run acmpca ensure-renewal --wait 300: it grants once the CA is ACTIVE"
    elseif status == "EXPIRED" then
        fix = "the CA certificate expired on " .. day(ca.not_after)
            .. ": import a new CA certificate"
    elseif status == "DELETED" then
        fix = "deleted; restorable until " .. day(ca.restorable_until)
            .. " (restore-certificate-authority)"
    elseif status == "FAILED" then
        fix = "creation failed (" .. tostring(ca.failure_reason or "no reason given")
            .. "): create the CA again"
    end
    return finding, fix
end


local function expiry_note(ca, now)
    local na = ca.not_after
    if type(na) ~= "number" then
        return nil, nil
    end
    local days = floor((na - now) / DAY)
    if days < 0 then
        return fmt("CA certificate expired %d days ago", -days), days
    elseif days <= EXPIRY_WARNING_DAYS then
        return fmt("expires in %d days", days), days
    end
    return nil, days
end


-- UNKNOWN: why the permissions could not be read, and the fix.
local function unreadable(ca, err)
    local code = type(err) == "table" and err.code or nil
    local attempts = type(err) == "table" and err.attempts or nil
    if code == "AccessDeniedException" or code == "AccessDenied" then
        return "access denied reading its permissions",
            "allow the caller acm-pca:ListPermissions on this CA"
    elseif code == "InvalidStateException" then
        return fmt("permissions unreadable while %s: the service refuses ListPermissions "
                   .. "in this state", tostring(ca.status)), nil
    elseif type(err) == "table" and err.throttling then
        return fmt("throttled after %s attempts", tostring(attempts or "every")),
            "run the audit again later or with a lower --concurrency"
    end
    local msg = type(err) == "table" and (err.message or err.code) or tostring(err)
    return "permissions could not be read: " .. (code and code .. ": " or "")
        .. tostring(msg):gsub("%s+", " "):sub(1, 200), nil
end


-- The audit row of one CA, from its description and what reading its
-- permissions gave (perm, complete | nil, err); shared CAs are not read.
local function assess(ca, owner, shared, p, complete, err, now)
    local row = {
        arn = ca.arn, type = ca.type, status = ca.status, common_name = common_name(ca),
        not_after = ca.not_after, owner_account = owner, shared = shared,
        missing_actions = {},
    }
    local expiry, days = expiry_note(ca, now)
    row.expires_in_days = days
    local finding, fix

    if shared then
        row.renewal = "UNKNOWN"
        finding = fmt("shared from account %s: renewal depends on that account's resource "
                      .. "policy and on ACM's service-linked role in this account",
                      tostring(owner))
        fix = "in account " .. tostring(owner) .. ", keep the CA shared (resource policy "
            .. "or AWS RAM); here, keep the role AWSServiceRoleForCertificateManager"
    elseif p == nil then
        row.renewal = "UNKNOWN"
        row.error = err
        finding, fix = unreadable(ca, err)
    elseif complete then
        row.renewal = "COMPLETE"
        finding = "ACM can renew certificates from this CA"
    elseif p then
        row.renewal = "PARTIAL"
        row.missing_actions = missing_actions(p)
        finding = fmt("%s lacks %s", ACM_PRINCIPAL, concat(row.missing_actions, ", "))
        fix = "acmpca ensure-renewal --certificate-authority-arn " .. tostring(ca.arn)
    else
        row.renewal = "ABSENT"
        row.missing_actions = { RENEWAL_ACTIONS[1], RENEWAL_ACTIONS[2], RENEWAL_ACTIONS[3] }
        finding = "no permission for " .. ACM_PRINCIPAL .. ": ACM cannot renew from this CA"
        fix = "acmpca ensure-renewal --certificate-authority-arn " .. tostring(ca.arn)
    end

    if ca.status ~= "ACTIVE" and not shared then
        local why, what = not_active(ca)
        if row.renewal ~= "UNKNOWN" then
            why = why .. "; renewal " .. row.renewal
        end
        finding, fix = why, what
    elseif expiry then
        finding = finding .. "; " .. expiry
        fix = fix or "renew the CA certificate before it expires"
    end
    row.finding, row.fix = finding, fix
    return row
end


local function count(t, k)
    if k ~= nil then
        t[k] = (t[k] or 0) + 1
    end
end


------------------------------------------------------------------------
-- audit
-- @section audit
------------------------------------------------------------------------

local AUDIT_OPTS = { resource_owner = true, concurrency = true, on_progress = true,
                     rate_limit = true }


--- client:audit([opts]) -> rows, summary | nil, err: each CA's renewal permission.
--
--     client:audit{ resource_owner = "SELF" | "OTHER_ACCOUNTS", concurrency = 4,
--                   on_progress = fn(done, total | nil, row), rate_limit = "quota" }
--
-- nil, err: the CAs could not be listed.  Otherwise one row per
-- CA in the listing's order: arn, type, status, common_name, not_after,
-- expires_in_days, owner_account, shared, renewal (COMPLETE | PARTIAL |
-- ABSENT | UNKNOWN), missing_actions, finding, fix, error (UNKNOWN only).
-- summary: total, by_status, by_renewal, active, active_complete,
-- compliant (every ACTIVE CA the account owns is COMPLETE), requests,
-- throttled, elapsed, complete_listing (false: the listing failed midway;
-- summary.error says why).
-- @function client:audit
function methods.audit(self, opts)
    opts = check_opts("audit", opts, AUDIT_OPTS)
    local now = os_time()
    local st = self:_state()
    local clock = st.now or core.now
    local t0 = clock()
    local rows, err, stats = batch.run(self, {
        name = "audit",
        concurrency = opts.concurrency,
        rate_limit = opts.rate_limit,
        on_progress = opts.on_progress,
        produce = lister(self, opts.resource_owner),
        work = function(ca)
            local owner = ca.owner_account or account_of(ca.arn)
            local shared = opts.resource_owner == "OTHER_ACCOUNTS"
            if shared then
                return assess(ca, owner, true, nil, nil, nil, now)
            end
            local p, complete = find_renewal(self, ca.arn)
            return assess(ca, owner, false, p, complete, p == nil and complete or nil, now)
        end,
        failed = function(ca, message)
            return assess(ca, ca.owner_account, false, nil, nil,
                          core.new_error{ code = "InternalError", message = message,
                                          retryable = false }, now)
        end,
    })
    if err and #rows == 0 then
        return nil, err
    end
    local s = { total = #rows, by_status = {}, by_renewal = {}, active = 0,
                active_complete = 0, requests = stats.requests, throttled = stats.throttled,
                elapsed = clock() - t0, complete_listing = err == nil, error = err }
    for _, r in ipairs(rows) do
        count(s.by_status, r.status)
        count(s.by_renewal, r.renewal)
        if r.status == "ACTIVE" and not r.shared then
            s.active = s.active + 1
            if r.renewal == "COMPLETE" then
                s.active_complete = s.active_complete + 1
            end
        end
    end
    s.compliant = err == nil and s.active == s.active_complete
    return rows, s
end


------------------------------------------------------------------------
-- ensure_acm_renewal_all
-- @section ensure_acm_renewal_all
------------------------------------------------------------------------

local ENSURE_OPTS = { dry_run = true, concurrency = true, filter = true, on_progress = true,
                      rate_limit = true }


local function ensure_one(self, ca, opts)
    local r = { arn = ca.arn, common_name = common_name(ca), status = ca.status }
    if opts.filter and not opts.filter(ca) then
        r.result, r.reason = "skipped", "excluded by the filter"
        return r
    end
    if ca.status ~= "ACTIVE" then
        r.result, r.reason = "skipped", (not_active(ca))
        return r
    end
    if opts.dry_run then
        local p, complete = find_renewal(self, ca.arn)
        if p == nil then
            r.result, r.error = "failed", complete
            r.reason = (unreadable(ca, complete))
        elseif complete then
            r.result, r.reason = "present", "ACM holds all three actions"
        elseif p then
            r.result = "would_repair"
            r.reason = "would replace the permission lacking " .. concat(missing_actions(p), ", ")
        else
            r.result, r.reason = "would_create", "would grant " .. ACM_PRINCIPAL .. " "
                .. concat(RENEWAL_ACTIONS, ", ")
        end
        return r
    end
    local ok, how = self:ensure_acm_renewal(ca.arn)
    if ok then
        r.result = how
    else
        r.result, r.error = "failed", how
        r.reason = type(how) == "table" and tostring(how.message or how.code) or tostring(how)
    end
    return r
end


--- client:ensure_acm_renewal_all([opts]) -> results, summary | nil, err.
--
--     client:ensure_acm_renewal_all{ dry_run = false, concurrency = 4,
--         filter = fn(ca) -> boolean, on_progress = fn(done, total | nil, result),
--         rate_limit = "quota" } -> results, summary | nil, err
--
-- Ensures ACM's renewal permission on every ACTIVE CA the account owns
-- (ListCertificateAuthorities, SELF).  One result per CA, in listing order:
-- { arn, common_name, status, result, reason, error }, result one of
-- created, repaired, present, skipped (not ACTIVE, or filtered out: reason
-- says which), failed (error is the error object); with dry_run, nothing is
-- written and results are present, would_create, would_repair, skipped or
-- failed.  summary: total, by_result, failed, ok (nothing failed),
-- requests, throttled, elapsed, complete_listing, error.
-- @function client:ensure_acm_renewal_all
function methods.ensure_acm_renewal_all(self, opts)
    opts = check_opts("ensure_acm_renewal_all", opts, ENSURE_OPTS)
    local clock = self:_state().now or core.now
    local t0 = clock()
    local results, err, stats = batch.run(self, {
        name = "ensure_acm_renewal_all",
        concurrency = opts.concurrency,
        rate_limit = opts.rate_limit,
        on_progress = opts.on_progress,
        produce = lister(self, "SELF"),
        work = function(ca) return ensure_one(self, ca, opts) end,
        failed = function(ca, message)
            return { arn = ca.arn, common_name = common_name(ca), status = ca.status,
                     result = "failed", reason = message,
                     error = core.new_error{ code = "InternalError", message = message,
                                             retryable = false } }
        end,
    })
    if err and #results == 0 then
        return nil, err
    end
    local s = { total = #results, by_result = {}, failed = 0, requests = stats.requests,
                throttled = stats.throttled, elapsed = clock() - t0,
                complete_listing = err == nil, error = err, dry_run = opts.dry_run or false }
    for _, r in ipairs(results) do
        count(s.by_result, r.result)
        if r.result == "failed" then
            s.failed = s.failed + 1
        end
    end
    s.ok = err == nil and s.failed == 0
    return results, s
end


return _M
