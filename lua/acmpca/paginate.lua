--- acmpca.paginate: every page of a paginated operation, the way the
-- model's paginator describes it (input_token, output_token, limit_key,
-- result_key; paginators-1.json).
--
--    local next_page = paginate.pages(client, "list_permissions", { ca_arn = arn })
--    local page, err = next_page()   -- a list; nil after the last; false, err once
--
--    for item, err in paginate.items(client, "list_certificate_authorities", {}) do
--       if item == false then ... err ... end
--    end
--
-- A page that fails ends the walk with false, err (the operation's error
-- object).  A NextToken the service hands out twice would loop forever:
-- the walk stops with a PaginationLoop error object instead.
--
-- @module acmpca.paginate

local core = require "acmpca.core"

local type, pairs, ipairs, error, tostring = type, pairs, ipairs, error, tostring
local fmt = string.format

local new_error = core.new_error
local model = require("acmpca.model")._private()

local _M = { _VERSION = "0.2.0" }


-- lua names of the paginator's members, per method
local spec_of = {}
for _, op in ipairs(model.operations) do
    local pg = op.paginator
    if pg then
        local input = {}
        for _, m in ipairs(model.shapes[op.input].members) do
            input[m.wire] = m.lua
        end
        local output = {}
        for _, m in ipairs(model.shapes[op.output].members) do
            output[m.wire] = m.lua
        end
        spec_of[op.method] = {
            name = op.name,
            input_token = input[pg.input_token],
            limit_key = input[pg.limit_key],
            output_token = output[pg.output_token],
            result_key = output[pg.result_key],
        }
    end
end


local function paginator(method)
    local spec = spec_of[method]
    if not spec then
        error("acmpca.paginate: " .. tostring(method) .. " is not a paginated operation", 3)
    end
    return spec
end


local function loop_error(spec, token)
    return new_error{
        code = "PaginationLoop",
        message = fmt("%s: the service returned the same NextToken twice (%s...); "
                      .. "stopping instead of looping", spec.name, token:sub(1, 16)),
        retryable = false,
        operation = spec.name,
    }
end


--- paginate.pages(client, method, args) -> next_page
-- args are the operation's arguments (copied; the token is set per page).
function _M.pages(client, method, args)
    local spec = paginator(method)
    local a = {}
    for k, v in pairs(args or {}) do
        a[k] = v
    end
    local seen, done = {}, false
    return function()
        if done then
            return nil
        end
        local res, err = client[method](client, a)
        if not res then
            done = true
            return false, err
        end
        local token = res[spec.output_token]
        if type(token) ~= "string" or token == "" then
            done = true
        elseif seen[token] then
            done = true
            return false, loop_error(spec, token)
        else
            seen[token] = true
            a[spec.input_token] = token
        end
        return res[spec.result_key] or {}
    end
end


--- paginate.items(client, method, args) -> iterator
-- for item[, err] in paginate.items(...): every item of every page; a
-- failure gives false, err once, then the loop ends.
function _M.items(client, method, args)
    local next_page, page, i = _M.pages(client, method, args), {}, 0
    return function()
        while i >= #page do
            local p, err = next_page()
            if not p then
                page, i = {}, 0
                return p, err
            end
            page, i = p, 0
        end
        i = i + 1
        return page[i]
    end
end


--- paginate.all(client, method, args) -> list | nil, err
function _M.all(client, method, args)
    local out, next_page = {}, _M.pages(client, method, args)
    while true do
        local page, err = next_page()
        if page == nil then
            return out
        elseif not page then
            return nil, err
        end
        for j = 1, #page do
            out[#out + 1] = page[j]
        end
    end
end


return _M
