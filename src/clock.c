/*
 * clock.c: core.sleep (blocking, for scripts; nginx uses ngx.sleep) and
 * core.now (monotonic seconds, for deadlines and backoff).
 */
#include <errno.h>
#include <time.h>

#include "compat.h"
#include "core.h"

/* core.sleep(seconds): blocks the thread (nanosleep, restarted on EINTR) */
static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    struct timespec ts, rem;
    if (!(s >= 0 && s <= 86400))
        return luaL_argerror(L, 1, "expected seconds in [0, 86400]");
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;
    return 0;
}

/* core.now() -> monotonic seconds (double) */
static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

void acmpca_clock_open(lua_State *L)
{
    lua_pushcfunction(L, l_sleep);
    lua_setfield(L, -2, "sleep");
    lua_pushcfunction(L, l_now);
    lua_setfield(L, -2, "now");
}
