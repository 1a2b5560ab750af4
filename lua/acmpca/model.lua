--- acmpca.model: the ACM PCA operations lua-acmpca speaks, and their shapes.
--
--    local model = require "acmpca.model"
--    for _, op in ipairs(model.operations) do print(op.method, op.target) end
--    model.operation("ListPermissions").paginator.result_key  --> "Permissions"
--    model.shape("ListPermissionsRequest").members[1]
--     --> { lua = "ca_arn", wire = "CertificateAuthorityArn", shape = "Arn", required = true }
--
-- The description is generated from the service's published model
-- (tools/gen_model.lua -> src/model_gen.c) and is what validation, the JSON
-- body, the response mapping, the client's methods, the acmpca command and
-- the fake service all read.  What this module hands out is a copy, guarded
-- against new keys: changing it changes nothing the library does.
--
-- @module acmpca.model

local core = require "acmpca.core"

local type, pairs, ipairs, error, setmetatable = type, pairs, ipairs, error, setmetatable
local tostring = tostring

local _M = { _VERSION = "0.2.0" }

-- the library's own copy, never handed out
local private = core.model()
local by_name = {}
for _, op in ipairs(private.operations) do
    by_name[op.name], by_name[op.method] = op, op
end


local READ_ONLY = {
    __newindex = function(_, k)
        error("acmpca.model is read-only (a copy of the library's model): cannot set "
              .. tostring(k), 2)
    end,
}


local function guard(t)
    for _, v in pairs(t) do
        if type(v) == "table" then
            guard(v)
        end
    end
    return setmetatable(t, READ_ONLY)
end


-- What callers see: built on first use, so requiring the module (the client
-- does) costs one copy, not two.
local public
local function view()
    if not public then
        public = guard(core.model())
    end
    return public
end

setmetatable(_M, {
    __index = function(_, k)
        if k == "service" or k == "operations" or k == "shapes" then
            return view()[k]
        end
    end,
})


--- The one naming rule: CertificateAuthorityArn -> certificate_authority_arn,
-- S3BucketName -> s3_bucket_name, CRLSign -> crl_sign (tools/gen_model.lua's).
function _M.snake(name)
    local s = name:gsub("(%u)(%u%l)", "%1_%2")
    s = s:gsub("([%l%d])(%u)", "%1_%2")
    return s:lower()
end


--- CertificateAuthorityArn -> certificate-authority-arn (the AWS CLI's option names).
function _M.kebab(name)
    return (_M.snake(name):gsub("_", "-"))
end


--- model.operation(name) -> the operation by model name or Lua method, or nil.
function _M.operation(name)
    local op = by_name[name]
    if not op then
        return nil
    end
    for _, pub in ipairs(view().operations) do
        if pub.name == op.name then
            return pub
        end
    end
end


--- model.shape(name) -> the shape, or nil.
function _M.shape(name)
    return view().shapes[name]
end


--- The library's private copy (for acmpca's own modules: the client, the
-- command, the fake service), so a caller's changes to what it was handed
-- cannot reach them.
function _M._private()
    return private, by_name
end


return _M
