-- acmpca.cli.debug: `acmpca --debug`, a client transport that writes each
-- request and each response (or transport error) to stderr around the
-- transport it wraps.
--
--   opts.transport = debug.wrap(inner, stderr, printable)
--
-- Nothing secret is written: the Authorization header keeps its scheme,
-- credential scope and SignedHeaders but not the access key id past its
-- first four characters, nor the Signature; X-Amz-Security-Token and any
-- header named like a token, secret, password, cookie or credential is
-- "<redacted>"; a URL's user:password@ and JSON members named like a
-- secret (SecretAccessKey, SessionToken, Password, ...) are hidden too.
-- Every field is escaped and bounded for the terminal (the cli's
-- printable).

local type, pairs, tostring = type, pairs, tostring
local concat, sort = table.concat, table.sort
local fmt, gsub, lower, find = string.format, string.gsub, string.lower, string.find
local sub, byte, ipairs = string.sub, string.byte, ipairs

local _M = { _VERSION = "0.2.0" }

-- at most this many characters of a body
local MAX_BODY = 64 * 1024
local REDACTED = "<redacted>"

-- header names whose whole value is hidden
local SECRET_HEADER = { "token", "secret", "password", "cookie", "credential", "api-key" }
-- JSON member names whose string value is hidden (lower case, substring)
local SECRET_MEMBER = { "secret", "token", "password", "privatekey" }


local function secret_header(name)
    local n = lower(name)
    for _, w in ipairs(SECRET_HEADER) do
        if find(n, w, 1, true) then
            return true
        end
    end
    return false
end


-- "AWS4-HMAC-SHA256 Credential=AKID.../scope, SignedHeaders=..., Signature=hex"
-- -> the same with the key id cut to 4 characters and no signature
local function authorization(v)
    v = gsub(v, "Credential=([^/,%s]*)", function(id)
        return "Credential=" .. id:sub(1, 4) .. "****"
    end)
    v = gsub(v, "Signature=[^,%s]*", "Signature=" .. REDACTED)
    if not find(v, "^AWS4%-HMAC%-SHA256 ") then
        return REDACTED -- some other scheme: nothing of it is shown
    end
    return v
end


local function header_value(name, v)
    if type(v) == "table" then
        v = concat(v, ",")
    end
    v = tostring(v)
    if lower(name) == "authorization" then
        return authorization(v)
    elseif secret_header(name) then
        return REDACTED
    end
    return v
end


local function secret_member(name)
    local n = lower(name)
    if n == "nexttoken" then
        return false -- a page's token: not a secret, and worth seeing
    end
    for _, w in ipairs(SECRET_MEMBER) do
        if find(n, w, 1, true) then
            return true
        end
    end
    return false
end


-- the index of the quote that ends the JSON string opening before i
local function string_end(s, i)
    while true do
        local j = find(s, '["\\]', i)
        if not j then
            return #s
        elseif byte(s, j) == 34 then
            return j
        end
        i = j + 2
    end
end


-- "name": "value" members whose name looks secret get "<redacted>";
-- linear: each member name is read once
local function redact_json(body)
    if not find(body, '"%s*:') then
        return body
    end
    local out, n, i = {}, 0, 1
    while true do
        local a, b, name = find(body, '"([%w_%-]+)"%s*:%s*"', i)
        if not a then
            break
        end
        local e = string_end(body, b + 1)
        n = n + 1
        if secret_member(name) then
            out[n] = sub(body, i, b) .. REDACTED .. '"'
        else
            out[n] = sub(body, i, e)
        end
        i = e + 1
    end
    out[n + 1] = sub(body, i)
    return concat(out)
end


local function redact_url(url)
    return (gsub(tostring(url), "://[^/?#@%s]*@", "://***@"))
end


local function write_headers(out, headers, printable)
    if type(headers) ~= "table" then
        return
    end
    local names = {}
    for k in pairs(headers) do
        if type(k) == "string" then
            names[#names + 1] = k
        end
    end
    sort(names, function(a, b) return lower(a) < lower(b) end)
    for _, k in ipairs(names) do
        out[#out + 1] = fmt("    %s: %s", printable(k, 200),
                            printable(header_value(k, headers[k]), 4096))
    end
end


local function write_body(out, body, printable)
    if type(body) ~= "string" or body == "" then
        return
    end
    out[#out + 1] = "    " .. printable(redact_json(body), MAX_BODY)
end


-- debug.wrap(inner, stderr, printable) -> transport
function _M.wrap(inner, stderr, printable)
    local n = 0
    return function(req)
        n = n + 1
        local out = { fmt("acmpca debug: request %d: %s %s", n, printable(tostring(req.method)),
                          printable(redact_url(req.url), 4096)) }
        write_headers(out, req.headers, printable)
        write_body(out, req.body, printable)
        stderr:write(concat(out, "\n"), "\n")
        local res, err = inner(req)
        out = {}
        if res then
            out[1] = fmt("acmpca debug: response %d: %s", n, printable(tostring(res.status)))
            write_headers(out, res.headers, printable)
            write_body(out, res.body, printable)
        else
            local e = type(err) == "table" and err or { message = err }
            out[1] = fmt("acmpca debug: response %d: no response (%s: %s)", n,
                         printable(tostring(e.code or "error"), 100),
                         printable(redact_url(tostring(e.message)), 4096))
        end
        stderr:write(concat(out, "\n"), "\n")
        return res, err
    end
end


return _M
