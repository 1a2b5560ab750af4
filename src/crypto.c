/*
 * crypto.c: SHA-256, HMAC-SHA256 and hex for acmpca.core, over OpenSSL.
 *
 * Owns the OpenSSL side of the module and nothing of Lua: the SHA-256
 * digest and HMAC MAC are fetched by the first user (acmpca_crypto_retain:
 * a Lua state opening the module, or a C program) and freed by the last;
 * the per-call contexts live in a small lock-free pool of reusable sets,
 * so hashing costs no fetch and no context allocation after warm-up, from
 * any thread.  The Lua primitives sha256_hex, hmac_sha256 and hex are in
 * crypto_lua.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto.h"

/* ------------------------------------------------------------ algorithms */

/*
 * Fetched once and shared by every user in the process; counted so that
 * the last user to go frees them (with the idle context sets) before, for
 * a Lua state, the shared object is unloaded, and valgrind sees nothing
 * lost.
 */
static pthread_mutex_t algs_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int algs_users; /* retains not yet released */
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;

static int algs_ready(void)
{
    return sha256_md != NULL && hmac_mac != NULL;
}

/* ------------------------------------------------------------ context pool */

struct acmpca_crypto {
    EVP_MD_CTX *md;
    EVP_MAC_CTX *mac;
    int keyed;                             /* mac holds key32 (see hmac_key32) */
    unsigned char key32[ACMPCA_SHA256_LEN]; /* derived key material, cleansed on free */
};

/*
 * Idle sets wait in these slots; taking one is an atomic exchange, giving
 * one back a compare-and-swap into an empty slot.  Sets beyond the slots
 * (more threads signing at once than slots) are freed on release, and so
 * is every set once the algorithms are gone.  The last unretain drains the
 * pool, so nothing is lost when the library goes; a later user refills it.
 */
#define POOL_SLOTS 8
static _Atomic(acmpca_crypto *) pool[POOL_SLOTS];

static void crypto_free(acmpca_crypto *c)
{
    if (c == NULL)
        return;
    OPENSSL_cleanse(c->key32, sizeof c->key32);
    EVP_MD_CTX_free(c->md);
    EVP_MAC_CTX_free(c->mac);
    free(c);
}

static acmpca_crypto *crypto_new(void)
{
    acmpca_crypto *c;
    OSSL_PARAM params[2];

    if (!algs_ready())
        return NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->md = EVP_MD_CTX_new();
    c->mac = EVP_MAC_CTX_new(hmac_mac);
    if (c->md == NULL || c->mac == NULL)
        goto fail;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_CTX_set_params(c->mac, params))
        goto fail;
    return c;
fail:
    crypto_free(c);
    return NULL;
}

acmpca_crypto *acmpca_crypto_acquire(void)
{
    int i;

    for (i = 0; i < POOL_SLOTS; i++) {
        acmpca_crypto *c = atomic_exchange_explicit(&pool[i], NULL, memory_order_acquire);
        if (c != NULL)
            return c;
    }
    return crypto_new();
}

void acmpca_crypto_release(acmpca_crypto *c)
{
    int i;

    if (c == NULL)
        return;
    if (atomic_load_explicit(&algs_users, memory_order_relaxed) == 0) {
        crypto_free(c); /* the pool is drained for good */
        return;
    }
    for (i = 0; i < POOL_SLOTS; i++) {
        acmpca_crypto *expect = NULL;
        if (atomic_compare_exchange_strong_explicit(&pool[i], &expect, c,
                                                    memory_order_release,
                                                    memory_order_relaxed))
            return;
    }
    crypto_free(c);
}

/* ------------------------------------------------------------ users */

int acmpca_crypto_retain(void)
{
    int ok;

    pthread_mutex_lock(&algs_lock);
    atomic_fetch_add(&algs_users, 1);
    if (sha256_md == NULL)
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (hmac_mac == NULL)
        hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ok = algs_ready();
    pthread_mutex_unlock(&algs_lock);
    return ok ? 0 : -1;
}

/*
 * The last user frees the idle sets and the algorithms; sets in use
 * elsewhere come back through release, which frees them then.
 */
void acmpca_crypto_unretain(void)
{
    int i;

    pthread_mutex_lock(&algs_lock);
    if (atomic_fetch_sub(&algs_users, 1) == 1) {
        for (i = 0; i < POOL_SLOTS; i++)
            crypto_free(atomic_exchange_explicit(&pool[i], NULL, memory_order_acquire));
        EVP_MD_free(sha256_md);
        EVP_MAC_free(hmac_mac);
        sha256_md = NULL;
        hmac_mac = NULL;
    }
    pthread_mutex_unlock(&algs_lock);
}

/* ------------------------------------------------------------ hashing */

int acmpca_crypto_sha256_begin(acmpca_crypto *c)
{
    return EVP_DigestInit_ex2(c->md, sha256_md, NULL) ? 0 : -1;
}

int acmpca_crypto_sha256_update(acmpca_crypto *c, const void *data, size_t len)
{
    return EVP_DigestUpdate(c->md, data, len) ? 0 : -1;
}

int acmpca_crypto_sha256_end(acmpca_crypto *c, unsigned char out[ACMPCA_SHA256_LEN])
{
    unsigned int n = 0;
    return EVP_DigestFinal_ex(c->md, out, &n) && n == ACMPCA_SHA256_LEN ? 0 : -1;
}

int acmpca_crypto_sha256(acmpca_crypto *c, const void *data, size_t len,
                         unsigned char out[ACMPCA_SHA256_LEN])
{
    if (acmpca_crypto_sha256_begin(c) != 0 || acmpca_crypto_sha256_update(c, data, len) != 0)
        return -1;
    return acmpca_crypto_sha256_end(c, out);
}

int acmpca_crypto_hmac(acmpca_crypto *c, const void *key, size_t keylen,
                       const void *data, size_t len, unsigned char out[ACMPCA_SHA256_LEN])
{
    static const unsigned char nokey[1] = { 0 };
    size_t n = 0;

    /* A NULL key would mean "keep the previous key": never what we want. */
    if (key == NULL)
        key = nokey;
    c->keyed = 0;
    if (!EVP_MAC_init(c->mac, key, keylen, NULL) || !EVP_MAC_update(c->mac, data, len)
        || !EVP_MAC_final(c->mac, out, &n, ACMPCA_SHA256_LEN) || n != ACMPCA_SHA256_LEN)
        return -1;
    return 0;
}

int acmpca_crypto_hmac_key32(acmpca_crypto *c, const unsigned char key[ACMPCA_SHA256_LEN],
                             const void *data, size_t len, unsigned char out[ACMPCA_SHA256_LEN])
{
    size_t n = 0;
    int same = c->keyed && CRYPTO_memcmp(c->key32, key, ACMPCA_SHA256_LEN) == 0;

    /* EVP_MAC_init with a NULL key restarts from the stored keyed state. */
    c->keyed = 0;
    if (!EVP_MAC_init(c->mac, same ? NULL : key, same ? 0 : ACMPCA_SHA256_LEN, NULL)
        || !EVP_MAC_update(c->mac, data, len)
        || !EVP_MAC_final(c->mac, out, &n, ACMPCA_SHA256_LEN) || n != ACMPCA_SHA256_LEN)
        return -1;
    memcpy(c->key32, key, ACMPCA_SHA256_LEN);
    c->keyed = 1;
    return 0;
}

void acmpca_crypto_error(const char *what, char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();
    char msg[256];

    if (e != 0)
        ERR_error_string_n(e, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "unknown OpenSSL failure");
    snprintf(err, errlen, "%s: %s", what, msg);
    ERR_clear_error();
}

/* ------------------------------------------------------------ public one-shots */

int acmpca_sha256(const void *data, size_t len, unsigned char out[ACMPCA_SHA256_LEN])
{
    acmpca_crypto *c = acmpca_crypto_acquire();
    int rc;

    if (c == NULL)
        return -1;
    rc = acmpca_crypto_sha256(c, data, len, out);
    acmpca_crypto_release(c);
    return rc;
}

int acmpca_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       unsigned char out[ACMPCA_SHA256_LEN])
{
    acmpca_crypto *c = acmpca_crypto_acquire();
    int rc;

    if (c == NULL)
        return -1;
    rc = acmpca_crypto_hmac(c, key, keylen, data, len, out);
    acmpca_crypto_release(c);
    return rc;
}

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
    size_t i;

    for (i = 0; i < len; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
}
