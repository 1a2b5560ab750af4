/*
 * crypto_lua.c: the Lua binding of crypto.c.
 *
 * Owns the Lua primitives sha256_hex, hmac_sha256 and hex of acmpca.core
 * (re-exported by acmpca.sigv4) and the per-state sentinel that counts a
 * Lua state as a user of the OpenSSL algorithms, so the last state to close
 * frees them.  All hashing is crypto.c's; this file only checks arguments
 * and pushes results.
 */
#include <stdio.h>

#include "compat.h"
#include "core.h"
#include "crypto.h"
#include "error.h"

#define SENTINEL_KEY "acmpca.crypto.sentinel"

/* ------------------------------------------------------------ arguments */

/* The string argument i, or a raised "acmpca.sigv4.fname: what: expected a string, got T". */
static const char *check_str(lua_State *L, int i, const char *fname, const char *what,
                             size_t *len)
{
    if (lua_type(L, i) != LUA_TSTRING)
        acmpca_raise(L, 0, "acmpca.sigv4.%s: %s: expected a string, got %s", fname, what,
                     luaL_typename(L, i));
    return lua_tolstring(L, i, len);
}

/* Raise the OpenSSL failure of fname (nothing malloc'd is held here). */
static int raise_openssl(lua_State *L, const char *fname)
{
    char err[320];

    acmpca_crypto_error(fname, err, sizeof err);
    return acmpca_raise(L, 0, "acmpca.sigv4.%s", err);
}

/* ------------------------------------------------------------ functions */

/* sha256_hex(data) -> 64 lower-case hex digits */
static int l_sha256_hex(lua_State *L)
{
    size_t len;
    const char *data = check_str(L, 1, "sha256_hex", "data", &len);
    unsigned char md[ACMPCA_SHA256_LEN];
    char hex[ACMPCA_SHA256_HEX_LEN];

    if (acmpca_sha256(data, len, md) != 0)
        return raise_openssl(L, "sha256_hex");
    acmpca_hex(md, sizeof md, hex);
    lua_pushlstring(L, hex, sizeof hex);
    return 1;
}

/* hmac_sha256(key, data) -> 32 raw bytes */
static int l_hmac_sha256(lua_State *L)
{
    size_t klen, len;
    const char *key = check_str(L, 1, "hmac_sha256", "key", &klen);
    const char *data = check_str(L, 2, "hmac_sha256", "data", &len);
    unsigned char mac[ACMPCA_SHA256_LEN];

    if (acmpca_hmac_sha256(key, klen, data, len, mac) != 0)
        return raise_openssl(L, "hmac_sha256");
    lua_pushlstring(L, (const char *)mac, sizeof mac);
    return 1;
}

/* hex(bytes) -> lower-case hex, two digits per byte */
static int l_hex(lua_State *L)
{
    size_t len;
    const unsigned char *in = (const unsigned char *)check_str(L, 1, "hex", "bytes", &len);
    char small[256];
    char *out = small;

    /* Long inputs use a GC-owned scratch block (LuaJIT has no buffinitsize). */
    if (2 * len > sizeof small)
        out = lua_newuserdata(L, 2 * len);
    acmpca_hex(in, len, out);
    lua_pushlstring(L, out, 2 * len);
    return 1;
}

/* ------------------------------------------------------------ state lifetime */

/* __gc of the per-state sentinel: the state is closing. */
static int sentinel_gc(lua_State *L)
{
    (void)L;
    acmpca_crypto_unretain();
    return 0;
}

/* One sentinel per state, kept in the registry, counts the state as a user. */
static void sentinel_install(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SENTINEL_KEY); /* s? */
    if (lua_isnil(L, -1)) {
        lua_newuserdata(L, 1); /* nil, s */
        lua_newtable(L);       /* nil, s, mt */
        lua_pushcfunction(L, sentinel_gc);
        lua_setfield(L, -2, "__gc");
        lua_setmetatable(L, -2);                        /* nil, s */
        lua_setfield(L, LUA_REGISTRYINDEX, SENTINEL_KEY); /* nil */
        /* a failure shows later, as an OpenSSL error of the first call */
        (void)acmpca_crypto_retain();
    }
    lua_pop(L, 1);
}

/* ------------------------------------------------------------ opener */

void acmpca_crypto_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "sha256_hex", l_sha256_hex },
        { "hmac_sha256", l_hmac_sha256 },
        { "hex", l_hex },
        { NULL, NULL },
    };
    const luaL_Reg *r;

    for (r = fns; r->name != NULL; r++) {
        lua_pushcfunction(L, r->func); /* t, f */
        lua_setfield(L, -2, r->name);
    }
    sentinel_install(L); /* t */
}
