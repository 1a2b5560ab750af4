/*
 * http_lua.c: the Lua binding of the HTTP engine (http.c).
 *
 * Reads a request table (the transport contract in README.md) into an
 * acmpca_http_req, runs acmpca_http_perform and pushes the response
 * table, or nil and an acmpca.error.  Owns the "acmpca.http" class
 * (core.http_new) that the credential chain uses for its container/IMDS
 * look-ups, and core.transport_defaults, the read-only view of http.h's
 * defaults that acmpca.transport.ngx reads.
 */
#include <stdio.h>
#include <string.h>

#include "compat.h"
#include "core.h"
#include "error.h"
#include "http.h"
#include "http_lua.h"

#define HTTP_MT "acmpca.http"
#define DEFAULTS_MT "acmpca.transport_defaults"

/* ---------------------------------------------------------- request table */

/* The string field k of req, pushed and left on the stack (nil when absent). */
static acmpca_str opt_string(lua_State *L, int req, const char *k, int arg)
{
    char msg[64];
    acmpca_str s = {NULL, 0};
    int ty = compat_getfield(L, req, k); /* ..., v */
    if (ty == LUA_TSTRING) {
        s.p = lua_tolstring(L, -1, &s.n);
    } else if (ty != LUA_TNIL) {
        snprintf(msg, sizeof msg, "%s: expected a string", k);
        luaL_argerror(L, arg, msg);
    }
    return s;
}

static double opt_number(lua_State *L, int req, const char *k)
{
    double v = 0;
    if (compat_getfield(L, req, k) == LUA_TNUMBER)
        v = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The value on top as a string kept alive: numbers are converted into the
 * anchor table at index *anchors (made on first use, below key and value). */
static acmpca_str header_value(lua_State *L, int *anchors, int n)
{
    acmpca_str v;
    if (lua_type(L, -1) == LUA_TSTRING) {
        v.p = lua_tolstring(L, -1, &v.n);
        return v;
    }
    if (*anchors == 0) {
        lua_newtable(L);  /* headers, k, v, anchors */
        lua_insert(L, -3); /* headers, anchors, k, v */
        *anchors = lua_absindex(L, -3);
    }
    lua_pushvalue(L, -1); /* ..., k, v, v: tolstring on a copy, never the table's */
    v.p = lua_tolstring(L, -1, &v.n);
    lua_rawseti(L, *anchors, n + 1); /* ..., k, v */
    return v;
}

/*
 * req.headers into f (ACMPCA_HTTP_MAX_HEADERS + 1 at most: the engine
 * refuses more).  Leaves the headers table (or nil), and the anchor table
 * when one was needed, on the stack.  Returns the count kept.
 */
static size_t read_headers(lua_State *L, int req, int arg, acmpca_http_field *f)
{
    size_t n = 0;
    int t, anchors = 0;
    int ty = compat_getfield(L, req, "headers"); /* headers */
    if (ty == LUA_TNIL)
        return 0;
    if (ty != LUA_TTABLE)
        luaL_argerror(L, arg, "headers: expected a table");
    t = lua_gettop(L);
    lua_pushnil(L);                   /* headers, nil */
    while (lua_next(L, t) != 0) {     /* headers, [anchors,] k, v */
        int vt = lua_type(L, -1);
        if (lua_type(L, -2) != LUA_TSTRING || (vt != LUA_TSTRING && vt != LUA_TNUMBER))
            luaL_argerror(L, arg, "headers: names and values must be strings");
        if (n <= ACMPCA_HTTP_MAX_HEADERS) {
            f[n].name.p = lua_tolstring(L, -2, &f[n].name.n);
            f[n].value = header_value(L, &anchors, (int)n);
            n++;
        }
        lua_pop(L, 1); /* headers, [anchors,] k */
    }
    return n;
}

/*
 * The request table at req into r.  url, method and body stay on the
 * stack until the caller returns: req may hand out fresh strings (an
 * __index), and reading the headers can run the GC.
 */
void acmpca_http_read_request(lua_State *L, int req, int arg, acmpca_http_req *r,
                              acmpca_http_field *fields)
{
    r->url = opt_string(L, req, "url", arg); /* url */
    if (r->url.p == NULL)
        luaL_argerror(L, arg, "url: expected a string");
    r->method = opt_string(L, req, "method", arg); /* url, method */
    r->body = opt_string(L, req, "body", arg);     /* url, method, body */
    r->timeout = opt_number(L, req, "timeout");
    r->connect_timeout = opt_number(L, req, "connect_timeout");
    r->headers = fields;
    r->nheaders = read_headers(L, req, arg, fields); /* ..., headers[, anchors] */
}

/* ------------------------------------------------------------ results */

/* res { status, headers, body } */
void acmpca_http_push_response(lua_State *L, const acmpca_http_resp *res)
{
    lua_createtable(L, 0, 3); /* res */
    lua_pushinteger(L, (lua_Integer)res->status);
    lua_setfield(L, -2, "status");
    lua_createtable(L, 0, (int)res->nheaders); /* res, headers */
    for (size_t i = 0; i < res->nheaders; i++) {
        const acmpca_http_field *f = &res->headers[i];
        lua_pushlstring(L, f->name.p, f->name.n);
        lua_pushlstring(L, f->value.p, f->value.n);
        lua_rawset(L, -3); /* names are unique: no lookup, no join here */
    }
    lua_setfield(L, -2, "headers"); /* res */
    lua_pushlstring(L, res->body.p, res->body.n);
    lua_setfield(L, -2, "body");
}

int acmpca_http_request(lua_State *L, acmpca_http *h, int req, int arg)
{
    acmpca_http_field fields[ACMPCA_HTTP_MAX_HEADERS + 1];
    acmpca_http_req r;
    acmpca_http_resp res;
    acmpca_http_error err;

    req = lua_absindex(L, req);
    luaL_checktype(L, req, LUA_TTABLE);
    acmpca_http_read_request(L, req, arg, &r, fields);
    switch (acmpca_http_perform(h, &r, &res, &err)) {
    case ACMPCA_HTTP_OK:
        acmpca_http_push_response(L, &res);
        acmpca_http_done(h);
        return 1;
    case ACMPCA_HTTP_BADREQ:
        return luaL_argerror(L, arg, err.message);
    default:
        lua_pushnil(L);
        acmpca_error_push(L, err.code, err.message, 0, NULL, err.retryable, NULL);
        return 2;
    }
}

/* ------------------------------------------------- the acmpca.http class */

typedef struct http_ud {
    acmpca_http h;
    int closed;
} http_ud;

static http_ud *check_http(lua_State *L)
{
    http_ud *u = luaL_checkudata(L, 1, HTTP_MT);
    if (u->closed)
        luaL_argerror(L, 1, "acmpca.http: object is closed");
    return u;
}

static double opt_seconds(lua_State *L, int t, const char *field)
{
    char msg[128];
    double v = 0;
    int ty = compat_getfield(L, t, field);
    if (ty == LUA_TNUMBER) {
        v = lua_tonumber(L, -1);
        if (!(v > 0 && v <= 86400)) {
            snprintf(msg, sizeof msg, "%s: expected seconds in (0, 86400]", field);
            return luaL_argerror(L, 1, msg);
        }
    } else if (ty != LUA_TNIL) {
        snprintf(msg, sizeof msg, "%s: expected a number of seconds", field);
        return luaL_argerror(L, 1, msg);
    }
    lua_pop(L, 1);
    return v;
}

/* core.http_new([opts]) -> http; opts: timeout, connect_timeout, ca_file */
static int l_http_new(lua_State *L)
{
    double timeout = 0, connect_timeout = 0;
    const char *ca_file = NULL;
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        timeout = opt_seconds(L, 1, "timeout");
        connect_timeout = opt_seconds(L, 1, "connect_timeout");
        /* opts, ca_file: kept on the stack until copied */
        int ty = compat_getfield(L, 1, "ca_file");
        if (ty == LUA_TSTRING) {
            size_t n;
            ca_file = lua_tolstring(L, -1, &n);
            if (strlen(ca_file) != n)
                return luaL_argerror(L, 1, "ca_file: contains NUL");
        } else if (ty != LUA_TNIL) {
            return luaL_argerror(L, 1, "ca_file: expected a string");
        }
    }
    /* userdata first, so __gc sees either nothing or a valid handle */
    http_ud *u = compat_newuserdata(L, sizeof *u);
    acmpca_http_init(&u->h);
    u->closed = 0;
    luaL_getmetatable(L, HTTP_MT);
    lua_setmetatable(L, -2);
    if (acmpca_http_configure(&u->h, ca_file, timeout, connect_timeout) != 0)
        return luaL_error(L, "acmpca.http_new: out of memory");
    return 1; /* the userdata, on top */
}

/* http:request(req) -> res | nil, err */
static int l_http_request(lua_State *L)
{
    http_ud *u = check_http(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    return acmpca_http_request(L, &u->h, 2, 2);
}

/* __gc, __close and close(): one idempotent function. */
static int l_http_close(lua_State *L)
{
    http_ud *u = luaL_checkudata(L, 1, HTTP_MT);
    acmpca_http_free(&u->h);
    u->closed = 1;
    return 0;
}

static int l_http_tostring(lua_State *L)
{
    http_ud *u = luaL_checkudata(L, 1, HTTP_MT);
    lua_pushfstring(L, "acmpca.http (%s)", u->closed ? "closed" : "open");
    return 1;
}

/* ------------------------------------------------ core.transport_defaults */

/*
 * A userdata proxy: every read comes from http.h's constants, a write
 * raises, and getmetatable hides the metatable, so nothing a user does to
 * it changes what the transports use.  defaults() (or pairs on Lua 5.4)
 * gives a fresh table.
 */
static const struct {
    const char *name;
    double value;
} DEFAULTS[] = {
    {"timeout", ACMPCA_HTTP_TIMEOUT},
    {"connect_timeout", ACMPCA_HTTP_CONNECT_TIMEOUT},
    {"max_body", (double)ACMPCA_HTTP_MAX_BODY},
    {"max_header_bytes", (double)ACMPCA_HTTP_MAX_HEADER_BYTES},
    {"max_header_lines", (double)ACMPCA_HTTP_MAX_HEADER_LINES},
    {"keepalive_timeout", ACMPCA_HTTP_KEEPALIVE_TIMEOUT},
    {"pool_size", (double)ACMPCA_HTTP_POOL_SIZE},
};
#define NDEFAULTS (sizeof DEFAULTS / sizeof DEFAULTS[0])

/* Whole numbers as integers (30, not 30.0, on Lua 5.4). */
static void push_figure(lua_State *L, double v)
{
    if (v == (double)(lua_Integer)v)
        lua_pushinteger(L, (lua_Integer)v);
    else
        lua_pushnumber(L, (lua_Number)v);
}

static void push_defaults_table(lua_State *L)
{
    lua_createtable(L, 0, (int)NDEFAULTS);
    for (size_t i = 0; i < NDEFAULTS; i++) {
        push_figure(L, DEFAULTS[i].value);
        lua_setfield(L, -2, DEFAULTS[i].name);
    }
}

static int l_defaults_index(lua_State *L)
{
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";
    for (size_t i = 0; i < NDEFAULTS; i++) {
        if (strcmp(k, DEFAULTS[i].name) == 0) {
            push_figure(L, DEFAULTS[i].value);
            return 1;
        }
    }
    lua_pushnil(L);
    return 1;
}

static int l_defaults_newindex(lua_State *L)
{
    return acmpca_raise(L, 0, "acmpca.core.transport_defaults: read-only (the defaults "
                              "are http.h's; pass options to the transport instead)");
}

/* defaults() -> a fresh table; __pairs iterates one */
static int l_defaults_call(lua_State *L)
{
    push_defaults_table(L);
    return 1;
}

static int l_defaults_pairs(lua_State *L)
{
    lua_getglobal(L, "next");
    push_defaults_table(L);
    lua_pushnil(L);
    return 3;
}

static int l_defaults_tostring(lua_State *L)
{
    lua_pushliteral(L, "acmpca.core.transport_defaults");
    return 1;
}

/* core.transport_defaults, the proxy, added to the module on top. */
static void open_defaults(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__index", l_defaults_index},   {"__newindex", l_defaults_newindex},
        {"__call", l_defaults_call},     {"__pairs", l_defaults_pairs},
        {"__tostring", l_defaults_tostring}, {NULL, NULL},
    };
    lua_newuserdata(L, 1); /* M, proxy */
    luaL_newmetatable(L, DEFAULTS_MT); /* M, proxy, mt */
    for (const luaL_Reg *r = meta; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable"); /* getmetatable(proxy) is false */
    lua_setmetatable(L, -2);            /* M, proxy */
    lua_setfield(L, -2, "transport_defaults");
}

/* ----------------------------------------------------------------- opener */

void acmpca_http_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"request", l_http_request},
        {"close", l_http_close},
        {NULL, NULL},
    };
    acmpca_http_global_init(); /* a failure shows on the first request */

    luaL_newmetatable(L, HTTP_MT); /* M, mt */
    lua_newtable(L);               /* M, mt, index */
    for (const luaL_Reg *r = methods; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_http_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_http_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_http_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1); /* M */

    lua_pushcfunction(L, l_http_new);
    lua_setfield(L, -2, "http_new");
    open_defaults(L);
}
