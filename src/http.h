/*
 * http.h: the built-in blocking HTTP transport of acmpca.core (libcurl).
 *
 * One acmpca_http lives inside each client userdata and each "acmpca.http"
 * userdata.  It owns one reused easy handle (so connections and TLS
 * sessions stay alive between calls), a reused header list and growable
 * buffers, so a steady stream of requests allocates next to nothing.
 */
#ifndef ACMPCA_HTTP_H
#define ACMPCA_HTTP_H

#include <stddef.h>
#include <curl/curl.h>
#include "compat.h"

#define ACMPCA_HTTP_MAX_HEADERS 32

/* A growable byte buffer, reused across requests. */
typedef struct acmpca_buf {
    char *p;
    size_t len;
    size_t cap;
} acmpca_buf;

typedef struct acmpca_http {
    CURL *curl;                  /* NULL until the first request */
    char *ca_file;               /* malloc'd copy or NULL */
    long timeout_ms;             /* total, per request by default */
    long connect_timeout_ms;
    size_t max_body;             /* response bodies larger than this fail */
    int overflow;                /* set by the write callback */
    acmpca_buf reqh;             /* "Name: value\0" lines for the request */
    acmpca_buf body;             /* response body */
    acmpca_buf resh;             /* raw response header lines */
    struct curl_slist slist[ACMPCA_HTTP_MAX_HEADERS + 3];
    char errbuf[CURL_ERROR_SIZE];
} acmpca_http;

/* Zero the struct: no resources yet, safe to free. */
ACMPCA_HIDDEN void acmpca_http_init(acmpca_http *h);

/* Record the settings (copies ca_file).  Returns 0, or -1 on ENOMEM. */
ACMPCA_HIDDEN int acmpca_http_configure(acmpca_http *h, const char *ca_file,
                                        double timeout, double connect_timeout);

/* Release everything; idempotent. */
ACMPCA_HIDDEN void acmpca_http_free(acmpca_http *h);

/*
 * Perform the request table at index req (see the transport contract in
 * CONTRACTS.md) and push res, or nil and an error object (codes Timeout,
 * TLSError, NetworkError).  Raises (luaL_argerror on argument arg) only on
 * a malformed request table.  Returns the number of values pushed on top
 * (the strings read from req stay anchored on the stack below them).
 */
ACMPCA_HIDDEN int acmpca_http_request(lua_State *L, acmpca_http *h, int req, int arg);

#endif
