/*
 * sigv4.c: AWS Signature Version 4, a pure C library (no Lua).
 *
 * Owns the signer: input validation, the URL split, the canonical request
 * (path normalisation and encoding, query sorting, header
 * canonicalisation), the string to sign, the bounded signing-key cache,
 * header signing and presigning, behind the C API of sigv4.h.  The Lua
 * functions that bind it are in sigv4_lua.c; client.c calls
 * acmpca_sigv4_sign directly.
 *
 * Each request goes through named stages, as aws-c-auth's signer does:
 * check the input, date and scope, payload hash, collect and sort the
 * headers, signed-headers list (sv_prepare); then method, path, query,
 * headers and payload hash make the canonical request (sv_write_creq),
 * which is hashed into the string to sign and signed (sv_sign).
 *
 * The hot path allocates nothing: the canonical request is written into a
 * fixed stack buffer and hashed from there (streamed through it when
 * longer), headers are sorted in a small stack array, and the scratch
 * space for paths and queries lives on the stack unless they are unusually
 * long (then it is malloc'd and freed before returning).
 *
 * Signing-key cache: process-wide, KCACHE_SIZE entries replaced round
 * robin, guarded by a pthread mutex, keyed on SHA-256(secret) + date +
 * region + service; an entry keeps the key, its pre-keyed HMAC states and
 * two SHA-256 "heads" that signatures with it tend to share (see there).
 * The secret itself is never stored.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SCOPE_PART_MAX 128 /* region, service */
#define SCOPE_MAX (8 + 1 + SCOPE_PART_MAX + 1 + SCOPE_PART_MAX + 13 + 1)
#define KEY_ID_MAX 256
#define STS_MAX (sizeof(ALGORITHM) + 17 + SCOPE_MAX + ACMPCA_SHA256_HEX_LEN + 4)

_Static_assert(STS_MAX <= ACMPCA_SIGV4_STS_MAX, "ACMPCA_SIGV4_STS_MAX is too small");

/* ------------------------------------------------------------ bytes */

static inline unsigned char lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Byte classes, a constant table built by the preprocessor. */
#define C_UNRESERVED 0x1 /* A-Z a-z 0-9 - _ . ~ */
#define C_CRLFNUL 0x2    /* never allowed in a header */
#define C_UNSAFE 0x4     /* not allowed in a credential scope part */
#define C_SPACE 0x8      /* space or tab: trimmed and collapsed in values */
#define C_CTL 0x10       /* not allowed anywhere in a URL: below 0x20, DEL */
#define C_URL 0x20       /* / ? # @ : space: what the URL split looks at */

/* clang-format off */
#define CLS_ALNUM(c) \
    (((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9'))
#define CLS(c)                                                                            \
    ((CLS_ALNUM(c) || (c) == '-' || (c) == '_' || (c) == '.' || (c) == '~'                \
          ? C_UNRESERVED                                                                  \
          : 0)                                                                            \
     | ((c) == '\r' || (c) == '\n' || (c) == 0 ? C_CRLFNUL : 0)                           \
     | ((c) <= ' ' || (c) >= 0x7f || (c) == '/' || (c) == ',' || (c) == ';' || (c) == '=' \
            ? C_UNSAFE                                                                    \
            : 0)                                                                          \
     | ((c) == ' ' || (c) == '\t' ? C_SPACE : 0)                                          \
     | ((c) < 0x20 || (c) == 0x7f ? C_CTL : 0)                                            \
     | ((c) == '/' || (c) == '?' || (c) == '#' || (c) == '@' || (c) == ':' || (c) == ' '  \
            ? C_URL                                                                       \
            : 0))
#define CLS4(c) CLS(c), CLS((c) + 1), CLS((c) + 2), CLS((c) + 3)
#define CLS16(c) CLS4(c), CLS4((c) + 4), CLS4((c) + 8), CLS4((c) + 12)
#define CLS64(c) CLS16(c), CLS16((c) + 16), CLS16((c) + 32), CLS16((c) + 48)

static const unsigned char cls[256] = { CLS64(0), CLS64(64), CLS64(128), CLS64(192) };
/* clang-format on */

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

/* memcmp for the short names of this file, without a library call. */
static inline int bytes_cmp(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (a[i] != b[i])
            return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
    return 0;
}

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

/*
 * Eight bytes per step: has v a byte equal to c?  (The classic zero-byte
 * test on v ^ c..c; exact as a yes/no answer.)
 */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t has_byte(uint64_t v, unsigned char c)
{
    uint64_t x = v ^ (ONES * c);
    return (x - ONES) & ~x & HIGHS;
}

static inline uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/*
 * Whether p[0..n) holds a byte of class f (tested a word at a time by
 * test): the words at 0, 8, ... and one ending at n, overlapping the last.
 */
static inline int any_words(const char *p, size_t n, unsigned char f, uint64_t (*test)(uint64_t))
{
    size_t i;

    if (n < 8)
        return any_in(p, n, f);
    for (i = 0; i + 8 < n; i += 8)
        if (test(load8(p + i)))
            return 1;
    return test(load8(p + n - 8)) != 0;
}

static inline uint64_t crlfnul_word(uint64_t v)
{
    return has_byte(v, '\r') | has_byte(v, '\n') | has_byte(v, 0);
}

static inline uint64_t space_word(uint64_t v)
{
    return has_byte(v, ' ') | has_byte(v, '\t');
}

/* Any CR, LF or NUL? */
static int has_crlfnul(const char *p, size_t n)
{
    return any_words(p, n, C_CRLFNUL, crlfnul_word);
}

/* Any space or tab (a header value that needs trimming or collapsing)? */
static int has_space(const char *p, size_t n)
{
    return any_words(p, n, C_SPACE, space_word);
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

/* "00".."99": two decimal digits are one 2-byte copy. */
static const char DIGIT_PAIRS[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline void put2(char *dst, int64_t v)
{
    memcpy(dst, DIGIT_PAIRS + 2 * v, 2);
}

/* Year, month and day of a day count from 1970-01-01 (H. Hinnant's civil_from_days). */
static void civil_from_days(int64_t days, int64_t *y, int64_t *m, int64_t *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

void acmpca_sigv4_amz_date(int64_t t, char buf[17])
{
    int64_t days = t / 86400, secs = t % 86400, y, m, d;

    if (secs < 0) {
        secs += 86400;
        days -= 1;
    }
    civil_from_days(days, &y, &m, &d);
    y = y < 0 ? 0 : y > 9999 ? 9999 : y;
    put2(buf, y / 100);
    put2(buf + 2, y % 100);
    put2(buf + 4, m);
    put2(buf + 6, d);
    buf[8] = 'T';
    put2(buf + 9, secs / 3600);
    put2(buf + 11, secs / 60 % 60);
    put2(buf + 13, secs % 60);
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

int acmpca_sigv4_parse_amz_date(const char *p, size_t n, int64_t *t)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, s, dim;

    if (n != 16 || p[8] != 'T' || p[15] != 'Z')
        return -1;
    if (digits(p, 4, &y) || digits(p + 4, 2, &mo) || digits(p + 6, 2, &d) || digits(p + 9, 2, &h) ||
        digits(p + 11, 2, &mi) || digits(p + 13, 2, &s))
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
 * (hash != NULL) and/or copied into a caller's text (text != NULL, which
 * counts every byte and stores what fits).  With neither, a text that fits
 * stays whole in buf (emitted stays 0).
 */
#define SINK_SIZE 2048

typedef struct sink {
    acmpca_sha256_ctx *hash;
    acmpca_sigv4_text *text;
    size_t emitted; /* bytes flushed so far */
    size_t n;
    char buf[SINK_SIZE];
} sink;

static void sink_init(sink *k, acmpca_sha256_ctx *hash, acmpca_sigv4_text *text)
{
    k->hash = hash;
    k->text = text;
    k->emitted = 0;
    k->n = 0;
    if (text != NULL)
        text->len = 0;
}

static void sink_emit(sink *k, const char *p, size_t n)
{
    acmpca_sigv4_text *t = k->text;

    k->emitted += n;
    if (k->hash != NULL)
        acmpca_sha256_update(k->hash, p, n);
    if (t == NULL)
        return;
    if (t->len < t->cap)
        memcpy(t->p + t->len, p, n < t->cap - t->len ? n : t->cap - t->len);
    t->len += n;
}

/* Flush the buffer; a text also gets its NUL when there is room. */
static void sink_flush(sink *k)
{
    acmpca_sigv4_text *t = k->text;

    if (k->n > 0) {
        sink_emit(k, k->buf, k->n);
        k->n = 0;
    }
    if (t != NULL && t->len < t->cap)
        t->p[t->len] = '\0';
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

#define SINK_LIT(k, lit) sink_put((k), lit, sizeof(lit) - 1)

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

/* A header value trimmed, with each run of spaces/tabs collapsed to one space. */
static void sink_value(sink *k, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i;
    int pending = 0, any = 0;

    if (!has_space(p, n)) {
        sink_put(k, p, n); /* the usual case: nothing to trim */
        return;
    }
    for (i = 0; i < n; i++) {
        if (cls[u[i]] & C_SPACE) {
            pending = 1;
            continue;
        }
        if (k->n + 2 > SINK_SIZE)
            sink_flush(k);
        if (pending && any)
            k->buf[k->n++] = ' ';
        pending = 0;
        any = 1;
        k->buf[k->n++] = (char)u[i];
    }
}

/* ------------------------------------------------------------ headers */

typedef struct hent {
    const char *name;  /* as given */
    const char *lname; /* lower-cased (the same bytes when already lower case) */
    size_t nlen;
    const char *value;
    size_t vlen;
    size_t idx; /* position in the input: keeps list order stable */
} hent;

/* By lower-cased name, then the original name bytes, then input order. */
static int hent_cmp(const hent *a, const hent *b)
{
    size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
    int r = bytes_cmp(a->lname, b->lname, n);

    if (r != 0)
        return r;
    if (a->nlen != b->nlen)
        return a->nlen < b->nlen ? -1 : 1;
    r = bytes_cmp(a->name, b->name, n);
    if (r != 0)
        return r;
    return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

/* Same name once lower-cased. */
static int same_lname(const hent *a, const hent *b)
{
    return a->nlen == b->nlen && bytes_cmp(a->lname, b->lname, a->nlen) == 0;
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

/*
 * An entry holds the derived key and the HMAC states it keys (both key
 * material), so a signature costs no re-keying; it is found by the SHA-256
 * of the secret, never the secret.  It also keeps two "heads", SHA-256
 * states after a first block that signatures with the key tend to share,
 * each saving a block per signature:
 *   - the inner HMAC state after the first block of the string to sign
 *     ("AWS4-HMAC-SHA256\n", the time, the start of the scope), the same
 *     for every signature in one second;
 *   - the state after the first block of the last canonical request
 *     (method, path, query, the first headers), the same for requests to
 *     one endpoint, such as every call of the ACM PCA client.
 */
#define KCACHE_SIZE 16
#define KCACHE_PART 64
#define HEAD 64 /* one SHA-256 block */

/* The shortest string to sign (one-byte region and service) is longer. */
_Static_assert(sizeof(ALGORITHM) + 17 + 8 + 1 + 1 + 1 + 1 + 13 + 1 + ACMPCA_SHA256_HEX_LEN > HEAD,
               "a string to sign may be shorter than one block");

typedef struct kentry {
    int used;
    unsigned char secret_md[ACMPCA_SHA256_LEN];
    char date[8];
    unsigned char rlen, slen;
    char region[KCACHE_PART];
    char service[KCACHE_PART];
    unsigned char key[ACMPCA_SHA256_LEN];
    acmpca_hmac_key hk;
    int sts_used, creq_used;
    char sts_time[16];           /* the X-Amz-Date of sts_head */
    acmpca_sha256_ctx sts_head;  /* hk.inner after the string to sign's first block */
    char creq_first[HEAD];       /* a canonical request's first block */
    acmpca_sha256_ctx creq_head; /* the SHA-256 state after it */
} kentry;

/* What a lookup asks for. */
typedef struct kquery {
    const acmpca_str *secret;
    const char *date; /* "YYYYMMDD" */
    const acmpca_str *region;
    const acmpca_str *service;
    const char *amz_date;   /* "YYYYMMDDTHHMMSSZ" of a signature, or NULL */
    const char *creq_first; /* its canonical request's first block, or NULL */
    unsigned char secret_md[ACMPCA_SHA256_LEN];
} kquery;

/*
 * What signing takes from the cache: the key's states (key material:
 * cleanse after use; hk.inner only when sts_head is not had) and the heads.
 * A head is "had" when the cache has it for this signature, "made" when
 * signing computed it for the cache.
 */
typedef struct kuse {
    acmpca_hmac_key hk;
    acmpca_sha256_ctx sts_head, creq_head;
    int had_sts, had_creq, made_sts, made_creq;
} kuse;

static kentry kcache[KCACHE_SIZE];
static unsigned kcache_next, kcache_last;
static pthread_mutex_t kcache_mu = PTHREAD_MUTEX_INITIALIZER;

static int kentry_match(const kentry *e, const kquery *q)
{
    return e->used && e->rlen == q->region->n && e->slen == q->service->n &&
           memcmp(e->date, q->date, 8) == 0 &&
           memcmp(e->secret_md, q->secret_md, ACMPCA_SHA256_LEN) == 0 &&
           bytes_cmp(e->region, q->region->p, q->region->n) == 0 &&
           bytes_cmp(e->service, q->service->p, q->service->n) == 0;
}

/* The entry of q, or NULL; the last hit is tried first.  Hold kcache_mu. */
static kentry *kcache_entry(const kquery *q)
{
    unsigned i, j;

    for (j = 0; j < KCACHE_SIZE; j++) {
        i = (kcache_last + j) % KCACHE_SIZE;
        if (kentry_match(&kcache[i], q)) {
            kcache_last = i;
            return &kcache[i];
        }
    }
    return NULL;
}

/* The cached key and states (either may be NULL): 1 when found. */
static int kcache_find(const kquery *q, unsigned char *key, kuse *u)
{
    kentry *e;

    pthread_mutex_lock(&kcache_mu);
    e = kcache_entry(q);
    if (e != NULL && key != NULL)
        memcpy(key, e->key, ACMPCA_SHA256_LEN);
    if (e != NULL && u != NULL) {
        u->had_sts =
            q->amz_date != NULL && e->sts_used && memcmp(e->sts_time, q->amz_date, 16) == 0;
        if (u->had_sts)
            u->sts_head = e->sts_head;
        else
            u->hk.inner = e->hk.inner;
        u->hk.outer = e->hk.outer;
        u->had_creq = q->creq_first != NULL && e->creq_used &&
                      memcmp(e->creq_first, q->creq_first, HEAD) == 0;
        if (u->had_creq)
            u->creq_head = e->creq_head;
    }
    pthread_mutex_unlock(&kcache_mu);
    return e != NULL;
}

/* Remember a derived key, replacing the entries round robin. */
static void kcache_store(const kquery *q, const unsigned char key[ACMPCA_SHA256_LEN],
                         const acmpca_hmac_key *hk)
{
    kentry *e;

    pthread_mutex_lock(&kcache_mu);
    kcache_last = kcache_next;
    kcache_next = (kcache_next + 1) % KCACHE_SIZE;
    e = &kcache[kcache_last];
    e->used = 1;
    memcpy(e->secret_md, q->secret_md, ACMPCA_SHA256_LEN);
    memcpy(e->date, q->date, 8);
    e->rlen = (unsigned char)q->region->n;
    e->slen = (unsigned char)q->service->n;
    memcpy(e->region, q->region->p, q->region->n);
    memcpy(e->service, q->service->p, q->service->n);
    memcpy(e->key, key, ACMPCA_SHA256_LEN);
    e->hk = *hk;
    e->sts_used = e->creq_used = 0;
    pthread_mutex_unlock(&kcache_mu);
}

/* Remember the heads signing made (when q's entry is still there). */
static void kcache_store_heads(const kquery *q, const kuse *u)
{
    kentry *e;

    if (!u->made_sts && !u->made_creq)
        return;
    pthread_mutex_lock(&kcache_mu);
    if ((e = kcache_entry(q)) != NULL) {
        if (u->made_sts) {
            memcpy(e->sts_time, q->amz_date, 16);
            e->sts_head = u->sts_head;
            e->sts_used = 1;
        }
        if (u->made_creq) {
            memcpy(e->creq_first, q->creq_first, HEAD);
            e->creq_head = u->creq_head;
            e->creq_used = 1;
        }
    }
    pthread_mutex_unlock(&kcache_mu);
}

/* The four-step HMAC chain of SigV4, uncached. */
static int derive_uncached(const kquery *q, unsigned char key[ACMPCA_SHA256_LEN])
{
    char small[256];
    char *k0 = small;
    size_t n = q->secret->n + 4;
    unsigned char a[ACMPCA_SHA256_LEN], b[ACMPCA_SHA256_LEN];

    if (n > sizeof small && (k0 = malloc(n)) == NULL)
        return -1;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, q->secret->p, q->secret->n);
    acmpca_hmac_sha256(k0, n, q->date, 8, a);
    acmpca_hmac_sha256(a, sizeof a, q->region->p, q->region->n, b);
    acmpca_hmac_sha256(b, sizeof b, q->service->p, q->service->n, a);
    acmpca_hmac_sha256(a, sizeof a, "aws4_request", 12, key);
    acmpca_cleanse(k0, n);
    acmpca_cleanse(a, sizeof a);
    acmpca_cleanse(b, sizeof b);
    if (k0 != small)
        free(k0);
    return 0;
}

/*
 * The signing key of q into key, and the HMAC states it keys into u
 * (either may be NULL): from the cache, else derived and remembered.
 */
static int derive_key(kquery *q, unsigned char *key, kuse *u)
{
    unsigned char fresh_key[ACMPCA_SHA256_LEN];
    acmpca_hmac_key fresh;
    int cached = q->region->n <= KCACHE_PART && q->service->n <= KCACHE_PART;

    if (cached) {
        acmpca_sha256(q->secret->p, q->secret->n, q->secret_md);
        if (kcache_find(q, key, u))
            return 0;
    }
    if (derive_uncached(q, fresh_key) != 0)
        return -1;
    acmpca_hmac_key_init(&fresh, fresh_key, sizeof fresh_key);
    if (cached)
        kcache_store(q, fresh_key, &fresh);
    if (key != NULL)
        memcpy(key, fresh_key, sizeof fresh_key);
    if (u != NULL) {
        u->hk = fresh;
        u->had_sts = u->had_creq = 0;
    }
    acmpca_cleanse(fresh_key, sizeof fresh_key);
    acmpca_hmac_key_clear(&fresh);
    return 0;
}

/* ------------------------------------------------------------ URL */

/*
 * http(s)://[userinfo@]host[:port][/path][?query][#fragment], in stages:
 * each returns NULL or the problem.
 */

static inline uint64_t ctl_word(uint64_t v)
{
    /* a byte below 0x20 (exact as a yes/no answer for bounds up to 0x80), or DEL */
    return ((v - ONES * 0x20) & ~v & HIGHS) | has_byte(v, 0x7f);
}

static const char *url_check_chars(const char *u, size_t n)
{
    return any_words(u, n, C_CTL, ctl_word) ? "url: contains a control character" : NULL;
}

/*
 * One pass over the authority, from a: where it ends (the first '/', '?'
 * or '#'), where the host starts (after the last '@'), and the last ':'
 * and first space after that start (NONE when there is none).
 */
#define NONE ((size_t)-1)

typedef struct url_scan {
    size_t end, host, colon, space;
} url_scan;

static void url_authority(const char *u, size_t n, size_t a, url_scan *s)
{
    size_t i;

    s->host = a;
    s->colon = s->space = NONE;
    for (i = a; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (!(cls[c] & C_URL))
            continue;
        if (c == '/' || c == '?' || c == '#')
            break;
        if (c == '@') {
            s->host = i + 1;
            s->colon = s->space = NONE;
        } else if (c == ':') {
            s->colon = i;
        } else if (s->space == NONE) {
            s->space = i;
        }
    }
    s->end = i;
}

/* The scheme; *a is set to where the authority starts. */
static const char *url_scheme(const char *u, size_t n, acmpca_sigv4_url *out, size_t *a)
{
    if (n > 8 && IEQ(u, 8, "https://")) {
        out->scheme = "https";
        *a = 8;
    } else if (n > 7 && IEQ(u, 7, "http://")) {
        out->scheme = "http";
        *a = 7;
    } else {
        return "url: expected http://host[:port][/path][?query] or https://...";
    }
    return NULL;
}

/* Where the host ends: after ']' for an IPv6 literal, else at the last ':'. */
static const char *url_host_end(const char *u, const url_scan *s, size_t *hend)
{
    size_t a = s->host, e = s->end;

    *hend = s->colon != NONE ? s->colon : e;
    if (u[a] == '[') {
        const char *rb = memchr(u + a, ']', e - a);
        if (rb == NULL)
            return "url: unterminated IPv6 address";
        *hend = (size_t)(rb - u) + 1;
        if (*hend < e && u[*hend] != ':')
            return "url: bad host";
    }
    if (*hend == a)
        return "url: missing host";
    if (s->space != NONE && s->space < *hend)
        return "url: host contains a space";
    return NULL;
}

/* The port of u[p..e) (after the ':'); *dflt when it is the scheme's default. */
static const char *url_port(const char *u, size_t p, size_t e, const char *scheme, int *dflt)
{
    long port = 0;
    size_t i;

    if (e - p == 0 || e - p > 5)
        return "url: bad port";
    for (i = p; i < e; i++) {
        if (u[i] < '0' || u[i] > '9')
            return "url: bad port";
        port = port * 10 + (u[i] - '0');
    }
    if (port < 1 || port > 65535)
        return "url: bad port";
    /* "0443" would be signed as written while HTTP clients (libcurl, the
     * client's endpoint) send the number: no leading zeros */
    if (u[p] == '0')
        return "url: bad port (leading zero)";
    *dflt = (port == 443 && scheme[4] == 's') || (port == 80 && scheme[4] == '\0');
    return NULL;
}

/* Path up to '?' or '#', query up to '#', from e (the end of the authority). */
static void url_path_query(const char *u, size_t n, size_t e, acmpca_sigv4_url *out)
{
    size_t pstart = e;

    while (e < n && u[e] != '?' && u[e] != '#')
        e++;
    out->path.p = u + pstart;
    out->path.n = e - pstart;
    out->query.p = "";
    out->query.n = 0;
    if (e < n && u[e] == '?') {
        size_t qs = ++e;
        const char *hash = memchr(u + qs, '#', n - qs);
        e = hash != NULL ? (size_t)(hash - u) : n;
        out->query.p = u + qs;
        out->query.n = e - qs;
    }
}

const char *acmpca_sigv4_parse_url(const char *u, size_t n, acmpca_sigv4_url *out)
{
    size_t a, hend;
    int dflt = 0;
    const char *problem;
    url_scan s;

    if ((problem = url_check_chars(u, n)) != NULL || (problem = url_scheme(u, n, out, &a)) != NULL)
        return problem;
    url_authority(u, n, a, &s); /* user info, up to the last '@', is dropped */
    if (s.host == s.end)
        return "url: missing host";
    if ((problem = url_host_end(u, &s, &hend)) != NULL)
        return problem;
    if (hend < s.end && (problem = url_port(u, hend + 1, s.end, out->scheme, &dflt)) != NULL)
        return problem;
    out->authority.p = u + s.host;
    out->authority.n = (dflt ? hend : s.end) - s.host;
    url_path_query(u, n, s.end, out);
    return NULL;
}

/* ------------------------------------------------------------ input checks */

#define UNSAFE_MSG "contains a space, control character or one of / , ; ="

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
        seterr(err, errlen, "%s: " UNSAFE_MSG, what);
        return -1;
    }
    return 0;
}

/* Method, host, path and query. */
static int check_request(const acmpca_sigv4_request *req, char *err, size_t errlen)
{
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
    if ((req->path.p != NULL && has_crlfnul(req->path.p, req->path.n)) ||
        (req->query.p != NULL && has_crlfnul(req->query.p, req->query.n))) {
        seterr(err, errlen, "url: contains CR, LF or NUL");
        return -1;
    }
    return 0;
}

static int check_key_id(const acmpca_str *id, char *err, size_t errlen)
{
    if (id->p == NULL || id->n == 0) {
        seterr(err, errlen, "credentials.access_key_id: expected a non-empty string");
        return -1;
    }
    if (!scope_safe(id->p, id->n)) {
        seterr(err, errlen, "credentials.access_key_id: " UNSAFE_MSG);
        return -1;
    }
    if (id->n > KEY_ID_MAX) {
        seterr(err, errlen, "credentials.access_key_id: longer than %d bytes", KEY_ID_MAX);
        return -1;
    }
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

static int check_time(int64_t t, char *err, size_t errlen)
{
    if (t < 0 || t > ACMPCA_SIGV4_MAX_TIME) {
        seterr(err, errlen, "time: out of range");
        return -1;
    }
    return 0;
}

/* Scope, key id (when need_key_id or given), token and time. */
static int check_config(const acmpca_sigv4_config *cfg, int need_key_id, char *err, size_t errlen)
{
    if (check_scope_part(&cfg->region, "region", err, errlen) != 0 ||
        check_scope_part(&cfg->service, "service", err, errlen) != 0)
        return -1;
    if ((need_key_id || cfg->access_key_id.p != NULL) &&
        check_key_id(&cfg->access_key_id, err, errlen) != 0)
        return -1;
    if (cfg->session_token.p != NULL && has_crlfnul(cfg->session_token.p, cfg->session_token.n)) {
        seterr(err, errlen, "credentials.session_token: contains CR, LF or NUL");
        return -1;
    }
    return check_time(cfg->time, err, errlen);
}

/*
 * Every header, signed or not: a name, and no CR, LF or NUL anywhere.
 * *names_len receives the names' total length.
 */
static int check_headers(const acmpca_sigv4_request *req, size_t *names_len, char *err,
                         size_t errlen)
{
    char q[64];
    size_t i;

    *names_len = 0;
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
        *names_len += hd->name.n;
    }
    return 0;
}

static int check_expires(long expires, char *err, size_t errlen)
{
    if (expires < 1 || expires > ACMPCA_SIGV4_EXPIRES_MAX) {
        seterr(err, errlen, "expires: expected an integer from 1 to %d", ACMPCA_SIGV4_EXPIRES_MAX);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ the signing state */

#define HSTACK 32
#define LNAMES_STACK 512

typedef struct sv {
    const acmpca_sigv4_request *req;
    const acmpca_sigv4_config *cfg;
    int presign;
    int sign_token; /* the token is part of the canonical headers/query */
    char amz_date[17];
    char payload_hash[65];
    size_t payload_hash_len;
    char scope[SCOPE_MAX];
    size_t scope_len;
    char signed_headers[ACMPCA_SIGV4_AUTH_MAX];
    size_t sh_len;
    hent *h; /* hstack, or malloc'd for many headers */
    size_t nh;
    char *lnames; /* lower-cased names: lnstack, or malloc'd */
    hent hstack[HSTACK];
    char lnstack[LNAMES_STACK];
} sv;

static void sv_init(sv *s, const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                    int presign)
{
    s->req = req;
    s->cfg = cfg;
    s->presign = presign;
    s->sign_token = cfg->session_token.p != NULL && !(cfg->flags & ACMPCA_SIGV4_OMIT_TOKEN);
    s->h = s->hstack;
    s->nh = 0;
    s->lnames = s->lnstack;
}

static void sv_release(sv *s)
{
    if (s->h != s->hstack)
        free(s->h);
    if (s->lnames != s->lnstack)
        free(s->lnames);
    s->h = s->hstack;
    s->lnames = s->lnstack;
}

/* "YYYYMMDD/region/service/aws4_request" */
static size_t build_scope(char *dst, const char *amz_date, const acmpca_str *region,
                          const acmpca_str *service)
{
    size_t o;

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

static void sv_date_scope(sv *s)
{
    acmpca_sigv4_amz_date(s->cfg->time, s->amz_date);
    s->scope_len = build_scope(s->scope, s->amz_date, &s->cfg->region, &s->cfg->service);
}

/* The given payload hash, or the hex SHA-256 of the body. */
static int sv_payload_hash(sv *s, char *err, size_t errlen)
{
    const acmpca_str *given = &s->cfg->payload_hash, *body = &s->req->body;
    unsigned char md[ACMPCA_SHA256_LEN];

    if (given->p != NULL) {
        if (given->n == 0 || given->n > 64 || has_crlfnul(given->p, given->n)) {
            seterr(err, errlen, "payload_hash: expected 1 to 64 bytes without CR, LF or NUL");
            return -1;
        }
        memcpy(s->payload_hash, given->p, given->n);
        s->payload_hash_len = given->n;
    } else {
        acmpca_sha256(body->p != NULL ? body->p : "", body->n, md);
        acmpca_hex(md, sizeof md, s->payload_hash);
        s->payload_hash_len = ACMPCA_SHA256_HEX_LEN;
    }
    s->payload_hash[s->payload_hash_len] = '\0';
    return 0;
}

/* Room for the header list and the lower-cased names (stack unless many). */
static int sv_reserve_headers(sv *s, size_t names_len)
{
    size_t cap = s->req->nheaders + 4;

    if (cap > HSTACK && (s->h = malloc(cap * sizeof *s->h)) == NULL)
        return -1;
    if (names_len > LNAMES_STACK && (s->lnames = malloc(names_len)) == NULL)
        return -1;
    return 0;
}

/* Add a header; ln (NULL for the signer's lower-case names) takes its name lower-cased. */
static void sv_add_header(sv *s, const char *name, size_t nlen, const char *value, size_t vlen,
                          char **ln)
{
    hent *e = &s->h[s->nh];
    size_t i;

    e->name = name;
    e->lname = name;
    if (ln != NULL) {
        for (i = 0; i < nlen; i++)
            (*ln)[i] = (char)lc((unsigned char)name[i]);
        e->lname = *ln;
        *ln += nlen;
    }
    e->nlen = nlen;
    e->value = value;
    e->vlen = vlen;
    e->idx = s->nh++;
}

/*
 * The signed headers (names_len: the request's names in total): the
 * request's, then host and the signer's own; sorted.
 */
static int sv_collect_headers(sv *s, size_t names_len, char *err, size_t errlen)
{
    const acmpca_sigv4_request *req = s->req;
    const acmpca_sigv4_config *cfg = s->cfg;
    size_t i;
    char *ln;

    if (sv_reserve_headers(s, names_len) != 0) {
        sv_release(s);
        seterr(err, errlen, "out of memory");
        return -1;
    }
    ln = s->lnames;
    for (i = 0; i < req->nheaders; i++) {
        const acmpca_header *hd = &req->headers[i];
        if (!header_skipped(hd->name.p, hd->name.n))
            sv_add_header(s, hd->name.p, hd->name.n, hd->value.p, hd->value.n, &ln);
    }
    sv_add_header(s, "host", 4, req->host.p, req->host.n, NULL);
    if (!s->presign) {
        sv_add_header(s, "x-amz-date", 10, s->amz_date, 16, NULL);
        if (s->sign_token)
            sv_add_header(s, "x-amz-security-token", 20, cfg->session_token.p, cfg->session_token.n,
                          NULL);
        if (cfg->flags & ACMPCA_SIGV4_SIGN_BODY)
            sv_add_header(s, "x-amz-content-sha256", 20, s->payload_hash, s->payload_hash_len,
                          NULL);
    }
    hent_sort(s->h, s->nh);
    return 0;
}

/* The distinct lower-cased names joined with ';'. */
static int sv_signed_headers(sv *s, char *err, size_t errlen)
{
    size_t i, o = 0;

    for (i = 0; i < s->nh; i++) {
        const hent *e = &s->h[i];
        if (i > 0 && same_lname(e, &s->h[i - 1]))
            continue; /* already listed */
        if (o + e->nlen + 2 > sizeof s->signed_headers) {
            sv_release(s);
            seterr(err, errlen, "headers: too many to sign");
            return -1;
        }
        if (o > 0)
            s->signed_headers[o++] = ';';
        memcpy(s->signed_headers + o, e->lname, e->nlen);
        o += e->nlen;
    }
    s->signed_headers[o] = '\0';
    s->sh_len = o;
    return 0;
}

/*
 * Every stage before the canonical request: check the input, date and
 * scope, payload hash, the sorted header list and the signed-headers
 * list.  On failure nothing stays allocated.
 */
static int sv_prepare(sv *s, const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                      int presign, int need_key_id, char *err, size_t errlen)
{
    size_t names_len;

    sv_init(s, req, cfg, presign);
    if (check_request(req, err, errlen) != 0 || check_config(cfg, need_key_id, err, errlen) != 0)
        return -1;
    if (presign && check_expires(cfg->expires, err, errlen) != 0)
        return -1;
    sv_date_scope(s);
    if (sv_payload_hash(s, err, errlen) != 0 || check_headers(req, &names_len, err, errlen) != 0 ||
        sv_collect_headers(s, names_len, err, errlen) != 0)
        return -1;
    return sv_signed_headers(s, err, errlen);
}

/* ------------------------------------------------------------ canonical path */

/*
 * Remove dot segments and empty segments of p[0..n) into out (n + 2
 * bytes): "/seg/seg...", a trailing '/' kept, ".." popping back to the
 * previous '/'.  Returns the length.
 */
static size_t normalize_path(const char *p, size_t n, char *out)
{
    size_t o = 0, i = 0;

    while (i < n) {
        size_t j = i, len;
        while (j < n && p[j] != '/')
            j++;
        len = j - i;
        if (len == 2 && p[i] == '.' && p[i + 1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (len > 0 && !(len == 1 && p[i] == '.')) {
            out[o++] = '/';
            memcpy(out + o, p + i, len);
            o += len;
        }
        i = j + 1;
    }
    if (o == 0 || p[n - 1] == '/')
        out[o++] = '/';
    return o;
}

/* The canonical URI: optionally normalised, then encoded with '/' kept. */
static int write_path(sink *k, const char *p, size_t n, int normalize, char *err, size_t errlen)
{
    char small[1024];
    char *out = small;

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
    sink_encode(k, out, normalize_path(p, n, out), 1);
    if (out != small)
        free(out);
    return 0;
}

/* ------------------------------------------------------------ canonical query */

typedef struct qparam {
    const char *k;
    size_t kn;
    const char *v;
    size_t vn;
} qparam;

/* Parameters, encoded into one block (on the stack unless unusually many). */
#define QSTACK 32
#define QBYTES 2048

typedef struct qlist {
    qparam *qp;
    size_t n;
    char *pos;   /* where the next encoded key or value goes */
    char *block; /* malloc'd, or NULL */
    qparam qsmall[QSTACK];
    char small[QBYTES];
} qlist;

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
        if (decode && c == '%' && i + 2 < n && hexval((unsigned char)p[i + 1]) >= 0 &&
            hexval((unsigned char)p[i + 2]) >= 0) {
            c = (unsigned char)(hexval((unsigned char)p[i + 1]) * 16 +
                                hexval((unsigned char)p[i + 2]));
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

/* Room for maxq parameters of need encoded bytes. */
static int qlist_init(qlist *l, size_t maxq, size_t need)
{
    l->n = 0;
    l->block = NULL;
    l->qp = l->qsmall;
    l->pos = l->small;
    if (need <= QBYTES && maxq <= QSTACK)
        return 0;
    l->block = malloc(maxq * sizeof(qparam) + need);
    if (l->block == NULL)
        return -1;
    l->qp = (qparam *)(void *)l->block;
    l->pos = l->block + maxq * sizeof(qparam);
    return 0;
}

/* Add one parameter, its key and value encoded (decoded first when decode). */
static void qlist_add(qlist *l, const char *k, size_t kn, const char *v, size_t vn, int decode)
{
    qparam *e = &l->qp[l->n++];

    e->k = l->pos;
    e->kn = encode_into(l->pos, k, kn, decode);
    l->pos += e->kn;
    e->v = l->pos;
    e->vn = encode_into(l->pos, v, vn, decode);
    l->pos += e->vn;
}

/* The request's own parameters: "k=v" or "k" between '&'s, empty ones dropped. */
static void qlist_parse(qlist *l, const acmpca_str *q)
{
    size_t i = 0;

    while (q->p != NULL && i < q->n) {
        size_t j = i, eq;
        while (j < q->n && q->p[j] != '&')
            j++;
        eq = i;
        while (eq < j && q->p[eq] != '=')
            eq++;
        if (eq < j)
            qlist_add(l, q->p + i, eq - i, q->p + eq + 1, j - eq - 1, 1);
        else if (j > i)
            qlist_add(l, q->p + i, j - i, "", 0, 1);
        i = j + 1;
    }
}

/* "AKID/20150830/region/service/aws4_request" into dst (KEY_ID_MAX + SCOPE_MAX + 2). */
static size_t build_credential(char *dst, const sv *s)
{
    const acmpca_str *id = &s->cfg->access_key_id;

    memcpy(dst, id->p, id->n);
    dst[id->n] = '/';
    memcpy(dst + id->n + 1, s->scope, s->scope_len);
    return id->n + 1 + s->scope_len;
}

/* The X-Amz-* parameters that presigning signs. */
static void qlist_add_presign(qlist *l, const sv *s)
{
    const acmpca_sigv4_config *cfg = s->cfg;
    char expires[24], credential[KEY_ID_MAX + SCOPE_MAX + 2];
    size_t credlen = build_credential(credential, s);
    int explen = snprintf(expires, sizeof expires, "%ld", cfg->expires);

    qlist_add(l, "X-Amz-Algorithm", 15, ALGORITHM, sizeof ALGORITHM - 1, 0);
    qlist_add(l, "X-Amz-Credential", 16, credential, credlen, 0);
    qlist_add(l, "X-Amz-Date", 10, s->amz_date, 16, 0);
    qlist_add(l, "X-Amz-Expires", 13, expires, (size_t)explen, 0);
    if (s->sign_token)
        qlist_add(l, "X-Amz-Security-Token", 20, cfg->session_token.p, cfg->session_token.n, 0);
    qlist_add(l, "X-Amz-SignedHeaders", 19, s->signed_headers, s->sh_len, 0);
}

static void qlist_sort(qlist *l)
{
    size_t a, b;

    if (l->n > 16) {
        qsort(l->qp, l->n, sizeof *l->qp, qparam_cmp);
        return;
    }
    for (a = 1; a < l->n; a++) {
        qparam t = l->qp[a];
        for (b = a; b > 0 && qparam_cmp(&l->qp[b - 1], &t) > 0; b--)
            l->qp[b] = l->qp[b - 1];
        l->qp[b] = t;
    }
}

static void qlist_write(const qlist *l, sink *k)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (i > 0)
            sink_putc(k, '&');
        sink_put(k, l->qp[i].k, l->qp[i].kn);
        sink_putc(k, '=');
        sink_put(k, l->qp[i].v, l->qp[i].vn);
    }
}

/* The canonical query: the request's parameters (+ presign ones), sorted. */
static int write_query(const sv *s, sink *k, char *err, size_t errlen)
{
    const acmpca_str *q = &s->req->query;
    size_t maxq = 0, need = 0, i;
    qlist l;

    if (q->p != NULL && q->n > 0) {
        maxq = 1;
        for (i = 0; i < q->n; i++)
            maxq += q->p[i] == '&';
        need = 3 * q->n;
    }
    if (s->presign) {
        maxq += 6;
        need += 3 * (s->cfg->access_key_id.n + 1 + s->scope_len + s->sh_len + 24 + 16 + 64) +
                (s->sign_token ? 3 * s->cfg->session_token.n : 0) + 128;
    }
    if (maxq == 0)
        return 0;
    if (qlist_init(&l, maxq, need) != 0) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    qlist_parse(&l, q);
    if (s->presign)
        qlist_add_presign(&l, s);
    qlist_sort(&l);
    qlist_write(&l, k);
    free(l.block);
    return 0;
}

/* ------------------------------------------------------------ canonical request */

/* "name:value[,value...]" lines, one per distinct lower-cased name. */
static void write_headers(const sv *s, sink *k)
{
    size_t i;

    for (i = 0; i < s->nh; i++) {
        const hent *e = &s->h[i];
        if (i > 0 && same_lname(e, &s->h[i - 1])) {
            sink_putc(k, ',');
        } else {
            if (i > 0)
                sink_putc(k, '\n');
            sink_put(k, e->lname, e->nlen);
            sink_putc(k, ':');
        }
        sink_value(k, e->value, e->vlen);
    }
    sink_putc(k, '\n');
}

/* method \n path \n query \n headers \n signed headers \n payload hash */
static int sv_write_creq(const sv *s, sink *k, char *err, size_t errlen)
{
    const acmpca_sigv4_request *req = s->req;

    sink_put(k, req->method.p, req->method.n);
    sink_putc(k, '\n');
    if (write_path(k, req->path.p != NULL ? req->path.p : "", req->path.n,
                   (s->cfg->flags & ACMPCA_SIGV4_NORMALIZE_PATH) != 0, err, errlen) != 0)
        return -1;
    sink_putc(k, '\n');
    if (write_query(s, k, err, errlen) != 0)
        return -1;
    sink_putc(k, '\n');
    write_headers(s, k);
    sink_putc(k, '\n');
    sink_put(k, s->signed_headers, s->sh_len);
    sink_putc(k, '\n');
    sink_put(k, s->payload_hash, s->payload_hash_len); /* the caller flushes */
    return 0;
}

/* ------------------------------------------------------------ string to sign, signature */

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

/* The SHA-256 of the canonical request, streamed and never stored. */
static int sv_hash_creq(const sv *s, unsigned char md[ACMPCA_SHA256_LEN], char *err, size_t errlen)
{
    acmpca_sha256_ctx c;
    sink k;

    acmpca_sha256_init(&c);
    sink_init(&k, &c, NULL);
    if (sv_write_creq(s, &k, err, errlen) != 0)
        return -1;
    sink_flush(&k);
    acmpca_sha256_final(&c, md);
    return 0;
}

/*
 * The canonical request's SHA-256 from its whole text t[0..n) (n > HEAD):
 * resumed from the cached head when the cache has this first block, else
 * computed, the head made for the cache.
 */
static void creq_digest(kuse *u, const char *t, size_t n, unsigned char md[ACMPCA_SHA256_LEN])
{
    acmpca_sha256_ctx c;

    if (u->had_creq) {
        c = u->creq_head;
    } else {
        acmpca_sha256_init(&c);
        acmpca_sha256_update(&c, t, HEAD);
        u->creq_head = c;
        u->made_creq = 1;
    }
    acmpca_sha256_update(&c, t + HEAD, n - HEAD);
    acmpca_sha256_final(&c, md);
}

/*
 * The signature: HMAC of the string to sign (n > HEAD), resumed the same
 * way; u's states are used up (the made head is kept for the cache).
 */
static void sts_hmac(kuse *u, const char *sts, size_t n, unsigned char md[ACMPCA_SHA256_LEN])
{
    if (!u->had_sts) {
        acmpca_sha256_update(&u->hk.inner, sts, HEAD);
        u->sts_head = u->hk.inner;
        u->made_sts = 1;
    }
    acmpca_hmac_finish(u->had_sts ? &u->sts_head : &u->hk.inner, &u->hk.outer, sts + HEAD, n - HEAD,
                       md);
}

/*
 * The canonical request into k's buffer; 1 when it is all there (the usual
 * case), 0 when it was longer (then nothing of it is kept), -1 on error.
 */
static int sv_buffer_creq(const sv *s, sink *k, char *err, size_t errlen)
{
    sink_init(k, NULL, NULL);
    if (sv_write_creq(s, k, err, errlen) != 0)
        return -1;
    return k->emitted == 0 && k->n > HEAD;
}

/*
 * Sign: the canonical request (buffered when it fits), the key and the
 * cached heads, the request's digest, the string to sign, its HMAC; then
 * the heads made here go to the cache.  sig receives 64 hex digits + NUL.
 */
static int sv_sign(const sv *s, char sig[65], char *err, size_t errlen)
{
    const acmpca_sigv4_config *cfg = s->cfg;
    kquery q = {
        &cfg->secret_access_key, s->amz_date, &cfg->region, &cfg->service, s->amz_date, NULL, {0}};
    unsigned char md[ACMPCA_SHA256_LEN];
    char sts[STS_MAX];
    int whole, rc = -1;
    sink k;
    kuse u;

    if ((whole = sv_buffer_creq(s, &k, err, errlen)) < 0)
        return -1;
    q.creq_first = whole ? k.buf : NULL;
    u.made_sts = u.made_creq = 0;
    if (derive_key(&q, NULL, &u) != 0) {
        seterr(err, errlen, "out of memory");
    } else if (whole) {
        creq_digest(&u, k.buf, k.n, md);
        rc = 0;
    } else { /* long: written again, streamed into SHA-256 */
        rc = sv_hash_creq(s, md, err, errlen);
    }
    if (rc == 0) {
        sts_hmac(&u, sts, build_sts(sts, s->amz_date, s->scope, s->scope_len, md), md);
        kcache_store_heads(&q, &u);
        acmpca_hex(md, sizeof md, sig);
        sig[64] = '\0';
    }
    acmpca_cleanse(&u, sizeof u);
    return rc;
}

/*
 * Prepare and sign: the stages every signing API shares.  On success s
 * holds the date, scope and signed headers (its header list already
 * released).
 */
static int sign_request(sv *s, const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                        int presign, char sig[65], char *err, size_t errlen)
{
    int rc;

    if (req == NULL || cfg == NULL) {
        seterr(err, errlen, "NULL argument");
        return -1;
    }
    if (check_secret(cfg, err, errlen) != 0 ||
        sv_prepare(s, req, cfg, presign, 1, err, errlen) != 0)
        return -1;
    rc = sv_sign(s, sig, err, errlen);
    sv_release(s);
    return rc;
}

/* ------------------------------------------------------------ header signing */

/* Append p[0..n) to the Authorization buffer; -1 when it would not fit. */
static int auth_put(acmpca_sigv4_result *out, size_t *o, const char *p, size_t n)
{
    if (*o + n >= sizeof out->authorization)
        return -1;
    memcpy(out->authorization + *o, p, n);
    *o += n;
    return 0;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static int write_authorization(const sv *s, acmpca_sigv4_result *out, char *err, size_t errlen)
{
    const acmpca_str *id = &s->cfg->access_key_id;
    size_t o = 0;

    if (auth_put(out, &o, ALGORITHM " Credential=", sizeof ALGORITHM + 11) != 0 ||
        auth_put(out, &o, id->p, id->n) != 0 || auth_put(out, &o, "/", 1) != 0 ||
        auth_put(out, &o, s->scope, s->scope_len) != 0 ||
        auth_put(out, &o, ", SignedHeaders=", 16) != 0 ||
        auth_put(out, &o, s->signed_headers, s->sh_len) != 0 ||
        auth_put(out, &o, ", Signature=", 12) != 0 || auth_put(out, &o, out->signature, 64) != 0) {
        seterr(err, errlen, "headers: Authorization would exceed %d bytes",
               ACMPCA_SIGV4_AUTH_MAX - 1);
        return -1;
    }
    out->authorization[o] = '\0';
    out->authorization_len = o;
    return 0;
}

int acmpca_sigv4_sign(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                      acmpca_sigv4_result *out, char *err, size_t errlen)
{
    sv s;

    if (out == NULL) {
        seterr(err, errlen, "NULL argument");
        return -1;
    }
    if (sign_request(&s, req, cfg, 0, out->signature, err, errlen) != 0 ||
        write_authorization(&s, out, err, errlen) != 0)
        return -1;
    memcpy(out->amz_date, s.amz_date, sizeof out->amz_date);
    memcpy(out->payload_hash, s.payload_hash, s.payload_hash_len + 1);
    return 0;
}

/* ------------------------------------------------------------ presigning */

/* The URL's X-Amz-* parameters, in the order AWS's examples give them. */
static void write_presign_params(const sv *s, const char sig[65], sink *k)
{
    const acmpca_sigv4_config *cfg = s->cfg;
    char expires[24];
    int n = snprintf(expires, sizeof expires, "%ld", cfg->expires);

    SINK_LIT(k, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=");
    sink_encode(k, cfg->access_key_id.p, cfg->access_key_id.n, 0);
    SINK_LIT(k, "%2F");
    sink_encode(k, s->scope, s->scope_len, 0);
    SINK_LIT(k, "&X-Amz-Date=");
    sink_put(k, s->amz_date, 16);
    SINK_LIT(k, "&X-Amz-SignedHeaders=");
    sink_encode(k, s->signed_headers, s->sh_len, 0);
    SINK_LIT(k, "&X-Amz-Expires=");
    sink_put(k, expires, (size_t)n);
    if (cfg->session_token.p != NULL) {
        SINK_LIT(k, "&X-Amz-Security-Token=");
        sink_encode(k, cfg->session_token.p, cfg->session_token.n, 0);
    }
    SINK_LIT(k, "&X-Amz-Signature=");
    sink_put(k, sig, 64);
    sink_flush(k);
}

int acmpca_sigv4_presign(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                         acmpca_sigv4_text *out, char *err, size_t errlen)
{
    sv s;
    sink k;
    char sig[65];

    if (out == NULL) {
        seterr(err, errlen, "NULL argument");
        return -1;
    }
    if (sign_request(&s, req, cfg, 1, sig, err, errlen) != 0)
        return -1;
    /* s's fixed buffers (date, scope, signed headers) outlive sv_release */
    sink_init(&k, NULL, out);
    write_presign_params(&s, sig, &k);
    return 0;
}

/* ------------------------------------------------------------ the texts of signing */

int acmpca_sigv4_canonical_request(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                                   int presign, acmpca_sigv4_text *creq,
                                   acmpca_sigv4_text *signed_headers, char *err, size_t errlen)
{
    sv s;
    sink k;
    int rc;

    if (req == NULL || cfg == NULL || creq == NULL) {
        seterr(err, errlen, "NULL argument");
        return -1;
    }
    if (sv_prepare(&s, req, cfg, presign != 0, presign != 0, err, errlen) != 0)
        return -1;
    sink_init(&k, NULL, creq);
    rc = sv_write_creq(&s, &k, err, errlen);
    sink_flush(&k);
    sv_release(&s);
    if (rc == 0 && signed_headers != NULL) {
        sink_init(&k, NULL, signed_headers);
        sink_put(&k, s.signed_headers, s.sh_len);
        sink_flush(&k);
    }
    return rc;
}

int acmpca_sigv4_string_to_sign(const char *creq, size_t creq_len, const acmpca_sigv4_config *cfg,
                                acmpca_sigv4_text *out, char *err, size_t errlen)
{
    char date[17], scope[SCOPE_MAX], sts[STS_MAX];
    unsigned char md[ACMPCA_SHA256_LEN];
    size_t sl;
    sink k;

    if (creq == NULL || cfg == NULL || out == NULL) {
        seterr(err, errlen, "NULL argument");
        return -1;
    }
    if (check_scope_part(&cfg->region, "region", err, errlen) != 0 ||
        check_scope_part(&cfg->service, "service", err, errlen) != 0 ||
        check_time(cfg->time, err, errlen) != 0)
        return -1;
    acmpca_sigv4_amz_date(cfg->time, date);
    sl = build_scope(scope, date, &cfg->region, &cfg->service);
    acmpca_sha256(creq, creq_len, md);
    sink_init(&k, NULL, out);
    sink_put(&k, sts, build_sts(sts, date, scope, sl, md));
    sink_flush(&k);
    return 0;
}

int acmpca_sigv4_signing_key(const acmpca_str *secret, const acmpca_str *date,
                             const acmpca_str *region, const acmpca_str *service,
                             unsigned char key[32], char *err, size_t errlen)
{
    int v;

    if (secret->p == NULL || secret->n == 0) {
        seterr(err, errlen, "secret: expected a non-empty string");
        return -1;
    }
    if (date->p == NULL || date->n != 8 || digits(date->p, 8, &v) != 0) {
        seterr(err, errlen, "yyyymmdd: expected 8 digits");
        return -1;
    }
    if (check_scope_part(region, "region", err, errlen) != 0 ||
        check_scope_part(service, "service", err, errlen) != 0)
        return -1;
    kquery q = {secret, date->p, region, service, NULL, NULL, {0}};

    if (derive_key(&q, key, NULL) != 0) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
