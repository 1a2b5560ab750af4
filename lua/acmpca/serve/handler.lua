-- acmpca.serve.handler: the side of `acmpca serve` that runs inside nginx
-- (ngx_http_lua, LuaJIT).  The configuration acmpca.serve writes calls:
--
--   init_by_lua        handler.init{ seed = "demo"|"empty", region =, ready = path }
--   init_worker_by_lua handler.ready()   -- the listen socket is open: say so
--   content_by_lua     handler.serve()   -- one request -> the fake's answer
--
-- init builds the fake (acmpca.mock) in the master, so a broken install
-- (no LuaJIT acmpca.core, no cjson) stops nginx at startup with the reason
-- in its error log.  nginx runs one worker: the fake's state lives in that
-- worker's Lua VM for the life of the server.

-- luacheck: globals ngx

local type, pairs, pcall, tostring = type, pairs, pcall, tostring
local io_open = io.open
local concat = table.concat

local _M = { _VERSION = "0.2.0" }


-- the mock logs every request; a long-lived server keeps only the latest
local LOG_KEEP = 100

local state = {}


-- handler.init{ seed, region, ready }: the fake, before the worker forks.
function _M.init(opts)
    local mock = require "acmpca.mock"
    require "acmpca.core" -- the signer's C core, loaded now or never
    if opts.seed == "empty" then
        state.svc = mock.new{ region = opts.region,
                              account = require("acmpca.mock.fleet").ACCOUNT }
    else
        state.svc = mock.demo{ region = opts.region }
    end
    state.ready = opts.ready
end


-- handler.ready(): the worker is up and the socket listens; acmpca.serve
-- waits for this file before it prints the URL.
function _M.ready()
    if not state.ready then
        return
    end
    local f = io_open(state.ready, "wb")
    if f then
        f:write("ready\n")
        f:close()
    end
end


local function trim_log(svc)
    local log = svc.log
    local n = #log
    if n > 2 * LOG_KEEP then
        local keep = {}
        for i = n - LOG_KEEP + 1, n do
            keep[#keep + 1] = log[i]
        end
        svc.log = keep
    end
end


-- The request as the fake's transport seam takes it.
local function request()
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body then
        local file = ngx.req.get_body_file()
        local f = file and io_open(file, "rb")
        if f then
            body = f:read("*a")
            f:close()
        end
    end
    local host = ngx.var.http_host or (ngx.var.server_addr .. ":" .. ngx.var.server_port)
    return {
        method = ngx.req.get_method(),
        url = "http://" .. host .. ngx.var.request_uri,
        headers = ngx.req.get_headers(200),
        body = body or "",
    }
end


-- handler.serve(): one request through the fake.
function _M.serve()
    local svc = state.svc
    local ok, res, err = pcall(svc, request())
    trim_log(svc)
    if not ok or not res then
        ngx.log(ngx.ERR, "acmpca serve: the fake failed: ", tostring(ok and err or res))
        ngx.status = 500
        ngx.header["Content-Type"] = "application/x-amz-json-1.1"
        ngx.print('{"__type":"InternalFailure","message":"the fake ACM PCA failed"}')
        return
    end
    ngx.status = res.status
    for k, v in pairs(res.headers) do
        if k ~= "date" and k ~= "content-length" then
            ngx.header[k] = type(v) == "table" and concat(v, ", ") or v
        end
    end
    ngx.header["Content-Length"] = #res.body
    ngx.print(res.body)
end


return _M
