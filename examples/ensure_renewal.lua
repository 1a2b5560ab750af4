-- Make sure ACM may renew the certificates of each given private CA: the
-- ACM service principal gets IssueCertificate, GetCertificate and
-- ListPermissions on the CA (created if missing, repaired if incomplete,
-- left alone if present).  One line per CA: "<arn>  <status>".
--
--   lua5.4 examples/ensure_renewal.lua ARN [ARN...]          against AWS
--   lua5.4 examples/ensure_renewal.lua --file cas.txt        one ARN a line, # comments
--   lua5.4 examples/ensure_renewal.lua --mock [ARN...]       the in-process fake service
--
-- Options: --region R, --profile P, --endpoint-url URL, --source-account N,
-- --expect-account N (first ask STS whose credentials these are, and change
-- nothing unless they are account N: a role or profile mix-up stops here).
-- With --mock the whole pass runs twice, to show that the second run finds
-- everything present and writes nothing; without ARNs it uses a demo CA.
-- Exit status: 0 when every CA is done, 1 when one failed, 2 on bad usage.

-- From a checkout, use its lua/ and build/ (make builds build/5.4 and build/jit).
local root = ((arg and arg[0] or ""):match("^(.-)[^/]*$") or "") .. "../"
local probe = io.open(root .. "lua/acmpca/init.lua")
if probe then
    probe:close()
    local variant = rawget(_G, "jit") and "jit" or _VERSION:match("%d+%.%d+")
    package.path = root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. package.path
    package.cpath = root .. "build/" .. variant .. "/?.so;" .. package.cpath
end

local acmpca = require "acmpca"

local DEMO_CA = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
    .. "11111111-2222-3333-4444-555555555555"


local function usage(msg)
    io.stderr:write("ensure_renewal: ", msg, "\n",
                    "usage: ensure_renewal.lua [--mock] [--file FILE] [--region R] ",
                    "[--profile P] [--endpoint-url URL] [--source-account N]\n",
                    "       [--expect-account N] [ARN...]\n")
    os.exit(2)
end


local function read_arns(path, into)
    local f, err = io.open(path, "r")
    if not f then
        usage("cannot read " .. tostring(err))
    end
    for line in f:lines() do
        line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
        if line ~= "" then
            into[#into + 1] = line
        end
    end
    f:close()
end


-- arguments
local opts, arns, use_mock, source_account, expect_account = {}, {}, false, nil, nil
local VALUE = { ["--region"] = "region", ["--profile"] = "profile",
                ["--endpoint-url"] = "endpoint" }
local i = 1
while arg[i] do
    local a = arg[i]
    if a == "--mock" then
        use_mock = true
    elseif a == "--file" or a == "--source-account" or a == "--expect-account" or VALUE[a] then
        local v = arg[i + 1] or usage(a .. " needs a value")
        i = i + 1
        if a == "--file" then
            read_arns(v, arns)
        elseif a == "--source-account" then
            source_account = v
        elseif a == "--expect-account" then
            expect_account = v
        else
            opts[VALUE[a]] = v
        end
    elseif a == "-h" or a == "--help" then
        usage("ensures ACM renewal permissions on private CAs")
    elseif a:sub(1, 1) == "-" then
        usage("unknown option " .. a)
    else
        arns[#arns + 1] = a
    end
    i = i + 1
end
for _, arn in ipairs(arns) do
    if not acmpca.is_ca_arn(arn) then
        usage("not a CA ARN: " .. arn)
    end
end
for name, v in pairs{ ["--source-account"] = source_account,
                      ["--expect-account"] = expect_account } do
    if not v:match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then
        usage(name .. " must be 12 digits")
    end
end

-- the client: AWS, or the fake service with every CA ACTIVE
local svc
if use_mock then
    if #arns == 0 then
        arns[1] = DEMO_CA
    end
    local cas = {}
    for _, arn in ipairs(arns) do
        cas[arn] = { status = "ACTIVE" }
    end
    svc = require("acmpca.mock").new{ cas = cas }
    opts.transport, opts.credentials = svc:transport(), svc.credentials
elseif #arns == 0 then
    usage("no CA ARN given")
end
local client = acmpca.new(opts)

-- whose credentials: STS GetCallerIdentity (the fake answers it too)
if expect_account then
    local id, err = client:caller_identity()
    if not id then
        io.stderr:write("ensure_renewal: cannot tell whose credentials these are: ",
                        tostring(err), "\n")
        os.exit(1)
    elseif id.account ~= expect_account then
        io.stderr:write(("ensure_renewal: these credentials are account %s (%s), not %s: "
                         .. "nothing done\n"):format(id.account, id.arn, expect_account))
        os.exit(1)
    end
    print(("# account %s (%s, credentials from %s)"):format(id.account, id.arn, id.source))
end

-- the job
local failed = false
local width = 0
for _, arn in ipairs(arns) do
    width = math.max(width, #arn)
end
for pass = 1, use_mock and 2 or 1 do
    if use_mock then
        print(pass == 1 and "# first run (fake ACM PCA, --mock)"
              or "# second run (already in place: nothing is written)")
    end
    for _, arn in ipairs(arns) do
        local ok, status = client:ensure_acm_renewal(arn, { source_account = source_account })
        if ok then
            print(("%-" .. width .. "s  %s"):format(arn, status))
        else
            failed = true
            print(("%-" .. width .. "s  error: %s"):format(arn, tostring(status)))
        end
    end
end
if svc then
    print(("# requests: ListPermissions %d, CreatePermission %d, DeletePermission %d"):format(
        svc.calls.ListPermissions, svc.calls.CreatePermission, svc.calls.DeletePermission))
end
client:close()
os.exit(failed and 1 or 0)
