/*
 * sigv4.c: AWS Signature Version 4 for acmpca.core.
 *
 * Owns the signer: the canonical request (path normalisation and
 * encoding, query sorting, header canonicalisation), the string to sign,
 * the bounded signing-key cache, header signing (acmpca_sigv4_sign, the C
 * API of sigv4.h that client.c calls) and presigning, plus the Lua
 * functions signing_key, canonical_request, string_to_sign, sign, presign.
 *
 * The hot path allocates nothing after warm-up: the canonical request is
 * streamed through a fixed buffer into SHA-256 and never stored, headers
 * are sorted in a small stack array, and the scratch space for paths and
 * queries lives on the stack unless they are unusually long (then it is
 * malloc'd and freed before returning).
 *
 * Signing-key cache: process-wide, KCACHE_SIZE entries replaced round
 * robin, guarded by a pthread mutex, keyed on SHA-256(secret) + date +
 * region + service.  The secret itself is never stored.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "compat.h"
#include "core.h"
#include "crypto.h"
#include "sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define MAX_TIME INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define SCOPE_PART_MAX 128             /* region, service */
#define SCOPE_MAX (8 + 1 + SCOPE_PART_MAX + 1 + SCOPE_PART_MAX + 13 + 1)

/* ------------------------------------------------------------ bytes */

static inline unsigned char lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Byte classes, built once (pthread_once) by classes_init. */
#define C_UNRESERVED 0x1 /* A-Z a-z 0-9 - _ . ~ */
#define C_CRLFNUL 0x2    /* never allowed in a header */
#define C_UNSAFE 0x4     /* not allowed in a credential scope part */
#define C_SPACE 0x8      /* space or tab: trimmed and collapsed in values */
#define C_UPPER 0x10     /* A-Z */
static unsigned char cls[256];
static pthread_once_t cls_once = PTHREAD_ONCE_INIT;

static void classes_init(void)
{
    int c;

    for (c = 0; c < 256; c++) {
        unsigned char f = 0;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_' || c == '.' || c == '~')
            f |= C_UNRESERVED;
        if (c == '\r' || c == '\n' || c == '\0')
            f |= C_CRLFNUL;
        if (c <= ' ' || c >= 0x7f || c == '/' || c == ',' || c == ';' || c == '=')
            f |= C_UNSAFE;
        if (c == ' ' || c == '\t')
            f |= C_SPACE;
        if (c >= 'A' && c <= 'Z')
            f |= C_UPPER;
        cls[c] = f;
    }
}

static inline int unreserved(unsigned char c)
{
    return cls[c] & C_UNRESERVED;
}

static const char HEXU[] = "0123456789ABCDEF";

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Case-insensitive equality of p[0..n) and the lower-case literal lit. */
static int ieq(const char *p, size_t n, const char *lit, size_t litn)
{
    size_t i;

    if (n != litn)
        return 0;
    for (i = 0; i < n; i++)
        if (lc((unsigned char)p[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}
#define IEQ(p, n, lit) ieq((p), (n), lit, sizeof(lit) - 1)

/* Any byte of p[0..n) in class f? */
static int any_in(const char *p, size_t n, unsigned char f)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned char acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= cls[u[i]];
    return (acc & f) != 0;
}

static int has_crlfnul(const char *p, size_t n)
{
    return any_in(p, n, C_CRLFNUL);
}

/* Bytes that may appear in a credential scope part or an access key id. */
static int scope_safe(const char *p, size_t n)
{
    return !any_in(p, n, C_UNSAFE);
}

/* A printable rendering of p for error messages: escapes, cut at ~48 bytes. */
static void quote(char *dst, size_t cap, const char *p, size_t n)
{
    size_t o = 0, i;

    for (i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        if (i >= 48) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = HEXU[c >> 4];
            dst[o++] = HEXU[c & 15];
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ time */

void acmpca_sigv4_amz_date(int64_t t, char buf[17])
{
    int64_t days = t / 86400, secs = t % 86400;
    int64_t z, era, doe, yoe, y, doy, mp, d, m;
    int hh, mi, ss, i;

    if (secs < 0) {
        secs += 86400;
        days -= 1;
    }
    /* civil_from_days (H. Hinnant's algorithm) */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += (m <= 2);
    if (y < 0)
        y = 0;
    if (y > 9999)
        y = 9999;
    hh = (int)(secs / 3600);
    mi = (int)(secs / 60 % 60);
    ss = (int)(secs % 60);
    for (i = 3; i >= 0; i--) {
        buf[i] = (char)('0' + y % 10);
        y /= 10;
    }
    buf[4] = (char)('0' + m / 10);
    buf[5] = (char)('0' + m % 10);
    buf[6] = (char)('0' + d / 10);
    buf[7] = (char)('0' + d % 10);
    buf[8] = 'T';
    buf[9] = (char)('0' + hh / 10);
    buf[10] = (char)('0' + hh % 10);
    buf[11] = (char)('0' + mi / 10);
    buf[12] = (char)('0' + mi % 10);
    buf[13] = (char)('0' + ss / 10);
    buf[14] = (char)('0' + ss % 10);
    buf[15] = 'Z';
    buf[16] = '\0';
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *p, int n, int *out)
{
    int i, v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYYMMDDTHHMMSSZ" (1970 onwards) -> unix seconds; -1 when invalid. */
static int parse_amz_date(const char *p, size_t n, int64_t *t)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, mo, d, h, mi, s, dim;

    if (n != 16 || p[8] != 'T' || p[15] != 'Z')
        return -1;
    if (digits(p, 4, &y) || digits(p + 4, 2, &mo) || digits(p + 6, 2, &d)
        || digits(p + 9, 2, &h) || digits(p + 11, 2, &mi) || digits(p + 13, 2, &s))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59)
        return -1;
    dim = mdays[mo - 1];
    if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        dim = 29;
    if (d < 1 || d > dim)
        return -1;
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

/* ------------------------------------------------------------ sink */

/*
 * A buffered writer: bytes collect in buf and are flushed into SHA-256
 * (hash != NULL) and/or copied to dest (dest != NULL); total counts them,
 * so a run with neither target measures the output.
 */
#define SINK_SIZE 1024

typedef struct sink {
    acmpca_crypto *hash;
    char *dest;
    size_t total;
    size_t n;
    int failed;
    char buf[SINK_SIZE];
} sink;

static void sink_init(sink *k, acmpca_crypto *hash, char *dest)
{
    k->hash = hash;
    k->dest = dest;
    k->total = 0;
    k->n = 0;
    k->failed = 0;
}

static void sink_emit(sink *k, const char *p, size_t n)
{
    if (k->hash != NULL && acmpca_crypto_sha256_update(k->hash, p, n) != 0)
        k->failed = 1;
    if (k->dest != NULL)
        memcpy(k->dest + k->total, p, n);
    k->total += n;
}

static void sink_flush(sink *k)
{
    if (k->n > 0) {
        sink_emit(k, k->buf, k->n);
        k->n = 0;
    }
}

static void sink_put(sink *k, const void *p, size_t n)
{
    if (n > SINK_SIZE - k->n) {
        sink_flush(k);
        if (n >= SINK_SIZE) {
            sink_emit(k, p, n);
            return;
        }
    }
    memcpy(k->buf + k->n, p, n);
    k->n += n;
}

static inline void sink_putc(sink *k, char c)
{
    if (k->n == SINK_SIZE)
        sink_flush(k);
    k->buf[k->n++] = c;
}

/* Percent-encode everything but unreserved bytes (and '/' when keep_slash). */
static void sink_encode(sink *k, const char *p, size_t n, int keep_slash)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (SINK_SIZE - k->n < 3)
            sink_flush(k);
        if (unreserved(c) || (keep_slash && c == '/')) {
            k->buf[k->n++] = (char)c;
        } else {
            k->buf[k->n++] = '%';
            k->buf[k->n++] = HEXU[c >> 4];
            k->buf[k->n++] = HEXU[c & 15];
        }
    }
}

/* Make room for n bytes in the buffer when n fits in it at all. */
static inline int sink_room(sink *k, size_t n)
{
    if (n > SINK_SIZE)
        return 0;
    if (n > SINK_SIZE - k->n)
        sink_flush(k);
    return 1;
}

/* A header value trimmed, with each run of spaces/tabs collapsed to one space. */
static void sink_value(sink *k, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i;
    int pending = 0, any = 0;

    if (sink_room(k, n)) {
        /* the output is never longer than the input: write in place */
        char *o = k->buf + k->n;
        for (i = 0; i < n; i++) {
            if (cls[u[i]] & C_SPACE) {
                pending = 1;
                continue;
            }
            if (pending && any)
                *o++ = ' ';
            pending = 0;
            any = 1;
            *o++ = (char)u[i];
        }
        k->n = (size_t)(o - k->buf);
        return;
    }
    for (i = 0; i < n; i++) {
        if (cls[u[i]] & C_SPACE) {
            pending = 1;
            continue;
        }
        if (pending && any)
            sink_putc(k, ' ');
        pending = 0;
        any = 1;
        sink_putc(k, (char)u[i]);
    }
}

/* A header name lower-cased. */
static void sink_lower(sink *k, const char *p, size_t n)
{
    size_t i;

    if (sink_room(k, n)) {
        char *o = k->buf + k->n;
        for (i = 0; i < n; i++)
            o[i] = (char)lc((unsigned char)p[i]);
        k->n += n;
        return;
    }
    for (i = 0; i < n; i++)
        sink_putc(k, (char)lc((unsigned char)p[i]));
}

/* ------------------------------------------------------------ headers */

typedef struct hent {
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
    size_t idx; /* position in the input: keeps list order stable */
} hent;

/* By lower-cased name, then the original name bytes, then input order. */
static int hent_cmp(const hent *a, const hent *b)
{
    size_t n = a->nlen < b->nlen ? a->nlen : b->nlen, i;
    int r;

    for (i = 0; i < n; i++) {
        unsigned char ca = lc((unsigned char)a->name[i]), cb = lc((unsigned char)b->name[i]);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    if (a->nlen != b->nlen)
        return a->nlen < b->nlen ? -1 : 1;
    r = memcmp(a->name, b->name, n);
    if (r != 0)
        return r;
    return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

/* Same name once lower-cased. */
static int same_lname(const hent *a, const hent *b)
{
    size_t i;

    if (a->nlen != b->nlen)
        return 0;
    for (i = 0; i < a->nlen; i++)
        if (lc((unsigned char)a->name[i]) != lc((unsigned char)b->name[i]))
            return 0;
    return 1;
}

static int hent_qcmp(const void *a, const void *b)
{
    return hent_cmp(a, b);
}

static void hent_sort(hent *h, size_t n)
{
    size_t i, j;

    if (n > 16) {
        qsort(h, n, sizeof *h, hent_qcmp);
        return;
    }
    for (i = 1; i < n; i++) {
        hent t = h[i];
        for (j = i; j > 0 && hent_cmp(&h[j - 1], &t) > 0; j--)
            h[j] = h[j - 1];
        h[j] = t;
    }
}

/* Headers the signer sets itself or never signs. */
static int header_skipped(const char *p, size_t n)
{
    switch (n) {
    case 4:
        return IEQ(p, n, "host");
    case 6:
        return IEQ(p, n, "expect");
    case 10:
        return IEQ(p, n, "user-agent") || IEQ(p, n, "x-amz-date");
    case 13:
        return IEQ(p, n, "authorization");
    case 15:
        return IEQ(p, n, "x-amzn-trace-id");
    case 20:
        return IEQ(p, n, "x-amz-security-token") || IEQ(p, n, "x-amz-content-sha256");
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ signing key cache */

#define KCACHE_SIZE 16
#define KCACHE_PART 64

typedef struct kentry {
    int used;
    unsigned char secret_md[ACMPCA_SHA256_LEN];
    char date[8];
    unsigned char rlen, slen;
    char region[KCACHE_PART];
    char service[KCACHE_PART];
    unsigned char key[ACMPCA_SHA256_LEN];
} kentry;

static kentry kcache[KCACHE_SIZE];
static unsigned kcache_next, kcache_last;
static pthread_mutex_t kcache_mu = PTHREAD_MUTEX_INITIALIZER;

static int kentry_match(const kentry *e, const unsigned char *md, const char *date,
                        const acmpca_str *region, const acmpca_str *service)
{
    return e->used && e->rlen == region->n && e->slen == service->n
           && memcmp(e->date, date, 8) == 0
           && memcmp(e->secret_md, md, ACMPCA_SHA256_LEN) == 0
           && memcmp(e->region, region->p, region->n) == 0
           && memcmp(e->service, service->p, service->n) == 0;
}

/* The four-step HMAC chain of SigV4, uncached. */
static int derive_uncached(acmpca_crypto *c, const acmpca_str *secret, const char *date,
                           const acmpca_str *region, const acmpca_str *service,
                           unsigned char key[ACMPCA_SHA256_LEN])
{
    char small[256];
    char *k0 = small;
    size_t n = secret->n + 4;
    unsigned char a[ACMPCA_SHA256_LEN], b[ACMPCA_SHA256_LEN];
    int rc = -1;

    if (n > sizeof small && (k0 = malloc(n)) == NULL)
        return -1;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret->p, secret->n);
    if (acmpca_crypto_hmac(c, k0, n, date, 8, a) == 0
        && acmpca_crypto_hmac(c, a, sizeof a, region->p, region->n, b) == 0
        && acmpca_crypto_hmac(c, b, sizeof b, service->p, service->n, a) == 0
        && acmpca_crypto_hmac(c, a, sizeof a, "aws4_request", 12, key) == 0)
        rc = 0;
    OPENSSL_cleanse(k0, n);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    if (k0 != small)
        free(k0);
    return rc;
}

static int derive_key(acmpca_crypto *c, const acmpca_str *secret, const char *date,
                      const acmpca_str *region, const acmpca_str *service,
                      unsigned char key[ACMPCA_SHA256_LEN])
{
    unsigned char md[ACMPCA_SHA256_LEN];
    unsigned i;
    kentry *e;

    if (region->n > KCACHE_PART || service->n > KCACHE_PART)
        return derive_uncached(c, secret, date, region, service, key);
    if (acmpca_crypto_sha256(c, secret->p, secret->n, md) != 0)
        return -1;
    pthread_mutex_lock(&kcache_mu);
    if (kentry_match(&kcache[kcache_last], md, date, region, service)) {
        memcpy(key, kcache[kcache_last].key, ACMPCA_SHA256_LEN);
        pthread_mutex_unlock(&kcache_mu);
        return 0;
    }
    for (i = 0; i < KCACHE_SIZE; i++) {
        if (kentry_match(&kcache[i], md, date, region, service)) {
            memcpy(key, kcache[i].key, ACMPCA_SHA256_LEN);
            kcache_last = i;
            pthread_mutex_unlock(&kcache_mu);
            return 0;
        }
    }
    pthread_mutex_unlock(&kcache_mu);

    if (derive_uncached(c, secret, date, region, service, key) != 0)
        return -1;

    pthread_mutex_lock(&kcache_mu);
    i = kcache_next;
    kcache_next = (kcache_next + 1) % KCACHE_SIZE;
    e = &kcache[i];
    e->used = 1;
    memcpy(e->secret_md, md, sizeof md);
    memcpy(e->date, date, 8);
    e->rlen = (unsigned char)region->n;
    e->slen = (unsigned char)service->n;
    memcpy(e->region, region->p, region->n);
    memcpy(e->service, service->p, service->n);
    memcpy(e->key, key, ACMPCA_SHA256_LEN);
    kcache_last = i;
    pthread_mutex_unlock(&kcache_mu);
    return 0;
}

/* ------------------------------------------------------------ the signing state */

#define HSTACK 32

typedef struct sv {
    const acmpca_sigv4_request *req;
    const acmpca_sigv4_config *cfg;
    int presign;
    int sign_token; /* the token is part of the canonical headers/query */
    long expires;
    char amz_date[17];
    char payload_hash[65];
    size_t payload_hash_len;
    char scope[SCOPE_MAX];
    size_t scope_len;
    char signed_headers[ACMPCA_SIGV4_AUTH_MAX];
    size_t sh_len;
    hent *h;
    size_t nh;
    hent hstack[HSTACK];
} sv;

static void sv_release(sv *s)
{
    if (s->h != NULL && s->h != s->hstack)
        free(s->h);
    s->h = NULL;
}

static int check_scope_part(const acmpca_str *v, const char *what, char *err, size_t errlen)
{
    if (v->p == NULL || v->n == 0) {
        seterr(err, errlen, "%s: expected a non-empty string", what);
        return -1;
    }
    if (v->n > SCOPE_PART_MAX) {
        seterr(err, errlen, "%s: longer than %d bytes", what, SCOPE_PART_MAX);
        return -1;
    }
    if (!scope_safe(v->p, v->n)) {
        seterr(err, errlen, "%s: contains a space, control character or one of / , ; =",
               what);
        return -1;
    }
    return 0;
}

/* "YYYYMMDD/region/service/aws4_request" */
static size_t build_scope(char *dst, const char *amz_date, const acmpca_str *region,
                          const acmpca_str *service)
{
    size_t o = 0;

    memcpy(dst, amz_date, 8);
    o = 8;
    dst[o++] = '/';
    memcpy(dst + o, region->p, region->n);
    o += region->n;
    dst[o++] = '/';
    memcpy(dst + o, service->p, service->n);
    o += service->n;
    memcpy(dst + o, "/aws4_request", 13);
    o += 13;
    dst[o] = '\0';
    return o;
}

static int header_add(sv *s, const char *name, size_t nlen, const char *value, size_t vlen)
{
    hent *e = &s->h[s->nh];

    e->name = name;
    e->nlen = nlen;
    e->value = value;
    e->vlen = vlen;
    e->idx = s->nh++;
    return 0;
}

/*
 * Validate the input and compute everything but the canonical request:
 * date, scope, payload hash, the sorted header list and signed headers.
 * c computes the payload hash.  On failure nothing stays allocated.
 */
static int sv_prepare(sv *s, const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                      int presign, long expires, acmpca_crypto *c, char *err, size_t errlen)
{
    size_t i, cap, o;
    char q[64];

    s->req = req;
    s->cfg = cfg;
    s->presign = presign;
    s->expires = expires;
    s->h = s->hstack;
    s->nh = 0;

    if (req->method.p == NULL || req->method.n == 0 || has_crlfnul(req->method.p, req->method.n)) {
        seterr(err, errlen, "method: expected a non-empty string without CR, LF or NUL");
        return -1;
    }
    if (req->host.p == NULL || req->host.n == 0) {
        seterr(err, errlen, "host: expected a non-empty string");
        return -1;
    }
    if (has_crlfnul(req->host.p, req->host.n)) {
        seterr(err, errlen, "header \"Host\": value contains CR, LF or NUL");
        return -1;
    }
    if ((req->path.p != NULL && has_crlfnul(req->path.p, req->path.n))
        || (req->query.p != NULL && has_crlfnul(req->query.p, req->query.n))) {
        seterr(err, errlen, "url: contains CR, LF or NUL");
        return -1;
    }
    if (check_scope_part(&cfg->region, "region", err, errlen) != 0
        || check_scope_part(&cfg->service, "service", err, errlen) != 0)
        return -1;
    if (cfg->access_key_id.p == NULL || cfg->access_key_id.n == 0) {
        seterr(err, errlen, "credentials.access_key_id: expected a non-empty string");
        return -1;
    }
    if (!scope_safe(cfg->access_key_id.p, cfg->access_key_id.n)) {
        seterr(err, errlen, "credentials.access_key_id: contains a space, control "
                            "character or one of / , ; =");
        return -1;
    }
    if (cfg->access_key_id.n > 256) {
        seterr(err, errlen, "credentials.access_key_id: longer than 256 bytes");
        return -1;
    }
    if (cfg->session_token.p != NULL
        && has_crlfnul(cfg->session_token.p, cfg->session_token.n)) {
        seterr(err, errlen, "credentials.session_token: contains CR, LF or NUL");
        return -1;
    }
    if (cfg->time < 0 || cfg->time > MAX_TIME) {
        seterr(err, errlen, "time: out of range");
        return -1;
    }

    acmpca_sigv4_amz_date(cfg->time, s->amz_date);
    s->scope_len = build_scope(s->scope, s->amz_date, &cfg->region, &cfg->service);

    if (cfg->payload_hash.p != NULL) {
        if (cfg->payload_hash.n == 0 || cfg->payload_hash.n > 64
            || has_crlfnul(cfg->payload_hash.p, cfg->payload_hash.n)) {
            seterr(err, errlen, "payload_hash: expected 1 to 64 bytes without CR, LF or NUL");
            return -1;
        }
        memcpy(s->payload_hash, cfg->payload_hash.p, cfg->payload_hash.n);
        s->payload_hash_len = cfg->payload_hash.n;
    } else {
        unsigned char md[ACMPCA_SHA256_LEN];
        if (acmpca_crypto_sha256(c, req->body.p != NULL ? req->body.p : "", req->body.n,
                                 md) != 0) {
            acmpca_crypto_error("sha256", err, errlen);
            return -1;
        }
        acmpca_hex(md, sizeof md, s->payload_hash);
        s->payload_hash_len = ACMPCA_SHA256_HEX_LEN;
    }
    s->payload_hash[s->payload_hash_len] = '\0';
    s->sign_token = cfg->session_token.p != NULL && !(cfg->flags & ACMPCA_SIGV4_OMIT_TOKEN);

    /* Validate every header, then collect the signed ones. */
    for (i = 0; i < req->nheaders; i++) {
        const acmpca_header *hd = &req->headers[i];
        if (hd->name.p == NULL || hd->name.n == 0) {
            seterr(err, errlen, "header name: expected a non-empty string");
            return -1;
        }
        if (has_crlfnul(hd->name.p, hd->name.n)) {
            quote(q, sizeof q, hd->name.p, hd->name.n);
            seterr(err, errlen, "header \"%s\": name contains CR, LF or NUL", q);
            return -1;
        }
        if (hd->value.p == NULL || has_crlfnul(hd->value.p, hd->value.n)) {
            quote(q, sizeof q, hd->name.p, hd->name.n);
            seterr(err, errlen, "header \"%s\": value contains CR, LF or NUL", q);
            return -1;
        }
    }
    cap = req->nheaders + 4;
    if (cap > HSTACK && (s->h = malloc(cap * sizeof *s->h)) == NULL) {
        s->h = NULL;
        seterr(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < req->nheaders; i++) {
        const acmpca_header *hd = &req->headers[i];
        if (!header_skipped(hd->name.p, hd->name.n))
            header_add(s, hd->name.p, hd->name.n, hd->value.p, hd->value.n);
    }
    header_add(s, "host", 4, req->host.p, req->host.n);
    if (!presign) {
        header_add(s, "x-amz-date", 10, s->amz_date, 16);
        if (s->sign_token)
            header_add(s, "x-amz-security-token", 20, cfg->session_token.p,
                       cfg->session_token.n);
        if (cfg->flags & ACMPCA_SIGV4_SIGN_BODY)
            header_add(s, "x-amz-content-sha256", 20, s->payload_hash, s->payload_hash_len);
    }
    hent_sort(s->h, s->nh);

    /* signed headers: the distinct lower-cased names joined with ';' */
    o = 0;
    for (i = 0; i < s->nh; i++) {
        const hent *e = &s->h[i];
        size_t j;
        if (i > 0 && same_lname(e, &s->h[i - 1]))
            continue; /* already listed */
        if (o + e->nlen + 2 > sizeof s->signed_headers) {
            sv_release(s);
            seterr(err, errlen, "headers: too many to sign");
            return -1;
        }
        if (o > 0)
            s->signed_headers[o++] = ';';
        for (j = 0; j < e->nlen; j++)
            s->signed_headers[o++] = (char)lc((unsigned char)e->name[j]);
    }
    s->signed_headers[o] = '\0';
    s->sh_len = o;
    return 0;
}

/* ------------------------------------------------------------ canonical request */

/* The canonical URI: optionally normalised, then encoded with '/' kept. */
static int write_path(sink *k, const char *p, size_t n, int normalize, char *err,
                      size_t errlen)
{
    char small[1024];
    char *out = small;
    size_t o = 0, i = 0;

    if (n == 0) {
        sink_putc(k, '/');
        return 0;
    }
    if (!normalize) {
        if (p[0] != '/')
            sink_putc(k, '/');
        sink_encode(k, p, n, 1);
        return 0;
    }
    if (n + 2 > sizeof small && (out = malloc(n + 2)) == NULL) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    /* out holds "/seg/seg..."; ".." pops back to the previous '/' */
    while (i < n) {
        size_t j = i, len;
        while (j < n && p[j] != '/')
            j++;
        len = j - i;
        if (len == 0 || (len == 1 && p[i] == '.')) {
            /* empty or "." segment: dropped */
        } else if (len == 2 && p[i] == '.' && p[i + 1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else {
            out[o++] = '/';
            memcpy(out + o, p + i, len);
            o += len;
        }
        i = j + 1;
    }
    if (o == 0)
        out[o++] = '/';
    else if (p[n - 1] == '/')
        out[o++] = '/';
    sink_encode(k, out, o, 1);
    if (out != small)
        free(out);
    return 0;
}

typedef struct qparam {
    const char *k;
    size_t kn;
    const char *v;
    size_t vn;
} qparam;

static int qparam_cmp(const void *pa, const void *pb)
{
    const qparam *a = pa, *b = pb;
    size_t n = a->kn < b->kn ? a->kn : b->kn;
    int r = memcmp(a->k, b->k, n);

    if (r != 0)
        return r;
    if (a->kn != b->kn)
        return a->kn < b->kn ? -1 : 1;
    n = a->vn < b->vn ? a->vn : b->vn;
    r = memcmp(a->v, b->v, n);
    if (r != 0)
        return r;
    return a->vn < b->vn ? -1 : (a->vn > b->vn);
}

/* Encode (after percent-decoding when decode) p[0..n) into dst; returns length. */
static size_t encode_into(char *dst, const char *p, size_t n, int decode)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (decode && c == '%' && i + 2 < n && hexval((unsigned char)p[i + 1]) >= 0
            && hexval((unsigned char)p[i + 2]) >= 0) {
            c = (unsigned char)(hexval((unsigned char)p[i + 1]) * 16
                                + hexval((unsigned char)p[i + 2]));
            i += 2;
        }
        if (unreserved(c)) {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '%';
            dst[o++] = HEXU[c >> 4];
            dst[o++] = HEXU[c & 15];
        }
    }
    return o;
}

/* Add one parameter to the list, its key and value encoded into *pos. */
static void qparam_add(qparam *qp, size_t *nq, char **pos, const char *k, size_t kn,
                       const char *v, size_t vn, int decode)
{
    qparam *e = &qp[(*nq)++];

    e->k = *pos;
    e->kn = encode_into(*pos, k, kn, decode);
    *pos += e->kn;
    e->v = *pos;
    e->vn = encode_into(*pos, v, vn, decode);
    *pos += e->vn;
}

/* The canonical query: the request's parameters (+ presign ones), sorted. */
static int write_query(sv *s, sink *k, char *err, size_t errlen)
{
    const acmpca_str *q = &s->req->query;
    const acmpca_sigv4_config *cfg = s->cfg;
    char small[2048];
    qparam qsmall[32];
    size_t need = 0, maxq = 0, nq = 0, i;
    char *block = NULL, *pos;
    qparam *qp = qsmall;
    char expires[24], credential[256 + 1 + SCOPE_MAX];
    size_t credlen = 0, explen = 0;

    if (q->p != NULL && q->n > 0) {
        maxq = 1;
        for (i = 0; i < q->n; i++)
            if (q->p[i] == '&')
                maxq++;
        need = 3 * q->n;
    }
    if (s->presign) {
        credlen = (size_t)snprintf(credential, sizeof credential, "%.*s/%s",
                                   (int)cfg->access_key_id.n, cfg->access_key_id.p, s->scope);
        explen = (size_t)snprintf(expires, sizeof expires, "%ld", s->expires);
        maxq += 6;
        need += 3 * (credlen + s->sh_len + explen + 16 + 64)
                + (s->sign_token ? 3 * cfg->session_token.n : 0) + 128;
    }
    if (maxq == 0)
        return 0;
    if (need <= sizeof small && maxq <= 32) {
        pos = small;
    } else {
        block = malloc(maxq * sizeof(qparam) + need);
        if (block == NULL) {
            seterr(err, errlen, "out of memory");
            return -1;
        }
        qp = (qparam *)(void *)block;
        pos = block + maxq * sizeof(qparam);
    }
    if (q->p != NULL) {
        i = 0;
        while (i < q->n) {
            size_t j = i, eq;
            while (j < q->n && q->p[j] != '&')
                j++;
            if (j > i) {
                eq = i;
                while (eq < j && q->p[eq] != '=')
                    eq++;
                if (eq < j)
                    qparam_add(qp, &nq, &pos, q->p + i, eq - i, q->p + eq + 1, j - eq - 1, 1);
                else
                    qparam_add(qp, &nq, &pos, q->p + i, j - i, "", 0, 1);
            }
            i = j + 1;
        }
    }
    if (s->presign) {
        qparam_add(qp, &nq, &pos, "X-Amz-Algorithm", 15, ALGORITHM, sizeof ALGORITHM - 1, 0);
        qparam_add(qp, &nq, &pos, "X-Amz-Credential", 16, credential, credlen, 0);
        qparam_add(qp, &nq, &pos, "X-Amz-Date", 10, s->amz_date, 16, 0);
        qparam_add(qp, &nq, &pos, "X-Amz-Expires", 13, expires, explen, 0);
        if (s->sign_token)
            qparam_add(qp, &nq, &pos, "X-Amz-Security-Token", 20, cfg->session_token.p,
                       cfg->session_token.n, 0);
        qparam_add(qp, &nq, &pos, "X-Amz-SignedHeaders", 19, s->signed_headers, s->sh_len, 0);
    }
    if (nq > 1) {
        if (nq <= 16) {
            size_t a, b;
            for (a = 1; a < nq; a++) {
                qparam t = qp[a];
                for (b = a; b > 0 && qparam_cmp(&qp[b - 1], &t) > 0; b--)
                    qp[b] = qp[b - 1];
                qp[b] = t;
            }
        } else {
            qsort(qp, nq, sizeof *qp, qparam_cmp);
        }
    }
    for (i = 0; i < nq; i++) {
        if (i > 0)
            sink_putc(k, '&');
        sink_put(k, qp[i].k, qp[i].kn);
        sink_putc(k, '=');
        sink_put(k, qp[i].v, qp[i].vn);
    }
    free(block);
    return 0;
}

static int sv_write_creq(sv *s, sink *k, char *err, size_t errlen)
{
    const acmpca_sigv4_request *req = s->req;
    size_t i;

    sink_put(k, req->method.p, req->method.n);
    sink_putc(k, '\n');
    if (write_path(k, req->path.p != NULL ? req->path.p : "", req->path.n,
                   (s->cfg->flags & ACMPCA_SIGV4_NORMALIZE_PATH) != 0, err, errlen) != 0)
        return -1;
    sink_putc(k, '\n');
    if (write_query(s, k, err, errlen) != 0)
        return -1;
    sink_putc(k, '\n');
    for (i = 0; i < s->nh; i++) {
        const hent *e = &s->h[i];
        int same = i > 0 && same_lname(e, &s->h[i - 1]);
        if (same) {
            sink_putc(k, ',');
        } else {
            if (i > 0)
                sink_putc(k, '\n');
            sink_lower(k, e->name, e->nlen);
            sink_putc(k, ':');
        }
        sink_value(k, e->value, e->vlen);
    }
    sink_putc(k, '\n');
    sink_putc(k, '\n');
    sink_put(k, s->signed_headers, s->sh_len);
    sink_putc(k, '\n');
    sink_put(k, s->payload_hash, s->payload_hash_len);
    sink_flush(k);
    return 0;
}

/* ------------------------------------------------------------ string to sign, signature */

#define STS_MAX (sizeof(ALGORITHM) + 17 + SCOPE_MAX + ACMPCA_SHA256_HEX_LEN + 4)

static size_t build_sts(char *dst, const char *amz_date, const char *scope, size_t scope_len,
                        const unsigned char creq_md[ACMPCA_SHA256_LEN])
{
    size_t o = sizeof ALGORITHM - 1;

    memcpy(dst, ALGORITHM "\n", o + 1);
    o++;
    memcpy(dst + o, amz_date, 16);
    o += 16;
    dst[o++] = '\n';
    memcpy(dst + o, scope, scope_len);
    o += scope_len;
    dst[o++] = '\n';
    acmpca_hex(creq_md, ACMPCA_SHA256_LEN, dst + o);
    o += ACMPCA_SHA256_HEX_LEN;
    return o;
}

/* Hash the canonical request and sign it: sig receives 64 hex digits + NUL. */
static int sv_sign(sv *s, acmpca_crypto *c, char sig[65], char *err, size_t errlen)
{
    sink k;
    unsigned char md[ACMPCA_SHA256_LEN], key[ACMPCA_SHA256_LEN];
    char sts[STS_MAX];
    size_t n;

    if (acmpca_crypto_sha256_begin(c) != 0) {
        acmpca_crypto_error("sha256", err, errlen);
        return -1;
    }
    sink_init(&k, c, NULL);
    if (sv_write_creq(s, &k, err, errlen) != 0)
        return -1;
    if (k.failed || acmpca_crypto_sha256_end(c, md) != 0) {
        acmpca_crypto_error("sha256", err, errlen);
        return -1;
    }
    n = build_sts(sts, s->amz_date, s->scope, s->scope_len, md);
    if (derive_key(c, &s->cfg->secret_access_key, s->amz_date, &s->cfg->region,
                   &s->cfg->service, key) != 0
        || acmpca_crypto_hmac_key32(c, key, sts, n, md) != 0) {
        OPENSSL_cleanse(key, sizeof key);
        acmpca_crypto_error("hmac", err, errlen);
        return -1;
    }
    OPENSSL_cleanse(key, sizeof key);
    acmpca_hex(md, sizeof md, sig);
    sig[64] = '\0';
    return 0;
}

static int check_secret(const acmpca_sigv4_config *cfg, char *err, size_t errlen)
{
    if (cfg->secret_access_key.p == NULL || cfg->secret_access_key.n == 0) {
        seterr(err, errlen, "credentials.secret_access_key: expected a non-empty string");
        return -1;
    }
    return 0;
}

/* Append p[0..n) to the Authorization buffer; -1 when it would not fit. */
static int auth_put(acmpca_sigv4_result *out, size_t *o, const char *p, size_t n)
{
    if (*o + n >= sizeof out->authorization)
        return -1;
    memcpy(out->authorization + *o, p, n);
    *o += n;
    return 0;
}

int acmpca_sigv4_sign(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                      acmpca_sigv4_result *out, char *err, size_t errlen)
{
    sv s;
    acmpca_crypto *c;
    size_t o = 0;

    if (req == NULL || cfg == NULL || out == NULL) {
        seterr(err, errlen, "acmpca_sigv4_sign: NULL argument");
        return -1;
    }
    pthread_once(&cls_once, classes_init);
    if (check_secret(cfg, err, errlen) != 0)
        return -1;
    c = acmpca_crypto_acquire();
    if (c == NULL) {
        acmpca_crypto_error("openssl", err, errlen);
        return -1;
    }
    if (sv_prepare(&s, req, cfg, 0, 0, c, err, errlen) != 0)
        goto fail;
    if (sv_sign(&s, c, out->signature, err, errlen) != 0)
        goto fail;
    if (auth_put(out, &o, ALGORITHM " Credential=", sizeof ALGORITHM + 11) != 0
        || auth_put(out, &o, cfg->access_key_id.p, cfg->access_key_id.n) != 0
        || auth_put(out, &o, "/", 1) != 0 || auth_put(out, &o, s.scope, s.scope_len) != 0
        || auth_put(out, &o, ", SignedHeaders=", 16) != 0
        || auth_put(out, &o, s.signed_headers, s.sh_len) != 0
        || auth_put(out, &o, ", Signature=", 12) != 0
        || auth_put(out, &o, out->signature, 64) != 0) {
        seterr(err, errlen, "headers: Authorization would exceed %d bytes",
               ACMPCA_SIGV4_AUTH_MAX - 1);
        goto fail;
    }
    out->authorization[o] = '\0';
    out->authorization_len = o;
    memcpy(out->amz_date, s.amz_date, sizeof out->amz_date);
    memcpy(out->payload_hash, s.payload_hash, s.payload_hash_len + 1);
    sv_release(&s);
    acmpca_crypto_release(c);
    return 0;
fail:
    sv_release(&s);
    acmpca_crypto_release(c);
    return -1;
}

/* ------------------------------------------------------------ Lua: argument parsing */

/*
 * Values read from the request/opts tables stay on the Lua stack until
 * the function returns, so every pointer taken from them stays valid.
 */
#define LHSTACK 16

typedef struct lsig {
    const char *fname;
    acmpca_sigv4_request req;
    acmpca_sigv4_config cfg;
    acmpca_header hsmall[LHSTACK];
    int hidx;            /* stack index of request.headers, 0 when absent */
    int host_header;     /* a Host header was given */
    const char *scheme;  /* "https" or "http" */
    acmpca_str authority; /* host[:port] for the presigned URL */
    long expires;
    int presign;
} lsig;

/*
 * The table keys the Lua functions read and write are kept as upvalues of
 * each function, so a call interns no C string (lua_getfield would).
 */
enum {
    K_METHOD = 1, K_URL, K_HOST, K_PATH, K_QUERY, K_HEADERS, K_BODY,
    K_REGION, K_SERVICE, K_CREDENTIALS, K_ACCESS_KEY_ID, K_SECRET_ACCESS_KEY,
    K_SESSION_TOKEN, K_TIME, K_NORMALIZE_PATH, K_SIGN_BODY, K_OMIT_SESSION_TOKEN,
    K_PAYLOAD_HASH, K_EXPIRES, K_PRESIGN,
    K_H_HOST, K_H_DATE, K_H_TOKEN, K_H_SHA256, K_H_AUTH,
    K_END
};

static const char *const key_names[K_END] = {
    NULL, "method", "url", "host", "path", "query", "headers", "body",
    "region", "service", "credentials", "access_key_id", "secret_access_key",
    "session_token", "time", "normalize_path", "sign_body", "omit_session_token",
    "payload_hash", "expires", "presign",
    "Host", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256", "Authorization",
};

/* Push t[key] (metamethods honoured; t absolute); returns its type. */
static int getkey(lua_State *L, int t, int key)
{
    lua_pushvalue(L, lua_upvalueindex(key));
    lua_gettable(L, t);
    return lua_type(L, -1);
}

/* res[key] = the value on top (popped); res absolute. */
static void setkey(lua_State *L, int res, int key)
{
    lua_pushvalue(L, lua_upvalueindex(key)); /* ..., v, k */
    lua_insert(L, -2);                       /* ..., k, v */
    lua_rawset(L, res);
}

static int lraise(lua_State *L, const char *fname, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int n;

    n = snprintf(msg, sizeof msg, "acmpca.sigv4.%s: ", fname);
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s", msg);
}

/* t[key] as a string (pushed and left on the stack); NULL when nil and optional. */
static const char *field_str(lua_State *L, int t, int key, const char *label, lsig *g,
                             int required, size_t *len)
{
    int ty = getkey(L, t, key);

    if (ty == LUA_TNIL && !required) {
        *len = 0;
        return NULL;
    }
    if (ty != LUA_TSTRING)
        lraise(L, g->fname, "%s: expected a string, got %s", label ? label : key_names[key],
               lua_typename(L, ty));
    return lua_tolstring(L, -1, len);
}

static int field_bool(lua_State *L, int t, int key, lsig *g, int dflt)
{
    int ty = getkey(L, t, key);

    if (ty == LUA_TNIL)
        return dflt;
    if (ty != LUA_TBOOLEAN)
        lraise(L, g->fname, "%s: expected a boolean, got %s", key_names[key],
               lua_typename(L, ty));
    return lua_toboolean(L, -1);
}


static int method_known(const char *p, size_t n)
{
    static const char *const methods[] = { "GET", "HEAD", "POST", "PUT",
                                           "DELETE", "PATCH", "OPTIONS", NULL };
    int i;

    for (i = 0; methods[i] != NULL; i++)
        if (strlen(methods[i]) == n && memcmp(methods[i], p, n) == 0)
            return 1;
    return 0;
}

/* scheme://[userinfo@]host[:port][/path][?query][#fragment] */
static void parse_url(lua_State *L, lsig *g, const char *u, size_t n)
{
    size_t i = 0, a, e, hend, pstart;
    int default_port = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c < 0x20 || c == 0x7f)
            lraise(L, g->fname, "url: contains a control character");
    }
    if (n > 8 && ieq(u, 8, "https://", 8)) {
        g->scheme = "https";
        a = 8;
    } else if (n > 7 && ieq(u, 7, "http://", 7)) {
        g->scheme = "http";
        a = 7;
    } else {
        lraise(L, g->fname, "url: expected http://host[:port][/path][?query] or https://...");
        return;
    }
    e = a;
    while (e < n && u[e] != '/' && u[e] != '?' && u[e] != '#')
        e++;
    for (i = a; i < e; i++)
        if (u[i] == '@')
            a = i + 1; /* drop user info */
    if (a == e)
        lraise(L, g->fname, "url: missing host");
    /* host end: ']' for an IPv6 literal, else the last ':' */
    hend = e;
    if (u[a] == '[') {
        const char *rb = memchr(u + a, ']', e - a);
        if (rb == NULL)
            lraise(L, g->fname, "url: unterminated IPv6 address");
        hend = (size_t)(rb - u) + 1;
        if (hend < e && u[hend] != ':')
            lraise(L, g->fname, "url: bad host");
    } else {
        for (i = a; i < e; i++)
            if (u[i] == ':')
                hend = i;
    }
    if (hend == a)
        lraise(L, g->fname, "url: missing host");
    for (i = a; i < hend; i++)
        if (u[i] == ' ')
            lraise(L, g->fname, "url: host contains a space");
    if (hend < e) {
        size_t plen = e - hend - 1;
        long port = 0;
        if (plen == 0 || plen > 5)
            lraise(L, g->fname, "url: bad port");
        for (i = hend + 1; i < e; i++) {
            if (u[i] < '0' || u[i] > '9')
                lraise(L, g->fname, "url: bad port");
            port = port * 10 + (u[i] - '0');
        }
        if (port < 1 || port > 65535)
            lraise(L, g->fname, "url: bad port");
        default_port = (port == 443 && g->scheme[4] == 's') || (port == 80 && g->scheme[4] == '\0');
    }
    g->authority.p = u + a;
    g->authority.n = (default_port ? hend : e) - a;
    g->req.host = g->authority;
    /* path up to '?' or '#', query up to '#' */
    pstart = e;
    while (e < n && u[e] != '?' && u[e] != '#')
        e++;
    g->req.path.p = u + pstart;
    g->req.path.n = e - pstart;
    g->req.query.p = "";
    g->req.query.n = 0;
    if (e < n && u[e] == '?') {
        size_t qs = e + 1;
        e = qs;
        while (e < n && u[e] != '#')
            e++;
        g->req.query.p = u + qs;
        g->req.query.n = e - qs;
    }
}

static void headers_collect(lua_State *L, lsig *g, int hi)
{
    size_t n = 0, i;
    acmpca_header *arr = g->hsmall;
    const char *hostname = NULL;
    size_t hostname_len = 0;
    char q[64];

    /* pass 1: type-check and count */
    lua_pushnil(L); /* nil */
    while (lua_next(L, hi) != 0) { /* k, v */
        size_t klen;
        const char *k;
        int ty = lua_type(L, -1);
        if (lua_type(L, -2) != LUA_TSTRING)
            lraise(L, g->fname, "headers: expected string keys, got a %s key",
                  luaL_typename(L, -2));
        k = lua_tolstring(L, -2, &klen);
        if (ty == LUA_TSTRING) {
            n++;
        } else if (ty == LUA_TTABLE) {
            size_t len = lua_rawlen(L, -1);
            for (i = 1; i <= len; i++) {
                if (compat_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING) { /* k, v, x */
                    quote(q, sizeof q, k, klen);
                    lraise(L, g->fname, "header \"%s\": expected a string or a list of strings", q);
                }
                lua_pop(L, 1); /* k, v */
            }
            n += len;
        } else {
            quote(q, sizeof q, k, klen);
            lraise(L, g->fname, "header \"%s\": expected a string or a list of strings, got %s",
                  q, lua_typename(L, ty));
        }
        lua_pop(L, 1); /* k */
    }
    if (n > LHSTACK)
        arr = lua_newuserdata(L, n * sizeof *arr); /* GC-owned scratch */

    /*
     * pass 2: fill (the strings stay referenced by the headers table).  The
     * table cannot change in between unless a finalizer run by the
     * allocation above touches it; never trust pass 1's count blindly.
     */
    size_t total = n;
    n = 0;
    lua_pushnil(L);
    while (lua_next(L, hi) != 0) { /* k, v */
        size_t klen;
        const char *k = lua_tolstring(L, -2, &klen);
        if (lua_type(L, -1) == LUA_TSTRING) {
            if (n >= total)
                lraise(L, g->fname, "headers: the table changed while it was read");
            arr[n].name.p = k;
            arr[n].name.n = klen;
            arr[n].value.p = lua_tolstring(L, -1, &arr[n].value.n);
            if (IEQ(k, klen, "host")
                && (hostname == NULL || klen != hostname_len || memcmp(k, hostname, klen) < 0)) {
                hostname = k;
                hostname_len = klen;
                g->req.host = arr[n].value;
                g->host_header = 1;
            }
            n++;
        } else {
            size_t len = lua_rawlen(L, -1);
            if (IEQ(k, klen, "host") && len > 0)
                lraise(L, g->fname, "header \"Host\": expected a string");
            for (i = 1; i <= len; i++) {
                if (compat_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING || n >= total)
                    lraise(L, g->fname, "headers: the table changed while it was read");
                /* k, v, x */
                arr[n].name.p = k;
                arr[n].name.n = klen;
                arr[n].value.p = lua_tolstring(L, -1, &arr[n].value.n);
                n++;
                lua_pop(L, 1); /* k, v */
            }
        }
        lua_pop(L, 1); /* k */
    }
    g->req.headers = arr;
    g->req.nheaders = n;
}

static void parse_request(lua_State *L, int ri, lsig *g)
{
    size_t n;
    const char *s;
    char q[64];

    if (lua_type(L, ri) != LUA_TTABLE)
        lraise(L, g->fname, "request: expected a table, got %s", luaL_typename(L, ri));
    s = field_str(L, ri, K_METHOD, NULL, g, 1, &n);
    if (!method_known(s, n)) {
        quote(q, sizeof q, s, n);
        lraise(L, g->fname,
              "method: expected one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, got \"%s\"",
              q);
    }
    g->req.method.p = s;
    g->req.method.n = n;
    s = field_str(L, ri, K_URL, NULL, g, 0, &n);
    if (s != NULL) {
        parse_url(L, g, s, n);
    } else {
        s = field_str(L, ri, K_HOST, NULL, g, 0, &n);
        if (s == NULL)
            lraise(L, g->fname, "url: expected a string (or give host= and path=)");
        if (n == 0 || has_crlfnul(s, n))
            lraise(L, g->fname, "host: expected a non-empty string without CR, LF or NUL");
        g->scheme = "https";
        g->authority.p = s;
        g->authority.n = n;
        g->req.host = g->authority;
        s = field_str(L, ri, K_PATH, NULL, g, 0, &n);
        if (s == NULL) {
            s = "/";
            n = 1;
        }
        if (n > 0 && s[0] != '/')
            lraise(L, g->fname, "path: expected a string starting with \"/\"");
        g->req.path.p = s;
        g->req.path.n = n;
        s = field_str(L, ri, K_QUERY, NULL, g, 0, &n);
        g->req.query.p = s != NULL ? s : "";
        g->req.query.n = s != NULL ? n : 0;
    }
    if (getkey(L, ri, K_HEADERS) == LUA_TTABLE) { /* ..., headers */
        g->hidx = lua_gettop(L);
        headers_collect(L, g, g->hidx);
    } else if (!lua_isnil(L, -1)) {
        lraise(L, g->fname, "headers: expected a table, got %s", luaL_typename(L, -1));
    }
    s = field_str(L, ri, K_BODY, NULL, g, 0, &n);
    g->req.body.p = s != NULL ? s : "";
    g->req.body.n = s != NULL ? n : 0;
}

/* opts.time: unix seconds or "YYYYMMDDTHHMMSSZ"; default now. */
static int64_t parse_time(lua_State *L, int oi, lsig *g)
{
    int ty;
    int64_t t = 0;

    ty = getkey(L, oi, K_TIME);
    if (ty == LUA_TNIL)
        return (int64_t)time(NULL);
    if (ty == LUA_TNUMBER) {
        double d = (double)lua_tonumber(L, -1);
        if (!(d >= 0 && d <= (double)MAX_TIME))
            lraise(L, g->fname, "time: expected unix seconds from 0 to %lld or "
                               "\"YYYYMMDDTHHMMSSZ\"", (long long)MAX_TIME);
        return (int64_t)floor(d);
    }
    if (ty == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (parse_amz_date(s, n, &t) == 0)
            return t;
    }
    lraise(L, g->fname, "time: expected unix seconds or a valid \"YYYYMMDDTHHMMSSZ\" timestamp");
    return 0;
}

enum { NEED_NOTHING = 0, NEED_KEY_ID = 1, NEED_SECRET = 2 };

static void parse_opts(lua_State *L, int oi, lsig *g, int need)
{
    size_t n;
    const char *s;
    int ci;

    if (lua_type(L, oi) != LUA_TTABLE)
        lraise(L, g->fname, "opts: expected a table, got %s", luaL_typename(L, oi));
    s = field_str(L, oi, K_REGION, NULL, g, 1, &n);
    g->cfg.region.p = s;
    g->cfg.region.n = n;
    s = field_str(L, oi, K_SERVICE, NULL, g, 1, &n);
    g->cfg.service.p = s;
    g->cfg.service.n = n;

    getkey(L, oi, K_CREDENTIALS); /* ..., creds */
    ci = lua_gettop(L);
    if (lua_type(L, ci) == LUA_TTABLE) {
        s = field_str(L, ci, K_ACCESS_KEY_ID, "credentials.access_key_id", g,
                      (need & NEED_KEY_ID) != 0, &n);
        g->cfg.access_key_id.p = s;
        g->cfg.access_key_id.n = n;
        s = field_str(L, ci, K_SECRET_ACCESS_KEY, "credentials.secret_access_key", g,
                      (need & NEED_SECRET) != 0, &n);
        g->cfg.secret_access_key.p = s;
        g->cfg.secret_access_key.n = n;
        s = field_str(L, ci, K_SESSION_TOKEN, "credentials.session_token", g, 0, &n);
        g->cfg.session_token.p = s;
        g->cfg.session_token.n = n;
    } else if (need != NEED_NOTHING || !lua_isnil(L, ci)) {
        lraise(L, g->fname, "credentials: expected a table, got %s", luaL_typename(L, ci));
    }
    if ((need & NEED_KEY_ID) && g->cfg.access_key_id.n == 0)
        lraise(L, g->fname, "credentials.access_key_id: expected a non-empty string");
    if ((need & NEED_SECRET) && g->cfg.secret_access_key.n == 0)
        lraise(L, g->fname, "credentials.secret_access_key: expected a non-empty string");

    g->cfg.time = parse_time(L, oi, g);
    g->cfg.flags = 0;
    if (field_bool(L, oi, K_NORMALIZE_PATH, g, 1))
        g->cfg.flags |= ACMPCA_SIGV4_NORMALIZE_PATH;
    if (field_bool(L, oi, K_SIGN_BODY, g, 0))
        g->cfg.flags |= ACMPCA_SIGV4_SIGN_BODY;
    if (field_bool(L, oi, K_OMIT_SESSION_TOKEN, g, 0))
        g->cfg.flags |= ACMPCA_SIGV4_OMIT_TOKEN;
    s = field_str(L, oi, K_PAYLOAD_HASH, NULL, g, 0, &n);
    g->cfg.payload_hash.p = s;
    g->cfg.payload_hash.n = n;
}

static void parse_expires(lua_State *L, int oi, lsig *g)
{
    if (getkey(L, oi, K_EXPIRES) == LUA_TNIL) {
        g->expires = 3600;
        return;
    }
    if (lua_type(L, -1) == LUA_TNUMBER) {
        double d = (double)lua_tonumber(L, -1);
        if (d >= 1 && d <= 604800 && d == floor(d)) {
            g->expires = (long)d;
            return;
        }
    }
    lraise(L, g->fname, "expires: expected an integer from 1 to 604800");
}

static void lsig_init(lsig *g, const char *fname)
{
    memset(g, 0, sizeof *g);
    g->fname = fname;
}

/* ------------------------------------------------------------ Lua functions */

/* signing_key(secret, yyyymmdd, region, service) -> 32 raw bytes */
static int l_signing_key(lua_State *L)
{
    acmpca_str secret, date, region, service;
    unsigned char key[ACMPCA_SHA256_LEN];
    char err[256];
    acmpca_crypto *c;
    int i, rc;
    const char *const labels[4] = { "secret", "yyyymmdd", "region", "service" };
    acmpca_str *args[4] = { &secret, &date, &region, &service };

    for (i = 0; i < 4; i++) {
        if (lua_type(L, i + 1) != LUA_TSTRING)
            return lraise(L, "signing_key", "%s: expected a string, got %s", labels[i],
                         luaL_typename(L, i + 1));
        args[i]->p = lua_tolstring(L, i + 1, &args[i]->n);
    }
    if (secret.n == 0)
        return lraise(L, "signing_key", "secret: expected a non-empty string");
    if (date.n != 8 || strspn(date.p, "0123456789") < 8)
        return lraise(L, "signing_key", "yyyymmdd: expected 8 digits");
    if (check_scope_part(&region, "region", err, sizeof err) != 0
        || check_scope_part(&service, "service", err, sizeof err) != 0)
        return lraise(L, "signing_key", "%s", err);
    c = acmpca_crypto_acquire();
    if (c == NULL) {
        acmpca_crypto_error("openssl", err, sizeof err);
        return lraise(L, "signing_key", "%s", err);
    }
    rc = derive_key(c, &secret, date.p, &region, &service, key);
    acmpca_crypto_release(c);
    if (rc != 0) {
        acmpca_crypto_error("hmac", err, sizeof err);
        return lraise(L, "signing_key", "%s", err);
    }
    lua_pushlstring(L, (const char *)key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    return 1;
}

/* One pass over the canonical request: measure (dest NULL) or copy into dest. */
static int creq_pass(lsig *g, sv *s, char *dest, size_t *len, char *err, size_t errlen)
{
    acmpca_crypto *c = acmpca_crypto_acquire();
    sink k;
    int rc = -1;

    if (c == NULL) {
        acmpca_crypto_error("openssl", err, errlen);
        return -1;
    }
    if (sv_prepare(s, &g->req, &g->cfg, g->presign, g->expires, c, err, errlen) == 0) {
        sink_init(&k, NULL, dest);
        if (sv_write_creq(s, &k, err, errlen) == 0) {
            *len = k.total;
            rc = 0;
        }
        sv_release(s);
    }
    acmpca_crypto_release(c);
    return rc;
}

/*
 * canonical_request(request, opts) -> creq, signed_headers
 * opts.presign = true gives the query-string (presign) form.
 */
static int l_canonical_request(lua_State *L)
{
    lsig g;
    sv s;
    char err[256];
    size_t len = 0, len2 = 0;
    char *dest;

    luaL_checkstack(L, 48, "acmpca.sigv4: Lua stack exhausted");
    lsig_init(&g, "canonical_request");
    parse_request(L, 1, &g);
    if (lua_type(L, 2) == LUA_TTABLE)
        g.presign = field_bool(L, 2, K_PRESIGN, &g, 0);
    parse_opts(L, 2, &g, g.presign ? NEED_KEY_ID : NEED_NOTHING);
    if (g.presign)
        parse_expires(L, 2, &g);
    if (g.cfg.access_key_id.p == NULL) {
        /* the header form does not use the key id; keep validation quiet */
        g.cfg.access_key_id.p = "-";
        g.cfg.access_key_id.n = 1;
    }
    if (creq_pass(&g, &s, NULL, &len, err, sizeof err) != 0)
        return lraise(L, g.fname, "%s", err);
    dest = lua_newuserdata(L, len + 1);
    if (creq_pass(&g, &s, dest, &len2, err, sizeof err) != 0)
        return lraise(L, g.fname, "%s", err);
    lua_pushlstring(L, dest, len2);
    lua_pushlstring(L, s.signed_headers, s.sh_len);
    return 2;
}

/* string_to_sign(creq, opts) -> the string to sign (opts: region, service, time) */
static int l_string_to_sign(lua_State *L)
{
    lsig g;
    size_t n;
    const char *creq;
    char date[17], scope[SCOPE_MAX], sts[STS_MAX], err[256];
    unsigned char md[ACMPCA_SHA256_LEN];
    size_t sl;

    lsig_init(&g, "string_to_sign");
    if (lua_type(L, 1) != LUA_TSTRING)
        return lraise(L, g.fname, "canonical_request: expected a string, got %s",
                     luaL_typename(L, 1));
    creq = lua_tolstring(L, 1, &n);
    if (lua_type(L, 2) != LUA_TTABLE)
        return lraise(L, g.fname, "opts: expected a table, got %s", luaL_typename(L, 2));
    g.cfg.region.p = field_str(L, 2, K_REGION, NULL, &g, 1, &g.cfg.region.n);
    g.cfg.service.p = field_str(L, 2, K_SERVICE, NULL, &g, 1, &g.cfg.service.n);
    if (check_scope_part(&g.cfg.region, "region", err, sizeof err) != 0
        || check_scope_part(&g.cfg.service, "service", err, sizeof err) != 0)
        return lraise(L, g.fname, "%s", err);
    g.cfg.time = parse_time(L, 2, &g);
    acmpca_sigv4_amz_date(g.cfg.time, date);
    sl = build_scope(scope, date, &g.cfg.region, &g.cfg.service);
    if (acmpca_sha256(creq, n, md) != 0) {
        acmpca_crypto_error("sha256", err, sizeof err);
        return lraise(L, g.fname, "%s", err);
    }
    lua_pushlstring(L, sts, build_sts(sts, date, scope, sl, md));
    return 1;
}

/* The request's headers minus the ones the signer replaces. */
static int header_replaced(const char *p, size_t n)
{
    return IEQ(p, n, "authorization") || IEQ(p, n, "x-amz-date")
           || IEQ(p, n, "x-amz-security-token") || IEQ(p, n, "x-amz-content-sha256");
}

/* sign(request, opts) -> a new headers table */
static int l_sign(lua_State *L)
{
    lsig g;
    acmpca_sigv4_result out;
    char err[256];
    int res;

    luaL_checkstack(L, 48, "acmpca.sigv4: Lua stack exhausted");
    lsig_init(&g, "sign");
    parse_request(L, 1, &g);
    parse_opts(L, 2, &g, NEED_KEY_ID | NEED_SECRET);
    if (acmpca_sigv4_sign(&g.req, &g.cfg, &out, err, sizeof err) != 0)
        return lraise(L, g.fname, "%s", err);

    lua_createtable(L, 0, (int)g.req.nheaders + 5); /* ..., res */
    res = lua_gettop(L);
    if (g.hidx != 0) {
        lua_pushnil(L);
        while (lua_next(L, g.hidx) != 0) { /* res, k, v */
            size_t kn;
            const char *k = lua_tolstring(L, -2, &kn);
            if (header_replaced(k, kn)) {
                lua_pop(L, 1);
                continue;
            }
            lua_pushvalue(L, -2); /* res, k, v, k */
            lua_insert(L, -2);    /* res, k, k, v */
            lua_rawset(L, res);   /* res, k */
        }
    }
    if (!g.host_header) {
        lua_pushlstring(L, g.req.host.p, g.req.host.n);
        setkey(L, res, K_H_HOST);
    }
    lua_pushlstring(L, out.amz_date, 16);
    setkey(L, res, K_H_DATE);
    if (g.cfg.session_token.p != NULL) {
        lua_pushlstring(L, g.cfg.session_token.p, g.cfg.session_token.n);
        setkey(L, res, K_H_TOKEN);
    }
    if (g.cfg.flags & ACMPCA_SIGV4_SIGN_BODY) {
        lua_pushstring(L, out.payload_hash);
        setkey(L, res, K_H_SHA256);
    }
    lua_pushlstring(L, out.authorization, out.authorization_len);
    setkey(L, res, K_H_AUTH);
    return 1;
}

/* Append p[0..n) percent-encoded (unreserved kept) to b. */
static void lb_encode(luaL_Buffer *b, const char *p, size_t n)
{
    char tmp[300];
    size_t i = 0;

    while (i < n) {
        size_t chunk = n - i > 100 ? 100 : n - i;
        luaL_addlstring(b, tmp, encode_into(tmp, p + i, chunk, 0));
        i += chunk;
    }
}

/* presign(request, opts) -> the presigned URL */
static int l_presign(lua_State *L)
{
    lsig g;
    sv s;
    char err[256], sig[65], expires[24];
    acmpca_crypto *c;
    luaL_Buffer b;
    int rc;

    luaL_checkstack(L, 48, "acmpca.sigv4: Lua stack exhausted");
    lsig_init(&g, "presign");
    parse_request(L, 1, &g);
    parse_opts(L, 2, &g, NEED_KEY_ID | NEED_SECRET);
    parse_expires(L, 2, &g);
    g.presign = 1;
    c = acmpca_crypto_acquire();
    if (c == NULL) {
        acmpca_crypto_error("openssl", err, sizeof err);
        return lraise(L, g.fname, "%s", err);
    }
    rc = sv_prepare(&s, &g.req, &g.cfg, 1, g.expires, c, err, sizeof err);
    if (rc == 0) {
        rc = sv_sign(&s, c, sig, err, sizeof err);
        sv_release(&s);
    }
    acmpca_crypto_release(c);
    if (rc != 0)
        return lraise(L, g.fname, "%s", err);

    /* s's fixed buffers (date, scope, signed headers) outlive sv_release */
    luaL_buffinit(L, &b);
    luaL_addstring(&b, g.scheme);
    luaL_addlstring(&b, "://", 3);
    luaL_addlstring(&b, g.authority.p, g.authority.n);
    if (g.req.path.n > 0)
        luaL_addlstring(&b, g.req.path.p, g.req.path.n);
    else
        luaL_addchar(&b, '/');
    luaL_addchar(&b, '?');
    if (g.req.query.n > 0) {
        luaL_addlstring(&b, g.req.query.p, g.req.query.n);
        luaL_addchar(&b, '&');
    }
    luaL_addstring(&b, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=");
    lb_encode(&b, g.cfg.access_key_id.p, g.cfg.access_key_id.n);
    luaL_addstring(&b, "%2F");
    lb_encode(&b, s.scope, s.scope_len);
    luaL_addstring(&b, "&X-Amz-Date=");
    luaL_addlstring(&b, s.amz_date, 16);
    luaL_addstring(&b, "&X-Amz-SignedHeaders=");
    lb_encode(&b, s.signed_headers, s.sh_len);
    snprintf(expires, sizeof expires, "&X-Amz-Expires=%ld", g.expires);
    luaL_addstring(&b, expires);
    if (g.cfg.session_token.p != NULL) {
        luaL_addstring(&b, "&X-Amz-Security-Token=");
        lb_encode(&b, g.cfg.session_token.p, g.cfg.session_token.n);
    }
    luaL_addstring(&b, "&X-Amz-Signature=");
    luaL_addlstring(&b, sig, 64);
    luaL_pushresult(&b);
    return 1;
}

void acmpca_sigv4_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "signing_key", l_signing_key },
        { "canonical_request", l_canonical_request },
        { "string_to_sign", l_string_to_sign },
        { "sign", l_sign },
        { "presign", l_presign },
        { NULL, NULL },
    };
    const luaL_Reg *r;
    int i;

    pthread_once(&cls_once, classes_init);
    luaL_checkstack(L, K_END + 2, "acmpca.sigv4: Lua stack exhausted");
    for (r = fns; r->name != NULL; r++) {
        for (i = 1; i < K_END; i++)
            lua_pushstring(L, key_names[i]); /* t, k1..kn */
        lua_pushcclosure(L, r->func, K_END - 1); /* t, f */
        lua_setfield(L, -2, r->name);
    }
}
