/*
 * fs_lua.c: the Lua binding of fs.c.
 *
 * Owns core.write_private and core.read_file (the AWS CLI's credential
 * and SSO token caches use them).  Misuse (a non-string, a NUL in a path,
 * a limit out of range) raises naming the function and the argument;
 * failures of the file system return nil, err with err naming the path.
 */
#include <string.h>

#include "compat.h"
#include "core.h"
#include "error.h"
#include "fs.h"

/* read_file's largest limit: the buffer is allocated whole. */
#define READ_MAX_LIMIT (16 * 1024 * 1024)
#define READ_DEFAULT (1024 * 1024)
#define ERR_LEN (ACMPCA_FS_PATH_MAX + 256)

/* ------------------------------------------------------------ arguments */

static const char *check_path(lua_State *L, int i, const char *fname)
{
    size_t len;

    if (lua_type(L, i) != LUA_TSTRING)
        acmpca_raise(L, i, "acmpca.core.%s: path: expected a string", fname);
    const char *p = lua_tolstring(L, i, &len);
    if (len == 0 || strlen(p) != len)
        acmpca_raise(L, 0, "acmpca.core.%s: path: expected a non-empty string without NUL",
                     fname);
    return p;
}

/* ------------------------------------------------------------ functions */

/* write_private(path, data) -> true | nil, err */
static int l_write_private(lua_State *L)
{
    const char *path = check_path(L, 1, "write_private");
    size_t len;
    char err[ERR_LEN];

    if (lua_type(L, 2) != LUA_TSTRING)
        acmpca_raise(L, 2, "acmpca.core.write_private: data: expected a string");
    const char *data = lua_tolstring(L, 2, &len);
    if (acmpca_fs_write_private(path, data, len, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* read_file(path[, max]) -> data | nil, err[, "missing"] */
static int l_read_file(lua_State *L)
{
    const char *path = check_path(L, 1, "read_file");
    lua_Integer max = READ_DEFAULT;
    char err[ERR_LEN];
    size_t len;

    if (!lua_isnoneornil(L, 2)) {
        if (!compat_isinteger(L, 2))
            acmpca_raise(L, 2, "acmpca.core.read_file: max: expected an integer");
        max = (lua_Integer)lua_tonumber(L, 2);
        if (max < 0 || max > READ_MAX_LIMIT)
            acmpca_raise(L, 2, "acmpca.core.read_file: max: expected 0 to %d bytes",
                         READ_MAX_LIMIT);
    }
    /* a GC-owned buffer: nothing to free on any path */
    char *buf = lua_newuserdata(L, max > 0 ? (size_t)max : 1);
    int rc = acmpca_fs_read(path, buf, (size_t)max, &len, err, sizeof err);
    if (rc != ACMPCA_FS_OK) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        if (rc == ACMPCA_FS_MISSING) {
            lua_pushliteral(L, "missing");
            return 3;
        }
        return 2;
    }
    lua_pushlstring(L, buf, len);
    return 1;
}

/* ------------------------------------------------------------ opener */

void acmpca_fs_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"write_private", l_write_private},
        {"read_file", l_read_file},
        {NULL, NULL},
    };
    const luaL_Reg *r;

    for (r = fns; r->name != NULL; r++) {
        lua_pushcfunction(L, r->func); /* t, f */
        lua_setfield(L, -2, r->name);
    }
}
