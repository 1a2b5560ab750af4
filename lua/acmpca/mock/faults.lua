-- acmpca.mock.faults: what the fake ACM PCA answers instead when a fault
-- was injected (svc:fail_next): an error code (HTTP 400 unless known), an
-- HTTP status (500, 503: a JSON error; 502, 504: a proxy's HTML page),
-- "malformed" (200 with a truncated body), "html" (a proxy's 502 page),
-- "network" or "timeout" (the transport fails: nil, err).
--
--   local f = faults.take(svc._faults, op)     -- counted down, dropped when spent
--   local status, body, content_type = faults.answer(f)   -- or nil, err

local wire = require "acmpca.mock.wire"

local type, ipairs, pcall, require = type, ipairs, pcall, require
local remove = table.remove

local _M = { _VERSION = "0.2.0" }


-- HTTP status of an injected error code
local FAULT_STATUS = {
    ThrottlingException = 400, ThrottledException = 400, RequestLimitExceeded = 400,
    TooManyRequestsException = 429, ServiceUnavailable = 503, InternalFailure = 500,
    InternalServerError = 500, RequestTimeout = 408,
}

local STATUS_CODE = { [500] = "InternalFailure", [503] = "ServiceUnavailable" }

local STATUS_TEXT = {
    [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
    [504] = "Gateway Timeout",
}


local core_mod


-- A transport failure as the client's own transport reports one.
local function net_error(code, message)
    if core_mod == nil then
        local ok, m = pcall(require, "acmpca.core")
        core_mod = ok and type(m) == "table" and m or false
    end
    if core_mod and core_mod.new_error then
        return core_mod.new_error{ code = code, message = message, retryable = true }
    end
    return code .. ": " .. message
end


-- The first fault for op in list (faults without an operation match any).
function _M.take(list, op)
    for i, f in ipairs(list) do
        if f.operation == nil or f.operation == op then
            f.remaining = f.remaining - 1
            if f.remaining <= 0 then
                remove(list, i)
            end
            return f
        end
    end
    return nil
end


local function html(status)
    return status, "<html><body><h1>" .. status .. " " .. (STATUS_TEXT[status] or "Error")
        .. "</h1></body></html>", "text/html"
end


local function json_error(status, code, message)
    return status, wire.error_body(wire.error(status, code, message))
end


-- faults.answer(f) -> status, body[, content_type], or nil and the
-- transport's error.
function _M.answer(f)
    local kind = f.kind
    if kind == "network" then
        return nil, net_error("NetworkError", "acmpca.mock: injected connection failure")
    elseif kind == "timeout" then
        return nil, net_error("Timeout", "acmpca.mock: injected timeout")
    elseif kind == "malformed" then
        return f.status or 200, '{"Permissions": [{"Principal": "acm.amaz'
    elseif kind == "html" then
        return html(f.status or 502)
    elseif type(kind) == "number" then
        if kind == 502 or kind == 504 then
            return html(kind)
        end
        return json_error(kind, STATUS_CODE[kind] or "InternalFailure",
                          f.message or "injected HTTP " .. kind)
    end
    return json_error(f.status or FAULT_STATUS[kind] or 400, kind,
                      f.message or (kind == "ThrottlingException" and "Rate exceeded"
                                    or "injected " .. kind))
end


return _M
