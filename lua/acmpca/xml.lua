--- acmpca.xml: reading XML answers (STS's `query` protocol) with libexpat.
--
-- A document becomes a tree of element tables, each
-- `{ name = "Code", text = "...", [1] = child, [2] = child, ... }`: the
-- name as written (prefix included, namespaces not resolved), the
-- character data directly inside the element (entities and CDATA decoded,
-- "" when none; for an element with children, the whitespace between
-- them), and the child elements in document order.  Attributes, comments
-- and processing instructions are dropped.
--
--    local xml = require "acmpca.xml"
--    local root, err = xml.decode(body)
--    local code = root and xml.text(root, "Error", "Code")
--
-- The reader is core.xml_decode (src/xml.c): never patterns over the
-- text.  It refuses any DOCTYPE (so no entity is declared, expanded or
-- loaded), an input over 1 MiB, nesting deeper than 32, more than 10,000
-- elements and more than 1 MiB of text, stopping at the first limit hit.
-- Its messages say where the document goes wrong, never what it holds.
--
-- @module acmpca.xml

local core = require "acmpca.core"

local type, select, error = type, select, error

local xml_decode = core.xml_decode


local _M = { _VERSION = "0.2.0" }


local function check_element(fname, el)
    if type(el) ~= "table" then
        error("acmpca.xml." .. fname .. ": el: expected an element table, got " .. type(el), 3)
    end
end


local function check_name(fname, what, name)
    if type(name) ~= "string" then
        error("acmpca.xml." .. fname .. ": " .. what .. ": expected a string, got "
            .. type(name), 3)
    end
end


-- The first child of el named name, or nil (no checks).
local function first(el, name)
    for i = 1, #el do
        local c = el[i]
        if c.name == name then
            return c
        end
    end
    return nil
end


--- Parse a document.
-- @tparam string s the document (at most 1 MiB)
-- @tparam[opt] table limits lower limits: `max_bytes`, `max_depth`,
--   `max_elements`, `max_text` (integers, none above the defaults)
-- @treturn table the root element
-- @return[2] nil
-- @treturn[2] string what is wrong, "xml: <reason> at line L column C"
--   (callers wrap it in their own error object)
-- @raise when s is not a string or limits is malformed
function _M.decode(s, limits)
    if type(s) ~= "string" then
        error("acmpca.xml.decode: s: expected a string, got " .. type(s), 2)
    end
    return xml_decode(s, limits)
end


--- The first child element with a name.
-- @tparam table el an element
-- @tparam string name the child's name, as written (case-sensitive)
-- @treturn ?table the child, or nil when el has none of that name
-- @raise when el is not a table or name not a string
function _M.child(el, name)
    check_element("child", el)
    check_name("child", "name", name)
    return first(el, name)
end


--- The text of the element reached by following child names from el.
-- `xml.text(root, "Error", "Code")` is the text of root's first `Error`
-- child's first `Code` child; with no names, el's own text.
-- @tparam table el an element
-- @tparam string ... child names, outermost first
-- @treturn ?string the text ("" for an empty element), or nil when a step
--   of the path is missing
-- @raise when el is not a table or a name not a string
function _M.text(el, ...)
    check_element("text", el)
    local n = select("#", ...)
    for i = 1, n do
        local name = select(i, ...)
        check_name("text", "name " .. i, name)
        el = el and first(el, name)
    end
    return el and el.text
end


--- Every child element with a name.
-- @tparam table el an element
-- @tparam string name the children's name
-- @treturn table an array of those children in document order (empty when none)
-- @raise when el is not a table or name not a string
function _M.children(el, name)
    check_element("children", el)
    check_name("children", "name", name)
    local out, n = {}, 0
    for i = 1, #el do
        local c = el[i]
        if c.name == name then
            n = n + 1
            out[n] = c
        end
    end
    return out
end


return _M
