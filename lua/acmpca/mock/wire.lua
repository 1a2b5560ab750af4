-- acmpca.mock.wire: what the fake ACM PCA puts on the wire, in one place:
-- its error values and their JSON 1.1 body, and success bodies built from
-- the model's output shapes (acmpca.model), so members come in the model's
-- order and the client's snake_case view comes from the same shapes.
--
--   wire.error(400, "InvalidStateException", "...")  -> { status=, code=, message= }
--   wire.error_body(e)                               -> '{"__type":...,"message":...}'
--   wire.body("GetPolicyResponse", { Policy = p })   -> '{"Policy":"..."}'
--   wire.snake("CertificateAuthority", t)            -> { arn = ..., ... }
--
-- Values are plain tables keyed by the model's wire names; nil members are
-- left out, lists encode as arrays even when empty.

local json = require "acmpca.json"

local ipairs, require = ipairs, require

local _M = { _VERSION = "0.2.0" }


local model_shapes


-- The model's shapes (acmpca.model's private copy), loaded on first use.
function _M.shapes()
    if not model_shapes then
        model_shapes = require("acmpca.model")._private().shapes
    end
    return model_shapes
end


-- The one constructor of the fake's errors.
function _M.error(status, code, message)
    return { status = status, code = code, message = message }
end


function _M.error_body(e)
    return json.encode(json.object("__type", e.code, "message", e.message))
end


-- value (keyed by wire names) -> acmpca.json ordered objects and arrays
local function ordered(shape_name, v)
    local shape = _M.shapes()[shape_name]
    if shape.type == "structure" then
        local kv = {}
        for _, m in ipairs(shape.members) do
            local x = v[m.wire]
            if x ~= nil then
                kv[#kv + 1] = m.wire
                kv[#kv + 1] = ordered(m.shape, x)
            end
        end
        return json.object(kv)
    elseif shape.type == "list" then
        local out = {}
        for i, x in ipairs(v) do
            out[i] = ordered(shape.member, x)
        end
        return json.array(out)
    end
    return v
end


-- wire.body(shape, value) -> the JSON text of a response body.
function _M.body(shape_name, value)
    return json.encode(ordered(shape_name, value))
end


-- wire.snake(shape, value) -> the same value as the client hands it out:
-- snake_case keys (the model's Lua names), plain tables.
function _M.snake(shape_name, v)
    local shape = _M.shapes()[shape_name]
    if shape.type == "structure" then
        local out = {}
        for _, m in ipairs(shape.members) do
            local x = v[m.wire]
            if x ~= nil then
                out[m.lua] = _M.snake(m.shape, x)
            end
        end
        return out
    elseif shape.type == "list" then
        local out = {}
        for i, x in ipairs(v) do
            out[i] = _M.snake(shape.member, x)
        end
        return out
    end
    return v
end


return _M
