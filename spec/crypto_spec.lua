-- Specs for the hashing primitives of acmpca.sigv4 (OpenSSL EVP underneath):
-- SHA-256 against FIPS 180 examples, HMAC-SHA256 against RFC 4231, hex.
-- The vectors are read from spec/fixtures at run time.

local sigv4 = require "acmpca.sigv4"
local V = require "support.vectors"


local function err_of(f, ...)
    local ok, err = pcall(f, ...)
    assert.is_false(ok, "expected an error")
    return tostring(err)
end


describe("acmpca.sigv4 primitives", function()

    describe("sha256_hex", function()
        local vectors = V.sha256()

        it("has the FIPS 180 vectors", function()
            assert.are.equal(5, #vectors)
        end)

        for _, v in ipairs(vectors) do
            it("digests " .. v.label, function()
                assert.are.equal(v.digest, sigv4.sha256_hex(v.data))
            end)
        end

        it("raises for a non-string", function()
            assert.are.equal("acmpca.sigv4.sha256_hex: data: expected a string, got number",
                             err_of(sigv4.sha256_hex, 1))
            assert.are.equal("acmpca.sigv4.sha256_hex: data: expected a string, got no value",
                             err_of(sigv4.sha256_hex))
        end)
    end)

    describe("hmac_sha256", function()
        local vectors = V.rfc4231()

        it("has the 7 RFC 4231 test cases", function()
            assert.are.equal(7, #vectors)
        end)

        for _, v in ipairs(vectors) do
            it("matches RFC 4231 test case " .. v.case, function()
                local mac = sigv4.hmac_sha256(v.key, v.data)
                assert.are.equal(32, #mac)
                assert.are.equal(v.mac, sigv4.hex(mac):sub(1, #v.mac))
            end)
        end

        it("accepts an empty key and empty data", function()
            assert.are.equal("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
                             sigv4.hex(sigv4.hmac_sha256("", "")))
        end)

        it("raises for non-strings", function()
            assert.are.equal("acmpca.sigv4.hmac_sha256: key: expected a string, got nil",
                             err_of(sigv4.hmac_sha256, nil, "x"))
            assert.are.equal("acmpca.sigv4.hmac_sha256: data: expected a string, got table",
                             err_of(sigv4.hmac_sha256, "k", {}))
        end)
    end)

    describe("hex", function()
        it("writes two lower-case digits per byte", function()
            assert.are.equal("", sigv4.hex(""))
            assert.are.equal("00ff10ab", sigv4.hex("\0\255\16\171"))
            local all = {}
            for i = 0, 255 do
                all[#all + 1] = string.char(i)
            end
            local long = table.concat(all):rep(3)
            local h = sigv4.hex(long)
            assert.are.equal(#long * 2, #h)
            assert.are.equal(long, V.unhex(h))
            assert.is_nil(h:find("[^0-9a-f]"))
        end)

        it("raises for a non-string", function()
            assert.are.equal("acmpca.sigv4.hex: bytes: expected a string, got boolean",
                             err_of(sigv4.hex, true))
        end)
    end)
end)
