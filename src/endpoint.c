/*
 * endpoint.c: region names, partition rules and custom endpoint URLs.
 *
 * Custom endpoints are refused with userinfo ("user:password@host"): the
 * message says so and never repeats the URL (callers must not either).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"

/* ------------------------------------------------------------ regions */

static int region_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

int acmpca_region_valid(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!region_char((unsigned char)s[i]))
            return 0;
    return 1;
}

static int has_prefix(const char *s, size_t n, const char *pfx)
{
    size_t k = strlen(pfx);
    return n > k && memcmp(s, pfx, k) == 0;
}

/* A partition of endpoint-rule-set-1.json: the region prefix that selects
 * it (the first match wins; "aws" takes the rest), its DNS suffixes and
 * whether it has dual-stack endpoints (every partition has FIPS ones). */
typedef struct partition {
    const char *prefix, *name, *dns, *dual;
    int dualstack;
} partition;

static const partition PARTITIONS[] = {
    {"cn-", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", 1},
    {"us-gov-", "aws-us-gov", "amazonaws.com", "api.aws", 1},
    {"us-iso-", "aws-iso", "c2s.ic.gov", "c2s.ic.gov", 0},
    {"us-isob-", "aws-iso-b", "sc2s.sgov.gov", "sc2s.sgov.gov", 0},
    {"", "aws", "amazonaws.com", "api.aws", 1},
};

static const partition *find_partition(const char *region, size_t n)
{
    const partition *p = PARTITIONS;
    while (p->prefix[0] != '\0' && !has_prefix(region, n, p->prefix))
        p++;
    return p;
}

const char *acmpca_endpoint_derive(const char *region, size_t n, int flags, char *host,
                                   char *url)
{
    const partition *p = find_partition(region, n);
    int fips = (flags & ACMPCA_EP_FIPS) != 0, dual = (flags & ACMPCA_EP_DUALSTACK) != 0;
    host[0] = url[0] = '\0';
    if (dual && !p->dualstack)
        return fips ? "FIPS and dual-stack are enabled, but this partition does not "
                      "support one or both"
                    : "dual-stack is enabled but this partition does not support it";
    /* GovCloud's FIPS endpoint is the plain name (not with dual-stack) */
    if (fips && !dual && strcmp(p->name, "aws-us-gov") == 0)
        fips = 0;
    snprintf(host, ACMPCA_HOST_MAX, "acm-pca%s.%.*s.%s", fips ? "-fips" : "", (int)n, region,
             dual ? p->dual : p->dns);
    snprintf(url, ACMPCA_URL_MAX, "https://%s/", host);
    return NULL;
}

const char *acmpca_endpoint_partition(const char *region, size_t n)
{
    return find_partition(region, n)->name;
}

/* ------------------------------------------------------------ custom URLs */

/* Skip an IPv6 literal "[...]" (a zone such as "%25eth0" allowed). */
static const char *skip_ipv6(const char *p, const char **why)
{
    for (p++; *p && *p != ']'; p++)
        if (!isalnum((unsigned char)*p) && *p != ':' && *p != '.' && *p != '%' && *p != '-' &&
            *p != '_') {
            *why = "invalid IPv6 address";
            return NULL;
        }
    if (*p != ']') {
        *why = "unterminated IPv6 address";
        return NULL;
    }
    return p + 1;
}

static const char *skip_host(const char *p, const char **why)
{
    if (*p == '[')
        return skip_ipv6(p, why);
    while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#') {
        if (*p == '@' || (unsigned char)*p <= 32 || *p == 127) {
            *why = "invalid host";
            return NULL;
        }
        p++;
    }
    return p;
}

/* An '@' in the authority (from p up to the path, query or fragment). */
static int has_userinfo(const char *p)
{
    size_t n = strcspn(p, "/?#");
    return memchr(p, '@', n) != NULL;
}

/* ":port" at p (if any) into *port (0: none); returns the end, or NULL
 * with *why.  Leading zeros are read away, as the signer's URL splitter
 * and acmpca.url read them. */
static const char *skip_port(const char *p, long *port, const char **why)
{
    long v = 0;
    const char *start;
    *port = 0;
    if (*p != ':')
        return p;
    start = ++p;
    while (*p >= '0' && *p <= '9' && v <= 65535)
        v = v * 10 + (*p++ - '0');
    if (p == start || v < 1 || v > 65535) {
        *why = "invalid port";
        return NULL;
    }
    *port = v;
    return p;
}

static const char *check_path(const char *path)
{
    if (*path != '\0' && *path != '/')
        return "invalid host or port";
    for (const char *q = path; *q; q++)
        if (*q == '?' || *q == '#' || (unsigned char)*q <= 32 || *q == 127)
            return "the path must not hold a query, a fragment or spaces";
    return NULL;
}

/* Fill ep from the parsed spans; the Host is the host and the port's
 * number, without a default port. */
static const char *fill(acmpca_endpoint *ep, const char *s, size_t n, int https,
                        const char *host, const char *hend, long port, const char *path)
{
    int default_port = port == 0 || port == (https ? 443 : 80);
    size_t hlen = (size_t)(hend - host);
    ep->host = malloc(hlen + 8); /* ":65535" and the NUL */
    ep->path = strdup(*path ? path : "/");
    ep->url = malloc(n + 2);
    if (ep->host == NULL || ep->path == NULL || ep->url == NULL) {
        acmpca_endpoint_free(ep);
        return "out of memory";
    }
    memcpy(ep->host, host, hlen);
    ep->host[hlen] = '\0';
    if (!default_port)
        snprintf(ep->host + hlen, 8, ":%ld", port);
    memcpy(ep->url, s, n + 1);
    if (*path == '\0')
        memcpy(ep->url + n, "/", 2);
    return NULL;
}

const char *acmpca_endpoint_parse(const char *s, size_t n, acmpca_endpoint *ep)
{
    const char *p, *host, *hend, *path, *why = NULL;
    long port;
    int https;
    memset(ep, 0, sizeof *ep);
    if (strlen(s) != n)
        return "contains NUL";
    if (n > 1024)
        return "too long";
    if (strncasecmp(s, "https://", 8) == 0)
        https = 1, p = s + 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        https = 0, p = s + 7;
    else
        return "expected an http:// or https:// URL";
    host = p;
    if (has_userinfo(p))
        return "userinfo (user:password@) is not allowed";
    if ((hend = skip_host(p, &why)) == NULL)
        return why;
    if (hend == host)
        return "missing host";
    if ((path = skip_port(hend, &port, &why)) == NULL)
        return why;
    if ((why = check_path(path)) != NULL)
        return why;
    return fill(ep, s, n, https, host, hend, port, path);
}

void acmpca_endpoint_free(acmpca_endpoint *ep)
{
    free(ep->url);
    free(ep->host);
    free(ep->path);
    ep->url = ep->host = ep->path = NULL;
}
