/*
 * http.c: the HTTP engine of acmpca.core over libcurl, with no Lua in it.
 *
 * acmpca_http_perform takes the plain request struct of http.h, runs it on
 * the handle's one reused easy handle (connections stay alive, TLS
 * sessions are not renegotiated per call, peer and host verification are
 * always on) and fills the response or error struct.  It is three stages:
 * begin (check the request, copy it into the handle, set the options),
 * running the transfer, and end (release the request, map the result,
 * collect the response); multi.c runs the same two ends around libcurl's
 * multi interface.  Owns curl_global_init (once per process, pthread_once).
 *
 * Every byte of the answer is hostile: the body, the header block's bytes
 * and its line count are bounded while they arrive (the write callbacks
 * refuse the line or byte past the limit; libcurl itself never buffers
 * more than CURL_MAX_HTTP_HEADER of one line), and response header fields
 * are grouped by one sort (n log n) and joined in one pass, never by
 * repeated concatenation.  Past a limit the error is ResponseTooLarge,
 * retryable false: "response body larger than 8388608 bytes", "response
 * headers larger than 65536 bytes", "response has more than 2000 header
 * lines" (a single line past libcurl's own bound counts as too large too).  The Lua binding is
 * http_lua.c.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define KEEP_BUFFER (256u * 1024u) /* larger buffers are freed after a call */
#define MAX_METHOD 16

/* which limit a write callback hit */
#define OVER_BODY 1
#define OVER_HEAD 2
#define OVER_LINES 3

/* ------------------------------------------------------------ global init */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int acmpca_http_global_init(void)
{
    pthread_once(&global_once, global_init);
    return global_rc == CURLE_OK ? 0 : -1;
}

/* ------------------------------------------------------ curl callbacks */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    acmpca_http *h = ud;
    size_t len = size * n;
    if (len > h->max_body - h->body.len) { /* body.len never exceeds max_body */
        h->overflow = OVER_BODY;
        return 0;
    }
    return acmpca_strbuf_add(&h->body, p, len) == 0 ? len : 0;
}

/* Every header line of every block (1xx, the final one, trailers) counts. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    acmpca_http *h = ud;
    size_t len = size * n;
    if (len > h->max_header_bytes - h->header_bytes) {
        h->overflow = OVER_HEAD;
        return 0;
    }
    if (h->header_lines >= h->max_header_lines) {
        h->overflow = OVER_LINES;
        return 0;
    }
    h->header_bytes += len;
    h->header_lines++;
    h->in_head = !(len <= 2 && (p[0] == '\r' || p[0] == '\n')); /* the blank line ends it */
    /* A new status line (after 100 Continue, or a retry): start over. */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        acmpca_strbuf_reset(&h->resh);
    return acmpca_strbuf_add(&h->resh, p, len) == 0 ? len : 0;
}

/* ---------------------------------------------------------- the handle */

static long to_ms(double s)
{
    double ms = s * 1000.0;
    if (ms < 1)
        return 1;
    if (ms > 2147483647.0)
        return 2147483647L;
    return (long)ms;
}

void acmpca_http_init(acmpca_http *h)
{
    memset(h, 0, sizeof *h);
    h->timeout_ms = to_ms(ACMPCA_HTTP_TIMEOUT);
    h->connect_timeout_ms = to_ms(ACMPCA_HTTP_CONNECT_TIMEOUT);
    h->max_body = ACMPCA_HTTP_MAX_BODY;
    h->max_header_bytes = ACMPCA_HTTP_MAX_HEADER_BYTES;
    h->max_header_lines = ACMPCA_HTTP_MAX_HEADER_LINES;
}

int acmpca_http_configure(acmpca_http *h, const char *ca_file, double timeout,
                          double connect_timeout)
{
    if (timeout > 0)
        h->timeout_ms = to_ms(timeout);
    if (connect_timeout > 0)
        h->connect_timeout_ms = to_ms(connect_timeout);
    if (ca_file != NULL) {
        char *copy = strdup(ca_file);
        if (copy == NULL)
            return -1;
        free(h->ca_file);
        h->ca_file = copy;
    }
    return 0;
}

void acmpca_http_done(acmpca_http *h)
{
    acmpca_strbuf_trim(&h->reqh, KEEP_BUFFER);
    acmpca_strbuf_trim(&h->body, KEEP_BUFFER);
    acmpca_strbuf_trim(&h->resh, KEEP_BUFFER);
    acmpca_strbuf_trim(&h->lines, KEEP_BUFFER);
    acmpca_strbuf_trim(&h->joined, KEEP_BUFFER);
    acmpca_strbuf_trim(&h->fields, KEEP_BUFFER);
}

void acmpca_http_free(acmpca_http *h)
{
    if (h->curl != NULL) {
        curl_easy_cleanup(h->curl);
        h->curl = NULL;
    }
    free(h->ca_file);
    h->ca_file = NULL;
    acmpca_strbuf_free(&h->reqh);
    acmpca_strbuf_free(&h->body);
    acmpca_strbuf_free(&h->resh);
    acmpca_strbuf_free(&h->lines);
    acmpca_strbuf_free(&h->joined);
    acmpca_strbuf_free(&h->fields);
}

/* The settings that never change between requests. */
static CURL *make_handle(acmpca_http *h)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    return c;
}

/* ---------------------------------------------------------------- errors */

static int fail(acmpca_http_error *err, int rc, const char *code, int retryable,
                const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Fill err (the message made printable: curl's may quote the peer) and return rc. */
static int fail(acmpca_http_error *err, int rc, const char *code, int retryable,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    for (char *q = err->message; *q; q++)
        if ((unsigned char)*q < 32 || (unsigned char)*q == 127)
            *q = (*q == '\r' || *q == '\n' || *q == '\t') ? ' ' : '?';
    err->code = code;
    err->retryable = retryable;
    return rc;
}

/* Timeout, TLSError or NetworkError, from a curl result code. */
static const char *classify(CURLcode rc, int *retryable)
{
    *retryable = 1;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "Timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        *retryable = 0;
        return "TLSError";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
        *retryable = 0;
        return "NetworkError";
    default:
        return "NetworkError";
    }
}

/*
 * libcurl refused one header line longer than its CURL_MAX_HTTP_HEADER
 * (100 KiB): it reports CURLE_OUT_OF_MEMORY in the middle of a header block.
 */
static int overlong_line(const acmpca_http *h, CURLcode rc)
{
    return rc == CURLE_OUT_OF_MEMORY && h->in_head;
}

/* A failed curl_easy_perform: a limit we enforced, or curl's own reason. */
static int fail_curl(acmpca_http *h, CURLcode rc, acmpca_http_error *err)
{
    int retryable;
    const char *code = classify(rc, &retryable);
    if (h->overflow == OVER_BODY)
        return fail(err, ACMPCA_HTTP_FAILED, "ResponseTooLarge", 0,
                    "response body larger than %zu bytes", h->max_body);
    if (h->overflow == OVER_HEAD || overlong_line(h, rc))
        return fail(err, ACMPCA_HTTP_FAILED, "ResponseTooLarge", 0,
                    "response headers larger than %zu bytes", h->max_header_bytes);
    if (h->overflow == OVER_LINES)
        return fail(err, ACMPCA_HTTP_FAILED, "ResponseTooLarge", 0,
                    "response has more than %zu header lines", h->max_header_lines);
    return fail(err, ACMPCA_HTTP_FAILED, code, retryable, "%s",
                h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
}

/* ------------------------------------------------------- request checks */

static int valid_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 32 || ch >= 127 || ch == ':' || ch == '(' || ch == ')' ||
            ch == ',' || ch == ';' || ch == '"' || ch == '/' || ch == '[' ||
            ch == ']' || ch == '{' || ch == '}' || ch == '=' || ch == '\\')
            return 0;
    }
    return 1;
}

static int valid_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return 0;
    return 1;
}

/* At most 64 bytes of a caller's header name, printable, for a message. */
static void printable(acmpca_str s, char *out, size_t outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < s.n && i < 64 && k + 1 < outlen; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        out[k++] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    out[k] = '\0';
}

/* Everything that makes a request malformed, before anything is sent. */
static int check_request(const acmpca_http_req *req, acmpca_http_error *err)
{
    char name[72];
    if (req->url.p == NULL)
        return fail(err, ACMPCA_HTTP_BADREQ, "InvalidRequest", 0, "url: expected a string");
    if (memchr(req->url.p, '\0', req->url.n) != NULL)
        return fail(err, ACMPCA_HTTP_BADREQ, "InvalidRequest", 0, "url: contains NUL");
    if (req->method.p != NULL &&
        (req->method.n > MAX_METHOD || !valid_token(req->method.p, req->method.n)))
        return fail(err, ACMPCA_HTTP_BADREQ, "InvalidRequest", 0, "method: not an HTTP method");
    if (req->nheaders > ACMPCA_HTTP_MAX_HEADERS)
        return fail(err, ACMPCA_HTTP_BADREQ, "InvalidRequest", 0,
                    "headers: more than %d headers", ACMPCA_HTTP_MAX_HEADERS);
    for (size_t i = 0; i < req->nheaders; i++) {
        const acmpca_http_field *f = &req->headers[i];
        if (valid_token(f->name.p, f->name.n) && valid_value(f->value.p, f->value.n))
            continue;
        printable(f->name, name, sizeof name);
        return fail(err, ACMPCA_HTTP_BADREQ, "InvalidRequest", 0,
                    "headers: invalid header name or value for %s", name);
    }
    return ACMPCA_HTTP_OK;
}

/* ------------------------------------------------------ request headers */

/* s is exactly want (a method) */
static int span_is(acmpca_str s, const char *want)
{
    return s.p != NULL && strlen(want) == s.n && memcmp(s.p, want, s.n) == 0;
}

/* s is want in any case (a header name) */
static int span_ieq(acmpca_str s, const char *want)
{
    return s.p != NULL && strlen(want) == s.n && strncasecmp(s.p, want, s.n) == 0;
}

/* "Name: value\0"; "Name;\0" sends an empty value ("Name:" would remove it). */
static int add_header_line(acmpca_strbuf *b, const acmpca_http_field *f)
{
    size_t vn = f->value.n;
    return acmpca_strbuf_add(b, f->name.p, f->name.n) != 0 ||
                   acmpca_strbuf_add(b, vn ? ": " : ";", vn ? 2 : 1) != 0 ||
                   acmpca_strbuf_add(b, f->value.p, vn) != 0 || acmpca_strbuf_add(b, "", 1) != 0
               ? -1
               : 0;
}

/*
 * Copy the URL, the header lines and the body into h->reqh and chain the
 * lines in h->slist (no allocation once the buffer has grown).  Returns 0
 * or -1 on ENOMEM; *wire is then req with url and body pointing into the
 * handle, and *list the chained lines.
 */
static int copy_request(acmpca_http *h, const acmpca_http_req *req, int with_body,
                        acmpca_http_req *wire, struct curl_slist **list)
{
    size_t off[ACMPCA_HTTP_MAX_HEADERS + 2], count = 0, body_off;
    int has_ct = 0;

    acmpca_strbuf_reset(&h->reqh);
    if (acmpca_strbuf_add(&h->reqh, req->url.p, req->url.n) != 0 || acmpca_strbuf_add(&h->reqh, "", 1) != 0)
        return -1;
    for (size_t i = 0; i < req->nheaders; i++) {
        has_ct |= span_ieq(req->headers[i].name, "content-type");
        off[count++] = h->reqh.len;
        if (add_header_line(&h->reqh, &req->headers[i]) != 0)
            return -1;
    }
    /* Suppress what curl would add on its own and nobody asked for. */
    off[count++] = h->reqh.len;
    if (acmpca_strbuf_add(&h->reqh, "Expect:", 8) != 0)
        return -1;
    if (with_body && !has_ct) {
        off[count++] = h->reqh.len;
        if (acmpca_strbuf_add(&h->reqh, "Content-Type:", 14) != 0)
            return -1;
    }
    body_off = h->reqh.len;
    if (acmpca_strbuf_add(&h->reqh, req->body.p, req->body.n) != 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        h->slist[i].data = h->reqh.p + off[i];
        h->slist[i].next = i + 1 < count ? &h->slist[i + 1] : NULL;
    }
    *wire = *req;
    wire->url.p = h->reqh.p;
    if (req->body.p != NULL)
        wire->body.p = h->reqh.p + body_off;
    wire->headers = NULL; /* they are *list now */
    wire->nheaders = 0;
    *list = &h->slist[0];
    return 0;
}

/* ------------------------------------------------------ per-request options */

/* GET, HEAD, or anything else with a (maybe empty) body. */
static void set_method(CURL *c, const acmpca_http_req *req)
{
    char method[MAX_METHOD + 1];
    if (req->method.p == NULL || span_is(req->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else if (span_is(req->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        /* curl copies CUSTOMREQUEST; POSTFIELDS points into the handle */
        memcpy(method, req->method.p, req->method.n);
        method[req->method.n] = '\0';
        curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.n);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body.p != NULL ? req->body.p : "");
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                         strcmp(method, "POST") == 0 ? NULL : method);
    }
}

/* wire: the request as copy_request left it in the handle. */
static void set_request(acmpca_http *h, const acmpca_http_req *wire, struct curl_slist *list)
{
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, wire->url.p);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     wire->timeout > 0 ? to_ms(wire->timeout) : h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     wire->connect_timeout > 0 ? to_ms(wire->connect_timeout)
                                               : h->connect_timeout_ms);
    set_method(c, wire);
}

/* Forget what the previous transfer received. */
static void reset_receive(acmpca_http *h)
{
    h->errbuf[0] = '\0';
    h->overflow = 0;
    h->header_bytes = 0;
    h->header_lines = 0;
    h->in_head = 1;
    acmpca_strbuf_reset(&h->body);
    acmpca_strbuf_reset(&h->resh);
}

/* ------------------------------------------------------ response headers */

/* One header line of the final block: a field, or an obs-fold continuation. */
typedef struct hline {
    const char *name;
    const char *value;
    size_t namelen;
    size_t valuelen;
    size_t seq; /* position in the block: repeats keep their order when sorted */
    int fold;
} hline;

#define LINE_OTHER 0 /* a status line, the blank line, garbage */
#define LINE_FIELD 1
#define LINE_FOLD 2
#define LINE_BLANK_FOLD 3 /* a continuation with nothing in it */

/* Trim spaces, tabs and the CR around [*v, *ve). */
static void trim(const char **v, const char **ve)
{
    while (*v < *ve && (**v == ' ' || **v == '\t'))
        (*v)++;
    while (*ve > *v && ((*ve)[-1] == '\r' || (*ve)[-1] == ' ' || (*ve)[-1] == '\t'))
        (*ve)--;
}

/* Classify the line [p, stop) and fill l (the name lower-cased in place). */
static int split_line(char *p, const char *stop, int after_field, hline *l)
{
    const char *v, *ve = stop;
    char *colon;
    if (*p == ' ' || *p == '\t') {
        if (!after_field)
            return LINE_OTHER;
        v = p;
        trim(&v, &ve);
        l->value = v;
        l->valuelen = (size_t)(ve - v);
        l->fold = 1;
        return v < ve ? LINE_FOLD : LINE_BLANK_FOLD;
    }
    colon = memchr(p, ':', (size_t)(stop - p));
    if (colon == NULL || colon == p)
        return LINE_OTHER;
    for (char *q = p; q < colon; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q + ('a' - 'A'));
    v = colon + 1;
    trim(&v, &ve);
    *l = (hline){p, v, (size_t)(colon - p), (size_t)(ve - v), 0, 0};
    return LINE_FIELD;
}

/* h->resh into h->lines: fields and continuations, in order.  -1 on ENOMEM. */
static int split_head(acmpca_http *h, size_t *count)
{
    char *p = h->resh.p, *end = h->resh.p ? h->resh.p + h->resh.len : NULL;
    const char *name = NULL; /* the field a continuation would extend */
    size_t namelen = 0, n = 0;
    hline l;

    acmpca_strbuf_reset(&h->lines);
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        int kind = split_line(p, eol ? eol : end, name != NULL, &l);
        if (kind == LINE_FIELD) {
            name = l.name;
            namelen = l.namelen;
        } else if (kind == LINE_FOLD) {
            l.name = name;
            l.namelen = namelen;
        } else if (kind == LINE_OTHER) {
            name = NULL;
        }
        if (kind == LINE_FIELD || kind == LINE_FOLD) {
            l.seq = n++;
            if (acmpca_strbuf_add(&h->lines, &l, sizeof l) != 0)
                return -1;
        }
        p = eol ? eol + 1 : end;
    }
    *count = n;
    return 0;
}

/* By name, then by position: each field's lines end up adjacent, in order. */
static int cmp_lines(const void *a, const void *b)
{
    const hline *x = a, *y = b;
    size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
    int c = n ? memcmp(x->name, y->name, n) : 0;
    if (c != 0)
        return c;
    if (x->namelen != y->namelen)
        return x->namelen < y->namelen ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lines with the same name as l[0], from l[0]. */
static size_t run_length(const hline *l, size_t n)
{
    size_t k = 1;
    while (k < n && l[k].namelen == l[0].namelen &&
           memcmp(l[k].name, l[0].name, l[0].namelen) == 0)
        k++;
    return k;
}

/*
 * Join one field's k lines into the reserved space at the end of b:
 * repeats with ", ", a continuation with " " (none after an empty value).
 */
static acmpca_str join_run(acmpca_strbuf *b, const hline *l, size_t k)
{
    char *out = b->p + b->len;
    size_t len = 0;
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && !(l[i].fold && len == 0)) {
            memcpy(out + len, l[i].fold ? " " : ", ", l[i].fold ? 1 : 2);
            len += l[i].fold ? 1 : 2;
        }
        if (l[i].valuelen > 0)
            memcpy(out + len, l[i].value, l[i].valuelen);
        len += l[i].valuelen;
    }
    b->len += len;
    return (acmpca_str){out, len};
}

/* The sorted lines into h->fields, one per name.  -1 on ENOMEM. */
static int join_fields(acmpca_http *h, size_t n, acmpca_http_resp *res)
{
    hline *l = (hline *)(void *)h->lines.p;
    size_t need = 0, nf = 0;

    res->headers = NULL;
    res->nheaders = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        need += l[i].valuelen + 2;
    acmpca_strbuf_reset(&h->joined);
    acmpca_strbuf_reset(&h->fields);
    if (acmpca_strbuf_reserve(&h->joined, need) != 0 ||
        acmpca_strbuf_reserve(&h->fields, n * sizeof(acmpca_http_field)) != 0)
        return -1;
    acmpca_http_field *f = (acmpca_http_field *)(void *)h->fields.p;
    for (size_t i = 0; i < n; nf++) {
        size_t k = run_length(l + i, n - i);
        f[nf].name = (acmpca_str){l[i].name, l[i].namelen};
        f[nf].value = join_run(&h->joined, l + i, k);
        i += k;
    }
    h->fields.len = nf * sizeof *f;
    res->headers = f;
    res->nheaders = nf;
    return 0;
}

/* Status, joined headers and body of a completed transfer. */
static int collect_response(acmpca_http *h, acmpca_http_resp *res, acmpca_http_error *err)
{
    long status = 0;
    size_t n;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (split_head(h, &n) != 0)
        return fail(err, ACMPCA_HTTP_FAILED, "NetworkError", 0, "out of memory");
    if (n > 1)
        qsort(h->lines.p, n, sizeof(hline), cmp_lines);
    if (join_fields(h, n, res) != 0)
        return fail(err, ACMPCA_HTTP_FAILED, "NetworkError", 0, "out of memory");
    res->status = status;
    res->body = (acmpca_str){h->body.p ? h->body.p : "", h->body.len};
    return ACMPCA_HTTP_OK;
}

/* ---------------------------------------------------------------- perform */

static int ensure_handle(acmpca_http *h, acmpca_http_error *err)
{
    if (h->curl != NULL)
        return ACMPCA_HTTP_OK;
    if (acmpca_http_global_init() != 0 || (h->curl = make_handle(h)) == NULL)
        return fail(err, ACMPCA_HTTP_FAILED, "NetworkError", 0,
                    "could not initialise libcurl");
    return ACMPCA_HTTP_OK;
}

/* Anything but GET and HEAD sends a (maybe empty) body. */
static int sends_body(const acmpca_http_req *req)
{
    return !(req->method.p == NULL || span_is(req->method, "GET") ||
             span_is(req->method, "HEAD"));
}

int acmpca_http_begin(acmpca_http *h, const acmpca_http_req *req, acmpca_http_error *err)
{
    acmpca_http_req wire;
    struct curl_slist *list;
    int rc;

    if ((rc = check_request(req, err)) != ACMPCA_HTTP_OK)
        return rc;
    acmpca_http_done(h);
    if (copy_request(h, req, sends_body(req), &wire, &list) != 0)
        return fail(err, ACMPCA_HTTP_FAILED, "NetworkError", 0, "out of memory");
    if ((rc = ensure_handle(h, err)) != ACMPCA_HTTP_OK)
        return rc;
    set_request(h, &wire, list);
    reset_receive(h);
    return ACMPCA_HTTP_OK;
}

int acmpca_http_end(acmpca_http *h, CURLcode rc, acmpca_http_resp *res,
                    acmpca_http_error *err)
{
    int out;
    /* The header list and the body live in reqh: never leave curl holding them. */
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
    if (rc == CURLE_OK)
        return collect_response(h, res, err);
    out = fail_curl(h, rc, err);
    acmpca_http_done(h);
    return out;
}

int acmpca_http_perform(acmpca_http *h, const acmpca_http_req *req,
                        acmpca_http_resp *res, acmpca_http_error *err)
{
    int rc = acmpca_http_begin(h, req, err);
    if (rc != ACMPCA_HTTP_OK)
        return rc;
    return acmpca_http_end(h, curl_easy_perform(h->curl), res, err);
}
