--- acmpca.mock: an in-memory ACM Private CA for specs, examples and the REPL.
--
--    local mock = require "acmpca.mock"
--    local svc = mock.new{ cas = { [arn] = { status = "ACTIVE" } } }
--    local client = svc:client()          -- acmpca.new{ transport = svc, ... }
--    local demo = mock.demo()             -- a seeded fleet of nine CAs
--    local big = mock.fleet(250)          -- 250 ACTIVE CAs, for benchmarks
--
-- The service object is callable: svc(req) -> res | nil, err, the client's
-- transport seam.  Each request is checked the way AWS checks it (POST /,
-- the JSON 1.1 content type, X-Amz-Target, a JSON object body with the
-- model's shapes: acmpca.mock.validate) and its SigV4 signature is
-- recomputed with acmpca.sigv4 from the request's own X-Amz-Date and
-- SignedHeaders; a mismatch gets 403 InvalidSignatureException.  Faults can
-- be injected, hooks run before any operation, every call is counted
-- (svc.calls[op]) and logged (svc.log).
--
-- A form-encoded POST is STS (acmpca.mock.sts): GetCallerIdentity answers
-- the fake's account, for client:caller_identity.
--
-- The operations (acmpca.mock.ops; the Python fake spec/support/
-- fake_acmpca.py has the same semantics) keep per-CA state:
--
--    CreatePermission, DeletePermission   the CA ACTIVE; duplicate principal
--    ListPermissions                      ACTIVE, DISABLED or EXPIRED
--    ListCertificateAuthorities           ResourceOwner SELF (default) lists
--       the caller's CAs, OTHER_ACCOUNTS the shared ones; every status; at
--       most 100 a page (default page_size)
--    DescribeCertificateAuthority         any CA, shared ones too
--    GetPolicy                            any CA but a DELETED one
--    PutPolicy, DeletePolicy              the CA ACTIVE; PutPolicy wants a
--       JSON object with a Statement and a Version (InvalidPolicyException)
-- A shared CA (not the caller's) refuses the writes and ListPermissions
-- with AccessDeniedException.  NextTokens are opaque and good only for the
-- operation, CA or ResourceOwner they were issued for.  Bodies come in the
-- model's member order (acmpca.mock.wire), timestamps in epoch seconds.
--
-- The CAs (acmpca.mock.cas) keep their insertion order.  Seeding options,
-- for mock.new{ cas = ... } and svc:add_ca(arn, opts): status (ACTIVE),
-- type (SUBORDINATE), common_name (the CA id's first 8 characters),
-- organization, created_at (now), not_before (created), not_after (created
-- + 10 years ROOT, 5 years SUBORDINATE), failure_reason (FAILED only;
-- OTHER), policy (a JSON text), permissions ({ principal =, actions =,
-- source_account = } list), shared, active_at (a CREATING or
-- PENDING_CERTIFICATE CA turns ACTIVE at the first request at or after
-- it).  With mock.new{ account = "111122223333" } a CA is shared exactly
-- when its ARN names another account (a shared option must agree);
-- without an account, only CAs seeded shared are.
-- Everything, active_at included, runs on svc.now() (mock.new{ now = }).
--
-- @module acmpca.mock

local cjson = require "cjson.safe"
local json = require "acmpca.json"
local wire = require "acmpca.mock.wire"
local validate = require "acmpca.mock.validate"
local signature = require "acmpca.mock.signature"
local faults = require "acmpca.mock.faults"
local cas = require "acmpca.mock.cas"
local ops = require "acmpca.mock.ops"
local fleet = require "acmpca.mock.fleet"
local sts = require "acmpca.mock.sts"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local setmetatable, require = setmetatable, require
local error, next = error, next
local concat, insert, sort = table.concat, table.insert, table.sort
local fmt = string.format
local floor = math.floor
local os_time, os_date = os.time, os.date
local json_decode = cjson.decode
local api_error = wire.error


local _M = { _VERSION = "0.2.0" }


local TARGET_PREFIX = "ACMPrivateCA."
local CONTENT_TYPE = "application/x-amz-json-1.1"
local DEFAULT_PAGE_SIZE = 100

-- The AWS documentation's example keys: not a secret anywhere.
local CREDS_MT = {
    __tostring = function(c)
        return "acmpca.mock credentials (access key " .. tostring(c.access_key_id) .. ")"
    end,
}

--- The credentials a mock client signs with (the AWS documentation's
-- example keys, AKIDEXAMPLE): svc:client() uses them.
_M.credentials = setmetatable({
    access_key_id = "AKIDEXAMPLE",
    secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
}, CREDS_MT)


--- The JSON codec the fake uses (acmpca.json), kept for callers of mock.json.
_M.json = json -- kept for callers of mock.json


------------------------------------------------------------------------
-- small helpers
-- @section small_helpers
------------------------------------------------------------------------

local function http_date(t)
    return os_date("!%a, %d %b %Y %H:%M:%S GMT", floor(t))
end


local function lower_headers(headers)
    local h = {}
    if type(headers) ~= "table" then
        return h
    end
    for k, v in pairs(headers) do
        if type(k) == "string" then
            if type(v) == "table" then
                v = concat(v, ",")
            end
            h[k:lower()] = tostring(v)
        end
    end
    return h
end


-- The Content-Type's media type ("application/x-amz-json-1.1"), or nil.
local function media_type(h)
    local ctype = h["content-type"]
    return ctype and ctype:match("^%s*([^;%s]+)")
end


local function split_url(url)
    local scheme, authority, rest = url:match("^(%a[%w+.%-]*)://([^/?#]*)(.*)$")
    if not scheme then
        return nil
    end
    local path, query = rest:match("^([^?#]*)%??([^#]*)")
    if path == "" then
        path = "/"
    end
    return scheme:lower(), authority, path, query
end


------------------------------------------------------------------------
-- the service
-- @section the_service
------------------------------------------------------------------------

local methods = {}
local SVC_MT = { __index = methods }


local function next_id(svc)
    svc._seq = svc._seq + 1
    local n = svc._seq
    return fmt("%08x-%04x-4%03x-8%03x-%012x", 0x6d6f636b, n % 0x10000, n % 0x1000,
               (n * 7) % 0x1000, n)
end


local function respond(svc, status, body)
    return {
        status = status,
        headers = {
            ["content-type"] = CONTENT_TYPE,
            ["content-length"] = tostring(#body),
            ["x-amzn-requestid"] = next_id(svc),
            ["date"] = http_date(svc.now()),
        },
        body = body,
    }
end


local function error_response(svc, e)
    return respond(svc, e.status, wire.error_body(e))
end


------------------------------------------------------------------------
-- the request handler: svc(req)
-- @section the_request_handler_svc_req
------------------------------------------------------------------------

local function redacted(headers)
    local out = {}
    if type(headers) == "table" then
        for k, v in pairs(headers) do
            if type(k) == "string" and k:lower() == "x-amz-security-token" then
                v = "<redacted>"
            end
            out[k] = v
        end
    end
    return out
end


local function finish(entry, res, e)
    entry.status = res and res.status
    entry.code = e and e.code
    entry.request_id = res and res.headers["x-amzn-requestid"]
    return res
end


-- POST /, the JSON 1.1 content type and a known X-Amz-Target -> the
-- operation, or nil and an api_error.
local function route(req, h)
    local _, _, path, query = split_url(type(req.url) == "string" and req.url or "")
    if req.method ~= "POST" or path ~= "/" or query ~= "" then
        return nil, api_error(404, "UnknownOperationException",
                              "ACM PCA accepts only POST / (got " .. tostring(req.method) .. " "
                              .. tostring(path) .. ")")
    end
    if media_type(h) ~= CONTENT_TYPE then
        return nil, api_error(400, "SerializationException",
                              "Content-Type must be " .. CONTENT_TYPE .. ", got "
                              .. tostring(h["content-type"]))
    end
    local target = h["x-amz-target"]
    local op = target and target:sub(1, #TARGET_PREFIX) == TARGET_PREFIX
               and target:sub(#TARGET_PREFIX + 1)
    if not op or not ops.known(op) then
        return nil, api_error(400, "UnknownOperationException",
                              "Unknown or unsupported operation: " .. tostring(target))
    end
    return op
end


-- An injected fault in place of the answer.
local function injected(svc, entry, f)
    entry.fault = f.kind
    local status, body, content_type = faults.answer(f)
    if not status then
        entry.code = type(body) == "table" and body.code or tostring(body)
        return nil, body
    end
    local res = respond(svc, status, body)
    res.headers["content-type"] = content_type or CONTENT_TYPE
    body = json_decode(body)
    return finish(entry, res, type(body) == "table" and { code = body.__type } or nil)
end


-- The body as the operation's input -> params (a JSON object, or nil), and
-- an api_error when it is not one or not valid input.
local function read_params(op, body)
    local params = type(body) == "string" and json_decode(body)
    if type(params) ~= "table" or (next(params) ~= nil and validate.is_array(params)) then
        return nil, api_error(400, "SerializationException",
                              "The request body is not a JSON object")
    end
    return params, validate.validate(op, params)
end


-- CAs whose active_at has come turn ACTIVE (at active_at).
local function tick(svc)
    if next(svc._pending) == nil then
        return
    end
    local now = svc.now()
    for arn, ca in pairs(svc._pending) do
        if cas.tick(ca, now) then
            svc._pending[arn] = nil
        end
    end
end


-- svc(req): route, count, check the signature, fault or validate, hook,
-- then the operation.
local function handle(svc, req)
    if type(req) ~= "table" then
        error("acmpca.mock: request: expected a table, got " .. type(req), 2)
    end
    local entry = { method = req.method, url = req.url, headers = redacted(req.headers),
                    body = req.body }
    insert(svc.log, entry)
    tick(svc)

    local h = lower_headers(req.headers)
    if media_type(h) == sts.CONTENT_TYPE then
        -- STS's query protocol: GetCallerIdentity (acmpca.mock.sts)
        local action = sts.action(req) or "(none)"
        entry.operation = action
        svc.calls[action] = (svc.calls[action] or 0) + 1
        local res, code = sts.handle(svc, req, h, next_id(svc))
        res.headers.date = http_date(svc.now())
        return finish(entry, res, code and { code = code })
    end
    local op, e = route(req, h)
    if not op then
        return finish(entry, error_response(svc, e), e)
    end
    entry.operation = op
    svc.calls[op] = (svc.calls[op] or 0) + 1

    e = signature.check(svc, req, h)
    if e then
        return finish(entry, error_response(svc, e), e)
    end
    local f = faults.take(svc._faults, op)
    if f then
        return injected(svc, entry, f)
    end

    local params
    params, e = read_params(op, req.body)
    entry.params = params
    if e then
        return finish(entry, error_response(svc, e), e)
    end
    local hook = svc._hooks[op]
    if hook then
        hook(svc, params)
    end

    local body
    body, e = ops.run(svc, op, params)
    if not body then
        return finish(entry, error_response(svc, e), e)
    end
    return finish(entry, respond(svc, 200, body))
end

SVC_MT.__call = handle
SVC_MT.__tostring = function(svc)
    local n = #svc._order
    return fmt("acmpca.mock (%d CA%s, %d request%s)", n, n == 1 and "" or "s",
               #svc.log, #svc.log == 1 and "" or "s")
end


------------------------------------------------------------------------
-- the public API: the CAs
-- @section the_public_api_the_cas
------------------------------------------------------------------------

local function check_arn_arg(fn, arn)
    if type(arn) ~= "string" then
        error(fmt("acmpca.mock.%s: ca_arn: expected a string, got %s", fn, type(arn)), 3)
    end
end


local function check_status(fn, status)
    if not cas.STATUSES[status] then
        error(fmt("acmpca.mock.%s: status: expected one of %s, got %s", fn, cas.status_list(),
                  tostring(status)), 3)
    end
end


-- The CA of arn, raising when there is none.
local function the_ca(svc, fn, arn)
    check_arn_arg(fn, arn)
    local ca = svc.cas[arn]
    if not ca then
        error("acmpca.mock." .. fn .. ": no such CA: " .. arn, 3)
    end
    return ca
end


-- Seed (or re-seed in place) the CA of arn -> record, or nil and why.
local function seed(svc, arn, o)
    local now = svc.now()
    local ca, why = cas.new(arn, o, now, svc.account)
    if not ca then
        return nil, why
    end
    if not svc.cas[arn] then
        insert(svc._order, arn)
    end
    svc.cas[arn] = ca
    svc._pending[arn] = ca.active_at and ca or nil
    for _, p in ipairs(o.permissions or {}) do
        cas.grant(ca, p.principal, p.actions, p.source_account, now)
    end
    return ca
end


--- svc:add_ca(arn[, status | opts]): a CA, ACTIVE unless said otherwise.
-- A status alone changes an existing CA's status (as set_status does); a
-- table of seeding options (status, type, common_name, organization,
-- not_before, not_after, created_at, failure_reason, policy, permissions,
-- shared, active_at) makes the CA anew, in its place in the listing order.
-- @function svc:add_ca
function methods.add_ca(svc, arn, opts)
    check_arn_arg("add_ca", arn)
    if opts == nil or type(opts) == "string" then
        local status = opts or "ACTIVE"
        check_status("add_ca", status)
        if svc.cas[arn] then
            cas.set_status(svc.cas[arn], status, svc.now())
            return svc
        end
        opts = { status = status }
    elseif type(opts) ~= "table" then
        error("acmpca.mock.add_ca: expected a status or a table of options, got " .. type(opts), 2)
    end
    local _, why = seed(svc, arn, opts)
    if why then
        error("acmpca.mock.add_ca: " .. why, 2)
    end
    return svc
end


--- svc:set_status(arn, status): LastStateChangeAt is now; a CA that had no
-- certificate gets one; a DELETED CA is restorable for 30 days.
-- @function svc:set_status
function methods.set_status(svc, arn, status)
    local ca = the_ca(svc, "set_status", arn)
    check_status("set_status", status)
    cas.set_status(ca, status, svc.now())
    return svc
end


--- svc:status(arn) -> the CA's status ("ACTIVE", ...), or nil for an unknown CA.
-- @function svc:status
function methods.status(svc, arn)
    tick(svc)
    local ca = svc.cas[arn]
    return ca and ca.status
end


--- svc:ca(arn) -> the CA as client:describe_certificate_authority returns
-- it (a copy, snake_case), or nil.
-- @function svc:ca
function methods.ca(svc, arn)
    tick(svc)
    local ca = svc.cas[arn]
    return ca and wire.snake("CertificateAuthority", cas.describe(ca))
end


--- svc:policy(arn) -> the CA's resource policy (the text), or nil.
-- @function svc:policy
function methods.policy(svc, arn)
    local ca = svc.cas[arn]
    return ca and ca.policy
end


--- svc:cas_list() -> the CAs' ARNs in listing (insertion) order.
-- @function svc:cas_list
function methods.cas_list(svc)
    return cas.copy_list(svc._order)
end


--- svc:permissions(arn) -> list of { principal=, actions=, source_account=,
-- created_at=, certificate_authority_arn= } (copies), in creation order.
-- @function svc:permissions
function methods.permissions(svc, arn)
    return cas.permissions(the_ca(svc, "permissions", arn))
end


--- svc:grant(arn, principal, actions[, source_account[, created_at]]): seed
-- a permission directly, without a request (nothing is counted or logged).
-- @function svc:grant
function methods.grant(svc, arn, principal, actions, source_account, created_at)
    local ca = the_ca(svc, "grant", arn)
    if type(principal) ~= "string" or type(actions) ~= "table" then
        error("acmpca.mock.grant: expected (arn, principal, actions[, source_account])", 2)
    end
    cas.grant(ca, principal, actions, source_account, created_at or svc.now())
    return svc
end


--- svc:remove(arn, principal): drop a permission directly.
-- @function svc:remove
function methods.remove(svc, arn, principal)
    local ca = svc.cas[arn]
    return ca ~= nil and cas.revoke(ca, principal)
end


------------------------------------------------------------------------
-- the public API: faults, hooks, counts, clients
-- @section the_public_api_faults_hooks_counts_clien
------------------------------------------------------------------------

local function check_op(fn, what, op)
    if not ops.known(op) then
        error(fmt("acmpca.mock.%s: %s: expected one of %s, got %s", fn, what,
                  concat(ops.operations(), ", "), tostring(op)), 3)
    end
end


--- svc:fail_next(n, kind[, opts]): the next n matching requests fail.
-- kind: an error code ("ThrottlingException", ...; HTTP 400 unless known),
-- an HTTP status (500, 503: JSON error; 502, 504: an HTML page), "malformed"
-- (200 with a truncated body), "html" (a proxy's 502 page), "network" or
-- "timeout" (the transport returns nil, err).  opts: operation (only
-- requests for it), status, message.
-- @function svc:fail_next
function methods.fail_next(svc, n, kind, opts)
    if type(n) ~= "number" or n < 1 or floor(n) ~= n then
        error("acmpca.mock.fail_next: n: expected a positive integer, got " .. tostring(n), 2)
    end
    if type(kind) ~= "string" and type(kind) ~= "number" then
        error("acmpca.mock.fail_next: kind: expected an error code, HTTP status, \"malformed\", "
              .. "\"html\", \"network\" or \"timeout\", got " .. type(kind), 2)
    end
    opts = opts or {}
    if type(opts) ~= "table" then
        error("acmpca.mock.fail_next: opts: expected a table, got " .. type(opts), 2)
    end
    if opts.operation ~= nil then
        check_op("fail_next", "operation", opts.operation)
    end
    insert(svc._faults, { remaining = n, kind = kind, operation = opts.operation,
                          status = opts.status, message = opts.message })
    return svc
end


--- svc:on_before(op, fn): fn(svc, params) runs after a request for op is
-- validated and before the service acts on it (e.g. a concurrent creator).
-- fn = nil removes the hook.
-- @function svc:on_before
function methods.on_before(svc, op, fn)
    check_op("on_before", "op", op)
    if fn ~= nil and type(fn) ~= "function" then
        error("acmpca.mock.on_before: fn: expected a function, got " .. type(fn), 2)
    end
    svc._hooks[op] = fn
    return svc
end


--- svc:reset(): forget counts, the log and pending faults (not the CAs).
-- @function svc:reset
function methods.reset(svc)
    for k in pairs(svc.calls) do
        svc.calls[k] = nil
    end
    for _, op in ipairs(ops.operations()) do
        svc.calls[op] = 0
    end
    for k in pairs(svc.log) do
        svc.log[k] = nil
    end
    svc._faults = {}
    return svc
end


--- svc:transport(): a plain function wrapping the service.
-- @function svc:transport
function methods.transport(svc)
    return function(req)
        return handle(svc, req)
    end
end


--- svc:client([opts]): require("acmpca").new with this service as transport
-- and its credentials; opts add to or override those.
-- @function svc:client
function methods.client(svc, opts)
    local o = {}
    if opts ~= nil then
        if type(opts) ~= "table" then
            error("acmpca.mock.client: opts: expected a table, got " .. type(opts), 2)
        end
        for k, v in pairs(opts) do
            o[k] = v
        end
    end
    if o.transport == nil then
        o.transport = methods.transport(svc)
    end
    if o.credentials == nil then
        o.credentials = svc.credentials
    end
    if o.region == nil then
        o.region = svc.region
    end
    return require("acmpca").new(o)
end


------------------------------------------------------------------------
-- making a service
-- @section making_a_service
------------------------------------------------------------------------

local function check_new_opts(opts)
    local creds = opts.credentials or _M.credentials
    if type(creds) ~= "table" or type(creds.access_key_id) ~= "string"
       or type(creds.secret_access_key) ~= "string" then
        return "credentials: expected { access_key_id =, secret_access_key = "
            .. "[, session_token =] }"
    end
    if opts.region ~= nil and type(opts.region) ~= "string" then
        return "region: expected a string, got " .. type(opts.region)
    end
    local page_size = opts.page_size
    if page_size ~= nil and (type(page_size) ~= "number" or page_size < 1
                             or floor(page_size) ~= page_size) then
        return "page_size: expected a positive integer"
    end
    if opts.now ~= nil and type(opts.now) ~= "function" then
        return "now: expected a function, got " .. type(opts.now)
    end
    if opts.account ~= nil and (type(opts.account) ~= "string"
                                or not opts.account:match("^" .. ("%d"):rep(12) .. "$")) then
        return "account: expected a 12-digit account id"
    end
    if opts.cas ~= nil and type(opts.cas) ~= "table" then
        return "cas: expected a table of arn -> options or a list of { arn = ..., ... }"
    end
end


-- opts.cas -> list of { arn, seeding options }: a list keeps its order, a
-- table of arn -> options (or status) is sorted by ARN.  Or nil and why.
local function seeds_of(list)
    local out = {}
    if list[1] ~= nil then
        for i, e in pairs(list) do
            if type(i) ~= "number" or type(e) ~= "table" or type(e.arn) ~= "string" then
                return nil, "cas[" .. tostring(i) .. "]: expected { arn = ..., ... }"
            end
            local o = {}
            for k, v in pairs(e) do
                o[k] = k ~= "arn" and v or nil
            end
            out[i] = { e.arn, o }
        end
        return out
    end
    for arn, o in pairs(list) do
        if type(arn) ~= "string" or (type(o) ~= "string" and type(o) ~= "table") then
            return nil, "cas: bad entry for " .. tostring(arn)
        end
        out[#out + 1] = { arn, type(o) == "string" and { status = o } or o }
    end
    sort(out, function(a, b) return a[1] < b[1] end)
    return out
end


--- mock.new([opts]) -> a new fake service (callable: the client's transport).
--
--     mock.new{ cas = { [arn] = "ACTIVE" | { <seeding options> } }
--                   | { { arn = ..., <seeding options> }, ... },
--               account = nil, credentials = mock.credentials, region = nil,
--               page_size = 100, now = os.time }
function _M.new(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        error("acmpca.mock.new: opts: expected a table, got " .. type(opts), 2)
    end
    local why = check_new_opts(opts)
    if why then
        error("acmpca.mock.new: " .. why, 2)
    end
    local creds = opts.credentials or _M.credentials

    local svc = setmetatable({
        cas = {},
        calls = {},
        log = {},
        credentials = setmetatable({
            access_key_id = creds.access_key_id,
            secret_access_key = creds.secret_access_key,
            session_token = creds.session_token,
        }, CREDS_MT),
        region = opts.region,
        account = opts.account,
        page_size = opts.page_size or DEFAULT_PAGE_SIZE,
        now = opts.now or os_time,
        _order = {},
        _pending = {},
        _seq = 0,
        _token_seq = 0,
        _tokens = {},
        _faults = {},
        _hooks = {},
    }, SVC_MT)
    methods.reset(svc)

    local seeds
    seeds, why = seeds_of(opts.cas or {})
    for _, s in ipairs(seeds or {}) do
        if why then
            break
        end
        local _, bad = seed(svc, s[1], s[2])
        why = bad and "cas: bad entry for " .. s[1] .. ": " .. bad
    end
    if why then
        error("acmpca.mock.new: " .. why, 2)
    end
    return svc
end


-- A ready-made fleet: new's options but account and cas, which it sets.
local function preset(fn, opts, seeds)
    if opts ~= nil and type(opts) ~= "table" then
        error("acmpca.mock." .. fn .. ": opts: expected a table, got " .. type(opts), 3)
    end
    local o = {}
    for k, v in pairs(opts or {}) do
        if k == "cas" or k == "account" then
            error("acmpca.mock." .. fn .. ": " .. k .. ": the fleet sets it", 3)
        end
        o[k] = v
    end
    local now = o.now or os_time
    if type(now) ~= "function" then
        error("acmpca.mock." .. fn .. ": now: expected a function, got " .. type(now), 3)
    end
    o.account, o.region, o.cas = fleet.ACCOUNT, o.region or fleet.REGION, seeds(now())
    return _M.new(o)
end


--- mock.demo([opts]) -> a new service holding the demo fleet (nine CAs of
-- account 111122223333 in us-east-1, one of them shared by 444455556666),
-- its times relative to the clock now.  opts: as mock.new's, but cas and
-- account.
function _M.demo(opts)
    return preset("demo", opts, fleet.demo)
end


--- mock.fleet(n[, opts]) -> a new service holding n ACTIVE SUBORDINATE CAs
-- (fleet-00001.example.com ...): ACM holds every action on each third one,
-- two of them on the one after, none on the rest.
function _M.fleet(n, opts)
    if type(n) ~= "number" or n < 0 or floor(n) ~= n then
        error("acmpca.mock.fleet: n: expected a non-negative integer, got " .. tostring(n), 2)
    end
    return preset("fleet", opts, function() return fleet.generated(n) end)
end


--- parse_amz_date(s) -> epoch seconds, or nil: an X-Amz-Date ("YYYYMMDDTHHMMSSZ").
_M.parse_amz_date = signature.parse_amz_date


return _M
