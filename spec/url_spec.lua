-- acmpca.url: the one URL parser of the Lua layer.

local helpers = require "helpers"
local url = require "acmpca.url"


describe("acmpca.url", function()
    it("reads no environment, file or process at require time", function()
        local ok, mod, called = helpers.load_watched("acmpca.url")
        assert.is_true(ok, mod)
        assert.same({}, called)
        assert.equals("0.2.0", mod._VERSION)
        assert.is_function(mod.parse)
    end)


    describe("parse", function()
        local function parsed(s)
            local t, err = url.parse(s)
            assert.is_nil(err)
            return t
        end

        it("splits an https URL with port, path and query", function()
            assert.same({
                scheme = "https", host = "acm-pca.example.com", ipv6 = false, port = 8443,
                path = "/a/b", query = "x=1&y=2", target = "/a/b?x=1&y=2",
                host_header = "acm-pca.example.com:8443",
            }, parsed("https://acm-pca.example.com:8443/a/b?x=1&y=2"))
        end)

        it("defaults the port from the scheme and leaves it out of Host", function()
            local t = parsed("http://169.254.169.254/latest/api/token")
            assert.equals(80, t.port)
            assert.equals("169.254.169.254", t.host_header)
            t = parsed("https://sts.amazonaws.com")
            assert.equals(443, t.port)
            assert.equals("sts.amazonaws.com", t.host_header)
        end)

        it("leaves a port equal to the scheme's out of Host", function()
            assert.equals("h", parsed("http://h:80/").host_header)
            assert.equals("h", parsed("https://h:443/").host_header)
            assert.equals("h:443", parsed("http://h:443/").host_header)
            assert.equals("h:80", parsed("https://h:80/").host_header)
        end)

        it("takes an empty port as the scheme's", function()
            local t = parsed("http://h:/x")
            assert.equals(80, t.port)
            assert.equals("h", t.host_header)
        end)

        it("makes the path / when absent, also before a query", function()
            assert.equals("/", parsed("http://h").path)
            assert.is_nil(parsed("http://h").query)
            local t = parsed("http://h?a=1")
            assert.equals("/", t.path)
            assert.equals("a=1", t.query)
            assert.equals("/?a=1", t.target)
        end)

        it("keeps an empty query apart from none", function()
            local t = parsed("http://h/p?")
            assert.equals("", t.query)
            assert.equals("/p?", t.target)
        end)

        it("drops the fragment", function()
            local t = parsed("http://h/p?q=1#frag?x")
            assert.equals("/p", t.path)
            assert.equals("q=1", t.query)
            assert.equals("/p", parsed("http://h/p#f").target)
        end)

        it("lower-cases scheme and host, not path or query", function()
            local t = parsed("HTTPS://ACM-PCA.Example.COM/Path?Q=V")
            assert.equals("https", t.scheme)
            assert.equals("acm-pca.example.com", t.host)
            assert.equals("/Path?Q=V", t.target)
        end)

        it("reads IPv6 literals in brackets", function()
            assert.same({
                scheme = "http", host = "fd00:ec2::23", ipv6 = true, port = 80,
                path = "/c", target = "/c", host_header = "[fd00:ec2::23]",
            }, parsed("http://[FD00:EC2::23]/c"))
            local t = parsed("http://[::1]:9/c")
            assert.equals("::1", t.host)
            assert.equals(9, t.port)
            assert.equals("[::1]:9", t.host_header)
            assert.equals("::ffff:127.0.0.1", parsed("http://[::ffff:127.0.0.1]/").host)
        end)

        it("accepts host names with '_' and IPv4 addresses", function()
            assert.equals("my_service.local", parsed("http://my_service.local/").host)
            assert.equals("127.0.0.1", parsed("http://127.0.0.1:1/").host)
        end)

        it("keeps a port's leading zeros out of the number", function()
            assert.equals(80, parsed("http://h:080/").port)
            assert.equals("h", parsed("http://h:0080/").host_header)
        end)

        -- Each refused input with its message.
        local BAD = {
            { "", "not an absolute URL" },
            { "/relative/path", "not an absolute URL" },
            { "//h/p", "not an absolute URL" },
            { "h:80/p", "not an absolute URL" },
            { "http:/h/p", "not an absolute URL" },
            { "1http://h/", "not an absolute URL" },
            { "ftp://127.0.0.1/", "unsupported scheme 'ftp'" },
            { "file:///etc/passwd", "unsupported scheme 'file'" },
            { "HTTPX://h/", "unsupported scheme 'httpx'" },
            { "http://u:p@127.0.0.1/", "credentials in the URL are not supported" },
            { "http://user@h/", "credentials in the URL are not supported" },
            { "http://@h/", "credentials in the URL are not supported" },
            { "http://", "missing host" },
            { "http:///path", "missing host" },
            { "http://:80/", "missing host" },
            { "http://::1/", "missing host" },
            { "http://h%41/", "bad host (expected letters, digits, '.', '-' and '_')" },
            { "http://h\\x/", "bad host (expected letters, digits, '.', '-' and '_')" },
            { "http://h\195\169/", "bad host (expected letters, digits, '.', '-' and '_')" },
            { "http://[]/", "bad IPv6 address (expected [hex:hex::...])" },
            { "http://[1:2]/", "bad IPv6 address (expected [hex:hex::...])" },
            { "http://[::1/", "bad IPv6 address (expected [hex:hex::...])" },
            { "http://[fe80::1%25eth0]/", "bad IPv6 address (expected [hex:hex::...])" },
            { "http://[g::1]/", "bad IPv6 address (expected [hex:hex::...])" },
            { "http://[::1]x/", "bad port (expected 1-65535)" },
            { "http://h:0/", "bad port (expected 1-65535)" },
            { "http://h:65536/", "bad port (expected 1-65535)" },
            { "http://h:70000/", "bad port (expected 1-65535)" },
            { "http://h:000080/", "bad port (expected 1-65535)" },
            { "http://h:99999999999999999999/", "bad port (expected 1-65535)" },
            { "http://h:8a/", "bad port (expected 1-65535)" },
            { "http://h:-1/", "bad port (expected 1-65535)" },
            { "http://h:80:81/", "bad port (expected 1-65535)" },
            { "http://h/a b", "contains a space or a control character" },
            { " http://h/", "contains a space or a control character" },
            { "http://h/\r\nX-Injected: 1", "contains a space or a control character" },
            { "http://h/\n", "contains a space or a control character" },
            { "http://h\0.evil/", "contains a space or a control character" },
            { "http://h/\t", "contains a space or a control character" },
            { "http://h/\127", "contains a space or a control character" },
            { "http://h/?q=\27[31m", "contains a space or a control character" },
            { "http://h/#\1", "contains a space or a control character" },
        }

        for _, case in ipairs(BAD) do
            it(("refuses %q: %s"):format(case[1], case[2]), function()
                local t, err = url.parse(case[1])
                assert.is_nil(t)
                assert.equals(case[2], err)
            end)
        end

        it("never repeats the URL in its messages", function()
            local checked = 0
            for _, case in ipairs(BAD) do
                local t, err = url.parse(case[1] .. "SECRET")
                if not t then   -- "http://" .. "SECRET" is a good URL
                    checked = checked + 1
                    assert.is_nil(err:find("SECRET", 1, true), err)
                end
            end
            assert.equals(#BAD - 1, checked)
        end)

        it("raises for a value that is not a string", function()
            assert.has_error(function() url.parse(nil) end,
                "acmpca.url.parse: expected a string, got nil")
            assert.has_error(function() url.parse(42) end,
                "acmpca.url.parse: expected a string, got number")
            assert.has_error(function() url.parse({}) end,
                "acmpca.url.parse: expected a string, got table")
        end)

        it("parses and refuses 100 KB URLs", function()
            local long = ("a"):rep(100000)
            assert.equals("/", parsed("http://" .. long .. "/").path)
            assert.equals("bad port (expected 1-65535)",
                select(2, url.parse("http://h:" .. ("9"):rep(100000) .. "/")))
            assert.equals("not an absolute URL", select(2, url.parse(("a"):rep(100000))))
        end)
    end)


    describe("userinfo in endpoints (both parsers)", function()
        local USERINFO = {
            "http://user:s3cr3tPW@h/", "https://user:s3cr3tPW@[::1]:99/",
            "https://s3cr3tPW@acm-pca.us-east-1.amazonaws.com",
            "http://user:s3cr3tPW@127.0.0.1:8443/path", "http://user:s3cr3tPW@",
            "https://user:s3cr3tPW@h:bad/", "http://a@b@s3cr3tPW/",
        }

        it("acmpca.url refuses them without echoing them", function()
            for _, u in ipairs(USERINFO) do
                local t, err = url.parse(u)
                assert.is_nil(t, u)
                assert.equals("credentials in the URL are not supported", err)
            end
        end)

        it("the client's endpoint refuses them without echoing them", function()
            local client = require "acmpca.client"
            for _, u in ipairs(USERINFO) do
                local sent = 0
                local ok, msg = pcall(client.new, {
                    endpoint = u, region = "us-east-1",
                    credentials = { access_key_id = "AKID", secret_access_key = "SECRET" },
                    transport = function() sent = sent + 1 end,
                })
                assert.is_false(ok, u)
                msg = tostring(msg)
                assert.matches("acmpca.new: endpoint: userinfo (user:password@) is not allowed",
                               msg, 1, true)
                assert.is_nil(msg:find("s3cr3tPW", 1, true), msg)
                assert.is_nil(msg:find("user:s3", 1, true), msg)
                assert.equals(0, sent)
            end
        end)

        it("the client's endpoint reads a port with leading zeros as acmpca.url does",
           function()
            -- the signer's URL splitter and acmpca.url read 0443 as 443; the
            -- Host signed and sent must be the same reading
            local client = require "acmpca.client"
            local cases = {
                { "https://h.test:0443/", "h.test" },
                { "http://h.test:080", "h.test" },
                { "http://h.test:08080/p", "h.test:8080" },
                { "https://[::1]:0443", "[::1]" },
            }
            for _, case in ipairs(cases) do
                local seen
                local c = client.new{
                    endpoint = case[1], region = "us-east-1", max_attempts = 1,
                    credentials = { access_key_id = "AKID", secret_access_key = "SECRET" },
                    transport = function(req)
                        seen = req
                        return { status = 200, headers = {}, body = "{}" }
                    end,
                }
                assert(c:delete_permission{
                    ca_arn = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
                        .. "11111111-2222-3333-4444-555555555555",
                    principal = "acm.amazonaws.com" })
                assert.equals(case[2], seen.headers.Host, case[1])
                assert.equals(url.parse(case[1]).host_header, seen.headers.Host, case[1])
            end
        end)

        it("the signer refuses a port with leading zeros rather than sign another Host",
           function()
            local sigv4 = require "acmpca.sigv4"
            local opts = { region = "us-east-1", service = "acm-pca", time = 1440938160,
                           credentials = { access_key_id = "AKID",
                                           secret_access_key = "SECRET" } }
            for _, u in ipairs{ "http://h.test:08080/", "https://h.test:0443/" } do
                local ok_, err = pcall(sigv4.sign, { method = "GET", url = u }, opts)
                assert.is_false(ok_, u)
                assert.matches("url: bad port (leading zero)", err, 1, true)
                assert.is_nil(err:find("SECRET", 1, true))
            end
            local h = sigv4.sign({ method = "GET", url = "http://h.test:8080/" }, opts)
            assert.equals("h.test:8080", h.Host)
        end)

        it("allows an '@' in the path", function()
            local client = require "acmpca.client"
            local c = client.new{ endpoint = "http://127.0.0.1:1/p@x", region = "us-east-1",
                                  credentials = { access_key_id = "A", secret_access_key = "B" } }
            assert.matches("endpoint http://127.0.0.1:1/p@x", tostring(c), 1, true)
            assert.equals("/p@x", url.parse("http://127.0.0.1:1/p@x").path)
        end)
    end)
end)
