/*
 * strbuf.h: a growable byte buffer that knows nothing of Lua (lua-cjson's
 * strbuf.c in spirit), shared by the HTTP engine and the JSON encoder.
 * Owned by a longer-lived object (a client, an HTTP handle) and reused, so
 * a steady stream of requests stops allocating.
 */
#ifndef ACMPCA_STRBUF_H
#define ACMPCA_STRBUF_H

#include <stddef.h>
#include "visibility.h"

typedef struct acmpca_strbuf {
    char *p;
    size_t len;
    size_t cap;
    int failed; /* an allocation failed: the content is incomplete */
} acmpca_strbuf;

/* Empty the buffer, keeping its memory. */
static inline void acmpca_strbuf_reset(acmpca_strbuf *b)
{
    b->len = 0;
    b->failed = 0;
}

/*
 * Room for extra more bytes; 0, or -1 (and failed set) on ENOMEM.  Once
 * failed, every append fails until a reset, so a caller may append
 * unchecked and look at failed once at the end.
 */
ACMPCA_HIDDEN int acmpca_strbuf_reserve(acmpca_strbuf *b, size_t extra);
ACMPCA_HIDDEN int acmpca_strbuf_add(acmpca_strbuf *b, const void *p, size_t n);
ACMPCA_HIDDEN int acmpca_strbuf_addc(acmpca_strbuf *b, char c);
ACMPCA_HIDDEN int acmpca_strbuf_adds(acmpca_strbuf *b, const char *s);
/* Reset; first give the memory back when it grew past keep bytes. */
ACMPCA_HIDDEN void acmpca_strbuf_trim(acmpca_strbuf *b, size_t keep);
/* Release the memory; the buffer is empty and reusable afterwards. */
ACMPCA_HIDDEN void acmpca_strbuf_free(acmpca_strbuf *b);

#endif
