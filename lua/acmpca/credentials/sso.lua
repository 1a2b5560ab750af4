--- acmpca.credentials.sso: IAM Identity Center (SSO) credentials, as
-- botocore's SSOProvider makes them from the token `aws sso login` leaves
-- in ~/.aws/sso/cache.
--
--  * settings: `sso_session = NAME` naming an `[sso-session NAME]` section
--    (sso_start_url, sso_region, sso_registration_scopes) or the legacy
--    `sso_start_url` and `sso_region` in the profile; and the profile's
--    `sso_account_id` and `sso_role_name`.  A profile with neither of the
--    last two is not an SSO profile (botocore's rule).  A missing setting,
--    a missing section, or a setting that the profile and the section both
--    hold with different values is an error naming the profile and the
--    setting;
--  * the token: `~/.aws/sso/cache/<sha1>.json` (SHA-1 of the sso-session's
--    name, or of the start URL for the legacy keys), its accessToken and
--    expiresAt.  A missing, unreadable or expired token is the error
--    `run "aws sso login ..."`.  With an sso-session, a token within 15
--    minutes of its end is refreshed first through SSO OIDC CreateToken
--    when the file holds a refresh token and an unexpired client
--    registration (botocore's SSOTokenProvider); the new token is written
--    back (0600);
--  * GetRoleCredentials: `GET <portal>/federation/credentials?role_name=R&
--    account_id=A` with the token in `x-amz-sso_bearer_token`, unsigned.
--    401 is the `aws sso login` error, 403 names the account and the role;
--    throttling, 5xx and network failures are tried 3 times in all and
--    give a retryable error;
--  * with a cache (acmpca.credentials.cache), the AWS CLI's entry for the
--    role is used while valid, and a fetched one is stored.
--
-- Every failure is nil, err with err a CredentialsError object; no access
-- token, refresh token, client secret, secret key or session token is ever
-- in one (text a server sends back has the token cut out).  Bodies and
-- files are read up to 64 KiB and every field's type is checked.
--
-- @module acmpca.credentials.sso

local core = require "acmpca.core"
local config = require "acmpca.config"
local cjson_safe = require "cjson.safe"
local retry = require "acmpca.retry"

local type, pairs, ipairs, tostring, require, pcall =
    type, pairs, ipairs, tostring, require, pcall
local math_floor, math_huge = math.floor, math.huge
local os_date = os.date
local str_find, str_format, str_lower, str_match, str_sub, str_gsub =
    string.find, string.format, string.lower, string.match, string.sub, string.gsub
local tbl_concat, tbl_sort = table.concat, table.sort


local _M = { _VERSION = "0.2.0" }

local MAX_BODY = 64 * 1024
local MAX_TOKEN_FILE = 64 * 1024
local TIMEOUT = 10
-- botocore's SSOTokenProvider._REFRESH_WINDOW
local REFRESH_WINDOW = 15 * 60
local REQUIRED = { "sso_start_url", "sso_region", "sso_account_id", "sso_role_name" }


local function cache_module()
    return require "acmpca.credentials.cache"
end


-- ---------------------------------------------------------------------
-- Errors
-- ---------------------------------------------------------------------

local function fail(message, fields)
    fields = fields or {}
    return nil, core.new_error{
        code = "CredentialsError", message = message,
        retryable = fields.retryable or false, status = fields.status,
        request_id = fields.request_id, attempts = fields.attempts,
    }
end


-- text with every occurrence of each secret replaced (plain finds).
local function scrub(text, secrets)
    for _, v in pairs(secrets) do
        if type(v) == "string" and #v >= 4 then
            local i = str_find(text, v, 1, true)
            while i do
                text = str_sub(text, 1, i - 1) .. "<redacted>" .. str_sub(text, i + #v)
                i = str_find(text, v, i + 10, true)
            end
        end
    end
    return text
end


-- Untrusted text (or a transport's error object) for a message: secrets
-- cut out, then core.excerpt.
local function untrusted(text, secrets)
    if type(text) == "table" then
        text = tostring(text.code) .. ": " .. tostring(text.message)
    end
    return core.excerpt(scrub(tostring(text), secrets))
end


local function login_error(conf, why)
    local cmd = str_format('"aws sso login --profile %s"', conf.profile)
    if conf.session then
        cmd = str_format('"aws sso login --sso-session %s" (or %s)', conf.session, cmd)
    end
    return fail(str_format("acmpca: the SSO session for profile %s has expired or is "
        .. "missing; run %s%s", conf.profile, cmd, why and (" (" .. why .. ")") or ""))
end


-- ---------------------------------------------------------------------
-- Settings
-- ---------------------------------------------------------------------

local setting = config.setting


-- The settings with an sso-session's merged in (botocore's
-- _resolve_sso_session_reference).  Returns merged, where (setting ->
-- where it came from) or nil, err.
local function resolve_session(ctx, pname, p, name)
    local st = ctx.files and ctx.files()
    local sessions = st and st.sso_sessions or {}
    local sect = sessions[name]
    if type(sect) ~= "table" then
        return fail(str_format("acmpca: profile %s, sso_session: there is no [sso-session "
            .. "%s] section in %s", pname, name, tostring(st and st.config_path)))
    end
    local merged, where = {}, {}
    for k, v in pairs(p) do
        merged[k], where[k] = v, "profile " .. pname
    end
    local keys = {}
    for k in pairs(sect) do
        keys[#keys + 1] = k
    end
    tbl_sort(keys)
    for _, k in ipairs(keys) do
        local v = sect[k]
        if merged[k] ~= nil and merged[k] ~= v then
            return fail(str_format("acmpca: profile %s, %s: the profile has %q and "
                .. "[sso-session %s] has %q; they must agree (or set it in one place)",
                pname, k, core.excerpt(tostring(merged[k])), name,
                core.excerpt(tostring(v))))
        end
        merged[k], where[k] = v, "[sso-session " .. name .. "]"
    end
    return merged, where
end


-- The SSO settings of profile pname, or false (not an SSO profile), or
-- nil, err.  conf: profile, session (nil for the legacy keys), start_url,
-- region, account_id, role_name.
local function sso_config(ctx, pname, p)
    if setting(p, "sso_account_id") == nil and setting(p, "sso_role_name") == nil then
        return false
    end
    local session = setting(p, "sso_session")
    local s, where = p, {}
    if session then
        s, where = resolve_session(ctx, pname, p, session)
        if not s then
            return nil, where
        end
    end
    local missing = {}
    for _, k in ipairs(REQUIRED) do
        if not setting(s, k) then
            missing[#missing + 1] = k
        end
    end
    if #missing > 0 then
        local place = session and ("[sso-session " .. session .. "] or the profile")
            or "the profile (or use sso_session)"
        return fail(str_format("acmpca: profile %s is configured for SSO but is missing %s "
            .. "(set %s in %s)", pname, tbl_concat(missing, ", "),
            #missing > 1 and "them" or "it", place))
    end
    local function at(k)
        return where[k] or ("profile " .. pname)
    end
    local conf = {
        profile = pname, session = session, start_url = s.sso_start_url,
        region = s.sso_region, account_id = s.sso_account_id, role_name = s.sso_role_name,
    }
    if #conf.region > 64 or str_find(conf.region, "[^a-z0-9-]") then
        return fail(str_format("acmpca: %s, sso_region: %q is not a region name", at("sso_region"),
            core.excerpt(conf.region)))
    end
    if not str_find(conf.account_id, "^%d%d%d%d%d%d%d%d%d%d%d%d$") then
        return fail(str_format("acmpca: profile %s, sso_account_id: %q is not a 12-digit AWS "
            .. "account id", pname, core.excerpt(conf.account_id)))
    end
    if #conf.role_name > 64 or str_find(conf.role_name, "[^%w+=,.@_-]") then
        return fail(str_format("acmpca: profile %s, sso_role_name: %q is not an IAM role name",
            pname, core.excerpt(conf.role_name)))
    end
    if str_find(conf.start_url, "[%z\1-\31\127]") then
        return fail(str_format("acmpca: %s, sso_start_url: contains a control character",
            at("sso_start_url")))
    end
    return conf
end


-- ---------------------------------------------------------------------
-- The token (~/.aws/sso/cache)
-- ---------------------------------------------------------------------

local function iso(t)
    return os_date("!%Y-%m-%dT%H:%M:%SZ", math_floor(t))
end


local function token_path(ctx, conf)
    local home = config.home(ctx.opts or {})
    if not home then
        return nil
    end
    return home .. "/.aws/sso/cache/" .. core.sha1_hex(conf.session or conf.start_url) .. ".json"
end


-- The token file's document, or nil, why (a phrase for login_error).
local function read_token(path)
    local data, err, missing = core.read_file(path, MAX_TOKEN_FILE)
    if not data then
        return nil, missing and ("no cached token at " .. path) or err
    end
    local doc = cjson_safe.decode(data)
    if type(doc) ~= "table" then
        return nil, path .. " is not a JSON object"
    end
    local tok = doc.accessToken
    if type(tok) ~= "string" or tok == "" or #tok > 16384 or str_find(tok, "[^\33-\126]") then
        return nil, path .. ": accessToken is missing or not printable ASCII"
    end
    doc.expires = cache_module().parse_expiration(doc.expiresAt)
    if not doc.expires then
        return nil, path .. ": expiresAt is missing or not an ISO-8601 time"
    end
    return doc
end


local function header(res, name)
    if type(res.headers) ~= "table" then
        return nil
    end
    name = str_lower(name)
    for k, v in pairs(res.headers) do
        if type(k) == "string" and str_lower(k) == name and type(v) == "string" then
            return v
        end
    end
    return nil
end


-- The OIDC endpoint: AWS_ENDPOINT_URL_SSO_OIDC, else oidc.<region>.
local function oidc_url(ctx, region)
    local env = ctx.env and ctx.env("AWS_ENDPOINT_URL_SSO_OIDC")
    local base = env or ("https://oidc." .. region .. ".amazonaws.com")
    return (str_gsub(base, "/+$", "")) .. "/token"
end


-- Whether doc can be refreshed: a refresh token, a client, a registration
-- that has not expired.
local function refreshable(ctx, doc)
    for _, k in ipairs{ "refreshToken", "clientId", "clientSecret" } do
        local v = doc[k]
        if type(v) ~= "string" or v == "" or #v > 16384 or str_find(v, "[%z\1-\31\127]") then
            return false
        end
    end
    local reg = cache_module().parse_expiration(doc.registrationExpiresAt)
    return reg ~= nil and reg > ctx.now()
end


-- SSO OIDC CreateToken with the refresh token.  Returns the new token file
-- document (botocore's fields), or nil, why.
local function create_token(ctx, conf, doc)
    local secrets = { doc.accessToken, doc.refreshToken, doc.clientSecret }
    local body = cache_module().dumps({
        grantType = "refresh_token", clientId = doc.clientId,
        clientSecret = doc.clientSecret, refreshToken = doc.refreshToken,
    }, true)
    local ok, res, err = pcall(ctx.http, {
        method = "POST", url = oidc_url(ctx, conf.region),
        headers = { ["Content-Type"] = "application/json", Accept = "application/json" },
        body = body, timeout = TIMEOUT, connect_timeout = TIMEOUT,
    })
    if not ok or not res then
        return nil, "refreshing it failed: " .. untrusted(ok and err or res, secrets)
    end
    if type(res) ~= "table" or res.status ~= 200 or type(res.body) ~= "string"
        or #res.body > MAX_BODY then
        local status = type(res) == "table" and tostring(res.status) or "?"
        return nil, "refreshing it failed: SSO OIDC answered HTTP " .. core.excerpt(status)
    end
    local ans = cjson_safe.decode(res.body)
    local tok = type(ans) == "table" and ans.accessToken
    local ttl = type(ans) == "table" and ans.expiresIn
    if type(tok) ~= "string" or tok == "" or #tok > 16384 or str_find(tok, "[^\33-\126]")
        or type(ttl) ~= "number" or not (ttl > 0 and ttl < math_huge) then
        return nil, "refreshing it failed: SSO OIDC's answer lacks accessToken or expiresIn"
    end
    local new = {
        startUrl = conf.start_url, region = conf.region, accessToken = tok,
        expiresAt = iso(ctx.now() + ttl), clientId = doc.clientId,
        clientSecret = doc.clientSecret, registrationExpiresAt = doc.registrationExpiresAt,
    }
    if type(ans.refreshToken) == "string" and ans.refreshToken ~= "" then
        new.refreshToken = ans.refreshToken
    end
    return new
end


-- The access token for conf, refreshed when close to its end and
-- refreshable.  Returns token | nil, err.
local function access_token(ctx, conf)
    local path = token_path(ctx, conf)
    if not path then
        return login_error(conf, "the token cache is under ~/.aws/sso/cache and HOME is not set")
    end
    local doc, why = read_token(path)
    if not doc then
        return login_error(conf, why)
    end
    local now = ctx.now()
    if conf.session and doc.expires - now < REFRESH_WINDOW and refreshable(ctx, doc) then
        local new, rwhy = create_token(ctx, conf, doc)
        if new then
            local text = cache_module().dumps(new)
            -- as botocore: a token that cannot be saved is still used
            core.write_private(path, text)
            new.expires = cache_module().parse_expiration(new.expiresAt)
            doc = new
        elseif doc.expires <= now then
            return login_error(conf, "the token expired at " .. iso(doc.expires) .. "; " .. rwhy)
        end
    end
    if doc.expires <= now then
        return login_error(conf, "the token expired at " .. iso(doc.expires))
    end
    return doc.accessToken
end


-- ---------------------------------------------------------------------
-- GetRoleCredentials
-- ---------------------------------------------------------------------

local function url_encode(s)
    return (str_gsub(s, "[^%w%-._~]", function(c)
        return str_format("%%%02X", c:byte())
    end))
end


local function portal_url(ctx, conf)
    local base, err
    if ctx.service_url then
        local ok
        ok, base, err = pcall(ctx.service_url, "sso", conf.region)
        if not ok then
            base, err = nil, base
        end
    else
        base = "https://portal.sso." .. conf.region .. ".amazonaws.com"
    end
    if type(base) ~= "string" or base == "" then
        return fail(str_format("acmpca: profile %s: no SSO portal endpoint for region %s: %s",
            conf.profile, conf.region, core.excerpt(tostring(err))))
    end
    return (str_gsub(base, "/+$", "")) .. "/federation/credentials?role_name="
        .. url_encode(conf.role_name) .. "&account_id=" .. url_encode(conf.account_id)
end


-- The error code of a portal answer: x-amzn-ErrorType (up to its ':'),
-- else the body's __type or code.
local function error_code(res, doc)
    local code = header(res, "x-amzn-ErrorType")
    if not code and type(doc) == "table" then
        code = type(doc.__type) == "string" and doc.__type
            or type(doc.code) == "string" and doc.code or nil
    end
    if code then
        code = str_match(str_match(code, "^[^:]*"), "[^#]*$")
    end
    return code
end


-- An unsuccessful answer as an error (retryable or not).
local function answer_error(conf, res, token)
    local status = res.status
    local doc = cjson_safe.decode(res.body or "")
    local code = error_code(res, doc)
    local msg = type(doc) == "table" and (doc.message or doc.Message)
    local rid = header(res, "x-amzn-RequestId")
    rid = rid and core.excerpt(scrub(rid, { token }))
    local detail = str_format("HTTP %d%s%s", status,
        code and (" " .. untrusted(code, { token })) or "",
        type(msg) == "string" and (": " .. untrusted(msg, { token })) or "")
    local fields = { status = status, request_id = rid }
    if status == 401 or code == "UnauthorizedException" then
        return login_error(conf, "the SSO portal refused the token: " .. detail)
    end
    local what = str_format("role %s in account %s", conf.role_name, conf.account_id)
    if status == 403 or code == "ForbiddenException" then
        return fail(str_format("acmpca: profile %s: IAM Identity Center does not give you %s "
            .. "(%s); check sso_account_id and sso_role_name", conf.profile, what, detail),
            fields)
    end
    if status == 404 or code == "ResourceNotFoundException" then
        return fail(str_format("acmpca: profile %s: IAM Identity Center has no %s (%s); "
            .. "check sso_account_id and sso_role_name", conf.profile, what, detail), fields)
    end
    fields.retryable = status == 429 or status >= 500 or code == "TooManyRequestsException"
    return fail(str_format("acmpca: profile %s: GetRoleCredentials for %s failed (%s)",
        conf.profile, what, detail), fields)
end


-- The portal's 200 answer as credential values, or nil, problem.
local function role_credentials(body)
    local doc = cjson_safe.decode(body)
    local rc = type(doc) == "table" and doc.roleCredentials
    if type(rc) ~= "table" then
        return nil, "the answer has no roleCredentials object"
    end
    for _, f in ipairs{ "accessKeyId", "secretAccessKey", "sessionToken" } do
        if type(rc[f]) ~= "string" or rc[f] == "" then
            return nil, "roleCredentials." .. f .. " is not a non-empty string"
        end
    end
    local ms = rc.expiration
    if type(ms) ~= "number" or not (ms > 0 and ms < 1e15) then
        return nil, "roleCredentials.expiration is not a time in epoch milliseconds"
    end
    return {
        access_key_id = rc.accessKeyId, secret_access_key = rc.secretAccessKey,
        session_token = rc.sessionToken, expiration = math_floor(ms / 1000), source = "sso",
    }
end


-- One GetRoleCredentials exchange: values | nil, err.
local function attempt(ctx, conf, url, token)
    local ok, res, err = pcall(ctx.http, {
        method = "GET", url = url,
        headers = { ["x-amz-sso_bearer_token"] = token, Accept = "application/json" },
        timeout = TIMEOUT, connect_timeout = TIMEOUT,
    })
    if not ok or not res then
        local e = ok and err or res
        return fail(str_format("acmpca: profile %s: cannot reach the SSO portal: %s",
            conf.profile, untrusted(e, { token })), { retryable = true })
    end
    if type(res) ~= "table" or type(res.status) ~= "number" then
        return fail(str_format("acmpca: profile %s: the HTTP transport gave no status",
            conf.profile))
    end
    if res.body ~= nil and type(res.body) ~= "string" then
        return fail(str_format("acmpca: profile %s: the HTTP transport gave a %s body",
            conf.profile, type(res.body)))
    end
    if res.body and #res.body > MAX_BODY then
        return fail(str_format("acmpca: profile %s: the SSO portal's answer (HTTP %d) is "
            .. "larger than %d bytes", conf.profile, res.status, MAX_BODY),
            { status = res.status, retryable = res.status >= 500 })
    end
    if res.status ~= 200 then
        return answer_error(conf, res, token)
    end
    local vals, problem = role_credentials(res.body or "")
    if not vals then
        return fail(str_format("acmpca: profile %s: the SSO portal's answer is unusable: %s",
            conf.profile, problem), { status = 200 })
    end
    return vals
end


-- GetRoleCredentials with retries: values | nil, err.
local function get_role_credentials(ctx, conf, token)
    local url, uerr = portal_url(ctx, conf)
    if not url then
        return nil, uerr
    end
    local vals, err = retry.run(function() return attempt(ctx, conf, url, token) end,
                                ctx.sleep)
    if vals then
        return vals
    end
    if err.retryable and err.attempts > 1 then
        err.message = err.message .. str_format(" (after %d attempts)", err.attempts)
    end
    return nil, err
end


-- A credentials object through the chain's checks when it has them.
local function make_creds(ctx, vals)
    if ctx.creds then
        return ctx.creds(vals, { "accessKeyId", "secretAccessKey", "sessionToken" })
    end
    if vals.expiration <= ctx.now() then
        return nil, "the credentials are already expired"
    end
    return vals
end


-- ---------------------------------------------------------------------
-- The source
-- ---------------------------------------------------------------------

--- sso.from_profile(ctx, pname, p[, cache]) -> creds | nil, err | false:
-- SSO credentials for profile pname (its merged settings p); false when
-- the profile has no SSO settings.  ctx is the credential chain's
-- (acmpca.credentials): now(), http(req), files() (for [sso-session]
-- sections), opts.home / env (HOME), and optionally service_url(service,
-- region), creds(values, names), sleep(s), env(name).  cache is an
-- acmpca.credentials.cache or nil.  creds: access_key_id,
-- secret_access_key, session_token, expiration (epoch seconds), source
-- "sso".
function _M.from_profile(ctx, pname, p, cache)
    if type(p) ~= "table" then
        return false
    end
    local conf, cerr = sso_config(ctx, pname, p)
    if not conf then
        return conf, cerr
    end
    local key
    if cache then
        key = cache:key_sso{ account_id = conf.account_id, role_name = conf.role_name,
                             session_name = conf.session, start_url = conf.start_url }
        local hit = cache:get(key)
        if hit then
            hit.source = "sso"
            local c = make_creds(ctx, hit)
            if c then
                return c
            end
        end
    end
    local token, terr = access_token(ctx, conf)
    if not token then
        return nil, terr
    end
    local vals, err = get_role_credentials(ctx, conf, token)
    if not vals then
        return nil, err
    end
    local c, problem = make_creds(ctx, vals)
    if not c then
        return fail(str_format("acmpca: profile %s: the SSO portal answered unusable "
            .. "credentials: %s", pname, problem), { status = 200 })
    end
    if cache then
        cache:put(key, {
            ProviderType = "sso",
            Credentials = {
                AccessKeyId = vals.access_key_id, SecretAccessKey = vals.secret_access_key,
                SessionToken = vals.session_token, Expiration = iso(vals.expiration),
            },
        })
    end
    return c
end


return _M
