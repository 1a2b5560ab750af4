/*
 * core.h: the openers of each area of acmpca.core.
 *
 * Each takes the module table on top of the stack, adds its functions and
 * metatables, and leaves the stack as it found it.
 */
#ifndef ACMPCA_CORE_H
#define ACMPCA_CORE_H

#include "compat.h"

#define ACMPCA_VERSION "0.2.0"

ACMPCA_HIDDEN void acmpca_crypto_open(lua_State *L);
ACMPCA_HIDDEN void acmpca_sigv4_open(lua_State *L);
ACMPCA_HIDDEN void acmpca_http_open(lua_State *L);
ACMPCA_HIDDEN void acmpca_client_open(lua_State *L);
ACMPCA_HIDDEN void acmpca_clock_open(lua_State *L);
ACMPCA_HIDDEN void acmpca_model_open(lua_State *L);
ACMPCA_HIDDEN void acmpca_xml_open(lua_State *L);
ACMPCA_HIDDEN void acmpca_fs_open(lua_State *L);

ACMPCA_API int luaopen_acmpca_core(lua_State *L);

#endif
