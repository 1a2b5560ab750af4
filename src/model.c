/*
 * model.c: look-ups over the generated operation model (model_gen.c).
 */
#include <string.h>

#include "model.h"

static int same(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

const acmpca_operation *acmpca_model_find(const char *s, size_t n)
{
    for (size_t i = 0; i < acmpca_noperations; i++) {
        const acmpca_operation *op = &acmpca_operations[i];
        if (same(s, n, op->method) || same(s, n, op->name))
            return op;
    }
    return NULL;
}

const acmpca_member *acmpca_model_member(const acmpca_shape *sh, const char *s, size_t n)
{
    for (int m = 0; m < sh->nmembers; m++)
        if (same(s, n, sh->members[m].lua))
            return &sh->members[m];
    return NULL;
}
