/*
 * core.c: the entry point of acmpca.core and nothing else.
 *
 * Each area of the module owns one source file and one acmpca_xxx_open()
 * that adds its functions to the module table on top of the stack
 * (luasocket's layout).  luaopen_acmpca_core is the only exported symbol.
 */
#include "compat.h"
#include "core.h"
#include "arn.h"
#include "error.h"
#include "multi.h"

ACMPCA_API int luaopen_acmpca_core(lua_State *L)
{
    lua_newtable(L);
    acmpca_error_open(L); /* first: every other area pushes errors */
    acmpca_crypto_open(L);
    acmpca_sigv4_open(L);
    acmpca_http_open(L);
    acmpca_multi_open(L);
    acmpca_client_open(L);
    acmpca_clock_open(L);
    acmpca_model_open(L);
    acmpca_arn_open(L);
    acmpca_xml_open(L);
    acmpca_fs_open(L);
    lua_pushliteral(L, ACMPCA_VERSION);
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
