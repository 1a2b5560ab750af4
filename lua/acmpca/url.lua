-- acmpca.url: the one URL parser of the Lua layer (the cosocket transport,
-- the credential chain, the spec stand-ins and the fake service use it;
-- the libcurl transport hands URLs to libcurl).
--
--   local url = require "acmpca.url"
--   local u, err = url.parse("https://[fd00:ec2::23]:8443/v1/creds?x=1#top")
--   --> { scheme = "https", host = "fd00:ec2::23", ipv6 = true, port = 8443,
--         path = "/v1/creds", query = "x=1", target = "/v1/creds?x=1",
--         host_header = "[fd00:ec2::23]:8443" }
--
-- Absolute http and https URLs only.  The scheme and host come back in
-- lower case, an IPv6 literal without its brackets (ipv6 = true), the port
-- as a number (80 or 443 when absent), the path "/" when absent, the query
-- without its "?" (nil when absent), target as the request line wants it,
-- and host_header as the Host header wants it (the port left out when it
-- is the scheme's).  The fragment is dropped.
--
-- Refused with nil and a message: a space, CR, LF, NUL or any other
-- control character anywhere (they would split a request line or a
-- header), userinfo ("user:pass@"), a missing or malformed host, a port
-- that is not 1-65535.  Messages never repeat the URL (it may hold a
-- token); callers that want it in a message excerpt it themselves.

local type = type
local tonumber = tonumber
local error = error
local find = string.find
local lower = string.lower
local match = string.match
local sub = string.sub


local _M = { _VERSION = "0.2.0" }

local DEFAULT_PORTS = { http = 80, https = 443 }


-- "[v6]" or a name/IPv4 address, then ":port" or nothing.
-- Returns host, port text ("" when absent), ipv6 | nil, err.
local function split_authority(authority)
    local host, rest, ipv6
    if sub(authority, 1, 1) == "[" then
        host, rest = match(authority, "^%[([%x:.]*)%](.*)$")
        local c1 = host and find(host, ":", 1, true)
        if not c1 or not find(host, ":", c1 + 1, true) then
            return nil, "bad IPv6 address (expected [hex:hex::...])"
        end
        ipv6 = true
    else
        host, rest = match(authority, "^([^:]*)(.*)$")
        if host == "" then
            return nil, "missing host"
        end
        if not find(host, "^[%w._-]+$") then
            return nil, "bad host (expected letters, digits, '.', '-' and '_')"
        end
    end
    if rest == "" then
        return host, "", ipv6
    end
    local port = match(rest, "^:(%d*)$")
    if not port then
        return nil, "bad port (expected 1-65535)"
    end
    return host, port, ipv6
end


-- The port as a number, the scheme's when the text is empty.
local function port_number(text, default)
    if text == "" then
        return default
    end
    local n = #text <= 5 and tonumber(text)
    if not n or n < 1 or n > 65535 then
        return nil, "bad port (expected 1-65535)"
    end
    return n
end


-- path ("/" when empty), query (nil when absent); the fragment dropped.
local function split_target(rest)
    rest = match(rest, "^[^#]*")
    local path, query = match(rest, "^([^?]*)%?(.*)$")
    if not path then
        path = rest
    end
    if path == "" then
        path = "/"
    end
    return path, query
end


--- url.parse(s) -> t | nil, err.  Raises when s is not a string.
function _M.parse(s)
    if type(s) ~= "string" then
        error("acmpca.url.parse: expected a string, got " .. type(s), 2)
    end
    if find(s, "[%c ]") then
        return nil, "contains a space or a control character"
    end
    local scheme, authority, rest = match(s, "^(%a[%w+.-]*)://([^/?#]*)(.*)$")
    if not scheme then
        return nil, "not an absolute URL"
    end
    scheme = lower(scheme)
    local default_port = DEFAULT_PORTS[scheme]
    if not default_port then
        return nil, "unsupported scheme '" .. scheme .. "'"
    end
    if find(authority, "@", 1, true) then
        return nil, "credentials in the URL are not supported"
    end
    local host, port_text, ipv6 = split_authority(authority)
    if not host then
        return nil, port_text
    end
    local port, perr = port_number(port_text, default_port)
    if not port then
        return nil, perr
    end
    host = lower(host)
    local path, query = split_target(rest)
    local host_header = ipv6 and ("[" .. host .. "]") or host
    if port ~= default_port then
        host_header = host_header .. ":" .. port
    end
    return {
        scheme = scheme, host = host, ipv6 = ipv6 or false, port = port,
        path = path, query = query, target = query and (path .. "?" .. query) or path,
        host_header = host_header,
    }
end


return _M
