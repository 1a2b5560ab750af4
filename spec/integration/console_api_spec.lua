-- The admin console's JSON API (examples/openresty: acm_console.lua beside
-- acm_renewal.lua) inside a real nginx, against the signature-checking fake
-- ACM PCA: sign-in, the session cookie, CSRF, the security headers, the CA
-- list (audit), a CA's permissions, ensure/revoke through the renewal
-- endpoint, fix all, and service errors.  Tagged #nginx: LuaJIT pass only.

local F = require "support.nginx_fixture"
local nginx = F.nginx
local fake = F.fake
local ARN = F.ARN               -- ACTIVE, no permission (ABSENT)
local OTHER_ARN = F.OTHER_ARN   -- ACTIVE, ACM lacks ListPermissions (PARTIAL)
local DISABLED_ARN = F.DISABLED_ARN
local TOKEN = F.TOKEN

local XSS_ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
    .. "33333333-2222-3333-4444-555555555555"
local XSS_NAME = "<script>alert(1)</script>"

local CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    .. "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

local STATIC = { "index.html", "console.css", "console.js" }
local LUA = { "acm_renewal.lua", "acm_auth.lua", "acm_console.lua" }


local function seeds()
    return {
        { arn = ARN, common_name = "absent.example.com" },
        { arn = OTHER_ARN, common_name = "partial.example.com",
          permissions = { { principal = "acm.amazonaws.com",
                            actions = { "IssueCertificate", "GetCertificate" } } } },
        { arn = DISABLED_ARN, status = "DISABLED", common_name = "disabled.example.com" },
        { arn = XSS_ARN, common_name = XSS_NAME,
          permissions = { { principal = "<b>evil</b>.example.com",
                            actions = { "GetCertificate" },
                            source_account = "123456789012" } } },
    }
end


-- The example's files copied (not linked) into a fresh prefix, so that
-- workers running as nobody read them wherever the checkout is.
local function start_console(root, env)
    local prefix = nginx.tmpdir("console")
    assert(nginx.write_file ~= nil)
    os.execute("mkdir -p " .. nginx.shell_quote(prefix .. "/console"))
    local files = {}
    for _, name in ipairs(STATIC) do
        files["console/" .. name] =
            assert(nginx.read_file(root .. "/examples/openresty/console/" .. name), name)
    end
    for _, name in ipairs(LUA) do
        files[name] = assert(nginx.read_file(root .. "/examples/openresty/" .. name), name)
    end
    local port = nginx.free_port()
    local conf = nginx.render_example(nginx.read_file("examples/openresty/nginx.conf"), port)
    return nginx.start{ prefix = prefix, conf = conf, port = port, env = env, files = files,
                        links = { lua = root .. "/lua", lib = root .. "/build/jit" } }
end


describe("examples/openresty console API #nginx", function()
    local svc, srv, root

    local function env_for(extra)
        local env = {
            ACMPCA_ADMIN_TOKEN = TOKEN,
            AWS_REGION = "us-east-1",
            AWS_ACCESS_KEY_ID = fake.credentials.access_key_id,
            AWS_SECRET_ACCESS_KEY = fake.credentials.secret_access_key,
            AWS_ENDPOINT_URL_ACM_PCA = svc.url,
            AWS_EC2_METADATA_DISABLED = "true",
        }
        for k, v in pairs(extra or {}) do
            env[k] = v or nil
        end
        return env
    end

    local function call(method, path, opts)
        opts = opts or {}
        local headers = {}
        for k, v in pairs(opts.headers or {}) do
            headers[k] = v
        end
        if opts.bearer then
            headers.Authorization = "Bearer " .. TOKEN
        end
        if opts.session then
            headers.Cookie = opts.session.cookie
            if opts.csrf ~= false then
                headers["X-CSRF-Token"] = opts.csrf or opts.session.csrf
            end
        end
        if opts.body then
            headers["Content-Type"] = headers["Content-Type"] or "application/json"
        end
        local res, err = nginx.request((opts.srv or srv).port, { method = method, path = path,
            headers = headers, body = opts.body, timeout = 30 })
        assert(res, err)
        return res
    end

    -- Signs in; returns { cookie = "name=value", csrf =, set_cookie =, json = }.
    local function sign_in(token, server)
        local res = call("POST", "/acm-renewal/api/session",
                         { body = '{"token":"' .. (token or TOKEN) .. '"}', srv = server })
        assert.equal(200, res.status, res.body)
        local set = res.headers["set-cookie"]
        assert.is_string(set)
        return { cookie = set:match("^([^;]+)"), csrf = res.json.csrf_token, set_cookie = set,
                 json = res.json }
    end

    local function row_of(rows, arn)
        for _, r in ipairs(rows) do
            if r.arn == arn then
                return r
            end
        end
    end

    lazy_setup(function()
        root = nginx.root()
        local err
        svc, err = fake.start{ cas = seeds(), tls = false, delay_ms = 0 }
        assert(svc, err)
        srv = start_console(root, env_for())
    end)

    lazy_teardown(function()
        if srv then srv:stop() end
        if svc then svc:stop() end
    end)

    before_each(function()
        svc:reset()
    end)

    describe("static files and headers", function()
        it("serves the page, its CSS and its script with the security headers", function()
            for path, ctype in pairs{ ["/acm-renewal/"] = "text/html",
                                      ["/acm-renewal/console.css"] = "text/css",
                                      ["/acm-renewal/console.js"] = "javascript" } do
                local res = call("GET", path)
                assert.equal(200, res.status, path)
                assert.matches(ctype, res.headers["content-type"], 1, true)
                assert.equal(CSP, res.headers["content-security-policy"], path)
                assert.equal("nosniff", res.headers["x-content-type-options"], path)
                assert.equal("no-referrer", res.headers["referrer-policy"], path)
                assert.equal("DENY", res.headers["x-frame-options"], path)
            end
        end)

        it("puts no inline script or style in the page", function()
            local html = call("GET", "/acm-renewal/").body
            assert.matches('<script src="console.js"', html, 1, true)
            assert.is_nil(html:find("<script>", 1, true))
            assert.is_nil(html:find("<style", 1, true))
            assert.is_nil(html:find("style=", 1, true))
            assert.is_nil(html:lower():find("%son%a+="))
            assert.is_nil(html:find("https?://"))
        end)

        it("labels the sign-in field and has a sign-out button", function()
            local html = call("GET", "/acm-renewal/").body
            assert.matches('<label for="token">', html, 1, true)
            assert.matches('id="token"', html, 1, true)
            assert.matches('<button type="button" id="sign-out"', html, 1, true)
            assert.matches('Authorize ACM to use this CA for renewals', html, 1, true)
        end)

        it("carries the headers on API answers and errors too", function()
            for _, path in ipairs{ "/acm-renewal/api/cas", "/acm-renewal/api/nope",
                                   "/acm-renewal?ca_arn=" .. ARN } do
                local res = call("GET", path)
                assert.equal(401, res.status, path)
                assert.equal(CSP, res.headers["content-security-policy"], path)
                assert.equal("nosniff", res.headers["x-content-type-options"], path)
                assert.equal("no-store", res.headers["cache-control"], path)
            end
            assert.equal(0, svc:calls().total)
        end)
    end)

    describe("sign-in", function()
        it("refuses a wrong token with 401 and sets no cookie", function()
            for _, body in ipairs{ '{"token":"wrong"}', '{"token":"' .. TOKEN .. 'x"}',
                                   '{"token":7}', '{}', 'not json' } do
                local res = call("POST", "/acm-renewal/api/session", { body = body })
                assert.equal(body == "not json" and 400 or 401, res.status, body)
                assert.is_nil(res.headers["set-cookie"], body)
            end
            assert.equal(0, svc:calls().total)
        end)

        it("refuses a sign-in that is not JSON (a cross-site form post)", function()
            local res = call("POST", "/acm-renewal/api/session", { body = "token=" .. TOKEN,
                headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } })
            assert.equal(415, res.status)
            assert.is_nil(res.headers["set-cookie"])
        end)

        it("sets a signed HttpOnly SameSite=Strict cookie with an expiry", function()
            local s = sign_in()
            assert.matches("^acm_console=v1%.%d+%.%x+%.%x+;", s.set_cookie)
            assert.matches("; HttpOnly", s.set_cookie, 1, true)
            assert.matches("; SameSite=Strict", s.set_cookie, 1, true)
            assert.matches("; Path=/acm-renewal", s.set_cookie, 1, true)
            assert.matches("; Max%-Age=%d+", s.set_cookie)
            -- served over plain HTTP here: no Secure flag
            assert.is_nil(s.set_cookie:find("Secure", 1, true))
            assert.matches("^%x+$", s.csrf)
            assert.is_nil(s.set_cookie:find(TOKEN, 1, true))
            assert.is_true(s.json.expires_at > os.time())
        end)

        it("answers who is signed in with the CSRF token, and 401 without a session", function()
            local s = sign_in()
            local res = call("GET", "/acm-renewal/api/session", { session = s, csrf = false })
            assert.equal(200, res.status, res.body)
            assert.equal(s.csrf, res.json.csrf_token)
            res = call("GET", "/acm-renewal/api/session")
            assert.equal(401, res.status)
        end)

        it("refuses a tampered cookie", function()
            local s = sign_in()
            local name, v, exp, nonce, mac = s.cookie:match("^(.-)=(v1)%.(%d+)%.(%x+)%.(%x+)$")
            assert.truthy(name)
            local bad = {
                name .. "=" .. v .. "." .. (exp + 100000) .. "." .. nonce .. "." .. mac,
                name .. "=" .. v .. "." .. exp .. "." .. nonce:reverse() .. "." .. mac,
                name .. "=" .. v .. "." .. exp .. "." .. nonce .. "." .. mac:sub(2) .. "0",
                name .. "=" .. v .. "." .. exp .. "." .. nonce .. ".",
                name .. "=garbage",
                name .. "=" .. ("x"):rep(5000),
            }
            for _, cookie in ipairs(bad) do
                local res = call("GET", "/acm-renewal/api/cas",
                                 { session = { cookie = cookie, csrf = s.csrf } })
                assert.equal(401, res.status, cookie)
            end
            assert.equal(0, svc:calls().total)
        end)

        it("signs out: the cookie is cleared and no longer accepted", function()
            local s = sign_in()
            local res = call("DELETE", "/acm-renewal/api/session", { session = s })
            assert.equal(200, res.status, res.body)
            assert.matches("^acm_console=;", res.headers["set-cookie"])
            assert.matches("Max-Age=0", res.headers["set-cookie"], 1, true)
            res = call("GET", "/acm-renewal/api/session", { session = s })
            assert.equal(401, res.status)
            res = call("GET", "/acm-renewal/api/cas", { session = s })
            assert.equal(401, res.status)
        end)

        it("needs the CSRF token to sign out", function()
            local s = sign_in()
            local res = call("DELETE", "/acm-renewal/api/session", { session = s, csrf = false })
            assert.equal(403, res.status)
            res = call("GET", "/acm-renewal/api/session", { session = s })
            assert.equal(200, res.status)
        end)

        it("expires a session after its lifetime", function()
            local short = start_console(root, env_for({ ACMPCA_CONSOLE_SESSION_SECONDS = "1" }))
            local done, ok, late = pcall(function()
                local s = sign_in(nil, short)
                local first = call("GET", "/acm-renewal/api/session", { session = s, srv = short })
                F.socket.sleep(2.2)
                return first, call("GET", "/acm-renewal/api/session", { session = s, srv = short })
            end)
            short:stop()
            assert(done, ok)
            assert.equal(200, ok.status)
            assert.equal(401, late.status)
        end)
    end)

    describe("CSRF", function()
        it("refuses a state-changing request with a session but no CSRF token (403)", function()
            local s = sign_in()
            local body = '{"ca_arn":"' .. ARN .. '"}'
            for _, csrf in ipairs{ false, "", "00", s.csrf .. "0", sign_in().csrf } do
                local res = call("POST", "/acm-renewal", { session = s, csrf = csrf,
                                                           body = body })
                assert.equal(403, res.status, tostring(csrf))
                assert.equal("CsrfTokenInvalid", res.json.error)
                res = call("DELETE", "/acm-renewal?ca_arn=" .. ARN,
                           { session = s, csrf = csrf })
                assert.equal(403, res.status, tostring(csrf))
                res = call("POST", "/acm-renewal/api/fix-all", { session = s, csrf = csrf })
                assert.equal(403, res.status, tostring(csrf))
            end
            assert.equal(0, svc:calls().total)
            assert.equal(0, #svc:permissions(ARN))
        end)

        it("accepts the session's CSRF token", function()
            local s = sign_in()
            local res = call("POST", "/acm-renewal", { session = s,
                                                       body = '{"ca_arn":"' .. ARN .. '"}' })
            assert.equal(201, res.status, res.body)
            assert.equal("created", res.json.status)
        end)

        it("does not ask bearer-token scripts for one", function()
            local res = call("POST", "/acm-renewal", { bearer = true,
                                                       body = '{"ca_arn":"' .. ARN .. '"}' })
            assert.equal(201, res.status, res.body)
            res = call("DELETE", "/acm-renewal?ca_arn=" .. ARN, { bearer = true })
            assert.equal(200, res.status, res.body)
            assert.equal("revoked", res.json.status)
        end)

        it("lets reads through with the cookie alone", function()
            local s = sign_in()
            local res = call("GET", "/acm-renewal?ca_arn=" .. ARN, { session = s, csrf = false })
            assert.equal(200, res.status, res.body)
            assert.same({ ca_arn = ARN, renewal = false }, res.json)
        end)
    end)

    describe("the CA list", function()
        it("answers every CA with its audit verdict and the audit's summary", function()
            local res = call("GET", "/acm-renewal/api/cas", { bearer = true })
            assert.equal(200, res.status, res.body)
            assert.equal(4, #res.json.cas)
            local absent = row_of(res.json.cas, ARN)
            assert.equal("absent.example.com", absent.common_name)
            assert.equal("ACTIVE", absent.status)
            assert.equal("SUBORDINATE", absent.type)
            assert.equal("ABSENT", absent.renewal)
            assert.is_number(absent.not_after)
            assert.matches("no permission for acm.amazonaws.com", absent.finding, 1, true)
            local partial = row_of(res.json.cas, OTHER_ARN)
            assert.equal("PARTIAL", partial.renewal)
            assert.same({ "ListPermissions" }, partial.missing_actions)
            local disabled = row_of(res.json.cas, DISABLED_ARN)
            assert.equal("DISABLED", disabled.status)
            assert.matches("not ACTIVE (DISABLED)", disabled.finding, 1, true)
            assert.matches("re-enable the CA", disabled.fix, 1, true)
            assert.equal(XSS_NAME, row_of(res.json.cas, XSS_ARN).common_name)
            assert.equal(4, res.json.summary.total)
            assert.equal(3, res.json.summary.active)
            assert.equal(false, res.json.summary.compliant)
            assert.equal("4 CAs (3 ACTIVE, 1 DISABLED); renewal: 1 PARTIAL, 3 ABSENT.\n"
                .. "ACM cannot renew from 3 of 3 ACTIVE CAs: run `acmpca ensure-renewal"
                .. " --all` to fix them.", res.json.summary_text)
        end)

        it("works with the session cookie and answers JSON", function()
            local res = call("GET", "/acm-renewal/api/cas", { session = sign_in(), csrf = false })
            assert.equal(200, res.status, res.body)
            assert.matches("^application/json", res.headers["content-type"])
        end)

        it("answers 405 for another method", function()
            local res = call("POST", "/acm-renewal/api/cas", { bearer = true, body = "{}" })
            assert.equal(405, res.status)
            assert.equal(0, svc:calls().total)
        end)

        it("shows a throttled service as a readable 502", function()
            svc:fault("throttle", 1000)
            local res = call("GET", "/acm-renewal/api/cas", { bearer = true })
            svc:clear_faults()
            assert.equal(502, res.status, res.body)
            assert.equal("ThrottlingException", res.json.error)
            assert.is_string(res.json.message)
        end)
    end)

    describe("a CA's permissions", function()
        local function ca(arn, opts)
            return call("GET", "/acm-renewal/api/ca?ca_arn=" .. arn, opts or { bearer = true })
        end

        it("answers an ABSENT CA as editable and unticked", function()
            local res = ca(ARN)
            assert.equal(200, res.status, res.body)
            assert.equal(ARN, res.json.ca.arn)
            assert.equal("absent.example.com", res.json.ca.common_name)
            assert.equal("ACTIVE", res.json.ca.status)
            assert.equal("ABSENT", res.json.renewal)
            assert.equal(true, res.json.editable)
            assert.same({}, res.json.permissions)
            assert.same({ "IssueCertificate", "GetCertificate", "ListPermissions" },
                        res.json.missing_actions)
        end)

        it("answers a partial permission with what is missing, and every delegation", function()
            local res = ca(OTHER_ARN)
            assert.equal(200, res.status, res.body)
            assert.equal("PARTIAL", res.json.renewal)
            assert.same({ "ListPermissions" }, res.json.missing_actions)
            assert.equal(1, #res.json.permissions)
            local p = res.json.permissions[1]
            assert.equal("acm.amazonaws.com", p.principal)
            assert.same({ "IssueCertificate", "GetCertificate" }, p.actions)
            assert.is_number(p.created_at)
        end)

        it("lists a delegation to another principal with its source account", function()
            local res = ca(XSS_ARN)
            assert.equal(200, res.status, res.body)
            assert.equal("ABSENT", res.json.renewal)
            assert.equal("<b>evil</b>.example.com", res.json.permissions[1].principal)
            assert.equal("123456789012", res.json.permissions[1].source_account)
        end)

        it("answers a DISABLED CA as not editable", function()
            local res = ca(DISABLED_ARN)
            assert.equal(200, res.status, res.body)
            assert.equal("DISABLED", res.json.ca.status)
            assert.equal(false, res.json.editable)
        end)

        it("ensure and revoke through the renewal endpoint show in the CA and the list",
           function()
            local s = sign_in()
            local body = '{"ca_arn":"' .. OTHER_ARN .. '"}'
            local res = call("POST", "/acm-renewal", { session = s, body = body })
            assert.equal(200, res.status, res.body)
            assert.equal("repaired", res.json.status)
            assert.equal("COMPLETE", ca(OTHER_ARN).json.renewal)
            local list = call("GET", "/acm-renewal/api/cas", { session = s }).json
            assert.equal("COMPLETE", row_of(list.cas, OTHER_ARN).renewal)
            res = call("DELETE", "/acm-renewal", { session = s, body = body })
            assert.equal(200, res.status, res.body)
            assert.equal("revoked", res.json.status)
            assert.equal("ABSENT", ca(OTHER_ARN).json.renewal)
        end)

        it("answers 400 for a bad ARN without calling the service", function()
            for _, q in ipairs{ "", "?ca_arn=", "?ca_arn=arn:aws:s3:::b",
                                "?ca_arn=" .. ("a"):rep(3000) } do
                local res = call("GET", "/acm-renewal/api/ca" .. q, { bearer = true })
                assert.equal(400, res.status, q)
                assert.equal("BadRequest", res.json.error)
            end
            assert.equal(0, svc:calls().total)
        end)

        it("shows a CA deleted meanwhile as a readable 502", function()
            svc:set_ca(ARN, nil)
            local res = ca(ARN)
            assert.equal(502, res.status, res.body)
            assert.equal("ResourceNotFoundException", res.json.error)
            assert.is_string(res.json.message)
        end)

        it("shows access denied as a readable 502", function()
            svc:fault("error", 1, { status = 400, body = "AccessDeniedException" })
            local res = ca(ARN)
            assert.equal(502, res.status, res.body)
            assert.equal("AccessDeniedException", res.json.error)
        end)
    end)

    describe("fix all", function()
        local function lines(body)
            local out = {}
            for line in body:gmatch("[^\n]+") do
                out[#out + 1] = require("cjson").decode(line)
            end
            return out
        end

        it("streams progress, then each CA's result, and fixes every ACTIVE CA", function()
            local res = call("POST", "/acm-renewal/api/fix-all", { session = sign_in() })
            assert.equal(200, res.status, res.body)
            assert.matches("^application/x%-ndjson", res.headers["content-type"])
            local out = lines(res.body)
            local progress = 0
            for i = 1, #out - 1 do
                assert.is_table(out[i].progress)
                progress = progress + 1
            end
            assert.equal(4, progress)
            local final = out[#out]
            assert.equal(true, final.done)
            local by = {}
            for _, r in ipairs(final.results) do
                by[r.arn] = r
            end
            assert.equal("created", by[ARN].result)
            assert.equal("repaired", by[OTHER_ARN].result)
            assert.equal("skipped", by[DISABLED_ARN].result)
            assert.matches("not ACTIVE (DISABLED)", by[DISABLED_ARN].reason, 1, true)
            assert.equal("created", by[XSS_ARN].result)
            assert.equal(true, final.summary.ok)
            assert.equal(1, #svc:permissions(ARN))
        end)

        it("reports a CA that failed with a readable reason", function()
            svc:fault("error", 1000, { status = 400, body = "AccessDeniedException" })
            local res = call("POST", "/acm-renewal/api/fix-all", { bearer = true })
            svc:clear_faults()
            local out = lines(res.body)
            local final = out[#out]
            assert.is_table(final)
            -- the listing itself is refused: an error line, never a stack trace
            assert.equal("AccessDeniedException", final.error)
            assert.is_string(final.message)
        end)

        it("needs a POST", function()
            local res = call("GET", "/acm-renewal/api/fix-all", { bearer = true })
            assert.equal(405, res.status)
            assert.equal(0, svc:calls().total)
        end)
    end)
end)
