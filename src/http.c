/* http.c: placeholder opener; the real implementation replaces this file. */
#include "compat.h"
#include "core.h"

void acmpca_http_open(lua_State *L)
{
    (void)L;
}
