/*
 * fuzz/response.c: libFuzzer target for the answer path (src/response.c,
 * with json.c's mapping and error.c's objects): one attempt's status,
 * headers and body mapped to a result or an error object, for an
 * operation of the model.
 *
 * Input, split deterministically:
 *   bytes 0-1  the status, big-endian (0xFFF8 and up: a bad status value:
 *              missing, a string, a fraction, 0, 600, 2^32 + 200, NaN, -200)
 *   byte 2     the operation (index into the model, modulo their count)
 *   byte 3     what the transport returned (modulo 5): 0 a response table,
 *              1 the same without headers, 2 a failure string (the body),
 *              3 a failure table {code = first header value, message = body},
 *              4 false and nil
 *   then       the header block up to a NUL: "name: value" lines
 *   then       the body
 *
 * acmpca_response_finish runs under lua_pcall: hostile input must never
 * raise.  Oracles: one result (true or a table) or nil and an
 * "acmpca.error" object with a string code and message, a boolean
 * retryable, the operation's name and the status when there was one; the
 * error's __tostring works; a clock-skew correction is reported in the
 * error.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "lua_harness.h"
#include "model.h"
#include "response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(lua_State *L, const char *what)
{
    lua_pushstring(L, what);
    fuzz_lua_die(L, "response");
}

/* The status field from the two status bytes (pushes one value). */
static int push_status(lua_State *L, unsigned v)
{
    if (v < 0xFFF8) {
        lua_pushinteger(L, (lua_Integer)v);
        return (int)v;
    }
    switch (v - 0xFFF8) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushliteral(L, "200"); break;
    case 2: lua_pushnumber(L, 200.5); break;
    case 3: lua_pushinteger(L, 0); break;
    case 4: lua_pushinteger(L, 600); break;
    case 5: lua_pushnumber(L, 4294967296.0 + 200.0); break;
    case 6: lua_pushnumber(L, NAN); break;
    default: lua_pushinteger(L, -200); break;
    }
    return -1;
}

/* A table of the "name: value" lines of [p, end); the first value replaces index 1. */
static void push_headers(lua_State *L, const char *p, const char *end, int *first)
{
    lua_newtable(L);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *stop = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(stop - p));
        if (colon != NULL) {
            const char *v = colon + 1;
            while (v < stop && *v == ' ')
                v++;
            lua_pushlstring(L, p, (size_t)(colon - p)); /* headers, name */
            lua_pushlstring(L, v, (size_t)(stop - v));  /* headers, name, value */
            if (*first == 0) {
                lua_pushvalue(L, -1);
                lua_replace(L, 1);
                *first = 1;
            }
            lua_settable(L, -3);
        }
        p = eol ? eol + 1 : end;
    }
}

typedef struct call {
    const acmpca_operation *op;
    int64_t offset;
} call;

/* In protected mode: r and e at 1 and 2, the call's state as a light userdata at 3. */
static int finish(lua_State *L)
{
    call *c = lua_touserdata(L, 3);
    return acmpca_response_finish(L, c->op, 1, 2, &c->offset);
}

static void check_error(lua_State *L, int e, const call *c, int status, int mode)
{
    if (lua_type(L, e) != LUA_TTABLE || !lua_getmetatable(L, e))
        die(L, "the error is not a table with a metatable");
    luaL_getmetatable(L, ACMPCA_ERROR_MT);
    if (!lua_rawequal(L, -1, -2))
        die(L, "the error's metatable is not acmpca.error");
    lua_pop(L, 2);
    /*
     * A transport's own code is kept as it is (mode 3 may give ""), the
     * service's must not be empty (it was for an empty X-Amzn-ErrorType:
     * fuzz/crashes-found/response/empty-error-code-header).
     */
    if (compat_getfield(L, e, "code") != LUA_TSTRING || (mode != 3 && lua_rawlen(L, -1) == 0))
        die(L, "the error has no code");
    if (compat_getfield(L, e, "message") != LUA_TSTRING)
        die(L, "the error has no message");
    if (compat_getfield(L, e, "retryable") != LUA_TBOOLEAN)
        die(L, "the error's retryable is not a boolean");
    if (compat_getfield(L, e, "operation") != LUA_TSTRING ||
        strcmp(lua_tostring(L, -1), c->op->name) != 0)
        die(L, "the error names another operation");
    if (status >= 100 && status <= 599 &&
        (compat_getfield(L, e, "status") != LUA_TNUMBER || lua_tointeger(L, -1) != status))
        die(L, "the error lost the status");
    if (compat_getfield(L, e, "clock_skew") == LUA_TBOOLEAN &&
        (compat_getfield(L, e, "clock_offset") != LUA_TNUMBER ||
         lua_tointeger(L, -1) != c->offset))
        die(L, "a clock-skew error without the offset it set");
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, e);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING)
        fuzz_lua_die(L, "tostring(err)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_lua_state();
    const char *p = (const char *)data, *end = p + size, *nul;
    int first = 0, status;
    call c;

    if (size < 4)
        return 0;
    c.op = &acmpca_operations[data[2] % acmpca_noperations];
    c.offset = 0;
    int mode = data[3] % 5;
    p += 4;
    nul = memchr(p, '\0', (size_t)(end - p));
    const char *hend = nul ? nul : end, *body = nul ? nul + 1 : end;

    lua_settop(L, 0);
    lua_pushnil(L); /* 1: the first header value (push_headers replaces it) */
    lua_pushcfunction(L, finish);
    if (mode <= 1) {
        lua_newtable(L); /* r */
        status = push_status(L, (unsigned)data[0] << 8 | data[1]);
        lua_setfield(L, -2, "status");
        push_headers(L, p, hend, &first);
        if (mode == 0)
            lua_setfield(L, -2, "headers");
        else
            lua_pop(L, 1);
        lua_pushlstring(L, body, (size_t)(end - body));
        lua_setfield(L, -2, "body");
        lua_pushnil(L); /* e */
    } else {
        status = -1;
        push_headers(L, p, hend, &first);
        lua_pop(L, 1);
        lua_pushnil(L); /* r */
        if (mode == 2) {
            lua_pushlstring(L, body, (size_t)(end - body));
        } else if (mode == 3) {
            lua_newtable(L);
            lua_pushvalue(L, 1);
            lua_setfield(L, -2, "code");
            lua_pushlstring(L, body, (size_t)(end - body));
            lua_setfield(L, -2, "message");
        } else {
            lua_pop(L, 1);
            lua_pushboolean(L, 0);
            lua_pushnil(L);
        }
    }
    lua_pushlightuserdata(L, &c);
    int base = lua_gettop(L) - 4;
    if (lua_pcall(L, 3, LUA_MULTRET, 0) != LUA_OK)
        fuzz_lua_die(L, "acmpca_response_finish raised");
    int nres = lua_gettop(L) - base;
    if (nres == 1) {
        int t = lua_type(L, -1);
        if (!(t == LUA_TTABLE || (t == LUA_TBOOLEAN && lua_toboolean(L, -1))))
            die(L, "a result that is neither true nor a table");
        if (mode >= 2 || status < 200 || status > 299)
            die(L, "a result for a failure or a non-2xx status");
    } else if (nres == 2) {
        if (!lua_isnil(L, -2))
            die(L, "an error not preceded by nil");
        check_error(L, lua_gettop(L), &c, status, mode);
    } else {
        die(L, "neither 1 nor 2 results");
    }
    fuzz_lua_done(L);
    return 0;
}
