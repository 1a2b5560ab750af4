/*
 * str.h: a byte string that need not be NUL-terminated, the one span type
 * of the Lua-free layers (signer, HTTP engine, ARN parser).
 */
#ifndef ACMPCA_STR_H
#define ACMPCA_STR_H

#include <stddef.h>

/* p == NULL means absent. */
typedef struct acmpca_str {
    const char *p;
    size_t n;
} acmpca_str;

#endif
