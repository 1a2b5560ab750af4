--- acmpca.credentials.cache: the AWS CLI's credential cache on disk,
-- `~/.aws/cli/cache/<key>.json`, with botocore's keys and file format, so
-- that a role assumed (or SSO credentials fetched) by `aws` is used here and
-- one fetched here is used by `aws`.
--
--    local cache = require("acmpca.credentials.cache").new{ dir = ..., now = ... }
--    local key = cache:key_assume_role{ RoleArn = arn, RoleSessionName = name, ... }
--    local c = cache:get(key)    -- { access_key_id, ..., expiration } or nil
--    cache:put(key, response)    -- the AssumeRole answer, or credentials
--
-- The facts, from botocore (credentials.py, utils.py):
--
--  * assume role and web identity (BaseAssumeRoleCredentialFetcher): the
--    STS call's arguments (RoleArn, RoleSessionName unless it was generated,
--    ExternalId, SerialNumber, DurationSeconds, Policy parsed), never the
--    MFA code or the web identity token, as Python's
--    `json.dumps(args, sort_keys=True)` writes them; the key is the SHA-1
--    hex digest of that text.  A Policy is written as Python's json.loads
--    then json.dumps write it (floats as repr, 1.0 apart from 1, integers
--    of any size, [] apart from {}, keys sorted by code point, the last of
--    equal keys kept); one json.loads refuses (or nested over 32 levels)
--    stays the string it is;
--  * SSO (SSOCredentialFetcher): `{"accountId","roleName"}` and
--    `"sessionName"` (an sso-session) or `"startUrl"` (legacy), dumped with
--    separators (",", ":");
--  * the file is the STS answer (an SSO one is
--    `{"ProviderType": "sso", "Credentials": {...}}`) with
--    Credentials.Expiration as text; an entry is used only while it has at
--    least 15 minutes left (botocore's expiry window).
--
-- Files are written with core.write_private: mode 0600 in directories made
-- 0700, replaced atomically.  Reading never fails: a missing, unreadable,
-- oversized (over 64 KiB), malformed or expired file is "not cached".
--
-- @module acmpca.credentials.cache

local core = require "acmpca.core"
local cjson_safe = require "cjson.safe"

local type, pairs, ipairs, tonumber, error, require, setmetatable, getmetatable =
    type, pairs, ipairs, tonumber, error, require, setmetatable, getmetatable
local math_floor, math_huge = math.floor, math.huge
local os_time, os_date = os.time, os.date
local str_byte, str_char, str_find, str_format, str_sub, str_match, str_gsub =
    string.byte, string.char, string.find, string.format, string.sub, string.match,
    string.gsub
local tbl_concat, tbl_sort = table.concat, table.sort


local _M = { _VERSION = "0.2.0" }

--- Entries with less than this many seconds left are not used (botocore's
-- CachedCredentialFetcher.DEFAULT_EXPIRY_WINDOW_SECONDS).
_M.EXPIRY_WINDOW = 15 * 60
--- Files larger than this are ignored (and never written).
_M.MAX_FILE = 64 * 1024

local EXPIRY_WINDOW = _M.EXPIRY_WINDOW
local MAX_FILE = _M.MAX_FILE
local MAX_DEPTH = 32
local NULL = cjson_safe.null
-- The session name acmpca.credentials.role generates when none is set
-- (botocore leaves its generated one out of the key, as this does).
local GENERATED_SESSION = "^acmpca%-session%-%d+$"
-- A JSON text already written as Python writes it (a Policy), kept as is
-- by dump.
local RAW_MT = {}


-- ---------------------------------------------------------------------
-- Python's json.dumps
-- ---------------------------------------------------------------------

local ESCAPES = { [34] = '\\"', [92] = "\\\\", [8] = "\\b", [12] = "\\f", [10] = "\\n",
                  [13] = "\\r", [9] = "\\t" }


local function u_escape(cp)
    if cp < 0x10000 then
        return str_format("\\u%04x", cp)
    end
    cp = cp - 0x10000
    return str_format("\\u%04x\\u%04x", 0xD800 + math_floor(cp / 1024), 0xDC00 + cp % 1024)
end


-- The code point of the UTF-8 sequence at i of s and its length, or nil
-- when the bytes there are not well-formed UTF-8.
local function utf8_at(s, i, b)
    local n, cp, min
    if b >= 0xC2 and b <= 0xDF then
        n, cp, min = 2, b - 0xC0, 0x80
    elseif b >= 0xE0 and b <= 0xEF then
        n, cp, min = 3, b - 0xE0, 0x800
    elseif b >= 0xF0 and b <= 0xF4 then
        n, cp, min = 4, b - 0xF0, 0x10000
    else
        return nil
    end
    for k = 1, n - 1 do
        local c = str_byte(s, i + k)
        if not c or c < 0x80 or c > 0xBF then
            return nil
        end
        cp = cp * 64 + (c - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then
        return nil
    end
    return cp, n
end


-- A string as Python's json.dumps (ensure_ascii) writes it: printable ASCII
-- kept, the short escapes, everything else \uXXXX (UTF-16 surrogate pairs
-- above the BMP).  A byte that is not UTF-8 becomes \u00XX, as if Latin-1.
local function dump_string(s)
    local out, n = { '"' }, 1
    local i, len = 1, #s
    local run = 1
    while i <= len do
        local b = str_byte(s, i)
        if b >= 32 and b <= 126 and b ~= 34 and b ~= 92 then
            i = i + 1
        else
            if run < i then
                n = n + 1
                out[n] = str_sub(s, run, i - 1)
            end
            local esc, step = ESCAPES[b], 1
            if not esc then
                local cp, k = nil, nil
                if b >= 0x80 then
                    cp, k = utf8_at(s, i, b)
                end
                if cp then
                    esc, step = u_escape(cp), k
                else
                    esc = str_format("\\u%04x", b)
                end
            end
            n = n + 1
            out[n] = esc
            i = i + step
            run = i
        end
    end
    if run <= len then
        n = n + 1
        out[n] = str_sub(s, run)
    end
    out[n + 1] = '"'
    return tbl_concat(out)
end


-- A digit string plus or minus one in its last place (same length, or
-- one longer on a carry; leading zeros left for the caller).
local function step_digits(d, up)
    local stop, fill = up and 57 or 48, up and "0" or "9"
    local i = #d
    while i > 0 and str_byte(d, i) == stop do
        i = i - 1
    end
    if i == 0 then
        return "1" .. (fill):rep(#d)
    end
    return str_sub(d, 1, i - 1) .. str_char(str_byte(d, i) + (up and 1 or -1))
        .. (fill):rep(#d - i)
end


-- The shortest digits that read back as a (> 0, finite) and where the
-- decimal point goes (a = 0.DIGITS x 10^decpt), as Python's repr picks
-- them: the fewest digits; of those, the nearest to a, a tie to even.
local function shortest(a)
    for p = 0, 16 do
        local e = str_format("%." .. p .. "e", a)
        local lead, frac, x = str_match(e, "^(%d)%.?(%d*)e([-+]%d+)$")
        local d, scale = lead .. frac, tonumber(x) - p
        if tonumber(e) == a then
            -- A tie (the digits after the last kept one are 5 then
            -- zeros): C's printf and Python round to even (when that
            -- still reads back as a), LuaJIT's string.format up.
            local llead, lfrac, lx = str_match(str_format("%.99e", a),
                                               "^(%d)%.(%d+)e([-+]%d+)$")
            local all, n = llead .. lfrac, #d
            if str_sub(all, n + 1, n + 1) == "5" and not str_find(all, "[1-9]", n + 2)
                and str_byte(all, n) % 2 == 0
                and tonumber(str_sub(all, 1, n) .. "e" .. (tonumber(lx) - p)) == a then
                d, scale = str_sub(all, 1, n), tonumber(lx) - p
            end
            return d, #d + scale
        end
        -- At a power of two the doubles below are closer together than
        -- those above: the nearest p-digit number may miss a while its
        -- neighbour reads back as a.
        for _, up in ipairs{ true, false } do
            local nd = step_digits(d, up)
            if tonumber(nd .. "e" .. scale) == a then
                nd = nd:gsub("^0+", "")
                return nd, #nd + scale
            end
        end
    end
    local lead, frac, x = str_match(str_format("%.16e", a), "^(%d)%.(%d+)e([-+]%d+)$")
    return lead .. frac, tonumber(x) + 1
end


-- A float as Python's repr writes it: the shortest digits that read back
-- as the same double, in fixed notation when 1e-4 <= |v| < 1e16, else
-- d.ddde+XX.
local function python_float(v)
    if v ~= v then
        return "NaN"
    elseif v == math_huge then
        return "Infinity"
    elseif v == -math_huge then
        return "-Infinity"
    end
    local sign = (v < 0 or 1 / v < 0) and "-" or ""
    if v == 0 then
        return sign .. "0.0"
    end
    local digits, decpt = shortest(v < 0 and -v or v)
    digits = digits:gsub("0+$", "")
    if decpt > -4 and decpt <= 16 then
        if decpt <= 0 then
            return sign .. "0." .. ("0"):rep(-decpt) .. digits
        elseif decpt >= #digits then
            return sign .. digits .. ("0"):rep(decpt - #digits) .. ".0"
        end
        return sign .. str_sub(digits, 1, decpt) .. "." .. str_sub(digits, decpt + 1)
    end
    local x = decpt - 1
    return str_format("%s%s%se%s%02d", sign, str_sub(digits, 1, 1),
                      #digits > 1 and "." .. str_sub(digits, 2) or "", x < 0 and "-" or "+",
                      x < 0 and -x or x)
end


-- A number as Python writes an int (integral values) or a float's repr
-- (the shortest text that reads back as the same double).
local function dump_number(v)
    if v == math_floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
        return str_format("%d", v)
    end
    return python_float(v)
end


-- A sequence 1..n (n > 0) is a JSON array; any other table an object.
local function is_array(t)
    local n = #t
    if n == 0 then
        return false
    end
    local count = 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or k > n or k ~= math_floor(k) then
            return false
        end
        count = count + 1
    end
    return count == n
end


local dump


local function dump_table(t, sep, colon, depth)
    if depth > MAX_DEPTH then
        return nil, "nested deeper than " .. MAX_DEPTH .. " levels"
    end
    local parts = {}
    if is_array(t) then
        for i = 1, #t do
            local s, err = dump(t[i], sep, colon, depth + 1)
            if not s then
                return nil, err
            end
            parts[i] = s
        end
        return "[" .. tbl_concat(parts, sep) .. "]"
    end
    local keys = {}
    for k in pairs(t) do
        if type(k) ~= "string" then
            return nil, "an object key is a " .. type(k)
        end
        keys[#keys + 1] = k
    end
    tbl_sort(keys)
    for i, k in ipairs(keys) do
        local s, err = dump(t[k], sep, colon, depth + 1)
        if not s then
            return nil, err
        end
        parts[i] = dump_string(k) .. colon .. s
    end
    return "{" .. tbl_concat(parts, sep) .. "}"
end


-- json.dumps(v, sort_keys=True) with separators (sep, colon).  Returns
-- the text, or nil, problem for a value JSON cannot hold.
function dump(v, sep, colon, depth)
    local tv = type(v)
    if v == nil or v == NULL then
        return "null"
    elseif tv == "boolean" then
        return v and "true" or "false"
    elseif tv == "number" then
        return dump_number(v)
    elseif getmetatable(v) == RAW_MT then
        return v[1]
    elseif tv == "string" then
        return dump_string(v)
    elseif tv == "table" then
        return dump_table(v, sep, colon, depth or 0)
    end
    return nil, "a " .. tv .. " value"
end


--- dumps(v[, compact]) -> text | nil, problem: v as Python's
-- `json.dumps(v, sort_keys=True)` writes it (separators ", " and ": ", or
-- "," and ":" when compact).  Integral numbers are written as ints.
function _M.dumps(v, compact)
    if compact then
        return dump(v, ",", ":")
    end
    return dump(v, ", ", ": ")
end


-- ---------------------------------------------------------------------
-- Keys
-- ---------------------------------------------------------------------

-- botocore's _make_file_safe: ':', the path separator and '/' as '_'.
local function file_safe(s)
    return (s:gsub("[:/]", "_"))
end


local function hash_key(args, compact)
    local text, problem = _M.dumps(args, compact)
    if not text then
        error("acmpca.credentials.cache: the key's arguments: " .. problem, 3)
    end
    return file_safe(core.sha1_hex(text))
end


-- ---------------------------------------------------------------------
-- Python's json.loads then json.dumps(sort_keys=True), on a Policy
-- ---------------------------------------------------------------------

-- botocore keys a Policy by what json.dumps(json.loads(text)) writes:
-- integers as their digits (any size), floats as Python's repr, strings
-- re-escaped, object keys sorted by code point with the last of equal
-- keys kept, empty arrays and objects as they were.  A decoder into Lua
-- values cannot keep 1.0 apart from 1 or [] from {}; this reads the text
-- and writes Python's text in one pass.

local WS = { [32] = true, [9] = true, [10] = true, [13] = true }
-- the character each short escape (\" \\ \/ \b \f \n \r \t) stands for
local UNESCAPED = { [34] = 34, [92] = 92, [47] = 47, [98] = 8, [102] = 12, [110] = 10,
                    [114] = 13, [116] = 9 }


-- A code point as 3 bytes, so that byte order is code point order.
local function cp_key(cp)
    return str_char(math_floor(cp / 65536), math_floor(cp / 256) % 256, cp % 256)
end


-- One UTF-16 code unit (or a code point) as Python writes it (as
-- dump_string does: printable ASCII kept, the short escapes, else \uXXXX).
local function write_unit(cp)
    local esc = ESCAPES[cp]
    if esc then
        return esc
    end
    return (cp >= 32 and cp <= 126) and str_char(cp) or u_escape(cp)
end


local function skip_ws(t, i)
    while WS[str_byte(t, i)] do
        i = i + 1
    end
    return i
end


-- The string at t[i] (an opening quote) -> its text as Python writes it,
-- its sort key, the index after it; nil when it is not a JSON string
-- json.loads (strict) takes.
local function read_string(t, i, want_key)
    local out, key, n = {}, want_key and {} or nil, 0
    i = i + 1
    while true do
        -- a run of printable ASCII but '"' and '\\' is written as it is
        local j = str_find(t, '[%z\1-\31"\\\127-\255]', i)
        if j and j > i then
            n = n + 1
            out[n] = str_sub(t, i, j - 1)
            if key then
                key[n] = str_gsub(out[n], ".", "\0\0%0")
            end
            i = j
        end
        local b = str_byte(t, i)
        if not b or b < 32 then
            return nil
        elseif b == 34 then
            return '"' .. tbl_concat(out) .. '"', key and tbl_concat(key), i + 1
        end
        local cp, step
        if b == 92 then
            local e = str_byte(t, i + 1)
            if e == 117 then
                cp = tonumber(str_match(t, "^%x%x%x%x", i + 2) or "", 16)
                if not cp then
                    return nil
                end
                step = 6
                if cp >= 0xD800 and cp <= 0xDBFF then
                    -- a high surrogate then a low one: one code point
                    local lo = str_match(t, "^\\u(%x%x%x%x)", i + 6)
                    lo = lo and tonumber(lo, 16)
                    if lo and lo >= 0xDC00 and lo <= 0xDFFF then
                        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
                        step = 12
                    end
                end
            else
                cp, step = UNESCAPED[e], 2
                if not cp then
                    return nil
                end
            end
        elseif b < 128 then
            cp, step = b, 1
        else
            cp, step = utf8_at(t, i, b)
            if not cp then
                -- not UTF-8: a byte, as if Latin-1 (as dump_string does)
                cp, step = b, 1
            end
        end
        n = n + 1
        out[n] = write_unit(cp)
        if key then
            key[n] = cp_key(cp)
        end
        i = i + step
    end
end


local read_value


-- [ ... ] at t[i] -> text, next index | nil
local function read_array(t, i, depth)
    local items = {}
    i = skip_ws(t, i + 1)
    if str_byte(t, i) == 93 then
        return "[]", i + 1
    end
    while true do
        local v
        v, i = read_value(t, i, depth + 1)
        if not v then
            return nil
        end
        items[#items + 1] = v
        i = skip_ws(t, i)
        local b = str_byte(t, i)
        if b == 93 then
            return "[" .. tbl_concat(items, ", ") .. "]", i + 1
        elseif b ~= 44 then
            return nil
        end
        i = skip_ws(t, i + 1)
    end
end


-- { ... } at t[i] -> text, next index | nil.  Keys sorted by code point,
-- the last value of a repeated key kept.
local function read_object(t, i, depth)
    local by_key, keys = {}, {}
    i = skip_ws(t, i + 1)
    if str_byte(t, i) == 125 then
        return "{}", i + 1
    end
    while true do
        if str_byte(t, i) ~= 34 then
            return nil
        end
        local ktext, kkey
        ktext, kkey, i = read_string(t, i, true)
        if not ktext then
            return nil
        end
        i = skip_ws(t, i)
        if str_byte(t, i) ~= 58 then
            return nil
        end
        local v
        v, i = read_value(t, skip_ws(t, i + 1), depth + 1)
        if not v then
            return nil
        end
        if not by_key[kkey] then
            keys[#keys + 1] = kkey
        end
        by_key[kkey] = ktext .. ": " .. v
        i = skip_ws(t, i)
        local b = str_byte(t, i)
        if b == 125 then
            break
        elseif b ~= 44 then
            return nil
        end
        i = skip_ws(t, i + 1)
    end
    tbl_sort(keys)
    for k, kkey in ipairs(keys) do
        keys[k] = by_key[kkey]
    end
    return "{" .. tbl_concat(keys, ", ") .. "}", i + 1
end


local LITERALS = { ["true"] = "true", ["false"] = "false", null = "null", NaN = "NaN",
                   Infinity = "Infinity", ["-Infinity"] = "-Infinity" }


-- The value at t[i] -> its text as Python writes it, the index after it;
-- nil when the text there is not JSON json.loads reads.
function read_value(t, i, depth)
    if depth > MAX_DEPTH then
        return nil
    end
    local b = str_byte(t, i)
    if b == 34 then
        local text, _, j = read_string(t, i)
        return text, j
    elseif b == 91 then
        return read_array(t, i, depth)
    elseif b == 123 then
        return read_object(t, i, depth)
    end
    local word = str_match(t, "^%-?%a+", i)
    if word and LITERALS[word] then
        return LITERALS[word], i + #word
    end
    -- -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?, as json.loads reads numbers
    local int = str_match(t, "^%-?%d+", i)
    if not int or str_find(int, "^%-?0%d") then
        return nil
    end
    local frac = str_match(t, "^%.%d+", i + #int) or ""
    local exp = str_match(t, "^[eE][-+]?%d+", i + #int + #frac) or ""
    local j = i + #int + #frac + #exp
    if frac == "" and exp == "" then
        -- an int: its digits, -0 as 0
        return (str_find(int, "^%-0$") and "0" or int), j
    end
    local v = tonumber(int .. frac .. exp)
    if not v then
        -- an exponent too long for LuaJIT's reader: what it is in C (and
        -- in Python): 0 or the infinity, signed
        local m = tonumber(int .. frac)
        v = (m == 0 or str_find(exp, "^.%-")) and 0 * m or m * math_huge
        if str_find(int, "^%-") and v == 0 then
            v = -0.0
        end
    end
    return python_float(v), j
end


-- A Policy text as json.dumps(json.loads(text), sort_keys=True) writes it,
-- or nil when json.loads would refuse it.
local function python_json(text)
    if #text > MAX_FILE then
        return nil
    end
    local v, i = read_value(text, skip_ws(text, 1), 0)
    if not v or skip_ws(text, i) <= #text then
        return nil
    end
    return v
end
_M._python_json = python_json


-- The arguments of an STS call as botocore keys them: a copy without
-- drop's fields, RoleSessionName left out when generated, Policy parsed.
local function sts_args(args, opts, drop, fname)
    if type(args) ~= "table" then
        error("acmpca.credentials.cache." .. fname .. ": args: expected a table, got "
              .. type(args), 3)
    end
    if type(args.RoleArn) ~= "string" then
        error("acmpca.credentials.cache." .. fname .. ": args.RoleArn: expected a string, got "
              .. type(args.RoleArn), 3)
    end
    local out = {}
    for k, v in pairs(args) do
        if not drop[k] then
            out[k] = v
        end
    end
    local name = out.RoleSessionName
    if (opts and opts.default_session_name)
        or (type(name) == "string" and str_find(name, GENERATED_SESSION)) then
        out.RoleSessionName = nil
    end
    if type(out.Policy) == "string" then
        local text = python_json(out.Policy)
        if text then
            out.Policy = setmetatable({ text }, RAW_MT)
        end
    end
    return out
end


local C = {}
local C_mt = { __index = C }


--- c:key_assume_role(args[, opts]) -> key: AssumeRoleCredentialFetcher's
-- key.  args are AssumeRole's parameters (RoleArn, RoleSessionName,
-- ExternalId, SerialNumber, DurationSeconds, Policy); TokenCode is left
-- out, and RoleSessionName too when opts.default_session_name is true or
-- it is one acmpca generated (`acmpca-session-<time>`).
function C.key_assume_role(_, args, opts)
    local key = hash_key(sts_args(args, opts, { TokenCode = true, WebIdentityToken = true },
                                    "key_assume_role"))
    return key
end


--- c:key_web_identity(args[, opts]) -> key:
-- AssumeRoleWithWebIdentityCredentialFetcher's key: RoleArn and
-- RoleSessionName (same rule as above); the token and DurationSeconds
-- (botocore's web identity provider never passes one) are left out.
function C.key_web_identity(_, args, opts)
    local key = hash_key(sts_args(args, opts, { WebIdentityToken = true,
                                                DurationSeconds = true, TokenCode = true },
                                    "key_web_identity"))
    return key
end


--- c:key_sso{ account_id, role_name, session_name | start_url } -> key:
-- SSOCredentialFetcher's key (the sso-session's name when there is one,
-- else the start URL).
function C.key_sso(_, args)
    if type(args) ~= "table" then
        error("acmpca.credentials.cache.key_sso: args: expected a table, got " .. type(args), 2)
    end
    for _, f in ipairs{ "account_id", "role_name" } do
        if type(args[f]) ~= "string" then
            error("acmpca.credentials.cache.key_sso: args." .. f .. ": expected a string, got "
                  .. type(args[f]), 2)
        end
    end
    local t = { accountId = args.account_id, roleName = args.role_name }
    if args.session_name ~= nil then
        t.sessionName = args.session_name
    else
        t.startUrl = args.start_url
    end
    if type(t.sessionName or t.startUrl) ~= "string" then
        error("acmpca.credentials.cache.key_sso: args: expected session_name or start_url "
              .. "(a string)", 2)
    end
    local key = hash_key(t, true)
    return key
end


-- ---------------------------------------------------------------------
-- Entries
-- ---------------------------------------------------------------------

local function check_key(key, fname)
    if type(key) ~= "string" or key == "" or #key > 200 or str_find(key, "^%.")
        or str_find(key, "[^%w._-]") then
        error("acmpca.credentials.cache." .. fname .. ": key: expected a cache key ("
              .. "letters, digits, '.', '_', '-'), got " .. type(key), 3)
    end
end


local parse_time


-- Expiration text -> epoch seconds, or nil: ISO-8601 as STS and botocore's
-- SSO fetcher write it ("...Z", an offset, fractions), and the AWS CLI's
-- own "2024-05-01T12:00:00UTC" (strftime %Z of a UTC time).
local function expiration_of(v)
    if type(v) ~= "string" or #v > 64 then
        return nil
    end
    if not parse_time then
        parse_time = require("acmpca.credentials").parse_time
    end
    local head = str_match(v, "^(.-)UTC$") or str_match(v, "^(.-)GMT$")
    if head then
        v = head .. "Z"
    end
    return parse_time(v)
end


local str_field = require("acmpca.config").setting


--- c:get(key) -> { access_key_id, secret_access_key, session_token,
-- expiration (epoch seconds) }, or nil, why (a word or a short phrase,
-- never a value): the entry when it has at least EXPIRY_WINDOW left.
function C:get(key)
    check_key(key, "get")
    local data, err, missing = core.read_file(self.dir .. "/" .. key .. ".json", MAX_FILE)
    if not data then
        return nil, missing and "missing" or err
    end
    local doc = cjson_safe.decode(data)
    local cr = type(doc) == "table" and doc.Credentials
    if type(cr) ~= "table" then
        return nil, "malformed: no Credentials object"
    end
    local c = {
        access_key_id = str_field(cr, "AccessKeyId"),
        secret_access_key = str_field(cr, "SecretAccessKey"),
        session_token = str_field(cr, "SessionToken"),
        expiration = expiration_of(cr.Expiration),
    }
    if not (c.access_key_id and c.secret_access_key and c.session_token) then
        return nil, "malformed: a key, the secret or the session token is missing"
    end
    if not c.expiration then
        return nil, "malformed: Expiration is not a time"
    end
    if c.expiration - self.now() < EXPIRY_WINDOW then
        return nil, "expired"
    end
    return c
end


local function iso(t)
    return os_date("!%Y-%m-%dT%H:%M:%SZ", math_floor(t))
end


-- The document put writes for v (an answer or credentials), or nil, problem.
local function entry_doc(v)
    if type(v.Credentials) == "table" then
        local cr = v.Credentials
        if not (str_field(cr, "AccessKeyId") and str_field(cr, "SecretAccessKey")
                and str_field(cr, "SessionToken")) then
            return nil, "Credentials lacks AccessKeyId, SecretAccessKey or SessionToken"
        end
        if not expiration_of(cr.Expiration) then
            return nil, "Credentials.Expiration is not an ISO-8601 time"
        end
        return v
    end
    if not (str_field(v, "access_key_id") and str_field(v, "secret_access_key")
            and str_field(v, "session_token")) then
        return nil, "the credentials lack access_key_id, secret_access_key or session_token"
    end
    if type(v.expiration) ~= "number" or v.expiration ~= v.expiration then
        return nil, "the credentials have no expiration (epoch seconds)"
    end
    return {
        ProviderType = v.provider_type,
        Credentials = {
            AccessKeyId = v.access_key_id, SecretAccessKey = v.secret_access_key,
            SessionToken = v.session_token, Expiration = iso(v.expiration),
        },
    }
end


--- c:put(key, v) -> true | nil, err: writes v, an answer with a
-- Credentials object (as STS gives it, Expiration as text) or credentials
-- ({ access_key_id, secret_access_key, session_token, expiration (epoch
-- seconds), provider_type (optional, "sso") }), to the entry's file (mode
-- 0600, atomically).  err names the file or the missing field, never a
-- value.
function C:put(key, v)
    check_key(key, "put")
    if type(v) ~= "table" then
        error("acmpca.credentials.cache.put: value: expected a table, got " .. type(v), 2)
    end
    local doc, problem = entry_doc(v)
    local text
    if doc then
        text, problem = _M.dumps(doc)
    end
    if not text then
        return nil, "acmpca: not cached: " .. problem
    end
    if #text > MAX_FILE then
        return nil, "acmpca: not cached: the entry is larger than " .. MAX_FILE .. " bytes"
    end
    return core.write_private(self.dir .. "/" .. key .. ".json", text)
end


--- new{ dir =, now =, home = } -> cache | nil, err.  dir defaults to
-- ~/.aws/cli/cache (home: opts.home, else $HOME); now (epoch seconds)
-- to os.time.  Nothing is read or made until used.
function _M.new(opts)
    if opts ~= nil and type(opts) ~= "table" then
        error("acmpca.credentials.cache.new: opts: expected a table or nil, got " .. type(opts),
              2)
    end
    opts = opts or {}
    if opts.dir ~= nil and (type(opts.dir) ~= "string" or opts.dir == "") then
        error("acmpca.credentials.cache.new: dir: expected a non-empty string, got "
              .. type(opts.dir), 2)
    end
    if opts.now ~= nil and type(opts.now) ~= "function" then
        error("acmpca.credentials.cache.new: now: expected a function, got " .. type(opts.now),
              2)
    end
    local dir = opts.dir
    if not dir then
        local home = require("acmpca.config").home(opts)
        if not home then
            return nil, "acmpca: the credential cache needs a home directory (HOME is not set)"
        end
        dir = home .. "/.aws/cli/cache"
    end
    dir = str_match(dir, "^(.-)/*$")
    if dir == "" then
        dir = "/"
    end
    return setmetatable({ dir = dir, now = opts.now or os_time }, C_mt)
end


-- For specs and sso.lua: ISO text of epoch seconds and the reverse.
_M.iso = iso
_M.parse_expiration = expiration_of
_M.file_safe = file_safe


return _M
