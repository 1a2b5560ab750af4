/*
 * arn.h: the one definition of a CA ARN,
 * arn:<partition>:acm-pca:<region>:<12 digits>:certificate-authority/<id>.
 * Lua-free; core.parse_ca_arn (arn.c's binding) gives it to the Lua layer
 * and the fake service, validate.c to every ARN member of the model.
 */
#ifndef ACMPCA_ARN_H
#define ACMPCA_ARN_H

#include <stddef.h>
#include "compat.h"
#include "str.h"

#define ACMPCA_ARN_SHAPE "arn:<partition>:acm-pca:<region>:<12-digit account>:" \
                         "certificate-authority/<id>"

/* The parts of a CA ARN, pointing into the string parsed. */
typedef struct acmpca_arn {
    acmpca_str partition, region, account, id;
} acmpca_arn;

/* NULL and *a filled, or what is wrong with s[0..n). */
ACMPCA_HIDDEN const char *acmpca_arn_parse(const char *s, size_t n, acmpca_arn *a);

/* Adds core.parse_ca_arn to the module on top. */
ACMPCA_HIDDEN void acmpca_arn_open(lua_State *L);

#endif
