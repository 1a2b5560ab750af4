--- acmpca.show: text for people.  Three things, one concern (what a user
-- reads when they are at a prompt or made a mistake):
--
--    show.render(...)        -> text: any values (results, a client, an error,
--                              the fake service) as indented, readable text,
--                              keys sorted, secrets replaced by <redacted>
--    show.tag(method, result) gives a list_permissions result (a page) and its
--                              permissions a __tostring (acmpca.client does it)
--    show.check_options(fn, opts, known[, level[, why]])
--                            raises on a key of opts not in known, naming it
--                            and the closest known key ("did you mean")
--
-- Secrets never shown: a value under a key that names one (secret access
-- key, session token, Authorization, password, ...) is `<redacted>`, and so
-- are a presigned URL's signature and token and a URL's user:password@.
--
-- @module acmpca.show

local type, pairs, ipairs, tostring, select, next = type, pairs, ipairs, tostring, select, next
local getmetatable, setmetatable, error = getmetatable, setmetatable, error
local sort, concat = table.sort, table.concat
local fmt, rep = string.format, string.rep
local min = math.min

local _M = { _VERSION = "0.2.0" }


------------------------------------------------------------------------
-- unknown options
-- @section unknown_options
------------------------------------------------------------------------

-- Levenshtein distance between two short strings.
local function distance(a, b)
    local prev = {}
    for j = 0, #b do
        prev[j] = j
    end
    for i = 1, #a do
        local cur = { [0] = i }
        local ca = a:byte(i)
        for j = 1, #b do
            local cost = ca == b:byte(j) and 0 or 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        end
        prev = cur
    end
    return prev[#b]
end


local function sorted_keys(set)
    local names = {}
    for k in pairs(set) do
        names[#names + 1] = k
    end
    sort(names)
    return names
end


--- The known name closest to name (at most 2 edits, and fewer edits than
-- name has characters), or nil.
function _M.closest(name, known)
    local best, best_d
    for _, k in ipairs(sorted_keys(known)) do
        local d = distance(name:lower(), k)
        if d <= 2 and d < #name and (not best_d or d < best_d) then
            best, best_d = k, d
        end
    end
    return best
end


--- Raise `"acmpca.<fn>: unknown option ..."` for the first unknown key of
-- opts (sorted, so the message does not depend on table order).  known: a
-- set of names; why(key) may give the reason instead of the suggestion.
function _M.check_options(fn, opts, known, level, why)
    level = (level or 2) + 1
    local bad
    for k in pairs(opts) do
        if known[k] == nil then
            if type(k) ~= "string" then
                error(fmt("acmpca.%s: unknown option [%s] (options are named: "
                          .. "{ region = ... })", fn, tostring(k)), level)
            end
            if not bad or k < bad then
                bad = k
            end
        end
    end
    if not bad then
        return
    end
    local reason = why and why(bad)
    if not reason then
        local near = _M.closest(bad, known)
        if near then
            reason = fmt('did you mean "%s"?', near)
        elseif next(known) == nil then
            reason = fn .. " takes no options"
        else
            reason = "known: " .. concat(sorted_keys(known), ", ")
        end
    end
    error(fmt('acmpca.%s: unknown option %q (%s)', fn, bad, reason), level)
end


------------------------------------------------------------------------
-- pages and permissions
-- @section pages_and_permissions
------------------------------------------------------------------------

local function permission_line(p)
    local actions = type(p.actions) == "table" and concat(p.actions, ", ") or "?"
    local s = tostring(p.principal) .. ": " .. actions
    if type(p.source_account) == "string" then
        s = s .. " (source account " .. p.source_account .. ")"
    end
    return s
end


local PERMISSION_MT = { __name = "acmpca.permission" }
PERMISSION_MT.__tostring = function(p)
    local on = type(p.certificate_authority_arn) == "string"
        and " on " .. p.certificate_authority_arn or ""
    return "permission " .. permission_line(p) .. on
end


local PAGE_MT = { __name = "acmpca.page" }
PAGE_MT.__tostring = function(page)
    local list = type(page.permissions) == "table" and page.permissions or {}
    local n = #list
    local lines = { fmt("ListPermissions page: %d permission%s%s", n, n == 1 and "" or "s",
                        page.next_token and ", more to come (next_token)" or ", the last page") }
    if n > 0 and type(list[1].certificate_authority_arn) == "string" then
        lines[1] = lines[1] .. " on " .. list[1].certificate_authority_arn
    end
    for _, p in ipairs(list) do
        lines[#lines + 1] = "  " .. permission_line(p)
    end
    return concat(lines, "\n")
end

_M.PAGE_MT, _M.PERMISSION_MT = PAGE_MT, PERMISSION_MT


--- Give a result its __tostring where one reads better than a table.
function _M.tag(method, result)
    if method ~= "list_permissions" or type(result) ~= "table"
       or getmetatable(result) ~= nil then
        return result
    end
    if type(result.permissions) == "table" then
        for _, p in ipairs(result.permissions) do
            if type(p) == "table" and getmetatable(p) == nil then
                setmetatable(p, PERMISSION_MT)
            end
        end
    end
    return setmetatable(result, PAGE_MT)
end


------------------------------------------------------------------------
-- rendering
-- @section rendering
------------------------------------------------------------------------

local SECRET_KEYS = {
    secret_access_key = true, secretaccesskey = true, aws_secret_access_key = true,
    session_token = true, sessiontoken = true, aws_session_token = true,
    token = true, authorization = true, ["x-amz-security-token"] = true,
    password = true, secret = true, signing_key = true,
}


local function is_secret_key(k)
    return type(k) == "string" and SECRET_KEYS[k:lower()] == true
end


-- Secrets a string may carry: a presigned URL's signature and token, a
-- URL's user:password@, an Authorization header's signature.
local function scrub(s)
    s = s:gsub("([Xx]%-[Aa]mz%-[Ss]ignature=)[^&%s\"]*", "%1<redacted>")
    s = s:gsub("([Xx]%-[Aa]mz%-[Ss]ecurity%-[Tt]oken=)[^&%s\"]*", "%1<redacted>")
    s = s:gsub("(Signature=)%x+", "%1<redacted>")
    s = s:gsub("(%a[%w+.-]*://)[^@%s\"]*@", "%1<redacted>@")
    return s
end

_M.scrub = scrub


local function quote(s)
    return fmt("%q", scrub(s)):gsub("\\\n", "\\n")
end


local MAX_DEPTH = 8

local render_value


local function is_list(t)
    local n = #t
    if n == 0 then
        return false
    end
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then
            return false
        end
    end
    return true
end


local function key_order(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then
        return ta < tb
    end
    if ta == "number" or ta == "string" then
        return a < b
    end
    return tostring(a) < tostring(b)
end


local function render_table(t, depth, seen)
    if seen[t] then
        return "<cycle>"
    end
    if depth >= MAX_DEPTH then
        return "{...}"
    end
    seen[t] = true
    local pad = rep("  ", depth + 1)
    local lines = {}
    if is_list(t) then
        for _, v in ipairs(t) do
            lines[#lines + 1] = pad .. "- " .. render_value(v, depth + 1, seen)
        end
    else
        local keys = {}
        for k in pairs(t) do
            keys[#keys + 1] = k
        end
        sort(keys, key_order)
        for _, k in ipairs(keys) do
            local v = t[k]
            local shown = is_secret_key(k) and "<redacted>" or render_value(v, depth + 1, seen)
            local name = type(k) == "string" and k or "[" .. tostring(k) .. "]"
            local sep = shown:sub(1, 1) == "\n" and ":" or ": "
            lines[#lines + 1] = pad .. name .. sep .. shown
        end
    end
    seen[t] = nil
    if #lines == 0 then
        return "{}"
    end
    return "\n" .. concat(lines, "\n")
end


-- An error object of acmpca (made in C) or of acmpca.credentials/config:
-- a table with a code and a message and a __tostring.
local function is_error(v)
    local mt = getmetatable(v)
    return type(v) == "table" and type(mt) == "table" and mt.__tostring ~= nil
        and type(v.code) == "string" and v.message ~= nil
end


local function render_error(e)
    local lines = { scrub(tostring(e)) }
    for _, k in ipairs{ "code", "operation", "status", "request_id", "retryable", "attempts" } do
        local v = e[k]
        if v ~= nil then
            lines[#lines + 1] = "  " .. k .. ": " .. scrub(tostring(v))
        end
    end
    return concat(lines, "\n")
end


function render_value(v, depth, seen)
    local t = type(v)
    if t == "string" then
        return depth == 0 and scrub(v) or quote(v)
    elseif t ~= "table" and t ~= "userdata" then
        return tostring(v)
    end
    if is_error(v) then
        return render_error(v)
    end
    local mt = getmetatable(v)
    if type(mt) == "table" and mt.__tostring ~= nil then
        return scrub(tostring(v))
    end
    if t == "userdata" then
        return "userdata"
    end
    local s = render_table(v, depth, seen)
    if depth == 0 and s:sub(1, 1) == "\n" then
        return s:sub(2):gsub("\n  ", "\n"):gsub("^  ", "")
    end
    return s
end


--- show.render(...) -> the values as text, one after the other.
function _M.render(...)
    local n = select("#", ...)
    local parts, multi = {}, false
    for i = 1, n do
        parts[i] = render_value((select(i, ...)), 0, {})
        multi = multi or parts[i]:find("\n", 1, true) ~= nil
    end
    return concat(parts, multi and "\n" or "\t")
end


return _M
