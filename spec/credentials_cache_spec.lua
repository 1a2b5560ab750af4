-- Specs for acmpca.credentials.cache (the AWS CLI's ~/.aws/cli/cache) and
-- the file primitives under it (core.write_private, core.read_file,
-- core.sha1_hex).  The last block runs botocore itself (/usr/bin/python3)
-- against the same directory: same keys, each side reads the other's
-- entries, both refuse an entry inside the 15 minute window.

local core = require "acmpca.core"
local cache = require "acmpca.credentials.cache"
local cjson = require "cjson.safe"
local F = require "support.creds_fixture"

local T0 = F.T0
local write = F.write

local SECRET = "cacheSecret/0123456789abcdefghijABCDEFGHIJ"
local TOKEN = "FwoGZXIvYXdzECacheSessionToken0123456789=="
local ROLE = "arn:aws:iam::111122223333:role/acmpca-admin"


local function sh(cmd)
    local p = assert(io.popen(cmd .. " 2>&1"))
    local out = p:read("*a")
    p:close()
    return (out:gsub("%s+$", ""))
end


local function mode(path)
    return sh("stat -c %a " .. path)
end


local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end


local function response(exp_iso)
    return {
        Credentials = { AccessKeyId = "ASIACACHE0000000001", SecretAccessKey = SECRET,
                        SessionToken = TOKEN, Expiration = exp_iso },
        AssumedRoleUser = { Arn = "arn:aws:sts::111122223333:assumed-role/acmpca-admin/s",
                            AssumedRoleId = "AROACACHE:s" },
    }
end


describe("acmpca.core files", function()
    local dir

    before_each(function()
        dir = F.tmpdir()
    end)

    after_each(function()
        os.execute("rm -rf " .. dir)
    end)

    describe("sha1_hex", function()
        it("is SHA-1 in lower-case hex (FIPS 180 'abc' and the empty string)", function()
            assert.equals("a9993e364706816aba3e25717850c26c9cd0d89d", core.sha1_hex("abc"))
            assert.equals("da39a3ee5e6b4b0d3255bfef95601890afd80709", core.sha1_hex(""))
        end)

        it("raises on a non-string", function()
            assert.has_error(function() core.sha1_hex(nil) end,
                "acmpca.sigv4.sha1_hex: data: expected a string, got nil")
        end)
    end)

    describe("write_private", function()
        it("makes the missing directories 0700 and the file 0600", function()
            local path = dir .. "/a/b/c/entry.json"
            assert.is_true(core.write_private(path, "hello"))
            assert.equals("hello", read(path))
            assert.equals("600", mode(path))
            for _, d in ipairs{ "/a", "/a/b", "/a/b/c" } do
                assert.equals("700", mode(dir .. d))
            end
        end)

        it("replaces a file and leaves no temporary file behind", function()
            local path = dir .. "/entry.json"
            write(path, "old contents", "644")
            assert.is_true(core.write_private(path, "new"))
            assert.equals("new", read(path))
            assert.equals("600", mode(path))
            assert.equals("entry.json", sh("ls -A " .. dir .. " | grep -v '^.aws$'"))
        end)

        it("replaces a symlink at the path instead of writing through it", function()
            local victim = dir .. "/victim"
            write(victim, "keep me")
            assert(os.execute("ln -s " .. victim .. " " .. dir .. "/link.json"))
            assert.is_true(core.write_private(dir .. "/link.json", "data"))
            assert.equals("keep me", read(victim))
            assert.equals("data", read(dir .. "/link.json"))
            assert.equals("", sh("find " .. dir .. " -maxdepth 1 -type l"))
        end)

        it("keeps binary data whole", function()
            local data = "\0\1\2\255" .. string.rep("x", 100000)
            assert.is_true(core.write_private(dir .. "/bin", data))
            assert.equals(data, read(dir .. "/bin"))
        end)

        it("names the path and the system's reason on failure", function()
            write(dir .. "/file", "x")
            local ok, err = core.write_private(dir .. "/file/sub/entry.json", "x")
            assert.is_nil(ok)
            assert.equals("acmpca: " .. dir .. "/file/sub: cannot create directory: "
                .. "Not a directory", err)
            if sh("id -u") ~= "0" then
                assert(os.execute("mkdir " .. dir .. "/ro && chmod 500 " .. dir .. "/ro"))
                ok, err = core.write_private(dir .. "/ro/entry.json", "x")
                assert.is_nil(ok)
                assert.matches("^acmpca: " .. dir:gsub("%p", "%%%0")
                    .. "/ro/entry.json: cannot create a temporary file beside it: "
                    .. "Permission denied$", err)
            end
        end)

        it("refuses a path that names a directory", function()
            local ok, err = core.write_private(dir .. "/", "x")
            assert.is_nil(ok)
            assert.equals("acmpca: " .. dir .. "/: cannot write: the path names a directory", err)
        end)

        it("raises on misuse, naming the argument", function()
            assert.has_error(function() core.write_private(1, "x") end,
                "acmpca.core.write_private: path: expected a string, got 1")
            assert.has_error(function() core.write_private("a\0b", "x") end,
                "acmpca.core.write_private: path: expected a non-empty string without NUL")
            assert.has_error(function() core.write_private(dir .. "/x", nil) end,
                "acmpca.core.write_private: data: expected a string, got nil")
        end)
    end)

    describe("read_file", function()
        it("reads up to max bytes", function()
            write(dir .. "/f", "12345")
            assert.equals("12345", core.read_file(dir .. "/f", 5))
            assert.equals("", core.read_file((function()
                write(dir .. "/e", "")
                return dir .. "/e"
            end)(), 0))
        end)

        it("refuses a file over max bytes, naming it", function()
            write(dir .. "/f", "123456")
            local data, err = core.read_file(dir .. "/f", 5)
            assert.is_nil(data)
            assert.equals("acmpca: " .. dir .. "/f: larger than 5 bytes", err)
        end)

        it("says missing for a file that is not there", function()
            local data, err, why = core.read_file(dir .. "/none/f", 10)
            assert.is_nil(data)
            assert.equals("acmpca: " .. dir .. "/none/f: cannot open: No such file or directory",
                err)
            assert.equals("missing", why)
        end)

        it("refuses a directory and a FIFO without blocking", function()
            local data, err, why = core.read_file(dir, 10)
            assert.is_nil(data)
            assert.equals("acmpca: " .. dir .. ": not a regular file", err)
            assert.is_nil(why)
            assert(os.execute("mkfifo " .. dir .. "/fifo"))
            data, err = core.read_file(dir .. "/fifo", 10)
            assert.is_nil(data)
            assert.equals("acmpca: " .. dir .. "/fifo: not a regular file", err)
        end)

        it("raises on misuse", function()
            assert.has_error(function() core.read_file(dir, -1) end,
                "acmpca.core.read_file: max: expected 0 to 16777216 bytes, got -1")
            assert.has_error(function() core.read_file(dir, 1.5) end,
                "acmpca.core.read_file: max: expected an integer, got 1.5")
            assert.has_error(function() core.read_file(nil) end,
                "acmpca.core.read_file: path: expected a string, got nil")
        end)
    end)
end)


describe("acmpca.credentials.cache", function()
    local dir, clock, c

    before_each(function()
        dir = F.tmpdir()
        clock = T0
        c = cache.new{ dir = dir .. "/cli/cache", now = function() return clock end }
    end)

    after_each(function()
        os.execute("rm -rf " .. dir)
    end)

    describe("new", function()
        it("defaults to ~/.aws/cli/cache", function()
            local d = cache.new{ home = "/home/u" }
            assert.equals("/home/u/.aws/cli/cache", d.dir)
            assert.equals("/x", cache.new{ dir = "/x//" }.dir)
        end)

        it("without a home says so", function()
            local d, err = cache.new{ getenv = function() return nil end }
            assert.is_nil(d)
            assert.equals("acmpca: the credential cache needs a home directory (HOME is not set)",
                err)
        end)

        it("raises on misuse", function()
            assert.has_error(function() cache.new{ dir = 1 } end,
                "acmpca.credentials.cache.new: dir: expected a non-empty string, got number")
            assert.has_error(function() cache.new{ now = 1 } end,
                "acmpca.credentials.cache.new: now: expected a function, got number")
            assert.has_error(function() cache.new(1) end,
                "acmpca.credentials.cache.new: opts: expected a table or nil, got number")
        end)
    end)

    describe("dumps", function()
        it("writes what Python's json.dumps(sort_keys=True) writes", function()
            assert.equals('{"a": [1, 2.5, "x\\n\\""], "b": {"c": 0.1, "d": 1e-07}}',
                cache.dumps{ a = { 1, 2.5, 'x\n"' }, b = { d = 1e-7, c = 0.1 } })
            assert.equals('{"k":"v","n":null}', cache.dumps({ n = cjson.null, k = "v" }, true))
        end)

        it("escapes non-ASCII as \\u, with surrogate pairs, and stray bytes as Latin-1",
           function()
            assert.equals('"\\u00e9\\u2603\\ud83d\\ude00\\u007f\\u00ff\\u0001"',
                cache.dumps("\195\169\226\152\131\240\159\152\128\127\255\1"))
        end)

        it("refuses what JSON cannot hold", function()
            local s, err = cache.dumps{ f = print }
            assert.is_nil(s)
            assert.equals("a function value", err)
            local deep = {}
            local t = deep
            for _ = 1, 40 do
                t.x = {}
                t = t.x
            end
            s, err = cache.dumps(deep)
            assert.is_nil(s)
            assert.equals("nested deeper than 32 levels", err)
        end)
    end)

    describe("keys", function()
        it("leave out a generated session name, the MFA code and the web identity token",
           function()
            local base = c:key_assume_role{ RoleArn = ROLE, DurationSeconds = 900 }
            assert.matches("^%x+$", base)
            assert.equals(40, #base)
            assert.equals(base, c:key_assume_role{ RoleArn = ROLE, DurationSeconds = 900,
                RoleSessionName = "acmpca-session-1700000000", TokenCode = "123456" })
            assert.equals(base, c:key_assume_role({ RoleArn = ROLE, DurationSeconds = 900,
                RoleSessionName = "mine" }, { default_session_name = true }))
            assert.not_equals(base, c:key_assume_role{ RoleArn = ROLE, DurationSeconds = 900,
                RoleSessionName = "mine" })
            assert.not_equals(base, c:key_assume_role{ RoleArn = ROLE, DurationSeconds = 901 })
            assert.equals(c:key_web_identity{ RoleArn = ROLE },
                c:key_web_identity{ RoleArn = ROLE, WebIdentityToken = "eyJ.a.b",
                                     DurationSeconds = 3600,
                                     RoleSessionName = "acmpca-session-5" })
        end)

        it("are the SHA-1 of botocore's argument text", function()
            assert.equals(core.sha1_hex('{"DurationSeconds": 900, "RoleArn": "' .. ROLE .. '"}'),
                c:key_assume_role{ RoleArn = ROLE, DurationSeconds = 900 })
            assert.equals(core.sha1_hex('{"accountId":"111122223333","roleName":"Admin",'
                .. '"sessionName":"corp"}'),
                c:key_sso{ account_id = "111122223333", role_name = "Admin",
                           session_name = "corp", start_url = "https://ignored" })
            assert.equals(core.sha1_hex('{"accountId":"111122223333","roleName":"Admin",'
                .. '"startUrl":"https://d-1.awsapps.com/start"}'),
                c:key_sso{ account_id = "111122223333", role_name = "Admin",
                           start_url = "https://d-1.awsapps.com/start" })
        end)

        it("parse a Policy so its key order does not matter", function()
            assert.equals(
                c:key_assume_role{ RoleArn = ROLE, Policy = '{"b": 1, "a": [true]}' },
                c:key_assume_role{ RoleArn = ROLE, Policy = '{"a":[true],"b":1}' })
            -- an empty array stays one (cjson alone would make it {})
            assert.equals(core.sha1_hex('{"Policy": {"a": [], "b": {}, "c": "[ ]"}, '
                .. '"RoleArn": "' .. ROLE .. '"}'),
                c:key_assume_role{ RoleArn = ROLE, Policy = '{"c": "[ ]", "b": {}, "a": [ ]}' })
        end)

        it("write a Policy's numbers, strings and keys as Python does", function()
            local py = cache._python_json
            assert.equals('{"a": [1, 1.0, 0, -0.0, 100.0, 1e-07, 1e+16, 12345678901234567890], '
                .. '"b": [], "c": {}}',
                py('{"c":{}, "b":[ ], "a":[1, 1.0, -0, -0.0, 1E2, 1e-7, 1e16, '
                   .. '12345678901234567890]}'))
            -- sorted by code point: "z" (U+7A) before "\u00e9"
            assert.equals('{"z": 2, "\\u00e9": "\\ud83d\\ude00\\ud800/\\b"}',
                py('{"z": 1, "\195\169": "\\ud83d\\ude00\\ud800\\/\\b", "z": 2}'))
            assert.equals("Infinity", py(" 1e400 "))
        end)

        it("keep a Policy json.loads would refuse as the string it is", function()
            local py = cache._python_json
            local deep = ("["):rep(40) .. ("]"):rep(40)
            for _, bad in ipairs{ '{"a": 1,}', "[1 -2]", "01", '{"a" 1}', '"ctl\1"', "1.",
                                  "1e", "-", "[1] x", "", "tru", '"\\x"', '"\\u12"',
                                  '"\\ud800\\UDC00"', "{1: 2}", deep } do
                assert.is_nil(py(bad), bad)
                assert.equals(core.sha1_hex('{"Policy": ' .. cache.dumps(bad) .. ', "RoleArn": "'
                                            .. ROLE .. '"}'),
                              c:key_assume_role{ RoleArn = ROLE, Policy = bad }, bad)
            end
        end)

        it("raise on misuse", function()
            assert.has_error(function() c:key_assume_role{} end,
                "acmpca.credentials.cache.key_assume_role: args.RoleArn: expected a string, "
                .. "got nil")
            assert.has_error(function() c:key_web_identity("x") end,
                "acmpca.credentials.cache.key_web_identity: args: expected a table, got string")
            assert.has_error(function() c:key_sso{ account_id = "1", role_name = "r" } end,
                "acmpca.credentials.cache.key_sso: args: expected session_name or start_url "
                .. "(a string)")
            assert.has_error(function() c:key_sso{ role_name = "r" } end,
                "acmpca.credentials.cache.key_sso: args.account_id: expected a string, got nil")
            assert.has_error(function() c:get("../x") end,
                "acmpca.credentials.cache.get: key: expected a cache key (letters, digits, "
                .. "'.', '_', '-'), got string")
        end)
    end)

    describe("put and get", function()
        it("round-trip an STS answer, written 0600 in a 0700 directory", function()
            local key = c:key_assume_role{ RoleArn = ROLE }
            assert.is_true(c:put(key, response(F.iso(T0 + 3600))))
            local path = dir .. "/cli/cache/" .. key .. ".json"
            assert.equals("600", mode(path))
            assert.equals("700", mode(dir .. "/cli/cache"))
            local doc = cjson.decode(read(path))
            assert.equals("2023-11-14T23:13:20Z", doc.Credentials.Expiration)
            assert.equals("AROACACHE:s", doc.AssumedRoleUser.AssumedRoleId)
            assert.same({ access_key_id = "ASIACACHE0000000001", secret_access_key = SECRET,
                          session_token = TOKEN, expiration = T0 + 3600 }, c:get(key))
        end)

        it("round-trip credentials as an SSO entry", function()
            assert.is_true(c:put("k1", { access_key_id = "ASIASSO", secret_access_key = SECRET,
                session_token = TOKEN, expiration = T0 + 3600, provider_type = "sso" }))
            local doc = cjson.decode(read(dir .. "/cli/cache/k1.json"))
            assert.equals("sso", doc.ProviderType)
            assert.equals(F.iso(T0 + 3600), doc.Credentials.Expiration)
            assert.equals("ASIASSO", c:get("k1").access_key_id)
        end)

        it("use an entry only while it has 15 minutes left", function()
            assert.is_true(c:put("k", response(F.iso(T0 + 900))))
            assert.equals(T0 + 900, c:get("k").expiration)
            clock = T0 + 1
            local hit, why = c:get("k")
            assert.is_nil(hit)
            assert.equals("expired", why)
        end)

        it("read the AWS CLI's own time formats", function()
            for _, exp in ipairs{ "2023-11-14T23:13:20UTC", "2023-11-14T23:13:20+00:00",
                                  "2023-11-15T00:13:20.123456+01:00",
                                  "2023-11-14T23:13:20.5Z" } do
                write(dir .. "/e.json", cjson.encode(response(exp)))
                local d = cache.new{ dir = dir, now = function() return T0 end }
                assert.equals(T0 + 3600, d:get("e").expiration, exp)
            end
        end)

        it("treat missing, malformed, oversized and odd files as not cached", function()
            local d = cache.new{ dir = dir, now = function() return T0 end }
            local cases = {
                { nil, "missing" },
                { "not json", "malformed: no Credentials object" },
                { "[]", "malformed: no Credentials object" },
                { '{"Credentials": "x"}', "malformed: no Credentials object" },
                { '{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S", '
                  .. '"Expiration": "2030-01-01T00:00:00Z"}}',
                  "malformed: a key, the secret or the session token is missing" },
                { '{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S", '
                  .. '"SessionToken": 5, "Expiration": "2030-01-01T00:00:00Z"}}',
                  "malformed: a key, the secret or the session token is missing" },
                { '{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S", '
                  .. '"SessionToken": "T", "Expiration": 1900000000}}',
                  "malformed: Expiration is not a time" },
                { '{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S", '
                  .. '"SessionToken": "T", "Expiration": "tomorrow"}}',
                  "malformed: Expiration is not a time" },
                { string.rep(" ", 64 * 1024) .. "{}", "acmpca: " .. dir
                  .. "/x.json: larger than 65536 bytes" },
            }
            for i, case in ipairs(cases) do
                os.remove(dir .. "/x.json")
                if case[1] then
                    write(dir .. "/x.json", case[1])
                end
                local hit, why = d:get("x")
                assert.is_nil(hit, i)
                assert.equals(case[2], why, i)
            end
            assert(os.execute("mkdir " .. dir .. "/y.json"))
            local hit, why = d:get("y")
            assert.is_nil(hit)
            assert.equals("acmpca: " .. dir .. "/y.json: not a regular file", why)
        end)

        it("refuse to write what cannot be read back, naming the field, not the value",
           function()
            local bad = {
                { { Credentials = { AccessKeyId = "A", SecretAccessKey = SECRET } },
                  "acmpca: not cached: Credentials lacks AccessKeyId, SecretAccessKey or "
                  .. "SessionToken" },
                { response("soon"),
                  "acmpca: not cached: Credentials.Expiration is not an ISO-8601 time" },
                { { access_key_id = "A", secret_access_key = SECRET, session_token = TOKEN },
                  "acmpca: not cached: the credentials have no expiration (epoch seconds)" },
                { { access_key_id = "A", secret_access_key = SECRET },
                  "acmpca: not cached: the credentials lack access_key_id, "
                  .. "secret_access_key or session_token" },
                { { Credentials = response(F.iso(T0 + 3600)).Credentials, Extra = print },
                  "acmpca: not cached: a function value" },
            }
            for i, case in ipairs(bad) do
                local ok, err = c:put("k", case[1])
                assert.is_nil(ok, i)
                assert.equals(case[2], err, i)
                F.no_secret(err, { SECRET, TOKEN })
            end
            assert.is_nil(io.open(dir .. "/cli/cache/k.json"))
            assert.has_error(function() c:put("k", "x") end,
                "acmpca.credentials.cache.put: value: expected a table, got string")
        end)

        it("report a directory it cannot make", function()
            write(dir .. "/cli", "a file")
            local ok, err = c:put("k", response(F.iso(T0 + 3600)))
            assert.is_nil(ok)
            assert.equals("acmpca: " .. dir .. "/cli/cache: cannot create directory: "
                .. "Not a directory", err)
        end)
    end)
end)


-- botocore's side of the interop check: reads a request (JSON) naming the
-- directory and fetchers; prints each fetcher's cache key, what it reads
-- from the cache (fetch_credentials, cache only: no client exists, so a
-- miss is an error) and, when asked, writes an entry as the AWS CLI does
-- (datetime Expiration through JSONFileCache).
local BOTOCORE = [[
import datetime, json, sys
try:
    from botocore.credentials import (AssumeRoleCredentialFetcher,
        AssumeRoleWithWebIdentityCredentialFetcher, SSOCredentialFetcher)
    from botocore.utils import JSONFileCache
    from dateutil.tz import tzutc
except Exception as e:
    print(json.dumps({"skip": "%s: %s" % (type(e).__name__, e)}))
    sys.exit(0)

req = json.load(open(sys.argv[1]))
store = JSONFileCache(req["dir"])

def fetcher(spec):
    a = spec["args"]
    if spec["kind"] == "sso":
        return SSOCredentialFetcher(a.get("start_url"), "us-east-1", a["role_name"],
                                    a["account_id"], None, cache=store,
                                    sso_session_name=a.get("session_name"))
    extra = dict((k, v) for k, v in a.items() if k != "RoleArn")
    if spec["kind"] == "web_identity":
        return AssumeRoleWithWebIdentityCredentialFetcher(None, lambda: "unused",
                                                          a["RoleArn"], extra, cache=store)
    return AssumeRoleCredentialFetcher(None, None, a["RoleArn"], extra, cache=store,
                                       mfa_prompter=lambda prompt: "123456")

out = []
for spec in req["fetchers"]:
    f = fetcher(spec)
    r = {"key": f._cache_key}
    try:
        c = f.fetch_credentials()
        r["read"] = {"access_key": c["access_key"], "secret_key": c["secret_key"],
                     "token": c["token"]}
    except Exception as e:
        r["miss"] = type(e).__name__
    w = spec.get("write")
    if w:
        exp = datetime.datetime.now(tzutc()) + datetime.timedelta(seconds=w["ttl"])
        creds = {"AccessKeyId": w["id"], "SecretAccessKey": w["secret"],
                 "SessionToken": w["token"], "Expiration": exp}
        if spec["kind"] == "sso":
            creds["Expiration"] = exp.strftime("%Y-%m-%dT%H:%M:%SZ")
            resp = {"ProviderType": "sso", "Credentials": creds}
        else:
            resp = {"Credentials": creds, "ResponseMetadata": {"RequestId": "r"},
                    "AssumedRoleUser": {"Arn": "arn:aws:sts::1:assumed-role/r/s",
                                        "AssumedRoleId": "AROA:s"}}
        f._write_to_cache(resp)
    out.append(r)
print(json.dumps({"results": out}))
]]


describe("acmpca.credentials.cache and botocore on one directory", function()
    local dir, script

    local function botocore(fetchers)
        local reqf = dir .. "/req.json"
        write(reqf, assert(cjson.encode{ dir = dir .. "/cli/cache", fetchers = fetchers }))
        local p = assert(io.popen("/usr/bin/python3 " .. script .. " " .. reqf
            .. " </dev/null 2>" .. dir .. "/stderr"))
        local out = p:read("*a")
        p:close()
        local doc = cjson.decode(out)
        assert(type(doc) == "table", "botocore helper: " .. out .. read(dir .. "/stderr"))
        return doc
    end

    setup(function()
        dir = F.tmpdir()
        script = dir .. "/botocore_cache.py"
        write(script, BOTOCORE)
    end)

    teardown(function()
        os.execute("rm -rf " .. dir)
    end)

    local CASES = {
        { kind = "assume_role", args = { RoleArn = ROLE } },
        { kind = "assume_role", args = { RoleArn = ROLE, RoleSessionName = "ops",
                                          DurationSeconds = 3600, ExternalId = "ext-\226\152\131",
                                          SerialNumber = "arn:aws:iam::111122223333:mfa/u" } },
        { kind = "assume_role", args = { RoleArn = ROLE,
                                          Policy = '{"Version": "2012-10-17", "Statement": []}' } },
        { kind = "web_identity", args = { RoleArn = ROLE .. "-irsa" } },
        { kind = "web_identity", args = { RoleArn = ROLE, RoleSessionName = "pod-7" } },
        { kind = "sso", args = { account_id = "111122223333", role_name = "Admin",
                                 session_name = "corp" } },
        { kind = "sso", args = { account_id = "111122223333", role_name = "Admin",
                                 start_url = "https://d-1234567890.awsapps.com/start" } },
    }

    it("agree on keys; botocore reads ours; we read botocore's; both refuse a near end",
       function()
        local probe = botocore({})
        if probe.skip then
            pending("botocore cannot be imported by /usr/bin/python3: " .. probe.skip)
            return
        end
        local now = os.time()
        local c = cache.new{ dir = dir .. "/cli/cache" }
        local specs = {}
        for i, case in ipairs(CASES) do
            local key = c["key_" .. case.kind](c, case.args)
            -- odd cases: we write, botocore reads; even: botocore writes, we read
            if i % 2 == 1 then
                local creds = { access_key_id = "ASIAOURS" .. i, secret_access_key = SECRET .. i,
                                session_token = TOKEN .. i, expiration = now + 3600,
                                provider_type = case.kind == "sso" and "sso" or nil }
                assert.is_true(c:put(key, i == 1 and response(cache.iso(now + 3600)) or creds))
            end
            specs[i] = { kind = case.kind, args = case.args, our_key = key,
                         write = i % 2 == 0 and { ttl = 3600, id = "ASIABOTO" .. i,
                                                  secret = SECRET .. i, token = TOKEN .. i }
                                or nil }
        end
        local res = botocore(specs).results
        for i, r in ipairs(res) do
            assert.equals(r.key, specs[i].our_key, "key of case " .. i)
            if i % 2 == 1 then
                assert.same({ access_key = i == 1 and "ASIACACHE0000000001"
                                  or ("ASIAOURS" .. i),
                              secret_key = i == 1 and SECRET or (SECRET .. i),
                              token = i == 1 and TOKEN or (TOKEN .. i) }, r.read, "case " .. i)
            else
                assert.is_nil(r.read, "case " .. i)
                local got = c:get(r.key)
                assert.is_table(got, "case " .. i)
                assert.equals("ASIABOTO" .. i, got.access_key_id)
                assert.equals(TOKEN .. i, got.session_token)
                assert.is_true(math.abs(got.expiration - (now + 3600)) <= 5)
            end
        end

        -- ten minutes left: neither side uses the entry
        local key = c:key_assume_role{ RoleArn = ROLE .. "-near" }
        assert.is_true(c:put(key, response(cache.iso(now + 600))))
        res = botocore({ { kind = "assume_role", args = { RoleArn = ROLE .. "-near" } } })
        assert.is_nil(res.results[1].read)
        assert.is_string(res.results[1].miss)
        local hit, why = c:get(key)
        assert.is_nil(hit)
        assert.equals("expired", why)
    end)
    -- Policy texts with every kind of JSON value botocore's json.loads /
    -- json.dumps(sort_keys=True) round trip rewrites: floats (repr),
    -- integers of any size, -0, exponents, NaN and the infinities, empty
    -- arrays and objects, escapes, surrogates, non-ASCII keys (sorted by
    -- code point), duplicate keys (the last wins), odd whitespace
    local POLICIES = {
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "acm-pca:*", '
            .. '"Resource": "*", "Condition": {"NumericLessThan": '
            .. '{"aws:MultiFactorAuthAge": 3600.0}}}]}',
        '{"a": [1, 2.50, -0, -0.0, 1E+2, 1e-7, 0.000123, 12345678901234567890, 1e15, 1e16, '
            .. '0.1, 5e-324, 1.7976931348623157e308, 1e400, -1e400, 123456789.123456789, '
            .. '0.0001, 0.00001, 100.0e-2, 2.5e-05, 9007199254740993.0]}',
        '{"b": [[], {}, [[]], [{}], {"x": []}], "c": null, "d": true, "e": false}',
        '{"\195\169": 1, "z": 2, "\\u00e9": 3, "\240\159\152\128": 4, "\\ud800": 5, '
            .. '"Z": 6, "\\ud83d\\ude00x": 7, "": 8, "\\u0000": 9}',
        '\n{ "x" :\t[ ] ,"y":{ }\r\n, "x": "second"}  ',
        '{"n": NaN, "i": Infinity, "m": -Infinity}',
        '{"s": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u0041\\uABCD '
            .. '\\ud800\\u0041 \\udc00 tab\\u0009 \226\130\172"}',
        '[1, "top-level array", {"k": 0}]',
        '"just a string"',
        '-0.0',
    }

    it("agree on the keys of policies with every kind of JSON value", function()
        local probe = botocore({})
        if probe.skip then
            pending("botocore cannot be imported by /usr/bin/python3: " .. probe.skip)
            return
        end
        local c = cache.new{ dir = dir .. "/cli/cache" }
        local specs = {}
        for i, policy in ipairs(POLICIES) do
            local args = { RoleArn = ROLE, RoleSessionName = "p" .. i, Policy = policy }
            specs[i] = { kind = "assume_role", args = args, our_key = c:key_assume_role(args) }
        end
        local res = botocore(specs).results
        assert.equals(#POLICIES, #res)
        for i, r in ipairs(res) do
            assert.equals(r.key, specs[i].our_key, "key of policy " .. i .. ": " .. POLICIES[i])
        end
    end)
end)


-- Python's own json module as the oracle for the Policy reader: one text
-- per line (hex), json.dumps(json.loads(text), sort_keys=True) or "-"
-- when json.loads refuses it.
local PYJSON = [[
import json, sys
for line in open(sys.argv[1]):
    s = bytes.fromhex(line.strip()).decode("latin-1")
    try:
        out = json.dumps(json.loads(s), sort_keys=True)
    except ValueError:
        out = None
    print("-" if out is None else out.encode("latin-1").hex())
]]


local function hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end


-- Texts near JSON: seeds with one to three random edits, and floats of
-- every magnitude, powers of two (where the doubles' spacing changes) and
-- exact binary fractions (ties for the shortest digits) in two notations.
local function generated(n)
    local seeds = {
        '{"a": [1, 2.5, -0, 1e5, "x\\u00e9\\ud800"], "b": {"c": null, "d": true}}',
        '[[[]]]', '"\\ud83d\\ude00"', '-1.5e-7', '{"x": NaN, "y": -Infinity}',
        '[0.1, 123456789.987654321, 1e22, 1e-4, 9.999999999999999e15]',
    }
    local alphabet = '{}[]",:.-+eE0123456789\\u tnrfalsNIy\1 '
    local texts = {}
    math.randomseed(20261206)
    for _ = 1, n do
        local s = seeds[math.random(#seeds)]
        for _ = 1, math.random(1, 3) do
            local p, r = math.random(1, #s + 1), math.random(3)
            local c = alphabet:sub(math.random(#alphabet)):sub(1, 1)
            s = s:sub(1, p - 1) .. (r ~= 2 and c or "") .. s:sub(r == 1 and p or p + 1)
        end
        texts[#texts + 1] = s
        local kind = math.random(4)
        local v
        if kind == 1 then
            v = (math.random() - 0.5) * 10 ^ math.random(-330, 310)
        elseif kind == 2 then
            v = math.floor(math.random() * 2 ^ 53) / 2 ^ math.random(0, 60)
        elseif kind == 3 then
            v = 2 ^ math.random(-1074, 1023)
        else
            v = math.random(1, 2 ^ 20) + math.random(0, 3) / 4
        end
        for _, f in ipairs{ "%.17g", "%.6e" } do
            local t = string.format(f, v)
            if not t:find("[%.e]") then
                t = t .. ".0"
            end
            if not t:find("[ia]") then
                texts[#texts + 1] = t
            end
        end
    end
    return texts
end


describe("acmpca.credentials.cache's Policy reader and Python's json", function()
    it("write the same text for 20,000 generated texts, or both refuse it", function()
        local dir = F.tmpdir()
        write(dir .. "/oracle.py", PYJSON)
        local texts = generated(7000)
        local lines = {}
        for i, t in ipairs(texts) do
            lines[i] = hex(t)
        end
        write(dir .. "/texts", table.concat(lines, "\n") .. "\n")
        local p = assert(io.popen("/usr/bin/python3 " .. dir .. "/oracle.py " .. dir
                                  .. "/texts 2>&1"))
        local want = {}
        for line in p:lines() do
            want[#want + 1] = line
        end
        p:close()
        os.execute("rm -rf " .. dir)
        assert.equals(#texts, #want, want[1])
        local differ = {}
        for i, t in ipairs(texts) do
            local got = cache._python_json(t)
            local w = nil
            if want[i] ~= "-" then
                w = want[i]:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
            end
            if got ~= w and #differ < 5 then
                differ[#differ + 1] = string.format("%q: python %s, ours %s", t, tostring(w),
                                                    tostring(got))
            end
        end
        assert.same({}, differ)
        assert.is_true(#texts >= 20000)
    end)
end)
