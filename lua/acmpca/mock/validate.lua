-- acmpca.mock.validate: the fake ACM PCA's check of a request's input
-- against the operation's input shape (acmpca.model), worded as the
-- service words it: SerializationException for a member of the wrong JSON
-- type or an unknown one, ValidationException listing every value outside
-- the model's constraints (lengths, enums, patterns, required members).
--
--   local err = validate.validate(op, params)   -- nil, or a wire.error value
--   validate.is_array(v)                        -- a JSON array (the body must not be one)

local json = require "acmpca.json"
local wire = require "acmpca.mock.wire"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local concat, sort = table.concat, table.sort
local fmt = string.format
local floor = math.floor
local api_error = wire.error
local shapes = wire.shapes

local _M = { _VERSION = "0.2.0" }


local function is_array(v)
    if type(v) ~= "table" then
        return false
    end
    local n = 0
    for k in pairs(v) do
        if type(k) ~= "number" or k < 1 or floor(k) ~= k then
            return false
        end
        n = n + 1
    end
    return n == #v
end


-- The service model's Arn pattern, anchored as the service anchors it: an
-- ARN that fails it gets ValidationException, one that passes it but is
-- not a CA ARN gets InvalidArnException.
local function arn_shape_ok(s)
    if #s < 5 or #s > 200 then
        return false
    end
    local rest = s:match("^arn:[%w_+=/,.@%-]+:acm%-pca:[%w_+=/,.@%-]*:%d*:(.+)$")
    if not rest then
        return false
    end
    for seg in (rest .. "/"):gmatch("([^/]*)/") do
        if not seg:match("^[%w_+=,.@%-]+$") then
            return false
        end
    end
    return true
end


local function lower_camel(s)
    return s:sub(1, 1):lower() .. s:sub(2)
end


-- [\t\n\r\x20-\xFF]+ over characters (the AWSPolicy pattern).
local function policy_text(v)
    return v ~= "" and not v:find("[%z\1-\8\11\12\14-\31]")
        and not v:find("[\196-\255][\128-\191]") -- beyond U+00FF
end


-- The model pattern checks of src/validate.c, as the service applies them.
local PATTERN_OK = {
    arn = arn_shape_ok,
    principal = function(v) return v ~= "" and not v:find("*", 1, true) end,
    digits = function(v) return v:match("^%d+$") ~= nil end,
    policy = policy_text,
}


-- What the service says of a length or count outside the model's limits.
local function length_problem(n, shape, what)
    if shape.min and shape.max and shape.min == shape.max and n ~= shape.min then
        return fmt("Member must have %s between %d and %d", what, shape.min, shape.max)
    elseif shape.min and n < shape.min then
        return fmt("Member must have %s greater than or equal to %d", what, shape.min)
    elseif shape.max and n > shape.max then
        return fmt("Member must have %s less than or equal to %d", what, shape.max)
    end
end


local check_value


local function check_string(ctx, v, shape)
    if type(v) ~= "string" then
        return api_error(400, "SerializationException",
                         ctx.wire .. " must be a string, got " .. json.encode(v))
    end
    local problem = length_problem(#v, shape, "length")
    if not problem and shape.enum then
        local ok = false
        for _, e in ipairs(shape.enum) do
            ok = ok or e == v
        end
        problem = not ok and "Member must satisfy enum value set: ["
            .. concat(shape.enum, ", ") .. "]" or nil
    end
    if not problem and shape.check and not PATTERN_OK[shape.check](v) then
        problem = "Member must satisfy regular expression pattern: " .. shape.pattern
    end
    if problem then
        ctx.bad(v, problem)
    end
end


local function check_list(ctx, v, shape)
    if not is_array(v) then
        return api_error(400, "SerializationException",
                         ctx.wire .. " must be a list, got " .. json.encode(v))
    end
    local problem = length_problem(#v, shape, "length")
    if problem then
        ctx.bad(v, problem)
    end
    local item, seen = shapes()[shape.member], {}
    for _, x in ipairs(v) do
        if item.type == "string" and type(x) ~= "string" then
            return api_error(400, "SerializationException",
                             ctx.wire .. " must hold strings, got " .. json.encode(x))
        end
        if item.enum then
            local ok = false
            for _, e in ipairs(item.enum) do
                ok = ok or e == x
            end
            if not ok then
                return ctx.bad(v, "Member must satisfy constraint: [Member must satisfy enum "
                               .. "value set: [" .. concat(item.enum, ", ") .. "]]")
            end
            if seen[x] then
                return ctx.bad(v, "Member must not contain duplicates")
            end
            seen[x] = true
        end
    end
end


local function check_number(ctx, v, shape)
    if type(v) ~= "number" or (shape.type ~= "double" and shape.type ~= "timestamp"
                               and floor(v) ~= v) then
        return api_error(400, "SerializationException",
                         ctx.wire .. " must be an integer, got " .. json.encode(v))
    end
    local problem = length_problem(v, shape, "value")
    if problem then
        ctx.bad(v, problem)
    end
end


function check_value(ctx, v, shape)
    local t = shape.type
    if t == "string" then
        return check_string(ctx, v, shape)
    elseif t == "list" then
        return check_list(ctx, v, shape)
    elseif t == "integer" or t == "long" or t == "double" or t == "timestamp" then
        return check_number(ctx, v, shape)
    elseif t == "boolean" and type(v) ~= "boolean" then
        return api_error(400, "SerializationException",
                         ctx.wire .. " must be a boolean, got " .. json.encode(v))
    end
end


-- Returns nil, or an api_error: SerializationException for a member of the
-- wrong JSON type or unknown, ValidationException listing every value
-- outside the model's constraints (sorted, as the service words them).
local function validate(op, params)
    local input = shapes()[op .. "Request"]
    local errs, by_wire = {}, {}
    for _, m in ipairs(input and input.members or {}) do
        by_wire[m.wire] = m
    end
    for k in pairs(params) do
        if type(k) ~= "string" or not by_wire[k] then
            return api_error(400, "SerializationException",
                             "Unexpected member '" .. tostring(k) .. "' in " .. op .. "Request")
        end
    end
    for _, m in ipairs(input and input.members or {}) do
        local v = params[m.wire]
        local ctx = { wire = m.wire }
        function ctx.bad(value, constraint)
            local shown = type(value) == "table" and json.encode(value) or tostring(value)
            errs[#errs + 1] = fmt("Value '%s' at '%s' failed to satisfy constraint: %s",
                                  shown, lower_camel(m.wire), constraint)
        end
        if v == nil then
            if m.required then
                errs[#errs + 1] = fmt("Value null at '%s' failed to satisfy constraint: "
                                      .. "Member must not be null", lower_camel(m.wire))
            end
        else
            local e = check_value(ctx, v, shapes()[m.shape])
            if e then
                return e
            end
        end
    end
    if #errs > 0 then
        sort(errs)
        return api_error(400, "ValidationException",
                         fmt("%d validation error%s detected: %s", #errs, #errs > 1 and "s" or "",
                             concat(errs, "; ")))
    end
    return nil
end



_M.validate = validate
_M.is_array = is_array


return _M
