/*
 * fuzz/lua_harness.h: the Lua 5.4 state shared by the Lua-facing fuzz
 * targets (response.c, validate.c).
 *
 * One state per process, made on the first input: the standard
 * libraries, acmpca.core opened from this binary (luaopen_acmpca_core,
 * registered as package.loaded["acmpca.core"]) and package.cpath pointed
 * at the system's lua-cjson, which json.c loads with require "cjson" as in
 * production (that module is not instrumented).  FUZZ_LUA_CPATH in the
 * environment overrides the path.
 */
#ifndef ACMPCA_FUZZ_LUA_HARNESS_H
#define ACMPCA_FUZZ_LUA_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

#include "compat.h"
#include "core.h"

#define FUZZ_LUA_CPATH "/usr/lib/x86_64-linux-gnu/lua/5.4/?.so"

static void fuzz_lua_die(lua_State *L, const char *what)
{
    fprintf(stderr, "fuzz: %s: %s\n", what,
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)");
    abort();
}

/*
 * The process's state (made once); its stack is empty on return.  Each
 * input ends with fuzz_lua_done, a full collection, so an input frees what
 * it allocated: libFuzzer then has no reason to run LeakSanitizer after
 * every input (which made these targets 100 times slower).
 */
static lua_State *fuzz_lua_state(void)
{
    static lua_State *L;
    const char *cpath = getenv("FUZZ_LUA_CPATH");
    if (L != NULL) {
        lua_settop(L, 0);
        return L;
    }
    L = luaL_newstate();
    if (L == NULL)
        abort();
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushstring(L, cpath ? cpath : FUZZ_LUA_CPATH);
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    luaL_requiref(L, "acmpca.core", luaopen_acmpca_core, 0);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        fuzz_lua_die(L, "require \"cjson\"");
    lua_settop(L, 0);
    return L;
}

/* The end of an input: an empty stack and no garbage left. */
static void fuzz_lua_done(lua_State *L)
{
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
}

#endif
