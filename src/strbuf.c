/*
 * strbuf.c: the growable byte buffer of strbuf.h.  Grows by doubling from
 * 1 KiB; an allocation failure marks the buffer failed instead of
 * aborting.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

int acmpca_strbuf_reserve(acmpca_strbuf *b, size_t extra)
{
    size_t cap;
    char *p;
    if (b->failed)
        return -1;
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        goto fail;
    cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL)
        goto fail;
    b->p = p;
    b->cap = cap;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

int acmpca_strbuf_add(acmpca_strbuf *b, const void *p, size_t n)
{
    if (acmpca_strbuf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

int acmpca_strbuf_addc(acmpca_strbuf *b, char c)
{
    return acmpca_strbuf_add(b, &c, 1);
}

int acmpca_strbuf_adds(acmpca_strbuf *b, const char *s)
{
    return acmpca_strbuf_add(b, s, strlen(s));
}

void acmpca_strbuf_trim(acmpca_strbuf *b, size_t keep)
{
    if (b->cap > keep)
        acmpca_strbuf_free(b);
    acmpca_strbuf_reset(b);
}

void acmpca_strbuf_free(acmpca_strbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
