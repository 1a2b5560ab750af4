-- Test-vector helpers for the SigV4 specs: discover the cases of both copies
-- of AWS's SigV4 test suite under spec/fixtures at run time, parse their raw
-- HTTP requests, and read the RFC 4231 / FIPS 180 hash vectors.

local lfs = require "lfs"
local cjson = require "cjson.safe"

local io_open = io.open
local ipairs = ipairs
local tostring = tostring
local type = type
local error = error
local tonumber = tonumber
local table_sort = table.sort
local string_char = string.char
local string_rep = string.rep

local _M = {}

_M.FIXTURES = "spec/fixtures"
_M.ACCESS_KEY_ID = "AKIDEXAMPLE"
_M.SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
_M.AMZ_DATE = "20150830T123600Z"
_M.UNIX_TIME = 1440938160 -- the same instant as unix seconds


function _M.read(path)
    local f, err = io_open(path, "rb")
    if not f then
        error("cannot read " .. path .. ": " .. tostring(err), 2)
    end
    local data = f:read("*a")
    f:close()
    return data
end


local function is_dir(path)
    return lfs.attributes(path, "mode") == "directory"
end


local function is_file(path)
    return lfs.attributes(path, "mode") == "file"
end


-- Sorted names of the sub-directories of dir.
local function subdirs(dir)
    local out = {}
    for name in lfs.dir(dir) do
        if name ~= "." and name ~= ".." and is_dir(dir .. "/" .. name) then
            out[#out + 1] = name
        end
    end
    table_sort(out)
    return out
end


-- Parse a raw HTTP/1.1 request as written in the suites.  The request-target
-- may contain spaces (get-space), so it is everything between the first and
-- the last space of the request line.  Obsolete line folding (a line that
-- starts with whitespace) continues the previous header value, joined with
-- one space.  Repeated names become a list, in order.
function _M.parse_request(text)
    local head, body = text:match("^(.-)\n\n(.*)$")
    if not head then
        head, body = text, ""
    end
    head = head:gsub("\n$", "")
    local lines = {}
    for line in (head .. "\n"):gmatch("(.-)\n") do
        lines[#lines + 1] = line
    end
    local method, target = lines[1]:match("^(%S+) (.*) HTTP/1%.1$")
    if not method then
        error("bad request line: " .. lines[1], 2)
    end
    local fields = {} -- ordered { name, value }
    for i = 2, #lines do
        local line = lines[i]
        if line:match("^[ \t]") then
            local last = fields[#fields]
            last[2] = last[2] .. " " .. line:gsub("^[ \t]+", "")
        else
            local name, value = line:match("^([^:]+):(.*)$")
            if not name then
                error("bad header line: " .. line, 2)
            end
            fields[#fields + 1] = { name, value }
        end
    end
    local headers = {}
    for _, f in ipairs(fields) do
        local name, value = f[1], f[2]
        local old = headers[name]
        if old == nil then
            headers[name] = value
        elseif type(old) == "table" then
            old[#old + 1] = value
        else
            headers[name] = { old, value }
        end
    end
    local path, query = target:match("^([^?]*)%?(.*)$")
    if not path then
        path, query = target, nil
    end
    return {
        method = method,
        target = target,
        path = path,
        query = query,
        fields = fields,
        headers = headers,
        body = body,
    }
end


-- The header value of name (case-insensitive) in a parsed request.
function _M.header(parsed, name)
    name = name:lower()
    for _, f in ipairs(parsed.fields) do
        if f[1]:lower() == name then
            return f[2]
        end
    end
end


-- Old layout (botocore's copy): a case is a directory holding <name>.req;
-- other directories (normalize-path, post-sts-token) are groups to descend.
function _M.old_suite_cases()
    local root = _M.FIXTURES .. "/sigv4-suite"
    local cases = {}
    local function walk(dir, prefix)
        for _, name in ipairs(subdirs(dir)) do
            local path = dir .. "/" .. name
            if is_file(path .. "/" .. name .. ".req") then
                cases[#cases + 1] = { name = prefix .. name, dir = path,
                                      stem = path .. "/" .. name }
            else
                walk(path, prefix .. name .. "/")
            end
        end
    end
    walk(root, "")
    return cases
end


-- The current layout (aws-c-auth's v4 copy): a case is a directory holding
-- context.json.
function _M.v4_suite_cases()
    local root = _M.FIXTURES .. "/sigv4-suite-v4"
    local cases = {}
    for _, name in ipairs(subdirs(root)) do
        local dir = root .. "/" .. name
        if is_file(dir .. "/context.json") then
            local ctx, err = cjson.decode(_M.read(dir .. "/context.json"))
            if not ctx then
                error(dir .. "/context.json: " .. err)
            end
            cases[#cases + 1] = { name = name, dir = dir, context = ctx }
        end
    end
    return cases
end


-- "2015-08-30T12:36:00Z" -> "20150830T123600Z"
function _M.amz_date(iso)
    return (iso:gsub("[-:]", ""))
end


local function unhex(h)
    return (h:gsub("%x%x", function(b) return string_char(tonumber(b, 16)) end))
end
_M.unhex = unhex


-- Blocks of "name = value" lines separated by blank lines; '#' comments.
local function read_blocks(path)
    local blocks, cur = {}, nil
    for line in (_M.read(path) .. "\n"):gmatch("(.-)\n") do
        if line:match("^%s*$") then
            cur = nil
        elseif not line:match("^#") then
            local k, v = line:match("^(%S+)%s*=%s*(.-)%s*$")
            if not k then
                error(path .. ": bad line: " .. line)
            end
            if not cur then
                cur = {}
                blocks[#blocks + 1] = cur
            end
            cur[k] = v
        end
    end
    return blocks
end


-- RFC 4231: { case =, key = raw, data = raw, mac = hex (maybe a prefix) }
function _M.rfc4231()
    local out = {}
    for _, b in ipairs(read_blocks(_M.FIXTURES .. "/rfc4231-hmac-sha256.txt")) do
        out[#out + 1] = { case = tonumber(b.case), key = unhex(b.key), data = unhex(b.data),
                          mac = b.mac }
    end
    return out
end


-- FIPS 180: { data = raw, digest = hex }
function _M.sha256()
    local out = {}
    for _, b in ipairs(read_blocks(_M.FIXTURES .. "/fips180-sha256.txt")) do
        out[#out + 1] = { data = string_rep(unhex(b.data), tonumber(b["repeat"])),
                          digest = b.digest, label = b.data:sub(1, 16) .. " x" .. b["repeat"] }
    end
    return out
end


return _M
