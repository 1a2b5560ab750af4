--- acmpca.credentials.role: credentials from STS, as botocore's
-- AssumeRoleProvider and AssumeRoleWithWebIdentityProvider make them.
--
--  * a profile with `role_arn` and `source_profile` (a chain: each hop's
--    credentials assume the next role; a loop is an error naming it) or
--    `credential_source` (Environment, Ec2InstanceMetadata, EcsContainer);
--    `role_session_name`, `external_id`, `duration_seconds`, `mfa_serial`
--    (the code comes from the provider's mfa_prompt, which the acmpca
--    command sets on a terminal; without one, an error);
--  * web identity: `web_identity_token_file` with `role_arn` (and
--    `role_session_name`) from the environment (AWS_WEB_IDENTITY_TOKEN_FILE,
--    AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME) or a profile; the token file is
--    read at every fetch (Kubernetes rotates it) and the call is unsigned.
--
-- Every error names the profile (or variable) and the setting at fault.
-- Functions take the chain's ctx (acmpca.credentials) and a table of the
-- chain's other sources, S, so that a source profile resolves as botocore
-- does (static keys, then a role, web identity, SSO, credential_process).
--
-- @module acmpca.credentials.role

local type, tostring, tonumber, ipairs, pcall, require =
    type, tostring, tonumber, ipairs, pcall, require
local math_floor = math.floor
local str_format, str_find, str_sub, str_byte = string.format, string.find, string.sub,
    string.byte
local tbl_concat = table.concat


local _M = { _VERSION = "0.2.0" }


-- acmpca.sts (and the XML reader under it) load when a role is used.
local function sts()
    return require "acmpca.sts"
end

local MAX_TOKEN = 64 * 1024
local MAX_HOPS = 16


local function fail(where, what)
    return nil, str_format("acmpca: %s: %s", where, what)
end


-- An STS call's failure: a CredentialsError whose cause is STS's error
-- object (code, message, status, request_id, retryable, attempts).
local function sts_failed(where, what, err)
    local e = require("acmpca.config").new_error("CredentialsError",
        str_format("acmpca: %s: %s", where, what))
    if type(err) == "table" then
        e.cause = err
    end
    return nil, e
end


local function prof_where(pname, key)
    return str_format("profile %s, %s", pname, key)
end


-- A string setting, or nil when absent or empty.
local setting = require("acmpca.config").setting


local function has_static(p)
    return setting(p, "aws_access_key_id") ~= nil
end


-- role_session_name: botocore's default names the tool and the time; a
-- given one must be what STS accepts ([\w+=,.@-]{2,64}).
local function session_name(ctx, given, where)
    if not given then
        return str_format("acmpca-session-%d", math_floor(ctx.now()))
    end
    if #given < 2 or #given > 64 or str_find(given, "[^%w+=,.@_-]") then
        return fail(where, "expected 2 to 64 of the characters A-Z a-z 0-9 + = , . @ _ -")
    end
    return given
end


-- duration_seconds: an integer from 900 to 43200, or nil.
local function duration(v, where)
    if v == nil then
        return nil
    end
    local n = tonumber(v)
    if not (n and n % 1 == 0 and n >= 900 and n <= 43200 and str_find(v, "^%s*%d+%s*$")) then
        return fail(where, str_format("expected a whole number of seconds from 900 to "
            .. "43200, got %q", str_sub(v, 1, 40)))
    end
    return n
end


-- The STS endpoint and signing region for ctx.
local function sts_target(ctx)
    local region = ctx.region()
    local url, err = ctx.service_url("sts", region)
    if not url then
        return nil, err
    end
    return { url = url, region = sts().target(url, region) }
end


-- STS's answer as a credentials object.
local function to_creds(ctx, res, source, where)
    local c, problem = ctx.creds({
        access_key_id = res.access_key_id, secret_access_key = res.secret_access_key,
        session_token = res.session_token, expiration = res.expiration, source = source,
    }, { "AccessKeyId", "SecretAccessKey", "SessionToken" })
    if not c then
        return fail(where, "STS answered unusable credentials: " .. problem)
    end
    return c
end


-- An STS error as the chain's text: the code, the message, the request id.
local function sts_text(err)
    if type(err) ~= "table" then
        return tostring(err)
    end
    local s = tostring(err.code) .. ": " .. tostring(err.message)
    if err.attempts and err.attempts > 1 then
        s = s .. str_format(" (after %d attempts)", err.attempts)
    end
    if err.request_id then
        s = s .. " (request id " .. err.request_id .. ")"
    end
    return s
end


-- Credentials cached on disk for these arguments (a credentials object),
-- or nil; and the cache key.
local function cached(ctx, kind, args, source, default_name)
    local cache = ctx.cache
    if not cache then
        return nil
    end
    -- botocore's key leaves out a session name it generated itself
    local key = cache["key_" .. kind](cache, args, { default_session_name = default_name })
    local hit = cache:get(key)
    if type(hit) ~= "table" then
        return nil, key
    end
    local c = ctx.creds({
        access_key_id = hit.access_key_id, secret_access_key = hit.secret_access_key,
        session_token = hit.session_token, expiration = hit.expiration, source = source,
    }, { "AccessKeyId", "SecretAccessKey", "SessionToken" })
    return c, key
end


local function remember(ctx, key, res)
    if ctx.cache and key then
        ctx.cache:put(key, res.response)
    end
end


-- ---------------------------------------------------------------------
-- Web identity
-- ---------------------------------------------------------------------

-- The token in file, re-read each time: at most 64 KiB, trailing white
-- space dropped, printable ASCII only (it goes into a form body).
local function read_token(file, where)
    -- a bounded read that refuses anything but a regular file (a FIFO
    -- would block the open)
    local data, rerr = require("acmpca.core").read_file(file, MAX_TOKEN)
    if not data then
        if str_find(tostring(rerr), ": larger than ", 1, true) then
            return fail(where, "the web identity token file is larger than " .. MAX_TOKEN
                .. " bytes")
        end
        return fail(where, "cannot read the web identity token file: " .. tostring(rerr))
    end
    local e = #data
    while e > 0 do
        local b = str_byte(data, e)
        if b ~= 10 and b ~= 13 and b ~= 32 and b ~= 9 then
            break
        end
        e = e - 1
    end
    data = str_sub(data, 1, e)
    if data == "" then
        return fail(where, "the web identity token file is empty")
    end
    if str_find(data, "[^\33-\126]") then
        return fail(where, "the web identity token file holds a character that is not "
            .. "printable ASCII")
    end
    return data
end


--- web_identity(ctx, o) -> creds | nil, err.  o: token_file, role_arn,
-- session_name (or nil), duration (or nil), and where: the names of the
-- settings for messages ({ token_file =, role_arn =, session_name = }).
function _M.web_identity(ctx, o)
    local w = o.where
    if not o.role_arn then
        return fail(w.token_file, "is set but " .. w.role_arn .. " is not; web identity "
            .. "needs the role to assume")
    end
    local name, nerr = session_name(ctx, o.session_name, w.session_name)
    if not name then
        return nil, nerr
    end
    local token, terr = read_token(o.token_file, w.token_file)
    if not token then
        return nil, terr
    end
    local target, uerr = sts_target(ctx)
    if not target then
        return nil, uerr
    end
    local params = { RoleArn = o.role_arn, RoleSessionName = name,
                     WebIdentityToken = token, DurationSeconds = o.duration }
    local hit, key = cached(ctx, "web_identity", params, "web-identity", not o.session_name)
    if hit then
        return hit
    end
    local res, err = sts().assume_role_with_web_identity(ctx, {
        url = target.url, region = target.region, params = params,
    })
    if not res then
        return sts_failed(w.token_file, "AssumeRoleWithWebIdentity for " .. o.role_arn
            .. " failed: " .. sts_text(err), err)
    end
    remember(ctx, key, res)
    return to_creds(ctx, res, "web-identity", w.token_file)
end


--- web_identity_profile(ctx, pname, p, use_env) -> creds | nil, err |
-- false: botocore's web identity provider.  Each setting comes from the
-- environment (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
-- AWS_ROLE_SESSION_NAME) when use_env, else from the profile
-- (web_identity_token_file, role_arn, role_session_name); and
-- duration_seconds from the profile.
function _M.web_identity_profile(ctx, pname, p, use_env)
    local function pick(var, key)
        local v = use_env and ctx.env(var)
        if v then
            return v, var
        end
        return setting(p, key), prof_where(pname, key)
    end
    local file, file_where = pick("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file")
    if not file then
        return false
    end
    local arn, arn_where = pick("AWS_ROLE_ARN", "role_arn")
    local name, name_where = pick("AWS_ROLE_SESSION_NAME", "role_session_name")
    local d, derr = duration(p.duration_seconds, prof_where(pname, "duration_seconds"))
    if derr then
        return nil, derr
    end
    if file_where == "AWS_WEB_IDENTITY_TOKEN_FILE" and not arn then
        arn_where = "AWS_ROLE_ARN"
    end
    return _M.web_identity(ctx, {
        token_file = ctx.expand(file), role_arn = arn, session_name = name, duration = d,
        where = { token_file = file_where, role_arn = arn_where, session_name = name_where },
    })
end


-- ---------------------------------------------------------------------
-- Assume role
-- ---------------------------------------------------------------------

local CREDENTIAL_SOURCES = { Environment = "env", Ec2InstanceMetadata = "imds",
                             EcsContainer = "container" }


--- has_role(p) -> whether a profile's settings make botocore's
-- AssumeRoleProvider act (role_arn without web_identity_token_file).
function _M.has_role(p)
    return setting(p, "role_arn") ~= nil and setting(p, "web_identity_token_file") == nil
end


local resolve_source


-- credential_source: the source credentials from the environment, the
-- instance metadata or the container endpoint.
local function from_credential_source(ctx, S, pname, name)
    local kind = CREDENTIAL_SOURCES[name]
    local where = prof_where(pname, "credential_source")
    if not kind then
        return fail(where, str_format("%q is not one of Environment, Ec2InstanceMetadata, "
            .. "EcsContainer", str_sub(name, 1, 40)))
    end
    local c, err = S[kind](ctx)
    if c then
        return c
    end
    return fail(where, name .. " gave no credentials: " .. tostring(err))
end


-- The MFA code for serial, from ctx.opts.mfa_prompt.
local function mfa_code(ctx, pname, serial)
    local prompt = ctx.opts.mfa_prompt
    local where = prof_where(pname, "mfa_serial")
    if not prompt then
        return fail(where, "the role needs an MFA code, and acmpca can only ask for it "
            .. "on a terminal (the acmpca command does); in a program, pass "
            .. "credentials.provider{ mfa_prompt = function(serial) ... end }, or use "
            .. "temporary credentials")
    end
    local ok, code = pcall(prompt, serial, pname)
    if not ok or type(code) ~= "string" or not str_find(code, "^%d%d%d%d%d%d$") then
        return fail(where, "no six-digit MFA code was given")
    end
    return code
end


-- AssumeRole for profile pname (settings p) with the source credentials.
local function assume(ctx, pname, p, source)
    local given = setting(p, "role_session_name")
    local name, err = session_name(ctx, given, prof_where(pname, "role_session_name"))
    if not name then
        return nil, err
    end
    local d, derr = duration(p.duration_seconds, prof_where(pname, "duration_seconds"))
    if derr then
        return nil, derr
    end
    local params = { RoleArn = p.role_arn, RoleSessionName = name, DurationSeconds = d,
                     ExternalId = setting(p, "external_id") }
    local serial = setting(p, "mfa_serial")
    if serial then
        params.SerialNumber = serial
    end
    local hit, key = cached(ctx, "assume_role", params, "assume-role", not given)
    if hit then
        return hit
    end
    if serial then
        local code, cerr = mfa_code(ctx, pname, serial)
        if not code then
            return nil, cerr
        end
        params.TokenCode = code
    end
    local target, uerr = sts_target(ctx)
    if not target then
        return nil, uerr
    end
    local res, serr = sts().assume_role(ctx, {
        url = target.url, region = target.region, credentials = source, params = params,
    })
    if not res then
        return sts_failed(prof_where(pname, "role_arn"), "AssumeRole for " .. p.role_arn
            .. " failed: " .. sts_text(serr), serr)
    end
    remember(ctx, key, res)
    return to_creds(ctx, res, "assume-role", prof_where(pname, "role_arn"))
end


-- The role of profile pname; chain is the list of profiles on the way.
local function assume_profile(ctx, S, st, pname, p, chain)
    local src, csrc = setting(p, "source_profile"), setting(p, "credential_source")
    if src and csrc then
        return fail(str_format("profile %s", pname), "has both source_profile and "
            .. "credential_source; give one")
    end
    if not src and not csrc then
        return fail(prof_where(pname, "role_arn"), "needs source_profile or "
            .. "credential_source (the credentials that assume the role)")
    end
    local source, err
    if csrc then
        source, err = from_credential_source(ctx, S, pname, csrc)
    else
        chain[#chain + 1] = pname
        source, err = resolve_source(ctx, S, st, src, chain, pname)
    end
    if not source then
        return nil, err
    end
    return assume(ctx, pname, p, source)
end


-- The credentials of source profile name, as botocore resolves them:
-- static keys (a profile may name itself to use its own keys), else its
-- own role (the next hop), else web identity, SSO or credential_process.
function resolve_source(ctx, S, st, name, chain, from)
    local where = prof_where(from, "source_profile")
    local p = st:settings(name)
    if not p then
        return fail(where, str_format("the profile %s does not exist", name))
    end
    for _, seen in ipairs(chain) do
        if seen == name and not (has_static(p) and name == from) then
            chain[#chain + 1] = name
            return fail(where, "the source profiles loop: " .. tbl_concat(chain, " -> "))
        end
    end
    if #chain > MAX_HOPS then
        return fail(where, "more than " .. MAX_HOPS .. " roles in a chain")
    end
    if has_static(p) then
        return S.static(ctx, name, p)
    end
    if _M.has_role(p) then
        return assume_profile(ctx, S, st, name, p, chain)
    end
    local c, err = _M.web_identity_profile(ctx, name, p, false)
    if c ~= false then
        return c, err
    end
    c, err = S.sso(ctx, name, p)
    if c ~= false then
        return c, err
    end
    c, err = S.process(ctx, name, p)
    if c ~= false then
        return c, err
    end
    return fail(where, str_format("the profile %s has no credentials (static keys, "
        .. "role_arn, web_identity_token_file, SSO or credential_process)", name))
end


--- from_profile(ctx, S, st) -> creds | nil, err | false: the selected
-- profile's role (role_arn with source_profile or credential_source).
-- S: static(ctx, pname, p), sso(ctx, pname, p), process(ctx, pname, p),
-- env(ctx), imds(ctx), container(ctx): the chain's other sources.
function _M.from_profile(ctx, S, st)
    local p = st.merged
    if not _M.has_role(p) then
        return false
    end
    return assume_profile(ctx, S, st, st.profile, p, {})
end


return _M
