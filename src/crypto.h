/*
 * crypto.h: SHA-256, HMAC-SHA256 and hex for acmpca.core, over OpenSSL.
 *
 * Lua-free: the signer, the C test program and the benchmark use it
 * directly; crypto_lua.c binds it for Lua.  The SHA-256 is OpenSSL's own
 * (SHA256_Init/Update/Final and its assembly); states are plain structs on
 * the caller's stack, so nothing here allocates, locks or fails.  HMAC is
 * RFC 2104 over it, with a pre-keyed form for a key used many times (the
 * signer's signing key).
 */
#ifndef ACMPCA_CRYPTO_H
#define ACMPCA_CRYPTO_H

#include <stddef.h>
#include <openssl/sha.h>
#include "visibility.h"

#if defined(OPENSSL_NO_DEPRECATED_3_0)
#error "acmpca needs OpenSSL's SHA256_CTX functions (not built with no-deprecated); see crypto.c"
#endif

#define ACMPCA_SHA256_LEN 32
#define ACMPCA_SHA256_HEX_LEN 64
#define ACMPCA_SHA1_LEN 20

/* A SHA-256 state; '=' copies it. */
typedef struct acmpca_sha256_ctx {
    SHA256_CTX s;
} acmpca_sha256_ctx;

ACMPCA_HIDDEN void acmpca_sha256_init(acmpca_sha256_ctx *c);
ACMPCA_HIDDEN void acmpca_sha256_update(acmpca_sha256_ctx *c, const void *data, size_t len);
/* The digest into out; the state's buffered input is cleansed. */
ACMPCA_HIDDEN void acmpca_sha256_final(acmpca_sha256_ctx *c, unsigned char out[ACMPCA_SHA256_LEN]);
/* One shot. */
ACMPCA_HIDDEN void acmpca_sha256(const void *data, size_t len,
                                 unsigned char out[ACMPCA_SHA256_LEN]);

/*
 * An HMAC-SHA256 key absorbed once: the states after its inner and outer
 * pad blocks.  Key material: clear it with acmpca_hmac_key_clear.
 */
typedef struct acmpca_hmac_key {
    acmpca_sha256_ctx inner;
    acmpca_sha256_ctx outer;
} acmpca_hmac_key;

ACMPCA_HIDDEN void acmpca_hmac_key_init(acmpca_hmac_key *k, const void *key, size_t keylen);
ACMPCA_HIDDEN void acmpca_hmac_key_clear(acmpca_hmac_key *k);
/* HMAC-SHA256(key, data) with a pre-keyed k: two state copies, no re-keying. */
ACMPCA_HIDDEN void acmpca_hmac_keyed(const acmpca_hmac_key *k, const void *data, size_t len,
                                     unsigned char out[ACMPCA_SHA256_LEN]);
/*
 * The end of an HMAC, consuming copies of a key's states: inner has
 * absorbed the message but its last len bytes (data), outer is untouched.
 */
ACMPCA_HIDDEN void acmpca_hmac_finish(acmpca_sha256_ctx *inner, acmpca_sha256_ctx *outer,
                                      const void *data, size_t len,
                                      unsigned char out[ACMPCA_SHA256_LEN]);
/* One shot, any key length (a key longer than a block is hashed first). */
ACMPCA_HIDDEN void acmpca_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                                      unsigned char out[ACMPCA_SHA256_LEN]);

/*
 * SHA-1, one shot: only for names (the AWS CLI's cache file names are
 * SHA-1 hex digests of their arguments), never for signing.
 */
ACMPCA_HIDDEN void acmpca_sha1(const void *data, size_t len, unsigned char out[ACMPCA_SHA1_LEN]);

/* Lower-case hex of len bytes into out (2*len chars, no terminator). */
ACMPCA_HIDDEN void acmpca_hex(const unsigned char *in, size_t len, char *out);

/* Zero memory that held secrets, in a way the compiler keeps. */
ACMPCA_HIDDEN void acmpca_cleanse(void *p, size_t len);

#endif
