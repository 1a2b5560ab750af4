-- acmpca.sigv4: presigning and the parts of a signature (canonical
-- request, string to sign, signing key).

local F = require "support.sigv4_fixture"
local sigv4 = F.sigv4
local err_of = F.err_of
local merge = F.merge
local opts = F.opts
local req = F.req
local creds = F.creds


describe("acmpca.sigv4 parts", function()
    describe("presign", function()
        it("returns the URL with the request's query kept in front", function()
            local url = sigv4.presign(req({ url = "http://h.example:8080/a/../b?z=1&a=2" }),
                                      opts({ expires = 60 }))
            assert.matches("^http://h%.example:8080/a/%.%./b%?z=1&a=2&X%-Amz%-Algorithm="
                           .. "AWS4%-HMAC%-SHA256&X%-Amz%-Credential=AKIDEXAMPLE%%2F20150830"
                           .. "%%2Fus%-east%-1%%2Fservice%%2Faws4_request&X%-Amz%-Date="
                           .. "20150830T123600Z&X%-Amz%-SignedHeaders=host&X%-Amz%-Expires=60"
                           .. "&X%-Amz%-Signature=%x+$", url)
        end)

        it("defaults expires to 3600 and uses https for host= requests", function()
            local url = sigv4.presign({ method = "GET", host = "h.example", path = "/p" }, opts())
            assert.matches("^https://h%.example/p%?X%-Amz%-Algorithm=", url)
            assert.matches("&X-Amz-Expires=3600&", url, 1, true)
        end)

        it("puts the session token in the URL and signs it unless omitted", function()
            local o = opts({ credentials = creds({ session_token = "a/b+c=" }) })
            local url = sigv4.presign(req(), o)
            assert.matches("&X-Amz-Security-Token=a%2Fb%2Bc%3D&X-Amz-Signature=", url, 1, true)
            local creq = sigv4.canonical_request(req(), merge(o, { presign = true }))
            assert.matches("X-Amz-Security-Token=a%2Fb%2Bc%3D", creq, 1, true)
            o.omit_session_token = true
            local url2 = sigv4.presign(req(), o)
            assert.matches("&X-Amz-Security-Token=a%2Fb%2Bc%3D&X-Amz-Signature=", url2, 1, true)
            assert.are_not.equal(url, url2)
            creq = sigv4.canonical_request(req(), merge(o, { presign = true }))
            assert.is_nil(creq:find("Security", 1, true))
        end)

        it("raises for expires out of range", function()
            for _, e in ipairs({ 0, -1, 604801, 1.5, "60", 0 / 0, math.huge }) do
                assert.are.equal("acmpca.sigv4.presign: expires: expected an integer from 1 "
                                 .. "to 604800",
                                 err_of(sigv4.presign, req(), opts({ expires = e })))
            end
            assert.is_string(sigv4.presign(req(), opts({ expires = 604800 })))
            assert.is_string(sigv4.presign(req(), opts({ expires = 1 })))
        end)

        it("raises for the same bad input as sign, naming presign", function()
            assert.are.equal("acmpca.sigv4.presign: url: bad port",
                             err_of(sigv4.presign, req({ url = "https://h:x/" }), opts()))
            assert.are.equal("acmpca.sigv4.presign: header \"A\": value contains CR, LF or NUL",
                             err_of(sigv4.presign, req({ headers = { A = "\n" } }), opts()))
        end)
    end)

    describe("canonical_request", function()
        it("lower-cases, trims and merges headers, keeping list order", function()
            local r = req({ headers = {
                ["X-B"] = { "  two   words ", "\tthree\t" },
                ["x-b"] = "after",
                ["X-A"] = "",
            } })
            local creq, signed = sigv4.canonical_request(r, opts())
            assert.are.equal("host;x-a;x-amz-date;x-b", signed)
            assert.matches("\nx-a:\nx-amz-date:20150830T123600Z\nx-b:two words,three,after\n\n",
                           creq, 1, true)
        end)

        it("sorts and re-encodes the query", function()
            local r = req({ url = "https://h/?b=%7e&a=2&a=1&c&%41=x+y&d=%2f%zz" })
            local creq = sigv4.canonical_request(r, opts())
            assert.are.equal("A=x%2By&a=1&a=2&b=~&c=&d=%2F%25zz", creq:match("^GET\n/\n([^\n]*)"))
        end)

        it("normalizes the path unless normalize_path is false", function()
            local cases = {
                { "/a/./b/../c//d/", "/a/c/d/", "/a/./b/../c//d/" },
                { "/..", "/", "/.." },
                { "/a b/%41", "/a%20b/%2541", "/a%20b/%2541" },
                { "//", "/", "//" },
            }
            for _, c in ipairs(cases) do
                local r = req({ url = "https://h" .. c[1] })
                assert.are.equal(c[2], sigv4.canonical_request(r, opts()):match("^GET\n([^\n]*)"))
                local raw = sigv4.canonical_request(r, opts({ normalize_path = false }))
                assert.are.equal(c[3], raw:match("^GET\n([^\n]*)"))
            end
        end)

        it("works without credentials for the header form", function()
            local o = opts()
            o.credentials = nil
            local creq, signed = sigv4.canonical_request(req(), o)
            assert.are.equal("host;x-amz-date", signed)
            assert.matches("^GET\n/\n\nhost:example.amazonaws.com\n", creq)
        end)

        it("raises for bad input, naming canonical_request", function()
            assert.are.equal("acmpca.sigv4.canonical_request: method: expected one of GET, HEAD, "
                             .. "POST, PUT, DELETE, PATCH, OPTIONS, got \"x\"",
                             err_of(sigv4.canonical_request, req({ method = "x" }), opts()))
            local o = opts({ presign = true })
            o.credentials = nil
            assert.are.equal("acmpca.sigv4.canonical_request: credentials: expected a table, "
                             .. "got nil", err_of(sigv4.canonical_request, req(), o))
        end)
    end)

    describe("string_to_sign", function()
        it("builds algorithm, date, scope and the canonical request's hash", function()
            assert.are.equal("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/"
                             .. "aws4_request\n" .. sigv4.sha256_hex("creq"),
                             sigv4.string_to_sign("creq", opts()))
        end)

        it("raises for bad input", function()
            assert.are.equal("acmpca.sigv4.string_to_sign: canonical_request: expected a "
                             .. "string, got nil", err_of(sigv4.string_to_sign, nil, opts()))
            assert.are.equal("acmpca.sigv4.string_to_sign: time: expected unix seconds or a "
                             .. "valid \"YYYYMMDDTHHMMSSZ\" timestamp",
                             err_of(sigv4.string_to_sign, "x", opts({ time = "x" })))
            assert.are.equal("acmpca.sigv4.string_to_sign: opts: expected a table, got no value",
                             err_of(sigv4.string_to_sign, "x"))
        end)
    end)

    describe("signing_key", function()
        it("matches the example of the AWS documentation", function()
            local key = sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                          "20120215", "us-east-1", "iam")
            assert.are.equal(32, #key)
            assert.are.equal("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
                             sigv4.hex(key))
        end)

        it("equals the HMAC chain it is made of (cached or not)", function()
            local function chain(secret, date, region, service)
                local k = sigv4.hmac_sha256("AWS4" .. secret, date)
                k = sigv4.hmac_sha256(k, region)
                k = sigv4.hmac_sha256(k, service)
                return sigv4.hmac_sha256(k, "aws4_request")
            end
            local long = ("s"):rep(1000)
            for _ = 1, 2 do
                assert.are.equal(chain("abc", "20200101", "eu-west-1", "acm-pca"),
                                 sigv4.signing_key("abc", "20200101", "eu-west-1", "acm-pca"))
                assert.are.equal(chain(long, "20200101", ("r"):rep(100), "s"),
                                 sigv4.signing_key(long, "20200101", ("r"):rep(100), "s"))
            end
        end)

        it("raises for bad input without showing the secret", function()
            assert.are.equal("acmpca.sigv4.signing_key: secret: expected a string, got nil",
                             err_of(sigv4.signing_key, nil, "20120215", "r", "s"))
            assert.are.equal("acmpca.sigv4.signing_key: yyyymmdd: expected 8 digits",
                             err_of(sigv4.signing_key, "SECRETX", "2012-02-15", "r", "s"))
            assert.are.equal("acmpca.sigv4.signing_key: region: expected a string, got number",
                             err_of(sigv4.signing_key, "SECRETX", "20120215", 1, "s"))
            assert.are.equal("acmpca.sigv4.signing_key: service: contains a space, control "
                             .. "character or one of / , ; =",
                             err_of(sigv4.signing_key, "SECRETX", "20120215", "r", "a b"))
        end)
    end)

    describe("region and service", function()
        it("are required by every function that builds a scope", function()
            for _, name in ipairs{ "canonical_request", "sign", "presign" } do
                for _, field in ipairs{ "region", "service" } do
                    local o = opts()
                    o[field] = nil
                    assert.are.equal(("acmpca.sigv4.%s: %s: expected a string, got nil")
                                     :format(name, field), err_of(sigv4[name], req(), o))
                    o[field] = ""
                    assert.are.equal(("acmpca.sigv4.%s: %s: expected a non-empty string")
                                     :format(name, field), err_of(sigv4[name], req(), o))
                end
            end
            local o = opts()
            o.region = nil
            assert.are.equal("acmpca.sigv4.string_to_sign: region: expected a string, got nil",
                             err_of(sigv4.string_to_sign, "GET\n/\n", o))
        end)
    end)

    describe("an X-Amz-Date header in the request", function()
        local function with_date(name, value)
            return req({ headers = { [name] = value } })
        end

        it("is replaced by opts.time in the canonical request", function()
            local creq = sigv4.canonical_request(with_date("X-Amz-Date", "20991231T235959Z"),
                                                 opts())
            assert.matches("\nx-amz-date:20150830T123600Z\n", creq, 1, true)
            assert.is_nil(creq:find("2099", 1, true))
        end)

        it("is replaced in sign's headers, whatever its spelling or value", function()
            local plain = sigv4.sign(req(), opts())
            for _, name in ipairs{ "X-Amz-Date", "x-amz-date", "X-AMZ-DATE" } do
                for _, value in ipairs{ "20991231T235959Z", "junk" } do
                    local h = sigv4.sign(with_date(name, value), opts())
                    assert.are.equal("20150830T123600Z", h["X-Amz-Date"])
                    if name ~= "X-Amz-Date" then
                        assert.is_nil(h[name])
                    end
                    assert.are.equal(plain.Authorization, h.Authorization)
                end
            end
        end)

        it("unlike a Host header, which is kept and signed", function()
            local h = sigv4.sign(req({ headers = { host = "example.amazonaws.com:8443" } }),
                                 opts())
            assert.are.equal("example.amazonaws.com:8443", h.host)
            assert.is_nil(h.Host)
            local creq = sigv4.canonical_request(
                req({ headers = { Host = "example.amazonaws.com:8443" } }), opts())
            assert.matches("\nhost:example.amazonaws.com:8443\n", creq, 1, true)
        end)

        it("does not set the time: without opts.time the signature is of now", function()
            local o = opts()
            o.time = nil
            local h = sigv4.sign(with_date("X-Amz-Date", "20150830T123600Z"), o)
            assert.are_not.equal("20150830T123600Z", h["X-Amz-Date"])
            assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", h["X-Amz-Date"])
        end)
    end)

    describe("the README's snippet", function()
        -- Exactly the code the README shows (proposed for its Signature V4
        -- section): it reproduces AWS's published vector get-vanilla.
        local SNIPPET = [==[
local sigv4 = require "acmpca.sigv4"

-- AWS's SigV4 test suite, get-vanilla: GET / on example.amazonaws.com
local request = { method = "GET", url = "https://example.amazonaws.com/" }
local opts = {
    region = "us-east-1", service = "service",
    credentials = { access_key_id = "AKIDEXAMPLE",
                    secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
    time = "20150830T123600Z",  -- an X-Amz-Date header in request would be replaced
}
local creq = sigv4.canonical_request(request, opts)
print(creq)                       -- get-vanilla/header-canonical-request.txt
print(sigv4.string_to_sign(creq, opts)) -- get-vanilla/header-string-to-sign.txt
print(sigv4.sign(request, opts).Authorization)
-- AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,
-- SignedHeaders=host;x-amz-date,
-- Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
]==]
        local DIR = "spec/fixtures/sigv4-suite-v4/get-vanilla/"

        local function read(name)
            local f = assert(io.open(DIR .. name, "rb"))
            local s = f:read("*a")
            f:close()
            return s
        end

        local function run_snippet()
            local printed = {}
            local env = setmetatable({ print = function(s)
                printed[#printed + 1] = s
            end }, { __index = _G })
            local fn
            if rawget(_G, "setfenv") then
                fn = assert(loadstring(SNIPPET, "=README"))
                setfenv(fn, env)
            else
                fn = assert(load(SNIPPET, "=README", "t", env))
            end
            fn()
            return printed
        end

        it("prints AWS's canonical request, string to sign and Authorization", function()
            local printed = run_snippet()
            assert.are.equal(3, #printed)
            assert.are.equal(read("header-canonical-request.txt"), printed[1])
            assert.are.equal(read("header-string-to-sign.txt"), printed[2])
            local auth = read("header-signed-request.txt"):match("\nAuthorization:([^\n]+)")
            assert.are.equal(auth, printed[3])
            local sig = printed[3]:match("Signature=(%x+)$")
            assert.are.equal(read("header-signature.txt"):match("%x+"), sig)
            -- the comment under the snippet says the same, on three lines
            local a, b, c = SNIPPET:match("\n%-%- (AWS4%-HMAC%-SHA256 [^\n]+)\n%-%- ([^\n]+)"
                                          .. "\n%-%- ([^\n]+)\n$")
            assert.are.equal(auth, table.concat({ a, b, c }, " "))
        end)

        -- the ```lua block of text that holds the snippet's marker line, or nil
        local MARKER = "-- AWS's SigV4 test suite, get-vanilla"
        local function block_of(text)
            local at = text:find(MARKER, 1, true)
            if not at then
                return nil
            end
            local first = text:sub(1, at):match(".*()```lua\n")
            local last = text:find("\n```", at, true)
            return first and last and text:sub(first + 7, last) or ""
        end

        it("is found in a Markdown text by its marker line", function()
            assert.are.equal(SNIPPET, block_of("# x\n\n```lua\nlocal a\n```\n\n```lua\n"
                                               .. SNIPPET .. "```\n\nmore\n"))
            assert.is_nil(block_of("no snippet here"))
        end)

        it("is the one the README shows, once the README shows it", function()
            local f = io.open("README.md", "rb")
            local readme = f and f:read("*a") or ""
            if f then
                f:close()
            end
            local shown = block_of(readme)
            if not shown then
                pending("README.md does not show the get-vanilla snippet yet")
                return
            end
            assert.are.equal(SNIPPET, shown)
        end)
    end)
end)
