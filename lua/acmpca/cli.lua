-- acmpca.cli: the `acmpca` command, as a function the specs can drive.
--
--   local cli = require "acmpca.cli"
--   local code = cli.main({ "list-permissions", "--certificate-authority-arn", arn },
--                         { stdout = io.stdout, stderr = io.stderr })
--
-- Option names are those of `aws acm-pca` and the JSON printed is what it
-- prints for the same call (CamelCase keys, 4-space indent), so scripts can
-- switch between them.  Exit codes: 0 success, 1 service or network error
-- (message on stderr), 2 usage error.

local acmpca = require "acmpca"
local mock = require "acmpca.mock"

local type, ipairs, tostring, tonumber, pcall = type, ipairs, tostring, tonumber, pcall
local error, getmetatable, next = error, getmetatable, next
local concat, sort = table.concat, table.sort
local fmt = string.format
local floor = math.floor
local os_date = os.date

local json = require "acmpca.json"


local _M = { _VERSION = "0.1.0" }


local ARN_HINT = "arn:<partition>:acm-pca:<region>:<12-digit account>:certificate-authority/<id>"

-- a CA that exists in the fake service when --mock is given no ARN
_M.DEMO_CA_ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"


------------------------------------------------------------------------
-- commands and options
------------------------------------------------------------------------

local GLOBAL = {
    region = "value", profile = "value", ["endpoint-url"] = "value", output = "value",
    ["ca-bundle"] = "value", mock = "flag", help = "flag",
}

local ARN_OPT = "certificate-authority-arn"

-- the client's field names -> the command's options
local OPTION_OF = {
    ca_arn = ARN_OPT, principal = "principal", actions = "actions",
    source_account = "source-account", max_results = "page-size",
    next_token = "starting-token",
}

local COMMANDS = {
    ["ensure-renewal"] = {
        summary = "Grants ACM what it needs to renew the CA's certificates",
        options = { [ARN_OPT] = "value", ["source-account"] = "value" },
        required = { ARN_OPT },
        synopsis = "--certificate-authority-arn <value> [--source-account <value>]",
        about = "Makes sure the ACM service principal (acm.amazonaws.com) holds\n"
            .. "IssueCertificate, GetCertificate and ListPermissions on the CA, so ACM\n"
            .. "can renew the certificates the CA issued. Idempotent. Prints the status:\n"
            .. "created, present (nothing was written) or repaired (an incomplete\n"
            .. "permission was replaced).",
    },
    ["has-renewal"] = {
        summary = "Tells whether ACM can renew the CA's certificates",
        options = { [ARN_OPT] = "value" },
        required = { ARN_OPT },
        synopsis = "--certificate-authority-arn <value>",
        about = "Tells whether ACM holds all three renewal permissions on the CA.",
    },
    ["revoke-renewal"] = {
        summary = "Removes ACM's permission on the CA",
        options = { [ARN_OPT] = "value" },
        required = { ARN_OPT },
        synopsis = "--certificate-authority-arn <value>",
        about = "Deletes ACM's permission on the CA. Idempotent: prints revoked, or absent\n"
            .. "when there was none.",
    },
    ["create-permission"] = {
        summary = "Grants a principal permissions on the CA",
        options = { [ARN_OPT] = "value", principal = "value", actions = "list",
                    ["source-account"] = "value" },
        required = { ARN_OPT, "principal", "actions" },
        synopsis = "--certificate-authority-arn <value> --principal <value>\n"
            .. "        --actions <value> [<value>...] [--source-account <value>]",
        about = "Grants a principal permissions on the CA (ACM PCA CreatePermission).\n"
            .. "--actions takes IssueCertificate, GetCertificate and ListPermissions,\n"
            .. "as separate words or comma-separated (\"A B C\", \"A,B,C\", \"A, B, C\").\n"
            .. "Prints nothing on success.",
    },
    ["list-permissions"] = {
        summary = "Lists the permissions on the CA",
        options = { [ARN_OPT] = "value", ["max-items"] = "value", ["page-size"] = "value",
                    ["starting-token"] = "value" },
        required = { ARN_OPT },
        synopsis = "--certificate-authority-arn <value> [--max-items <value>]\n"
            .. "        [--page-size <value>] [--starting-token <value>]",
        about = "Lists the permissions on the CA (ACM PCA ListPermissions), every page.\n"
            .. "With --max-items the output stops after that many and carries the\n"
            .. "NextToken to pass as --starting-token.",
    },
    ["delete-permission"] = {
        summary = "Revokes a principal's permissions on the CA",
        options = { [ARN_OPT] = "value", principal = "value", ["source-account"] = "value" },
        required = { ARN_OPT, "principal" },
        synopsis = "--certificate-authority-arn <value> --principal <value>\n"
            .. "        [--source-account <value>]",
        about = "Revokes a principal's permissions on the CA (ACM PCA DeletePermission).\n"
            .. "Prints nothing on success.",
    },
}

local COMMAND_ORDER = {
    "ensure-renewal", "has-renewal", "revoke-renewal",
    "create-permission", "list-permissions", "delete-permission",
}

local GLOBAL_HELP = [[
Global options:
  --region <value>         AWS region (default: AWS_REGION, AWS_DEFAULT_REGION,
                           the profile's region, else the CA ARN's region)
  --profile <value>        profile from ~/.aws/config and ~/.aws/credentials
  --endpoint-url <value>   send requests to this URL instead of AWS
  --ca-bundle <value>      trust this CA file for TLS
  --output json|text       output format (default json)
  --mock                   use an in-process fake ACM PCA in which the given
                           CA ARN(s) exist and are ACTIVE (for trying it out)
  --help                   this help, or a command's with `acmpca <command> --help`
]]


local function overall_help()
    local lines = { "usage: acmpca <command> [options]", "", "Commands:" }
    for _, name in ipairs(COMMAND_ORDER) do
        lines[#lines + 1] = fmt("  %-19s %s", name, COMMANDS[name].summary)
    end
    lines[#lines + 1] = ""
    lines[#lines + 1] = GLOBAL_HELP
    return concat(lines, "\n")
end


local function command_help(name)
    local c = COMMANDS[name]
    return fmt("usage: acmpca %s %s\n\n%s\n\n%s", name, c.synopsis, c.about, GLOBAL_HELP)
end


------------------------------------------------------------------------
-- output
------------------------------------------------------------------------

-- epoch seconds -> ISO 8601 as aws-cli v2 prints it (UTC)
local function iso8601(t)
    if type(t) ~= "number" then
        return t
    end
    local s = floor(t)
    local us = floor((t - s) * 1e6 + 0.5)
    if us >= 1000000 then
        s, us = s + 1, 0
    end
    local base = os_date("!%Y-%m-%dT%H:%M:%S", s)
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
    end
    return tostring(v)
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
        if #lines > 0 then
            io_env.stdout:write(concat(lines, "\n"), "\n")
        end
    else
        io_env.stdout:write(json.encode(value, 4), "\n")
    end
end


local function permission_object(p)
    local actions = {}
    for i, a in ipairs(type(p.actions) == "table" and p.actions or {}) do
        actions[i] = a
    end
    return json.object(
        "CertificateAuthorityArn", p.certificate_authority_arn,
        "CreatedAt", iso8601(p.created_at),
        "Principal", p.principal,
        "SourceAccount", type(p.source_account) == "string" and p.source_account or nil,
        "Actions", json.array(actions),
        "Policy", type(p.policy) == "string" and p.policy or nil)
end


------------------------------------------------------------------------
-- argument parsing
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
local function parse_actions(words)
    local out = {}
    for _, w in ipairs(words) do
        if w:match("^%s*%[") then
            local list = require("cjson.safe").decode(w)
            if type(list) ~= "table" then
                usage("--actions: cannot parse " .. w .. " as a JSON list")
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


local function parse(argv)
    local g, o, words = {}, {}, {}
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
            if kind == "flag" then
                if val then
                    usage("--" .. name .. " takes no value")
                end
                g[name] = true
            elseif name == "actions" then
                local list = {}
                if val then
                    list[1] = val
                end
                while i < n and argv[i + 1]:sub(1, 2) ~= "--" do
                    i = i + 1
                    list[#list + 1] = argv[i]
                end
                if #list == 0 then
                    usage("argument --actions: expected at least one argument")
                end
                o.actions = list
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
    return g, o, words
end


local function check_arn(arn)
    if not acmpca.is_ca_arn(arn) then
        usage(fmt("argument --%s: expected %s, got %q", ARN_OPT, ARN_HINT, arn))
    end
end


-- digits only, as aws-cli's int() takes them: tonumber would also take
-- "1e1" or "0x10" (and give a float on Lua 5.4)
local function positive_int(name, v, max)
    local n = tonumber(v:match("^%s*(%d+)%s*$"))
    if not n or n < 1 or (max and n > max) then
        usage(fmt("argument --%s: expected an integer from 1%s, got %q", name,
                  max and (" to " .. max) or " up", v))
    end
    return n
end


------------------------------------------------------------------------
-- running a command
------------------------------------------------------------------------

local function make_client(g, io_env, arn)
    local opts = {
        region = g.region, profile = g.profile, endpoint = g["endpoint-url"],
        ca_file = g["ca-bundle"], sleep = io_env.sleep,
    }
    if g.mock then
        local svc = io_env.mock
        if not svc then
            svc = mock.new{ cas = { [arn or _M.DEMO_CA_ARN] = { status = "ACTIVE" } } }
        end
        opts.transport = svc:transport()
        opts.credentials = svc.credentials
        opts.profile, opts.endpoint, opts.ca_file = nil, nil, nil
    end
    return (io_env.new or acmpca.new)(opts)
end


local RUN = {}


function RUN.ensure_renewal(c, o)
    local ok, status = c:ensure_acm_renewal(o[ARN_OPT], { source_account = o["source-account"] })
    if not ok then
        return nil, status
    end
    return json.object("CertificateAuthorityArn", o[ARN_OPT], "Status", status)
end


function RUN.has_renewal(c, o)
    local has, err = c:has_acm_renewal(o[ARN_OPT])
    if has == nil then
        return nil, err
    end
    return json.object("CertificateAuthorityArn", o[ARN_OPT], "HasAcmRenewal", has)
end


function RUN.revoke_renewal(c, o)
    local ok, status = c:revoke_acm_renewal(o[ARN_OPT])
    if not ok then
        return nil, status
    end
    return json.object("CertificateAuthorityArn", o[ARN_OPT], "Status", status)
end


function RUN.create_permission(c, o)
    local ok, err = c:create_permission{
        ca_arn = o[ARN_OPT], principal = o.principal, actions = parse_actions(o.actions),
        source_account = o["source-account"],
    }
    if not ok then
        return nil, err
    end
    return nil
end


function RUN.delete_permission(c, o)
    local ok, err = c:delete_permission{
        ca_arn = o[ARN_OPT], principal = o.principal, source_account = o["source-account"],
    }
    if not ok then
        return nil, err
    end
    return nil
end


function RUN.list_permissions(c, o)
    local max_items = o["max-items"] and positive_int("max-items", o["max-items"])
    local page_size = o["page-size"] and positive_int("page-size", o["page-size"], 1000)
    local token = o["starting-token"]
    local perms = {}
    while true do
        local want = page_size
        if max_items then
            local left = max_items - #perms
            want = (not want or left < want) and left or want
            if want > 1000 then
                want = 1000
            end
        end
        local res, err = c:list_permissions{
            ca_arn = o[ARN_OPT], max_results = want, next_token = token,
        }
        if not res then
            return nil, err
        end
        for _, p in ipairs(res.permissions or {}) do
            perms[#perms + 1] = permission_object(p)
        end
        token = type(res.next_token) == "string" and res.next_token ~= "" and res.next_token
            or nil
        if not token or (max_items and #perms >= max_items) then
            break
        end
    end
    return json.object("Permissions", json.array(perms), "NextToken", token)
end


local function say(io_env, ...)
    io_env.stderr:write(...)
end


local function service_error(io_env, err)
    if type(err) == "table" and err.code and err.operation then
        say(io_env, fmt("acmpca: An error occurred (%s) when calling the %s operation: %s\n",
                        tostring(err.code), tostring(err.operation), tostring(err.message)))
    else
        say(io_env, "acmpca: ", tostring(err), "\n")
    end
    return 1
end


local function run(argv, io_env)
    local g, o, words = parse(argv)
    local name = words[1]

    if name == "help" then
        local topic = words[2]
        if topic and not COMMANDS[topic] then
            usage("unknown command '" .. topic .. "'")
        end
        io_env.stdout:write(topic and command_help(topic) or overall_help())
        return 0
    end
    if not name then
        if g.help then
            io_env.stdout:write(overall_help())
            return 0
        end
        usage("a command is required (one of: " .. concat(COMMAND_ORDER, ", ") .. ")")
    end
    local cmd = COMMANDS[name]
    if not cmd then
        usage("unknown command '" .. name .. "' (one of: " .. concat(COMMAND_ORDER, ", ") .. ")")
    end
    if g.help then
        io_env.stdout:write(command_help(name))
        return 0
    end
    if words[2] then
        usage("unexpected argument '" .. words[2] .. "'")
    end

    local unknown = {}
    for _, k in ipairs(sorted_names(o)) do
        if not cmd.options[k] then
            unknown[#unknown + 1] = "--" .. k
        end
    end
    if #unknown > 0 then
        usage("Unknown options: " .. concat(unknown, ", "))
    end
    local missing = {}
    for _, k in ipairs(cmd.required) do
        if o[k] == nil then
            missing[#missing + 1] = "--" .. k
        end
    end
    if #missing > 0 then
        usage("the following arguments are required: " .. concat(missing, ", "))
    end
    if g.output and g.output ~= "json" and g.output ~= "text" then
        usage(fmt("argument --output: invalid choice: %q (choose from 'json', 'text')",
                  g.output))
    end
    check_arn(o[ARN_OPT])
    local sa = o["source-account"]
    if sa and not sa:match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then
        usage(fmt("argument --source-account: expected 12 digits, got %q", sa))
    end
    if o.actions then
        local actions = parse_actions(o.actions)
        if #actions == 0 then
            usage("argument --actions: expected at least one action")
        end
    end

    local ok, c = pcall(make_client, g, io_env, o[ARN_OPT])
    if not ok then
        usage((tostring(c):gsub("^[^:\n]*:%d+: ", "")))
    end
    local res, err
    ok, res, err = pcall(RUN[name:gsub("%-", "_")], c, o)
    pcall(c.close, c)
    if not ok then
        if type(res) == "table" and res[Usage] then
            error(res, 0)
        end
        -- the client raises on arguments it refuses: a usage error, told
        -- with the command's option names
        local msg = tostring(res):gsub("^[^:\n]*:%d+: ", "")
        msg = msg:gsub("^acmpca%.[%w_]+: ([%w_]+)([^:%s]*): ", function(field, sub)
            local opt = OPTION_OF[field]
            return opt and ("argument --" .. opt .. ": ") or (field .. sub .. ": ")
        end)
        usage(msg)
    end
    if res == nil and err ~= nil then
        return service_error(io_env, err)
    end
    emit(io_env, g, res)
    return 0
end


-- cli.main(argv[, io_env]) -> exit code.  io_env: stdout, stderr (objects
-- with :write), mock (an acmpca.mock service for --mock; default: a new one
-- with the command's CA ACTIVE), new (the client constructor; default
-- acmpca.new), sleep (the client's retry sleep).
function _M.main(argv, io_env)
    if type(argv) ~= "table" then
        error("acmpca.cli.main: argv: expected a table, got " .. type(argv), 2)
    end
    io_env = io_env or {}
    local env = {
        stdout = io_env.stdout or io.stdout, stderr = io_env.stderr or io.stderr,
        mock = io_env.mock, new = io_env.new, sleep = io_env.sleep,
    }
    local ok, code = pcall(run, argv, env)
    if ok then
        return code
    end
    if type(code) == "table" and code[Usage] then
        say(env, "usage: acmpca <command> [options]  (acmpca --help for more)\n",
            "acmpca: error: ", code.usage, "\n")
        return 2
    end
    say(env, "acmpca: internal error: ", tostring(code), "\n")
    return 1
end


return _M
