/*
 * fuzz/endpoint.c: libFuzzer target for the URL and name parsers:
 * src/endpoint.c (custom endpoint URLs, region names, derived endpoints),
 * src/arn.c (CA ARNs) and the signer's URL splitter
 * (acmpca_sigv4_parse_url in src/sigv4.c).
 *
 * The whole input goes to every parser, as a NUL-terminated string
 * (acmpca_endpoint_parse needs one).  Oracles, beyond the sanitizers:
 *   - a parsed endpoint's URL, host and path re-parse to themselves, the
 *     host holds no space or control byte, the path starts with '/';
 *   - a parsed ARN rebuilt from its parts is the input;
 *   - a valid region derives, with every FIPS/dual-stack flag, a host that
 *     fits and a URL both URL parsers accept, with that host (or, for
 *     dual-stack only, a refusal that leaves both empty);
 *   - the signer's split parts lie inside the input, in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arn.h"
#include "endpoint.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *s, size_t n)
{
    fprintf(stderr, "fuzz/endpoint: %s: \"%.*s\"\n", what, (int)(n > 300 ? 300 : n), s);
    abort();
}

static int same(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* ------------------------------------------------------------ endpoints */

static void check_endpoint(const char *s, size_t n)
{
    acmpca_endpoint ep, again;
    acmpca_sigv4_url u;
    if (acmpca_endpoint_parse(s, n, &ep) != NULL) {
        if (ep.url != NULL || ep.host != NULL || ep.path != NULL)
            die("a refused endpoint left strings behind", s, n);
        return;
    }
    if (ep.host[0] == '\0' || ep.path[0] != '/')
        die("empty host or relative path", s, n);
    for (const char *q = ep.host; *q; q++)
        if ((unsigned char)*q <= 32 || *q == 127 || *q == '/' || *q == '@')
            die("host holds a space, control byte, '/' or '@'", ep.host, strlen(ep.host));
    if (strncmp(ep.url, s, n) != 0)
        die("the URL is not the input", ep.url, strlen(ep.url));
    if (acmpca_endpoint_parse(ep.url, strlen(ep.url), &again) != NULL)
        die("the parsed URL does not parse again", ep.url, strlen(ep.url));
    if (!same(again.url, ep.url) || !same(again.host, ep.host) || !same(again.path, ep.path))
        die("the parsed URL parses differently", ep.url, strlen(ep.url));
    /* The signer's splitter must agree on the host, a port with leading
     * zeros ("h:0443", "h:08080") included. */
    if (acmpca_sigv4_parse_url(ep.url, strlen(ep.url), &u) == NULL &&
        (u.authority.n != strlen(ep.host) || memcmp(u.authority.p, ep.host, u.authority.n) != 0))
        die("the signer's authority differs from the endpoint's host", ep.url, strlen(ep.url));
    acmpca_endpoint_free(&again);
    acmpca_endpoint_free(&ep);
    acmpca_endpoint_free(&ep); /* idempotent */
}

static void check_region(const char *s, size_t n)
{
    char host[ACMPCA_HOST_MAX], url[ACMPCA_URL_MAX];
    acmpca_endpoint ep;
    if (!acmpca_region_valid(s, n))
        return;
    for (int flags = 0; flags < 4; flags++) {
        if (acmpca_endpoint_derive(s, n, flags, host, url) != NULL) {
            if (!(flags & ACMPCA_EP_DUALSTACK) || host[0] != '\0' || url[0] != '\0')
                die("a refused derivation left a host, or refused no dual-stack", s, n);
            continue;
        }
        if (strlen(host) + 1 >= ACMPCA_HOST_MAX || strlen(url) + 1 >= ACMPCA_URL_MAX)
            die("a derived endpoint filled its buffer", url, strlen(url));
        if (acmpca_endpoint_parse(url, strlen(url), &ep) != NULL)
            die("a derived URL does not parse", url, strlen(url));
        if (!same(ep.host, host) || !same(ep.path, "/"))
            die("a derived URL parses to another host", url, strlen(url));
        acmpca_endpoint_free(&ep);
    }
}

/* ------------------------------------------------------------ ARNs */

static void check_arn(const char *s, size_t n)
{
    acmpca_arn a;
    char back[256];
    if (acmpca_arn_parse(s, n, &a) != NULL)
        return;
    int k = snprintf(back, sizeof back, "arn:%.*s:acm-pca:%.*s:%.*s:certificate-authority/%.*s",
                     (int)a.partition.n, a.partition.p, (int)a.region.n, a.region.p,
                     (int)a.account.n, a.account.p, (int)a.id.n, a.id.p);
    if (k < 0 || (size_t)k != n || memcmp(back, s, n) != 0)
        die("the ARN's parts do not rebuild it", s, n);
    if (a.account.n != 12 || a.partition.n == 0 || a.region.n == 0 || a.id.n == 0)
        die("an ARN part has the wrong length", s, n);
}

/* ------------------------------------------------------------ the signer's splitter */

static int inside(const char *s, size_t n, acmpca_str part)
{
    return part.n == 0 || (part.p >= s && part.p + part.n <= s + n);
}

static void check_url_split(const char *s, size_t n)
{
    acmpca_sigv4_url u;
    if (acmpca_sigv4_parse_url(s, n, &u) != NULL)
        return;
    if (!same(u.scheme, "https") && !same(u.scheme, "http"))
        die("unknown scheme accepted", s, n);
    if (!inside(s, n, u.path) || !inside(s, n, u.query) || u.authority.n == 0)
        die("a URL part lies outside the URL", s, n);
    if (u.path.n && u.query.n && u.path.p + u.path.n > u.query.p)
        die("the path runs into the query", s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    check_endpoint(s, size);
    check_region(s, size);
    check_arn(s, size);
    check_url_split(s, size);
    free(s);
    return 0;
}
