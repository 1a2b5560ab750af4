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
end)
