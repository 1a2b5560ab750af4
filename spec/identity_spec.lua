-- Specs for client:caller_identity (acmpca.identity over acmpca.sts'
-- GetCallerIdentity): the request it signs, where it goes (regional STS,
-- the global endpoint, FIPS, the overrides), what it returns, and its
-- errors, through a fake STS at the transport seam; then the in-process
-- fake (acmpca.mock) answering it.  Over real HTTP, checked with botocore:
-- spec/integration/credentials_sts_spec.lua.

local acmpca = require "acmpca"
local client = require "acmpca.client"
local mock = require "acmpca.mock"

local NS = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'
local CREDS = { access_key_id = "ASIAIDENTITYSPEC0001",
                secret_access_key = "identitySpecSecret/0123456789abcdefghij",
                session_token = "identitySpecSessionToken==" }
local ARN = "arn:aws:sts::444455556666:assumed-role/acmpca-admin/ops"


local function header(req, name)
    for k, v in pairs(req.headers or {}) do
        if k:lower() == name:lower() then
            return v
        end
    end
    return nil
end


local function answer(account, arn, user_id)
    return { status = 200, headers = { ["Content-Type"] = "text/xml" },
             body = ('<GetCallerIdentityResponse %s><GetCallerIdentityResult><Arn>%s</Arn>'
                 .. '<UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult>'
                 .. '<ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>'
                 .. '</GetCallerIdentityResponse>'):format(NS, arn, user_id, account) }
end


local function failure(status, code, message)
    return { status = status, headers = { ["x-amzn-RequestId"] = "rid-err" },
             body = ('<ErrorResponse %s><Error><Type>Sender</Type><Code>%s</Code>'
                 .. '<Message>%s</Message></Error><RequestId>rid-err</RequestId>'
                 .. '</ErrorResponse>'):format(NS, code, message) }
end


-- A transport that records the requests and answers from answers[n] (a
-- response table, or a function of the request), else a good answer.
local function fake(answers)
    local log = {}
    return function(req)
        log[#log + 1] = req
        local a = answers and answers[#log]
        if type(a) == "function" then
            return a(req)
        elseif a then
            return a
        end
        return answer("444455556666", ARN, "AROAEXAMPLEID:ops")
    end, log
end


local function env(t)
    return function(name)
        return t[name]
    end
end


local function new(opts)
    local o = { credentials = CREDS, sleep = function() end,
                getenv = env{ HOME = "/nonexistent-acmpca-home" } }
    for k, v in pairs(opts or {}) do
        o[k] = v
    end
    return client.new(o)
end


local function no_secret(err)
    local text = tostring(err) .. tostring(err and err.message)
    assert.is_nil(text:find(CREDS.secret_access_key, 1, true))
    assert.is_nil(text:find(CREDS.session_token, 1, true))
end


describe("client:caller_identity", function()
    it("signs GetCallerIdentity for STS in the client's region and returns who it is", function()
        local t, log = fake()
        local id, err = new{ region = "eu-west-1", transport = t }:caller_identity()
        assert.is_nil(err)
        assert.same({ account = "444455556666", arn = ARN, user_id = "AROAEXAMPLEID:ops",
                      source = "static" }, id)
        assert.equal(1, #log)
        local req = log[1]
        assert.equal("POST", req.method)
        assert.equal("https://sts.eu-west-1.amazonaws.com", req.url)
        assert.equal("Action=GetCallerIdentity&Version=2011-06-15", req.body)
        assert.matches("^application/x%-www%-form%-urlencoded", header(req, "Content-Type"))
        assert.matches("^AWS4%-HMAC%-SHA256 Credential=" .. CREDS.access_key_id
                       .. "/%d+/eu%-west%-1/sts/aws4_request, ", header(req, "Authorization"))
        assert.equal(CREDS.session_token, header(req, "X-Amz-Security-Token"))
    end)

    it("names the credentials' source from a provider", function()
        local t = fake()
        local calls = 0
        local provider = function()
            calls = calls + 1
            return setmetatable({ access_key_id = CREDS.access_key_id,
                                  secret_access_key = CREDS.secret_access_key,
                                  source = "assume-role" }, {})
        end
        local id = assert(new{ region = "us-west-2", transport = t, credentials = provider }
                          :caller_identity())
        assert.equal("assume-role", id.source)
        assert.equal(1, calls)
    end)

    it("uses STS's global endpoint, signed for us-east-1, when the client has no region",
       function()
        local t, log = fake()
        assert(new{ transport = t }:caller_identity())
        assert.equal("https://sts.amazonaws.com", log[1].url)
        assert.matches("/us%-east%-1/sts/aws4_request", header(log[1], "Authorization"))
    end)

    it("follows use_fips and use_dualstack to STS's variants", function()
        local t, log = fake()
        assert(new{ region = "us-east-2", use_fips = true, transport = t }:caller_identity())
        assert.equal("https://sts-fips.us-east-2.amazonaws.com", log[1].url)
        assert(new{ region = "eu-west-1", use_dualstack = true, transport = t }:caller_identity())
        assert.equal("https://sts.eu-west-1.api.aws", log[2].url)
    end)

    it("sends to AWS_ENDPOINT_URL_STS, and to opts.endpoint over it", function()
        local t, log = fake()
        local getenv = env{ HOME = "/nonexistent-acmpca-home",
                            AWS_ENDPOINT_URL_STS = "http://127.0.0.1:9/sts" }
        local c = new{ region = "eu-west-1", transport = t, getenv = getenv }
        assert(c:caller_identity())
        assert.equal("http://127.0.0.1:9/sts", log[1].url)
        assert.matches("/eu%-west%-1/sts/aws4_request", header(log[1], "Authorization"))
        assert(c:caller_identity{ endpoint = "http://127.0.0.1:10" })
        assert.equal("http://127.0.0.1:10", log[2].url)
    end)

    it("does not send to the client's ACM PCA endpoint", function()
        local t, log = fake()
        assert(new{ region = "eu-west-1", endpoint = "http://127.0.0.1:11", transport = t }
               :caller_identity())
        assert.equal("https://sts.eu-west-1.amazonaws.com", log[1].url)
    end)

    it("returns STS's error as an error object, not retrying AccessDenied", function()
        local t, log = fake{ failure(403, "AccessDenied", "User is not authorized") }
        local id, err = new{ region = "eu-west-1", transport = t }:caller_identity()
        assert.is_nil(id)
        assert.equal(1, #log)
        assert.equal("AccessDenied", err.code)
        assert.equal("User is not authorized", err.message)
        assert.equal("GetCallerIdentity", err.operation)
        assert.equal("rid-err", err.request_id)
        assert.equal(403, err.status)
        assert.is_false(err.retryable)
        no_secret(err)
    end)

    it("retries throttling, then answers", function()
        local t, log = fake{ failure(400, "Throttling", "Rate exceeded") }
        local slept = {}
        local id = assert(new{ region = "eu-west-1", transport = t,
                               sleep = function(s) slept[#slept + 1] = s end }
                          :caller_identity())
        assert.equal("444455556666", id.account)
        assert.equal(2, #log)
        assert.equal(1, #slept)
    end)

    it("refuses an answer without the identity, or with a bad account", function()
        local cases = {
            { { status = 200, body = "<GetCallerIdentityResponse " .. NS .. "/>" },
              "the STS answer has no GetCallerIdentityResult" },
            { answer("", ARN, "AROA:x"), "the STS answer has no Account" },
            { answer("4444", ARN, "AROA:x"),
              "the STS answer's Account is not a 12-digit account id: 4444" },
            { { status = 200, body = "not xml" }, "the STS answer is not XML" },
        }
        for _, case in ipairs(cases) do
            local t = fake{ case[1] }
            local id, err = new{ region = "eu-west-1", transport = t }:caller_identity()
            assert.is_nil(id)
            assert.equal("InvalidResponse", err.code)
            assert.equal(case[2], err.message:sub(1, #case[2]))
        end
    end)

    it("reports a credentials failure as CredentialsError, sending nothing", function()
        local t, log = fake()
        local c = new{ region = "eu-west-1", transport = t,
                       credentials = function() return nil, "no AWS credentials found" end }
        local id, err = c:caller_identity()
        assert.is_nil(id)
        assert.equal("CredentialsError", err.code)
        assert.equal("GetCallerIdentity", err.operation)
        assert.matches("no AWS credentials found", err.message)
        assert.equal(0, #log)
    end)

    it("reports a network failure without secrets", function()
        local t = function() return nil, "connection refused" end
        local id, err = new{ region = "eu-west-1", transport = t }:caller_identity()
        assert.is_nil(id)
        assert.equal("NetworkError", err.code)
        assert.equal(3, err.attempts)
        no_secret(err)
    end)

    it("raises on misuse, sending nothing", function()
        local t, log = fake()
        local c = new{ region = "eu-west-1", transport = t }
        assert.has_error(function() c:caller_identity("x") end,
                         "acmpca.caller_identity: opts: expected a table or nil, got string")
        assert.has_error(function() c:caller_identity{ endpoint = 5 } end,
                         "acmpca.caller_identity: endpoint: expected an http:// or https:// "
                         .. "URL, got number")
        assert.has_error(function() c:caller_identity{ endpoint = "ftp://x" } end,
                         "acmpca.caller_identity: endpoint: expected an http:// or https:// "
                         .. "URL, got \"ftp://x\"")
        local ok, err = pcall(c.caller_identity, c, { endpont = "http://x" })
        assert.is_false(ok)
        assert.matches("endpont", err)
        assert.equal(0, #log)
    end)

    it("is on the default client as acmpca.caller_identity", function()
        assert.is_function(acmpca.caller_identity)
        assert.matches("caller_identity", acmpca.help({ write = function() end }))
    end)
end)


describe("acmpca.mock's STS", function()
    it("answers GetCallerIdentity with its account, checking the signature", function()
        local svc = mock.new{ account = "111122223333", region = "us-east-1" }
        local id = assert(svc:client():caller_identity())
        assert.equal("111122223333", id.account)
        assert.equal("arn:aws:iam::111122223333:user/acmpca-mock", id.arn)
        assert.equal(1, svc.calls.GetCallerIdentity)
    end)

    it("refuses a signature from other keys", function()
        local svc = mock.new{ account = "111122223333", region = "us-east-1" }
        local c = client.new{ region = "us-east-1", transport = svc:transport(),
                              credentials = CREDS, sleep = function() end,
                              getenv = env{ HOME = "/nonexistent-acmpca-home" } }
        local id, err = c:caller_identity()
        assert.is_nil(id)
        assert.equal("InvalidClientTokenId", err.code)
        assert.equal(403, err.status)
        no_secret(err)
    end)

    it("refuses an action it does not know, as STS does", function()
        local svc = mock.new{ region = "us-east-1" }
        local res = svc{ method = "POST", url = "https://sts.us-east-1.amazonaws.com/",
                         headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
                         body = "Action=AssumeRole&Version=2011-06-15" }
        assert.equal(400, res.status)
        assert.matches("<Code>InvalidAction</Code>", res.body)
    end)
end)
