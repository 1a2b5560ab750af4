/*
 * multi_lua.c: the Lua binding of the multi engine (multi.c), the
 * "acmpca.multi" class made by core.http_multi.
 *
 *   local m = core.http_multi{ connections = 8, timeout =, connect_timeout =, ca_file = }
 *   local id = m:start(req)          -- id | nil, err; raises on a malformed req
 *   local id, res, err = m:wait(t)   -- id, res | id, nil, err | nil
 *   m:active(), m:close()
 *
 * Request and response tables go through http_lua.c's reader and pusher,
 * so they are exactly http:request's; errors are acmpca.error objects.
 */
#include <string.h>

#include "compat.h"
#include "error.h"
#include "http_lua.h"
#include "multi.h"

#define MULTI_MT "acmpca.multi"
#define NEW "acmpca.http_multi: "

typedef struct multi_ud {
    acmpca_multi m;
    int closed;
} multi_ud;

/* --------------------------------------------------------------- options */

/* opts.connections: a whole number in [1, 256] (8.0 counts, on 5.4 too). */
static int opt_connections(lua_State *L)
{
    int n = ACMPCA_MULTI_CONNECTIONS;
    int ty = compat_getfield(L, 1, "connections"); /* opts, v */
    if (ty != LUA_TNIL) {
        lua_Number v = ty == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        /* range first: casting NaN or a huge number to int is undefined */
        if (!(v >= 1 && v <= ACMPCA_MULTI_MAX_CONNECTIONS) || v != (lua_Number)(int)v)
            acmpca_raise(L, lua_gettop(L), NEW "connections: expected an integer from 1 to %d",
                         ACMPCA_MULTI_MAX_CONNECTIONS);
        n = (int)v;
    }
    lua_pop(L, 1);
    return n;
}

/* opts[field]: seconds in (0, 86400], as core.http_new takes them; 0 when absent. */
static double opt_seconds(lua_State *L, const char *field)
{
    double v = 0;
    int ty = compat_getfield(L, 1, field); /* opts, v */
    if (ty != LUA_TNIL) {
        v = ty == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1;
        if (!(v > 0 && v <= 86400))
            acmpca_raise(L, lua_gettop(L), NEW "%s: expected seconds in (0, 86400]", field);
    }
    lua_pop(L, 1);
    return v;
}

/* opts.ca_file, left on the stack (NULL when absent) until it is copied. */
static const char *opt_ca_file(lua_State *L)
{
    size_t n;
    const char *s;
    int ty = compat_getfield(L, 1, "ca_file"); /* opts, ca_file */
    if (ty == LUA_TNIL)
        return NULL;
    s = ty == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    if (s == NULL || strlen(s) != n) /* curl would read up to the NUL */
        acmpca_raise(L, lua_gettop(L), NEW "ca_file: expected a string without NUL");
    return s;
}

/* ----------------------------------------------------------------- class */

/* core.http_multi([opts]) -> multi */
static int l_new(lua_State *L)
{
    int connections = ACMPCA_MULTI_CONNECTIONS;
    double timeout = 0, connect_timeout = 0;
    const char *ca_file = NULL, *why;
    if (!lua_isnoneornil(L, 1)) {
        if (lua_type(L, 1) != LUA_TTABLE)
            return acmpca_raise(L, 1, NEW "opts: expected a table");
        connections = opt_connections(L);
        timeout = opt_seconds(L, "timeout");
        connect_timeout = opt_seconds(L, "connect_timeout");
        ca_file = opt_ca_file(L); /* opts[, ca_file] */
    }
    /* userdata first, so __gc sees either nothing or a valid multi */
    multi_ud *u = compat_newuserdata(L, sizeof *u);
    acmpca_multi_init(&u->m);
    u->closed = 0;
    luaL_getmetatable(L, MULTI_MT);
    lua_setmetatable(L, -2);
    why = acmpca_multi_setup(&u->m, connections, ca_file, timeout, connect_timeout);
    if (why != NULL) {
        acmpca_multi_free(&u->m);
        u->closed = 1;
        return acmpca_raise(L, 0, NEW "%s", why);
    }
    return 1; /* the userdata, on top */
}

static multi_ud *check_open(lua_State *L, const char *method)
{
    multi_ud *u = luaL_checkudata(L, 1, MULTI_MT);
    if (u->closed)
        acmpca_raise(L, 0, "acmpca.multi:%s: the multi is closed", method);
    return u;
}

/* m:start(req) -> id | nil, err */
static int l_start(lua_State *L)
{
    acmpca_http_field fields[ACMPCA_HTTP_MAX_HEADERS + 1];
    acmpca_http_req r;
    acmpca_http_error err;
    int64_t id;
    multi_ud *u = check_open(L, "start");
    luaL_checktype(L, 2, LUA_TTABLE);
    acmpca_http_read_request(L, 2, 2, &r, fields); /* m, req, url, method, body, ... */
    switch (acmpca_multi_start(&u->m, &r, &id, &err)) {
    case ACMPCA_HTTP_OK:
        lua_pushinteger(L, (lua_Integer)id);
        return 1;
    case ACMPCA_HTTP_BADREQ:
        return luaL_argerror(L, 2, err.message);
    case ACMPCA_MULTI_BUSY:
        return acmpca_raise(L, 0, "acmpca.multi:start: all %d connections are busy", u->m.nslots);
    default:
        lua_pushnil(L);
        acmpca_error_push(L, err.code, err.message, 0, NULL, err.retryable, NULL);
        return 2;
    }
}

/* m:wait([timeout]) -> id, res | id, nil, err | nil | nil, err (the multi failed) */
static int l_wait(lua_State *L)
{
    acmpca_http_resp res;
    acmpca_http_error err;
    int64_t id;
    double timeout = 0;
    multi_ud *u = check_open(L, "wait");
    if (!lua_isnoneornil(L, 2)) {
        timeout = lua_type(L, 2) == LUA_TNUMBER ? (double)lua_tonumber(L, 2) : -1;
        if (!(timeout >= 0)) /* NaN too */
            return acmpca_raise(L, 2, "acmpca.multi:wait: timeout: expected seconds >= 0");
    }
    switch (acmpca_multi_wait(&u->m, timeout, &id, &res, &err)) {
    case ACMPCA_MULTI_NONE:
        lua_pushnil(L);
        return 1;
    case ACMPCA_HTTP_OK:
        lua_pushinteger(L, (lua_Integer)id);
        acmpca_http_push_response(L, &res);
        acmpca_multi_done(&u->m);
        return 2;
    default:
        if (id != 0)
            lua_pushinteger(L, (lua_Integer)id);
        lua_pushnil(L);
        acmpca_error_push(L, err.code, err.message, 0, NULL, err.retryable, NULL);
        return id != 0 ? 3 : 2;
    }
}

/* m:active() -> transfers started and not yet handed out by wait */
static int l_active(lua_State *L)
{
    multi_ud *u = check_open(L, "active");
    lua_pushinteger(L, u->m.active);
    return 1;
}

/* __gc, __close and close(): one idempotent function. */
static int l_close(lua_State *L)
{
    multi_ud *u = luaL_checkudata(L, 1, MULTI_MT);
    acmpca_multi_free(&u->m);
    u->closed = 1;
    return 0;
}

static int l_tostring(lua_State *L)
{
    multi_ud *u = luaL_checkudata(L, 1, MULTI_MT);
    if (u->closed)
        lua_pushliteral(L, "acmpca.multi (closed)");
    else
        lua_pushfstring(L, "acmpca.multi (%d connections, %d active)", u->m.nslots, u->m.active);
    return 1;
}

/* ----------------------------------------------------------------- opener */

void acmpca_multi_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"start", l_start}, {"wait", l_wait}, {"active", l_active},
        {"close", l_close}, {NULL, NULL},
    };
    luaL_newmetatable(L, MULTI_MT); /* M, mt */
    lua_newtable(L);                /* M, mt, index */
    for (const luaL_Reg *r = methods; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1); /* M */

    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "http_multi");
}
