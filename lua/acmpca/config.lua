--- acmpca.config: the AWS shared config and credentials files, profile
-- selection and region resolution, the way botocore (and so the AWS CLI)
-- reads them. Nothing here runs at require time; every function takes an
-- opts table whose getenv/home fields let specs inject an environment.
--
-- Limits: a file is read up to MAX_FILE bytes (4 MiB; one bounded read,
-- a larger file is refused naming it), a line up to MAX_LINE (1 MiB).
-- Parsing is linear: plain finds and byte loops, no backtracking pattern;
-- multi-line values are joined once, at the end.  Failures of read_file,
-- load, profile and region are ConfigError objects (core.new_error).
--
-- @module acmpca.config

local io_open = io.open
local os_getenv = os.getenv
local type = type
local pairs = pairs
local tostring = tostring
local str_find = string.find
local str_sub = string.sub
local str_match = string.match
local str_gmatch = string.gmatch
local str_lower = string.lower
local str_format = string.format
local str_byte = string.byte
local tbl_concat = table.concat
local pcall = pcall
local require = require
local setmetatable = setmetatable


local _M = { _VERSION = "0.2.0" }

local MAX_FILE = 4 * 1024 * 1024
local MAX_LINE = 1024 * 1024
_M.MAX_FILE, _M.MAX_LINE = MAX_FILE, MAX_LINE


--- An error object with this code (ConfigError here, CredentialsError for
-- acmpca.credentials): core.new_error, or a plain table where acmpca.core
-- is not loaded.
function _M.new_error(code, message)
    local fields = { code = code, message = message, retryable = false }
    local ok, core = pcall(require, "acmpca.core")
    if ok and type(core) == "table" and type(core.new_error) == "function" then
        return core.new_error(fields)
    end
    return setmetatable(fields, { __tostring = function(e)
        return e.code .. ": " .. e.message
    end })
end


local function config_error(message)
    return _M.new_error("ConfigError", message)
end


local function is_space(b)
    return b ~= nil and (b == 32 or (b >= 9 and b <= 13))
end


-- Positions of s[i..j] without leading and trailing white space.
local function trim_span(s, i, j)
    while i <= j and is_space(str_byte(s, i)) do
        i = i + 1
    end
    while j >= i and is_space(str_byte(s, j)) do
        j = j - 1
    end
    return i, j
end


local function trim(s)
    return str_sub(s, trim_span(s, 1, #s))
end


local function rtrim(s)
    local j = #s
    while j > 0 and is_space(str_byte(s, j)) do
        j = j - 1
    end
    return str_sub(s, 1, j)
end


-- "key = value" / "key: value" at the first "=" or ":" (one plain scan):
-- trimmed key and value, or nil when there is no separator.
local function split_kv(line)
    local at = str_find(line, "[=:]")
    if not at then
        return nil
    end
    return str_sub(line, trim_span(line, 1, at - 1)), str_sub(line, trim_span(line, at + 1, #line))
end


-- The environment lookup for these opts; empty values count as unset,
-- as botocore treats them.
local function env_reader(opts)
    local getenv = opts and opts.getenv or os_getenv
    return function(name)
        local v = getenv(name)
        if v == nil or v == "" then
            return nil
        end
        return v
    end
end
--- env_reader(opts) -> a getenv for these opts ("" counts as unset).
_M.env_reader = env_reader


-- A nested block ("s3 =" followed by indented "key = value" lines) becomes
-- a table, as botocore's _parse_nested does.
local function parse_nested(value)
    local t = {}
    for line in str_gmatch(value, "[^\n]+") do
        local at = str_find(line, "=", 1, true)
        local k, v
        if at then
            k = str_sub(line, trim_span(line, 1, at - 1))
            v = str_sub(line, trim_span(line, at + 1, #line))
        end
        if k and k ~= "" then
            t[k] = v
        end
    end
    return t
end


--- Parses the INI dialect of ~/.aws/config and ~/.aws/credentials
-- (Python's RawConfigParser as botocore configures it): "[section]"
-- headers, "key = value" or "key: value" (keys are lower-cased), full-line
-- comments starting with # or ;, indented continuation lines, and nested
-- sub-sections for a key whose value starts on the next line.
-- Returns { [section] = { [key] = value | { [subkey] = value } } } in file
-- order-independent form, or nil, err naming the line.
function _M.parse(text, name)
    if type(text) ~= "string" then
        error("acmpca.config.parse: text: expected string, got " .. type(text), 2)
    end
    name = name or "config"
    local sections = {}
    -- multi-line values: parts[section][key] = { pieces }, joined at the end
    local parts = {}
    local cur, cur_key, cur_indent, cur_parts
    local lineno = 0
    local pos = 1
    local len = #text
    -- Skip a UTF-8 byte order mark, which configparser also tolerates.
    if str_sub(text, 1, 3) == "\239\187\191" then
        pos = 4
    end
    while pos <= len do
        local nl = str_find(text, "\n", pos, true)
        local line
        if nl then
            line = str_sub(text, pos, nl - 1)
            pos = nl + 1
        else
            line = str_sub(text, pos)
            pos = len + 1
        end
        lineno = lineno + 1
        if #line > MAX_LINE then
            return nil, str_format("%s line %d: longer than %d bytes", name, lineno, MAX_LINE)
        end
        if str_byte(line, -1) == 13 then
            line = str_sub(line, 1, -2)
        end
        local indent = 0
        while true do
            local b = str_byte(line, indent + 1)
            if b ~= 32 and b ~= 9 then
                break
            end
            indent = indent + 1
        end
        local body = str_sub(line, indent + 1)
        local first = str_sub(body, 1, 1)

        if body == "" then
            -- Blank lines end nothing, as in configparser; a following
            -- indented line still continues the current value.
            if cur_key then
                cur_parts[#cur_parts + 1] = "\n"
            end
        elseif first == "#" or first == ";" then -- luacheck: ignore 542
            -- A full-line comment (inline comments are not recognised:
            -- botocore keeps "value # text" verbatim).
        elseif cur_key and indent > cur_indent then
            cur_parts[#cur_parts + 1] = "\n"
            cur_parts[#cur_parts + 1] = trim(body)
        elseif first == "[" and str_find(body, "]", 2, true) then
            -- up to the last "]" (a plain backward scan)
            local close = #body
            while str_byte(body, close) ~= 93 do
                close = close - 1
            end
            local header = str_sub(body, trim_span(body, 2, close - 1))
            if header == "" then
                return nil, str_format("%s line %d: empty section name", name, lineno)
            end
            cur = sections[header]
            if not cur then
                cur = {}
                sections[header] = cur
                parts[cur] = {}
            end
            cur_key = nil
        else
            if not cur then
                return nil, str_format("%s line %d: expected a [section] header first",
                                       name, lineno)
            end
            local k, v = split_kv(body)
            if not k or k == "" then
                return nil, str_format("%s line %d: expected \"key = value\"", name, lineno)
            end
            cur_key = str_lower(k)
            cur_indent = indent
            cur_parts = { v }
            parts[cur][cur_key] = cur_parts
            cur[cur_key] = true
        end
    end

    -- Strip trailing whitespace of multi-line values; a value that starts
    -- on the line after its key is a nested sub-section.
    for _, sect in pairs(sections) do
        for k, pieces in pairs(parts[sect]) do
            local v = rtrim(tbl_concat(pieces))
            if str_sub(v, 1, 1) == "\n" then
                sect[k] = parse_nested(v)
            else
                sect[k] = v
            end
        end
    end
    return sections
end


--- Reads and parses one file. Returns sections, or nil, err, "missing"
-- when the file does not exist (or cannot be opened), or nil, err on a
-- syntax error.
function _M.read_file(path)
    local f, oerr = io_open(path, "rb")
    if not f then
        return nil, oerr or (path .. ": cannot open"), "missing"
    end
    -- one bounded read: a larger file (or /dev/zero) is never read whole
    local text, rerr = f:read(MAX_FILE + 1)
    f:close()
    if text == nil and rerr then
        return nil, config_error("acmpca: " .. path .. ": " .. tostring(rerr))
    end
    text = text or ""
    if #text > MAX_FILE then
        return nil, config_error(str_format("acmpca: %s is larger than %d bytes", path, MAX_FILE))
    end
    local sections, perr = _M.parse(text, path)
    if not sections then
        return nil, config_error("acmpca: cannot parse " .. perr)
    end
    return sections
end


--- setting(t, key) -> t[key] when it is a non-empty string, else nil: a
-- setting of a profile section or a field of a credentials document.
function _M.setting(t, key)
    local v = t[key]
    if type(v) == "string" and v ~= "" then
        return v
    end
    return nil
end


--- The home directory: opts.home, else $HOME.
function _M.home(opts)
    if opts and opts.home then
        return opts.home
    end
    return env_reader(opts)("HOME")
end


local function expand_user(path, home)
    if path == "~" or str_sub(path, 1, 2) == "~/" then
        if not home then
            return nil
        end
        return home .. str_sub(path, 2)
    end
    return path
end


--- The paths of the shared credentials and config files; either may be nil
-- when it depends on a HOME that is not set.
function _M.paths(opts)
    local env = env_reader(opts)
    local home = _M.home(opts)
    local cred = env("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    local conf = env("AWS_CONFIG_FILE") or "~/.aws/config"
    return expand_user(cred, home), expand_user(conf, home)
end


--- The selected profile and where the choice came from. botocore's order:
-- an explicit profile, AWS_DEFAULT_PROFILE, AWS_PROFILE, "default".
function _M.profile_name(opts)
    if opts and opts.profile ~= nil then
        if type(opts.profile) ~= "string" or opts.profile == "" then
            error("acmpca: profile: expected a non-empty string, got " .. type(opts.profile), 2)
        end
        return opts.profile, "explicit"
    end
    local env = env_reader(opts)
    local p = env("AWS_DEFAULT_PROFILE")
    if p then
        return p, "AWS_DEFAULT_PROFILE"
    end
    p = env("AWS_PROFILE")
    if p then
        return p, "AWS_PROFILE"
    end
    return "default", "default"
end


-- The name after a "<kind> " prefix of a section header ("profile",
-- "sso-session", "services"), unquoted; nil when header has another form.
local function prefixed_name(header, kind)
    local n = #kind
    if str_sub(header, 1, n) ~= kind or not is_space(str_byte(header, n + 1)) then
        return nil
    end
    local name = trim(str_sub(header, n + 2))
    if name == "" then
        return nil
    end
    return str_match(name, '^"(.*)"$') or str_match(name, "^'(.*)'$") or name
end


--- The profiles of a parsed config file: "[profile name]" sections (the
-- name may be quoted) and "[default]"; other sections (sso-session,
-- services, plain "[name]") are not profiles there.
function _M.config_profiles(sections)
    local profiles = {}
    for header, values in pairs(sections) do
        if header == "default" then
            if not profiles.default then
                profiles.default = values
            end
        else
            local pname = prefixed_name(header, "profile")
            if pname then
                -- "[profile default]" wins over "[default]".
                profiles[pname] = values
            end
        end
    end
    return profiles
end


--- The sections of a parsed config file of one other kind:
-- config_sections(sections, "sso-session") -> { [name] = section } for
-- "[sso-session name]"; likewise "services".
function _M.config_sections(sections, kind)
    local out = {}
    for header, values in pairs(sections) do
        local name = prefixed_name(header, kind)
        if name then
            out[name] = values
        end
    end
    return out
end


-- config's keys overlaid by credentials' (either may be nil).
local function merge(config, credentials)
    local merged = {}
    for k, v in pairs(config or {}) do
        merged[k] = v
    end
    for k, v in pairs(credentials or {}) do
        merged[k] = v
    end
    return merged
end


local loaded_mt = { __index = {} }


-- st:settings(name): the merged settings of profile name, or nil.
function loaded_mt.__index.settings(st, name)
    local c, f = st.config_profiles[name], st.credentials_profiles[name]
    if c == nil and f == nil then
        return nil
    end
    return merge(c, f)
end


--- Loads both files for the selected profile. Returns a table:
--
--    profile, profile_source, credentials_path, config_path,
--    credentials (the profile's section of the credentials file or nil),
--    config (the profile's section of the config file or nil),
--    credentials_status / config_status ("ok", "missing", "no-home",
--    "no-profile"), merged (config overlaid by credentials, what
--    botocore's scoped config is), and every section of both files:
--    credentials_profiles and config_profiles ({ [name] = section }),
--    sso_sessions and services (the config file's "[sso-session name]"
--    and "[services name]" sections).  st:settings(name) is another
--    profile's merged settings (role chains), or nil when neither file
--    has it.
-- Returns nil, err when a file exists but cannot be parsed.
function _M.load(opts)
    opts = opts or {}
    local name, source = _M.profile_name(opts)
    local cpath, fpath = _M.paths(opts)
    local st = setmetatable({
        profile = name, profile_source = source,
        credentials_path = cpath, config_path = fpath,
        credentials_profiles = {}, config_profiles = {}, sso_sessions = {}, services = {},
    }, loaded_mt)

    if not cpath then
        st.credentials_status = "no-home"
    else
        local sections, err, code = _M.read_file(cpath)
        if sections then
            st.credentials_profiles = sections
            st.credentials = sections[name]
            st.credentials_status = st.credentials and "ok" or "no-profile"
        elseif code == "missing" then
            st.credentials_status = "missing"
        else
            return nil, err
        end
    end

    if not fpath then
        st.config_status = "no-home"
    else
        local sections, err, code = _M.read_file(fpath)
        if sections then
            st.config_profiles = _M.config_profiles(sections)
            st.sso_sessions = _M.config_sections(sections, "sso-session")
            st.services = _M.config_sections(sections, "services")
            st.config = st.config_profiles[name]
            st.config_status = st.config and "ok" or "no-profile"
        elseif code == "missing" then
            st.config_status = "missing"
        else
            return nil, err
        end
    end

    st.merged = merge(st.config, st.credentials)
    st.found = st.credentials ~= nil or st.config ~= nil
    return st
end


--- The selected profile's settings (config file overlaid by the credentials
-- file), or nil, err.
function _M.profile(opts)
    local st, err = _M.load(opts)
    if not st then
        return nil, err
    end
    return st.merged, st
end


--- The region: AWS_REGION, AWS_DEFAULT_REGION, the profile's "region",
-- else nil. A file that cannot be parsed gives nil, err.
function _M.region(opts)
    opts = opts or {}
    local env = env_reader(opts)
    local r = env("AWS_REGION") or env("AWS_DEFAULT_REGION")
    if r then
        return r
    end
    local st, err = _M.load(opts)
    if not st then
        return nil, err
    end
    local v = st.merged.region
    if type(v) == "string" and v ~= "" then
        return v
    end
    return nil
end


local STATUS_NOTE = {
    missing = ": file not found", ["no-home"] = ": HOME not set",
    ["no-profile"] = ": no such profile",
}


--- A short human description of where a profile was looked for, used in
-- error messages.
function _M.describe(st)
    return str_format("shared credentials file %s (profile %s%s), config file %s (profile %s%s)",
        st.credentials_path or "~/.aws/credentials", st.profile,
        STATUS_NOTE[st.credentials_status] or "",
        st.config_path or "~/.aws/config", st.profile, STATUS_NOTE[st.config_status] or "")
end


return _M
