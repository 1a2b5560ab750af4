/*
 * strbuf.c: the growable byte buffer of strbuf.h.  Grows by doubling;
 * an allocation failure marks the buffer failed instead of aborting, and
 * later appends are ignored, so a caller checks once at the end.
 */
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

int acmpca_strbuf_reserve(acmpca_strbuf *b, size_t extra)
{
    size_t cap;
    char *p;
    if (b->failed)
        return -1;
    if (b->cap - b->len > extra)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap - b->len <= extra) {
        if (cap > ((size_t)-1) / 2)
            goto fail;
        cap *= 2;
    }
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

void acmpca_strbuf_add(acmpca_strbuf *b, const void *p, size_t n)
{
    if (n == 0 || acmpca_strbuf_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void acmpca_strbuf_addc(acmpca_strbuf *b, char c)
{
    if (acmpca_strbuf_reserve(b, 1) != 0)
        return;
    b->p[b->len++] = c;
}

void acmpca_strbuf_adds(acmpca_strbuf *b, const char *s)
{
    acmpca_strbuf_add(b, s, strlen(s));
}

void acmpca_strbuf_free(acmpca_strbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
