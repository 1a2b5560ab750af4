-- acmpca.sigv4: AWS's SigV4 test suites in both layouts (read from
-- spec/fixtures/ at test time) and header signing with every bad input.

local F = require "support.sigv4_fixture"
local sigv4 = F.sigv4
local V = F.V
local OLD_SUITE_CASES = F.OLD_SUITE_CASES
local V4_SUITE_CASES = F.V4_SUITE_CASES
local err_of = F.err_of
local merge = F.merge
local REQ = F.REQ
local opts = F.opts
local req = F.req
local creds = F.creds
local request_of = F.request_of


describe("acmpca.sigv4", function()
    describe("AWS SigV4 test suite, old layout (spec/fixtures/sigv4-suite)", function()
        local cases = V.old_suite_cases()

        it("finds all " .. OLD_SUITE_CASES .. " cases", function()
            assert.are.equal(OLD_SUITE_CASES, #cases)
        end)

        local readme = V.read(V.FIXTURES .. "/sigv4-suite/post-sts-token/readme.txt")
        local readme_token = readme:match("([^\n]+)%s*$")

        for _, c in ipairs(cases) do
            it(c.name .. ": canonical request, string to sign, Authorization", function()
                local raw = V.read(c.stem .. ".req"):gsub("\n$", "")
                local parsed = V.parse_request(raw)
                local request = request_of(parsed)
                local expected_creq = V.read(c.stem .. ".creq")
                local o = opts({ time = V.UNIX_TIME })
                local token = expected_creq:match("\nx%-amz%-security%-token:([^\n]*)\n")
                if c.name:match("post%-sts%-header%-after$") then
                    token = readme_token
                    o.omit_session_token = true
                end
                o.credentials.session_token = token

                local creq = sigv4.canonical_request(request, o)
                assert.are.equal(expected_creq, creq)
                assert.are.equal(V.read(c.stem .. ".sts"), sigv4.string_to_sign(creq, o))
                local headers = sigv4.sign(request, o)
                assert.are.equal(V.read(c.stem .. ".authz"), headers.Authorization)
                if token then
                    assert.are.equal(token, headers["X-Amz-Security-Token"])
                end
            end)
        end
    end)

    describe("AWS SigV4 test suite, v4 layout (spec/fixtures/sigv4-suite-v4)", function()
        local cases = V.v4_suite_cases()

        it("finds all " .. V4_SUITE_CASES .. " cases", function()
            assert.are.equal(V4_SUITE_CASES, #cases)
        end)

        local function setup(c)
            local ctx = c.context
            local parsed = V.parse_request(V.read(c.dir .. "/request.txt"))
            local request, host = request_of(parsed)
            local o = {
                region = ctx.region,
                service = ctx.service,
                time = V.amz_date(ctx.timestamp),
                credentials = {
                    access_key_id = ctx.credentials.access_key_id,
                    secret_access_key = ctx.credentials.secret_access_key,
                    session_token = ctx.credentials.token,
                },
                normalize_path = ctx.normalize,
                sign_body = ctx.sign_body,
                omit_session_token = ctx.omit_session_token,
                expires = ctx.expiration_in_seconds,
            }
            return parsed, request, host, o
        end

        for _, c in ipairs(cases) do
            it(c.name .. ": signed in headers", function()
                local parsed, request, _, o = setup(c)
                local creq = sigv4.canonical_request(request, o)
                assert.are.equal(V.read(c.dir .. "/header-canonical-request.txt"), creq)
                local sts = sigv4.string_to_sign(creq, o)
                assert.are.equal(V.read(c.dir .. "/header-string-to-sign.txt"), sts)

                local headers = sigv4.sign(request, o)
                local sig = headers.Authorization:match("Signature=(%x+)$")
                assert.are.equal(V.read(c.dir .. "/header-signature.txt"), sig)

                -- every line the signed request adds is in the returned table
                local signed = V.parse_request(V.read(c.dir .. "/header-signed-request.txt"))
                local before = {}
                for _, f in ipairs(parsed.fields) do
                    local key = f[1] .. ":" .. f[2]
                    before[key] = (before[key] or 0) + 1
                end
                local added = {}
                for _, f in ipairs(signed.fields) do
                    local key = f[1] .. ":" .. f[2]
                    if (before[key] or 0) > 0 then
                        before[key] = before[key] - 1
                    else
                        added[f[1]:lower()] = f[2]
                    end
                end
                assert.is_not_nil(added.authorization)
                local extra = {}
                for k, v in pairs(headers) do
                    if request.headers[k] == nil then
                        extra[k:lower()] = v
                    end
                end
                assert.are.same(added, extra)
                -- and the request's own headers are kept as they were
                for k, v in pairs(request.headers) do
                    assert.are.same(v, headers[k])
                end
            end)

            it(c.name .. ": presigned in the query string", function()
                local _, request, host, o = setup(c)
                local qo = merge(o, { presign = true })
                local creq = sigv4.canonical_request(request, qo)
                assert.are.equal(V.read(c.dir .. "/query-canonical-request.txt"), creq)
                local sts = sigv4.string_to_sign(creq, qo)
                assert.are.equal(V.read(c.dir .. "/query-string-to-sign.txt"), sts)

                local url = sigv4.presign(request, o)
                local sig = url:match("X%-Amz%-Signature=(%x+)$")
                assert.are.equal(V.read(c.dir .. "/query-signature.txt"), sig)
                local prefix = "https://" .. host
                assert.are.equal(prefix, url:sub(1, #prefix))
                local line = request.method .. " " .. url:sub(#prefix + 1) .. " HTTP/1.1"
                local expected = V.read(c.dir .. "/query-signed-request.txt"):match("^[^\n]*")
                assert.are.equal(expected, line)
            end)
        end
    end)

    describe("sign", function()
        it("returns a new table with Host, X-Amz-Date and Authorization added", function()
            local r = req({ headers = { ["Content-Type"] = "application/json" } })
            local h = sigv4.sign(r, opts())
            assert.are_not.equal(r.headers, h)
            assert.is_nil(r.headers.Authorization)
            assert.are.equal("application/json", h["Content-Type"])
            assert.are.equal("example.amazonaws.com", h.Host)
            assert.are.equal(V.AMZ_DATE, h["X-Amz-Date"])
            assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/20150830/us%-east%-1/"
                           .. "service/aws4_request, SignedHeaders=content%-type;host;"
                           .. "x%-amz%-date, Signature=%x+$", h.Authorization)
            assert.is_nil(h["X-Amz-Security-Token"])
            assert.is_nil(h["X-Amz-Content-Sha256"])
        end)

        it("signs what canonical_request and string_to_sign describe", function()
            local r = req({ method = "POST", body = "{}",
                            headers = { ["X-Amz-Target"] = "ACMPrivateCA.ListPermissions" } })
            local creq, signed = sigv4.canonical_request(r, opts())
            assert.are.equal("host;x-amz-date;x-amz-target", signed)
            local key = sigv4.signing_key(V.SECRET, "20150830", "us-east-1", "service")
            local sts = sigv4.string_to_sign(creq, opts())
            local want = sigv4.hex(sigv4.hmac_sha256(key, sts))
            assert.are.equal(want, sigv4.sign(r, opts()).Authorization:match("Signature=(%x+)"))
        end)

        it("keeps a non-default port in Host and drops the scheme's default", function()
            local cases = {
                { "https://h.example:8443/", "h.example:8443" },
                { "https://h.example:443/", "h.example" },
                { "http://h.example:80/x", "h.example" },
                { "http://h.example:443/", "h.example:443" },
                { "https://[::1]:9000/", "[::1]:9000" },
                { "https://user@h.example/", "h.example" },
            }
            for _, c in ipairs(cases) do
                assert.are.equal(c[2], sigv4.sign(req({ url = c[1] }), opts()).Host)
            end
        end)

        it("takes the host from a Host header over the URL and adds no second Host", function()
            local h = sigv4.sign(req({ headers = { host = "other.example" } }), opts())
            assert.is_nil(h.Host)
            assert.are.equal("other.example", h.host)
            local creq = sigv4.canonical_request(req({ headers = { host = "other.example" } }),
                                                 opts())
            assert.matches("\nhost:other.example\n", creq, 1, true)
        end)

        it("accepts host=, path= and query= instead of url=", function()
            local a = sigv4.sign(req({ url = "https://example.amazonaws.com/a%20b?x=1&y" }),
                                 opts())
            local b = sigv4.sign({ method = "GET", host = "example.amazonaws.com",
                                   path = "/a%20b", query = "x=1&y" }, opts())
            assert.are.same(a, b)
            local c = sigv4.sign({ method = "GET", host = "example.amazonaws.com" }, opts())
            local d = sigv4.sign(req(), opts())
            assert.are.same(c, d)
        end)

        it("gives the same signature for time as unix seconds and as a string", function()
            local a = sigv4.sign(req(), opts({ time = V.UNIX_TIME }))
            local b = sigv4.sign(req(), opts({ time = V.AMZ_DATE }))
            assert.are.same(a, b)
            local c = sigv4.sign(req(), opts({ time = V.UNIX_TIME + 0.75 }))
            assert.are.same(a, c)
        end)

        it("uses the current time when none is given", function()
            local o = opts()
            o.time = nil
            local h = sigv4.sign(req(), o)
            assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", h["X-Amz-Date"])
            assert.are.equal(os.date("!%Y%m%d", os.time()):sub(1, 6), h["X-Amz-Date"]:sub(1, 6))
        end)

        it("adds and signs X-Amz-Security-Token for a session token", function()
            local h = sigv4.sign(req(), opts({ credentials = creds({ session_token = "tok" }) }))
            assert.are.equal("tok", h["X-Amz-Security-Token"])
            assert.matches("SignedHeaders=host;x-amz-date;x-amz-security-token,",
                           h.Authorization, 1, true)
        end)

        it("adds but does not sign the token with omit_session_token", function()
            local h = sigv4.sign(req(), opts({ credentials = creds({ session_token = "tok" }),
                                               omit_session_token = true }))
            assert.are.equal("tok", h["X-Amz-Security-Token"])
            assert.matches("SignedHeaders=host;x-amz-date,", h.Authorization, 1, true)
        end)

        it("adds and signs X-Amz-Content-Sha256 with sign_body", function()
            local h = sigv4.sign(req({ method = "PUT", body = "abc" }), opts({ sign_body = true }))
            assert.are.equal(sigv4.sha256_hex("abc"), h["X-Amz-Content-Sha256"])
            assert.matches("SignedHeaders=host;x-amz-content-sha256;x-amz-date,",
                           h.Authorization, 1, true)
        end)

        it("uses payload_hash instead of hashing the body", function()
            local o = opts({ payload_hash = "UNSIGNED-PAYLOAD", sign_body = true })
            local creq = sigv4.canonical_request(req({ body = "abc" }), o)
            assert.matches("\nUNSIGNED%-PAYLOAD$", creq)
            assert.are.equal("UNSIGNED-PAYLOAD", sigv4.sign(req(), o)["X-Amz-Content-Sha256"])
        end)

        it("replaces incoming Authorization, X-Amz-Date, token and content hash", function()
            local r = req({ headers = {
                authorization = "old", ["x-amz-date"] = "19700101T000000Z",
                ["X-AMZ-SECURITY-TOKEN"] = "old-token", ["X-Amz-Content-Sha256"] = "old",
            } })
            local h = sigv4.sign(r, opts())
            assert.is_nil(h.authorization)
            assert.is_nil(h["x-amz-date"])
            assert.is_nil(h["X-AMZ-SECURITY-TOKEN"])
            assert.is_nil(h["X-Amz-Content-Sha256"])
            assert.are.same(sigv4.sign(req(), opts()), h)
        end)

        it("keeps but does not sign User-Agent, Expect and X-Amzn-Trace-Id", function()
            local hs = { ["User-Agent"] = "ua/1", Expect = "100-continue",
                         ["X-Amzn-Trace-Id"] = "Root=1" }
            local h = sigv4.sign(req({ headers = hs }), opts())
            assert.are.equal("ua/1", h["User-Agent"])
            assert.are.equal("100-continue", h.Expect)
            assert.are.equal("Root=1", h["X-Amzn-Trace-Id"])
            assert.matches("SignedHeaders=host;x-amz-date,", h.Authorization, 1, true)
        end)

        it("signs each request of a row as the HMAC chain does, whatever came before", function()
            -- the signer caches keys and the SHA-256 states after the first block of the
            -- canonical request and of the string to sign; the binding reuses the last
            -- Host and X-Amz-Date strings: change one thing at a time and check all
            local function chain(r, o)
                local sts = sigv4.string_to_sign(sigv4.canonical_request(r, o), o)
                local key = sigv4.signing_key(o.credentials.secret_access_key,
                                              sts:match("\n(%d%d%d%d%d%d%d%d)T"), o.region,
                                              o.service)
                return sigv4.hex(sigv4.hmac_sha256(key, sts))
            end
            local steps = {
                { url = "https://a.example/", time = V.UNIX_TIME },
                { url = "https://a.example/", time = V.UNIX_TIME },
                { url = "https://a.example/", time = V.UNIX_TIME + 1 },
                { url = "https://b.example/", time = V.UNIX_TIME + 1 },
                { url = "https://b.example/a-longer-path-than-before", time = V.UNIX_TIME + 1 },
                { url = "https://b.example/", time = V.UNIX_TIME + 86400 },
                { url = "https://b.example/", time = V.UNIX_TIME + 1, secret = "other" },
                { url = "https://b.example/", time = V.UNIX_TIME + 1, region = "eu-west-1" },
                { url = "https://a.example/", time = V.UNIX_TIME },
            }
            for i, s in ipairs(steps) do
                local r = req({ method = "POST", url = s.url, body = "{}",
                                headers = { ["X-Amz-Target"] = "ACMPrivateCA.ListTags" } })
                local o = opts({ time = s.time, region = s.region })
                if s.secret then
                    o.credentials.secret_access_key = s.secret
                end
                local h = sigv4.sign(r, o)
                assert.are.equal(chain(r, o), h.Authorization:match("Signature=(%x+)$"),
                                 "step " .. i)
                assert.are.equal(s.url:match("//([^/]+)"), h.Host, "step " .. i)
                assert.are.equal(os.date("!%Y%m%dT%H%M%SZ", s.time), h["X-Amz-Date"],
                                 "step " .. i)
            end
        end)

        it("signs requests past every stack buffer of the binding and the signer", function()
            -- 40 headers (two passes over the table), 800 bytes of names, a 3 KB
            -- query: a canonical request longer than the signer's buffer and the
            -- binding's (both measure and retry); then a 3 KB token for presign
            local headers = {}
            for i = 1, 40 do
                headers[("X-Custom-Header-%03d"):format(i)] = ("v"):rep(100)
            end
            local r = req({ url = "https://h.example/a/b?" .. ("k%2Fv=1234&"):rep(300),
                            headers = headers })
            local o = opts()
            local creq, signed = sigv4.canonical_request(r, o)
            assert.is_true(#creq > 8000)
            assert.are.equal(42, select(2, signed:gsub(";", "")) + 1)
            local key = sigv4.signing_key(V.SECRET, "20150830", "us-east-1", "service")
            local want = sigv4.hex(sigv4.hmac_sha256(key, sigv4.string_to_sign(creq, o)))
            assert.are.equal(want, sigv4.sign(r, o).Authorization:match("Signature=(%x+)$"))

            local token = ("T"):rep(3000)
            local o2 = opts({ credentials = creds({ session_token = token }) })
            local url = sigv4.presign(req(), o2)
            assert.is_truthy(url:find("&X-Amz-Security-Token=" .. token .. "&X-Amz-Signature=",
                                      1, true))
            assert.matches("&X%-Amz%-Signature=%x+$", url)
        end)

        it("never confuses cached signing keys of different secrets", function()
            local first = sigv4.sign(req(), opts()).Authorization
            for i = 1, 40 do
                local o = opts({ credentials = creds({ secret_access_key = "other" .. i }) })
                assert.are_not.equal(first, sigv4.sign(req(), o).Authorization)
            end
            assert.are.equal(first, sigv4.sign(req(), opts()).Authorization)
            local o = opts({ region = "eu-west-1" })
            assert.are_not.equal(first, sigv4.sign(req(), o).Authorization)
        end)

        describe("bad input", function()
            local function sign_err(r, o)
                return err_of(sigv4.sign, r, o)
            end

            it("raises for a request that is not a table", function()
                assert.are.equal("acmpca.sigv4.sign: request: expected a table, got string",
                                 sign_err("GET /", opts()))
            end)

            it("raises for opts that are not a table", function()
                assert.are.equal("acmpca.sigv4.sign: opts: expected a table, got nil",
                                 sign_err(req(), nil))
            end)

            it("raises for missing or non-string credentials", function()
                local o = opts()
                o.credentials = nil
                assert.are.equal("acmpca.sigv4.sign: credentials: expected a table, got nil",
                                 sign_err(req(), o))
                assert.are.equal("acmpca.sigv4.sign: credentials: expected a table, got string",
                                 sign_err(req(), opts({ credentials = "AKID:secret" })))
                local c = creds()
                c.access_key_id = nil
                assert.are.equal(
                    "acmpca.sigv4.sign: credentials.access_key_id: expected a string, got nil",
                    sign_err(req(), opts({ credentials = c })))
                c = creds()
                c.secret_access_key = nil
                assert.are.equal(
                    "acmpca.sigv4.sign: credentials.secret_access_key: expected a string, got nil",
                    sign_err(req(), opts({ credentials = c })))
                assert.are.equal(
                    "acmpca.sigv4.sign: credentials.secret_access_key: expected a string, "
                    .. "got number",
                    sign_err(req(), opts({ credentials = creds({ secret_access_key = 42 }) })))
                assert.are.equal(
                    "acmpca.sigv4.sign: credentials.secret_access_key: expected a non-empty string",
                    sign_err(req(), opts({ credentials = creds({ secret_access_key = "" }) })))
                assert.are.equal(
                    "acmpca.sigv4.sign: credentials.access_key_id: expected a non-empty string",
                    sign_err(req(), opts({ credentials = creds({ access_key_id = "" }) })))
                assert.are.equal(
                    "acmpca.sigv4.sign: credentials.session_token: expected a string, got table",
                    sign_err(req(), opts({ credentials = creds({ session_token = {} }) })))
            end)

            it("raises for an access key id that would break the credential scope", function()
                assert.are.equal("acmpca.sigv4.sign: credentials.access_key_id: contains a "
                                 .. "space, control character or one of / , ; =",
                                 sign_err(req(), opts({ credentials = creds({
                                     access_key_id = "AKID/x" }) })))
            end)

            it("raises for a missing or bad region or service", function()
                local o = opts()
                o.region = nil
                assert.are.equal("acmpca.sigv4.sign: region: expected a string, got nil",
                                 sign_err(req(), o))
                assert.are.equal("acmpca.sigv4.sign: service: expected a string, got number",
                                 sign_err(req(), opts({ service = 1 })))
                assert.are.equal("acmpca.sigv4.sign: region: contains a space, control "
                                 .. "character or one of / , ; =",
                                 sign_err(req(), opts({ region = "us/east" })))
                assert.are.equal("acmpca.sigv4.sign: region: expected a non-empty string",
                                 sign_err(req(), opts({ region = "" })))
            end)

            it("raises for an unknown method", function()
                for _, m in ipairs({ "get", "FETCH", "", "GET " }) do
                    local e = sign_err(req({ method = m }), opts())
                    assert.are.equal("acmpca.sigv4.sign: method: expected one of GET, HEAD, "
                                     .. "POST, PUT, DELETE, PATCH, OPTIONS, got \"" .. m .. "\"", e)
                end
                assert.are.equal("acmpca.sigv4.sign: method: expected a string, got nil",
                                 sign_err({ url = REQ.url }, opts()))
            end)

            it("raises for a header name containing CR, LF or NUL", function()
                for _, bad in ipairs({ "\r", "\n", "\0" }) do
                    local name = "X-Foo" .. bad
                    local e = sign_err(req({ headers = { [name] = "v" } }), opts())
                    local shown = ("X-Foo\\x%02X"):format(bad:byte())
                    assert.are.equal("acmpca.sigv4.sign: header \"" .. shown
                                     .. "\": name contains CR, LF or NUL", e)
                end
            end)

            it("raises for a header value containing CR, LF or NUL", function()
                for _, bad in ipairs({ "a\rb", "a\nb", "a\0b", "x\r\nInjected: 1" }) do
                    assert.are.equal(
                        "acmpca.sigv4.sign: header \"X-Foo\": value contains CR, LF or NUL",
                        sign_err(req({ headers = { ["X-Foo"] = bad } }), opts()))
                    assert.are.equal(
                        "acmpca.sigv4.sign: header \"X-Foo\": value contains CR, LF or NUL",
                        sign_err(req({ headers = { ["X-Foo"] = { "ok", bad } } }), opts()))
                end
                -- also for headers that are kept but not signed
                assert.are.equal(
                    "acmpca.sigv4.sign: header \"User-Agent\": value contains CR, LF or NUL",
                    sign_err(req({ headers = { ["User-Agent"] = "a\nb" } }), opts()))
                assert.are.equal(
                    "acmpca.sigv4.sign: header \"Host\": value contains CR, LF or NUL",
                    sign_err(req({ headers = { Host = "h\r\nX: y" } }), opts()))
            end)

            it("raises for header values that are not strings", function()
                assert.are.equal("acmpca.sigv4.sign: header \"Content-Length\": expected a "
                                 .. "string or a list of strings, got number",
                                 sign_err(req({ headers = { ["Content-Length"] = 13 } }), opts()))
                assert.are.equal("acmpca.sigv4.sign: header \"X-A\": expected a string or a "
                                 .. "list of strings",
                                 sign_err(req({ headers = { ["X-A"] = { "a", false } } }), opts()))
                assert.are.equal("acmpca.sigv4.sign: headers: expected string keys, got a "
                                 .. "number key", sign_err(req({ headers = { "x" } }), opts()))
                assert.are.equal("acmpca.sigv4.sign: headers: expected a table, got string",
                                 sign_err(req({ headers = "Host: x" }), opts()))
            end)

            it("raises for an unparsable URL", function()
                local bad = {
                    ["ftp://example.com/"] = "url: expected http://host[:port][/path][?query] "
                                             .. "or https://...",
                    ["example.com/path"] = "url: expected http://host[:port][/path][?query] "
                                           .. "or https://...",
                    ["https://"] = "url: expected http://host[:port][/path][?query] "
                                   .. "or https://...",
                    ["https:///path"] = "url: missing host",
                    ["https://:443/"] = "url: missing host",
                    ["https://host:99999/"] = "url: bad port",
                    ["https://host:0/"] = "url: bad port",
                    ["https://host:/"] = "url: bad port",
                    ["https://host:12a/"] = "url: bad port",
                    ["https://[::1/"] = "url: unterminated IPv6 address",
                    ["https://ho st/"] = "url: host contains a space",
                    ["https://host/\r\nX: y"] = "url: contains a control character",
                }
                for url, msg in pairs(bad) do
                    assert.are.equal("acmpca.sigv4.sign: " .. msg,
                                     sign_err(req({ url = url }), opts()))
                end
                assert.are.equal("acmpca.sigv4.sign: url: expected a string, got number",
                                 sign_err(req({ url = 1 }), opts()))
                assert.are.equal("acmpca.sigv4.sign: url: expected a string (or give host= "
                                 .. "and path=)", sign_err({ method = "GET" }, opts()))
                assert.are.equal("acmpca.sigv4.sign: path: expected a string starting with \"/\"",
                                 sign_err({ method = "GET", host = "h", path = "x" }, opts()))
            end)

            it("raises for a time that is not a valid timestamp", function()
                local bad = { "20150230T000000Z", "20151330T000000Z", "20150830T246000Z",
                              "20150830T126000Z", "20150830T123660Z", "2015-08-30T12:36:00Z",
                              "20150830T123600", "2015083OT123600Z", "19691231T235959Z",
                              "20150830 123600Z", "", "now" }
                for _, t in ipairs(bad) do
                    assert.are.equal("acmpca.sigv4.sign: time: expected unix seconds or a valid "
                                     .. "\"YYYYMMDDTHHMMSSZ\" timestamp",
                                     sign_err(req(), opts({ time = t })))
                end
                for _, t in ipairs({ -1, 0 / 0, math.huge, -math.huge, 1e13 }) do
                    assert.are.equal("acmpca.sigv4.sign: time: expected unix seconds from 0 to "
                                     .. "253402300799 or \"YYYYMMDDTHHMMSSZ\"",
                                     sign_err(req(), opts({ time = t })))
                end
                assert.are.equal("acmpca.sigv4.sign: time: expected unix seconds or a valid "
                                 .. "\"YYYYMMDDTHHMMSSZ\" timestamp",
                                 sign_err(req(), opts({ time = {} })))
                -- a leap day is fine
                assert.are.equal("20160229T000000Z",
                                 sigv4.sign(req(), opts({ time = "20160229T000000Z" }))
                                     ["X-Amz-Date"])
            end)

            it("raises for a bad body, payload_hash or flag", function()
                assert.are.equal("acmpca.sigv4.sign: body: expected a string, got table",
                                 sign_err(req({ body = {} }), opts()))
                assert.are.equal("acmpca.sigv4.sign: payload_hash: expected 1 to 64 bytes "
                                 .. "without CR, LF or NUL",
                                 sign_err(req(), opts({ payload_hash = "x\ny" })))
                assert.are.equal("acmpca.sigv4.sign: sign_body: expected a boolean, got string",
                                 sign_err(req(), opts({ sign_body = "yes" })))
                assert.are.equal("acmpca.sigv4.sign: normalize_path: expected a boolean, "
                                 .. "got number", sign_err(req(), opts({ normalize_path = 1 })))
            end)

            it("raises for a session token containing CR, LF or NUL without showing it", function()
                local token = "TOKENVALUE\r\nX-Evil: 1"
                local e = sign_err(req(), opts({ credentials = creds({ session_token = token }) }))
                assert.are.equal(
                    "acmpca.sigv4.sign: credentials.session_token: contains CR, LF or NUL", e)
                assert.is_nil(e:find("TOKENVALUE", 1, true))
            end)

            it("never shows the secret key in an error", function()
                local secret = "SeCrEtKeY\r\n\0/+="
                local bad_inputs = {
                    { req({ method = "FETCH" }), {} },
                    { req({ url = "nope" }), {} },
                    { req({ headers = { ["X-A"] = "a\nb" } }), {} },
                    { req(), { time = "bad" } },
                    { req(), { region = "" } },
                    { req(), { credentials = { secret_access_key = secret } } },
                    { req(), { credentials = { access_key_id = secret,
                                               secret_access_key = secret } } },
                    { req(), { credentials = { access_key_id = "AK", secret_access_key = secret,
                                               session_token = secret } } },
                }
                for _, b in ipairs(bad_inputs) do
                    local o = opts({ credentials = creds({ secret_access_key = secret }) })
                    for k, v in pairs(b[2]) do
                        o[k] = v
                    end
                    for _, f in ipairs({ sigv4.sign, sigv4.presign }) do
                        local e = err_of(f, b[1], o)
                        assert.is_nil(e:find("SeCrEt", 1, true), e)
                    end
                    -- the header form of canonical_request needs no key id
                    local ok, e = pcall(sigv4.canonical_request, b[1], o)
                    assert.is_true(ok or not tostring(e):find("SeCrEt", 1, true), e)
                end
                -- a secret of the wrong type is not shown either
                local e = sign_err(req(), opts({ credentials = creds({
                    secret_access_key = 987654321 }) }))
                assert.is_nil(e:find("987654321", 1, true))
            end)
        end)
    end)

end)
