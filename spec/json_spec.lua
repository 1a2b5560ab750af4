-- acmpca.json: ordered objects and arrays, encoded as Python's json.dumps
-- (what aws-cli prints), and write_list, the same text a piece at a time.
local json = require "acmpca.json"
local buffer = require("helpers").buffer
local unpack = table.unpack or unpack

describe("acmpca.json", function()

    it("keeps member order and prints like json.dumps(indent=4)", function()
        local v = json.object("B", 1, "A", json.array{ "x", true }, "C", json.object())
        assert.are.equal('{\n    "B": 1,\n    "A": [\n        "x",\n        true\n    ],\n'
                         .. '    "C": {}\n}', json.encode(v, 4))
        assert.are.equal('{"B":1,"A":["x",true],"C":{}}', json.encode(v))
    end)

    it("leaves out members whose value is nil", function()
        assert.are.equal('{"a":1}', json.encode(json.object("a", 1, "b", nil)))
    end)

    describe("write_list", function()
        local function both(items, rest)
            local out = buffer()
            json.write_list(out, "Items", #items, function(i) return items[i] end, rest)
            local whole = json.encode(json.object("Items", json.array(items),
                                                  unpack(rest or {}, 1, rest and rest.n)), 4)
            return out.text, whole .. "\n"
        end

        it("writes what encode writes for the whole object", function()
            local items = {
                json.object("Arn", "arn:1", "Missing", json.array{ "A", "B" }, "N", 3),
                json.object("Arn", "arn:2", "Missing", json.array{}, "Nested",
                            json.object("k", json.object("deep", "v"))),
            }
            local rest = json.object("Summary", json.object("Total", 2, "Ok", false),
                                     "Skipped", nil, "Tail", "t")
            local streamed, whole = both(items, rest)
            assert.are.equal(whole, streamed)
        end)

        it("writes an empty list as []", function()
            local streamed, whole = both({}, json.object("Summary", json.object("Total", 0)))
            assert.are.equal(whole, streamed)
            assert.matches('"Items": %[%]', streamed)
        end)

        it("takes no other members", function()
            local streamed, whole = both({ json.object("a", 1) })
            assert.are.equal(whole, streamed)
        end)
    end)
end)
