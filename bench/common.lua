-- bench/common.lua: what the benchmarks share (run them from the
-- repository root: bench/?.lua is on their package.path).

local _M = {}


--- A field of /proc/self/status in KiB (VmHWM: peak RSS; VmRSS), 0 if unknown.
function _M.status_kib(field)
    local f = io.open("/proc/self/status")
    if not f then return 0 end
    local s = f:read("*a")
    f:close()
    return tonumber(s:match(field .. ":%s*(%d+) kB")) or 0
end


--- The median of a list of numbers (sorts it).
function _M.median(t)
    table.sort(t)
    local n = #t
    if n % 2 == 1 then return t[(n + 1) / 2] end
    return (t[n / 2] + t[n / 2 + 1]) / 2
end


return _M
