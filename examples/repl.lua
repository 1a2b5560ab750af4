-- An interactive session with the fake ACM PCA, from a checkout:
--
--   lua5.4 examples/repl.lua            (or luajit examples/repl.lua)
--   lua5.4 examples/repl.lua --aws      (the real service: changes real CAs)
--
-- The same prompt as `acmpca repl` (the logic is lua/acmpca/repl.lua):
-- globals acmpca, mock, svc (the fake service), arn (an ACTIVE CA), client
-- (a real acmpca client whose transport is svc), show(...) and help().  An
-- expression's values are printed.  A session looks like this:
--
--   > client:ensure_acm_renewal(arn)
--   true    created
--   > client:ensure_acm_renewal(arn)              -- one ListPermissions, no write
--   true    present
--   > svc.calls.ListPermissions, svc.calls.CreatePermission
--   2       1
--   > client:list_permissions{ ca_arn = arn }
--   ListPermissions page: 1 permission, the last page on arn:aws:acm-pca:...
--     acm.amazonaws.com: IssueCertificate, GetCertificate, ListPermissions
--   > client:region(), client:endpoint()          -- nil: each CA ARN's region
--   nil     nil
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
--   nil
--   InvalidStateException: permissions can only be changed while the CA is ACTIVE; ...
--     code: InvalidStateException
--     operation: DeletePermission
--     ...
--     attempts: 1
--   > show(svc.log[#svc.log])                     -- the last request, secrets redacted

local root = ((arg and arg[0] or ""):match("^(.-)[^/]*$") or "") .. "../"
local probe = io.open(root .. "lua/acmpca/init.lua")
if probe then
    probe:close()
    local variant = rawget(_G, "jit") and "jit" or _VERSION:match("%d+%.%d+")
    package.path = root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. package.path
    package.cpath = root .. "build/" .. variant .. "/?.so;" .. package.cpath
end

os.exit(require("acmpca.repl").main(arg or {}, {}))
