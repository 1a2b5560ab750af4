-- spec/support/nginx_fixture.lua: the ports, ARNs and the in-nginx prelude the nginx specs share.

local nginx = require "support.nginx"
local fake = require "support.fake_service"
local socket = require "socket"

local format = string.format

local ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local OTHER_ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
    .. "22222222-2222-3333-4444-555555555555"
local DISABLED_ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
    .. "99999999-2222-3333-4444-555555555555"
local TOKEN = "test-admin-token-0123456789abcdef"


-- Runs `code` inside the bench's content phase; the chunk gets the bench
-- ports as `P` and a helper `E(err)` that flattens an error object.
local PRELUDE = [[
local P = { plain = %d, tls = %d, untrusted = %d, main = %d }
local function E(err)
    if err == nil then return nil end
    if type(err) ~= "table" and type(err) ~= "userdata" then return { str = tostring(err) } end
    return { code = err.code, message = err.message, retryable = err.retryable,
             str = tostring(err) }
end
local T = require "acmpca.transport.ngx"
]]


return {
    nginx = nginx,
    fake = fake,
    socket = socket,
    format = format,
    ARN = ARN,
    OTHER_ARN = OTHER_ARN,
    DISABLED_ARN = DISABLED_ARN,
    TOKEN = TOKEN,
    PRELUDE = PRELUDE,
}
