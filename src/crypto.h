/*
 * crypto.h: SHA-256, HMAC-SHA256 and hex through OpenSSL's EVP API.
 *
 * Nothing here is hand-rolled; these are thin, allocation-free wrappers
 * that the signer and the client share.
 */
#ifndef ACMPCA_CRYPTO_H
#define ACMPCA_CRYPTO_H

#include <stddef.h>
#include "compat.h"

#define ACMPCA_SHA256_LEN 32
#define ACMPCA_SHA256_HEX_LEN 64

/* out receives 32 raw bytes.  Return 0 on success, -1 on an OpenSSL failure. */
ACMPCA_HIDDEN int acmpca_sha256(const void *data, size_t len,
                                unsigned char out[ACMPCA_SHA256_LEN]);
ACMPCA_HIDDEN int acmpca_hmac_sha256(const void *key, size_t keylen,
                                     const void *data, size_t len,
                                     unsigned char out[ACMPCA_SHA256_LEN]);

/* Lower-case hex of len bytes into out (2*len chars, no terminator). */
ACMPCA_HIDDEN void acmpca_hex(const unsigned char *in, size_t len, char *out);

#endif
