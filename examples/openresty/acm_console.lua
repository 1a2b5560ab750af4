-- acm_console: the JSON API of the ACM renewal admin console (lua-acmpca
-- example; see README.md beside this file).  The page itself is static
-- (console/index.html, console.css, console.js), served by nginx.
--
--   location ^~ /acm-renewal/api/ { content_by_lua_block { require("acm_console").handle() } }
--
--   POST   /acm-renewal/api/session  {"token": T}  sign in: 200 + session cookie
--   GET    /acm-renewal/api/session                 200 {csrf_token, expires_at} | 401
--   DELETE /acm-renewal/api/session                 sign out (CSRF token needed)
--   GET    /acm-renewal/api/cas                     the audit: {cas, summary, summary_text}
--   GET    /acm-renewal/api/ca?ca_arn=ARN           {ca, renewal, missing_actions,
--                                                    permissions, editable}
--   POST   /acm-renewal/api/fix-all                 the bulk ensure, as NDJSON lines:
--          {"progress": {...}} per CA, then {"done": true, "results", "summary"}
--
-- Granting and revoking go through the renewal endpoint (acm_renewal.lua).
-- Every request but the sign-in needs the bearer token or a session
-- (acm_auth.lua); state-changing ones with a session need the CSRF token.
-- Service errors answer 502 {"error": code, "message", "request_id"} (504
-- for a timeout), never a stack trace.

-- luacheck: globals ngx

local type = type
local ipairs = ipairs
local pcall = pcall
local tostring = tostring
local require = require
local concat = table.concat
local match = string.match
local cjson = require "cjson.safe"
local json = require "acmpca.json"
local auth = require "acm_auth"
local renewal = require "acm_renewal"
local fleet = require "acmpca.fleet"

local ngx = ngx


local _M = { _VERSION = "0.2.0" }


local MAX_BODY = 8192
local MAX_ARN = 200
local ACM = "acm.amazonaws.com"
local ACTIONS = { "IssueCertificate", "GetCertificate", "ListPermissions" }
local RESULT_ORDER = fleet.RESULTS


------------------------------------------------------------------------
-- answers
------------------------------------------------------------------------

local function send(status, body, headers)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Cache-Control"] = "no-store"
    for name, value in pairs(headers or {}) do
        ngx.header[name] = value
    end
    local ok, text = pcall(json.encode, body)
    if not ok then
        ngx.log(ngx.ERR, "acm_console: cannot encode an answer: ", tostring(text))
        ngx.status = 500
        text = '{"error":"InternalError","message":"internal error"}'
    end
    ngx.print(text, "\n")
    return ngx.exit(ngx.HTTP_OK)
end


local function fail(status, code, message, headers)
    return send(status, { error = code, message = message }, headers)
end


-- An error object (or anything) as { code, message } for JSON.
local function plain_error(err)
    if err == nil then
        return nil
    end
    if type(err) == "table" or type(err) == "userdata" then
        return { code = err.code, message = err.message and tostring(err.message) or nil,
                 request_id = err.request_id, status = err.status }
    end
    return { code = "InternalError", message = tostring(err) }
end


local function list(t)
    local out = json.array({})
    for i, v in ipairs(type(t) == "table" and t or {}) do
        out[i] = v
    end
    return out
end


local counts, summary_text = fleet.counts, fleet.summary_text


------------------------------------------------------------------------
-- handlers
------------------------------------------------------------------------

local function read_json_body()
    local ctype = ngx.var.content_type or ""
    if not match(ctype:lower(), "^application/json%s*;?") then
        return nil, 415, "expected Content-Type: application/json"
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body or #body > MAX_BODY then
        return nil, 400, ngx.req.get_body_file() and "request body too large"
            or "expected a JSON body"
    end
    local doc = cjson.decode(body)
    if type(doc) ~= "table" then
        return nil, 400, "expected a JSON object"
    end
    return doc
end


local function sign_in()
    local problem = auth.problem()
    if problem then
        return fail(503, "AdminTokenNotConfigured", "the admin endpoint is not configured")
    end
    local doc, status, why = read_json_body()
    if not doc then
        return fail(status, status == 415 and "UnsupportedMediaType" or "BadRequest", why)
    end
    if not auth.is_admin_token(doc.token) then
        ngx.log(ngx.WARN, "acm_console: sign-in refused from ", ngx.var.remote_addr)
        return fail(401, "Unauthorized", "wrong token")
    end
    local cookie, info = auth.new_session()
    if not cookie then
        ngx.log(ngx.ERR, "acm_console: cannot make a session: ", tostring(info))
        return fail(503, "SessionsUnavailable", "sessions are not available: " .. tostring(info))
    end
    return send(200, { signed_in = true, csrf_token = info.csrf_token,
                       expires_at = info.expires_at }, { ["Set-Cookie"] = cookie })
end


local function session(method, who, s)
    if method == "GET" then
        if who == "bearer" then
            return send(200, { signed_in = true, via = "bearer" })
        end
        return send(200, { signed_in = true, via = "session", csrf_token = s.csrf_token,
                           expires_at = s.expires_at })
    end
    -- DELETE
    if s then
        auth.revoke(s)
    end
    return send(200, { signed_in = false }, { ["Set-Cookie"] = auth.clear_cookie() })
end


local function audit_row(r)
    return {
        arn = r.arn, common_name = r.common_name, type = r.type, status = r.status,
        renewal = r.renewal, missing_actions = list(r.missing_actions),
        not_after = r.not_after, expires_in_days = r.expires_in_days, shared = r.shared,
        owner_account = r.owner_account, finding = r.finding, fix = r.fix,
        error = plain_error(r.error),
    }
end


local function cas()
    local c = renewal.client()
    if not c then
        return fail(500, "InternalError", "client not available")
    end
    local rows, s = c:audit()
    if not rows then
        return renewal.service_error(s)
    end
    local out = list({})
    for i, r in ipairs(rows) do
        out[i] = audit_row(r)
    end
    return send(200, {
        cas = out,
        summary = { total = s.total, by_status = s.by_status, by_renewal = s.by_renewal,
                    active = s.active, active_complete = s.active_complete,
                    compliant = s.compliant, complete_listing = s.complete_listing,
                    error = plain_error(s.error) },
        summary_text = summary_text(s),
    })
end


local function read_arn()
    local arn = ngx.req.get_uri_args().ca_arn
    if type(arn) ~= "string" or arn == "" then
        return nil, "ca_arn is required"
    end
    if #arn > MAX_ARN or not require("acmpca").is_ca_arn(arn) then
        return nil, "ca_arn: expected arn:<partition>:acm-pca:<region>:<12-digit account>"
            .. ":certificate-authority/<id>"
    end
    return arn
end


-- The renewal verdict of a permission list: COMPLETE | PARTIAL | ABSENT and
-- the actions ACM lacks.
local function verdict(perms)
    local best
    for _, p in ipairs(perms) do
        if p.principal == ACM then
            local have, missing = {}, {}
            for _, a in ipairs(type(p.actions) == "table" and p.actions or {}) do
                have[a] = true
            end
            for _, a in ipairs(ACTIONS) do
                if not have[a] then
                    missing[#missing + 1] = a
                end
            end
            if #missing == 0 then
                return "COMPLETE", missing
            end
            best = best or missing
        end
    end
    if best then
        return "PARTIAL", best
    end
    return "ABSENT", { ACTIONS[1], ACTIONS[2], ACTIONS[3] }
end


local function ca_page()
    local arn, why = read_arn()
    if not arn then
        return fail(400, "BadRequest", why)
    end
    local c = renewal.client()
    if not c then
        return fail(500, "InternalError", "client not available")
    end
    local res, err = c:describe_certificate_authority{ ca_arn = arn }
    if not res then
        return renewal.service_error(err)
    end
    local d = type(res.certificate_authority) == "table" and res.certificate_authority or {}
    local cfg = type(d.certificate_authority_configuration) == "table"
        and d.certificate_authority_configuration or {}
    local subject = type(cfg.subject) == "table" and cfg.subject or {}
    local ca = { arn = d.arn or arn, common_name = subject.common_name, type = d.type,
                 status = d.status, serial = d.serial, not_before = d.not_before,
                 not_after = d.not_after, created_at = d.created_at,
                 owner_account = d.owner_account, failure_reason = d.failure_reason }

    local out = { ca = ca, permissions = list({}), editable = d.status == "ACTIVE" }
    local perms, perr = c:list_all_permissions(arn)
    if perms then
        for i, p in ipairs(perms) do
            out.permissions[i] = { principal = p.principal, actions = list(p.actions),
                                   source_account = p.source_account,
                                   created_at = p.created_at }
        end
        local v, missing = verdict(perms)
        out.renewal, out.missing_actions = v, list(missing)
    else
        -- a CA whose permissions cannot be read (its state, access) is still shown
        out.renewal, out.missing_actions = "UNKNOWN", list({})
        out.permissions_error = plain_error(perr)
        out.editable = false
    end
    return send(200, out)
end


local function result_row(r)
    return { arn = r.arn, common_name = r.common_name, status = r.status, result = r.result,
             reason = r.reason, error = plain_error(r.error) }
end


-- The bulk ensure, streamed: headers go out with the first progress line,
-- so a listing that fails before any CA is still a plain 502.
local function fix_all()
    local c = renewal.client()
    if not c then
        return fail(500, "InternalError", "client not available")
    end
    local started = false
    local function line(doc)
        if not started then
            started = true
            ngx.status = 200
            ngx.header["Content-Type"] = "application/x-ndjson"
            ngx.header["Cache-Control"] = "no-store"
        end
        local ok, text = pcall(json.encode, doc)
        if ok then
            ngx.print(text, "\n")
            ngx.flush(false)
        end
    end
    local results, s = c:ensure_acm_renewal_all{
        on_progress = function(done, total, r)
            line({ progress = { done = done, total = total, arn = r.arn,
                                common_name = r.common_name, result = r.result } })
        end,
    }
    if not results then
        if not started then
            return renewal.service_error(s)
        end
        local e = plain_error(s)
        line({ done = true, error = e.code, message = e.message })
        return ngx.exit(ngx.HTTP_OK)
    end
    local out = list({})
    for i, r in ipairs(results) do
        out[i] = result_row(r)
    end
    line({ done = true, results = out,
           summary = { total = s.total, by_result = s.by_result, failed = s.failed, ok = s.ok,
                       complete_listing = s.complete_listing, error = plain_error(s.error),
                       text = counts(s.by_result, RESULT_ORDER) } })
    return ngx.exit(ngx.HTTP_OK)
end


local ROUTES = {
    session = { GET = true, DELETE = true },
    cas = { GET = cas },
    ca = { GET = ca_page },
    ["fix-all"] = { POST = fix_all },
}


--- The content handler for /acm-renewal/api/.
function _M.handle()
    local method = ngx.req.get_method()
    local route = match(ngx.var.uri, "^/acm%-renewal/api/([%w%-]+)$")
    if route == "session" and method == "POST" then
        return sign_in()
    end
    local who, s_or_status, code, message = auth.authenticate(method ~= "GET"
                                                              and method ~= "HEAD")
    if not who then
        return fail(s_or_status, code, message)
    end
    local methods = route and ROUTES[route]
    if not methods then
        return fail(404, "NotFound", "no such console API")
    end
    local handler = methods[method]
    if not handler then
        local allow = {}
        for m in pairs(methods) do
            allow[#allow + 1] = m
        end
        if route == "session" then
            allow[#allow + 1] = "POST"
        end
        table.sort(allow)
        return fail(405, "MethodNotAllowed", method .. " not allowed",
                    { Allow = concat(allow, ", ") })
    end
    if route == "session" then
        return session(method, who, who == "session" and s_or_status or nil)
    end
    local ok, err = pcall(handler)
    if not ok then
        -- ngx.exit inside a pcall is not an error in ngx_lua; anything else is
        ngx.log(ngx.ERR, "acm_console: ", route, " raised: ", tostring(err))
        return fail(500, "InternalError", "internal error")
    end
end


return _M
