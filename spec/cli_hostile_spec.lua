-- The `acmpca` command against a service that answers badly: a NextToken
-- handed out twice, timestamps out of any calendar, messages and names
-- carrying terminal escapes, and an --endpoint-url with a password in it.
-- The command must stop, print something sane and never echo the secret.

local cjson = require "cjson.safe"
local acmpca = require "acmpca"
local cli = require "acmpca.cli"

local buffer = require("helpers").buffer

local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "not-a-real-secret" }

-- an OSC title change, then red, a carriage return (overwrites the line),
-- a C1 CSI (U+009B), DEL, a stray byte and an overlong '/'
local EVIL = "\27]0;pwned\7\27[31m" .. "\r" .. "\194\155" .. "2J" .. "\127" .. "\255" .. "\192\175"


-- A transport answering each operation with answers[name] (a body table,
-- a response, or a function(req, n) of either); records the targets.
local function hostile(answers)
    local t = { calls = {}, count = {} }
    function t.fn(req)
        local name = req.headers["X-Amz-Target"]:match("%.(%w+)$")
        t.calls[#t.calls + 1] = name
        t.count[name] = (t.count[name] or 0) + 1
        local a = answers[name]
        if type(a) == "function" then
            a = a(req, t.count[name])
        end
        if type(a) == "string" then
            a = { status = 200, body = a }
        elseif a.status == nil then
            a = { status = 200, body = assert(cjson.encode(a)) }
        end
        a.headers = a.headers or { ["x-amzn-requestid"] = "rid-1",
                                   ["content-type"] = "application/x-amz-json-1.1" }
        return a
    end
    return t
end


-- A client whose method results pass through tamper(method, res) first:
-- what a client could hand back whatever the wire said (response.c may
-- refuse a timestamp out of range before the command sees it).
local function tampered(c, tamper)
    return setmetatable({}, { __index = function(_, k)
        local v = c[k]
        if type(v) ~= "function" then
            return v
        end
        return function(_, ...)
            local res, err = v(c, ...)
            if res then
                tamper(k, res)
            end
            return res, err
        end
    end })
end


-- run argv with the client over transport t; code, stdout, stderr
local function run(argv, t, extra, tamper)
    local out, err = buffer(), buffer()
    local env = {
        stdout = out, stderr = err, sleep = function() end,
        new = function(opts)
            opts.transport, opts.credentials, opts.region = t.fn, CREDS, "us-east-1"
            opts.profile, opts.endpoint = nil, nil
            local c = acmpca.new(opts)
            return tamper and tampered(c, tamper) or c
        end,
    }
    for k, v in pairs(extra or {}) do
        env[k] = v
    end
    local code = cli.main(argv, env)
    return code, out.text, err.text
end


-- nothing a terminal would act on: C0 controls but LF (and TAB where
-- allowed), DEL, C1 controls, or bytes that are not UTF-8
local function assert_inert(s, allow_tab)
    local bad = allow_tab and "[%z\1-\8\11-\31\127]" or "[%z\1-\9\11-\31\127]"
    local at = s:find(bad)
    assert.is_nil(at, at and ("control byte %d at %d in %q"):format(s:byte(at), at,
                                                                    s:sub(at - 20, at + 20)))
    assert.is_nil(s:find("\194[\128-\159]"), "a raw C1 control")
    local i, n = 1, #s
    while i <= n do
        local c = s:byte(i)
        local len = c < 0x80 and 1 or c >= 0xC2 and c <= 0xDF and 2
            or c >= 0xE0 and c <= 0xEF and 3 or c >= 0xF0 and c <= 0xF4 and 4 or nil
        assert.truthy(len, ("byte %d at %d is not UTF-8"):format(c, i))
        for j = i + 1, i + len - 1 do
            local cc = s:byte(j)
            assert.truthy(cc and cc >= 0x80 and cc <= 0xBF, "truncated UTF-8 at " .. i)
        end
        i = i + len
    end
end


local function permission(over)
    local p = { CertificateAuthorityArn = ARN, CreatedAt = 1700000000,
                Principal = "acm.amazonaws.com", SourceAccount = "111122223333",
                Actions = { "IssueCertificate" }, Policy = "{}" }
    for k, v in pairs(over or {}) do
        p[k] = v
    end
    return p
end


describe("acmpca.cli against a hostile service", function()

    describe("list-permissions", function()
        it("stops with PaginationLoop when a NextToken comes back twice", function()
            local t = hostile{
                ListPermissions = function(_, n)
                    -- gives up after 50 pages, so a command that loops still ends
                    return { Permissions = { permission() },
                             NextToken = n < 50 and "again" or nil }
                end,
            }
            local code, out, err = run({ "list-permissions", "--certificate-authority-arn",
                                         ARN }, t)
            assert.are.equal(1, code)
            assert.are.equal("", out)
            assert.truthy(err:find("An error occurred (PaginationLoop) when calling the "
                                   .. "ListPermissions operation", 1, true), err)
            assert.are.equal(2, t.count.ListPermissions)
        end)

        it("stops the same way with --max-items and --page-size", function()
            local t = hostile{
                ListPermissions = function(_, n)
                    return { Permissions = { permission() },
                             NextToken = n < 50 and ("t" .. (n % 3)) or nil }
                end,
            }
            local code, _, err = run({ "list-permissions", "--certificate-authority-arn", ARN,
                                       "--max-items", "40", "--page-size", "1" }, t)
            assert.are.equal(1, code)
            assert.truthy(err:find("PaginationLoop", 1, true), err)
            assert.are.equal(4, t.count.ListPermissions)
        end)

        local times = {
            { 1e300, 1e300, "1e+300" },
            { -1e300, -1e300, "-1e+300" },
            { math.huge, "Infinity", "Infinity" },
            { -math.huge, "-Infinity", "-Infinity" },
            { 0 / 0, "NaN", "NaN" },
            { 2^53 * 4, 2^53 * 4, "3.6028797018964e+16" },
            { 253402300800, 253402300800, "253402300800" },
            { 253402300799.5, "9999-12-31T23:59:59.500000+00:00",
              "9999-12-31T23:59:59.500000+00:00" },
            { -62135596799.75, "0001-01-01T00:00:00.250000+00:00",
              "0001-01-01T00:00:00.250000+00:00" },
            { 253402300799, "9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59+00:00" },
            { -62135596800, "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+00:00" },
            { -62135596801, -62135596801, "-62135596801" },
        }
        for _, case in ipairs(times) do
            local value, as_json, as_text = case[1], case[2], case[3]
            it("prints a CreatedAt of " .. tostring(value) .. " in every format", function()
                local t = hostile{ ListPermissions = { Permissions = { permission() } } }
                local function tamper(method, res)
                    if method == "list_permissions" then
                        res.permissions[1].created_at = value
                    end
                end
                local code, out, err = run({ "list-permissions", "--certificate-authority-arn",
                                             ARN }, t, nil, tamper)
                assert.are.equal(0, code, err)
                assert.are.equal("", err)
                local doc = cjson.decode(out)
                assert.is_table(doc, out)
                assert.are.equal(as_json, doc.Permissions[1].CreatedAt)
                code, out, err = run({ "list-permissions", "--certificate-authority-arn", ARN,
                                       "--output", "text" }, t, nil, tamper)
                assert.are.equal(0, code, err)
                assert.truthy(out:find("PERMISSIONS\t" .. ARN .. "\t" .. as_text
                                       .. "\t{}\tacm.amazonaws.com\t111122223333\n", 1, true),
                              out)
            end)
        end

        it("escapes what the service says in text output, and bounds it", function()
            local t = hostile{
                ListPermissions = { Permissions = {
                    permission{ Principal = "acm" .. EVIL .. ".amazonaws.com\n",
                                Actions = { "Get\27[2JCertificate" } },
                    permission{ Principal = ("p"):rep(100000) },
                } },
            }
            local code, out, err = run({ "list-permissions", "--certificate-authority-arn",
                                         ARN, "--output", "text" }, t)
            assert.are.equal(0, code, err)
            assert_inert(out, true)
            assert.truthy(out:find("acm\\x1b]0;pwned\\x07\\x1b[31m\\r\\u009b2J\\x7f\\xff"
                                   .. "\\xc0\\xaf.amazonaws.com\\n\t", 1, true), out)
            assert.truthy(out:find("ACTIONS\tGet\\x1b[2JCertificate\n", 1, true), out)
            assert.truthy(out:find(("p"):rep(997) .. "...\t", 1, true))
            assert.is_nil(out:find(("p"):rep(998), 1, true))
            assert.are.equal(4, select(2, out:gsub("\n", "")))
        end)

        it("prints JSON that keeps the text but no raw control, C1 or stray byte", function()
            local principal = "acm" .. EVIL .. ".amazonaws.com"
            local t = hostile{ ListPermissions = { Permissions = {
                permission{ Principal = principal } } } }
            local code, out, err = run({ "list-permissions", "--certificate-authority-arn",
                                         ARN }, t)
            assert.are.equal(0, code, err)
            assert_inert(out)
            assert.truthy(out:find("\\u001b]0;pwned\\u0007\\u001b[31m\\r\\u009b2J\\u007f", 1,
                                   true), out)
            local doc = assert(cjson.decode(out))
            assert.are.equal("acm\27]0;pwned\7\27[31m\r\194\155" .. "2J\127\239\191\189"
                             .. "\239\191\189\239\191\189.amazonaws.com",
                             doc.Permissions[1].Principal)
        end)
    end)

    describe("service errors", function()
        it("are printed escaped and bounded", function()
            local t = hostile{
                ListPermissions = { status = 400, body = cjson.encode{
                    __type = "AccessDeniedException",
                    message = EVIL .. ("A"):rep(100 * 1024) } },
            }
            local t0 = os.clock()
            local code, out, err = run({ "list-permissions", "--certificate-authority-arn",
                                         ARN }, t)
            -- a generous bound: a pattern that backtracks takes a minute here
            assert.is_true(os.clock() - t0 < 5, "took " .. (os.clock() - t0) .. " s")
            assert.are.equal(1, code)
            assert.are.equal("", out)
            assert.are.equal("\n", err:sub(-1))
            assert_inert(err:sub(1, -2))
            assert.truthy(err:find("operation: \\x1b]0;pwned\\x07\\x1b[31m\\r\\u009b2J", 1,
                                   true), err)
            assert.truthy(err:find("AAA...\n$"), err:sub(-20))
            assert.is_true(#err < 1200, #err)
        end)

        it("never echo a password given in a URL", function()
            local t = hostile{
                ListPermissions = function()
                    return { status = 500, body = cjson.encode{
                        __type = "InternalFailure",
                        message = "could not reach https://bob:hunter2@ca.example.com/x" } }
                end,
            }
            local code, _, err = run({ "list-permissions", "--certificate-authority-arn",
                                       ARN }, t)
            assert.are.equal(1, code)
            assert.is_nil(err:find("hunter2", 1, true), err)
            assert.is_nil(err:find("bob:", 1, true), err)
            assert.truthy(err:find("https://***@ca.example.com/x", 1, true), err)
        end)
    end)

    describe("--endpoint-url", function()
        local urls = {
            "http://user:s3cret@127.0.0.1:9/",
            "https://user:s3cret@acm-pca.example.com",
            "ftp://user:s3cret@127.0.0.1:9/",
            "http://user:s3cret@[::1]:9/path@x",
            "http://:s3cret@127.0.0.1:9",
        }
        for _, url in ipairs(urls) do
            it("is never echoed with its user:password (" .. url .. ")", function()
                for _, argv in ipairs{
                    { "has-renewal", "--certificate-authority-arn", ARN, "--endpoint-url", url },
                    { "list-permissions", "--certificate-authority-arn", ARN,
                      "--endpoint-url=" .. url, "--region", "us-east-1" },
                } do
                    local out, err = buffer(), buffer()
                    local code = cli.main(argv, { stdout = out, stderr = err })
                    assert.are.equal(2, code)
                    assert.are.equal("", out.text)
                    assert.is_nil(err.text:find("s3cret", 1, true), err.text)
                    assert.is_nil(err.text:find("user:", 1, true), err.text)
                    assert.truthy(err.text:find("argument --endpoint-url: ", 1, true), err.text)
                    assert.truthy(err.text:find("***@", 1, true), err.text)
                end
            end)
        end
    end)

    describe("audit", function()
        local function fleet(not_after, cn, status)
            return hostile{
                ListCertificateAuthorities = '{"CertificateAuthorities":[{"Arn":"' .. ARN
                    .. '","Type":"SUBORDINATE","Status":"' .. (status or "ACTIVE")
                    .. '","NotAfter":' .. not_after .. ',"CertificateAuthorityConfiguration":'
                    .. '{"KeyAlgorithm":"RSA_2048","SigningAlgorithm":"SHA256WITHRSA",'
                    .. '"Subject":{"CommonName":' .. cjson.encode(cn or "ca1") .. '}}}]}',
                ListPermissions = { Permissions = {} },
            }
        end

        for _, na in ipairs{ 1e300, -1e300, math.huge, -math.huge, 0 / 0 } do
            it("prints a NotAfter of " .. tostring(na) .. " in every format", function()
                local function tamper(method, rows)
                    if method == "audit" then
                        rows[1].not_after = na
                    end
                end
                for _, output in ipairs{ "json", "text", "table" } do
                    local code, out, err = run({ "audit", "--output", output }, fleet("1700000000"),
                                               nil, tamper)
                    assert.are.equal(1, code, err) -- ABSENT: not compliant
                    assert.are.equal("", err)
                    assert.truthy(out:find("ABSENT", 1, true), out)
                    if output == "json" then
                        local doc = cjson.decode(out)
                        assert.is_table(doc, out)
                        local want = na ~= na and "NaN" or na == math.huge and "Infinity"
                            or na == -math.huge and "-Infinity" or na
                        assert.are.equal(want, doc.CertificateAuthorities[1].NotAfter)
                    end
                end
            end)
        end

        it("escapes a common name, a status, an ARN and a finding in every format", function()
            local function tamper(method, rows)
                if method == "audit" then
                    local r = rows[1]
                    r.common_name = "ca" .. EVIL .. ("x"):rep(100000)
                    r.status = "ACTIVE" .. EVIL
                    r.arn = "arn:" .. EVIL .. ("y"):rep(100000)
                    r.finding = "finding" .. EVIL .. ("z"):rep(100000)
                end
            end
            for _, output in ipairs{ "json", "text", "table" } do
                local code, out, err = run({ "audit", "--output", output },
                                           fleet("1700000000"), nil, tamper)
                assert.are.equal(1, code, err)
                assert_inert(out, output == "text")
                assert_inert(err)
                if output ~= "json" then
                    assert.truthy(out:find("ca\\x1b]0;pwned", 1, true), out)
                    assert.is_true(#out < 4000, output .. " " .. #out)
                else
                    local doc = assert(cjson.decode(out))
                    assert.are.equal("ca\27]0;pwned", doc.CertificateAuthorities[1].CommonName
                                     :sub(1, 11))
                end
            end
        end)
    end)
end)
