-- acmpca.cli.token: the pagination tokens of `acmpca --starting-token` and
-- of the NextToken it prints, in botocore's format so that the AWS CLI and
-- acmpca take each other's tokens.
--
--   local s = token.encode("svc-token")        -- base64 of {"NextToken": "svc-token"}
--   local s = token.encode("svc-token", 2)     -- ... , "boto_truncate_amount": 2}
--   local t, skip = token.decode(s)            -- "svc-token", 2 | nil, why
--
-- botocore (botocore/paginate.py, TokenEncoder/TokenDecoder) prints the
-- base64 of json.dumps of a dict holding the service's token under the
-- input token's name and, when --max-items stopped inside a page, how many
-- items of the page that token fetches were already printed
-- (boto_truncate_amount).  A starting token that does not decode is taken
-- as the service's own token, as botocore does (its "deprecated" form).

local type, tostring, tonumber, pairs = type, tostring, tonumber, pairs
local concat = table.concat
local fmt, byte, char, sub, find = string.format, string.byte, string.char, string.sub,
    string.find
local floor = math.floor

local cjson = require "cjson.safe"

local _M = { _VERSION = "0.2.0" }

-- the paginator's input token: NextToken for every ACM PCA operation
local KEY = "NextToken"
local TRUNCATE = "boto_truncate_amount"
-- a starting token longer than this is refused before it is decoded
_M.MAX_LENGTH = 64 * 1024


------------------------------------------------------------------------
-- base64 (RFC 4648, with padding), in arithmetic for Lua 5.1 and 5.4
------------------------------------------------------------------------

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local VALUE = {}
for i = 1, 64 do
    VALUE[byte(ALPHABET, i)] = i - 1
end


local function b64encode(s)
    local out, n = {}, 0
    for i = 1, #s, 3 do
        local a, b, c = byte(s, i, i + 2)
        local v = a * 65536 + (b or 0) * 256 + (c or 0)
        local c1, c2 = floor(v / 262144), floor(v / 4096) % 64
        local c3, c4 = floor(v / 64) % 64, v % 64
        n = n + 1
        out[n] = sub(ALPHABET, c1 + 1, c1 + 1) .. sub(ALPHABET, c2 + 1, c2 + 1)
            .. (b and sub(ALPHABET, c3 + 1, c3 + 1) or "=")
            .. (c and sub(ALPHABET, c4 + 1, c4 + 1) or "=")
    end
    return concat(out, "", 1, n)
end


-- strict: the alphabet, a length that is a multiple of 4, padding at the
-- end only; nil otherwise
local function b64decode(s)
    if #s % 4 ~= 0 or find(s, "[^%w+/=]") or find(s, "=[^=]") or find(s, "===") then
        return nil
    end
    local out, n = {}, 0
    for i = 1, #s, 4 do
        local v, pad = 0, 0
        for j = i, i + 3 do
            local x = VALUE[byte(s, j)]
            if x == nil then
                pad = pad + 1
                x = 0
            end
            v = v * 64 + x
        end
        local bytes = char(floor(v / 65536), floor(v / 256) % 256, v % 256)
        n = n + 1
        out[n] = sub(bytes, 1, 3 - pad)
    end
    return concat(out, "", 1, n)
end

_M.b64encode, _M.b64decode = b64encode, b64decode


------------------------------------------------------------------------
-- json.dumps (ensure_ascii) of a string
------------------------------------------------------------------------

local ESCAPES = {
    ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
    ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}


-- the code point of the UTF-8 sequence at i of s and its length, or the
-- byte itself (Python would have refused it; the service sends UTF-8)
local function code_point(s, i)
    local c = byte(s, i)
    local len = c >= 0xF0 and 4 or c >= 0xE0 and 3 or c >= 0xC0 and 2 or 1
    if len == 1 then
        return c, 1
    end
    local cp = c % (2 ^ (7 - len))
    for j = 1, len - 1 do
        local cc = byte(s, i + j)
        if not cc or cc < 0x80 or cc > 0xBF then
            return c, 1
        end
        cp = cp * 64 + cc - 0x80
    end
    return cp, len
end


local function py_string(s)
    local out, n, i = { '"' }, 1, 1
    while i <= #s do
        local c = byte(s, i)
        local piece, step
        if c >= 0x20 and c < 0x7F then
            piece, step = ESCAPES[char(c)] or char(c), 1
        elseif c < 0x80 then
            piece, step = ESCAPES[char(c)] or fmt("\\u%04x", c), 1
        else
            local cp
            cp, step = code_point(s, i)
            if cp >= 0x10000 then
                cp = cp - 0x10000
                piece = fmt("\\u%04x\\u%04x", 0xD800 + floor(cp / 1024), 0xDC00 + cp % 1024)
            else
                piece = fmt("\\u%04x", cp)
            end
        end
        n = n + 1
        out[n] = piece
        i = i + step
    end
    out[n + 1] = '"'
    return concat(out)
end


------------------------------------------------------------------------
-- the tokens
------------------------------------------------------------------------

-- token.encode(service_token[, truncate]) -> the token aws prints: the
-- base64 of {"NextToken": <service_token or null>[, "boto_truncate_amount": n]}
-- byte for byte as botocore's json.dumps writes it.
function _M.encode(service_token, truncate)
    local text = "{" .. py_string(KEY) .. ": "
        .. (service_token == nil and "null" or py_string(tostring(service_token)))
    if truncate then
        text = text .. ", " .. py_string(TRUNCATE) .. ": " .. fmt("%d", truncate)
    end
    return b64encode(text .. "}")
end


-- a key of a decoded token, for the message: printable and short
local function printable_key(k)
    k = tostring(k)
    return (sub(k, 1, 40):gsub("[^%w_%-]", "?"))
end


-- token.decode(s) -> service token (nil: the first page), items of its
-- page to skip | nil, why.  s is a token aws or acmpca printed, or else the
-- service's own token, passed through.
function _M.decode(s)
    if type(s) ~= "string" or s == "" then
        return nil, "expected a non-empty string"
    end
    if #s > _M.MAX_LENGTH then
        return nil, fmt("longer than %d characters", _M.MAX_LENGTH)
    end
    local text = b64decode(s)
    local t = text and find(text, "^%s*{") and cjson.decode(text)
    if type(t) ~= "table" then
        return s, 0 -- not one of ours: the service's token, as botocore takes it
    end
    for k in pairs(t) do
        if k ~= KEY and k ~= TRUNCATE then
            return nil, fmt("bad starting token: unexpected key %q", printable_key(k))
        end
    end
    local svc, skip = t[KEY], t[TRUNCATE]
    if svc == cjson.null then
        svc = nil
    elseif type(svc) ~= "string" or svc == "" then
        return nil, "bad starting token: NextToken is not a non-empty string"
    end
    if skip == nil then
        skip = 0
    elseif type(skip) ~= "number" or skip < 0 or skip ~= floor(skip) or skip > 2 ^ 31 then
        return nil, "bad starting token: boto_truncate_amount is not a count"
    end
    if svc == nil and skip == 0 then
        return nil, "bad starting token: no NextToken"
    end
    return svc, tonumber(skip)
end


return _M
