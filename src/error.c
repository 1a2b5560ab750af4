/*
 * error.c: the "acmpca.error" objects (constructor, metatable, __tostring)
 * and the one misuse-raising helper of acmpca.core.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compat.h"
#include "error.h"

/* -------------------------------------------------------------- objects */

void acmpca_error_push(lua_State *L, const char *code, const char *message, int status,
                       const char *request_id, int retryable, const char *operation)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    if (message != NULL) {
        lua_pushstring(L, message);
        lua_setfield(L, -2, "message");
    }
    if (status > 0) {
        lua_pushinteger(L, status);
        lua_setfield(L, -2, "status");
    }
    if (request_id != NULL) {
        lua_pushstring(L, request_id);
        lua_setfield(L, -2, "request_id");
    }
    lua_pushboolean(L, retryable);
    lua_setfield(L, -2, "retryable");
    if (operation != NULL) {
        lua_pushstring(L, operation);
        lua_setfield(L, -2, "operation");
    }
    luaL_getmetatable(L, ACMPCA_ERROR_MT);
    lua_setmetatable(L, -2);
}

void acmpca_error_adopt(lua_State *L, int i)
{
    i = lua_absindex(L, i);
    if (lua_getmetatable(L, i)) {
        lua_pop(L, 1);
        return;
    }
    luaL_getmetatable(L, ACMPCA_ERROR_MT);
    lua_setmetatable(L, i);
}

/* "Code: message (HTTP 400, request id X)" */
static int l_error_tostring(lua_State *L)
{
    luaL_Buffer b;
    int has_status, has_rid;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "message");
    has_status = compat_getfield(L, 1, "status") == LUA_TNUMBER;
    has_rid = compat_getfield(L, 1, "request_id") == LUA_TSTRING;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "Error");
    if (lua_type(L, 3) == LUA_TSTRING) {
        luaL_addstring(&b, ": ");
        luaL_addstring(&b, lua_tostring(L, 3));
    }
    if (has_status || has_rid) {
        char tail[96];
        if (has_status && has_rid)
            snprintf(tail, sizeof tail, " (HTTP %d, request id ", (int)lua_tointeger(L, 4));
        else if (has_status)
            snprintf(tail, sizeof tail, " (HTTP %d)", (int)lua_tointeger(L, 4));
        else
            snprintf(tail, sizeof tail, " (request id ");
        luaL_addstring(&b, tail);
        if (has_rid) {
            luaL_addstring(&b, lua_tostring(L, 5));
            luaL_addchar(&b, ')');
        }
    }
    luaL_pushresult(&b);
    return 1;
}

/* core.new_error(fields) -> error object (a copy of fields) */
static int l_new_error(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (compat_getfield(L, 1, "code") != LUA_TSTRING)
        return luaL_argerror(L, 1, "code: expected a string");
    lua_pop(L, 1);
    lua_newtable(L); /* fields, err */
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) { /* fields, err, k, v */
        lua_pushvalue(L, -2);
        lua_insert(L, -2); /* fields, err, k, k, v */
        lua_rawset(L, 2);  /* fields, err, k */
    }
    lua_getfield(L, 2, "retryable");
    if (lua_isnil(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, 2, "retryable");
    }
    lua_pop(L, 1);
    luaL_getmetatable(L, ACMPCA_ERROR_MT);
    lua_setmetatable(L, 2);
    return 1;
}

/* -------------------------------------------------------------- misuse */

void acmpca_describe(lua_State *L, int i, char *out, size_t outlen)
{
    switch (lua_type(L, i)) {
    case LUA_TSTRING: {
        size_t n, j, k = 0;
        const char *s = lua_tolstring(L, i, &n);
        char tmp[72];
        for (j = 0; j < n && k < 60; j++) {
            unsigned char ch = (unsigned char)s[j];
            tmp[k++] = (ch >= 32 && ch < 127 && ch != '"') ? (char)ch : '?';
        }
        tmp[k] = '\0';
        snprintf(out, outlen, "\"%s\"%s", tmp, j < n ? "..." : "");
        break;
    }
    case LUA_TNUMBER:
        snprintf(out, outlen, "%.17g", (double)lua_tonumber(L, i));
        break;
    case LUA_TBOOLEAN:
        snprintf(out, outlen, "%s", lua_toboolean(L, i) ? "true" : "false");
        break;
    default:
        snprintf(out, outlen, "%s", luaL_typename(L, i));
    }
}

int acmpca_raise(lua_State *L, int vi, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    size_t n;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg - 100, fmt, ap);
    va_end(ap);
    if (vi != 0) {
        n = strlen(msg);
        memcpy(msg + n, ", got ", 6);
        acmpca_describe(L, vi, msg + n + 6, sizeof msg - n - 6);
    }
    lua_pushstring(L, msg);
    return lua_error(L);
}

/* -------------------------------------------------------------- excerpts */

size_t acmpca_excerpt(const char *s, size_t n, size_t max, char *out, size_t outlen)
{
    size_t k = 0, j;
    if (outlen == 0)
        return 0;
    for (j = 0; j < n && j < max && k + 4 < outlen; j++) {
        unsigned char ch = (unsigned char)s[j];
        out[k++] = (ch == '\r' || ch == '\n' || ch == '\t') ? ' '
                   : (ch >= 32 && ch < 127)                 ? (char)ch
                                                            : '?';
    }
    if (j < n && k + 4 <= outlen) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return k;
}

/* core.excerpt(s[, max]) -> printable excerpt of at most max (200) bytes */
static int l_excerpt(lua_State *L)
{
    char out[ACMPCA_EXCERPT_MAX + 8];
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_Integer max = luaL_optinteger(L, 2, ACMPCA_EXCERPT_MAX);
    if (max < 1 || max > ACMPCA_EXCERPT_MAX)
        return luaL_argerror(L, 2, "expected 1 to 200");
    lua_pushlstring(L, out, acmpca_excerpt(s, n, (size_t)max, out, sizeof out));
    return 1;
}

/* -------------------------------------------------------------- opener */

void acmpca_error_open(lua_State *L)
{
    luaL_newmetatable(L, ACMPCA_ERROR_MT); /* M, emt */
    lua_pushcfunction(L, l_error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_new_error);
    lua_setfield(L, -2, "new_error");
    lua_pushcfunction(L, l_excerpt);
    lua_setfield(L, -2, "excerpt");
}
