-- The XML reader (src/xml.c over libexpat, src/xml_lua.c, lua/acmpca/xml.lua):
-- STS answers from spec/fixtures/sts/, every limit, hostile documents
-- (DTDs, entities) and malformed input.

local core = require "acmpca.core"
local xml = require "acmpca.xml"

local rep = string.rep

local FIXTURES = "spec/fixtures/sts/"
local MiB = 1024 * 1024
local DOCTYPE = "xml: DOCTYPE refused (no DTD, entity declarations or external entities)"
    .. " at line "


local function fixture(name)
    local f = assert(io.open(FIXTURES .. name, "rb"))
    local s = f:read("a")
    f:close()
    return s
end


-- The element names of el's children, in order.
local function names(el)
    local out = {}
    for i = 1, #el do
        out[i] = el[i].name
    end
    return out
end


-- decode must fail, with an error string containing every fragment.
local function refused(s, ...)
    local root, err = core.xml_decode(s)
    assert.is_nil(root)
    assert.is_string(err)
    assert.matches("^xml: ", err)
    for i = 1, select("#", ...) do
        assert.truthy(err:find((select(i, ...)), 1, true), "expected \"" .. (select(i, ...))
            .. "\" in \"" .. err .. "\"")
    end
    return err
end


-- n nested <a> elements.
local function nested(n)
    return rep("<a>", n) .. rep("</a>", n)
end


describe("acmpca.xml", function()
    describe("core.xml_decode", function()
        it("reads an AssumeRole answer into a tree of elements", function()
            local root = assert(core.xml_decode(fixture("assume_role.xml")))
            assert.equal("AssumeRoleResponse", root.name)
            assert.same({ "AssumeRoleResult", "ResponseMetadata" }, names(root))
            local result = root[1]
            assert.same({ "SourceIdentity", "AssumedRoleUser", "Credentials",
                          "PackedPolicySize" }, names(result))
            assert.equal("DevUser123", result[1].text)
            assert.same({}, names(result[1]))
            local creds = result[3]
            assert.same({ "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration" },
                        names(creds))
            assert.equal("ASIAIOSFODNN7EXAMPLE", creds[1].text)
            assert.equal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", creds[2].text)
            assert.equal(336, #creds[3].text)
            assert.matches("^AQoDYXdzEPT//////////wEXAMPLE", creds[3].text)
            assert.equal("2019-11-09T13:34:41Z", creds[4].text)
            assert.equal("c6104cbe-af31-11e0-8154-cbc7ccf896c7", root[2][1].text)
        end)

        it("keeps only the whitespace between child elements as a parent's text", function()
            local root = assert(core.xml_decode(fixture("assume_role.xml")))
            assert.matches("^%s+$", root.text)
            assert.equal("\n  \n  \n", root.text)
        end)

        it("reads an AssumeRoleWithWebIdentity answer", function()
            local root = assert(core.xml_decode(fixture("assume_role_web_identity.xml")))
            assert.equal("AssumeRoleWithWebIdentityResponse", root.name)
            local result = root[1]
            assert.same({ "SubjectFromWebIdentityToken", "Audience", "AssumedRoleUser",
                          "Credentials", "SourceIdentity", "Provider" }, names(result))
            assert.equal("client.5498841531868486423.1548@apps.example.com", result[2].text)
            assert.equal("ASgeIAIOSFODNN7EXAMPLE", result[4][4].text)
        end)

        it("reads an STS ErrorResponse", function()
            local root = assert(core.xml_decode(fixture("error_expired_token.xml")))
            assert.equal("ErrorResponse", root.name)
            assert.same({ "Error", "RequestId" }, names(root))
            assert.same({ "Type", "Code", "Message" }, names(root[1]))
            assert.equal("Sender", root[1][1].text)
            assert.equal("ExpiredTokenException", root[1][2].text)
            assert.equal("The security token included in the request is expired",
                         root[1][3].text)
            assert.equal("4b9c6a2e-1d2f-4f8a-9a3e-6f0c1b2d3e4f", root[2].text)
        end)

        it("gives an empty text, never nil, to an empty element", function()
            local root = assert(core.xml_decode("<a><b/><c></c></a>"))
            assert.equal("", root.text)
            assert.equal("", root[1].text)
            assert.equal("", root[2].text)
            assert.is_nil(root[3])
        end)

        it("decodes the predefined entities and character references", function()
            local root = assert(core.xml_decode(
                "<m>a &amp; b &lt; c &gt; d &quot;&apos; &#x41;&#66;&#x20AC;&#x1F600;</m>"))
            assert.equal("a & b < c > d \"' AB\226\130\172\240\159\152\128", root.text)
        end)

        it("reads CDATA as text and ignores comments and processing instructions", function()
            local root = assert(core.xml_decode(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- before --><?pi x?>"
                .. "<r>a<!-- <b>not an element</b> --><?php echo 1; ?>"
                .. "<![CDATA[<c>&amp;]]>z</r><!-- after -->"))
            assert.equal("r", root.name)
            assert.equal("a<c>&amp;z", root.text)
            assert.equal(0, #root)
        end)

        it("concatenates a parent's text around its children", function()
            local root = assert(core.xml_decode("<p>one<c>x</c>two<c>y<d>z</d>w</c>three</p>"))
            assert.equal("onetwothree", root.text)
            assert.equal("x", root[1].text)
            assert.equal("yw", root[2].text)
            assert.equal("z", root[2][1].text)
        end)

        it("keeps names as written and ignores attributes (xmlns included)", function()
            local root = assert(core.xml_decode(
                "<s:Envelope xmlns:s=\"urn:x\" a=\"1\"><Body b='&amp;'/></s:Envelope>"))
            assert.equal("s:Envelope", root.name)
            assert.is_nil(root.a)
            assert.is_nil(root.xmlns)
            assert.equal("Body", root[1].name)
            assert.is_nil(root[1].b)
        end)

        it("normalises line ends and reads a document in another declared encoding", function()
            assert.equal("a\nb\nc", core.xml_decode("<t>a\r\nb\rc</t>").text)
            local root = assert(core.xml_decode(
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>caf\233</t>"))
            assert.equal("caf\195\169", root.text)
            assert.equal("x", core.xml_decode("\239\187\191<a>x</a>").text) -- UTF-8 BOM
        end)

        it("accepts the deepest, largest and longest documents within the limits", function()
            assert.equal("a", core.xml_decode(nested(32)).name)
            local many = "<r>" .. rep("<e/>", 9999) .. "</r>"
            assert.equal(9999, #assert(core.xml_decode(many)))
            local big = "<r>" .. rep("x", MiB - 7) .. "</r>"
            assert.equal(MiB, #big)
            assert.equal(MiB - 7, #assert(core.xml_decode(big)).text)
        end)

        it("refuses a document nested deeper than 32 elements", function()
            assert.equal("xml: depth limit (32) exceeded at line 1 column 97",
                         select(2, core.xml_decode(nested(33))))
        end)

        it("refuses a document of more than 10,000 elements", function()
            assert.equal("xml: element limit (10000) exceeded at line 1 column 40000",
                         select(2, core.xml_decode("<r>" .. rep("<e/>", 10000) .. "</r>")))
        end)

        it("refuses an input over 1 MiB before parsing it", function()
            local err = refused("<r>" .. rep("x", MiB - 6) .. "</r>",
                                "input too large (1048577 bytes, limit 1048576)")
            assert.is_nil(err:find("line", 1, true))
        end)

        it("refuses over 1 MiB of text: a Latin-1 document grows in UTF-8", function()
            local latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>"
            local small = assert(core.xml_decode(latin1 .. rep("\233", 500000) .. "</t>"))
            assert.equal(1000000, #small.text)
            local err = refused(latin1 .. rep("\233", 600000) .. "</t>")
            assert.matches("^xml: text limit %(1048576 bytes%) exceeded at line 1 column %d+$", err)
        end)

        it("refuses text over the limit, counted as it arrives (limits may be lowered)",
           function()
            local root, err = core.xml_decode("<r>" .. rep("x", 100) .. "</r>", { max_text = 99 })
            assert.is_nil(root)
            assert.equal("xml: text limit (99 bytes) exceeded at line 1 column 4", err)
            assert.equal(100, #core.xml_decode("<r>" .. rep("x", 100) .. "</r>",
                                               { max_text = 100 }).text)
            root, err = core.xml_decode("<a>" .. rep("<b>xx</b>", 50) .. "</a>",
                                        { max_text = 99 })
            assert.is_nil(root)
            assert.equal("xml: text limit (99 bytes) exceeded at line 1 column 448", err)
            assert.same({ nil, "xml: depth limit (2) exceeded at line 1 column 7" },
                        { core.xml_decode("<a><b><c/></b></a>", { max_depth = 2 }) })
            assert.same({ nil, "xml: element limit (2) exceeded at line 1 column 8" },
                        { core.xml_decode("<a><b/><c/></a>", { max_elements = 2 }) })
            assert.same({ nil, "xml: input too large (4 bytes, limit 3)" },
                        { core.xml_decode("<a/>", { max_bytes = 3 }) })
        end)

        it("refuses a DOCTYPE: the billion laughs never expand", function()
            assert.equal(DOCTYPE .. "2 column 16",
                         select(2, core.xml_decode(fixture("billion_laughs.xml"))))
        end)

        it("refuses an external entity and an external DTD without loading them", function()
            assert.equal(DOCTYPE .. "2 column 30",
                         select(2, core.xml_decode(fixture("external_entity.xml"))))
            assert.equal(DOCTYPE .. "2 column 60",
                         select(2, core.xml_decode(fixture("external_dtd.xml"))))
            assert.equal(DOCTYPE .. "1 column 12", select(2, core.xml_decode("<!DOCTYPE r><r/>")))
        end)

        it("refuses a reference to an undeclared entity", function()
            refused("<r>&xxe;</r>", "xml: undefined entity at line 1 column 4")
        end)

        it("says where malformed XML goes wrong", function()
            local cases = {
                { "<a>", "xml: no element found at line 1 column 4" },
                { "<a><b></a>", "xml: mismatched tag at line 1 column 9" },
                { "<a/><b/>", "xml: junk after document element at line 1 column 5" },
                { "<a/>trailing", "xml: junk after document element at line 1 column 5" },
                { "not xml at all", "xml: syntax error at line 1 column 1" },
                { "{\"__type\":\"x\"}",
                  "xml: not well-formed (invalid token) at line 1 column 1" },
                { "", "xml: no element found at line 1 column 1" },
                { "   \n", "xml: no element found at line 2 column 1" },
                { "<a>\0</a>", "xml: not well-formed (invalid token) at line 1 column 4" },
                { "\0", "xml: unclosed token at line 1 column 1" },
                { "<a>\255\254</a>", "xml: not well-formed (invalid token) at line 1 column 4" },
                { "<a>\192\128</a>", "xml: not well-formed (invalid token) at line 1 column 4" },
                { "<a>\237\160\128</a>",
                  "xml: not well-formed (invalid token) at line 1 column 4" },
                { "<a>&#0;</a>", "xml: reference to invalid character number at line 1 column 4" },
                { "<a b='1' b='2'/>", "xml: duplicate attribute at line 1 column 10" },
                { "<a>\n<b>\n</a>", "xml: mismatched tag at line 3 column 3" },
                { "x<a/>", "xml: not well-formed (invalid token) at line 1 column 2" },
                { "<a>\239\191\190</a>",
                  "xml: not well-formed (invalid token) at line 1 column 4" },
                { "<?xml version='1.0' encoding='x-bogus'?><a/>",
                  "xml: unknown encoding at line 1 column 31" },
            }
            for _, case in ipairs(cases) do
                local root, err = core.xml_decode(case[1])
                assert.is_nil(root)
                assert.equal(case[2], err)
            end
        end)

        it("never repeats the document's bytes in an error", function()
            local secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
            local err = refused("<SecretAccessKey>" .. secret .. "</Secret>", "mismatched tag")
            assert.is_nil(err:find("wJalr", 1, true))
        end)

        it("raises on misuse: a non-string document or bad limits", function()
            for _, v in ipairs({ 42, true, {} }) do
                assert.has_error(function() core.xml_decode(v) end,
                                 "acmpca.xml_decode: s: expected a string, got " .. type(v))
            end
            assert.has_error(function() core.xml_decode() end,
                             "acmpca.xml_decode: s: expected a string, got no value")
            assert.has_error(function() core.xml_decode(nil, {}) end,
                             "acmpca.xml_decode: s: expected a string, got nil")
            assert.has_error(function() core.xml_decode("<a/>", "x") end,
                             "acmpca.xml_decode: limits: expected a table, got \"x\"")
            assert.has_error(function() core.xml_decode("<a/>", { max_depth = 33 }) end,
                             "acmpca.xml_decode: limits.max_depth: expected an integer"
                             .. " from 1 to 32, got 33")
            assert.has_error(function() core.xml_decode("<a/>", { max_text = 0.5 }) end,
                             "acmpca.xml_decode: limits.max_text: expected an integer"
                             .. " from 0 to 1048576, got 0.5")
            assert.has_error(function() core.xml_decode("<a/>", { max_elements = "9" }) end,
                             "acmpca.xml_decode: limits.max_elements: expected an integer"
                             .. " from 1 to 10000, got \"9\"")
            assert.has_error(function() core.xml_decode("<a/>", { max_bytes = -1 }) end,
                             "acmpca.xml_decode: limits.max_bytes: expected an integer"
                             .. " from 0 to 1048576, got -1")
            assert.has_error(function() core.xml_decode("<a/>", { depth = 3 }) end,
                             "acmpca.xml_decode: limits: unknown field, got \"depth\"")
        end)

        it("gives the same tree on every run of the same document", function()
            local s = fixture("assume_role_web_identity.xml")
            local first = core.xml_decode(s)
            for _ = 1, 50 do
                assert.same(first, core.xml_decode(s))
            end
        end)
    end)

    describe("xml.decode", function()
        it("returns the root element or nil and the reader's message", function()
            local root = assert(xml.decode(fixture("error_access_denied.xml")))
            assert.equal("AccessDenied", root[1][2].text)
            local none, err = xml.decode("<a>")
            assert.is_nil(none)
            assert.equal("xml: no element found at line 1 column 4", err)
            none, err = xml.decode("<a><b/></a>", { max_depth = 1 })
            assert.is_nil(none)
            assert.equal("xml: depth limit (1) exceeded at line 1 column 4", err)
        end)

        it("raises when the document is not a string", function()
            assert.has_error(function() xml.decode(nil) end,
                             "acmpca.xml.decode: s: expected a string, got nil")
            assert.has_error(function() xml.decode(12) end,
                             "acmpca.xml.decode: s: expected a string, got number")
        end)
    end)

    describe("xml.child", function()
        local root = assert(xml.decode(fixture("assume_role.xml")))

        it("finds the first child element of that name", function()
            local result = xml.child(root, "AssumeRoleResult")
            assert.equal(root[1], result)
            assert.equal("DevUser123", xml.child(result, "SourceIdentity").text)
            local two = assert(xml.decode("<r><x>1</x><y/><x>2</x></r>"))
            assert.equal("1", xml.child(two, "x").text)
        end)

        it("returns nil when there is none; names are case-sensitive", function()
            assert.is_nil(xml.child(root, "Credentials"))
            assert.is_nil(xml.child(root, "assumeroleresult"))
            assert.is_nil(xml.child(xml.decode("<r/>"), "r"))
        end)

        it("raises on misuse", function()
            assert.has_error(function() xml.child(nil, "a") end,
                             "acmpca.xml.child: el: expected an element table, got nil")
            assert.has_error(function() xml.child(root, 1) end,
                             "acmpca.xml.child: name: expected a string, got number")
        end)
    end)

    describe("xml.text", function()
        local root = assert(xml.decode(fixture("assume_role.xml")))

        it("follows a path of child names to an element's text", function()
            assert.equal("ASIAIOSFODNN7EXAMPLE",
                         xml.text(root, "AssumeRoleResult", "Credentials", "AccessKeyId"))
            assert.equal("arn:aws:sts::123456789012:assumed-role/demo/John",
                         xml.text(root, "AssumeRoleResult", "AssumedRoleUser", "Arn"))
            assert.equal("c6104cbe-af31-11e0-8154-cbc7ccf896c7",
                         xml.text(root, "ResponseMetadata", "RequestId"))
        end)

        it("reads the STS error answers", function()
            for file, want in pairs{
                ["error_expired_token.xml"] = { "ExpiredTokenException",
                                                "The security token included in the request"
                                                .. " is expired" },
                ["error_access_denied.xml"] = { "AccessDenied", "User: arn:aws:iam::"
                                                .. "123456789012:user/dev is not authorized to"
                                                .. " perform: sts:AssumeRole on resource: arn:aws"
                                                .. ":iam::123456789012:role/demo" },
                ["error_throttling.xml"] = { "Throttling", "Rate exceeded" },
            } do
                local err = assert(xml.decode(fixture(file)))
                assert.equal("Sender", xml.text(err, "Error", "Type"))
                assert.equal(want[1], xml.text(err, "Error", "Code"))
                assert.equal(want[2], xml.text(err, "Error", "Message"))
                assert.matches("^%x+%-", xml.text(err, "RequestId"))
            end
        end)

        it("gives the element's own text with no names, \"\" for an empty one", function()
            local el = assert(xml.decode("<a>x<b/></a>"))
            assert.equal("x", xml.text(el))
            assert.equal("", xml.text(el, "b"))
        end)

        it("returns nil when a step of the path is missing", function()
            assert.is_nil(xml.text(root, "AssumeRoleResult", "Nope", "AccessKeyId"))
            assert.is_nil(xml.text(root, "Error", "Code"))
            assert.is_nil(xml.text(root, "AssumeRoleResult", "Credentials", "AccessKeyId", "x"))
        end)

        it("raises on misuse", function()
            assert.has_error(function() xml.text("root", "a") end,
                             "acmpca.xml.text: el: expected an element table, got string")
            assert.has_error(function() xml.text(root, "a", false) end,
                             "acmpca.xml.text: name 2: expected a string, got boolean")
        end)
    end)

    describe("xml.children", function()
        it("lists the children of that name in document order", function()
            local root = assert(xml.decode(
                "<r><member>a</member><x/><member>b</member><member/></r>"))
            local list = xml.children(root, "member")
            assert.equal(3, #list)
            assert.equal("a", list[1].text)
            assert.equal("b", list[2].text)
            assert.equal("", list[3].text)
            assert.equal(root[4], list[3])
        end)

        it("returns an empty array when there is none", function()
            local root = assert(xml.decode(fixture("error_throttling.xml")))
            assert.same({}, xml.children(root, "member"))
            assert.same({}, xml.children(root[2], "RequestId"))
        end)

        it("raises on misuse", function()
            assert.has_error(function() xml.children(false, "a") end,
                             "acmpca.xml.children: el: expected an element table, got boolean")
            assert.has_error(function() xml.children({}, nil) end,
                             "acmpca.xml.children: name: expected a string, got nil")
        end)
    end)
end)
