/*
 * crypto.c: SHA-256, HMAC-SHA256 and hex for acmpca.core, over OpenSSL.
 *
 * Owns the OpenSSL side of the module and nothing of Lua (the primitives
 * sha256_hex, sha1_hex, hmac_sha256 and hex are bound in crypto_lua.c).
 *
 * Why SHA256_CTX and not EVP: OpenSSL 3.0 deprecates the SHA256_*
 * functions in favour of EVP, but its EVP digests allocate and free a
 * provider context on every EVP_DigestInit_ex2 and EVP_MD_CTX_copy_ex (and
 * EVP_MAC re-keying copies two of them), which cost the signer about 0.4
 * microseconds per signature next to its four hashes (bench/sign.lua, Lua
 * 5.4, measured side by side).  SHA256_CTX runs the same SHA-256 assembly
 * with a state that lives on the stack and copies with '=', so a pre-keyed
 * HMAC is two struct copies.  OPENSSL_SUPPRESS_DEPRECATED is OpenSSL's
 * documented switch for callers that keep these functions; crypto.h stops
 * the build with a clear message where they were compiled out.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "crypto.h"

#define BLOCK 64 /* SHA-256 block, the HMAC key block */

/* ------------------------------------------------------------ SHA-256 */

/* SHA256_Init/Update/Final cannot fail on a valid state: they return 1. */
void acmpca_sha256_init(acmpca_sha256_ctx *c)
{
    SHA256_Init(&c->s);
}

void acmpca_sha256_update(acmpca_sha256_ctx *c, const void *data, size_t len)
{
    SHA256_Update(&c->s, data, len);
}

void acmpca_sha256_final(acmpca_sha256_ctx *c, unsigned char out[ACMPCA_SHA256_LEN])
{
    SHA256_Final(out, &c->s);
}

void acmpca_sha256(const void *data, size_t len, unsigned char out[ACMPCA_SHA256_LEN])
{
    acmpca_sha256_ctx c;

    SHA256_Init(&c.s);
    SHA256_Update(&c.s, data, len);
    SHA256_Final(out, &c.s);
}

/* ------------------------------------------------------------ SHA-1 */

/* OpenSSL's one-shot SHA1 (not deprecated; it cannot fail). */
void acmpca_sha1(const void *data, size_t len, unsigned char out[ACMPCA_SHA1_LEN])
{
    SHA1(data, len, out);
}

/* ------------------------------------------------------------ HMAC (RFC 2104) */

/* The state after one block of key ^ pad. */
static void absorb_pad(acmpca_sha256_ctx *c, const unsigned char key[BLOCK], unsigned char pad)
{
    unsigned char block[BLOCK];
    int i;

    for (i = 0; i < BLOCK; i++)
        block[i] = key[i] ^ pad;
    SHA256_Init(&c->s);
    SHA256_Update(&c->s, block, BLOCK);
    OPENSSL_cleanse(block, sizeof block);
}

void acmpca_hmac_key_init(acmpca_hmac_key *k, const void *key, size_t keylen)
{
    unsigned char block[BLOCK] = {0};

    if (keylen > BLOCK)
        acmpca_sha256(key, keylen, block);
    else if (keylen > 0)
        memcpy(block, key, keylen);
    absorb_pad(&k->inner, block, 0x36);
    absorb_pad(&k->outer, block, 0x5c);
    OPENSSL_cleanse(block, sizeof block);
}

void acmpca_hmac_key_clear(acmpca_hmac_key *k)
{
    OPENSSL_cleanse(k, sizeof *k);
}

void acmpca_hmac_keyed(const acmpca_hmac_key *k, const void *data, size_t len,
                       unsigned char out[ACMPCA_SHA256_LEN])
{
    acmpca_hmac_key c = *k;

    acmpca_hmac_finish(&c.inner, &c.outer, data, len, out);
}

void acmpca_hmac_finish(acmpca_sha256_ctx *inner, acmpca_sha256_ctx *outer, const void *data,
                        size_t len, unsigned char out[ACMPCA_SHA256_LEN])
{
    unsigned char inner_md[ACMPCA_SHA256_LEN];

    SHA256_Update(&inner->s, data, len);
    SHA256_Final(inner_md, &inner->s);
    SHA256_Update(&outer->s, inner_md, sizeof inner_md);
    SHA256_Final(out, &outer->s); /* the states now hold digests, no key material */
}

void acmpca_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                        unsigned char out[ACMPCA_SHA256_LEN])
{
    acmpca_hmac_key k;

    acmpca_hmac_key_init(&k, key, keylen);
    acmpca_hmac_keyed(&k, data, len, out);
    acmpca_hmac_key_clear(&k);
}

/* ------------------------------------------------------------ hex, cleansing */

/* Two hex digits per byte value, so each byte is one 2-byte copy. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void acmpca_hex(const unsigned char *in, size_t len, char *out)
{
    size_t i = 0;

    for (; i + 4 <= len; i += 4) { /* unrolled: digests are 32 bytes */
        memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
        memcpy(out + 2 * i + 2, hex_pairs + 2 * in[i + 1], 2);
        memcpy(out + 2 * i + 4, hex_pairs + 2 * in[i + 2], 2);
        memcpy(out + 2 * i + 6, hex_pairs + 2 * in[i + 3], 2);
    }
    for (; i < len; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
}

void acmpca_cleanse(void *p, size_t len)
{
#if defined(__GNUC__)
    memset(p, 0, len);
    __asm__ __volatile__("" : : "r"(p) : "memory"); /* the stores stay */
#else
    OPENSSL_cleanse(p, len);
#endif
}
