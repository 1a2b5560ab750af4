/*
 * visibility.h: which symbols leave the shared object.
 *
 * Only luaopen_* is exported; every other function of acmpca.core is
 * hidden.  Kept apart from compat.h so the Lua-free layers (signer, HTTP
 * engine, crypto) can use it without including a Lua header.
 */
#ifndef ACMPCA_VISIBILITY_H
#define ACMPCA_VISIBILITY_H

#if defined(__GNUC__)
#define ACMPCA_API __attribute__((visibility("default")))
#define ACMPCA_HIDDEN __attribute__((visibility("hidden")))
#else
#define ACMPCA_API
#define ACMPCA_HIDDEN
#endif

#endif
