--- acmpca.cli: the `acmpca` command, as a function the specs can drive.
--
--    local cli = require "acmpca.cli"
--    local code = cli.main({ "list-permissions", "--certificate-authority-arn", arn },
--                         { stdout = io.stdout, stderr = io.stderr })
--
-- Option names are those of `aws acm-pca` and the JSON printed is what it
-- prints for the same call (CamelCase keys, 4-space indent), so scripts can
-- switch between them.  Exit codes: 0 success, 1 service or network error
-- (message on stderr), 2 usage error.
--
-- There is one command per operation of acmpca.model (create-permission,
-- describe-certificate-authority, ...): its options, how their values are
-- read, its synopsis and its output all come from the operation's shapes.
-- The three renewal commands (ensure-renewal, has-renewal, revoke-renewal)
-- are written by hand over the client's renewal helpers; serve and repl are
-- handed to acmpca.serve and acmpca.repl (loaded only for them).
--
-- As aws does: `--output` comes from the option, AWS_DEFAULT_OUTPUT or the
-- profile's output; pagination tokens are botocore's (acmpca.cli.token)
-- and `--output` text ends with NEXTTOKEN; `--debug` prints each request and
-- response on stderr with the secrets hidden (acmpca.cli.debug, a wrapper
-- around the client's transport).  `--mock-state FILE` keeps the fake of
-- `--mock` in a file between commands (acmpca.mock.state).
--
-- @module acmpca.cli

local acmpca = require "acmpca"
local json = require "acmpca.json"
local model = require "acmpca.model"
local paginate = require "acmpca.paginate"
local ptoken = require "acmpca.cli.token"

local type, ipairs, pairs, tostring, tonumber, pcall = type, ipairs, pairs, tostring, tonumber,
    pcall
local rawget = rawget
local error, getmetatable, setmetatable, next, select = error, getmetatable, setmetatable, next,
    select
local concat, sort = table.concat, table.sort
local fmt, find, sub, byte, gsub = string.format, string.find, string.sub, string.byte, string.gsub
local floor, min, max, huge = math.floor, math.min, math.max, math.huge
local os_date = os.date
local kebab = model.kebab

-- the library's own copy of the model (what the client validates against)
local MODEL = model._private()
local SHAPES = MODEL.shapes


local _M = { _VERSION = "0.2.0" }

-- the key of a text result's token, which emit prints last (NEXTTOKEN)
local RESUME = {}


local ARN_HINT = "arn:<partition>:acm-pca:<region>:<12-digit account>:certificate-authority/<id>"

-- a CA that exists in the fake service when --mock is given no ARN
_M.DEMO_CA_ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"

local GLOBAL = {
    region = "value", profile = "value", ["endpoint-url"] = "value", output = "value",
    ["ca-bundle"] = "value", mock = "flag", ["mock-state"] = "value", help = "flag",
    debug = "flag", version = "flag",
}

local GLOBAL_HELP = [[
Global options:
  --region <value>         AWS region (default: AWS_REGION, AWS_DEFAULT_REGION,
                           the profile's region, else the CA ARN's region)
  --profile <value>        profile from ~/.aws/config and ~/.aws/credentials
                           (keys, role_arn, SSO, web identity, as aws;
                           assumed-role and SSO credentials are cached in
                           ~/.aws/cli/cache, an MFA code is asked for on
                           the terminal)
  --endpoint-url <value>   send requests to this URL instead of AWS
  --ca-bundle <value>      trust this CA file for TLS
  --output json|text       output format (default: AWS_DEFAULT_OUTPUT, the
                           profile's output, else json; audit and
                           ensure-renewal --all also take table, their
                           default on a terminal)
  --debug                  print each request and response on stderr
                           (signature, session token and secrets hidden)
  --mock                   use an in-process fake ACM PCA holding a demo fleet
                           of CAs in every state, plus the given CA ARN,
                           ACTIVE (for trying it out); its state lasts for
                           this one command only
  --mock-state <file>      with --mock (implied): the fake's CAs, permissions
                           and policies are read from the file when it
                           exists and written back after the command, so a
                           sequence of commands sees one fake
  --version                print acmpca's version
  --help                   this help, or a command's with
                           `acmpca <command> --help`
]]

-- the commands that hand over to their own module: name, the line of help
local HANDOVER = {
    { name = "serve", module = "acmpca.serve", usage = "serve --port N",
      summary = "run the fake ACM PCA over HTTP on 127.0.0.1 (nginx)" },
    { name = "repl", module = "acmpca.repl", usage = "repl",
      summary = "an interactive Lua prompt with acmpca loaded" },
}


------------------------------------------------------------------------
-- output
-- @section output
------------------------------------------------------------------------

-- What the service sends is printed with care: a name, a message or a
-- code may hold terminal escapes (ESC [ ... / ESC ] ... BEL), CR, C1
-- controls or bytes that are not UTF-8, and may be megabytes long.

-- at most this many characters of a service string on the terminal or in
-- a text/table field (a member the model lets be longer keeps its length)
local MAX_FIELD = 1000

local CONTROL_ESCAPES = { [9] = "\\t", [10] = "\\n", [13] = "\\r" }


-- The length of the well-formed UTF-8 sequence at i of s and its code
-- point, or nil (the same rules as src/validate.c).
local function utf8_at(s, i)
    local c = byte(s, i)
    local len, lo, hi, cp
    if c >= 0xC2 and c <= 0xDF then
        len, cp = 2, c - 0xC0
    elseif c >= 0xE0 and c <= 0xEF then
        len, cp = 3, c - 0xE0
    elseif c >= 0xF0 and c <= 0xF4 then
        len, cp = 4, c - 0xF0
    else
        return nil
    end
    lo = (c == 0xE0 and 0xA0) or (c == 0xF0 and 0x90) or 0x80
    hi = (c == 0xED and 0x9F) or (c == 0xF4 and 0x8F) or 0xBF
    for j = 1, len - 1 do
        local cc = byte(s, i + j)
        if not cc or cc < (j == 1 and lo or 0x80) or cc > (j == 1 and hi or 0xBF) then
            return nil
        end
        cp = cp * 64 + cc - 0x80
    end
    return len, cp
end


-- The first n characters of valid UTF-8 text s.
local function first_chars(s, n)
    local count, i, len = 0, 1, #s
    while i <= len do
        if count == n then
            return sub(s, 1, i - 1)
        end
        count = count + 1
        i = find(s, "[^\128-\191]", i + 1) or len + 1
    end
    return s
end


-- s as text a terminal shows and never obeys: C0 controls, DEL and bytes
-- that are not UTF-8 as \xNN (\t \n \r), C1 controls as \u0080..\u009f;
-- at most limit characters (MAX_FIELD), the last three "..." when cut.
-- Reads no more of s than that.
local function printable(s, limit)
    s = tostring(s)
    limit = limit or MAX_FIELD
    if #s <= limit and not find(s, "[%c\128-\255]") then
        return s
    end
    local out, n, width, i, len = {}, 0, 0, 1, #s
    while i <= len and width <= limit do
        local j = find(s, "[%c\128-\255]", i)
        local piece, step, w
        if j ~= i then
            step = min((j or len + 1) - i, limit + 1 - width)
            piece, w = sub(s, i, i + step - 1), step
        else
            local c = byte(s, i)
            local l, cp = nil, nil
            if c >= 0x80 then
                l, cp = utf8_at(s, i)
            end
            if not l then
                piece, step = CONTROL_ESCAPES[c] or fmt("\\x%02x", c), 1
            elseif cp <= 0x9F then
                piece, step = fmt("\\u%04x", cp), l
            else
                piece, step = sub(s, i, i + l - 1), l
            end
            w = cp and cp > 0x9F and 1 or #piece
        end
        n = n + 1
        out[n] = piece
        width, i = width + w, i + step
    end
    local text = concat(out, "", 1, n)
    if width > limit then
        return first_chars(text, max(limit - 3, 0)) .. "..."
    end
    return text
end

_M.printable = printable


-- Encoded JSON text whose strings hold no raw C1 control (\u0080..\u009f
-- instead) and no byte that is not UTF-8 (\ufffd instead): the encoder
-- escapes C0 and DEL, and outside strings it writes ASCII only.
local function json_safe(text)
    if not find(text, "[\128-\255]") then
        return text
    end
    local out, n, i, len = {}, 0, 1, #text
    while i <= len do
        local j = find(text, "[\128-\255]", i)
        if not j then
            n = n + 1
            out[n] = sub(text, i)
            break
        end
        if j > i then
            n = n + 1
            out[n] = sub(text, i, j - 1)
        end
        local l, cp = utf8_at(text, j)
        n = n + 1
        if not l then
            out[n], i = "\\ufffd", j + 1
        elseif cp <= 0x9F then
            out[n], i = fmt("\\u%04x", cp), j + l
        else
            out[n], i = sub(text, j, j + l - 1), j + l
        end
    end
    return concat(out, "", 1, n)
end


-- stdout for JSON written a piece at a time (json.write_list)
local function json_writer(stdout)
    return {
        write = function(self, ...)
            for k = 1, select("#", ...) do
                stdout:write(json_safe(tostring((select(k, ...)))))
            end
            return self
        end,
    }
end


-- "scheme://user:password@host" -> "scheme://***@host", wherever it is.
-- Anchored on "://", so each match scans one authority: linear in #s
-- (a pattern starting at the scheme backtracks over long words).
local function redact(s)
    if not find(s, "://", 1, true) then
        return s
    end
    return (gsub(s, "://[^/?#@%s\"']*@", "://***@"))
end


-- What the service may send in a number: JSON has no inf or NaN, so they
-- are named in a string, as JavaScript would name them.
local function finite_or_name(v)
    if v ~= v then
        return "NaN"
    elseif v == huge then
        return "Infinity"
    elseif v == -huge then
        return "-Infinity"
    end
    return v
end


-- the epoch seconds of 0001-01-01 and of 10000-01-01 (UTC)
local FIRST_TIME, PAST_TIME = -62135596800, 253402300800

-- epoch seconds -> ISO 8601 as aws-cli v2 prints it (UTC); a time outside
-- years 1 to 9999 stays the number the service sent (inf and NaN named)
local function iso8601(t)
    if type(t) ~= "number" then
        return t
    end
    if not (t >= FIRST_TIME and t < PAST_TIME) then
        return finite_or_name(t)
    end
    local s = floor(t)
    local us = floor((t - s) * 1e6 + 0.5)
    if us >= 1000000 then
        s, us = s + 1, 0
    end
    if s >= PAST_TIME then
        return t
    end
    local d = os_date("!*t", s) -- %Y would not pad years before 1000
    local base = fmt("%04d-%02d-%02dT%02d:%02d:%02d", d.year, d.month, d.day, d.hour, d.min,
                     d.sec)
    if us > 0 then
        base = base .. fmt(".%06d", us)
    end
    return base .. "+00:00"
end

_M.iso8601 = iso8601


local function is_object(v)
    return type(v) == "table" and getmetatable(v) == getmetatable(json.object())
end


local function is_list(v)
    return type(v) == "table" and not is_object(v)
end


local function scalar_text(v)
    if v == true then
        return "True"
    elseif v == false then
        return "False"
    elseif v == nil then
        return "None"
    elseif type(v) == "number" then
        return tostring(finite_or_name(v))
    end
    -- to_wire has cut a service string to its member's length already
    return printable(v, huge)
end


-- value of key k in an ordered object
local function oget(o, k)
    for i = 1, o.n, 2 do
        if o[i] == k then
            return o[i + 1]
        end
    end
    return nil
end


local function sorted_keys(o)
    local keys = {}
    for i = 1, o.n, 2 do
        if o[i + 1] ~= nil then
            keys[#keys + 1] = o[i]
        end
    end
    sort(keys)
    return keys
end


local format_text


-- aws-cli's text format (awscli/text.py): a dict prints its scalars on one
-- row (sorted by key, led by the upper-cased key it sits under), then its
-- lists and dicts; a list of scalars prints one row per item.
local function format_dict(out, o, identifier, scalar_keys)
    local row, nested = {}, {}
    local keys = sorted_keys(o)
    if scalar_keys then
        for _, k in ipairs(scalar_keys) do
            row[#row + 1] = scalar_text(oget(o, k))
        end
    end
    for _, k in ipairs(keys) do
        local v = oget(o, k)
        if type(v) == "table" then
            nested[#nested + 1] = k
        elseif not scalar_keys then
            row[#row + 1] = scalar_text(v)
        end
    end
    if #row > 0 then
        if identifier then
            table.insert(row, 1, identifier:upper())
        end
        out[#out + 1] = concat(row, "\t")
    end
    for _, k in ipairs(nested) do
        format_text(out, oget(o, k), k)
    end
end


function format_text(out, v, identifier, scalar_keys)
    if is_object(v) then
        return format_dict(out, v, identifier, scalar_keys)
    elseif is_list(v) then
        if #v == 0 then
            return
        end
        local any_dict = false
        for _, e in ipairs(v) do
            any_dict = any_dict or is_object(e)
        end
        if any_dict then
            local seen, keys = {}, {}
            for _, e in ipairs(v) do
                if is_object(e) then
                    for _, k in ipairs(sorted_keys(e)) do
                        if type(oget(e, k)) ~= "table" and not seen[k] then
                            seen[k] = true
                            keys[#keys + 1] = k
                        end
                    end
                end
            end
            sort(keys)
            for _, e in ipairs(v) do
                format_text(out, e, identifier, keys)
            end
        elseif identifier then
            for _, e in ipairs(v) do
                out[#out + 1] = identifier:upper() .. "\t" .. scalar_text(e)
            end
        else
            local row = {}
            for i, e in ipairs(v) do
                row[i] = scalar_text(e)
            end
            out[#out + 1] = concat(row, "\t")
        end
        return
    end
    out[#out + 1] = scalar_text(v)
end


local function emit(io_env, g, value)
    if value == nil then
        return
    end
    if g.output == "text" then
        local lines = {}
        format_text(lines, value)
        if type(value) == "table" and value[RESUME] then
            lines[#lines + 1] = "NEXTTOKEN\t" .. printable(value[RESUME], huge)
        end
        if #lines > 0 then
            io_env.stdout:write(concat(lines, "\n"), "\n")
        end
    else
        io_env.stdout:write(json_safe(json.encode(value, 4)), "\n")
    end
end


-- A client result (Lua names, epoch timestamps) back to what the service
-- sent: wire names in the model's member order (as aws-cli prints them),
-- timestamps in ISO 8601, lists and nested structures likewise.  For text
-- output (text true) each string is made printable, at most MAX_FIELD
-- characters or its member's model length when that is longer.
local function to_wire(shape_name, v, text)
    local shape = SHAPES[shape_name]
    if v == nil or not shape then
        return v
    end
    if shape.type == "structure" and type(v) == "table" then
        local kv, n = {}, 0
        for _, m in ipairs(shape.members) do
            local x = to_wire(m.shape, v[m.lua], text)
            if x ~= nil then
                kv[n + 1], kv[n + 2] = m.wire, x
                n = n + 2
            end
        end
        kv.n = n
        return json.object(kv)
    elseif shape.type == "list" and type(v) == "table" then
        local out = {}
        for i, e in ipairs(v) do
            out[i] = to_wire(shape.member, e, text)
        end
        return json.array(out)
    elseif shape.type == "timestamp" then
        return iso8601(v)
    elseif type(v) == "number" then
        return finite_or_name(v)
    elseif text and type(v) == "string" then
        return printable(v, max(MAX_FIELD, shape.max or 0))
    end
    return v
end


------------------------------------------------------------------------
-- option values
-- @section option_values
------------------------------------------------------------------------

local Usage = {}


-- a usage error travels as { usage = msg, [Usage] = true } to main
local function usage(msg)
    error({ usage = msg, [Usage] = true }, 0)
end


local function sorted_names(t)
    local keys = {}
    for k in next, t do
        keys[#keys + 1] = k
    end
    sort(keys)
    return keys
end


-- "A B C" | "A,B,C" | "A, B, C" | '["A","B"]' words -> list
local function parse_words(name, words)
    local out = {}
    for _, w in ipairs(words) do
        if w:match("^%s*%[") then
            local list = require("cjson.safe").decode(w)
            if type(list) ~= "table" then
                usage("--" .. name .. ": cannot parse " .. w .. " as a JSON list")
            end
            for _, a in ipairs(list) do
                out[#out + 1] = tostring(a)
            end
        else
            for part in w:gmatch("[^,%s]+") do
                out[#out + 1] = part
            end
        end
    end
    return out
end


local function check_arn(arn)
    if not acmpca.is_ca_arn(arn) then
        usage(fmt("argument --certificate-authority-arn: expected %s, got %q", ARN_HINT, arn))
    end
end


-- digits only, as aws-cli's int() takes them: tonumber would also take
-- "1e1" or "0x10" (and give a float on Lua 5.4)
local function int_arg(name, v, lo, hi)
    local n = tonumber(v:match("^%s*(%d+)%s*$"))
    lo = lo or 1
    if not n or n < lo or (hi and n > hi) then
        usage(fmt("argument --%s: expected an integer from %d%s, got %q", name, lo,
                  hi and fmt(" to %d", hi) or " up", v))
    end
    return n
end


-- the fleet-wide commands (audit, ensure-renewal --all)
local fleet = require("acmpca.cli.fleet"){
    usage = usage, json = json, iso8601 = iso8601, int_arg = int_arg, printable = printable,
    MAX_FIELD = MAX_FIELD,
}


local MAX_FILE_ARG = 1024 * 1024

-- file://NAME and fileb://NAME: the file's contents, as aws-cli reads them
local function file_arg(name, v)
    local path = v:match("^fileb?://(.*)$")
    if not path then
        return v
    end
    local f, why = io.open(path, "rb")
    if not f then
        usage(fmt("argument --%s: cannot read %s: %s", name, path, tostring(why)))
    end
    local data = f:read(MAX_FILE_ARG + 1)
    f:close()
    if data and #data > MAX_FILE_ARG then
        usage(fmt("argument --%s: %s is larger than %d bytes", name, path, MAX_FILE_ARG))
    end
    return data or ""
end


-- an option's text -> the value its member's shape takes
local function read_value(opt, v)
    if opt.kind == "list" then
        local list = parse_words(opt.name, v)
        if #list == 0 then
            usage(fmt("argument --%s: expected at least one %s", opt.name, opt.noun))
        end
        return list
    end
    if type(v) == "table" then
        -- words for an option that is a list in some other command
        if #v ~= 1 then
            usage("argument --" .. opt.name .. ": expected one argument")
        end
        v = v[1]
    end
    if opt.kind == "string" then
        return file_arg(opt.name, v)
    elseif opt.kind == "integer" then
        return int_arg(opt.name, v, opt.min, opt.max)
    elseif opt.kind == "boolean" then
        if v == "true" or v == "false" then
            return v == "true"
        end
        usage(fmt("argument --%s: expected true or false, got %q", opt.name, v))
    end
    usage(fmt("argument --%s: a %s cannot be given on the command line yet", opt.name,
              tostring(opt.type)))
end


------------------------------------------------------------------------
-- the renewal commands (written by hand)
-- @section the_renewal_commands_written_by_hand
------------------------------------------------------------------------

local ARN_OPT = "certificate-authority-arn"

-- an option: its name, the client's field it fills, whether it is required,
-- the kind of value it takes, and (ca_arn) whether it names the CA
local ARN_OPTION = { name = ARN_OPT, field = "ca_arn", required = true, kind = "string",
                     ca_arn = true }
local SOURCE_ACCOUNT_OPTION = { name = "source-account", field = "source_account",
                                kind = "string" }


-- what the renewal commands check before a client exists
local function read_renewal(_, o)
    check_arn(o[ARN_OPT])
    local sa = o["source-account"]
    if sa and not sa:match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then
        usage(fmt("argument --source-account: expected 12 digits, got %q", sa))
    end
    return o
end


local ALL_ONLY = { "dry-run", "concurrency", "rate-limit" }

-- ensure-renewal: one CA (--certificate-authority-arn) or --all
local function read_ensure(cmd, o)
    if o.all then
        for _, k in ipairs{ ARN_OPT, "source-account", "wait" } do
            if o[k] ~= nil then
                usage(fmt("argument --%s: not allowed with --all", k))
            end
        end
        local opts = fleet.read_batch(o)
        opts.dry_run = o["dry-run"] or nil
        return { all = opts }
    end
    for _, k in ipairs(ALL_ONLY) do
        if o[k] ~= nil then
            usage(fmt("argument --%s: only with --all", k))
        end
    end
    if o[ARN_OPT] == nil then
        usage("one of the arguments --certificate-authority-arn --all is required")
    end
    read_renewal(cmd, o)
    if o.wait ~= nil then
        o.wait = int_arg("wait", o.wait, 0, 86400)
    end
    return o
end


local function ensure_renewal(_, c, o, _, io_env)
    if o.all then
        return fleet.run_ensure_all(o.all, c, io_env)
    end
    local ok, status = c:ensure_acm_renewal(o[ARN_OPT], {
        source_account = o["source-account"], wait = o.wait,
    })
    if not ok then
        return nil, status
    end
    return json.object("CertificateAuthorityArn", o[ARN_OPT], "Status", status)
end


local function has_renewal(_, c, o)
    local has, err = c:has_acm_renewal(o[ARN_OPT])
    if has == nil then
        return nil, err
    end
    return json.object("CertificateAuthorityArn", o[ARN_OPT], "HasAcmRenewal", has)
end


local function revoke_renewal(_, c, o)
    local ok, status = c:revoke_acm_renewal(o[ARN_OPT])
    if not ok then
        return nil, status
    end
    return json.object("CertificateAuthorityArn", o[ARN_OPT], "Status", status)
end


local RENEWAL_COMMANDS = {
    {
        name = "ensure-renewal",
        summary = "Grants ACM what it needs to renew the CA's certificates",
        options = {
            { name = ARN_OPT, field = "ca_arn", kind = "string", ca_arn = true },
            SOURCE_ACCOUNT_OPTION,
            { name = "wait", kind = "integer" },
            { name = "all", kind = "flag" },
            { name = "dry-run", kind = "flag" },
            fleet.CONCURRENCY, fleet.RATE_LIMIT,
        },
        synopsis = "--certificate-authority-arn <value>\n"
            .. "        [--source-account <value>] [--wait <seconds>]\n"
            .. "   or: acmpca ensure-renewal --all [--dry-run] [--concurrency <n>]\n"
            .. "        [--rate-limit quota|off|<n>] [--output table|json|text]",
        about = "Makes sure the ACM service principal (acm.amazonaws.com) holds\n"
            .. "IssueCertificate, GetCertificate and ListPermissions on the CA, so ACM\n"
            .. "can renew the certificates the CA issued. Idempotent. Prints the status:\n"
            .. "created, present (nothing was written) or repaired (an incomplete\n"
            .. "permission was replaced).\n\n"
            .. "  --wait <seconds>         a CA still CREATING or PENDING_CERTIFICATE is\n"
            .. "                           polled until ACTIVE (at most that long), then\n"
            .. "                           granted\n"
            .. "  --all                    every ACTIVE CA the account owns, concurrently;\n"
            .. "                           the others are skipped with the reason. One row\n"
            .. "                           per CA: created, repaired, present, skipped or\n"
            .. "                           failed; exit status 1 when one failed\n"
            .. "  --dry-run                with --all: write nothing, say what would be\n"
            .. "                           done (would_create, would_repair)\n"
            .. fleet.RATE_HELP,
        outputs = { json = true, text = true, table = true },
        tty_output = function(o) return o.all and "table" or nil end,
        emit = function(io_env, format, res, o)
            if o.all then
                return fleet.emit_ensure_all(io_env, format, res)
            end
            if format == "table" then
                format = "json"
            end
            return nil, format
        end,
        read = read_ensure, run = ensure_renewal,
    },
    {
        name = "has-renewal",
        summary = "Tells whether ACM can renew the CA's certificates",
        options = { ARN_OPTION },
        synopsis = "--certificate-authority-arn <value>",
        about = "Tells whether ACM holds all three renewal permissions on the CA.",
        read = read_renewal, run = has_renewal,
    },
    {
        name = "revoke-renewal",
        summary = "Removes ACM's permission on the CA",
        options = { ARN_OPTION },
        synopsis = "--certificate-authority-arn <value>",
        about = "Deletes ACM's permission on the CA. Idempotent: prints revoked, or absent\n"
            .. "when there was none.",
        read = read_renewal, run = revoke_renewal,
    },
}


-- `aws sts get-caller-identity`'s output: UserId, Account, Arn
local function caller_identity(_, c, _, g)
    local id, err = c:caller_identity{ endpoint = g["endpoint-url"] }
    if not id then
        return nil, err
    end
    return json.object("UserId", id.user_id, "Account", id.account, "Arn", id.arn)
end


local IDENTITY_COMMAND = {
    name = "get-caller-identity",
    summary = "Tells whose credentials these are (STS GetCallerIdentity)",
    options = {},
    about = "Prints the account, the ARN (a user, or an assumed role and its session)\n"
        .. "and the user id of the credentials the other commands sign with, as\n"
        .. "`aws sts get-caller-identity` does (same output), from the same chain\n"
        .. "(--profile, role_arn, SSO, web identity, ...). Check it before a change\n"
        .. "across a fleet. The request goes to STS in the region (AWS_ENDPOINT_URL_STS\n"
        .. "and the profile's services section apply); --endpoint-url replaces that URL.\n"
        .. "With --mock, the fake answers with its account.",
    read = function() return {} end,
    run = caller_identity,
}


------------------------------------------------------------------------
-- one command per operation of the model
-- @section one_command_per_operation_of_the_model
------------------------------------------------------------------------

-- the texts the model cannot give, by operation name; the others get
-- generic_about's
local DOCS = {
    CreatePermission = {
        summary = "Grants a principal permissions on the CA",
        about = "Grants a principal permissions on the CA (ACM PCA CreatePermission).\n"
            .. "--actions takes IssueCertificate, GetCertificate and ListPermissions,\n"
            .. "as separate words or comma-separated (\"A B C\", \"A,B,C\", \"A, B, C\").\n"
            .. "Prints nothing on success.",
    },
    ListPermissions = {
        summary = "Lists the permissions on the CA",
        about = "Lists the permissions on the CA (ACM PCA ListPermissions), every page.\n"
            .. "With --max-items the output stops after that many and carries the\n"
            .. "NextToken to pass as --starting-token (the AWS CLI's token format:\n"
            .. "either command takes the other's).",
    },
    DeletePermission = {
        summary = "Revokes a principal's permissions on the CA",
        about = "Revokes a principal's permissions on the CA (ACM PCA DeletePermission).\n"
            .. "Prints nothing on success.",
    },
}


local function generic_about(op)
    local s = fmt("Calls the ACM PCA %s operation.", op.name)
    if op.paginator then
        s = fmt("Calls the ACM PCA %s operation, every page.\n", op.name)
            .. "With --max-items the output stops after that many and carries the\n"
            .. "NextToken to pass as --starting-token (the AWS CLI's token format:\n"
            .. "either command takes the other's)."
    end
    if not op.output then
        s = s .. "\nPrints nothing on success."
    end
    return s
end


-- the kind of value a shape takes on the command line (nil: none yet)
local function kind_of(shape)
    if shape.type == "list" then
        local item = SHAPES[shape.member]
        return item and item.type == "string" and "list" or nil
    elseif shape.type == "string" or shape.type == "integer" or shape.type == "boolean" then
        return shape.type
    end
    return nil
end


-- an input member -> its option (named as aws-cli names it, unless name)
local function member_option(m, name)
    local shape = SHAPES[m.shape]
    name = name or kebab(m.wire)
    return {
        name = name, field = m.lua, required = m.required, kind = kind_of(shape),
        type = shape.type, min = shape.min, max = shape.max, ca_arn = shape.check == "arn",
        -- a list option's item, in error messages: --actions -> "action"
        noun = name:match("^(.-)s$") or "value",
    }
end


-- the input members as options, in aws-cli's synopsis order: the required,
-- the optional, then the paginator's --starting-token and --page-size (its
-- input token and limit) and --max-items (the command's own)
local function operation_options(op)
    local pg = op.paginator
    local required, optional, paging = {}, {}, {}
    for _, m in ipairs(SHAPES[op.input].members) do
        if pg and m.wire == pg.input_token then
            paging[1] = member_option(m, "starting-token")
        elseif pg and m.wire == pg.limit_key then
            paging[2] = member_option(m, "page-size")
        else
            local list = m.required and required or optional
            list[#list + 1] = member_option(m)
        end
    end
    if pg then
        paging[3] = { name = "max-items", kind = "integer", min = 1 }
    end
    for _, opt in ipairs(optional) do
        required[#required + 1] = opt
    end
    for i = 1, 3 do
        required[#required + 1] = paging[i]
    end
    return required
end


-- the options given -> the operation's arguments (Lua names) and --max-items
local function read_operation(cmd, o)
    local args, max_items, skip = {}, nil, nil
    for _, opt in ipairs(cmd.options) do
        local v = o[opt.name]
        if v ~= nil then
            v = read_value(opt, v)
            if opt.name == "starting-token" then
                local n
                v, n = ptoken.decode(v)
                if type(n) == "string" then
                    usage("argument --starting-token: " .. n)
                end
                args[opt.field], skip = v, n
            elseif opt.field then
                args[opt.field] = v
            elseif opt.name == "max-items" then
                max_items = v
            end
        end
    end
    return { args = args, max_items = max_items, skip = skip }
end


local function call_once(cmd, c, input, g)
    local op = cmd.op
    local res, err = c[op.method](c, input.args)
    if not res then
        return nil, err
    end
    local out = op.output and to_wire(op.output, res, g.output == "text")
    if not out or out.n == 0 then
        return nil -- like aws-cli, no empty object
    end
    return out
end


-- the result list of every page read, the first page's other members, and
-- the token to carry on from (when --max-items stopped early), as aws
-- prints it (acmpca.cli.token).  For text output the token is not a member:
-- emit prints it last, on a NEXTTOKEN line, as aws does.
local function pages_object(cmd, first, items, token, text)
    local kv, n = { cmd.result.wire, to_wire(cmd.result.shape, items, text) }, 2
    for _, m in ipairs(SHAPES[cmd.op.output].members) do
        if m ~= cmd.result and m ~= cmd.token then
            local x = to_wire(m.shape, first[m.lua], text)
            if x ~= nil then
                kv[n + 1], kv[n + 2] = m.wire, x
                n = n + 2
            end
        end
    end
    if not text and token then
        kv[n + 1], kv[n + 2] = cmd.token.wire, token
        n = n + 2
    end
    kv.n = n
    local o = json.object(kv)
    o[RESUME] = text and token or nil
    return o
end


-- every page, as aws-cli reads them (botocore's PageIterator): --page-size
-- per request, and with --max-items no more than that many items.
-- acmpca.paginate walks the pages (and stops with PaginationLoop on a
-- NextToken seen twice) through a stand-in client that keeps the first
-- answer, the last and the token each request was sent with.  A page that
-- holds more than --max-items wants is cut, and the token printed says
-- where (boto_truncate_amount, counted from the start of the page that
-- token fetches); a --starting-token that says so skips that many items of
-- its page.  Requests are sized as aws sizes them (by --page-size only), so
-- the token printed is the one aws prints for the same listing.
local function call_pages(cmd, c, input, g)
    local args, max_items, skip = input.args, input.max_items, input.skip or 0
    local tok, method = cmd.by_name["starting-token"], cmd.op.method
    local items, first, last, sent_token, requests = {}, nil, nil, nil, 0
    local pager = {
        [method] = function(_, a)
            requests = requests + 1
            sent_token = a[tok.field]
            local res, err = c[method](c, a)
            first, last = first or res, res or last
            return res, err
        end,
    }
    local next_page = paginate.pages(pager, method, args)
    local token
    while true do
        local page, err = next_page()
        if page == false then
            return nil, err
        elseif page == nil then
            break
        end
        local from = requests == 1 and skip or 0
        local take = max(#page - from, 0)
        if max_items and #items + take > max_items then
            take = max_items - #items
            token = ptoken.encode(sent_token, from + take)
        end
        for k = from + 1, from + take do
            items[#items + 1] = page[k]
        end
        if token or (max_items and #items >= max_items) then
            break
        end
    end
    if not token and max_items and #items >= max_items then
        -- on a page boundary: the service's token for the next page, if any
        local t = last and last[cmd.token.lua]
        token = type(t) == "string" and t ~= "" and ptoken.encode(t) or nil
    end
    return pages_object(cmd, first or {}, items, token, g.output == "text")
end


local function output_member(op, wire)
    for _, m in ipairs(SHAPES[op.output].members) do
        if m.wire == wire then
            return m
        end
    end
    error("acmpca.cli: " .. op.name .. ": no output member " .. wire)
end


local function operation_command(op)
    local doc = DOCS[op.name] or {}
    local cmd = {
        name = kebab(op.name), op = op, options = operation_options(op),
        summary = doc.summary or fmt("Calls the ACM PCA %s operation", op.name),
        about = doc.about or generic_about(op),
        read = read_operation, run = op.paginator and call_pages or call_once,
    }
    if op.paginator then
        cmd.result = output_member(op, op.paginator.result_key)
        cmd.token = output_member(op, op.paginator.output_token)
    end
    return cmd
end


------------------------------------------------------------------------
-- the command table and help
-- @section the_command_table_and_help
------------------------------------------------------------------------

local COMMANDS, COMMAND_ORDER = {}, {}
-- options that take several words (--actions A B C), in any command
local LIST_OPTIONS = {}
-- options that take no value (--all), in any command
local FLAG_OPTIONS = {}
-- every option of every command
local KNOWN_OPTIONS = {}


local function add_command(cmd)
    cmd.by_name, cmd.option_of = {}, {}
    for _, opt in ipairs(cmd.options) do
        cmd.by_name[opt.name] = opt
        KNOWN_OPTIONS[opt.name] = true
        if opt.field then
            cmd.option_of[opt.field] = opt.name
        end
        if opt.kind == "list" then
            LIST_OPTIONS[opt.name] = true
        elseif opt.kind == "flag" then
            FLAG_OPTIONS[opt.name] = true
        end
    end
    COMMANDS[cmd.name] = cmd
    COMMAND_ORDER[#COMMAND_ORDER + 1] = cmd.name
end


for _, cmd in ipairs(RENEWAL_COMMANDS) do
    add_command(cmd)
end
add_command(fleet.audit)
add_command(IDENTITY_COMMAND)
for _, op in ipairs(MODEL.operations) do
    add_command(operation_command(op))
end


local function overall_help()
    local lines = { "usage: acmpca <command> [options]", "", "Commands:" }
    for _, h in ipairs(HANDOVER) do
        lines[#lines + 1] = fmt("  %-19s %s", h.usage, h.summary)
    end
    for _, name in ipairs(COMMAND_ORDER) do
        local summary = COMMANDS[name].summary
        if #name > 19 then
            lines[#lines + 1] = "  " .. name
            lines[#lines + 1] = (" "):rep(22) .. summary
        else
            lines[#lines + 1] = fmt("  %-19s %s", name, summary)
        end
    end
    lines[#lines + 1] = ""
    lines[#lines + 1] = GLOBAL_HELP
    return concat(lines, "\n")
end


-- "usage: acmpca <command> <options>", wrapped at 79 columns
local function synopsis(cmd)
    local line = "usage: acmpca " .. cmd.name
    if cmd.synopsis then
        return line .. " " .. cmd.synopsis
    end
    local lines = {}
    for _, opt in ipairs(cmd.options) do
        local s = "--" .. opt.name .. (opt.kind == "list" and " <value> [<value>...]" or " <value>")
        if not opt.required then
            s = "[" .. s .. "]"
        end
        if #line + 1 + #s > 79 then
            lines[#lines + 1] = line
            line = "        " .. s
        else
            line = line .. " " .. s
        end
    end
    lines[#lines + 1] = line
    return concat(lines, "\n")
end


local function command_help(cmd)
    return fmt("%s\n\n%s\n\n%s", synopsis(cmd), cmd.about, GLOBAL_HELP)
end


------------------------------------------------------------------------
-- argument parsing
-- @section argument_parsing
------------------------------------------------------------------------

-- Options no command and no global knows are collected (they take no
-- value: the word after one is not swallowed), to be told with the
-- command's usage once the command is known.
local function parse(argv)
    local g, o, words, unknown = {}, {}, {}, {}
    local i, n = 1, #argv
    while i <= n do
        local a = argv[i]
        if type(a) ~= "string" then
            usage("argument " .. i .. " is not a string")
        end
        if a:sub(1, 2) == "--" and #a > 2 then
            local name, val = a:match("^%-%-([^=]+)=(.*)$")
            name = name or a:sub(3)
            local kind = GLOBAL[name]
            if not kind and not KNOWN_OPTIONS[name] then
                unknown[#unknown + 1] = "--" .. name
            elseif kind == "flag" or FLAG_OPTIONS[name] then
                if val then
                    usage("argument --" .. name .. ": takes no value")
                end
                if kind then
                    g[name] = true
                else
                    o[name] = true
                end
            elseif LIST_OPTIONS[name] then
                local list = {}
                if val then
                    list[1] = val
                end
                while i < n and argv[i + 1]:sub(1, 2) ~= "--" do
                    i = i + 1
                    list[#list + 1] = argv[i]
                end
                if #list == 0 then
                    usage("argument --" .. name .. ": expected at least one argument")
                end
                o[name] = list
            else
                if not val then
                    if i == n or argv[i + 1]:sub(1, 2) == "--" then
                        usage("argument --" .. name .. ": expected one argument")
                    end
                    i = i + 1
                    val = argv[i]
                end
                if kind then
                    g[name] = val
                else
                    o[name] = val
                end
            end
        else
            words[#words + 1] = a
        end
        i = i + 1
    end
    return g, o, words, unknown
end


local function unknown_command(name)
    usage(fmt("argument command: invalid choice: '%s' (`acmpca --help` lists the commands)",
              printable(name, 100)))
end


-- the command words name, or nil when help was asked for (and printed)
local function find_command(g, words, unknown, io_env)
    local name = words[1]
    if name == "help" then
        local topic = words[2]
        if topic and not COMMANDS[topic] then
            unknown_command(topic)
        end
        io_env.stdout:write(topic and command_help(COMMANDS[topic]) or overall_help())
        return nil
    end
    if not name then
        if #unknown > 0 then
            usage("unknown option " .. printable(unknown[1], 100))
        end
        if g.help then
            io_env.stdout:write(overall_help())
            return nil
        end
        usage("the following arguments are required: command (`acmpca --help` lists them)")
    end
    local cmd = COMMANDS[name]
    if not cmd then
        unknown_command(name)
    end
    io_env.cmd = cmd -- a usage error from here on shows the command's usage
    if g.help then
        io_env.stdout:write(command_help(cmd))
        return nil
    end
    if #unknown > 0 then
        local shown = {}
        for k, u in ipairs(unknown) do
            shown[k] = printable(u, 100)
        end
        usage("Unknown options: " .. concat(shown, ", "))
    end
    if words[2] then
        usage("unexpected argument '" .. printable(words[2], 100) .. "'")
    end
    return cmd
end


local DEFAULT_OUTPUTS = { json = true, text = true }


-- --output, else AWS_DEFAULT_OUTPUT, else the profile's output (as aws
-- reads them) -> g.output (nil: the command's default), and where it came
-- from, for the error
local function resolve_output(g, io_env)
    if g.output ~= nil then
        return "argument --output"
    end
    local v = io_env.getenv("AWS_DEFAULT_OUTPUT")
    if v ~= nil and v ~= "" then
        g.output = v
        return "AWS_DEFAULT_OUTPUT"
    end
    -- a file that cannot be read is the client's to report (its ConfigError)
    local ok, st = pcall(require("acmpca.config").load,
                         { profile = g.profile, getenv = io_env.getenv })
    local merged = ok and type(st) == "table" and st.merged or {}
    if type(merged.output) == "string" and merged.output ~= "" then
        g.output = merged.output
        return fmt("the output setting of profile '%s' (%s)", printable(st.profile, 100),
                   printable(tostring(st.config_path), 200))
    end
    return nil
end


local function check_options(cmd, g, o, io_env)
    local missing = {}
    for _, opt in ipairs(cmd.options) do
        if opt.required and o[opt.name] == nil then
            missing[#missing + 1] = "--" .. opt.name
        end
    end
    local unknown = {}
    for _, k in ipairs(sorted_names(o)) do
        if not cmd.by_name[k] then
            unknown[#unknown + 1] = "--" .. k
        end
    end
    if #unknown > 0 then
        usage("Unknown options: " .. concat(unknown, ", "))
    end
    if #missing > 0 then
        usage("the following arguments are required: " .. concat(missing, ", "))
    end
    local source = resolve_output(g, io_env)
    local outputs = cmd.outputs or DEFAULT_OUTPUTS
    if g.output and not outputs[g.output] then
        usage(fmt("%s: invalid choice: \"%s\" (choose from %s)", source,
                  printable(g.output, 100),
                  outputs.table and "'json', 'text', 'table'" or "'json', 'text'"))
    end
end


------------------------------------------------------------------------
-- running a command
-- @section running_a_command
------------------------------------------------------------------------

-- An --endpoint-url with user:password@ is refused before the library
-- sees it (it would quote the URL), and told without the secret.
local function check_endpoint(url)
    if type(url) ~= "string" then
        return
    end
    local authority = url:match("^[^:/?#]*://([^/?#]*)") or url:match("^([^/?#]*)")
    if authority and find(authority, "@", 1, true) then
        local scheme = url:match("^([^:/?#]*://)") or ""
        local rest = sub(url, #scheme + 1):gsub("^[^/?#]*@", "", 1)
        usage(fmt("argument --endpoint-url: must not carry a user name or password "
                  .. "before '@', got %s***@%s", scheme, rest))
    end
end


-- the fake service of --mock: io_env's, else the one --mock-state holds,
-- else a new demo fleet; plus the CA the command names, ACTIVE
local function mock_service(g, io_env, arn)
    local svc = io_env.mock
    if svc then
        return svc
    end
    if g["mock-state"] then
        local err
        svc, err = require("acmpca.mock.state").load(g["mock-state"])
        if not svc then
            usage("argument --mock-state: " .. err)
        end
        io_env.mock_state = svc
    end
    svc = svc or require("acmpca.mock").demo() -- loaded only for --mock
    if arn and not svc:status(arn) then
        svc:add_ca(arn, "ACTIVE")
    end
    return svc
end


-- The MFA code for an assume-role profile with mfa_serial, asked on the
-- terminal (/dev/tty, as aws does); nil when there is none.
local function tty_mfa_prompt(serial)
    local tty = io.open("/dev/tty", "r+")
    if not tty then
        return nil
    end
    tty:write("Enter MFA code for ", serial, ": ")
    tty:flush()
    local line = tty:read("*l")
    tty:close()
    return line and line:match("^%s*(%d+)%s*$")
end


local function make_client(g, io_env, arn)
    local opts = {
        region = g.region, profile = g.profile, endpoint = g["endpoint-url"],
        ca_file = g["ca-bundle"], sleep = io_env.sleep, now = io_env.now,
        getenv = io_env.custom_getenv,
    }
    if not g.mock then
        -- as aws: assumed-role and SSO credentials cached in
        -- ~/.aws/cli/cache, an MFA code asked on the terminal
        opts.credentials = require("acmpca.credentials").provider{
            profile = g.profile, getenv = io_env.custom_getenv,
            disk_cache = io_env.disk_cache ~= false,
            mfa_prompt = io_env.mfa_prompt or tty_mfa_prompt,
        }
    end
    if g.mock then
        local svc = mock_service(g, io_env, arn)
        opts.transport = svc:transport()
        opts.credentials = svc.credentials
        opts.region = opts.region or svc.region
        opts.profile, opts.endpoint, opts.ca_file = nil, nil, nil
    end
    local c
    if g.debug then
        -- around the fake's transport, or the client's own libcurl one
        local inner = opts.transport or function(req) return c:_send(req) end
        opts.transport = require("acmpca.cli.debug").wrap(inner, io_env.stderr, printable)
    end
    c = (io_env.new or acmpca.new)(opts)
    return c
end


-- the CA the command names, for the fake service of --mock to hold
local function mock_arn(cmd, o)
    for _, opt in ipairs(cmd.options) do
        local v = o[opt.name]
        if opt.ca_arn and type(v) == "string" and acmpca.is_ca_arn(v) then
            return v
        end
    end
    return nil
end


-- the global option of each acmpca.new option the command sets
local GLOBAL_OF = {
    endpoint = "endpoint-url", region = "region", profile = "profile",
    ca_file = "ca-bundle",
}


-- "file.lua:12: " and then "acmpca.<function>: " off a raised message
local function bare(msg)
    msg = tostring(msg):gsub("^[^:\n]*:%d+: ", "")
    return (msg:gsub("^acmpca[%.%w_]*: ", ""))
end


-- acmpca.new refuses an option ("acmpca.new: endpoint: <problem>"): told
-- with the command's option name, or the variable's
local function client_error(err)
    local msg = tostring(err):gsub("^[^:\n]*:%d+: ", "")
    local field, rest = msg:match("^acmpca[%.%w_]*: ([%w_]+): (.*)$")
    if field and GLOBAL_OF[field] then
        return "argument --" .. GLOBAL_OF[field] .. ": " .. rest
    elseif field == "max_attempts" then
        return "AWS_MAX_ATTEMPTS: " .. rest
    end
    return bare(msg)
end


-- The client raises on an argument it refuses ("acmpca.<method>: <field>:
-- <problem>"): told as a usage error with the command's option name.
local function option_error(cmd, err)
    local msg = tostring(err):gsub("^[^:\n]*:%d+: ", "")
    msg = msg:gsub("^acmpca%.[%w_]+: ([%w_]+)([^:%s]*): ", function(field, rest)
        local opt = cmd.option_of[field]
        return opt and ("argument --" .. opt .. ": ") or (field .. rest .. ": ")
    end)
    return bare(msg)
end


local function call(cmd, g, o, io_env)
    local input = cmd.read(cmd, o)
    check_endpoint(g["endpoint-url"])
    local ok, c = pcall(make_client, g, io_env, mock_arn(cmd, o))
    if not ok then
        if type(c) == "table" and c[Usage] then
            error(c, 0)
        end
        usage(client_error(c))
    end
    local res, err
    ok, res, err = pcall(cmd.run, cmd, c, input, g, io_env)
    pcall(c.close, c)
    if not ok then
        if type(res) == "table" and res[Usage] then
            error(res, 0)
        end
        usage(option_error(cmd, res))
    end
    return res, err, input
end


-- one line on stderr: prefix (ours) then msg, with any user:password@ of
-- a URL hidden, escaped and bounded (printable); a message that carries
-- its own "acmpca: " loses it (one prefix is enough)
local function say(io_env, prefix, msg, limit)
    msg = tostring(msg):gsub("^acmpca: ", "")
    io_env.stderr:write(prefix, printable(redact(msg), limit), "\n")
end


-- " (after 3 attempts)" when the client tried more than once
local function attempts_note(err)
    local n = type(err) == "table" and tonumber(err.attempts)
    return n and n > 1 and fmt(" (after %d attempts)", n) or ""
end


local function service_error(io_env, err)
    if type(err) == "table" and err.code and err.operation then
        say(io_env, fmt("acmpca: An error occurred (%s) when calling the %s operation%s: ",
                        printable(redact(tostring(err.code)), 100),
                        printable(tostring(err.operation), 100), attempts_note(err)),
            err.message)
    elseif type(err) == "table" and err.message then
        say(io_env, fmt("acmpca: %s%s: ", printable(tostring(err.code or "error"), 100),
                        attempts_note(err)), err.message)
    else
        say(io_env, "acmpca: ", err)
    end
    return 1
end


-- `acmpca --version`: acmpca's, Lua's (or LuaJIT's)
local function version_line()
    local jit = rawget(_G, "jit")
    return fmt("acmpca %s (%s)\n", tostring(acmpca._VERSION),
               jit and tostring(jit.version) or _VERSION)
end


-- serve and repl are their own modules' (loaded only when asked for):
-- the words after the command are theirs
local function handover(argv, io_env)
    local name = argv[1]
    if name == "help" and #argv == 2 then
        -- `acmpca help serve` is `acmpca serve --help`
        for _, h in ipairs(HANDOVER) do
            if h.name == argv[2] then
                return handover({ h.name, "--help" }, io_env)
            end
        end
    end
    for _, h in ipairs(HANDOVER) do
        if h.name == name then
            local ok, mod = pcall(require, h.module)
            if not ok or type(mod) ~= "table" or type(mod.main) ~= "function" then
                local why = ok and "it has no main function"
                    or tostring(mod):match("^[^\n]*"):gsub(":$", "")
                say(io_env, "acmpca: error: ",
                    fmt("the %s command is not available: cannot load %s: %s", name, h.module,
                        bare(why)))
                return 2
            end
            local args = {}
            for k = 2, #argv do
                args[k - 1] = argv[k]
            end
            local code = mod.main(args, io_env)
            return type(code) == "number" and code or (code == false and 1 or 0)
        end
    end
    return nil
end


-- --mock-state: the fake's state back to its file
local function save_mock_state(g, io_env)
    if not io_env.mock_state then
        return true
    end
    local ok, err = require("acmpca.mock.state").save(io_env.mock_state, g["mock-state"])
    if not ok then
        say(io_env, "acmpca: error: ", "argument --mock-state: " .. tostring(err))
    end
    return ok
end


local function run(argv, io_env)
    local code = handover(argv, io_env)
    if code then
        return code
    end
    local g, o, words, unknown = parse(argv)
    if g.version then
        io_env.stdout:write(version_line())
        return 0
    end
    if g["mock-state"] then
        g.mock = true
    end
    local cmd = find_command(g, words, unknown, io_env)
    if not cmd then
        return 0
    end
    check_options(cmd, g, o, io_env)
    local res, err, input = call(cmd, g, o, io_env)
    if not save_mock_state(g, io_env) then
        return 1
    end
    if res == nil and err ~= nil then
        return service_error(io_env, err)
    end
    if cmd.emit then
        local format = g.output
        if not format then
            local tty = cmd.tty_output
            if type(tty) == "function" then
                tty = tty(input)
            end
            format = tty and io_env.isatty and io_env.isatty(1) and tty or "json"
        end
        local out_env = io_env
        if format == "json" then
            out_env = setmetatable({ stdout = json_writer(io_env.stdout) }, { __index = io_env })
        end
        local rc
        rc, format = cmd.emit(out_env, format, res, input)
        if rc then
            return rc
        end
        g.output = format
    end
    emit(io_env, g, res)
    return 0
end


--- cli.main(argv[, io_env]) -> exit code.  io_env: stdout, stderr (objects
-- with :write), mock (an acmpca.mock service for `--mock`; default: a new one
-- seeded with mock.demo()'s fleet, plus the command's CA, ACTIVE), new (the
-- client constructor; default acmpca.new), sleep (the client's retry
-- sleep), isatty (fd -> boolean: whether stdout (1) or stderr (2) is a
-- terminal: audit prints a table there, and a progress bar; default: never),
-- now (the client's clock, with sleep: for tests) and getenv (the
-- environment AWS_DEFAULT_OUTPUT, the profile and the client read; default
-- os.getenv).  serve and repl get io_env (stdout and stderr filled in).
function _M.main(argv, io_env)
    if type(argv) ~= "table" then
        error("acmpca.cli.main: argv: expected a table, got " .. type(argv), 2)
    end
    io_env = io_env or {}
    local env = {}
    for k, v in pairs(io_env) do
        env[k] = v
    end
    env.stdout, env.stderr = io_env.stdout or io.stdout, io_env.stderr or io.stderr
    env.custom_getenv = io_env.getenv
    env.getenv = io_env.getenv or os.getenv
    local ok, code = pcall(run, argv, env)
    if ok then
        return code
    end
    if type(code) == "table" and code[Usage] then
        if env.cmd then
            env.stderr:write(synopsis(env.cmd), "\n")
            env.stderr:write("(acmpca ", env.cmd.name, " --help for more)\n")
        else
            env.stderr:write("usage: acmpca <command> [options]  (acmpca --help for more)\n")
        end
        say(env, "acmpca: error: ", code.usage)
        return 2
    end
    say(env, "acmpca: internal error: ", code)
    return 1
end


return _M
