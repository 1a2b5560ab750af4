/*
 * http.h: the HTTP engine of acmpca.core (libcurl), with no Lua in it.
 *
 * acmpca_http_perform(handle, request, response, error) works on the plain
 * C structs below; http_lua.c binds it to Lua (request tables, response
 * tables, the "acmpca.http" class).  One acmpca_http lives inside each
 * client userdata and each "acmpca.http" userdata; multi.c keeps one per
 * connection slot and runs perform's two ends (begin, end) around
 * libcurl's multi interface.  Each owns one reused easy handle
 * (connections and TLS sessions stay alive between calls), a reused
 * header list and growable buffers, so a steady stream of requests
 * allocates next to nothing.
 */
#ifndef ACMPCA_HTTP_H
#define ACMPCA_HTTP_H

#include <stddef.h>
#include <curl/curl.h>

#include "str.h"
#include "strbuf.h"
#include "visibility.h"

/* ------------------------------------------------------ transport defaults
 *
 * The one definition of the transport defaults, shared by the libcurl
 * transport (here) and the cosocket transport (acmpca.transport.ngx reads
 * them from the read-only core.transport_defaults).  A client's timeout
 * and connect_timeout options override the first two.
 */
#define ACMPCA_HTTP_TIMEOUT 30.0          /* s, one whole attempt: connect, send, answer */
#define ACMPCA_HTTP_CONNECT_TIMEOUT 10.0  /* s, TCP connect and TLS handshake */
#define ACMPCA_HTTP_MAX_BODY (8u * 1024u * 1024u) /* bytes of response body */
#define ACMPCA_HTTP_MAX_HEADER_BYTES (64u * 1024u) /* bytes of status and header lines */
#define ACMPCA_HTTP_MAX_HEADER_LINES 2000u /* status and header lines (Node's maxHeadersCount) */
#define ACMPCA_HTTP_KEEPALIVE_TIMEOUT 60.0 /* s an idle pooled cosocket is kept */
#define ACMPCA_HTTP_POOL_SIZE 32           /* idle cosockets per host:port per worker */

/* Request header fields a caller may set (the engine adds two of its own). */
#define ACMPCA_HTTP_MAX_HEADERS 32

/* ------------------------------------------------------------------ types */


typedef struct acmpca_http_field {
    acmpca_str name;
    acmpca_str value;
} acmpca_http_field;

/*
 * What to send.  The memory it points to must stay valid until perform
 * (or begin) returns: begin copies all of it into the handle.  method.p NULL means GET; body.p NULL means no body (methods
 * other than GET and HEAD then send an empty one); timeouts <= 0 mean the
 * handle's.
 */
typedef struct acmpca_http_req {
    acmpca_str method;
    acmpca_str url;
    const acmpca_http_field *headers;
    size_t nheaders;
    acmpca_str body;
    double timeout;         /* s, the whole attempt */
    double connect_timeout; /* s */
} acmpca_http_req;

/*
 * What came back.  Header names are lower-case and unique: repeated fields
 * are joined with ", ", obs-fold continuations with one space.  Everything
 * points into the handle and stays valid until its next perform, begin,
 * done or free.
 */
typedef struct acmpca_http_resp {
    long status;
    const acmpca_http_field *headers;
    size_t nheaders;
    acmpca_str body;
} acmpca_http_resp;

/* perform's results. */
#define ACMPCA_HTTP_OK 0
#define ACMPCA_HTTP_BADREQ 1 /* the request itself is malformed (misuse) */
#define ACMPCA_HTTP_FAILED 2 /* runtime failure: Timeout, TLSError, NetworkError */

typedef struct acmpca_http_error {
    const char *code; /* "Timeout", "TLSError", "NetworkError", "InvalidRequest",
                         "ResponseTooLarge" (past a limit above; retryable false) */
    int retryable;
    char message[256]; /* never holds a header value or a body */
} acmpca_http_error;

typedef struct acmpca_http {
    CURL *curl;              /* NULL until the first request */
    char *ca_file;           /* malloc'd copy or NULL */
    long timeout_ms;         /* total, per request by default */
    long connect_timeout_ms;
    size_t max_body;         /* response bodies larger than this fail */
    size_t max_header_bytes; /* so do header blocks */
    size_t max_header_lines; /* and blocks of more lines */
    size_t header_bytes;     /* received by the current perform */
    size_t header_lines;     /* likewise */
    int in_head;             /* a header block is being received */
    int overflow;            /* which limit a callback hit */
    acmpca_strbuf reqh;         /* the URL, "Name: value\0" lines, the body */
    acmpca_strbuf body;         /* response body */
    acmpca_strbuf resh;         /* raw response header lines */
    acmpca_strbuf lines;        /* resh parsed into lines, then sorted */
    acmpca_strbuf joined;       /* the joined header values */
    acmpca_strbuf fields;       /* the response's acmpca_http_field list */
    struct curl_slist slist[ACMPCA_HTTP_MAX_HEADERS + 2];
    char errbuf[CURL_ERROR_SIZE];
} acmpca_http;

/* -------------------------------------------------------------- functions */

/* curl_global_init, once per process.  Returns 0, or -1 when it failed. */
ACMPCA_HIDDEN int acmpca_http_global_init(void);

/* Zero the struct with the default settings: no resources yet, safe to free. */
ACMPCA_HIDDEN void acmpca_http_init(acmpca_http *h);

/* Record the settings (copies ca_file).  Returns 0, or -1 on ENOMEM. */
ACMPCA_HIDDEN int acmpca_http_configure(acmpca_http *h, const char *ca_file,
                                        double timeout, double connect_timeout);

/*
 * Send req and fill res (ACMPCA_HTTP_OK), or fill err: ACMPCA_HTTP_BADREQ
 * for a malformed request (nothing sent), ACMPCA_HTTP_FAILED otherwise.
 * Non-2xx statuses are responses, not errors.
 */
ACMPCA_HIDDEN int acmpca_http_perform(acmpca_http *h, const acmpca_http_req *req,
                                      acmpca_http_resp *res, acmpca_http_error *err);

/*
 * perform's stages, for multi.c.  begin checks req (ACMPCA_HTTP_BADREQ,
 * nothing sent), copies it into the handle, makes the easy handle
 * (h->curl) and sets its options: the transfer is ready to run.  end,
 * once it ran (curl_easy_perform, or the multi reported it done and it
 * was removed from the multi) with result rc, clears curl's pointers into
 * the handle and fills res or err as perform does.  Call end exactly once
 * after each begin that returned ACMPCA_HTTP_OK, with any rc.
 */
ACMPCA_HIDDEN int acmpca_http_begin(acmpca_http *h, const acmpca_http_req *req,
                                    acmpca_http_error *err);
ACMPCA_HIDDEN int acmpca_http_end(acmpca_http *h, CURLcode rc, acmpca_http_resp *res,
                                  acmpca_http_error *err);

/* The response is no longer needed: give back what a huge one left behind. */
ACMPCA_HIDDEN void acmpca_http_done(acmpca_http *h);

/* Release everything; idempotent. */
ACMPCA_HIDDEN void acmpca_http_free(acmpca_http *h);

#endif
