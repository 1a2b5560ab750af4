--- acmpca.json: JSON text with ordered keys, for what people read (the
-- acmpca command's output, aws-cli style) and what the fake service sends.
-- lua-cjson decodes; requests are encoded in C from the model (src/json.c).
-- cjson orders no keys and has no empty array, which output for people needs.
--
--    json.object("K1", v1, "K2", v2, ...)   keys keep this order, nil values left out
--    json.array(t)                          an array even when empty
--    json.encode(v[, indent])               compact, or pretty like json.dumps(indent=N)
--
-- @module acmpca.json

local cjson = require "cjson.safe"

local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local setmetatable, getmetatable, select = setmetatable, getmetatable, select
local error = error
local concat, sort = table.concat, table.sort
local fmt, byte = string.format, string.byte
local floor, huge = math.floor, math.huge

local _M = { _VERSION = "0.2.0" }
local json = _M


local ARRAY_MT = { __name = "acmpca.json.array" }
local OBJECT_MT = { __name = "acmpca.json.object" }



--- json.array(t): t encodes as an array even when empty.
function json.array(t)
    return setmetatable(t or {}, ARRAY_MT)
end


--- json.object("k1", v1, "k2", v2, ...): an object whose keys keep this
-- order; nil values are left out.
function json.object(...)
    local n = select("#", ...)
    local list = { ... }
    if n == 1 and type(list[1]) == "table" then
        list = list[1]
        n = list.n or #list
    end
    local kv = { n = n }
    for i = 1, n do
        kv[i] = list[i]
    end
    return setmetatable(kv, OBJECT_MT)
end


local ESCAPES = {
    ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
    ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}


local function escape_char(c)
    return ESCAPES[c] or fmt("\\u%04x", byte(c))
end


local function encode_string(s)
    return '"' .. s:gsub('[%c"\\]', escape_char) .. '"'
end


local function encode_number(v)
    if v ~= v or v == huge or v == -huge then
        error("acmpca.json: cannot encode " .. tostring(v), 3)
    end
    if floor(v) == v and v > -2^53 and v < 2^53 then
        return fmt("%d", v)
    end
    for prec = 14, 17 do
        local s = fmt("%." .. prec .. "g", v)
        if tonumber(s) == v then
            return s
        end
    end
    return fmt("%.17g", v)
end


local encode_value


local function encode_items(items, open, close, indent, depth)
    if #items == 0 then
        return open .. close
    end
    if not indent then
        return open .. concat(items, ",") .. close
    end
    local pad = "\n" .. (" "):rep(indent * (depth + 1))
    return open .. pad .. concat(items, "," .. pad) .. "\n" .. (" "):rep(indent * depth) .. close
end


function encode_value(v, indent, depth)
    local t = type(v)
    if t == "string" then
        return encode_string(v)
    elseif t == "number" then
        return encode_number(v)
    elseif t == "boolean" then
        return v and "true" or "false"
    elseif v == nil or v == cjson.null then
        return "null"
    elseif t ~= "table" then
        error("acmpca.json: cannot encode a " .. t, 3)
    end

    local sep = indent and ": " or ":"
    local items = {}
    local mt = getmetatable(v)
    if mt == OBJECT_MT then
        for i = 1, v.n, 2 do
            local val = v[i + 1]
            if val ~= nil then
                items[#items + 1] = encode_string(v[i]) .. sep
                                    .. encode_value(val, indent, depth + 1)
            end
        end
        return encode_items(items, "{", "}", indent, depth)
    end
    if mt == ARRAY_MT or v[1] ~= nil then
        for i = 1, #v do
            items[i] = encode_value(v[i], indent, depth + 1)
        end
        return encode_items(items, "[", "]", indent, depth)
    end
    local keys = {}
    for k in pairs(v) do
        if type(k) ~= "string" then
            error("acmpca.json: object key is a " .. type(k), 3)
        end
        keys[#keys + 1] = k
    end
    sort(keys)
    for i, k in ipairs(keys) do
        items[i] = encode_string(k) .. sep .. encode_value(v[k], indent, depth + 1)
    end
    return encode_items(items, "{", "}", indent, depth)
end


--- json.encode(value[, indent[, depth]]): compact, or pretty with `indent`
-- spaces like Python's json.dumps(indent=N) (what aws-cli prints); depth:
-- the nesting level the value sits at (0), for writing a long document a
-- piece at a time (json.write_list).
function json.encode(value, indent, depth)
    return encode_value(value, indent, depth or 0)
end


--- json.write_list(out, key, n, item, rest): a long list, an item at a time.
-- It writes, pretty with 4 spaces,
-- the object { key: [item(1), ..., item(n)], rest... } to out (:write),
-- one item at a time: what json.encode(json.object(key, list, ...), 4)
-- prints, without holding the list's objects or the whole text at once.
-- rest is an object of the other members (or nil).
function json.write_list(out, key, n, item, rest)
    out:write("{\n    ", encode_string(key), ": [")
    for i = 1, n do
        out:write(i > 1 and ",\n        " or "\n        ", encode_value(item(i), 4, 2))
    end
    out:write(n > 0 and "\n    ]" or "]")
    if rest then
        for i = 1, rest.n, 2 do
            local v = rest[i + 1]
            if v ~= nil then
                out:write(",\n    ", encode_string(rest[i]), ": ", encode_value(v, 4, 1))
            end
        end
    end
    out:write("\n}\n")
end


return _M
