-- The admin endpoint example (examples/openresty) inside a real nginx,
-- against the signature-checking fake ACM PCA.  Tagged #nginx: spec/run.sh
-- runs it in the LuaJIT pass only.

local F = require "support.nginx_fixture"
local nginx = F.nginx
local fake = F.fake
local format = F.format
local ARN = F.ARN
local OTHER_ARN = F.OTHER_ARN
local DISABLED_ARN = F.DISABLED_ARN
local TOKEN = F.TOKEN


describe("examples/openresty #nginx", function()
    local svc, srv, root

    local function call(method, path, opts)
        opts = opts or {}
        local headers = opts.headers or { Authorization = "Bearer " .. TOKEN }
        if opts.json then
            headers["Content-Type"] = "application/json"
        end
        local res, err = nginx.request(srv.port, { method = method, path = path,
                                                   headers = headers, body = opts.body })
        assert(res, err)
        return res
    end

    local function start_example(env)
        local port = nginx.free_port()
        local conf = nginx.render_example(nginx.read_file("examples/openresty/nginx.conf"), port)
        return nginx.start{ conf = conf, port = port, env = env, links = {
            lua = root .. "/lua",
            lib = root .. "/build/jit",
            ["acm_renewal.lua"] = root .. "/examples/openresty/acm_renewal.lua",
            ["acm_auth.lua"] = root .. "/examples/openresty/acm_auth.lua",
        } }
    end

    local function example_env(extra)
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

    lazy_setup(function()
        root = nginx.root()
        local err
        svc, err = fake.start{ cas = { [ARN] = "ACTIVE", [OTHER_ARN] = "ACTIVE",
                                       [DISABLED_ARN] = "DISABLED" },
                               tls = false, delay_ms = 0 }
        assert(svc, err)
        srv = start_example(example_env())
    end)

    lazy_teardown(function()
        if srv then srv:stop() end
        if svc then svc:stop() end
    end)

    before_each(function()
        svc:reset()
    end)

    describe("authorisation", function()
        it("answers 401 without a token and calls nothing", function()
            local res = call("GET", "/acm-renewal?ca_arn=" .. ARN, { headers = {} })
            assert.equal(401, res.status)
            assert.equal("Unauthorized", res.json.error)
            assert.equal('Bearer realm="acm-renewal"', res.headers["www-authenticate"])
            assert.equal(0, svc:calls().total)
        end)

        it("answers 401 for a wrong token and calls nothing", function()
            for _, value in ipairs({ "Bearer wrong", "Bearer " .. TOKEN .. "x",
                                     "Basic " .. TOKEN, TOKEN }) do
                local res = call("POST", "/acm-renewal", { json = true,
                    headers = { Authorization = value }, body = '{"ca_arn":"' .. ARN .. '"}' })
                assert.equal(401, res.status, value)
            end
            assert.equal(0, svc:calls().total)
        end)

        it("refuses everything with 503 when ACMPCA_ADMIN_TOKEN is unset, and logs why",
           function()
            local other = start_example(example_env({ ACMPCA_ADMIN_TOKEN = false }))
            local res = nginx.request(other.port, { path = "/acm-renewal?ca_arn=" .. ARN,
                headers = { Authorization = "Bearer " .. TOKEN } })
            local log = other:error_log()
            other:stop()
            assert.equal(503, res.status)
            assert.equal("AdminTokenNotConfigured", res.json.error)
            assert.matches("ACMPCA_ADMIN_TOKEN is not set", log, 1, true)
            assert.equal(0, svc:calls().total)
        end)
    end)

    describe("bad requests", function()
        it("answers 405 for another method", function()
            local res = call("PUT", "/acm-renewal?ca_arn=" .. ARN)
            assert.equal(405, res.status)
            assert.equal("GET, POST, DELETE", res.headers.allow)
            assert.equal(0, svc:calls().total)
        end)

        it("answers 400 for a bad ARN without calling the service", function()
            local res = call("GET", "/acm-renewal?ca_arn=arn:aws:s3:::bucket")
            assert.equal(400, res.status)
            assert.equal("BadRequest", res.json.error)
            assert.equal("ca_arn: expected arn:<partition>:acm-pca:<region>:<12-digit account>"
                .. ":certificate-authority/<id>", res.json.message)
            assert.equal(0, svc:calls().total)
        end)

        it("passes every ARN the client accepts on to the service", function()
            -- a CA id with '_' and '.' is valid (the model's [\w+=,.@-]+)
            local arn = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/a_b.c"
            local res = call("GET", "/acm-renewal?ca_arn=" .. arn)
            assert.equal(502, res.status, res.body)
            assert.equal("ResourceNotFoundException", res.json.error)
            assert.equal(1, svc:calls().total)
        end)

        it("answers 400 for a missing ARN without calling the service", function()
            local res = call("DELETE", "/acm-renewal", { json = true, body = "{}" })
            assert.equal(400, res.status)
            assert.equal("ca_arn is required", res.json.message)
            assert.equal(0, svc:calls().total)
        end)

        it("answers 400 for a body that is not JSON without calling the service", function()
            local res = call("POST", "/acm-renewal", { json = true, body = "{ca_arn:" })
            assert.equal(400, res.status)
            assert.equal('expected a JSON body {"ca_arn": "arn:aws:acm-pca:..."}',
                res.json.message)
            assert.equal(0, svc:calls().total)
        end)

        it("answers 400 for a JSON ARN that is not a string", function()
            local res = call("POST", "/acm-renewal", { json = true, body = '{"ca_arn": 7}' })
            assert.equal(400, res.status)
            assert.equal("ca_arn is required", res.json.message)
            assert.equal(0, svc:calls().total)
        end)
    end)

    describe("renewal permissions", function()
        it("ensure creates, then reports present; GET sees it; DELETE revokes", function()
            local body = '{"ca_arn":"' .. ARN .. '"}'
            local res = call("POST", "/acm-renewal", { json = true, body = body })
            assert.equal(201, res.status, res.body)
            assert.same({ ca_arn = ARN, renewal = true, status = "created" }, res.json)
            assert.equal(1, #svc:permissions(ARN))

            res = call("POST", "/acm-renewal", { json = true, body = body })
            assert.equal(200, res.status, res.body)
            assert.same({ ca_arn = ARN, renewal = true, status = "present" }, res.json)

            res = call("GET", "/acm-renewal?ca_arn=" .. ARN)
            assert.equal(200, res.status, res.body)
            assert.same({ ca_arn = ARN, renewal = true }, res.json)

            res = call("DELETE", "/acm-renewal?ca_arn=" .. ARN)
            assert.equal(200, res.status, res.body)
            assert.equal(false, res.json.renewal)
            assert.equal(0, #svc:permissions(ARN))

            res = call("GET", "/acm-renewal?ca_arn=" .. ARN)
            assert.same({ ca_arn = ARN, renewal = false }, res.json)

            res = call("DELETE", "/acm-renewal", { json = true, body = body })
            assert.equal(200, res.status, res.body)
            assert.equal("absent", res.json.status)
        end)

        it("answers 502 with the code when the CA is not ACTIVE", function()
            local body = '{"ca_arn":"' .. DISABLED_ARN .. '"}'
            local res = call("POST", "/acm-renewal", { json = true, body = body })
            assert.equal(502, res.status, res.body)
            assert.equal("InvalidStateException", res.json.error)
        end)

        it("answers 502 with the code of an injected service error", function()
            svc:fault("error", 1, { status = 400, body = "AccessDeniedException" })
            local res = call("GET", "/acm-renewal?ca_arn=" .. ARN)
            assert.equal(502, res.status, res.body)
            assert.equal("AccessDeniedException", res.json.error)
            assert.equal(1, svc:calls().total)
        end)

        it("signs with the credentials from the env directives", function()
            call("GET", "/acm-renewal?ca_arn=" .. ARN)
            local rec = svc:last_request()
            assert.equal(200, rec.status)
            assert.matches("Credential=" .. fake.credentials.access_key_id .. "/",
                fake.header(rec, "authorization"), 1, true)
        end)
    end)

    describe("concurrency", function()
        it("serves 20 requests at once from one worker while each call waits 200 ms",
           function()
            local created = call("POST", "/acm-renewal", { json = true,
                                                            body = '{"ca_arn":"' .. ARN .. '"}' })
            assert.equal(201, created.status, created.body)
            svc:set_delay(200)
            local before = svc:calls().ListPermissions
            local reqs = {}
            for i = 1, 20 do
                reqs[i] = { method = "GET",
                            path = "/acm-renewal?ca_arn=" .. (i % 2 == 0 and ARN or OTHER_ARN),
                            headers = { Authorization = "Bearer " .. TOKEN } }
            end
            -- Structural proof, no clock involved: when the first answer is
            -- back, how many calls has the service received?  A worker that
            -- blocked on each call would have sent one (two at most).
            local at_first
            local results, seconds = nginx.concurrent(srv.port, reqs, 30, function()
                at_first = svc:calls().ListPermissions - before
            end)
            svc:set_delay(0)
            for i = 1, 20 do
                local res = results[i]
                assert.truthy(res, "request " .. i .. " did not complete")
                assert.equal(200, res.status, res.body)
                assert.same({ ca_arn = i % 2 == 0 and ARN or OTHER_ARN, renewal = i % 2 == 0 },
                    res.json)
            end
            assert.equal(before + 20, svc:calls().ListPermissions)
            print(format("\nnginx: 20 concurrent requests, 200 ms each at the service:"
                .. " %.3f s wall (serial would be >= 4 s); %d calls in flight at the"
                .. " first answer", seconds, at_first))
            assert.is_true(at_first >= 10, "calls in flight at the first answer: " .. at_first)
        end)
    end)
end)
