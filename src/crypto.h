/*
 * crypto.h: SHA-256, HMAC-SHA256 and hex through OpenSSL's EVP API.
 *
 * Lua-free: the signer, the client and the C test program share these
 * thin, allocation-free wrappers; crypto_lua.c binds them for Lua.
 * Nothing here is hand-rolled.
 */
#ifndef ACMPCA_CRYPTO_H
#define ACMPCA_CRYPTO_H

#include <stddef.h>
#include "visibility.h"

#define ACMPCA_SHA256_LEN 32
#define ACMPCA_SHA256_HEX_LEN 64

/*
 * The process-wide algorithms (SHA-256 digest, HMAC MAC), counted: each
 * user (a Lua state that opened the module, a C program) retains them
 * before its first use and releases them after its last; the last release
 * frees them with the idle context sets.  Retain returns 0, or -1 when
 * OpenSSL cannot provide the algorithms (the count is kept either way, so
 * every retain is matched by one release).
 */
ACMPCA_HIDDEN int acmpca_crypto_retain(void);
ACMPCA_HIDDEN void acmpca_crypto_unretain(void);

/* out receives 32 raw bytes.  Return 0 on success, -1 on an OpenSSL failure. */
ACMPCA_HIDDEN int acmpca_sha256(const void *data, size_t len,
                                unsigned char out[ACMPCA_SHA256_LEN]);
ACMPCA_HIDDEN int acmpca_hmac_sha256(const void *key, size_t keylen,
                                     const void *data, size_t len,
                                     unsigned char out[ACMPCA_SHA256_LEN]);

/* Lower-case hex of len bytes into out (2*len chars, no terminator). */
ACMPCA_HIDDEN void acmpca_hex(const unsigned char *in, size_t len, char *out);

/*
 * A set of reusable OpenSSL contexts (one SHA-256 digest, one HMAC-SHA256
 * MAC) for callers that hash several things in a row, such as the signer.
 * Sets come from a small lock-free pool, so any thread may take one; give
 * it back with acmpca_crypto_release.  NULL means OpenSSL failed (or the
 * algorithms are not retained).
 */
typedef struct acmpca_crypto acmpca_crypto;

ACMPCA_HIDDEN acmpca_crypto *acmpca_crypto_acquire(void);
ACMPCA_HIDDEN void acmpca_crypto_release(acmpca_crypto *c);

/* Streaming SHA-256 on a set: begin, update..., end.  0 or -1. */
ACMPCA_HIDDEN int acmpca_crypto_sha256_begin(acmpca_crypto *c);
ACMPCA_HIDDEN int acmpca_crypto_sha256_update(acmpca_crypto *c, const void *data,
                                              size_t len);
ACMPCA_HIDDEN int acmpca_crypto_sha256_end(acmpca_crypto *c,
                                           unsigned char out[ACMPCA_SHA256_LEN]);
/* One-shot SHA-256 and HMAC-SHA256 on a set.  0 or -1. */
ACMPCA_HIDDEN int acmpca_crypto_sha256(acmpca_crypto *c, const void *data, size_t len,
                                       unsigned char out[ACMPCA_SHA256_LEN]);
ACMPCA_HIDDEN int acmpca_crypto_hmac(acmpca_crypto *c, const void *key, size_t keylen,
                                     const void *data, size_t len,
                                     unsigned char out[ACMPCA_SHA256_LEN]);

/*
 * HMAC-SHA256 with a 32-byte key that is usually the one used last on this
 * set (the signer's signing key): then the keyed state is reused instead of
 * re-keying, which OpenSSL 3.0 makes costly.  0 or -1.
 */
ACMPCA_HIDDEN int acmpca_crypto_hmac_key32(acmpca_crypto *c,
                                           const unsigned char key[ACMPCA_SHA256_LEN],
                                           const void *data, size_t len,
                                           unsigned char out[ACMPCA_SHA256_LEN]);

/* "what: <OpenSSL error queue>" into err, then clear the queue. */
ACMPCA_HIDDEN void acmpca_crypto_error(const char *what, char *err, size_t errlen);

#endif
