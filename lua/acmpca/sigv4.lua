--- acmpca.sigv4: AWS Signature Version 4, backed by the C core (acmpca.core):
-- the signer is plain C (src/sigv4.c over src/crypto.c, tested without Lua by
-- spec/c/sigv4_test.c), bound by src/sigv4_lua.c and src/crypto_lua.c.
--
--    sigv4.sign(request, opts)     -> a new headers table (Host, X-Amz-Date,
--                                    [X-Amz-Security-Token], Authorization,
--                                    [X-Amz-Content-Sha256] added)
--    sigv4.presign(request, opts)  -> presigned URL (opts.expires, 1..604800,
--                                    default 3600)
--    sigv4.canonical_request(request, opts) -> creq, signed_headers
--                                    (opts.presign = true: the query form)
--    sigv4.string_to_sign(creq, opts), sigv4.signing_key(secret, yyyymmdd,
--    region, service), sigv4.sha256_hex(data), sigv4.hmac_sha256(key, data),
--    sigv4.hex(bytes)
--
--     request = { method =, url = (or host =, path =, query =),
--                 headers = { Name = "v" | { "v1", "v2" } }, body = "" }
--     opts    = { region =, service =, credentials = { access_key_id =,
--                 secret_access_key =, session_token = }, time = unix seconds or
--                 "YYYYMMDDTHHMMSSZ" (default now), normalize_path = true,
--                 sign_body = false, payload_hash = nil, omit_session_token = false }
--
-- opts.region and opts.service are required by sign, presign,
-- canonical_request and string_to_sign (they make the credential scope
-- "yyyymmdd/region/service/aws4_request"; the canonical request itself only
-- needs them checked, so that its caller learns early): nil raises
-- `"<field>: expected a string, got nil"`, `""` raises `"<field>: expected a
-- non-empty string"`.  signing_key takes them as arguments, as strings.
--
-- X-Amz-Date: the time signed is opts.time (default: now), never a header of
-- the request.  An X-Amz-Date header already in request.headers, in any
-- spelling and with any value, is dropped: canonical_request signs
-- x-amz-date as opts.time, and sign's result holds one X-Amz-Date (that
-- time) instead of the request's.  To sign at the time a request already
-- carries, pass that value as opts.time.  Authorization,
-- X-Amz-Security-Token and X-Amz-Content-Sha256 in the request are replaced
-- the same way.  Host is the other way round: a Host header in the request
-- is kept and signed (a virtual host, a port), else it comes from the URL.
--
-- Misuse raises `"acmpca.sigv4.<function>: <field>: <problem>"`; the secret
-- and the session token never appear in a message.  The derived signing key
-- is cached process-wide (16 entries, keyed on a SHA-256 of the secret),
-- with the hash states that signatures with it tend to share.
--
-- @module acmpca.sigv4

local core = require "acmpca.core"


local _M = {
    _VERSION = "0.2.0",
    sign = core.sign,
    presign = core.presign,
    canonical_request = core.canonical_request,
    string_to_sign = core.string_to_sign,
    signing_key = core.signing_key,
    sha256_hex = core.sha256_hex,
    hmac_sha256 = core.hmac_sha256,
    hex = core.hex,
}


--- sigv4.sign(request, opts) -> a new headers table: the request's headers
-- with Host, X-Amz-Date, [X-Amz-Security-Token], Authorization and
-- [X-Amz-Content-Sha256] added.
-- @function sign
-- @tparam table request
-- @tparam table opts

--- sigv4.presign(request, opts) -> the presigned URL (opts.expires,
-- 1..604800 seconds, default 3600).
-- @function presign
-- @tparam table request
-- @tparam table opts

--- sigv4.canonical_request(request, opts) -> creq, signed_headers
-- (opts.presign = true: the query form).
-- @function canonical_request
-- @tparam table request
-- @tparam table opts

--- sigv4.string_to_sign(creq, opts) -> the string to sign.
-- @function string_to_sign
-- @tparam string creq
-- @tparam table opts

--- sigv4.signing_key(secret, yyyymmdd, region, service) -> the derived
-- key (raw bytes).
-- @function signing_key

--- sigv4.sha256_hex(data) -> lower-case hex SHA-256.
-- @function sha256_hex

--- sigv4.hmac_sha256(key, data) -> raw HMAC-SHA256.
-- @function hmac_sha256

--- sigv4.hex(bytes) -> lower-case hex.
-- @function hex


return _M
