/*
 * sign_c.c: the pure-C signer's rate, the floor under bench/sign.lua.
 *
 *   build/sign_c [rounds] [signatures per round]     (make build/sign_c)
 *
 * Signs the same ACM PCA CreatePermission request as bench/sign.lua with
 * acmpca_sigv4_sign (src/sigv4.c and src/crypto.c over OpenSSL, no Lua)
 * and prints the median over the rounds of signatures per second and
 * microseconds per signature (CPU time), in one line that bench/sign.lua
 * reads to print beside its own figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

#define LIT(s)                                                                                     \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
#define MAX_ROUNDS 101

#define CA_ARN                                                                                     \
    "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"                                \
    "12345678-1234-1234-1234-123456789012"

static const char BODY[] = "{\"CertificateAuthorityArn\":\"" CA_ARN "\","
                           "\"Principal\":\"acm.amazonaws.com\","
                           "\"Actions\":[\"IssueCertificate\",\"GetCertificate\","
                           "\"ListPermissions\"]}";

static double cpu_seconds(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n signatures; the seconds they took, or -1 when signing failed. */
static double round_of(long n, const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                       acmpca_sigv4_result *out)
{
    char err[256];
    double t0 = cpu_seconds();
    long i;

    for (i = 0; i < n; i++) {
        if (acmpca_sigv4_sign(req, cfg, out, err, sizeof err) != 0) {
            fprintf(stderr, "sign_c: %s\n", err);
            return -1;
        }
    }
    return cpu_seconds() - t0;
}

int main(int argc, char **argv)
{
    static const acmpca_header headers[2] = {
        {LIT("Content-Type"), LIT("application/x-amz-json-1.1")},
        {LIT("X-Amz-Target"), LIT("ACMPrivateCA.CreatePermission")},
    };
    const acmpca_sigv4_request req = {
        .method = LIT("POST"),
        .host = LIT("acm-pca.us-east-1.amazonaws.com"),
        .path = LIT("/"),
        .query = LIT(""),
        .headers = headers,
        .nheaders = 2,
        .body = {BODY, sizeof BODY - 1},
    };
    const acmpca_sigv4_config cfg = {
        .region = LIT("us-east-1"),
        .service = LIT("acm-pca"),
        .access_key_id = LIT("AKIDEXAMPLE"),
        .secret_access_key = LIT("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        .time = 1700000000,
        .flags = ACMPCA_SIGV4_NORMALIZE_PATH,
    };
    int rounds = argc > 1 ? atoi(argv[1]) : 7, i;
    long per_round = argc > 2 ? atol(argv[2]) : 400000;
    double rates[MAX_ROUNDS], dt, median;
    acmpca_sigv4_result out;

    if (rounds < 1 || rounds > MAX_ROUNDS || per_round < 1) {
        fprintf(stderr, "usage: sign_c [rounds 1..%d] [signatures per round]\n", MAX_ROUNDS);
        return 2;
    }
    if (round_of(per_round / 10 + 1, &req, &cfg, &out) < 0) /* warm-up, key cache */
        return 1;
    for (i = 0; i < rounds; i++) {
        if ((dt = round_of(per_round, &req, &cfg, &out)) < 0)
            return 1;
        rates[i] = (double)per_round / dt;
    }
    qsort(rates, (size_t)rounds, sizeof *rates, cmp_double);
    median = rates[(rounds - 1) / 2];
    printf("C acmpca_sigv4_sign: median %.0f signatures/s, %.2f us/signature "
           "(min %.0f/s, max %.0f/s, %d rounds x %ld)\n",
           median, 1e6 / median, rates[0], rates[rounds - 1], rounds, per_round);
    return 0;
}
