/*
 * fuzz/headers.c: libFuzzer target for the response header path of the
 * HTTP engine (src/http.c): libcurl's header callback, then the split into
 * fields and obs-fold continuations, the sort and the join of repeated
 * names, as one real transfer would run them.
 *
 * The statics are reached by including the source.  The input is the
 * header block as the server sent it; libcurl hands the callback one line
 * at a time, '\n' included, so the harness does the same.  The first byte
 * picks the byte limit (bits 0-1) and the line limit (bits 2-3): small
 * limits reach the overflow paths.
 *
 * Oracles, beyond the sanitizers: every joined field equals what a naive
 * reference join (fuzz-side, quadratic, no sort) makes of the same lines;
 * names are lower case, unique and non-empty; values hold no LF; a second
 * transfer on the same handle gives the same fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/http.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX 4096 /* reference lines kept (inputs are smaller) */

/* ------------------------------------------------------------ reference */

/* One kept line of the reference: a field or a non-empty continuation. */
typedef struct ref_line {
    char name[256];
    size_t namelen;
    const char *value;
    size_t valuelen;
    int fold;
} ref_line;

static ref_line ref[REF_MAX];

static void die(const char *what, size_t a, size_t b)
{
    fprintf(stderr, "fuzz/headers: %s (%zu, %zu)\n", what, a, b);
    abort();
}

/* [v, ve) without leading SP/HT and trailing CR/SP/HT. */
static void ref_trim(const char **v, const char **ve)
{
    while (*v < *ve && (**v == ' ' || **v == '\t'))
        (*v)++;
    while (*ve > *v && ((*ve)[-1] == '\r' || (*ve)[-1] == ' ' || (*ve)[-1] == '\t'))
        (*ve)--;
}

/*
 * The lines of the final block (from the last line starting "HTTP/") of
 * the input as the engine should read them; a name longer than the
 * reference keeps ends the check (returns (size_t)-1).
 */
static size_t ref_lines(const char *p, const char *end)
{
    size_t n = 0;
    for (const char *q = p; q < end;) {
        const char *eol = memchr(q, '\n', (size_t)(end - q));
        if (end - q >= 5 && memcmp(q, "HTTP/", 5) == 0)
            p = q;
        q = eol ? eol + 1 : end;
    }
    int have_name = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *stop = eol ? eol : end;
        if (n + 1 >= REF_MAX)
            return (size_t)-1;
        const char *v, *ve = stop, *colon;
        if (*p == ' ' || *p == '\t') {
            if (have_name) {
                v = p;
                ref_trim(&v, &ve);
                if (v < ve) {
                    ref[n] = ref[n - 1];
                    ref[n].value = v;
                    ref[n].valuelen = (size_t)(ve - v);
                    ref[n].fold = 1;
                    n++;
                }
            }
        } else if ((colon = memchr(p, ':', (size_t)(stop - p))) != NULL && colon != p) {
            size_t nl = (size_t)(colon - p);
            if (nl >= sizeof ref[0].name)
                return (size_t)-1;
            for (size_t i = 0; i < nl; i++)
                ref[n].name[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
            ref[n].namelen = nl;
            v = colon + 1;
            ref_trim(&v, &ve);
            ref[n].value = v;
            ref[n].valuelen = (size_t)(ve - v);
            ref[n].fold = 0;
            n++;
            have_name = 1;
        } else {
            have_name = 0;
        }
        p = eol ? eol + 1 : end;
    }
    return n;
}

/* The reference join of name's lines into out; returns its length. */
static size_t ref_join(size_t n, const char *name, size_t namelen, char *out)
{
    size_t len = 0;
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (ref[i].namelen != namelen || memcmp(ref[i].name, name, namelen) != 0)
            continue;
        if (!first && !(ref[i].fold && len == 0)) {
            memcpy(out + len, ref[i].fold ? " " : ", ", ref[i].fold ? 1 : 2);
            len += ref[i].fold ? 1 : 2;
        }
        memcpy(out + len, ref[i].value, ref[i].valuelen);
        len += ref[i].valuelen;
        first = 0;
    }
    return len;
}

/* ------------------------------------------------------------ one transfer */

/*
 * Feed the block to on_header line by line; 0 and the fields in res, or 1
 * when a line was refused (the header limit), as curl would then fail.
 */
static int transfer(acmpca_http *h, const char *in, size_t n, acmpca_http_resp *res)
{
    size_t count;
    reset_receive(h);
    for (size_t off = 0; off < n;) {
        const char *eol = memchr(in + off, '\n', n - off);
        size_t len = eol ? (size_t)(eol - (in + off)) + 1 : n - off;
        /* curl's callback buffer is writable and not ours to keep */
        char *line = malloc(len ? len : 1);
        memcpy(line, in + off, len);
        size_t got = on_header(line, 1, len, h);
        free(line);
        if (got != len)
            return 1;
        off += len;
    }
    if (split_head(h, &count) != 0)
        die("split_head: out of memory", 0, 0);
    if (count > 1)
        qsort(h->lines.p, count, sizeof(hline), cmp_lines);
    if (join_fields(h, count, res) != 0)
        die("join_fields: out of memory", 0, 0);
    return 0;
}

/* The fields against the reference and the basic promises of http.h. */
static void check_fields(const acmpca_http_resp *res, const char *in, size_t n)
{
    static char want[1 << 17];
    size_t nref = ref_lines(in, in + n), distinct = 0;

    for (size_t i = 0; i < res->nheaders; i++) {
        const acmpca_http_field *f = &res->headers[i];
        if (f->name.n == 0)
            die("empty name", i, 0);
        for (size_t k = 0; k < f->name.n; k++)
            if (f->name.p[k] >= 'A' && f->name.p[k] <= 'Z')
                die("upper case in a name", i, k);
        if (memchr(f->value.p, '\n', f->value.n) != NULL)
            die("LF in a value", i, f->value.n);
        if (i > 0 && cmp_lines(&(hline){res->headers[i - 1].name.p, NULL,
                                        res->headers[i - 1].name.n, 0, 0, 0},
                               &(hline){f->name.p, NULL, f->name.n, 0, 0, 0}) >= 0)
            die("names not unique and sorted", i, 0);
        if (nref == (size_t)-1)
            continue;
        if (f->value.n > sizeof want)
            die("value longer than the block", f->value.n, 0);
        size_t wn = ref_join(nref, f->name.p, f->name.n, want);
        if (wn != f->value.n || memcmp(want, f->value.p, wn) != 0)
            die("joined value differs from the reference", wn, f->value.n);
    }
    if (nref == (size_t)-1)
        return;
    for (size_t i = 0; i < nref; i++) {
        size_t j = 0;
        while (j < i && !(ref[j].namelen == ref[i].namelen &&
                          memcmp(ref[j].name, ref[i].name, ref[i].namelen) == 0))
            j++;
        distinct += j == i;
    }
    if (distinct != res->nheaders)
        die("field count differs from the reference", distinct, res->nheaders);
}

/* A copy of the fields (they point into the handle, reused by the next transfer). */
static char *snapshot(const acmpca_http_resp *res, size_t *len)
{
    size_t n = 0, o = 0;
    for (size_t i = 0; i < res->nheaders; i++)
        n += res->headers[i].name.n + res->headers[i].value.n + 2;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < res->nheaders; i++) {
        memcpy(s + o, res->headers[i].name.p, res->headers[i].name.n);
        o += res->headers[i].name.n;
        s[o++] = 0;
        memcpy(s + o, res->headers[i].value.p, res->headers[i].value.n);
        o += res->headers[i].value.n;
        s[o++] = 0;
    }
    *len = o;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {ACMPCA_HTTP_MAX_HEADER_BYTES, 16, 64, 256};
    acmpca_http h;
    acmpca_http_resp res;
    acmpca_http_error err;
    size_t n1, n2;

    if (size < 1)
        return 0;
    acmpca_http_init(&h);
    h.max_header_bytes = limits[data[0] & 3];
    if (data[0] & 12) /* small line limits reach the line-count overflow */
        h.max_header_lines = (size_t)1 << (data[0] & 12);
    const char *in = (const char *)data + 1;
    size--;
    /*
     * A completed HTTP transfer always gave the callback its status line
     * (curl fails one that received nothing, CURLE_GOT_NOTHING), so an
     * empty block never reaches the join.  (On a fresh handle it would:
     * split_head computes NULL + 0, UB that UBSan reports; see README.)
     */
    if (size == 0)
        return 0;

    if (transfer(&h, in, size, &res) != 0) {
        /* refused: the transfer fails with our message, never a header's text */
        size_t lines = 0;
        for (size_t i = 0; i < size; i++)
            lines += in[i] == '\n';
        lines += size > 0 && in[size - 1] != '\n';
        if (size <= h.max_header_bytes && lines <= h.max_header_lines)
            die("a block within the limits was refused", size, lines);
        fail_curl(&h, CURLE_WRITE_ERROR, &err);
        if (strcmp(err.code, "ResponseTooLarge") != 0 ||
            (strncmp(err.message, "response headers larger than", 28) != 0 &&
             strncmp(err.message, "response has more than", 22) != 0))
            die("overflow reported wrongly", 0, 0);
        acmpca_http_free(&h);
        return 0;
    }
    check_fields(&res, in, size);
    char *first = snapshot(&res, &n1);
    /* the same block again on the reused buffers gives the same fields */
    acmpca_http_done(&h);
    if (transfer(&h, in, size, &res) != 0)
        die("second transfer refused", 0, 0);
    char *second = snapshot(&res, &n2);
    if (n1 != n2 || memcmp(first, second, n1) != 0)
        die("second transfer differs", n1, n2);
    free(first);
    free(second);
    acmpca_http_free(&h);
    return 0;
}
