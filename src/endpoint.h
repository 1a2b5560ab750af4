/*
 * endpoint.h: where a request goes.  Region names, the partition rules of
 * endpoint-rule-set-1.json (DNS suffix per partition, FIPS names, GovCloud's
 * plain FIPS name, dual-stack suffixes) and custom endpoint URLs.  Lua-free.
 */
#ifndef ACMPCA_ENDPOINT_H
#define ACMPCA_ENDPOINT_H

#include <stddef.h>
#include "visibility.h"

#define ACMPCA_HOST_MAX 160
#define ACMPCA_URL_MAX 192

/* A resolved endpoint: the URL as sent, its Host header and its path. */
typedef struct acmpca_endpoint {
    char *url;  /* path included, "/" at least */
    char *host; /* the default port dropped */
    char *path;
} acmpca_endpoint;

/* 1 when s[0..n) is a region name: 1 to 63 of [a-z0-9-], no '-' at an end. */
ACMPCA_HIDDEN int acmpca_region_valid(const char *s, size_t n);

/* acmpca_endpoint_derive's flags */
#define ACMPCA_EP_FIPS 1
#define ACMPCA_EP_DUALSTACK 2

/*
 * https://acm-pca[-fips].<region>.<dns suffix>/ for region (without a
 * "fips-" prefix) into host (ACMPCA_HOST_MAX) and url (ACMPCA_URL_MAX);
 * with ACMPCA_EP_DUALSTACK the partition's dual-stack suffix (api.aws).
 * Returns NULL, or why the partition has no such endpoint (dual-stack in
 * the iso partitions; host and url are then "").
 */
ACMPCA_HIDDEN const char *acmpca_endpoint_derive(const char *region, size_t n, int flags,
                                                 char *host, char *url);

/* The partition's name for region: "aws", "aws-cn", "aws-us-gov", ... */
ACMPCA_HIDDEN const char *acmpca_endpoint_partition(const char *region, size_t n);

/*
 * Parse a custom endpoint "http[s]://host[:port][/path]" into ep (malloc'd
 * strings).  Returns NULL, or what is wrong (ep then holds nothing).
 */
ACMPCA_HIDDEN const char *acmpca_endpoint_parse(const char *s, size_t n, acmpca_endpoint *ep);

/* Release ep's strings; idempotent. */
ACMPCA_HIDDEN void acmpca_endpoint_free(acmpca_endpoint *ep);

#endif
