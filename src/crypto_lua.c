/*
 * crypto_lua.c: the Lua binding of crypto.c.
 *
 * Owns the Lua primitives sha256_hex, sha1_hex, hmac_sha256 and hex of
 * acmpca.core (all but sha1_hex re-exported by acmpca.sigv4).  All hashing
 * is crypto.c's; this file only checks arguments and pushes results.
 */
#include "compat.h"
#include "core.h"
#include "crypto.h"
#include "error.h"

/* ------------------------------------------------------------ arguments */

/* The string argument i, or a raised "acmpca.sigv4.fname: what: expected a string, got T". */
static const char *check_str(lua_State *L, int i, const char *fname, const char *what, size_t *len)
{
    if (lua_type(L, i) != LUA_TSTRING)
        acmpca_raise(L, 0, "acmpca.sigv4.%s: %s: expected a string, got %s", fname, what,
                     luaL_typename(L, i));
    return lua_tolstring(L, i, len);
}

/* ------------------------------------------------------------ functions */

/* sha256_hex(data) -> 64 lower-case hex digits */
static int l_sha256_hex(lua_State *L)
{
    size_t len;
    const char *data = check_str(L, 1, "sha256_hex", "data", &len);
    unsigned char md[ACMPCA_SHA256_LEN];
    char hex[ACMPCA_SHA256_HEX_LEN];

    acmpca_sha256(data, len, md);
    acmpca_hex(md, sizeof md, hex);
    lua_pushlstring(L, hex, sizeof hex);
    return 1;
}

/* sha1_hex(data) -> 40 lower-case hex digits (cache file names) */
static int l_sha1_hex(lua_State *L)
{
    size_t len;
    const char *data = check_str(L, 1, "sha1_hex", "data", &len);
    unsigned char md[ACMPCA_SHA1_LEN];
    char hex[2 * ACMPCA_SHA1_LEN];

    acmpca_sha1(data, len, md);
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

    acmpca_hmac_sha256(key, klen, data, len, mac);
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

/* ------------------------------------------------------------ opener */

void acmpca_crypto_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sha256_hex", l_sha256_hex},
        {"sha1_hex", l_sha1_hex},
        {"hmac_sha256", l_hmac_sha256},
        {"hex", l_hex},
        {NULL, NULL},
    };
    const luaL_Reg *r;

    for (r = fns; r->name != NULL; r++) {
        lua_pushcfunction(L, r->func); /* t, f */
        lua_setfield(L, -2, r->name);
    }
}
