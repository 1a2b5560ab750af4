/*
 * xml_lua.c: the Lua binding of xml.c, core.xml_decode.
 *
 *   core.xml_decode(s [, limits]) -> root | nil, "xml: ..."
 *
 * An element is { name = "...", text = "...", [1] = child, ... }.  limits
 * ({ max_bytes, max_depth, max_elements, max_text }) may only lower
 * xml.h's defaults.  The parsed document lives in a userdata with a __gc
 * until the tables are built, so a memory error raised while building
 * them leaks nothing.
 */
#include <string.h>

#include "compat.h"
#include "core.h"
#include "error.h"
#include "xml.h"

#define XML_DOC_MT "acmpca.xml_doc"

/* ------------------------------------------------------------ the document userdata */

static int doc_gc(lua_State *L)
{
    acmpca_xml_free(luaL_checkudata(L, 1, XML_DOC_MT));
    return 0;
}


/* ------------------------------------------------------------ arguments */

/* limits.<field> at the top, checked into *out.  Raises on misuse. */
static void check_limit(lua_State *L, const char *field, size_t lo, size_t hi, size_t *out)
{
    lua_Number v;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        v = lua_tonumber(L, -1);
        if (v >= (lua_Number)lo && v <= (lua_Number)hi && v == (lua_Number)(size_t)v) {
            *out = (size_t)v;
            return;
        }
    }
    acmpca_raise(L, -1, "acmpca.xml_decode: limits.%s: expected an integer from %zu to %zu",
                 field, lo, hi);
}


/* The optional limits table at index i into *lim (defaults first). */
static void check_limits(lua_State *L, int i, acmpca_xml_limits *lim)
{
    static const struct {
        const char *name;
        size_t lo, hi, off;
    } fields[] = {
        {"max_bytes", 0, ACMPCA_XML_MAX_BYTES, offsetof(acmpca_xml_limits, max_bytes)},
        {"max_depth", 1, ACMPCA_XML_MAX_DEPTH, offsetof(acmpca_xml_limits, max_depth)},
        {"max_elements", 1, ACMPCA_XML_MAX_ELEMENTS, offsetof(acmpca_xml_limits, max_elements)},
        {"max_text", 0, ACMPCA_XML_MAX_TEXT, offsetof(acmpca_xml_limits, max_text)},
    };
    size_t f;

    acmpca_xml_default_limits(lim);
    if (lua_isnoneornil(L, i))
        return;
    if (lua_type(L, i) != LUA_TTABLE)
        acmpca_raise(L, i, "acmpca.xml_decode: limits: expected a table");
    lua_pushnil(L);
    while (lua_next(L, i) != 0) { /* key, value */
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        for (f = 0; f < sizeof fields / sizeof fields[0]; f++)
            if (strcmp(k, fields[f].name) == 0)
                break;
        if (f == sizeof fields / sizeof fields[0])
            acmpca_raise(L, -2, "acmpca.xml_decode: limits: unknown field");
        check_limit(L, fields[f].name, fields[f].lo, fields[f].hi,
                    (size_t *)((char *)lim + fields[f].off));
        lua_pop(L, 1); /* key */
    }
}


/* ------------------------------------------------------------ the tree */

/*
 * Push the root element table.  Nodes come in document order, so a stack
 * of open tables (slot base + d holds the one at depth d) is all it takes:
 * each node's parent is on top once the deeper slots are dropped.
 */
static void push_tree(lua_State *L, const acmpca_xml_doc *doc)
{
    int base = lua_gettop(L);
    int n[ACMPCA_XML_MAX_DEPTH + 1];
    size_t i;

    luaL_checkstack(L, ACMPCA_XML_MAX_DEPTH + 4, "acmpca.xml_decode");
    for (i = 0; i < doc->count; i++) {
        const acmpca_xml_node *nd = &doc->nodes[i];
        int d = (int)nd->depth;
        lua_settop(L, base + d - 1); /* ..., parent */
        lua_createtable(L, (int)nd->children, 2);
        lua_pushlstring(L, doc->names + nd->name, nd->name_len);
        lua_setfield(L, -2, "name");
        lua_pushlstring(L, doc->text + nd->text, nd->text_len);
        lua_setfield(L, -2, "text");
        n[d] = 0;
        if (d > 1) { /* ..., parent, el */
            lua_pushvalue(L, -1);
            lua_rawseti(L, -3, ++n[d - 1]);
        }
    }
    lua_settop(L, base + 1); /* ..., root */
}


/* ------------------------------------------------------------ functions */

/* xml_decode(s [, limits]) -> root | nil, err */
static int l_xml_decode(lua_State *L)
{
    acmpca_xml_limits lim;
    acmpca_xml_doc *doc;
    size_t n;
    const char *s;

    if (lua_type(L, 1) != LUA_TSTRING)
        acmpca_raise(L, 0, "acmpca.xml_decode: s: expected a string, got %s",
                     luaL_typename(L, 1));
    s = lua_tolstring(L, 1, &n);
    check_limits(L, 2, &lim);
    lua_settop(L, 2);

    /* The userdata first, so __gc sees a zeroed or a parsed document. */
    doc = lua_newuserdata(L, sizeof *doc); /* s, limits, doc */
    memset(doc, 0, sizeof *doc);
    luaL_getmetatable(L, XML_DOC_MT);
    lua_setmetatable(L, -2);

    if (acmpca_xml_parse(s, n, &lim, doc) != NULL || doc->count == 0) {
        lua_pushnil(L);
        lua_pushstring(L, doc->count == 0 && doc->err[0] == '\0' ? "xml: no element found"
                                                                   : doc->err);
        acmpca_xml_free(doc);
        return 2;
    }
    push_tree(L, doc); /* s, limits, doc, root */
    acmpca_xml_free(doc);
    return 1;
}


/* ------------------------------------------------------------ opener */

void acmpca_xml_open(lua_State *L)
{
    luaL_newmetatable(L, XML_DOC_MT);
    lua_pushcfunction(L, doc_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_xml_decode);
    lua_setfield(L, -2, "xml_decode");
}
