--- acmpca.repl: an interactive Lua prompt with acmpca loaded (what
-- `acmpca repl` runs; examples/repl.lua launches it from a checkout).
--
--    repl.main(args, io_env) -> exit code
--
-- args: the words after `repl`: `--aws` (a client for the real service
-- instead of the fake one: the AWS credential chain and region, as the
-- acmpca command uses), `--help`.  io_env: stdin (an object with :read("l"),
-- default io.stdin), stdout and stderr (objects with :write), getenv.
--
-- Each line is run as Lua in an environment that holds acmpca, mock,
-- show(...) (prints any value readably, secrets redacted), help() (the
-- public functions, one line each) and, with the fake (the default): svc
-- (an acmpca.mock service, state kept for the session), arn (one of its
-- CAs, ACTIVE) and client (a real client whose transport is svc); with
-- `--aws`: client only.  An expression's values are shown ("= " is not
-- needed); an incomplete statement continues on the next line (">>");
-- an error is printed and the session goes on.  End of input ends it.
--
-- @module acmpca.repl

local type, pcall, select, tostring, rawget, ipairs = type, pcall, select, tostring, rawget,
    ipairs
local unpack = rawget(table, "unpack") or rawget(_G, "unpack")
local setmetatable, require = setmetatable, require
local load, setfenv, loadstring = load, rawget(_G, "setfenv"), rawget(_G, "loadstring")
local concat = table.concat

local _M = { _VERSION = "0.2.0" }

local ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"

local USAGE = [[
usage: acmpca repl [--aws]

An interactive Lua prompt with acmpca loaded.  By default it talks to a
fake ACM PCA kept for the session (globals svc, arn, client); with --aws,
client is acmpca.new() over the real service (your credentials and
region, as the acmpca command finds them): it can change real CAs.

Globals: acmpca, mock, client, show(...), help(); svc and arn with the
fake.  An expression's value is printed; end with Ctrl-D.
]]


-- Compile line in env: first as an expression (its values are shown), then
-- as a statement.  Returns fn, or nil, message, incomplete.
local function compile(code, env)
    local function try(src)
        local fn, err
        if setfenv then
            fn, err = loadstring(src, "=stdin")
            if fn then
                setfenv(fn, env)
            end
        else
            fn, err = load(src, "=stdin", "t", env)
        end
        return fn, err
    end
    local fn = try("return " .. code)
    if fn then
        return fn
    end
    local err
    fn, err = try(code)
    if fn then
        return fn
    end
    err = tostring(err)
    return nil, err, err:find("<eof>'?$") ~= nil
end


local function pack(...)
    return { n = select("#", ...), ... }
end


-- The session's globals.
local function environment(aws, io_env, show, acmpca)
    local mock = require "acmpca.mock"
    local env = {
        acmpca = acmpca, mock = mock,
        -- these print and return nothing, so the prompt does not print twice
        show = function(...)
            io_env.stdout:write(show.render(...), "\n")
        end,
        help = function()
            acmpca.help(io_env.stdout)
        end,
        print = function(...)
            local parts = {}
            for i = 1, select("#", ...) do
                parts[i] = tostring((select(i, ...)))
            end
            io_env.stdout:write(concat(parts, "\t"), "\n")
        end,
    }
    if aws then
        env.client = acmpca.new{ getenv = io_env.getenv }
    else
        env.arn = ARN
        env.svc = mock.new{ cas = { [ARN] = { status = "ACTIVE" } } }
        env.client = env.svc:client{ sleep = function() end } -- no real waits
    end
    return setmetatable(env, { __index = _G })
end


local function banner(aws, env, acmpca)
    local lines = { "acmpca " .. acmpca._VERSION .. " (" .. (rawget(_G, "jit")
                    and tostring(rawget(_G, "jit").version) or _VERSION) .. ")" }
    if aws then
        lines[#lines + 1] = "client: " .. tostring(env.client)
            .. " -- the real service: what you run changes real CAs."
        lines[#lines + 1] = "Globals: acmpca, mock, client, show(...), help()."
    else
        lines[#lines + 1] = "A fake ACM PCA for this session.  Globals: acmpca, mock, svc, arn, "
            .. "client, show(...), help()."
        lines[#lines + 1] = "Try:  client:ensure_acm_renewal(arn)   svc.calls   "
            .. "client:list_permissions{ ca_arn = arn }"
    end
    lines[#lines + 1] = "An expression's value is printed; help() lists the functions; "
        .. "Ctrl-D ends."
    return concat(lines, "\n") .. "\n"
end


local function run(io_env, env, show)
    local out, err_out, stdin = io_env.stdout, io_env.stderr, io_env.stdin
    local buffer
    while true do
        out:write(buffer and ">> " or "> ")
        if out.flush then
            out:flush()
        end
        local line = stdin:read("*l")
        if line == nil then
            out:write("\n")
            return 0
        end
        local code = buffer and buffer .. "\n" .. line or line
        local fn, msg, incomplete = compile(code, env)
        if fn then
            buffer = nil
            local r = pack(pcall(fn))
            if not r[1] then
                err_out:write("error: ", show.scrub(tostring(r[2])), "\n")
            elseif r.n > 1 then
                out:write(show.render(unpack(r, 2, r.n)), "\n")
            end
        elseif incomplete then
            buffer = code
        else
            buffer = nil
            err_out:write("error: ", show.scrub(msg), "\n")
        end
    end
end


--- repl.main(args, io_env) -> exit code
function _M.main(args, io_env)
    io_env = io_env or {}
    local env_io = {
        stdin = io_env.stdin or io.stdin, stdout = io_env.stdout or io.stdout,
        stderr = io_env.stderr or io.stderr, getenv = io_env.getenv,
    }
    local aws = false
    for _, a in ipairs(type(args) == "table" and args or {}) do
        if a == "--help" or a == "-h" then
            env_io.stdout:write(USAGE)
            return 0
        elseif a == "--aws" then
            aws = true
        else
            env_io.stderr:write(USAGE:match("^[^\n]*"), "\n",
                                "acmpca repl: error: unrecognized argument: ",
                                require("acmpca.show").scrub(tostring(a)), "\n")
            return 2
        end
    end
    local acmpca = require "acmpca"
    local show = require "acmpca.show"
    local ok, env = pcall(environment, aws, env_io, show, acmpca)
    if not ok then
        env_io.stderr:write("acmpca repl: error: ", show.scrub(tostring(env)), "\n")
        return 1
    end
    env_io.stdout:write(banner(aws, env, acmpca))
    return run(env_io, env, show)
end


return _M
