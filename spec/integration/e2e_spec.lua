-- End-to-end specs: acmpca.client over real HTTP and HTTPS (the libcurl
-- transport) against the local fake ACM PCA service, which checks every
-- SigV4 signature independently with botocore.

local fake = require "support.fake_service"
local cjson = require "cjson.safe"
local socket = require "socket"

local ACCOUNT = "123456789012"
local PREFIX = "arn:aws:acm-pca:us-east-1:" .. ACCOUNT .. ":certificate-authority/"
local CA = PREFIX .. "11111111-2222-3333-4444-555555555555"
local CA_DISABLED = PREFIX .. "22222222-2222-3333-4444-555555555555"
local CA_UNKNOWN = PREFIX .. "99999999-2222-3333-4444-555555555555"
local ACM = "acm.amazonaws.com"
local ALL_ACTIONS = { "IssueCertificate", "GetCertificate", "ListPermissions" }

local TEMP = {
    access_key_id = "ASIAFAKEACMPCATEMP01",
    secret_access_key = "tempSecret/abcdefghijklmnopqrstuvwxyz0123",
    session_token = "FwoGZXIvYXdzEFAKEsessionTOKEN//+abc==",
}

local CAS = { [CA] = "ACTIVE", [CA_DISABLED] = "DISABLED" }


local function new_client(svc, opts)
    local client = require "acmpca.client"
    local o = {
        endpoint = svc.url,
        region = "us-east-1",
        credentials = fake.credentials,
        ca_file = svc.ca_file,
        timeout = 10,
        connect_timeout = 5,
        sleep = function() end,     -- no real backoff in specs
    }
    for k, v in pairs(opts or {}) do
        o[k] = v
    end
    if o.ca_file == false then
        o.ca_file = nil
    end
    return client.new(o)
end


local function grant(c, principal, extra)
    local args = { ca_arn = CA, principal = principal or ACM, actions = ALL_ACTIONS }
    for k, v in pairs(extra or {}) do
        args[k] = v
    end
    return c:create_permission(args)
end


describe("acmpca end to end", function()
    local svc, tls_svc

    lazy_setup(function()
        local err
        svc, err = fake.start{ cas = CAS, extra_credentials = { TEMP } }
        assert(svc, err)
        tls_svc, err = fake.start{ cas = CAS, tls = true }
        assert(tls_svc, err)
    end)

    lazy_teardown(function()
        if svc then svc:stop() end
        if tls_svc then tls_svc:stop() end
    end)

    before_each(function()
        svc:reset()
        tls_svc:reset()
    end)


    describe("fake service (checked with botocore's own client)", function()
        it("accepts botocore's signature and keeps the permission", function()
            local res = fake.botocore(svc, "CreatePermission", {
                CertificateAuthorityArn = CA, Principal = ACM, Actions = { "IssueCertificate" },
            })
            assert.same({ ok = {} }, res)
            local perms = svc:permissions(CA)
            assert.equal(1, #perms)
            assert.equal(ACM, perms[1].Principal)
            assert.equal("content-type;host;x-amz-date;x-amz-target",
                         svc:last_request().signed_headers)
        end)

        it("rejects a botocore request signed with the wrong secret", function()
            local res = fake.botocore(svc, "ListPermissions", { CertificateAuthorityArn = CA }, {
                access_key_id = fake.credentials.access_key_id,
                secret_access_key = "not-the-secret",
            })
            assert.is_table(res.error)
            assert.equal("InvalidSignatureException", res.error.code)
            assert.equal(403, res.error.status)
        end)

        it("paginates and rejects a bad token for botocore too", function()
            for i = 1, 3 do
                assert.same({ ok = {} }, fake.botocore(svc, "CreatePermission", {
                    CertificateAuthorityArn = CA, Principal = "p" .. i .. ".example.com",
                    Actions = { "GetCertificate" },
                }))
            end
            local page = fake.botocore(svc, "ListPermissions",
                                       { CertificateAuthorityArn = CA, MaxResults = 2 })
            assert.equal(2, #page.ok.Permissions)
            assert.is_string(page.ok.NextToken)
            local bad = fake.botocore(svc, "ListPermissions",
                                      { CertificateAuthorityArn = CA, NextToken = "bogus" })
            assert.equal("InvalidNextTokenException", bad.error.code)
        end)

        it("works over TLS with the generated CA", function()
            local res = fake.botocore(tls_svc, "ListPermissions", { CertificateAuthorityArn = CA })
            assert.same({ Permissions = {} }, res.ok)
            assert.is_true(tls_svc:last_request().tls)
        end)
    end)


    describe("permissions over HTTP", function()
        it("create, list, duplicate, delete, list empty", function()
            local c = new_client(svc)
            assert.is_true(grant(c))

            local res = assert(c:list_permissions{ ca_arn = CA })
            assert.equal(1, #res.permissions)
            local p = res.permissions[1]
            assert.equal(ACM, p.principal)
            assert.equal(CA, p.certificate_authority_arn)
            assert.same(ALL_ACTIONS, p.actions)
            assert.is_number(p.created_at)
            assert.truthy(math.abs(p.created_at - os.time()) < 3600)
            assert.is_string(p.policy)
            assert.is_nil(res.next_token)

            local ok, err = grant(c)
            assert.is_nil(ok)
            assert.equal("PermissionAlreadyExistsException", err.code)
            assert.equal(400, err.status)
            assert.equal(svc:last_request().request_id, err.request_id)
            assert.falsy(err.retryable)
            assert.matches("PermissionAlreadyExistsException", tostring(err), 1, true)

            assert.is_true(c:delete_permission{ ca_arn = CA, principal = ACM })
            res = assert(c:list_permissions{ ca_arn = CA })
            assert.same({}, res.permissions)
            assert.same({ CreatePermission = 2, ListPermissions = 2, DeletePermission = 1,
                          total = 5 }, svc:calls())
            c:close()
        end)

        it("sends the request AWS expects", function()
            local c = new_client(svc)
            assert.is_true(grant(c, ACM, { source_account = ACCOUNT }))
            local rec = svc:last_request()
            assert.equal("POST", rec.method)
            assert.equal("/", rec.path)
            assert.equal("ACMPrivateCA.CreatePermission", fake.header(rec, "X-Amz-Target"))
            assert.equal("application/x-amz-json-1.1", fake.header(rec, "Content-Type"))
            assert.equal("127.0.0.1:" .. svc.port, fake.header(rec, "Host"))
            assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", fake.header(rec, "X-Amz-Date"))
            local signed = {}
            for name in rec.signed_headers:gmatch("[^;]+") do
                signed[name] = true
            end
            for _, name in ipairs{ "content-type", "host", "x-amz-date", "x-amz-target" } do
                assert.is_true(signed[name], name)
            end
            assert.same({ CertificateAuthorityArn = CA, Principal = ACM,
                          SourceAccount = ACCOUNT, Actions = ALL_ACTIONS },
                        cjson.decode(rec.body))
            c:close()
        end)

        it("keys permissions by principal and source account", function()
            local c = new_client(svc)
            assert.is_true(grant(c, ACM))
            assert.is_true(grant(c, ACM, { source_account = ACCOUNT }))
            assert.equal(2, #assert(c:list_permissions{ ca_arn = CA }).permissions)
            assert.is_true(c:delete_permission{ ca_arn = CA, principal = ACM,
                                                source_account = ACCOUNT })
            local left = assert(c:list_permissions{ ca_arn = CA }).permissions
            assert.equal(1, #left)
            assert.is_nil(left[1].source_account)
            c:close()
        end)

        it("reports an unknown CA as ResourceNotFoundException", function()
            local c = new_client(svc)
            local res, err = c:list_permissions{ ca_arn = CA_UNKNOWN }
            assert.is_nil(res)
            assert.equal("ResourceNotFoundException", err.code)
            assert.equal(400, err.status)
            local ok, err2 = c:delete_permission{ ca_arn = CA_UNKNOWN, principal = ACM }
            assert.is_nil(ok)
            assert.equal("ResourceNotFoundException", err2.code)
            c:close()
        end)

        it("reports a CA that is not ACTIVE as InvalidStateException", function()
            local c = new_client(svc)
            local ok, err = c:create_permission{ ca_arn = CA_DISABLED, principal = ACM,
                                                 actions = ALL_ACTIONS }
            assert.is_nil(ok)
            assert.equal("InvalidStateException", err.code)
            assert.equal(1, svc:calls().CreatePermission)     -- not retried
            svc:set_ca(CA_DISABLED, "ACTIVE")
            assert.is_true(c:create_permission{ ca_arn = CA_DISABLED, principal = ACM,
                                                actions = ALL_ACTIONS })
            c:close()
        end)

        it("pages through ListPermissions with max_results and next_token", function()
            local c = new_client(svc)
            local want = {}
            for i = 1, 5 do
                want[i] = "svc" .. i .. ".example.com"
                assert.is_true(grant(c, want[i]))
            end
            local seen, sizes, token = {}, {}, nil
            repeat
                local res = assert(c:list_permissions{ ca_arn = CA, max_results = 2,
                                                       next_token = token })
                sizes[#sizes + 1] = #res.permissions
                for _, p in ipairs(res.permissions) do
                    seen[#seen + 1] = p.principal
                end
                token = res.next_token
            until token == nil
            assert.same({ 2, 2, 1 }, sizes)
            assert.same(want, seen)
            local raw = svc:last_request().body
            assert.matches('"MaxResults":%s*2[,}]', raw)    -- an integer on the wire
            local body = cjson.decode(raw)
            assert.equal(2, body.MaxResults)
            assert.is_string(body.NextToken)
            c:close()
        end)

        it("reports a bad next_token as InvalidNextTokenException", function()
            local c = new_client(svc)
            local res, err = c:list_permissions{ ca_arn = CA, next_token = "not-a-token" }
            assert.is_nil(res)
            assert.equal("InvalidNextTokenException", err.code)
            assert.equal("ListPermissions", err.operation)
            c:close()
        end)

        it("raises on a bad ARN and sends nothing", function()
            local c = new_client(svc)
            assert.has_error(function()
                c:list_permissions{ ca_arn = "arn:aws:s3:::bucket" }
            end)
            local ok, msg = pcall(c.list_permissions, c, { ca_arn = "nope" })
            assert.is_false(ok)
            assert.matches("ca_arn", msg, 1, true)
            assert.equal(0, svc:calls().total)
            c:close()
        end)
    end)


    describe("signing", function()
        it("is rejected by the service when the secret is wrong", function()
            local c = new_client(svc, { credentials = {
                access_key_id = fake.credentials.access_key_id,
                secret_access_key = "wrong/secret/key/0123456789abcdefghijklm",
            } })
            local res, err = c:list_permissions{ ca_arn = CA }
            assert.is_nil(res)
            assert.equal("InvalidSignatureException", err.code)
            assert.equal(403, err.status)
            assert.equal(1, svc:calls().total)     -- a 4xx is never retried
            assert.is_nil(tostring(err):find("wrong/secret", 1, true))
            c:close()
        end)

        it("is rejected for an unknown access key", function()
            local c = new_client(svc, { credentials = {
                access_key_id = "AKIDUNKNOWNUNKNOWN00",
                secret_access_key = fake.credentials.secret_access_key,
            } })
            local _, err = c:list_permissions{ ca_arn = CA }
            assert.equal("UnrecognizedClientException", err.code)
            c:close()
        end)

        it("is rejected when signed for another region", function()
            local c = new_client(svc, { region = "eu-west-1" })
            local _, err = c:list_permissions{ ca_arn = CA }
            assert.equal("InvalidSignatureException", err.code)
            assert.matches("region", err.message, 1, true)
            c:close()
        end)

        it("works with session token credentials", function()
            local c = new_client(svc, { credentials = TEMP })
            local res = assert(c:list_permissions{ ca_arn = CA })
            assert.same({}, res.permissions)
            local rec = svc:last_request()
            assert.equal(TEMP.session_token, fake.header(rec, "X-Amz-Security-Token"))
            assert.equal(200, rec.status)
            c:close()
        end)

        it("is rejected when the session token is wrong or missing", function()
            local bad = { access_key_id = TEMP.access_key_id,
                          secret_access_key = TEMP.secret_access_key,
                          session_token = "wrong-token" }
            local c = new_client(svc, { credentials = bad })
            local _, err = c:list_permissions{ ca_arn = CA }
            assert.equal("UnrecognizedClientException", err.code)
            c:close()
            bad.session_token = nil
            c = new_client(svc, { credentials = bad })
            _, err = c:list_permissions{ ca_arn = CA }
            assert.equal("UnrecognizedClientException", err.code)
            c:close()
        end)

        it("takes credentials from a provider function", function()
            local n = 0
            local c = new_client(svc, { credentials = function()
                n = n + 1
                return fake.credentials
            end })
            assert(c:list_permissions{ ca_arn = CA })
            assert.truthy(n >= 1)
            c:close()
        end)

        it("corrects its clock from the Date header after a skew error", function()
            svc:set_clock_offset(3600)
            local c = new_client(svc)
            local res, err = c:list_permissions{ ca_arn = CA }
            assert.is_table(res, tostring(err))
            local recs = svc:requests()
            assert.equal(2, #recs)
            assert.equal("InvalidSignatureException", recs[1].code)
            assert.equal(200, recs[2].status)
            c:close()
        end)
    end)


    describe("connections", function()
        it("keeps one connection alive across calls, errors included", function()
            local c = new_client(svc)
            assert(grant(c))
            assert.is_nil((grant(c)))          -- PermissionAlreadyExists
            assert(c:list_permissions{ ca_arn = CA })
            assert(c:delete_permission{ ca_arn = CA, principal = ACM })
            local recs = svc:requests()
            assert.equal(4, #recs)
            for i = 2, 4 do
                assert.equal(recs[1].connection_id, recs[i].connection_id)
                assert.equal(recs[1].client_port, recs[i].client_port)
            end
            c:close()
        end)

        it("uses separate connections for separate clients", function()
            local a, b = new_client(svc), new_client(svc)
            assert(a:list_permissions{ ca_arn = CA })
            assert(b:list_permissions{ ca_arn = CA })
            local recs = svc:requests()
            assert.are_not.equal(recs[1].connection_id, recs[2].connection_id)
            a:close()
            b:close()
        end)

        it("times out on a slow answer with code Timeout", function()
            svc:set_delay(1500)
            local c = new_client(svc, { timeout = 0.3, max_attempts = 1 })
            local res, err = c:list_permissions{ ca_arn = CA }
            svc:set_delay(0)
            -- let the fake finish the abandoned request before the next spec
            local deadline = socket.gettime() + 10
            repeat
                socket.sleep(0.05)
                local last = svc:last_request()
            until (last and type(last.status) == "number") or socket.gettime() > deadline
            assert.is_nil(res)
            assert.equal("Timeout", err.code)
            c:close()
        end)
    end)


    describe("retries", function()
        it("retries throttling and then succeeds", function()
            local slept = {}
            svc:fault("throttle", 2)
            local c = new_client(svc, { sleep = function(s) slept[#slept + 1] = s end })
            local res = assert(c:list_permissions{ ca_arn = CA })
            assert.same({}, res.permissions)
            local recs = svc:requests()
            assert.equal(3, #recs)
            assert.equal("ThrottlingException", recs[1].code)
            assert.equal("ThrottlingException", recs[2].code)
            assert.equal(200, recs[3].status)
            assert.equal(2, #slept)
            for _, s in ipairs(slept) do
                assert.truthy(s >= 0 and s <= 20)
            end
            c:close()
        end)

        it("retries a 503 and a dropped connection", function()
            svc:fault("unavailable", 1)
            svc:fault("close", 1)
            local c = new_client(svc)
            assert(c:list_permissions{ ca_arn = CA })
            assert.equal(3, svc:calls().ListPermissions)
            c:close()
        end)

        it("gives up after max_attempts with the last error", function()
            svc:fault("throttle", 10)
            local c = new_client(svc, { max_attempts = 3 })
            local res, err = c:list_permissions{ ca_arn = CA }
            assert.is_nil(res)
            assert.equal("ThrottlingException", err.code)
            assert.is_true(err.retryable)
            assert.equal(3, svc:calls().total)
            c:close()
        end)
    end)


    describe("malformed answers", function()
        it("turns an HTML error page into a bounded error", function()
            svc:fault("html", 10)
            local c = new_client(svc, { max_attempts = 1 })
            local res, err = c:list_permissions{ ca_arn = CA }
            assert.is_nil(res)
            assert.equal(502, err.status)
            assert.is_string(err.code)
            assert.truthy(#tostring(err) < 2000)
            c:close()
        end)

        it("turns a garbage 200 body into an error", function()
            svc:fault("garbage", 10)
            local c = new_client(svc, { max_attempts = 1 })
            local res, err = c:list_permissions{ ca_arn = CA }
            assert.is_nil(res)
            assert.is_string(err.code)
            assert.equal(200, err.status)
            c:close()
        end)

        it("turns a truncated JSON body into an error", function()
            svc:fault("truncated", 10)
            local c = new_client(svc, { max_attempts = 1 })
            local res, err = c:list_permissions{ ca_arn = CA }
            assert.is_nil(res)
            assert.is_string(err.code)
            c:close()
        end)
    end)


    describe("HTTPS", function()
        it("works with ca_file and reuses the TLS connection", function()
            local c = new_client(tls_svc)
            assert.is_true(grant(c))
            local res = assert(c:list_permissions{ ca_arn = CA })
            assert.equal(1, #res.permissions)
            assert.is_true(c:delete_permission{ ca_arn = CA, principal = ACM })
            local recs = tls_svc:requests()
            assert.equal(3, #recs)
            for _, r in ipairs(recs) do
                assert.is_true(r.tls)
                assert.equal(recs[1].connection_id, r.connection_id)
                assert.equal(200, r.status)
            end
            assert.equal("127.0.0.1:" .. tls_svc.port, fake.header(recs[1], "Host"))
            c:close()
        end)

        it("verifies the host name (localhost is in the certificate)", function()
            local c = new_client(tls_svc, { endpoint = "https://localhost:" .. tls_svc.port })
            assert(c:list_permissions{ ca_arn = CA })
            assert.equal("localhost:" .. tls_svc.port, fake.header(tls_svc:last_request(), "Host"))
            c:close()
        end)

        it("fails with TLSError without ca_file and sends nothing", function()
            local c = new_client(tls_svc, { ca_file = false })
            local res, err = c:list_permissions{ ca_arn = CA }
            assert.is_nil(res)
            assert.equal("TLSError", err.code)
            assert.equal(0, tls_svc:calls().total)
            c:close()
        end)
    end)
end)
