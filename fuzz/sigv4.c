/*
 * fuzz/sigv4.c: libFuzzer target for the SigV4 signer (src/sigv4.c):
 * canonicalisation of the method, path, query and headers, the canonical
 * request and string to sign, header signing and presigning, with a fixed
 * key.
 *
 * Input: one flags byte, then NUL-separated fields: method, host, path,
 * query, body, and any number of headers "name:value" (split at the first
 * ':'; no ':' means an empty value).  Flags: bit 0 normalise the path,
 * bit 1 sign the body hash, bit 2 a session token, bit 3 the token
 * unsigned, bit 4 a fixed payload hash, bits 5-7 the time.
 *
 * Oracles, beyond the sanitizers:
 *   - the canonical request is the same text twice, measured (cap 0) and
 *     written, and cut snprintf-style into a short buffer;
 *   - the signature of sign and of presign equals the HMAC chain computed
 *     from scratch over that canonical request (so the signer's buffered,
 *     streamed and cached paths agree with the text it shows);
 *   - sign succeeds whenever the canonical request does, except for the
 *     Authorization length limit;
 *   - no error, Authorization or presigned query holds the secret or the
 *     session token (the token is expected, encoded, in the presigned
 *     query only).
 */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 200
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "FuzzSessionTokenSecretValue"
#define UNSIGNED "UNSIGNED-PAYLOAD"

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz/sigv4: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static acmpca_str span(const char *p, size_t n)
{
    return (acmpca_str){p, n};
}

/*
 * The input itself holds the secret or the token (the fuzzer learns them
 * from the comparisons below): a message quoting the input may then hold
 * them too, and proves nothing.
 */
static int input_has_secret;

/* Neither the secret nor the token, anywhere in s[0..n). */
static void no_secret(const char *s, size_t n, const char *where)
{
    if (input_has_secret)
        return;
    if (memmem(s, n, SECRET, sizeof SECRET - 1) != NULL ||
        memmem(s, n, TOKEN, sizeof TOKEN - 1) != NULL)
        die("a secret leaked into", where);
}

/* The text of canonical_request, measured then written; NULL when it refused. */
static char *creq_text(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                       int presign, size_t *len)
{
    char err[256] = "";
    acmpca_sigv4_text m = {NULL, 0, 0}, t;
    if (acmpca_sigv4_canonical_request(req, cfg, presign, &m, NULL, err, sizeof err) != 0) {
        no_secret(err, strlen(err), "a canonical_request error");
        return NULL;
    }
    t = (acmpca_sigv4_text){malloc(m.len + 1), m.len + 1, 0};
    if (acmpca_sigv4_canonical_request(req, cfg, presign, &t, NULL, err, sizeof err) != 0)
        die("canonical_request failed the second time", err);
    if (t.len != m.len || t.p[t.len] != '\0' || strlen(t.p) != t.len)
        die("canonical_request measured and written differ", NULL);
    /* a short buffer holds the start, NUL-terminated, and the full length */
    char cut[17];
    acmpca_sigv4_text c = {cut, sizeof cut, 0};
    if (acmpca_sigv4_canonical_request(req, cfg, presign, &c, NULL, err, sizeof err) != 0 ||
        c.len != t.len || strncmp(cut, t.p, sizeof cut - 1) != 0 ||
        (c.len < sizeof cut && strcmp(cut, t.p) != 0))
        die("canonical_request into a short buffer", NULL);
    *len = t.len;
    return t.p;
}

/* The signature of a canonical request, from scratch: 64 hex digits. */
static void expected_signature(const char *creq, size_t n, const acmpca_sigv4_config *cfg,
                               char hex[65])
{
    char err[256], sts[ACMPCA_SIGV4_STS_MAX], date[17];
    unsigned char key[32], md[32];
    acmpca_sigv4_text t = {sts, sizeof sts, 0};
    acmpca_sigv4_amz_date(cfg->time, date);
    acmpca_str d = {date, 8};
    if (acmpca_sigv4_string_to_sign(creq, n, cfg, &t, err, sizeof err) != 0 ||
        t.len >= sizeof sts)
        die("string_to_sign", err);
    if (acmpca_sigv4_signing_key(&cfg->secret_access_key, &d, &cfg->region, &cfg->service, key,
                                 err, sizeof err) != 0)
        die("signing_key", err);
    acmpca_hmac_sha256(key, sizeof key, sts, t.len, md);
    acmpca_hex(md, sizeof md, hex);
    hex[64] = '\0';
}

static void check_sign(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg)
{
    char err[256] = "", want[65];
    size_t n;
    acmpca_sigv4_result out;
    char *creq = creq_text(req, cfg, 0, &n);
    char *again = creq_text(req, cfg, 0, &n);
    if ((creq == NULL) != (again == NULL) || (creq && strcmp(creq, again) != 0))
        die("canonical_request differs between two calls", NULL);
    free(again);
    int rc = acmpca_sigv4_sign(req, cfg, &out, err, sizeof err);
    if (rc != 0) {
        no_secret(err, strlen(err), "a sign error");
        if (creq != NULL && strstr(err, "Authorization would exceed") == NULL)
            die("sign refused what canonical_request accepted", err);
        free(creq);
        return;
    }
    if (creq == NULL)
        die("sign accepted what canonical_request refused", NULL);
    no_secret(out.authorization, out.authorization_len, "the Authorization value");
    expected_signature(creq, n, cfg, want);
    if (strcmp(want, out.signature) != 0)
        die("the signature is not the HMAC chain of the canonical request", creq);
    free(creq);
}

static void check_presign(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg)
{
    char err[256] = "", want[65];
    size_t n;
    acmpca_sigv4_text m = {NULL, 0, 0}, t;
    char *creq = creq_text(req, cfg, 1, &n);
    if (acmpca_sigv4_presign(req, cfg, &m, err, sizeof err) != 0) {
        no_secret(err, strlen(err), "a presign error");
        free(creq);
        return;
    }
    if (creq == NULL)
        die("presign accepted what canonical_request refused", NULL);
    t = (acmpca_sigv4_text){malloc(m.len + 1), m.len + 1, 0};
    if (acmpca_sigv4_presign(req, cfg, &t, err, sizeof err) != 0 || t.len != m.len)
        die("presign measured and written differ", err);
    /* the token is in the query, percent-encoded: only the secret is forbidden */
    if (!input_has_secret && memmem(t.p, t.len, SECRET, sizeof SECRET - 1) != NULL)
        die("the secret leaked into a presigned query", NULL);
    const char *sig = strstr(t.p, "X-Amz-Signature=");
    expected_signature(creq, n, cfg, want);
    if (sig == NULL || strcmp(sig + 16, want) != 0)
        die("the presigned signature is not the HMAC chain of the canonical request", creq);
    free(t.p);
    free(creq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t times[8] = {1440938160, 0, 951782400, 4102444799, 1700000000,
                                     ACMPCA_SIGV4_MAX_TIME, 1440938161, 86399};
    const char *f[MAX_FIELDS];
    size_t fn[MAX_FIELDS], nf = 0;
    acmpca_header h[MAX_FIELDS];
    size_t nh = 0;

    if (size < 1)
        return 0;
    input_has_secret = memmem(data, size, SECRET, sizeof SECRET - 1) != NULL ||
                       memmem(data, size, TOKEN, sizeof TOKEN - 1) != NULL;
    unsigned flags = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p <= end && nf < MAX_FIELDS) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        f[nf] = p;
        fn[nf++] = (size_t)((z ? z : end) - p);
        if (z == NULL)
            break;
        p = z + 1;
    }
    while (nf < 5) {
        f[nf] = "";
        fn[nf++] = 0;
    }
    for (size_t i = 5; i < nf; i++) {
        const char *colon = memchr(f[i], ':', fn[i]);
        size_t nl = colon ? (size_t)(colon - f[i]) : fn[i];
        h[nh].name = span(f[i], nl);
        h[nh++].value = colon ? span(colon + 1, fn[i] - nl - 1) : span("", 0);
    }

    acmpca_sigv4_request req = {
        span(f[0], fn[0]), span(f[1], fn[1]), span(f[2], fn[2]), span(f[3], fn[3]),
        h, nh, span(f[4], fn[4]),
    };
    acmpca_sigv4_config cfg = {
        span("us-east-1", 9),
        span("acm-pca", 7),
        span("AKIDEXAMPLE", 11),
        span(SECRET, sizeof SECRET - 1),
        (flags & 4) ? span(TOKEN, sizeof TOKEN - 1) : span(NULL, 0),
        times[(flags >> 5) & 7],
        (flags & 1 ? ACMPCA_SIGV4_NORMALIZE_PATH : 0) | (flags & 2 ? ACMPCA_SIGV4_SIGN_BODY : 0) |
            (flags & 8 ? ACMPCA_SIGV4_OMIT_TOKEN : 0),
        (flags & 16) ? span(UNSIGNED, sizeof UNSIGNED - 1) : span(NULL, 0),
        3600,
    };
    check_sign(&req, &cfg);
    check_presign(&req, &cfg);
    return 0;
}
