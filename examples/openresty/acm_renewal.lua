-- acm_renewal: an nginx admin endpoint for ACM renewal permissions on a
-- private CA (lua-acmpca example; see README.md beside this file).
--
--   location = /acm-renewal { content_by_lua_block { require("acm_renewal").handle() } }
--
--   GET    /acm-renewal?ca_arn=ARN          200 {"ca_arn":..., "renewal": true|false}
--   POST   /acm-renewal  {"ca_arn": ARN}    201 created | 200 present/repaired
--   DELETE /acm-renewal?ca_arn=ARN          200 {"status": "revoked"|"absent"}
--          (DELETE also accepts the JSON body of POST)
--
-- Every request needs `Authorization: Bearer <token>` matching the
-- ACMPCA_ADMIN_TOKEN environment variable (declared with `env` in
-- nginx.conf), or the console's session cookie (acm_auth.lua) plus, for
-- POST and DELETE, its CSRF token in X-CSRF-Token; without them the answer
-- is 401 (403 for a missing or wrong CSRF token) and nothing else happens.
-- A bad ARN or body is 400 before any call to AWS; an AWS error is 502 with
-- its code (504 for a timeout); any other method is 405.
--
-- The client is made on the first authorised request of each worker and
-- kept for the worker's life (credentials and signing keys cached inside
-- it); inside nginx acmpca.new uses the non-blocking cosocket transport.

-- luacheck: globals ngx
-- (the handler sets ngx.status and ngx.header fields)

local type = type
local pairs = pairs
local tostring = tostring
local pcall = pcall
local require = require
local find = string.find
local cjson = require "cjson.safe"
local auth = require "acm_auth"

local ngx = ngx


local _M = { _VERSION = "0.2.0" }


local MAX_BODY = 8192

local client            -- per worker, made on first use


local function reply(status, body, headers)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Cache-Control"] = "no-store"
    if headers then
        for name, value in pairs(headers) do
            ngx.header[name] = value
        end
    end
    ngx.print(cjson.encode(body), "\n")
    return ngx.exit(ngx.HTTP_OK)
end

_M.reply = reply



local function bad_request(message)
    return reply(400, { error = "BadRequest", message = message })
end


-- The CA ARN of the request, or nil and a message for a 400.
local function read_arn(method)
    local arn
    if method == "POST" or (method == "DELETE" and not ngx.var.arg_ca_arn) then
        ngx.req.read_body()
        local body = ngx.req.get_body_data()
        if not body then
            if ngx.req.get_body_file() then
                return nil, "request body too large"
            end
            return nil, 'expected a JSON body {"ca_arn": "arn:aws:acm-pca:..."}'
        end
        if #body > MAX_BODY then
            return nil, "request body too large"
        end
        local doc = cjson.decode(body)
        if type(doc) ~= "table" then
            return nil, 'expected a JSON body {"ca_arn": "arn:aws:acm-pca:..."}'
        end
        arn = doc.ca_arn
    else
        arn = ngx.req.get_uri_args().ca_arn
    end
    if type(arn) ~= "string" or arn == "" then
        return nil, "ca_arn is required"
    end
    -- the client's own rule (acmpca.is_ca_arn), so that no ARN it accepts
    -- is refused here
    if #arn > 200 or not require("acmpca").is_ca_arn(arn) then
        return nil, "ca_arn: expected arn:<partition>:acm-pca:<region>:<12-digit account>"
            .. ":certificate-authority/<id>"
    end
    return arn
end


local function get_client()
    if client then
        return client
    end
    local acmpca = require "acmpca"
    local ok, c = pcall(acmpca.new, {})
    if not ok or not c then
        ngx.log(ngx.ERR, "acm_renewal: cannot create the ACM PCA client: ", tostring(c))
        return nil
    end
    client = c
    return client
end

_M.client = get_client


local function service_error(err)
    local code, message, request_id
    if type(err) == "table" or type(err) == "userdata" then
        code, message, request_id = err.code, err.message, err.request_id
    end
    code = code or "InternalError"
    message = message or tostring(err)
    local status = 502
    if code == "Timeout" then
        status = 504
    end
    ngx.log(ngx.WARN, "acm_renewal: ACM PCA call failed: ", tostring(err))
    return reply(status, { error = code, message = message, request_id = request_id })
end

_M.service_error = service_error


local OPERATIONS = {
    GET = "has_acm_renewal",
    POST = "ensure_acm_renewal",
    DELETE = "revoke_acm_renewal",
}


--- The content handler.
function _M.handle()
    local method = ngx.req.get_method()
    local who, status, code, message = auth.authenticate(method ~= "GET" and method ~= "HEAD")
    if not who then
        return reply(status, { error = code, message = message }, status == 401
                     and { ["WWW-Authenticate"] = 'Bearer realm="acm-renewal"' } or nil)
    end

    local operation = OPERATIONS[method]
    if not operation then
        return reply(405, { error = "MethodNotAllowed", message = method .. " not allowed" },
                     { Allow = "GET, POST, DELETE" })
    end

    local arn, why = read_arn(method)
    if not arn then
        return bad_request(why)
    end

    local c = get_client()
    if not c then
        return reply(500, { error = "InternalError", message = "client not available" })
    end

    local ok, result, detail = pcall(c[operation], c, arn)
    if not ok then
        -- argument errors are raised before anything is sent
        if find(tostring(result), "ca_arn", 1, true) then
            return bad_request(tostring(result))
        end
        ngx.log(ngx.ERR, "acm_renewal: ", operation, " raised: ", tostring(result))
        return reply(500, { error = "InternalError", message = "internal error" })
    end
    if result == nil then
        return service_error(detail)
    end

    if method == "GET" then
        return reply(200, { ca_arn = arn, renewal = result == true })
    elseif method == "POST" then
        return reply(detail == "created" and 201 or 200,
                     { ca_arn = arn, renewal = true, status = detail })
    end
    return reply(200, { ca_arn = arn, renewal = false, status = detail or "revoked" })
end


return _M
