-- The `acmpca` command beside the AWS CLI's own paginator, against one
-- server (`acmpca serve`, nginx): a token botocore's paginator printed
-- (what `aws ... --max-items` prints, NextToken and boto_truncate_amount)
-- carries acmpca on to the same items, and a token acmpca printed carries
-- botocore on.  When the `aws` command itself is installed, its --output
-- text lines are compared with acmpca's, NEXTTOKEN line included.
-- Tagged #nginx (spec/run.sh runs it in the LuaJIT run).

local proc = require "support.proc"
local cjson = require "cjson.safe"
local socket = require "socket"
local cli = require "acmpca.cli"
local token = require "acmpca.cli.token"

local quote, read_file = proc.quote, proc.read_file
local buffer = require("helpers").buffer

local PY = "/usr/bin/python3"
local AKID = "AKIDEXAMPLE"
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

-- botocore's paginator, as aws-cli drives it: argv[1] a JSON object
-- { endpoint, max_items, page_size, starting_token }; prints the full
-- result's ARNs and the resume token
local SCRIPT = [[
import json, sys
import botocore.session
from botocore.config import Config
a = json.loads(sys.argv[1])
c = botocore.session.get_session().create_client(
    "acm-pca", region_name="us-east-1", endpoint_url=a["endpoint"],
    aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    config=Config(retries={"max_attempts": 1}))
cfg = {}
for k, v in (("MaxItems", "max_items"), ("PageSize", "page_size"),
             ("StartingToken", "starting_token")):
    if a.get(v) is not None:
        cfg[k] = a[v]
r = c.get_paginator("list_certificate_authorities").paginate(
    PaginationConfig=cfg).build_full_result()
print(json.dumps({"arns": [x["Arn"] for x in r.get("CertificateAuthorities", [])],
                  "token": r.get("NextToken")}))
]]


local function root()
    return (proc.read_cmd("pwd"):gsub("%s+$", ""))
end


-- `acmpca serve --port 0` in a Lua 5.4 process -> { pid, dir, url }, or nil, why
local function start_server()
    local dir = assert(proc.tmpdir("cliaws"))
    local r = root()
    local setup = "package.path = '" .. r .. "/lua/?.lua;" .. r .. "/lua/?/init.lua;' .. "
        .. "package.path; package.cpath = '" .. r .. "/build/5.4/?.so;' .. package.cpath"
    local main = "os.exit(require('acmpca.cli').main({'serve', '--port', '0', '--ready', '"
        .. dir .. "/ready.json'}))"
    local cmd = proc.CLEAN_ENV .. "lua5.4 -e " .. quote(setup) .. " -e " .. quote(main)
        .. " >" .. quote(dir .. "/stdout") .. " 2>" .. quote(dir .. "/stderr")
        .. " </dev/null & echo $!"
    local pid = tonumber(proc.read_cmd(cmd):match("%d+"))
    for _ = 1, 400 do
        local ready = cjson.decode(read_file(dir .. "/ready.json") or "")
        if type(ready) == "table" then
            return { pid = pid, dir = dir, url = ready.url }
        end
        if not proc.alive(pid) then
            break
        end
        socket.sleep(0.025)
    end
    proc.stop(pid, 5)
    return nil, (read_file(dir .. "/stdout") or "") .. (read_file(dir .. "/stderr") or "")
end


describe("acmpca.cli beside the AWS CLI #nginx", function()
    local server, script

    setup(function()
        local why
        server, why = start_server()
        assert(server, why)
        script = server.dir .. "/paginate.py"
        proc.write_file(script, SCRIPT)
    end)

    teardown(function()
        if server then
            proc.stop(server.pid, 5)
            proc.run("rm -rf " .. quote(server.dir))
        end
    end)

    local function paginate(args)
        args.endpoint = server.url
        local out = proc.read_cmd(proc.CLEAN_ENV .. "env -u AWS_SESSION_TOKEN " .. PY .. " "
                                  .. quote(script) .. " " .. quote(cjson.encode(args)) .. " 2>&1")
        local res = cjson.decode(out)
        assert(type(res) == "table", "botocore failed: " .. out)
        return res
    end

    local function acmpca_cmd(argv)
        local out, err = buffer(), buffer()
        local a = { "list-certificate-authorities", "--endpoint-url", server.url }
        for _, x in ipairs(argv) do
            a[#a + 1] = x
        end
        local code = cli.main(a, {
            stdout = out, stderr = err, sleep = function() end,
            getenv = function(name)
                return ({ AWS_ACCESS_KEY_ID = AKID, AWS_SECRET_ACCESS_KEY = SECRET,
                          AWS_REGION = "us-east-1", HOME = server.dir })[name]
            end,
        })
        return code, out.text, err.text
    end

    local function arns(out)
        local res = cjson.decode(out)
        local list = {}
        for i, ca in ipairs(res.CertificateAuthorities) do
            list[i] = ca.Arn
        end
        return list, res.NextToken
    end

    it("takes the token botocore printed inside a page, and at a page's end", function()
        local all = paginate({}).arns
        assert.is_true(#all >= 6)
        for _, case in ipairs{ { max_items = 2, page_size = 3 },   -- inside the first page
                               { max_items = 4, page_size = 3 },   -- inside the second
                               { max_items = 3, page_size = 3 } } do -- a page's end
            local first = paginate(case)
            assert.is_string(first.token)
            local code, out, err = acmpca_cmd({ "--starting-token", first.token,
                                                "--page-size", "3" })
            assert.are.equal(0, code, err)
            local rest = arns(out)
            local want = paginate({ starting_token = first.token, page_size = 3 }).arns
            assert.are.same(want, rest)
            assert.are.equal(#all, #first.arns + #rest)
        end
    end)

    it("prints tokens botocore's paginator carries on from", function()
        local all = paginate({}).arns
        for _, case in ipairs{ { "2", "3" }, { "4", "3" }, { "1", "1" } } do
            local code, out, err = acmpca_cmd({ "--max-items", case[1], "--page-size", case[2] })
            assert.are.equal(0, code, err)
            local first, next_token = arns(out)
            assert.is_string(next_token)
            local rest = paginate({ starting_token = next_token, page_size = tonumber(case[2]) })
            assert.are.equal(#all, #first + #rest.arns)
            assert.are.same(all[#first + 1], rest.arns[1])
            -- and acmpca carries on from its own token to the same items
            code, out = acmpca_cmd({ "--starting-token", next_token, "--page-size", case[2] })
            assert.are.equal(0, code)
            assert.are.same(rest.arns, (arns(out)))
        end
    end)

    it("prints --output text as `aws` does, NEXTTOKEN last", function()
        local aws = proc.read_cmd("command -v aws 2>/dev/null"):gsub("%s+$", "")
        if aws == "" then
            pending("the aws command is not installed")
            return
        end
        -- aws-cli v1 prints epoch seconds unless told; acmpca prints v2's ISO 8601
        local config = server.dir .. "/aws-config"
        proc.write_file(config, "[default]\ncli_timestamp_format = iso8601\n")
        local function run_aws(args)
            return proc.read_cmd(proc.CLEAN_ENV .. "env -u AWS_SESSION_TOKEN -u AWS_PROFILE "
                .. "AWS_ACCESS_KEY_ID=" .. AKID .. " AWS_SECRET_ACCESS_KEY=" .. quote(SECRET)
                .. " AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=" .. quote(config)
                .. " AWS_SHARED_CREDENTIALS_FILE=/dev/null " .. quote(aws)
                .. " --endpoint-url " .. quote(server.url) .. " acm-pca "
                .. "list-certificate-authorities " .. args .. " 2>&1")
        end
        local code, mine = acmpca_cmd({ "--max-items", "2", "--output", "text" })
        assert.are.equal(0, code)
        assert.are.equal(run_aws("--max-items 2 --output text"), mine)
        assert.truthy(mine:find("\nNEXTTOKEN\t[%w+/=]+\n$"), mine)
        -- JSON: the same text but for the fake's token, which counts up per answer
        code, mine = acmpca_cmd({ "--max-items", "3", "--page-size", "2" })
        assert.are.equal(0, code)
        local theirs = run_aws("--max-items 3 --page-size 2 --output json")
        local function split(text)
            local t = text:match('\n    "NextToken": "([^"]+)"\n}\n$')
            assert(t, text)
            local svc, skip = token.decode(t)
            assert.is_string(svc)
            return text:gsub('"NextToken": "[^"]+"', '"NextToken": ?'), skip
        end
        local a, skip_a = split(theirs)
        local b, skip_b = split(mine)
        assert.are.equal(a, b)
        assert.are.equal(1, skip_a)
        assert.are.equal(skip_a, skip_b)
    end)
end)
