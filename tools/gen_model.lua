-- tools/gen_model.lua: generate src/model_gen.c, the one description of the
-- ACM PCA operations lua-acmpca speaks, from the published service model.
--
--   lua5.4 tools/gen_model.lua [model dir] > src/model_gen.c   (make model)
--
-- The model directory (default spec/fixtures/acm-pca-model) holds botocore's
-- service-2.json and paginators-1.json.  For every operation in OPERATIONS
-- it emits the X-Amz-Target, the input and output shapes (reached
-- recursively, members in model order), the modelled errors and the
-- paginator.  Each member gets its Lua name by one rule (snake_case of the
-- wire name; LUA_INPUT_NAMES renames a top-level input member), each input
-- string pattern is mapped to one of the hand-written checks of
-- src/validate.c (PATTERN_CHECKS; an unmapped pattern stops generation), and
-- each input shape gets the "expected ..." wording of its errors.
--
-- Adding an operation that needs no special behaviour is one line in
-- OPERATIONS, `make model`, and its specs.
--
-- Used as a module too (spec/model_spec.lua): require it with
-- package.path including tools/, then M.generate(dir) returns the C text.

local M = {}

-- The operations to generate, in the order the model lists them.
M.OPERATIONS = {
    "CreatePermission", "DeletePermission", "DeletePolicy",
    "DescribeCertificateAuthority", "GetPolicy", "ListCertificateAuthorities",
    "ListPermissions", "PutPolicy",
}

-- Top-level input members whose Lua name is not the rule's.
M.LUA_INPUT_NAMES = { CertificateAuthorityArn = "ca_arn" }

-- Input string patterns and the check of src/validate.c that enforces each.
M.PATTERN_CHECKS = {
    ["arn:[\\w+=/,.@-]+:acm-pca:[\\w+=/,.@-]*:[0-9]*:[\\w+=,.@-]+(/[\\w+=,.@-]+)*"] = "ARN",
    ["[^*]+"] = "PRINCIPAL",
    ["[0-9]+"] = "DIGITS",
    ["[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"] = "POLICY",
}

-- "expected <hint>" where the model's own words would not help a user.
M.HINTS = {
    Arn = "arn:<partition>:acm-pca:<region>:<12-digit account>:certificate-authority/<id>",
    Principal = 'a string such as "acm.amazonaws.com"',
}

local fmt, concat, byte, char = string.format, table.concat, string.byte, string.char

------------------------------------------------------------------------
-- an order-preserving JSON reader (objects keep their key order in .keys)
------------------------------------------------------------------------

local function json_decode(s)
    local pos = 1

    local function fail(what)
        error(fmt("model JSON: %s at byte %d", what, pos), 0)
    end

    local function skip()
        pos = s:find("[^ \t\r\n]", pos) or #s + 1
    end

    local value

    local function str()
        local out, i = {}, pos + 1
        while true do
            local j = s:find('["\\]', i)
            if not j then fail("unterminated string") end
            out[#out + 1] = s:sub(i, j - 1)
            if s:sub(j, j) == '"' then
                pos = j + 1
                return concat(out)
            end
            local e = s:sub(j + 1, j + 1)
            local simple = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
            if e == "u" then
                local cp = tonumber(s:sub(j + 2, j + 5), 16) or fail("bad \\u escape")
                out[#out + 1] = M.utf8(cp)
                i = j + 6
            else
                out[#out + 1] = simple[e] or e
                i = j + 2
            end
        end
    end

    local function object()
        local t, keys = {}, {}
        pos = pos + 1
        skip()
        if s:sub(pos, pos) == "}" then
            pos = pos + 1
            return setmetatable(t, { keys = keys })
        end
        while true do
            skip()
            if s:sub(pos, pos) ~= '"' then fail("expected a key") end
            local k = str()
            skip()
            if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
            pos = pos + 1
            t[k] = value()
            keys[#keys + 1] = k
            skip()
            local c = s:sub(pos, pos)
            pos = pos + 1
            if c == "}" then
                return setmetatable(t, { keys = keys })
            elseif c ~= "," then
                fail("expected ',' or '}'")
            end
        end
    end

    local function array()
        local t = {}
        pos = pos + 1
        skip()
        if s:sub(pos, pos) == "]" then
            pos = pos + 1
            return t
        end
        while true do
            t[#t + 1] = value()
            skip()
            local c = s:sub(pos, pos)
            pos = pos + 1
            if c == "]" then
                return t
            elseif c ~= "," then
                fail("expected ',' or ']'")
            end
        end
    end

    function value()
        skip()
        local c = s:sub(pos, pos)
        if c == "{" then return object() end
        if c == "[" then return array() end
        if c == '"' then return str() end
        for lit, v in pairs{ ["true"] = true, ["false"] = false, ["null"] = M.null } do
            if s:sub(pos, pos + #lit - 1) == lit then
                pos = pos + #lit
                return v
            end
        end
        local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
        if not num or num == "" then fail("unexpected character") end
        pos = pos + #num
        return tonumber(num)
    end

    local v = value()
    skip()
    if pos <= #s then fail("trailing data") end
    return v
end

-- UTF-8 of a code point below U+10000 (what \uXXXX escapes give; Lua 5.1 has no utf8).
function M.utf8(cp)
    if cp < 0x80 then
        return char(cp)
    elseif cp < 0x800 then
        return char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64)
    end
    return char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end


M.null = setmetatable({}, { __tostring = function() return "null" end })
M.json_decode = json_decode


-- The keys of a decoded object in document order.
local function keys_of(obj)
    local mt = getmetatable(obj)
    return mt and mt.keys or {}
end

M.keys_of = keys_of


------------------------------------------------------------------------
-- naming
------------------------------------------------------------------------

-- The one rule: CertificateAuthorityArn -> certificate_authority_arn,
-- S3BucketName -> s3_bucket_name, CRLSign -> crl_sign.
function M.snake(name)
    local s = name:gsub("(%u)(%u%l)", "%1_%2")
    s = s:gsub("([%l%d])(%u)", "%1_%2")
    return s:lower()
end


------------------------------------------------------------------------
-- shapes
------------------------------------------------------------------------

local TYPES = {
    string = "STRING", integer = "INTEGER", long = "LONG", boolean = "BOOLEAN",
    timestamp = "TIMESTAMP", blob = "BLOB", list = "LIST", map = "MAP",
    structure = "STRUCTURE", double = "DOUBLE", float = "DOUBLE",
}


local function c_string(s)
    local out = s:gsub('[%c"\\?]', function(ch)
        local map = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t",
                      ["?"] = "\\?" }
        return map[ch] or fmt("\\%03o", byte(ch))
    end)
    return '"' .. out .. '"'
end


local function int(v)
    if type(v) ~= "number" or v ~= math.floor(v) then
        error("not an integer: " .. tostring(v))
    end
    return fmt("%d", v)
end


-- What "expected ..." says for an input shape.
local function hint(model, name)
    if M.HINTS[name] then
        return M.HINTS[name]
    end
    local s = model.shapes[name]
    if s.enum then
        return "one of " .. concat(s.enum, ", ")
    elseif s.type == "string" then
        if s.pattern and M.PATTERN_CHECKS[s.pattern] == "DIGITS" and s.min == s.max then
            return fmt("a string of %s digits", int(s.min))
        end
        local base = (s.min or 0) >= 1 and "a non-empty string" or "a string"
        return s.max and fmt("%s of at most %s characters", base, int(s.max)) or base
    elseif s.type == "integer" or s.type == "long" then
        if s.min and s.max then
            return fmt("an integer from %s to %s", int(s.min), int(s.max))
        end
        return s.min and fmt("an integer of at least %s", int(s.min)) or "an integer"
    elseif s.type == "boolean" then
        return "a boolean"
    elseif s.type == "timestamp" then
        return "a number of seconds since the epoch"
    elseif s.type == "list" then
        local item = model.shapes[s.member.shape]
        local what = item.enum and concat(item.enum, ", ") or hint(model, s.member.shape)
        return ((s.min or 0) >= 1 and "a non-empty list of " or "a list of ") .. what
    elseif s.type == "structure" then
        return "a table"
    elseif s.type == "map" then
        return "a table of string keys"
    end
    return "a " .. s.type
end


-- Every shape reachable from the operations, with where it is used.
local function reach(model, ops)
    local order, seen = {}, {}
    local function visit(name, input)
        local s = model.shapes[name] or error("model: no shape " .. name)
        local e = seen[name]
        if e then
            e.input = e.input or input
            if e.visited_input or not input then
                return
            end
        else
            e = { name = name, input = input }
            seen[name] = e
            order[#order + 1] = e
        end
        e.visited_input = e.visited_input or input
        if s.type == "structure" then
            for _, m in ipairs(keys_of(s.members)) do
                visit(s.members[m].shape, input)
            end
        elseif s.type == "list" then
            visit(s.member.shape, input)
        elseif s.type == "map" then
            visit(s.key.shape, input)
            visit(s.value.shape, input)
        end
    end
    for _, op in ipairs(ops) do
        local o = model.operations[op] or error("model: no operation " .. op)
        if o.input then visit(o.input.shape, true) end
        if o.output then visit(o.output.shape, false) end
    end
    return order, seen
end


local function cname(name)
    return "S_" .. name
end


local function emit_enum(out, name, s)
    out[#out + 1] = fmt("static const char *const E_%s[] = {", name)
    for _, v in ipairs(s.enum) do
        out[#out + 1] = "    " .. c_string(v) .. ","
    end
    out[#out + 1] = "    NULL,\n};"
end


local function emit_members(out, name, s, top_input)
    local required = {}
    for _, r in ipairs(s.required or {}) do
        required[r] = true
    end
    out[#out + 1] = fmt("static const acmpca_member M_%s[] = {", name)
    for _, m in ipairs(keys_of(s.members)) do
        local lua = top_input and M.LUA_INPUT_NAMES[m] or M.snake(m)
        out[#out + 1] = fmt("    {%s, %s, &%s, %d},", c_string(lua), c_string(m),
                            cname(s.members[m].shape), required[m] and 1 or 0)
    end
    out[#out + 1] = "};"
end


local function emit_shape(out, model, e)
    local s = model.shapes[e.name]
    local f = { fmt(".name = %s", c_string(e.name)), ".type = ACMPCA_T_" .. TYPES[s.type] }
    if s.min then f[#f + 1] = ".min = " .. int(s.min) .. ", .has_min = 1" end
    if s.max then f[#f + 1] = ".max = " .. int(s.max) .. ", .has_max = 1" end
    if s.pattern then
        f[#f + 1] = ".pattern = " .. c_string(s.pattern)
        local check = M.PATTERN_CHECKS[s.pattern]
        if e.input and not check then
            error(fmt("shape %s: input pattern %q has no check: add one to src/validate.c "
                      .. "and to PATTERN_CHECKS", e.name, s.pattern))
        end
        f[#f + 1] = ".check = ACMPCA_CHECK_" .. (check or "NONE")
    end
    if s.enum then f[#f + 1] = ".enums = E_" .. e.name .. ", .nenums = " .. #s.enum end
    if s.type == "list" then f[#f + 1] = ".item = &" .. cname(s.member.shape) end
    if s.type == "map" then
        f[#f + 1] = ".key = &" .. cname(s.key.shape)
        f[#f + 1] = ".item = &" .. cname(s.value.shape)
    end
    if s.type == "structure" then
        f[#f + 1] = fmt(".members = M_%s, .nmembers = %d", e.name, #keys_of(s.members))
    end
    if e.input then f[#f + 1] = ".hint = " .. c_string(hint(model, e.name)) end
    out[#out + 1] = fmt("static const acmpca_shape %s = {\n    %s,\n};", cname(e.name),
                        concat(f, ",\n    "))
end


-- The error list and paginator of op into decls, its table row into rows.
local function emit_operation(decls, rows, model, pag, op)
    local o = model.operations[op]
    local errs = {}
    for _, err in ipairs(o.errors or {}) do
        errs[#errs + 1] = c_string(err.shape)
    end
    decls[#decls + 1] = fmt("static const char *const X_%s[] = {%sNULL};", op,
                            #errs > 0 and concat(errs, ", ") .. ", " or "")
    local p = pag[op]
    if p then
        decls[#decls + 1] = fmt("static const acmpca_paginator P_%s = {%s, %s, %s, %s};", op,
                                c_string(p.input_token), c_string(p.output_token),
                                c_string(p.limit_key), c_string(p.result_key))
    end
    rows[#rows + 1] = fmt("    {%s, %s, %s, %s, %s, X_%s, %s},", c_string(M.snake(op)),
                          c_string(op), c_string(model.metadata.targetPrefix .. "." .. op),
                          o.input and "&" .. cname(o.input.shape) or "NULL",
                          o.output and "&" .. cname(o.output.shape) or "NULL", op,
                          p and "&P_" .. op or "NULL")
end


local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

M.read = read


-- The C text of src/model_gen.c for the model in dir.
function M.generate(dir)
    local model = json_decode(read(dir .. "/service-2.json"))
    local pag = json_decode(read(dir .. "/paginators-1.json")).pagination
    local ops = {}
    for _, op in ipairs(M.OPERATIONS) do
        ops[#ops + 1] = op
    end
    table.sort(ops)
    local order = reach(model, ops)
    local top_input = {}
    for _, op in ipairs(ops) do
        local o = model.operations[op]
        if o.input then top_input[o.input.shape] = true end
    end

    local out = {
        "/*",
        " * model_gen.c: GENERATED by tools/gen_model.lua from",
        " * spec/fixtures/acm-pca-model/service-2.json (botocore's model of ACM PCA,",
        fmt(" * API %s, Apache-2.0).  Do not edit: change OPERATIONS in the script and",
            model.metadata.apiVersion),
        " * run `make model`.  spec/model_spec.lua checks the two agree.",
        " */",
        '#include <stddef.h>',
        '#include "model.h"',
        "",
        "/* ------------------------------------------------------------ shapes */",
        "",
    }
    for _, e in ipairs(order) do
        out[#out + 1] = fmt("static const acmpca_shape %s;", cname(e.name))
    end
    out[#out + 1] = ""
    for _, e in ipairs(order) do
        local s = model.shapes[e.name]
        if s.enum then emit_enum(out, e.name, s) end
        if s.type == "structure" then emit_members(out, e.name, s, top_input[e.name]) end
        emit_shape(out, model, e)
        out[#out + 1] = ""
    end
    out[#out + 1] = "/* ------------------------------------------------------------ operations */"
    out[#out + 1] = ""
    local rows = {}
    for _, op in ipairs(ops) do
        emit_operation(out, rows, model, pag, op)
    end
    out[#out + 1] = ""
    out[#out + 1] = "const acmpca_operation acmpca_operations[] = {"
    for _, line in ipairs(rows) do
        out[#out + 1] = line
    end
    out[#out + 1] = "};"
    out[#out + 1] = fmt("const size_t acmpca_noperations = %d;", #ops)
    out[#out + 1] = ""
    local meta = model.metadata
    out[#out + 1] = fmt("const acmpca_service acmpca_service_info = {%s, %s, %s, %s, %s, %s};",
                        c_string(meta.apiVersion), c_string(meta.serviceId),
                        c_string(meta.targetPrefix), c_string(meta.signingName),
                        c_string(meta.endpointPrefix), c_string(meta.jsonVersion))
    return concat(out, "\n") .. "\n"
end


if arg and arg[0] and arg[0]:match("gen_model%.lua$") then
    io.write(M.generate(arg[1] or "spec/fixtures/acm-pca-model"))
end

return M
