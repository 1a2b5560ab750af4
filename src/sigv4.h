/*
 * sigv4.h: the C interface of the AWS Signature V4 signer.
 *
 * The Lua functions of acmpca.sigv4 and the ACM PCA client (client.c)
 * share this one implementation.  It never allocates on the Lua heap and
 * never copies the secret anywhere but into the bounded signing-key cache,
 * which keys on a digest of it.
 */
#ifndef ACMPCA_SIGV4_H
#define ACMPCA_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include "compat.h"

/* A byte string that need not be NUL-terminated; p == NULL means absent. */
typedef struct acmpca_str {
    const char *p;
    size_t n;
} acmpca_str;

typedef struct acmpca_header {
    acmpca_str name;  /* any case */
    acmpca_str value; /* raw; trimmed and space-collapsed when canonicalised */
} acmpca_header;

/* The request to sign. */
typedef struct acmpca_sigv4_request {
    acmpca_str method; /* e.g. "POST" */
    acmpca_str host;   /* the Host header value, port included when not default */
    acmpca_str path;   /* raw path as in the URL; empty means "/" */
    acmpca_str query;  /* raw query without '?', may be empty */
    const acmpca_header *headers; /* further headers to sign; host, x-amz-date,
                                     x-amz-security-token, x-amz-content-sha256
                                     and authorization must not be among them */
    size_t nheaders;
    acmpca_str body; /* hashed unless payload_hash is set */
} acmpca_sigv4_request;

#define ACMPCA_SIGV4_NORMALIZE_PATH 0x1 /* remove dot segments, merge slashes */
#define ACMPCA_SIGV4_SIGN_BODY 0x2      /* add and sign x-amz-content-sha256 */
#define ACMPCA_SIGV4_OMIT_TOKEN 0x4     /* token sent but not signed */

typedef struct acmpca_sigv4_config {
    acmpca_str region;
    acmpca_str service;
    acmpca_str access_key_id;
    acmpca_str secret_access_key;
    acmpca_str session_token; /* p == NULL: no token */
    int64_t time;             /* unix seconds, UTC */
    unsigned flags;           /* ACMPCA_SIGV4_* */
    acmpca_str payload_hash;  /* p == NULL: lower-case hex SHA-256 of body */
} acmpca_sigv4_config;

#define ACMPCA_SIGV4_AUTH_MAX 2048

typedef struct acmpca_sigv4_result {
    char amz_date[17];       /* "YYYYMMDDTHHMMSSZ" + NUL */
    char payload_hash[65];   /* what went into the canonical request + NUL */
    char signature[65];      /* lower-case hex + NUL */
    char authorization[ACMPCA_SIGV4_AUTH_MAX]; /* the Authorization value + NUL */
    size_t authorization_len;
} acmpca_sigv4_result;

/*
 * Header-based signing.  Returns 0 and fills out, or -1 with a message in
 * err (never containing the secret or the token).
 */
ACMPCA_HIDDEN int acmpca_sigv4_sign(const acmpca_sigv4_request *req,
                                    const acmpca_sigv4_config *cfg,
                                    acmpca_sigv4_result *out,
                                    char *err, size_t errlen);

/* "YYYYMMDDTHHMMSSZ" for unix seconds t; buf holds 17 bytes. */
ACMPCA_HIDDEN void acmpca_sigv4_amz_date(int64_t t, char buf[17]);

#endif
