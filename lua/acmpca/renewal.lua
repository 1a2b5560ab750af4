--- acmpca.renewal: the renewal helpers every client has.
--
--    client:ensure_acm_renewal(ca_arn[, opts])  -> true, "created" | "present" | "repaired"
--    client:has_acm_renewal(ca_arn[, opts])     -> true | false
--    client:revoke_acm_renewal(ca_arn)          -> true, "revoked" | "absent"
--    client:permissions(ca_arn[, opts])         iterator over every permission
--    client:list_all_permissions(ca_arn[, opts]) -> list
--
-- ACM renews a private CA's certificates only if the service principal
-- acm.amazonaws.com holds IssueCertificate, GetCertificate and
-- ListPermissions on the CA.  These helpers are built on the operation
-- methods (list_permissions, create_permission, delete_permission) and are
-- installed on the client class by acmpca.client.
--
-- @module acmpca.renewal

local core = require "acmpca.core"

local type, ipairs, tostring, pcall = type, ipairs, tostring, pcall
local error = error
local fmt = string.format
local min = math.min

local paginate = require "acmpca.paginate"
local check_options = require("acmpca.show").check_options
local batch_sleeper = require("acmpca.batch").sleeper
local pages = paginate.pages
local parse_ca_arn = core.parse_ca_arn
local new_error = core.new_error

local _M = { _VERSION = "0.2.0" }
local methods = {}
_M.methods = methods

-- One line per method, for acmpca.help() (a spec checks it lists each).
_M.help = {
    ensure_acm_renewal = "(ca_arn[, {source_account, wait}]) -> true, \"created\"|"
        .. "\"present\"|\"repaired\": grant ACM the renewal permission",
    has_acm_renewal = "(ca_arn[, {source_account}]) -> true|false: does ACM hold all three "
        .. "actions?",
    revoke_acm_renewal = "(ca_arn) -> true, \"revoked\"|\"absent\": delete ACM's "
        .. "permission",
    permissions = "(ca_arn[, {max_results}]) -> iterator over every permission, all pages",
    list_all_permissions = "(ca_arn[, {max_results}]) -> the list of every permission",
}


-- The principal and actions ACM needs to renew certificates a CA issued.
local ACM_PRINCIPAL = "acm.amazonaws.com"
local RENEWAL_ACTIONS = { "IssueCertificate", "GetCertificate", "ListPermissions" }

--- { "IssueCertificate", "GetCertificate", "ListPermissions" }.
-- @field RENEWAL_ACTIONS

--- "acm.amazonaws.com", the principal the helpers grant.
_M.ACM_PRINCIPAL = ACM_PRINCIPAL
-- a copy: changing it does not change what the helpers ask for
_M.RENEWAL_ACTIONS = { RENEWAL_ACTIONS[1], RENEWAL_ACTIONS[2], RENEWAL_ACTIONS[3] }

local CA_STATUSES = {
    CREATING = true, PENDING_CERTIFICATE = true, DELETED = true, DISABLED = true,
    EXPIRED = true, FAILED = true,
}

-- what an ARN must look like, in the model's words (src/validate.c says the same)
local ARN_HINT = require("acmpca.model")._private().shapes.Arn.hint


------------------------------------------------------------------------
-- helpers
-- @section helpers
------------------------------------------------------------------------

-- acmpca.is_ca_arn(s): s is a CA ARN as acmpca.client accepts it:
-- arn:<partition>:acm-pca:<region>:<12 digits>:certificate-authority/<id>
-- (the rule lives in C, core.parse_ca_arn, so both agree by construction).
local function is_ca_arn(s)
    return parse_ca_arn(s) ~= nil
end

--- is_ca_arn(s) -> boolean, as described above.
_M.is_ca_arn = is_ca_arn


local function check_arn(fn, arn)
    if not is_ca_arn(arn) then
        local got = type(arn) == "string" and fmt("%q", arn) or type(arn)
        error(fmt("acmpca.%s: ca_arn: expected %s, got %s", fn, ARN_HINT, got), 3)
    end
end


-- The options each helper takes; any other key is an error naming it.
local OPTIONS = {
    ensure_acm_renewal = { source_account = true, wait = true },
    has_acm_renewal = { source_account = true },
    revoke_acm_renewal = {},
    permissions = { max_results = true },
    list_all_permissions = { max_results = true },
}
_M.OPTIONS = OPTIONS


local function check_opts(fn, opts)
    if opts == nil then
        return {}
    end
    if type(opts) ~= "table" then
        error(fmt("acmpca.%s: opts: expected a table, got %s", fn, type(opts)), 3)
    end
    check_options(fn, opts, OPTIONS[fn], 3)
    local sa = opts.source_account
    if sa ~= nil and (type(sa) ~= "string" or not sa:match("^%d%d%d%d%d%d%d%d%d%d%d%d$")) then
        error(fmt("acmpca.%s: source_account: expected 12 digits, got %s", fn,
                  type(sa) == "string" and fmt("%q", sa) or type(sa)), 3)
    end
    local mr = opts.max_results
    if mr ~= nil and (type(mr) ~= "number" or mr % 1 ~= 0 or mr < 1 or mr > 1000) then
        error(fmt("acmpca.%s: max_results: expected an integer from 1 to 1000, got %s", fn,
                  tostring(mr)), 3)
    end
    local w = opts.wait
    if w ~= nil and (type(w) ~= "number" or w ~= w or w < 0 or w > 86400) then
        error(fmt("acmpca.%s: wait: expected a number of seconds from 0 to 86400, got %s", fn,
                  tostring(w)), 3)
    end
    return opts
end


-- A copy of err with another message (error objects are shared-metatable
-- tables made in C; a plain table is patched in place).
local function with_message(err, message)
    local ok, e = pcall(new_error, {
        code = err.code, message = message, status = err.status,
        request_id = err.request_id, retryable = err.retryable, operation = err.operation,
    })
    if ok and e then
        pcall(function() e.attempts = err.attempts end)
        return e
    end
    pcall(function() err.message = message end)
    return err
end


-- InvalidStateException in words a user understands; other errors as is.
local function explain(err, ca_arn, reading)
    if type(err) ~= "table" or err.code ~= "InvalidStateException" then
        return err
    end
    local said = type(err.message) == "string" and err.message or ""
    local status
    for word in said:gmatch("%u[%u_]+%u") do
        if CA_STATUSES[word] then
            status = word
            break
        end
    end
    local msg = reading
        and "the CA's permissions cannot be read in its current state; CA " .. ca_arn
        or "permissions can only be changed while the CA is ACTIVE; CA " .. ca_arn
    if status then
        msg = msg .. " is " .. status
    else
        msg = msg .. " is not ACTIVE" .. (said ~= "" and " (" .. said .. ")" or "")
    end
    return with_message(err, msg)
end


local function err_code(err)
    return type(err) == "table" and err.code or nil
end


-- The renewal actions p lacks, in RENEWAL_ACTIONS order.
local function missing_actions(p)
    local have, out = {}, {}
    for _, a in ipairs(type(p.actions) == "table" and p.actions or {}) do
        have[a] = true
    end
    for _, a in ipairs(RENEWAL_ACTIONS) do
        if not have[a] then
            out[#out + 1] = a
        end
    end
    return out
end

--- missing_actions(p) -> the renewal actions permission p lacks, in order.
_M.missing_actions = missing_actions


-- The ACM permission in list (nil when none) and whether it is complete:
-- all three actions and, when source_account is asked for, that account.
local function find_acm(list, source_account)
    local found
    for _, p in ipairs(list) do
        if p.principal == ACM_PRINCIPAL then
            if #missing_actions(p) == 0
               and (source_account == nil or p.source_account == source_account) then
                return p, true
            end
            found = found or p
        end
    end
    return found, false
end


-- The pages of ListPermissions for ca_arn (acmpca.paginate): each call
-- of the returned function gives the next page's list, nil after the last
-- page, or false, err once.
local function pager(self, ca_arn, max_results)
    return pages(self, "list_permissions", { ca_arn = ca_arn, max_results = max_results })
end


-- The ACM permission on ca_arn and whether it is complete: p, true; p,
-- false (incomplete, or for another source account than the one asked
-- for); false, false (none); or nil, err.  Stops at the page that holds a
-- complete one: when all is in place, later pages are not read (one
-- ListPermissions when ACM's permission is on the first page).
local function find_renewal(self, ca_arn, source_account)
    local found, next_page = false, pager(self, ca_arn)
    while true do
        local page, err = next_page()
        if page == nil then
            return found, false
        elseif not page then
            return nil, err
        end
        local p, complete = find_acm(page, source_account)
        if complete then
            return p, true
        end
        found = found or p or false
    end
end

--- find_renewal(client, ca_arn[, source_account]) -> p, complete | nil, err.
_M.find_renewal = find_renewal


local function list_all(self, ca_arn, opts)
    return paginate.all(self, "list_permissions",
                        { ca_arn = ca_arn, max_results = opts and opts.max_results })
end


------------------------------------------------------------------------
-- client methods
-- @section client_methods
------------------------------------------------------------------------

--- client:permissions(ca_arn[, opts]): for p[, err] in client:permissions(arn)
-- walks every permission across all pages.  On failure the loop gets
-- false, err once and then ends.  opts.max_results sets the page size.
-- @function client:permissions
function methods.permissions(self, ca_arn, opts)
    check_arn("permissions", ca_arn)
    opts = check_opts("permissions", opts)
    local items = paginate.items(self, "list_permissions",
                                 { ca_arn = ca_arn, max_results = opts.max_results })
    return function()
        local p, err = items()
        -- nil: the end; false, err: a failure, then the end
        if p == false then
            return false, explain(err, ca_arn, true)
        end
        return p
    end
end


--- client:list_all_permissions(ca_arn[, opts]) -> list | nil, err
-- @function client:list_all_permissions
function methods.list_all_permissions(self, ca_arn, opts)
    check_arn("list_all_permissions", ca_arn)
    opts = check_opts("list_all_permissions", opts)
    local list, err = list_all(self, ca_arn, opts)
    if not list then
        return nil, explain(err, ca_arn, true)
    end
    return list
end


--- client:has_acm_renewal(ca_arn[, opts]) -> true | false | nil, err
-- true when ACM holds the three actions; with opts.source_account, for
-- that source account (true exactly when ensure_acm_renewal with the same
-- opts would report "present").
-- @function client:has_acm_renewal
function methods.has_acm_renewal(self, ca_arn, opts)
    check_arn("has_acm_renewal", ca_arn)
    opts = check_opts("has_acm_renewal", opts)
    local p, complete = find_renewal(self, ca_arn, opts.source_account)
    if p == nil then
        return nil, explain(complete, ca_arn, true) -- complete is the error
    end
    return complete
end


-- One round of ensure: list, then create (or delete and create).
local function ensure(self, ca_arn, opts)
    local repaired, last_err = false, nil

    -- A concurrent creator can win between our list and our create; each
    -- round re-lists, so a third round is only needed if one races twice.
    for _ = 1, 3 do
        local p, complete = find_renewal(self, ca_arn, opts.source_account)
        if p == nil then
            return nil, explain(complete, ca_arn) -- complete is the error
        end
        if complete then
            return true, repaired and "repaired" or "present"
        end

        if p then
            -- CreatePermission refuses an existing principal: delete first.
            local ok, derr = self:delete_permission{
                ca_arn = ca_arn, principal = ACM_PRINCIPAL,
                source_account = type(p.source_account) == "string" and p.source_account or nil,
            }
            if not ok and err_code(derr) ~= "ResourceNotFoundException" then
                return nil, explain(derr, ca_arn)
            end
            repaired = true
        end

        local ok, cerr = self:create_permission{
            ca_arn = ca_arn, principal = ACM_PRINCIPAL,
            actions = { RENEWAL_ACTIONS[1], RENEWAL_ACTIONS[2], RENEWAL_ACTIONS[3] },
            source_account = opts.source_account,
        }
        if ok then
            return true, repaired and "repaired" or "created"
        end
        if err_code(cerr) ~= "PermissionAlreadyExistsException" then
            return nil, explain(cerr, ca_arn)
        end
        last_err = cerr
    end
    return nil, last_err
end


-- Statuses a CA passes through on its way to ACTIVE.
local ON_THE_WAY = { CREATING = true, PENDING_CERTIFICATE = true }
local FIRST_POLL, MAX_POLL, POLL_GROWTH = 1, 10, 1.5


-- Poll DescribeCertificateAuthority until the CA is ACTIVE (true), it is
-- in a status that never leads there, or `wait` seconds are up (nil, err).
local function wait_active(self, ca_arn, wait)
    local st = self:_state()
    local sleep, now = batch_sleeper(st.sleep), st.now or core.now
    local deadline, delay = now() + wait, FIRST_POLL
    while true do
        local res, err = self:describe_certificate_authority{ ca_arn = ca_arn }
        if not res then
            return nil, err
        end
        local ca = res.certificate_authority or {}
        local status = ca.status
        if status == "ACTIVE" then
            return true
        end
        if not ON_THE_WAY[status] then
            return nil, new_error{
                code = "InvalidStateException", retryable = false,
                operation = "DescribeCertificateAuthority",
                message = fmt("CA %s is %s: waiting cannot make it ACTIVE", ca_arn,
                              tostring(status)),
            }
        end
        local left = deadline - now()
        if left <= 0 then
            return nil, new_error{
                code = "WaiterTimeout", retryable = false,
                operation = "DescribeCertificateAuthority",
                message = fmt("CA %s is still %s after waiting %g s for it to become ACTIVE",
                              ca_arn, status, wait),
            }
        end
        sleep(min(delay, left))
        delay = min(MAX_POLL, delay * POLL_GROWTH)
    end
end


--- client:ensure_acm_renewal(ca_arn[, opts]) -> true, "created" | "present"
-- | "repaired", or nil, err.  One ListPermissions (per page) when all is in
-- place.  opts.source_account (12 digits) goes into CreatePermission and is
-- part of what "in place" means: when ACM already holds the three actions
-- for another source account, or for none, that permission is deleted and
-- created again with the one asked for, reported as "repaired".  Without
-- opts.source_account, ACM's permission is "present" whatever its source
-- account.
-- opts.wait = seconds: a CA still CREATING or PENDING_CERTIFICATE (just
-- created) is polled with DescribeCertificateAuthority, backing off from
-- 1 s to 10 s, until it is ACTIVE, then granted; WaiterTimeout after that.
-- @function client:ensure_acm_renewal
function methods.ensure_acm_renewal(self, ca_arn, opts)
    check_arn("ensure_acm_renewal", ca_arn)
    opts = check_opts("ensure_acm_renewal", opts)
    local ok, how = ensure(self, ca_arn, opts)
    if ok or not opts.wait or err_code(how) ~= "InvalidStateException" then
        return ok, how
    end
    local ready, err = wait_active(self, ca_arn, opts.wait)
    if not ready then
        return nil, err
    end
    return ensure(self, ca_arn, opts)
end


--- client:revoke_acm_renewal(ca_arn[, opts]) -> true, "revoked" | "absent"
-- | nil, err.  Deletes every permission of ACM (whatever its source
-- account).  It takes no options: opts must be nil or empty.
-- @function client:revoke_acm_renewal
function methods.revoke_acm_renewal(self, ca_arn, opts)
    check_arn("revoke_acm_renewal", ca_arn)
    check_opts("revoke_acm_renewal", opts)
    local list, err = list_all(self, ca_arn)
    if not list then
        return nil, explain(err, ca_arn)
    end
    local status = "absent"
    for _, p in ipairs(list) do
        if p.principal == ACM_PRINCIPAL then
            local ok, derr = self:delete_permission{
                ca_arn = ca_arn, principal = ACM_PRINCIPAL,
                source_account = type(p.source_account) == "string" and p.source_account or nil,
            }
            if ok then
                status = "revoked"
            elseif err_code(derr) ~= "ResourceNotFoundException" then
                return nil, explain(derr, ca_arn)
            end
        end
    end
    return true, status
end


return _M
