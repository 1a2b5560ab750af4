-- An interactive session with the fake ACM PCA:
--
--   lua5.4 -i examples/repl.lua        (or luajit -i examples/repl.lua)
--
-- It sets up globals (the only file in this project that does): acmpca,
-- mock, arn (an ACTIVE CA), svc (the fake service) and client (a real
-- acmpca client whose transport is svc), plus show(v) to print any value
-- as JSON.  A session looks like this (under luajit -i, type =expr to see
-- a value):
--
--   > client:ensure_acm_renewal(arn)
--   true    created
--   > client:ensure_acm_renewal(arn)              -- one ListPermissions, no write
--   true    present
--   > svc.calls.ListPermissions, svc.calls.CreatePermission
--   2       1
--   > show(client:list_all_permissions(arn))
--   [
--     {
--       "actions": [
--         "IssueCertificate",
--         "GetCertificate",
--         "ListPermissions"
--       ],
--       "certificate_authority_arn": "arn:aws:acm-pca:us-east-1:111122223333:...",
--       "created_at": 1700000000,
--       "policy": "{\"Version\":\"2012-10-17\",...}",
--       "principal": "acm.amazonaws.com"
--     }
--   ]
--   > svc:grant(arn, acmpca.ACM_PRINCIPAL, { "GetCertificate" })  -- break it
--   acmpca.mock (1 CA, 4 requests)
--   > client:ensure_acm_renewal(arn)
--   true    repaired
--   > svc:fail_next(2, "ThrottlingException")     -- retried with backoff
--   acmpca.mock (1 CA, 7 requests)
--   > client:has_acm_renewal(arn)
--   true
--   > svc:set_status(arn, "DISABLED")
--   acmpca.mock (1 CA, 10 requests)
--   > client:revoke_acm_renewal(arn)
--   nil     InvalidStateException: permissions can only be changed while the CA is
--           ACTIVE; CA arn:aws:acm-pca:us-east-1:... is DISABLED (HTTP 400, request id ...)
--   > svc:set_status(arn, "ACTIVE"); return client:revoke_acm_renewal(arn)
--   true    revoked
--   > show(svc.log[#svc.log])                      -- the last request, as received
--
-- luacheck: globals acmpca mock arn svc client show

local root = ((arg and arg[0] or ""):match("^(.-)[^/]*$") or "") .. "../"
local probe = io.open(root .. "lua/acmpca/init.lua")
if probe then
    probe:close()
    local variant = rawget(_G, "jit") and "jit" or _VERSION:match("%d+%.%d+")
    package.path = root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. package.path
    package.cpath = root .. "build/" .. variant .. "/?.so;" .. package.cpath
end

acmpca = require "acmpca"
mock = require "acmpca.mock"

arn = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"
svc = mock.new{ cas = { [arn] = { status = "ACTIVE" } } }
client = svc:client{ sleep = function() end }   -- no real waits between retries


function show(v)
    print(mock.json.encode(v, 2))
end


print("acmpca " .. acmpca._VERSION .. " with a fake ACM PCA.  Globals: acmpca, mock, arn, "
      .. "svc, client, show(v).")
print("Try:  client:ensure_acm_renewal(arn)   svc.calls   show(svc:permissions(arn))")
