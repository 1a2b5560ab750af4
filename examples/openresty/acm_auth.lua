-- acm_auth: who may call the ACM renewal admin endpoint and its console
-- (lua-acmpca example; see README.md beside this file).
--
-- Two ways in:
--   * scripts: `Authorization: Bearer <ACMPCA_ADMIN_TOKEN>`, nothing else;
--   * people: the console's sign-in (POST /acm-renewal/api/session with the
--     token) sets a session cookie; every state-changing request with that
--     cookie must also carry its CSRF token in `X-CSRF-Token`.
--
-- The cookie is "v1.<expiry>.<nonce>.<mac>": mac = HMAC-SHA256 over the
-- expiry and a random nonce, keyed by HMAC(random secret, admin token).
-- The random secret lives in `lua_shared_dict acm_console` (every worker
-- shares it; a restart forgets it and so signs everyone out; changing the
-- token does the same).  The CSRF token is HMAC(key, "csrf|" .. nonce).
-- Sign-out records the nonce as revoked in the same dict until it expires.
-- Every comparison of secrets runs in constant time.

-- luacheck: globals ngx

local type = type
local tonumber = tonumber
local tostring = tostring
local io_open = io.open
local os_getenv = os.getenv
local byte = string.byte
local match = string.match
local fmt = string.format
local bit = require "bit"
local bor = bit.bor
local bxor = bit.bxor
local core = require "acmpca.core"

local ngx = ngx


local _M = { _VERSION = "0.2.0" }

_M.COOKIE = "acm_console"
_M.COOKIE_PATH = "/acm-renewal"
_M.DICT = "acm_console"
_M.CSRF_HEADER = "x-csrf-token"

local MIN_TOKEN_LENGTH = 16
local DEFAULT_TTL = 8 * 3600
local MAX_TTL = 7 * 86400
local MAX_COOKIE = 160          -- "v1." + 10 digits + 32 + 64 hex + dots

local expected_digest   -- sha1 of ACMPCA_ADMIN_TOKEN, per worker
local token_problem     -- why the endpoint is refused, when it is
local admin_token       -- kept only to derive the session key
local session_key       -- per worker, derived once


------------------------------------------------------------------------
-- helpers
------------------------------------------------------------------------

-- Constant time for equal-length inputs.
local function same_bytes(a, b)
    if type(a) ~= "string" or type(b) ~= "string" or #a ~= #b then
        return false
    end
    local diff = 0
    for i = 1, #a do
        diff = bor(diff, bxor(byte(a, i), byte(b, i)))
    end
    return diff == 0
end

_M.same_bytes = same_bytes


local function random_bytes(n)
    local f = io_open("/dev/urandom", "rb")
    if not f then
        return nil
    end
    local data = f:read(n)
    f:close()
    if type(data) ~= "string" or #data ~= n then
        return nil
    end
    return data
end


local function load_token()
    if expected_digest or token_problem then
        return
    end
    local token = os_getenv("ACMPCA_ADMIN_TOKEN")
    if not token or token == "" then
        token_problem = "ACMPCA_ADMIN_TOKEN is not set (or not passed with `env"
            .. " ACMPCA_ADMIN_TOKEN;` in nginx.conf): refusing every request"
    elseif #token < MIN_TOKEN_LENGTH then
        token_problem = "ACMPCA_ADMIN_TOKEN is shorter than " .. MIN_TOKEN_LENGTH
            .. " characters: refusing every request"
    else
        expected_digest = ngx.sha1_bin(token)
        admin_token = token
    end
    if token_problem then
        ngx.log(ngx.ERR, "acm_renewal: ", token_problem)
    end
end


--- Why every request is refused (the token is missing or short), or nil.
function _M.problem()
    load_token()
    return token_problem
end


--- Whether `token` is the admin token (compared as SHA-1 digests).
function _M.is_admin_token(token)
    load_token()
    if type(token) ~= "string" or not expected_digest then
        return false
    end
    return same_bytes(ngx.sha1_bin(token), expected_digest)
end


--- The session lifetime in seconds (ACMPCA_CONSOLE_SESSION_SECONDS, 8 h).
function _M.ttl()
    local n = tonumber(os_getenv("ACMPCA_CONSOLE_SESSION_SECONDS") or "")
    if not n or n < 1 or n ~= n then
        return DEFAULT_TTL
    end
    return n > MAX_TTL and MAX_TTL or math.floor(n)
end


-- The session key, or nil and why (no shared dict, no randomness).
local function key()
    if session_key then
        return session_key
    end
    load_token()
    if not admin_token then
        return nil, token_problem
    end
    local dict = ngx.shared[_M.DICT]
    if not dict then
        return nil, "`lua_shared_dict " .. _M.DICT .. " 64k;` is missing from nginx.conf"
    end
    local secret = dict:get("secret")
    if not secret then
        local fresh = random_bytes(32)
        if not fresh then
            return nil, "cannot read /dev/urandom"
        end
        dict:add("secret", fresh)     -- another worker may have won: read back
        secret = dict:get("secret")
        if not secret then
            return nil, "cannot store the session secret in lua_shared_dict " .. _M.DICT
        end
    end
    session_key = core.hmac_sha256(secret, "acm-console-v1|" .. admin_token)
    return session_key
end


local function mac(k, expiry, nonce)
    return core.hex(core.hmac_sha256(k, "session|v1|" .. expiry .. "|" .. nonce))
end


local function csrf_of(k, nonce)
    return core.hex(core.hmac_sha256(k, "csrf|" .. nonce))
end


------------------------------------------------------------------------
-- sessions
------------------------------------------------------------------------

--- A new session: returns the Set-Cookie value and { csrf_token,
-- expires_at }, or nil and why.
function _M.new_session()
    local k, why = key()
    if not k then
        return nil, why
    end
    local raw = random_bytes(16)
    if not raw then
        return nil, "cannot read /dev/urandom"
    end
    local ttl = _M.ttl()
    local expiry = ngx.time() + ttl
    local nonce = core.hex(raw)
    local value = fmt("v1.%d.%s.%s", expiry, nonce, mac(k, expiry, nonce))
    local secure = (ngx.var.https == "on") and "; Secure" or ""
    local cookie = fmt("%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Strict%s",
                       _M.COOKIE, value, _M.COOKIE_PATH, ttl, secure)
    return cookie, { csrf_token = csrf_of(k, nonce), expires_at = expiry }
end


--- The Set-Cookie value that removes the session cookie.
function _M.clear_cookie()
    local secure = (ngx.var.https == "on") and "; Secure" or ""
    return fmt("%s=; Path=%s; Max-Age=0; HttpOnly; SameSite=Strict%s", _M.COOKIE,
               _M.COOKIE_PATH, secure)
end


--- The request's session: { nonce, expires_at, csrf_token } or nil.
function _M.session()
    local value = ngx.var["cookie_" .. _M.COOKIE]
    if type(value) ~= "string" or #value > MAX_COOKIE then
        return nil
    end
    local expiry, nonce, got = match(value, "^v1%.(%d+)%.(%x+)%.(%x+)$")
    if not expiry or #nonce ~= 32 or #got ~= 64 or #expiry > 12 then
        return nil
    end
    local k = key()
    if not k or not same_bytes(mac(k, expiry, nonce), got) then
        return nil
    end
    expiry = tonumber(expiry)
    if expiry <= ngx.time() then
        return nil
    end
    local dict = ngx.shared[_M.DICT]
    if dict:get("revoked:" .. nonce) then
        return nil
    end
    return { nonce = nonce, expires_at = expiry, csrf_token = csrf_of(k, nonce) }
end


--- Signs a session out: its nonce is refused until it would have expired.
function _M.revoke(session)
    local left = session.expires_at - ngx.time()
    if left > 0 then
        ngx.shared[_M.DICT]:set("revoked:" .. session.nonce, true, left + 1)
    end
end


------------------------------------------------------------------------
-- the request's credentials
------------------------------------------------------------------------

-- A bearer token from the Authorization header: the token, false when the
-- header is there but is not a bearer token, nil when there is none.
local function bearer()
    local header = ngx.req.get_headers()["authorization"]
    if header == nil then
        return nil
    end
    if type(header) ~= "string" then
        return false
    end
    local scheme, token = match(header, "^(%a+)%s+(%S+)%s*$")
    if not scheme or scheme:lower() ~= "bearer" then
        return false
    end
    return token
end


--- Who is calling.  state_changing: the request changes something (a
-- session must then carry its CSRF token).  Returns "bearer" | "session",
-- session; or nil, status, error code, message.
function _M.authenticate(state_changing)
    load_token()
    if token_problem then
        return nil, 503, "AdminTokenNotConfigured", "the admin endpoint is not configured"
    end
    local token = bearer()
    if token ~= nil then
        if token and _M.is_admin_token(token) then
            return "bearer"
        end
        return nil, 401, "Unauthorized", "bearer token required"
    end
    local s = _M.session()
    if not s then
        return nil, 401, "Unauthorized", "bearer token or a console session required"
    end
    if state_changing then
        local sent = ngx.req.get_headers()[_M.CSRF_HEADER]
        if type(sent) ~= "string" or not same_bytes(sent, s.csrf_token) then
            return nil, 403, "CsrfTokenInvalid",
                "this request needs the session's CSRF token in X-CSRF-Token"
        end
    end
    return "session", s
end


--- A log-safe description of why a request failed authentication.
function _M.describe(status, code)
    return tostring(status) .. " " .. tostring(code)
end


return _M
