/*
 * compat.h: the one Lua-version shim of acmpca.core.
 *
 * The same sources build against Lua 5.4 and LuaJIT 2.1 (the Lua 5.1 ABI
 * that OpenResty runs).  Everything that differs between the two lives
 * here, keyed on LUA_VERSION_NUM, so no other file needs an #if on it.
 */
#ifndef ACMPCA_COMPAT_H
#define ACMPCA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "visibility.h"

#if LUA_VERSION_NUM == 501
/* ---------------------------------------------------------- Lua 5.1/LuaJIT */
#ifndef LUA_OK
#define LUA_OK 0
#endif

#define lua_rawlen(L, i) lua_objlen((L), (i))

static inline int compat_absindex(lua_State *L, int i)
{
    return (i > 0 || i <= LUA_REGISTRYINDEX) ? i : lua_gettop(L) + i + 1;
}
#define lua_absindex(L, i) compat_absindex((L), (i))

/* lua_getfield/lua_rawgeti return the value's type from 5.3 on. */
static inline int compat_getfield(lua_State *L, int i, const char *k)
{
    lua_getfield(L, i, k);
    return lua_type(L, -1);
}
static inline int compat_rawgeti(lua_State *L, int i, lua_Integer n)
{
    lua_rawgeti(L, i, (int)n);
    return lua_type(L, -1);
}

/* An integer-valued number (5.1 has no integer subtype). */
static inline int compat_isinteger(lua_State *L, int i)
{
    if (lua_type(L, i) != LUA_TNUMBER)
        return 0;
    lua_Number n = lua_tonumber(L, i);
    /* range first: casting NaN or a huge double to an integer is undefined */
    return n >= -9007199254740992.0 && n <= 9007199254740992.0 &&
           n == (lua_Number)(long long)n;
}

/* The per-userdata Lua value: the environment table in 5.1. */
static inline void compat_setuservalue(lua_State *L, int i)
{
    lua_setfenv(L, i);
}
static inline int compat_getuservalue(lua_State *L, int i)
{
    lua_getfenv(L, i);
    return lua_type(L, -1);
}

#else
/* ------------------------------------------------------------- Lua 5.3/5.4 */
#define compat_getfield(L, i, k) lua_getfield((L), (i), (k))
#define compat_rawgeti(L, i, n) lua_rawgeti((L), (i), (n))
#define compat_isinteger(L, i) lua_isinteger((L), (i))
#define compat_setuservalue(L, i) lua_setiuservalue((L), (i), 1)
#define compat_getuservalue(L, i) lua_getiuservalue((L), (i), 1)

#endif

/*
 * Userdata with one user value (5.4 needs it declared at creation; 5.1's
 * environment slot always exists).
 */
static inline void *compat_newuserdata(lua_State *L, size_t size)
{
#if LUA_VERSION_NUM >= 504
    return lua_newuserdatauv(L, size, 1);
#else
    return lua_newuserdata(L, size);
#endif
}

#endif /* ACMPCA_COMPAT_H */
