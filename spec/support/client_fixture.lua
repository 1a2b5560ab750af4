-- spec/support/client_fixture.lua: what the acmpca.client specs share: a
-- CA ARN, credentials, canned responses, a recording transport and a client
-- over it (spec/client_spec.lua, response_spec.lua, validate_spec.lua,
-- arn_spec.lua).
--
-- The environment is never read from the real process: each client gets
-- opts.getenv, a stub over a table (client.new accepts getenv for this).


local client = require "acmpca.client"
local core = require "acmpca.core"
local sigv4 = require "acmpca.sigv4"
local cjson = require "cjson"
local assert = require "luassert"

local ARN = "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local ACM = "acm.amazonaws.com"
local ALL = { "IssueCertificate", "GetCertificate", "ListPermissions" }
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FwoGZXIvYXdzEXAMPLEsessionTOKEN//+abc=="
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET }
local TEMP = { access_key_id = "ASIAEXAMPLE", secret_access_key = SECRET, session_token = TOKEN }

local OPS = {
    create_permission = { name = "CreatePermission",
                          args = { ca_arn = ARN, principal = ACM, actions = ALL } },
    list_permissions = { name = "ListPermissions", args = { ca_arn = ARN } },
    delete_permission = { name = "DeletePermission", args = { ca_arn = ARN, principal = ACM } },
}


local function read_model()
    local f = assert(io.open("spec/fixtures/acm-pca-model/service-2.json", "rb"))
    local model = cjson.decode(f:read("*a"))
    f:close()
    return model
end


local function ok(body)
    return { status = 200, headers = { ["x-amzn-requestid"] = "rid-ok" }, body = body or "{}" }
end


local function service_error(status, type_, message, headers)
    local h = { ["x-amzn-requestid"] = "rid-err", ["content-type"] = "application/x-amz-json-1.1" }
    for k, v in pairs(headers or {}) do
        h[k] = v
    end
    return { status = status, headers = h,
             body = cjson.encode{ __type = type_, message = message } }
end


-- A transport that records requests and plays canned answers in order
-- (the last one repeats).  An answer is a response table, { err = x } for
-- nil, x, or a function(req).
local function recorder(...)
    local answers = { ... }
    local t = { calls = {} }
    function t.fn(req)
        t.calls[#t.calls + 1] = req
        local a = answers[#t.calls] or answers[#answers]
        if type(a) == "function" then
            return a(req)
        elseif a.err ~= nil then
            return nil, a.err
        end
        return a
    end
    return t
end


-- A client over a recorder; returns client, recorder, sleeps.
local function new(opts, ...)
    local rec = recorder(...)
    local sleeps = {}
    local env = opts and opts.env or {}
    local o = {
        region = "us-east-1",
        credentials = CREDS,
        transport = rec.fn,
        sleep = function(s) sleeps[#sleeps + 1] = s end,
        getenv = function(k) return env[k] end,
    }
    for k, v in pairs(opts or {}) do
        if k ~= "env" then
            o[k] = v or nil   -- false: leave the option out
        end
    end
    return client.new(o), rec, sleeps
end


local function assert_no_secret(s)
    assert.is_nil(s:find(SECRET, 1, true))
    assert.is_nil(s:find(TOKEN, 1, true))
end


return {
    client = client,
    core = core,
    sigv4 = sigv4,
    cjson = cjson,
    ARN = ARN,
    ACM = ACM,
    ALL = ALL,
    SECRET = SECRET,
    TOKEN = TOKEN,
    CREDS = CREDS,
    TEMP = TEMP,
    OPS = OPS,
    read_model = read_model,
    ok = ok,
    service_error = service_error,
    recorder = recorder,
    new = new,
    assert_no_secret = assert_no_secret,
}
