--- acmpca.credentials.process: runs a profile's credential_process command
-- with a bound on its time and on its output, and returns what it printed
-- on stdout and its exit status.  acmpca.credentials reads the document.
--
-- Two ways to run it, chosen per call:
--
--    * inside nginx, in a phase that may yield (rewrite, access, content,
--     ngx.timer), when the configuration has a thread pool for it
--     (`thread_pool acmpca threads=2;` at the top level, or the pool named
--     by the provider's process_thread_pool): ngx.run_worker_thread runs
--     it in that pool and the worker goes on serving other requests;
--    * everywhere else through io.popen, which blocks the caller (inside
--     nginx without the pool: the worker, for at most the timeout).
--
-- The command's stderr is inherited: the terminal, the CLI's stderr, or
-- nginx's error log.
--
-- Either way the command runs under timeout(1) from coreutils, which leads
-- its own process group: at the deadline the whole group gets TERM, then
-- KILL one second later.  At most max_output bytes of stdout are read
-- (checked per chunk, while reading); past that the group is stopped.
--
-- @module acmpca.credentials.process

local type = type
local pcall = pcall
local require = require
local tonumber = tonumber
local tostring = tostring
local str_find = string.find
local str_match = string.match
local str_sub = string.sub
local str_gsub = string.gsub
local str_format = string.format
local tbl_concat = table.concat

local _M = { _VERSION = "0.2.0" }

--- Seconds a command may run unless the caller says otherwise.
_M.TIMEOUT = 60
--- Bytes of stdout read at most unless the caller says otherwise.
_M.MAX_OUTPUT = 1024 * 1024

local CHUNK = 64 * 1024
-- printed by the popen wrapper after the command's output
local EXIT_MARK = "\nacmpca-credential-process-exit:"


-- A word for sh: single-quoted.
local function shell_quote(w)
    return "'" .. str_gsub(w, "'", "'\\''") .. "'"
end

_M.shell_quote = shell_quote


-- The popen way -----------------------------------------------------------

-- Kills a process group (timeout(1) leads it), or the process alone.
local function kill_group(pid)
    os.execute("kill -KILL -- -" .. pid .. " 2>/dev/null || kill -KILL " .. pid
               .. " 2>/dev/null")
end


-- sh prints its pid (the first line, before anything the command prints),
-- then runs timeout(1); the exit status is printed after the output, so it
-- is known on LuaJIT too (whose popen close() does not report it).
local function popen_start(popen, cmd, secs)
    local script = "exec timeout -k 1 " .. str_format("%.3f", secs)
        .. " /bin/sh -c \"$1\""
    local line = "/bin/sh -c " .. shell_quote("echo \"$$\"; " .. script) .. " acmpca "
        .. shell_quote(cmd) .. "\nprintf '" .. EXIT_MARK .. "%d\\n' \"$?\""
    return popen(line, "r")
end


-- Reads at most max bytes of output (checked per chunk); past that, kills
-- the process group.  Returns text, or nil when it was too big.
local function popen_read(f, max, kill)
    local pid = f:read("*l")
    pid = pid and str_match(pid, "^%d+$")
    local parts, n = {}, 0
    while true do
        local chunk = f:read(CHUNK)
        if not chunk then
            break
        end
        n = n + #chunk
        if n > max + #EXIT_MARK + 8 then
            if pid then
                kill(pid)
            end
            return nil
        end
        parts[#parts + 1] = chunk
    end
    return tbl_concat(parts)
end


local function run_popen(cmd, secs, max, o)
    local f, perr = popen_start(o.popen or io.popen, cmd, secs)
    if not f then
        return nil, "start", tostring(perr)
    end
    local ok, out = pcall(popen_read, f, max, o.kill or kill_group)
    pcall(f.close, f)
    if not ok then
        return nil, "read"
    end
    if not out then
        return nil, "too_big"
    end
    -- The last marker is ours (the command may print anything before it).
    local at, init = nil, 1
    while true do
        local i = str_find(out, EXIT_MARK, init, true)
        if not i then
            break
        end
        at, init = i, i + 1
    end
    local status = at and str_match(out, "^(%d+)\n?$", at + #EXIT_MARK)
    if not status then
        return nil, "no_status"
    end
    status = tonumber(status)
    if status == 124 or status == 137 then
        return nil, "timeout"
    end
    return str_sub(out, 1, at - 1), status
end


-- The nginx way ----------------------------------------------------------

-- The pool's name when the caller is inside nginx in a phase that may
-- yield and this nginx has ngx.run_worker_thread.
local function nginx_threads()
    if type(ngx) ~= "table" or type(ngx.run_worker_thread) ~= "function" then
        return false
    end
    local okt, tngx = pcall(require, "acmpca.transport.ngx")
    return okt and type(tngx) == "table" and tngx.available() or false
end

_M.nginx_threads = nginx_threads


--- Runs cmd through io.popen; what run does outside nginx, and what a
-- thread of nginx's pool runs (arguments and results are plain values).
-- @tparam string cmd the command line
-- @tparam number secs seconds before timeout(1) stops it
-- @tparam number max bytes of stdout read at most
-- @return as `run`
function _M.run_blocking(cmd, secs, max)
    return run_popen(cmd, secs, max, {})
end


--- Runs cmd with /bin/sh under timeout(1).
-- @tparam string cmd the command line, as in the profile
-- @tparam[opt] table o `timeout` (seconds, default `TIMEOUT`),
--   `max_output` (bytes, default `MAX_OUTPUT`), `thread_pool` (the
--   nginx thread pool's name, default "acmpca"), `popen` (replaces
--   io.popen; using it also selects the popen way)
-- @return the stdout text and the exit status (a number); or nil and one
--   of "start" (with a reason), "read", "too_big", "no_status", "timeout"
-- @return[2] true as a third value when it ran in nginx's thread pool
function _M.run(cmd, o)
    o = o or {}
    local secs = o.timeout or _M.TIMEOUT
    local max = o.max_output or _M.MAX_OUTPUT
    if not o.popen and nginx_threads() then
        local pool = o.thread_pool or "acmpca"
        local ok, out, status, detail = ngx.run_worker_thread(pool, "acmpca.credentials.process",
                                                              "run_blocking", cmd, secs, max)
        if ok then
            if out then
                return out, status, true
            end
            return nil, status, detail
        end
        -- no such pool: the blocking way, as documented
        if not str_find(tostring(out), "not found", 1, true) then
            return nil, "start", "nginx thread pool " .. pool .. ": " .. tostring(out)
        end
    end
    return run_popen(cmd, secs, max, o)
end


return _M
