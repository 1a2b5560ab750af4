/*
 * sigv4.h: the C interface of the AWS Signature V4 signer.
 *
 * A pure C library (OpenSSL underneath, no Lua): the ACM PCA client
 * (client.c), the Lua binding (sigv4_lua.c) and the C test program
 * (spec/c/sigv4_test.c) share this one implementation.  It never
 * allocates on the Lua heap and never copies the secret anywhere but into
 * the bounded signing-key cache, which keys on a digest of it.  It is
 * safe to call from any thread (the cache has a mutex).
 *
 * Every function returns 0, or -1 with a message in err (errlen bytes,
 * never containing the secret or the session token).
 */
#ifndef ACMPCA_SIGV4_H
#define ACMPCA_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include "str.h"
#include "visibility.h"


typedef struct acmpca_header {
    acmpca_str name;  /* any case */
    acmpca_str value; /* raw; trimmed and space-collapsed when canonicalised */
} acmpca_header;

/* The request to sign. */
typedef struct acmpca_sigv4_request {
    acmpca_str method;            /* e.g. "POST" */
    acmpca_str host;              /* the Host header value, port included when not default */
    acmpca_str path;              /* raw path as in the URL; empty means "/" */
    acmpca_str query;             /* raw query without '?', may be empty */
    const acmpca_header *headers; /* further headers; host, x-amz-date,
                                     x-amz-security-token, x-amz-content-sha256,
                                     authorization, user-agent, expect and
                                     x-amzn-trace-id among them are not signed */
    size_t nheaders;
    acmpca_str body; /* hashed unless payload_hash is set */
} acmpca_sigv4_request;

#define ACMPCA_SIGV4_NORMALIZE_PATH 0x1 /* remove dot segments, merge slashes */
#define ACMPCA_SIGV4_SIGN_BODY 0x2      /* add and sign x-amz-content-sha256 */
#define ACMPCA_SIGV4_OMIT_TOKEN 0x4     /* token sent but not signed */

#define ACMPCA_SIGV4_MAX_TIME INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define ACMPCA_SIGV4_EXPIRES_MAX 604800             /* seven days */

typedef struct acmpca_sigv4_config {
    acmpca_str region;
    acmpca_str service;
    acmpca_str access_key_id;
    acmpca_str secret_access_key;
    acmpca_str session_token; /* p == NULL: no token */
    int64_t time;             /* unix seconds, UTC, 0..ACMPCA_SIGV4_MAX_TIME */
    unsigned flags;           /* ACMPCA_SIGV4_* */
    acmpca_str payload_hash;  /* p == NULL: lower-case hex SHA-256 of body */
    long expires;             /* presigning only: X-Amz-Expires, 1..604800 */
} acmpca_sigv4_config;

#define ACMPCA_SIGV4_AUTH_MAX 2048

typedef struct acmpca_sigv4_result {
    char amz_date[17];                         /* "YYYYMMDDTHHMMSSZ" + NUL */
    char payload_hash[65];                     /* what went into the canonical request + NUL */
    char signature[65];                        /* lower-case hex + NUL */
    char authorization[ACMPCA_SIGV4_AUTH_MAX]; /* the Authorization value + NUL */
    size_t authorization_len;
} acmpca_sigv4_result;

/*
 * Text written into a caller's buffer, snprintf-style: at most cap bytes
 * are stored and len is set to the full length, so the text is complete
 * (and NUL-terminated) when len < cap.  cap 0 (p may be NULL) measures.
 */
typedef struct acmpca_sigv4_text {
    char *p;
    size_t cap;
    size_t len;
} acmpca_sigv4_text;

/* Header-based signing: the values of X-Amz-Date, Authorization, ... */
ACMPCA_HIDDEN int acmpca_sigv4_sign(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                                    acmpca_sigv4_result *out, char *err, size_t errlen);

/*
 * Query-string signing (a presigned URL, valid cfg->expires seconds): out
 * receives the parameters to append to the request's query,
 * "X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Date=...&
 * X-Amz-SignedHeaders=...&X-Amz-Expires=...[&X-Amz-Security-Token=...]&
 * X-Amz-Signature=<hex>" (the token is listed even when it is not signed).
 */
ACMPCA_HIDDEN int acmpca_sigv4_presign(const acmpca_sigv4_request *req,
                                       const acmpca_sigv4_config *cfg, acmpca_sigv4_text *out,
                                       char *err, size_t errlen);

/*
 * The canonical request that sign (presign = 0) or presign (presign = 1)
 * would hash, and optionally its signed-headers list.  The header form
 * needs no credentials (an access key id is checked when given); neither
 * form needs the secret.
 */
ACMPCA_HIDDEN int acmpca_sigv4_canonical_request(const acmpca_sigv4_request *req,
                                                 const acmpca_sigv4_config *cfg, int presign,
                                                 acmpca_sigv4_text *creq,
                                                 acmpca_sigv4_text *signed_headers, char *err,
                                                 size_t errlen);

/* The longest string to sign, NUL included. */
#define ACMPCA_SIGV4_STS_MAX 512

/*
 * The string to sign of a canonical request: algorithm, cfg->time, the
 * scope of cfg->region and cfg->service, and the request's SHA-256.
 */
ACMPCA_HIDDEN int acmpca_sigv4_string_to_sign(const char *creq, size_t creq_len,
                                              const acmpca_sigv4_config *cfg,
                                              acmpca_sigv4_text *out, char *err, size_t errlen);

/* The signing key of secret, date ("YYYYMMDD"), region and service (cached). */
ACMPCA_HIDDEN int acmpca_sigv4_signing_key(const acmpca_str *secret, const acmpca_str *date,
                                           const acmpca_str *region, const acmpca_str *service,
                                           unsigned char key[32], char *err, size_t errlen);

/* A URL split into what a request needs; the parts point into the URL. */
typedef struct acmpca_sigv4_url {
    const char *scheme;   /* "https" or "http" */
    acmpca_str authority; /* host[:port], the scheme's default port dropped */
    acmpca_str path;      /* up to '?' or '#'; may be empty */
    acmpca_str query;     /* after '?', up to '#'; may be empty */
} acmpca_sigv4_url;

/*
 * Split http(s)://[userinfo@]host[:port][/path][?query][#fragment] (user
 * info dropped): NULL, or what is wrong ("url: bad port", ...).
 */
ACMPCA_HIDDEN const char *acmpca_sigv4_parse_url(const char *url, size_t n, acmpca_sigv4_url *out);

/* "YYYYMMDDTHHMMSSZ" for unix seconds t; buf holds 17 bytes. */
ACMPCA_HIDDEN void acmpca_sigv4_amz_date(int64_t t, char buf[17]);

/* "YYYYMMDDTHHMMSSZ" (1970 onwards) -> unix seconds: 0, or -1 when invalid. */
ACMPCA_HIDDEN int acmpca_sigv4_parse_amz_date(const char *p, size_t n, int64_t *t);

#endif
