-- What comes back (src/response.c through acmpca.client): every modeled
-- error of each operation (read from the model file), malformed responses,
-- and the retry loop over them.

local F = require "support.client_fixture"
local cjson = F.cjson
local core = F.core
local ARN = F.ARN
local ACM = F.ACM
local OPS = F.OPS
local read_model = F.read_model
local ok = F.ok
local service_error = F.service_error
local new = F.new


describe("acmpca.client responses", function()
    describe("service errors", function()
        local model = read_model()

        it("maps every modeled error of each operation to its code", function()
            local checked = 0
            for method, op in pairs(OPS) do
                local errors = model.operations[op.name].errors
                assert.is_true(#errors >= 4)
                for _, e in ipairs(errors) do
                    local code = e.shape
                    assert.is_true(model.shapes[code].exception)
                    local c, rec = new(nil, service_error(400, code, "the " .. code))
                    local res, err = c[method](c, op.args)
                    assert.is_nil(res)
                    assert.equals(code, err.code)
                    assert.equals("the " .. code, err.message)
                    assert.equals(400, err.status)
                    assert.equals("rid-err", err.request_id)
                    assert.equals(op.name, err.operation)
                    assert.is_false(err.retryable)
                    assert.equals(code .. ": the " .. code .. " (HTTP 400, request id rid-err)",
                                  tostring(err))
                    assert.equals(1, #rec.calls)   -- 4xx: never retried
                    checked = checked + 1
                end
            end
            assert.equals(15, checked)
        end)

        it("accepts the ns#Code and Code:uri forms and Message", function()
            local forms = {
                { "com.amazonaws.acmpca#ResourceNotFoundException", "ResourceNotFoundException" },
                { "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazon.acmpca/",
                  "ResourceNotFoundException" },
                { "aws.protocoltests.json#InvalidArnException:http://x/y",
                  "InvalidArnException" },
            }
            for _, f in ipairs(forms) do
                local c = new(nil, service_error(400, f[1], "m"))
                local _, err = c:list_permissions{ ca_arn = ARN }
                assert.equals(f[2], err.code)
            end
            local c = new(nil, { status = 400, headers = {},
                                 body = '{"__type":"InvalidStateException",'
                                        .. '"Message":"CA is DISABLED"}' })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidStateException", err.code)
            assert.equals("CA is DISABLED", err.message)
            assert.is_nil(err.request_id)
            assert.equals("InvalidStateException: CA is DISABLED (HTTP 400)", tostring(err))
        end)

        it("reads canonically spelled headers from hand-made responses", function()
            local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 3600)
            local c, rec = new(nil, { status = 400, body = '{"__type":"RequestExpired"}',
                                      headers = { ["x-amzn-RequestId"] = "rid-canon",
                                                  Date = date } })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("rid-canon", err.request_id)
            assert.is_true(err.clock_skew)
            assert.equals(2, #rec.calls)
        end)

        it("falls back to the x-amzn-ErrorType header", function()
            local c = new(nil, { status = 403, body = "",
                                 headers = { ["x-amzn-errortype"] = "AccessDeniedException:uri" } })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("AccessDeniedException", err.code)
            assert.equals("HTTP 403", err.message)
        end)

        it("treats LimitExceededException as a quota error, not throttling", function()
            local c, rec = new(nil, service_error(400, "LimitExceededException", "too many"))
            local _, err = c:create_permission(OPS.create_permission.args)
            assert.equals("LimitExceededException", err.code)
            assert.is_false(err.retryable)
            assert.equals(1, #rec.calls)
        end)
    end)


    describe("malformed responses", function()
        it("an HTML page with 200 is an error with the status and an excerpt", function()
            local html = "<html><body>" .. string.rep("Proxy says no. ", 100) .. "</body></html>"
            local c = new(nil, { status = 200, headers = {}, body = html })
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals("InvalidResponse", err.code)
            assert.equals(200, err.status)
            assert.matches("HTTP 200", err.message, 1, true)
            assert.matches("<html><body>Proxy says no.", err.message, 1, true)
            assert.is_true(#err.message < 300)   -- bounded
            assert.matches("...", err.message, 1, true)
        end)

        it("a truncated JSON body is an error, for writes too", function()
            for method, op in pairs(OPS) do
                local c = new(nil, { status = 200, headers = {}, body = '{"Permissions": [{"Act' })
                local res, err = c[method](c, op.args)
                assert.is_nil(res)
                assert.equals("InvalidResponse", err.code)
                assert.matches('{"Permissions": [{"Act', err.message, 1, true)
            end
        end)

        it("an HTML 502 is retried, then reported with its status", function()
            local c, rec = new(nil, { status = 502, headers = { ["content-type"] = "text/html" },
                                      body = "<h1>Bad Gateway</h1>\r\n\0\255" })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidResponse", err.code)
            assert.equals(502, err.status)
            assert.is_true(err.retryable)
            assert.equals(3, #rec.calls)
            assert.equals("HTTP 502 with a body that is not JSON: <h1>Bad Gateway</h1>  ??",
                          err.message)
        end)

        it("a response without a numeric status is an error", function()
            local c = new(nil, { headers = {}, body = "{}" })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidResponse", err.code)
        end)

        it("a status that is not an integer from 100 to 999 is an error", function()
            -- 2^32 + 200 must not pass for 200 once cut to a C int
            for _, status in ipairs{ 2 ^ 32 + 200, 4294967496, 99, 1000, 200.5, 1 / 0, 0 / 0 } do
                local c, rec = new(nil, { status = status, headers = {}, body = "" })
                local res, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
                assert.is_nil(res, tostring(status))
                assert.equals("InvalidResponse", err.code)
                assert.matches("without a numeric HTTP status (100 to 999)", err.message, 1, true)
                assert.equals(1, #rec.calls)
            end
        end)

        it("keeps a request id that the headers' __index made up", function()
            -- the value is only on the stack: a GC in a later lookup must not free it
            local keep = {}
            local headers = setmetatable({}, { __index = function(_, k)
                if k == "x-amzn-requestid" then
                    return ("rid-"):rep(20) .. tostring(#keep)
                end
                collectgarbage()
                collectgarbage()
                for i = 1, 200 do
                    keep[#keep + 1] = ("X"):rep(80) .. i   -- reuse freed blocks
                end
                return nil
            end })
            local c = new(nil, { status = 400, headers = headers, body = "<html>oops</html>" })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidResponse", err.code)
            assert.equals(("rid-"):rep(20) .. "0", err.request_id)
            assert.equals(400, err.status)
        end)

        it("survives a transport error table that swallows writes", function()
            local sealed = setmetatable({}, { __newindex = function() end })
            local c, rec = new(nil, { err = sealed })
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals(sealed, err)
            assert.is_nil(rawget(sealed, "code"))
            assert.equals(1, #rec.calls)   -- no code: not retried
        end)

        it("an unusual status such as 999 is a service error with its status", function()
            -- documented in src/response.c: 100..999 is a response; no code: UnknownError
            local c, rec = new(nil, { status = 999, headers = { ["x-amzn-requestid"] = "r9" },
                                      body = "" })
            local res, err = c:list_permissions{ ca_arn = ARN }
            assert.is_nil(res)
            assert.equals("UnknownError", err.code)
            assert.equals("HTTP 999", err.message)
            assert.equals(999, err.status)
            assert.equals("r9", err.request_id)
            assert.is_false(err.retryable)
            assert.equals(1, #rec.calls)
        end)

        it("every failure has a code, a message, retryable, status and request id", function()
            local bodies = { "", "   ", "not json", "<html><h1>Forbidden</h1></html>", "[1,2]",
                             '"str"', "null", '{"__type":""}', '{"__type":"#"}',
                             '{"__type":":x"}', '{"__type":5,"message":7}',
                             '{"code":{"x":1}}', ("{"):rep(5000) }
            for _, status in ipairs{ 100, 204, 302, 400, 404, 500, 999 } do
                for _, body in ipairs(bodies) do
                    local what = status .. " " .. body:sub(1, 20)
                    local c = new({ max_attempts = 1 },
                                  { status = status, body = body,
                                    headers = { ["x-amzn-requestid"] = "rid-x",
                                                date = "Fri, 31 Dec 9999 23:59:59 GMT" } })
                    local res, err = c:list_permissions{ ca_arn = ARN }
                    if res == nil then
                        assert.is_string(err.code, what)
                        assert.is_true(#err.code > 0, what)
                        assert.is_string(err.message, what)
                        assert.is_true(#err.message > 0, what)
                        assert.is_boolean(err.retryable, what)
                        assert.equals(status, err.status, what)
                        assert.equals("rid-x", err.request_id, what)
                    else
                        -- only a 2xx JSON object of the output shape passes
                        assert.is_true(status >= 200 and status < 300, what)
                    end
                end
            end
        end)

        it("an HTML error page is InvalidResponse with an excerpt", function()
            local c = new(nil, { status = 403, headers = { ["x-amzn-requestid"] = "rid-h" },
                                 body = "<html><body>Access denied</body></html>" })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidResponse", err.code)
            assert.equals("HTTP 403 with a body that is not JSON: "
                          .. "<html><body>Access denied</body></html>", err.message)
            assert.equals(403, err.status)
            assert.equals("rid-h", err.request_id)
        end)

        it("a JSON error without a code is UnknownError", function()
            local c = new(nil, { status = 400, headers = {}, body = '{"message":"what"}' })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("UnknownError", err.code)
            assert.equals("what", err.message)
        end)

        it("bounds a service message at 4 KiB on a character boundary", function()
            -- 3 MB of message: kept whole it would ride on every log line
            local long = ("é"):rep(1500000)
            local c = new(nil, { status = 400, headers = {},
                                 body = cjson.encode{ __type = "InvalidArnException",
                                                      message = long } })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("InvalidArnException", err.code)
            local kept = err.message:match("^(.-)%.%.%. %(3000000 bytes%)$")
            assert.is_truthy(kept, err.message:sub(-40))
            assert.is_true(#kept <= 4096 and #kept >= 4094, #kept)
            assert.equals(("é"):rep(math.floor(#kept / 2)), kept)
            -- a message at the limit is kept as it is
            local exact = ("x"):rep(4096)
            c = new(nil, { status = 400, headers = {},
                           body = cjson.encode{ __type = "InvalidArnException",
                                                message = exact } })
            _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals(exact, err.message)
        end)
    end)


    describe("retries", function()
        local throttles = { "Throttling", "ThrottlingException", "ThrottledException",
                            "RequestThrottledException", "TooManyRequestsException",
                            "ProvisionedThroughputExceededException",
                            "TransactionInProgressException", "RequestLimitExceeded",
                            "BandwidthLimitExceeded", "RequestThrottled", "SlowDown",
                            "PriorRequestNotComplete", "EC2ThrottledException" }

        it("retries every throttling code and succeeds", function()
            for _, code in ipairs(throttles) do
                local c, rec, sleeps = new(nil, service_error(400, code, "slow down"), ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals(2, #rec.calls)
                assert.equals(1, #sleeps)
            end
        end)

        it("stops at max_attempts with growing, capped, jittered delays", function()
            local c, rec, sleeps = new({ max_attempts = 6 },
                                       service_error(400, "ThrottlingException", "slow"))
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("ThrottlingException", err.code)
            assert.is_true(err.throttling)
            assert.equals(6, err.attempts)
            assert.equals(6, #rec.calls)
            assert.equals(5, #sleeps)
            for i, s in ipairs(sleeps) do
                assert.is_true(s >= 0 and s <= math.min(2 ^ (i - 1), 20))
            end
        end)

        it("defaults to 3 attempts, or AWS_MAX_ATTEMPTS", function()
            local c, rec = new(nil, service_error(503, "ServiceUnavailable", "x"))
            c:list_permissions{ ca_arn = ARN }
            assert.equals(3, #rec.calls)
            c, rec = new({ env = { AWS_MAX_ATTEMPTS = "2" } },
                         service_error(503, "ServiceUnavailable", "x"))
            c:list_permissions{ ca_arn = ARN }
            assert.equals(2, #rec.calls)
        end)

        it("retries HTTP 500, 502, 503 and 504 but not other statuses", function()
            for _, status in ipairs{ 500, 502, 503, 504 } do
                local c, rec = new(nil, service_error(status, "InternalFailure", "x"), ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals(2, #rec.calls)
            end
            for _, status in ipairs{ 400, 403, 404, 409, 413, 501 } do
                local c, rec = new(nil, service_error(status, "SomeError", "x"), ok())
                local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
                assert.equals("SomeError", err.code)
                assert.is_false(err.retryable)
                assert.equals(1, #rec.calls)
            end
        end)

        it("retries transport timeouts and network errors", function()
            local answers = {
                { err = core.new_error{ code = "Timeout", message = "timed out",
                                        retryable = true } },
                { err = "connection reset by peer" },
                { err = { code = "NetworkError", message = "refused" } },
            }
            for _, a in ipairs(answers) do
                local c, rec = new(nil, a, ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.equals(2, #rec.calls)
            end
            local c, rec = new(nil, { err = "connection reset by peer" })
            local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
            assert.equals("NetworkError", err.code)
            assert.equals("connection reset by peer", err.message)
            assert.equals("DeletePermission", err.operation)
            assert.equals(3, #rec.calls)
            assert.equals("NetworkError: connection reset by peer", tostring(err))
        end)

        it("does not retry TLS errors", function()
            local c, rec = new(nil, { err = { code = "TLSError", message = "bad cert" } })
            local _, err = c:list_permissions{ ca_arn = ARN }
            assert.equals("TLSError", err.code)
            assert.is_false(err.retryable)
            assert.equals(1, #rec.calls)
            assert.equals("TLSError: bad cert", tostring(err))
        end)

        it("stops retrying when the retry quota is spent", function()
            local c, rec = new({ max_attempts = 2 }, service_error(500, "InternalFailure", "x"))
            for _ = 1, 100 do   -- 100 retries of 5 tokens each use up the 500
                c:list_permissions{ ca_arn = ARN }
            end
            assert.equals(200, #rec.calls)
            c:list_permissions{ ca_arn = ARN }
            assert.equals(201, #rec.calls)
        end)

        it("corrects the clock from Date on RequestTimeTooSkewed and retries once", function()
            local ahead = os.time() + 3600
            local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", ahead)
            local skew = service_error(400, "RequestTimeTooSkewed",
                                       "The difference between the request time and the "
                                       .. "current time is too large.", { date = date })
            local c, rec, sleeps = new(nil, skew, ok())
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals(2, #rec.calls)
            assert.equals(0, #sleeps)
            local off = c:_clock_offset()
            assert.is_true(math.abs(off - 3600) <= 2)
            local stamp = rec.calls[2].headers["X-Amz-Date"]
            assert.equals(os.date("!%Y%m%dT%H", ahead), stamp:sub(1, 11))

            -- a second skew error is returned, not retried again
            c, rec = new(nil, skew)
            local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
            assert.equals("RequestTimeTooSkewed", err.code)
            assert.is_true(err.clock_skew)
            assert.equals(2, #rec.calls)
        end)

        it("ignores a Date of the year 9999 and keeps working", function()
            local absurd = service_error(400, "RequestTimeTooSkewed", "skewed",
                                         { date = "Fri, 31 Dec 9999 23:59:59 GMT" })
            local c, rec = new(nil, absurd, ok())
            local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
            assert.equals("RequestTimeTooSkewed", err.code)
            assert.is_nil(err.clock_skew)
            assert.equals(0, c:_clock_offset())
            assert.equals(1, #rec.calls)
            -- the next call is signed with the real clock and sent
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals(2, #rec.calls)
            assert.equals(os.date("!%Y%m%d"), rec.calls[2].headers["X-Amz-Date"]:sub(1, 8))
        end)

        it("corrects at most 24 hours, either way", function()
            for _, d in ipairs{ 86400 - 60, -(86400 - 60) } do
                local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + d)
                local c = new(nil, service_error(400, "RequestTimeTooSkewed", "x",
                                                 { date = date }), ok())
                assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
                assert.is_true(math.abs(c:_clock_offset() - d) <= 2)
            end
            for _, d in ipairs{ 86400 + 120, -(86400 + 120), -40 * 365 * 86400 } do
                local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + d)
                local c, rec = new(nil, service_error(400, "RequestTimeTooSkewed", "x",
                                                      { date = date }), ok())
                local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
                assert.equals("RequestTimeTooSkewed", err.code)
                assert.equals(0, c:_clock_offset())
                assert.equals(1, #rec.calls)
            end
        end)

        it("never raises on an unparseable Date", function()
            local dates = { "", "garbage", "Fri, 31 Dec 9999 23:59:59",
                            "Fri, 99 Dec 2024 00:00:00 GMT",
                            "Fri, 31 Feb 2024 00:00:00 GMT", "Fri, 31 Foo 2024 00:00:00 GMT",
                            "Fri, 01 Jan 2024 24:00:00 GMT", "Fri, 01 Jan 99999999999 00:00:00 GMT",
                            "Fri, 99999999999999999999 Jan 2024 00:00:00 GMT",
                            "Fri, 01 Jan 2024 00:00:00 GMT trailing", ("x"):rep(100000),
                            "Fri, 01 Jan -2024 00:00:00 GMT", "1700000000" }
            for _, date in ipairs(dates) do
                local c, rec = new(nil, service_error(400, "RequestTimeTooSkewed", "x",
                                                      { date = date }), ok())
                local ok_, _, err = pcall(c.delete_permission, c, { ca_arn = ARN, principal = ACM })
                assert.is_true(ok_, date:sub(1, 40))
                assert.equals("RequestTimeTooSkewed", err.code)
                assert.equals(0, c:_clock_offset())
                assert.equals(1, #rec.calls)
            end
        end)

        it("treats an expired signature as skew, a plain bad signature not", function()
            local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() - 7200)
            local c, rec = new(nil, service_error(400, "InvalidSignatureException",
                                                  "Signature expired: 20240101T000000Z is now "
                                                  .. "earlier than ...", { date = date }), ok())
            assert.is_true(c:delete_permission{ ca_arn = ARN, principal = ACM })
            assert.equals(2, #rec.calls)
            assert.is_true(math.abs(c:_clock_offset() + 7200) <= 2)

            date = os.date("!%a, %d %b %Y %H:%M:%S GMT")
            c, rec = new(nil, service_error(403, "InvalidSignatureException",
                                            "The request signature we calculated does not "
                                            .. "match", { date = date }), ok())
            local _, err = c:delete_permission{ ca_arn = ARN, principal = ACM }
            assert.equals("InvalidSignatureException", err.code)
            assert.is_nil(err.clock_skew)
            assert.equals(1, #rec.calls)
        end)
    end)



    describe("the model's mapping of results", function()
        it("maps a nested CertificateAuthority to snake_case, timestamps to epochs", function()
            local body = cjson.encode{ CertificateAuthority = {
                Arn = ARN, OwnerAccount = "123456789012", CreatedAt = 1700000000,
                LastStateChangeAt = 1700000000.25, Type = "ROOT", Status = "ACTIVE",
                Serial = "1a", NotAfter = 2000000000, Unknown = "dropped",
                CertificateAuthorityConfiguration = {
                    KeyAlgorithm = "EC_prime256v1", SigningAlgorithm = "SHA256WITHECDSA",
                    Subject = { CommonName = "Example Root", Country = "DE",
                                CustomAttributes = { { ObjectIdentifier = "2.5.4.3",
                                                       Value = "x" } } },
                    CsrExtensions = { KeyUsage = { CRLSign = true } },
                },
                RevocationConfiguration = { CrlConfiguration = {
                    Enabled = false, ExpirationInDays = 7, S3BucketName = "b" } },
                FailureReason = cjson.null,
            } }
            local c = new(nil, ok(body))
            local res = assert(c:describe_certificate_authority{ ca_arn = ARN })
            local ca = res.certificate_authority
            assert.same({
                arn = ARN, owner_account = "123456789012", created_at = 1700000000,
                last_state_change_at = 1700000000.25, type = "ROOT", status = "ACTIVE",
                serial = "1a", not_after = 2000000000,
                certificate_authority_configuration = {
                    key_algorithm = "EC_prime256v1", signing_algorithm = "SHA256WITHECDSA",
                    subject = { common_name = "Example Root", country = "DE",
                                custom_attributes = { { object_identifier = "2.5.4.3",
                                                        value = "x" } } },
                    csr_extensions = { key_usage = { crl_sign = true } },
                },
                revocation_configuration = { crl_configuration = {
                    enabled = false, expiration_in_days = 7, s3_bucket_name = "b" } },
            }, ca)
            if math.type then
                assert.equals("integer", math.type(ca.created_at))
                assert.equals("float", math.type(ca.last_state_change_at))
            end
        end)

        it("always gives the paginated list, and the policy as text", function()
            local c = new(nil, ok('{"NextToken":"n"}'), ok('{"Policy":"{\\"Version\\":1}"}'))
            assert.same({ certificate_authorities = {}, next_token = "n" },
                        c:list_certificate_authorities{})
            assert.same({ policy = '{"Version":1}' }, c:get_policy{ resource_arn = ARN })
        end)

        it("an operation without output gives true, and a body that is not JSON fails", function()
            local c = new(nil, ok(""), ok("[]"), ok("{oops"))
            assert.is_true(c:delete_policy{ resource_arn = ARN })
            assert.is_true(c:put_policy{ resource_arn = ARN, policy = "{}" })
            local res, err = c:delete_policy{ resource_arn = ARN }
            assert.is_nil(res)
            assert.equals("InvalidResponse", err.code)
            assert.equals("DeletePolicy", err.operation)
        end)
    end)
end)
