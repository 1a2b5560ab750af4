/*
 * json.c: request bodies from the model (encoder), responses to Lua
 * through lua-cjson and the model (mapping).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compat.h"
#include "json.h"

#define CJSON_DECODE_KEY "acmpca.cjson.decode"

static void encode_value(lua_State *L, const acmpca_shape *sh, int i, acmpca_strbuf *b);

/* ------------------------------------------------------------ encoding */

/* A JSON string; '/' stays plain (as the AWS CLI sends it), bytes >= 0x80 raw. */
static void encode_string(const char *s, size_t n, acmpca_strbuf *b)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s, *end = s + n;
    acmpca_strbuf_addc(b, '"');
    for (const char *p = s; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t en = 2;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        acmpca_strbuf_add(b, run, (size_t)(p - run));
        run = p + 1;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
        }
        acmpca_strbuf_add(b, esc, en);
    }
    acmpca_strbuf_add(b, run, (size_t)(end - run));
    acmpca_strbuf_addc(b, '"');
}

static void encode_number(lua_State *L, const acmpca_shape *sh, int i, acmpca_strbuf *b)
{
    char num[40];
    lua_Number x = lua_tonumber(L, i);
    if (sh->type == ACMPCA_T_INTEGER || sh->type == ACMPCA_T_LONG ||
        (x == floor(x) && fabs(x) < 9007199254740992.0))
        snprintf(num, sizeof num, "%lld", (long long)x); /* 10.0 goes as 10 */
    else
        snprintf(num, sizeof num, "%.17g", (double)x);
    acmpca_strbuf_adds(b, num);
}

static void encode_list(lua_State *L, const acmpca_shape *sh, int i, acmpca_strbuf *b)
{
    size_t n = lua_rawlen(L, i);
    acmpca_strbuf_addc(b, '[');
    for (size_t k = 1; k <= n; k++) {
        if (k > 1)
            acmpca_strbuf_addc(b, ',');
        compat_rawgeti(L, i, (lua_Integer)k);
        encode_value(L, sh->item, lua_gettop(L), b);
        lua_pop(L, 1);
    }
    acmpca_strbuf_addc(b, ']');
}

static void encode_map(lua_State *L, const acmpca_shape *sh, int i, acmpca_strbuf *b)
{
    int first = 1;
    acmpca_strbuf_addc(b, '{');
    lua_pushnil(L);
    while (lua_next(L, i) != 0) { /* k, v */
        size_t kn;
        const char *k = lua_tolstring(L, -2, &kn); /* validated: a string key */
        if (!first)
            acmpca_strbuf_addc(b, ',');
        first = 0;
        encode_string(k, kn, b);
        acmpca_strbuf_addc(b, ':');
        encode_value(L, sh->item, lua_gettop(L), b);
        lua_pop(L, 1);
    }
    acmpca_strbuf_addc(b, '}');
}

static void encode_structure(lua_State *L, const acmpca_shape *sh, int i, acmpca_strbuf *b)
{
    int first = 1;
    acmpca_strbuf_addc(b, '{');
    for (int m = 0; m < sh->nmembers; m++) { /* validated: a table */
        const acmpca_member *mb = &sh->members[m];
        if (compat_getfield(L, i, mb->lua) != LUA_TNIL) {
            if (!first)
                acmpca_strbuf_addc(b, ',');
            first = 0;
            encode_string(mb->wire, strlen(mb->wire), b);
            acmpca_strbuf_addc(b, ':');
            encode_value(L, mb->shape, lua_gettop(L), b);
        }
        lua_pop(L, 1);
    }
    acmpca_strbuf_addc(b, '}');
}

static void encode_value(lua_State *L, const acmpca_shape *sh, int i, acmpca_strbuf *b)
{
    size_t n;
    const char *s;
    luaL_checkstack(L, 6, "acmpca: arguments nested too deeply");
    switch (sh->type) {
    case ACMPCA_T_STRING:
    case ACMPCA_T_BLOB:
        s = lua_tolstring(L, i, &n);
        encode_string(s, n, b);
        break;
    case ACMPCA_T_BOOLEAN:
        acmpca_strbuf_adds(b, lua_toboolean(L, i) ? "true" : "false");
        break;
    case ACMPCA_T_INTEGER:
    case ACMPCA_T_LONG:
    case ACMPCA_T_DOUBLE:
    case ACMPCA_T_TIMESTAMP:
        encode_number(L, sh, i, b);
        break;
    case ACMPCA_T_LIST:
        encode_list(L, sh, i, b);
        break;
    case ACMPCA_T_MAP:
        encode_map(L, sh, i, b);
        break;
    case ACMPCA_T_STRUCTURE:
        encode_structure(L, sh, i, b);
        break;
    }
}

void acmpca_json_encode(lua_State *L, const acmpca_shape *sh, int t, acmpca_strbuf *b)
{
    if (sh == NULL) {
        acmpca_strbuf_adds(b, "{}");
        return;
    }
    encode_value(L, sh, lua_absindex(L, t), b);
}

/* ------------------------------------------------------------ decoding */

/* A private lua-cjson instance's decode, loaded on first use. */
static void push_decode(lua_State *L)
{
    if (compat_getfield(L, LUA_REGISTRYINDEX, CJSON_DECODE_KEY) == LUA_TFUNCTION)
        return;
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    lua_call(L, 1, 1); /* cjson */
    if (compat_getfield(L, -1, "new") == LUA_TFUNCTION) {
        lua_call(L, 0, 1); /* cjson, instance: others' settings cannot affect us */
        lua_remove(L, -2);
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, -1, "decode");
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, CJSON_DECODE_KEY);
}

int acmpca_json_decode(lua_State *L, const char *s, size_t n)
{
    push_decode(L);
    lua_pushlstring(L, s, n);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ mapping */

static int map_value(lua_State *L, const acmpca_shape *sh, int i);

/*
 * An epoch time as the service sent it: lua-cjson decodes every number as
 * a float, so a whole number becomes an integer again on 5.3+ (and prints
 * as 1700000000, not 1700000000.0); a fraction stays a float.
 */
static void push_number(lua_State *L, lua_Number n)
{
#if LUA_VERSION_NUM >= 503
    if (n >= -9007199254740992.0 && n <= 9007199254740992.0 &&
        n == (lua_Number)(lua_Integer)n) {
        lua_pushinteger(L, (lua_Integer)n);
        return;
    }
#endif
    lua_pushnumber(L, n);
}

static int map_list(lua_State *L, const acmpca_shape *sh, int i)
{
    size_t n = lua_rawlen(L, i), out = 1;
    lua_createtable(L, (int)n, 0);
    for (size_t k = 1; k <= n; k++) {
        compat_rawgeti(L, i, (lua_Integer)k);
        if (map_value(L, sh->item, lua_gettop(L)))
            lua_rawseti(L, -3, (int)out++);
        lua_pop(L, 1);
    }
    return 1;
}

static int map_map(lua_State *L, const acmpca_shape *sh, int i)
{
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, i) != 0) { /* out, k, v */
        if (lua_type(L, -2) == LUA_TSTRING && map_value(L, sh->item, lua_gettop(L))) {
            lua_pushvalue(L, -3);
            lua_insert(L, -2);
            lua_rawset(L, -5); /* out, k, v */
        }
        lua_pop(L, 1);
    }
    return 1;
}

static int map_structure(lua_State *L, const acmpca_shape *sh, int i)
{
    lua_createtable(L, 0, sh->nmembers);
    for (int m = 0; m < sh->nmembers; m++) {
        const acmpca_member *mb = &sh->members[m];
        lua_getfield(L, i, mb->wire);
        if (map_value(L, mb->shape, lua_gettop(L)))
            lua_setfield(L, -3, mb->lua);
        lua_pop(L, 1);
    }
    return 1;
}

/* Push the Lua value of the decoded JSON at i, or push nothing and return 0. */
static int map_value(lua_State *L, const acmpca_shape *sh, int i)
{
    int t = lua_type(L, i);
    luaL_checkstack(L, 8, "acmpca: response nested too deeply");
    switch (sh->type) {
    case ACMPCA_T_STRING:
    case ACMPCA_T_BLOB:
        if (t != LUA_TSTRING)
            return 0;
        lua_pushvalue(L, i);
        return 1;
    case ACMPCA_T_BOOLEAN:
        if (t != LUA_TBOOLEAN)
            return 0;
        lua_pushvalue(L, i);
        return 1;
    case ACMPCA_T_INTEGER:
    case ACMPCA_T_LONG:
    case ACMPCA_T_DOUBLE:
    case ACMPCA_T_TIMESTAMP:
        if (t != LUA_TNUMBER)
            return 0;
        push_number(L, lua_tonumber(L, i));
        return 1;
    case ACMPCA_T_LIST:
        return t == LUA_TTABLE && map_list(L, sh, i);
    case ACMPCA_T_MAP:
        return t == LUA_TTABLE && map_map(L, sh, i);
    case ACMPCA_T_STRUCTURE:
        return t == LUA_TTABLE && map_structure(L, sh, i);
    }
    return 0;
}

void acmpca_json_result(lua_State *L, const acmpca_operation *op, int i)
{
    i = lua_absindex(L, i);
    if (op->output == NULL) {
        lua_pushboolean(L, 1);
        return;
    }
    map_structure(L, op->output, i);
    if (op->paginator != NULL) {
        const acmpca_member *mb = NULL;
        for (int m = 0; m < op->output->nmembers; m++)
            if (strcmp(op->output->members[m].wire, op->paginator->result_key) == 0)
                mb = &op->output->members[m];
        if (mb != NULL && compat_getfield(L, -1, mb->lua) == LUA_TNIL) {
            lua_newtable(L);
            lua_setfield(L, -3, mb->lua);
        }
        if (mb != NULL)
            lua_pop(L, 1);
    }
}
