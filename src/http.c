/*
 * http.c: the built-in blocking HTTP transport (libcurl) of acmpca.core.
 *
 * Owns curl_global_init (once per process, pthread_once), the acmpca_http
 * engine that client.c embeds for its _send method, and the "acmpca.http"
 * userdata (core.http_new) that the credential chain uses for its
 * container/IMDS look-ups.  One easy handle per object, reused: connections
 * stay alive and TLS sessions are not renegotiated per call.  Peer and host
 * verification are always on.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "core.h"
#include "error.h"
#include "http.h"

#define HTTP_MT "acmpca.http"
#define DEFAULT_TIMEOUT 30.0
#define DEFAULT_CONNECT_TIMEOUT 10.0
#define DEFAULT_MAX_BODY (8u * 1024u * 1024u)
#define KEEP_BUFFER (256u * 1024u) /* larger buffers are freed after a call */

/* ------------------------------------------------------------ global init */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* -------------------------------------------------------------- buffers */

static int buf_reserve(acmpca_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_add(acmpca_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void buf_free(acmpca_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Give back memory a rare huge response left behind. */
static void buf_trim(acmpca_buf *b)
{
    if (b->cap > KEEP_BUFFER)
        buf_free(b);
    b->len = 0;
}

/* ------------------------------------------------------ curl callbacks */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    acmpca_http *h = ud;
    size_t len = size * n;
    if (h->body.len + len > h->max_body) {
        h->overflow = 1;
        return 0;
    }
    return buf_add(&h->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    acmpca_http *h = ud;
    size_t len = size * n;
    /* A new status line (after 100 Continue, or a retry): start over. */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        h->resh.len = 0;
    return buf_add(&h->resh, p, len) == 0 ? len : 0;
}

/* ---------------------------------------------------------- the engine */

void acmpca_http_init(acmpca_http *h)
{
    memset(h, 0, sizeof *h);
    h->timeout_ms = (long)(DEFAULT_TIMEOUT * 1000);
    h->connect_timeout_ms = (long)(DEFAULT_CONNECT_TIMEOUT * 1000);
    h->max_body = DEFAULT_MAX_BODY;
}

static long to_ms(double s)
{
    double ms = s * 1000.0;
    if (ms < 1)
        return 1;
    if (ms > 2147483647.0)
        return 2147483647L;
    return (long)ms;
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

void acmpca_http_free(acmpca_http *h)
{
    if (h->curl != NULL) {
        curl_easy_cleanup(h->curl);
        h->curl = NULL;
    }
    free(h->ca_file);
    h->ca_file = NULL;
    buf_free(&h->reqh);
    buf_free(&h->body);
    buf_free(&h->resh);
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

static int has_name(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/*
 * Copy req.headers into h->reqh as "Name: value\0" lines and chain them in
 * h->slist (no allocation once the buffer has grown).  Returns the head of
 * the list, or NULL with msg set.
 */
static struct curl_slist *build_headers(lua_State *L, acmpca_http *h, int req,
                                        int has_body, char *msg, size_t msglen)
{
    size_t off[ACMPCA_HTTP_MAX_HEADERS + 3];
    size_t count = 0;
    int has_ct = 0;

    h->reqh.len = 0;
    if (compat_getfield(L, req, "headers") == LUA_TTABLE) {
        lua_pushnil(L); /* headers, nil */
        while (lua_next(L, -2) != 0) { /* headers, k, v */
            size_t kn, vn;
            const char *k, *v;
            if (lua_type(L, -2) != LUA_TSTRING ||
                (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)) {
                snprintf(msg, msglen, "headers: names and values must be strings");
                lua_pop(L, 3);
                return NULL;
            }
            k = lua_tolstring(L, -2, &kn);
            lua_pushvalue(L, -1); /* tolstring on a copy: never touch a key */
            v = lua_tolstring(L, -1, &vn);
            if (!valid_token(k, kn) || !valid_value(v, vn)) {
                snprintf(msg, msglen, "headers: invalid header name or value for %.64s", k);
                lua_pop(L, 4);
                return NULL;
            }
            if (count == ACMPCA_HTTP_MAX_HEADERS) {
                snprintf(msg, msglen, "headers: more than %d headers",
                         ACMPCA_HTTP_MAX_HEADERS);
                lua_pop(L, 4);
                return NULL;
            }
            if (has_name(k, kn, "content-type"))
                has_ct = 1;
            off[count++] = h->reqh.len;
            /* "Name;" sends an empty value; "Name:" would remove the header */
            if (buf_add(&h->reqh, k, kn) != 0 ||
                buf_add(&h->reqh, vn ? ": " : ";", vn ? 2 : 1) != 0 ||
                buf_add(&h->reqh, v, vn) != 0 || buf_add(&h->reqh, "", 1) != 0) {
                snprintf(msg, msglen, "out of memory");
                lua_pop(L, 4);
                return NULL;
            }
            lua_pop(L, 2); /* headers, k */
        }
    } else if (lua_type(L, -1) != LUA_TNIL) {
        snprintf(msg, msglen, "headers: expected a table");
        lua_pop(L, 1);
        return NULL;
    }
    lua_pop(L, 1);

    /* Suppress what curl would add on its own and nobody asked for. */
    static const char expect[] = "Expect:", noct[] = "Content-Type:";
    off[count++] = h->reqh.len;
    if (buf_add(&h->reqh, expect, sizeof expect) != 0)
        goto nomem;
    if (has_body && !has_ct) {
        off[count++] = h->reqh.len;
        if (buf_add(&h->reqh, noct, sizeof noct) != 0)
            goto nomem;
    }
    for (size_t i = 0; i < count; i++) {
        h->slist[i].data = h->reqh.p + off[i];
        h->slist[i].next = i + 1 < count ? &h->slist[i + 1] : NULL;
    }
    return &h->slist[0];
nomem:
    snprintf(msg, msglen, "out of memory");
    return NULL;
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

/* Trim spaces, tabs and the CR around [*v, *ve). */
static void trim(char **v, char **ve)
{
    while (*v < *ve && (**v == ' ' || **v == '\t'))
        (*v)++;
    while (*ve > *v && ((*ve)[-1] == '\r' || (*ve)[-1] == ' ' || (*ve)[-1] == '\t'))
        (*ve)--;
}

/*
 * res.headers from the raw header lines: lower-case names, trimmed values,
 * repeated fields joined with ", ", an obs-fold line (leading space or
 * tab) appended to the field it continues with one space (RFC 9112 5.2).
 */
static void push_headers(lua_State *L, acmpca_http *h)
{
    char *p = h->resh.p, *end = h->resh.p + h->resh.len;
    const char *last = NULL; /* name of the field a fold would continue */
    size_t lastn = 0;
    lua_createtable(L, 0, 8); /* headers */
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *next = eol ? eol + 1 : end;
        char *colon = memchr(p, ':', (size_t)((eol ? eol : end) - p));
        if ((*p == ' ' || *p == '\t') && last != NULL) {
            char *v = p, *ve = eol ? eol : end;
            trim(&v, &ve);
            if (v < ve) {
                lua_pushlstring(L, last, lastn); /* headers, name */
                lua_pushvalue(L, -1);
                lua_rawget(L, -3); /* headers, name, old */
                if (lua_rawlen(L, -1) > 0) {
                    lua_pushliteral(L, " ");
                    lua_pushlstring(L, v, (size_t)(ve - v));
                    lua_concat(L, 3); /* headers, name, "old cont" */
                } else {
                    lua_pop(L, 1);
                    lua_pushlstring(L, v, (size_t)(ve - v)); /* headers, name, cont */
                }
                lua_rawset(L, -3); /* headers */
            }
        } else if (colon != NULL && colon > p && *p != ' ' && *p != '\t') {
            char *v = colon + 1, *ve = eol ? eol : end;
            for (char *q = p; q < colon; q++)
                *q = (char)tolower((unsigned char)*q);
            trim(&v, &ve);
            last = p;
            lastn = (size_t)(colon - p);
            lua_pushlstring(L, p, (size_t)(colon - p)); /* headers, name */
            lua_pushvalue(L, -1);
            lua_rawget(L, -3); /* headers, name, old */
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                lua_pushlstring(L, v, (size_t)(ve - v));
            } else {
                lua_pushliteral(L, ", ");
                lua_pushlstring(L, v, (size_t)(ve - v));
                lua_concat(L, 3); /* headers, name, "old, new" */
            }
            lua_rawset(L, -3); /* headers */
        } else {
            last = NULL; /* a status line or the blank line */
        }
        p = next;
    }
}

int acmpca_http_request(lua_State *L, acmpca_http *h, int req, int arg)
{
    char msg[256];
    size_t urln = 0, bodyn = 0, methn = 0;
    const char *url, *body = NULL, *method = "GET";
    double timeout = 0, connect_timeout = 0;
    struct curl_slist *hdrs;
    CURLcode rc;
    CURL *c;

    /*
     * url, method and body stay on the stack until we return: req may hand
     * out fresh strings (an __index), and build_headers can run the GC.
     */
    req = lua_absindex(L, req);
    luaL_checktype(L, req, LUA_TTABLE);
    if (compat_getfield(L, req, "url") != LUA_TSTRING) /* url */
        return luaL_argerror(L, arg, "url: expected a string");
    url = lua_tolstring(L, -1, &urln);
    if (strlen(url) != urln)
        return luaL_argerror(L, arg, "url: contains NUL");
    switch (compat_getfield(L, req, "method")) { /* url, method */
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        method = lua_tolstring(L, -1, &methn);
        if (!valid_token(method, methn) || methn > 16)
            return luaL_argerror(L, arg, "method: not an HTTP method");
        break;
    default:
        return luaL_argerror(L, arg, "method: expected a string");
    }
    switch (compat_getfield(L, req, "body")) { /* url, method, body */
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        body = lua_tolstring(L, -1, &bodyn);
        break;
    default:
        return luaL_argerror(L, arg, "body: expected a string");
    }
    if (compat_getfield(L, req, "timeout") == LUA_TNUMBER)
        timeout = lua_tonumber(L, -1);
    if (compat_getfield(L, req, "connect_timeout") == LUA_TNUMBER)
        connect_timeout = lua_tonumber(L, -1);
    lua_pop(L, 2);

    int is_get = strcmp(method, "GET") == 0, is_head = strcmp(method, "HEAD") == 0;
    int sends_body = !is_get && !is_head;
    if ((hdrs = build_headers(L, h, req, sends_body, msg, sizeof msg)) == NULL)
        return luaL_argerror(L, arg, msg);

    if (h->curl == NULL) {
        pthread_once(&global_once, global_init);
        if (global_rc != CURLE_OK || (h->curl = make_handle(h)) == NULL) {
            lua_pushnil(L);
            acmpca_error_push(L, "NetworkError", "could not initialise libcurl", 0,
                              NULL, 0, NULL);
            return 2;
        }
    }
    c = h->curl;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout > 0 ? to_ms(timeout) : h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     connect_timeout > 0 ? to_ms(connect_timeout) : h->connect_timeout_ms);
    if (is_get) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else if (is_head) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodyn);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                         strcmp(method, "POST") == 0 ? NULL : method);
    }

    h->errbuf[0] = '\0';
    h->overflow = 0;
    h->body.len = 0;
    h->resh.len = 0;
    rc = curl_easy_perform(c);
    /* The slist points into reqh; never leave curl holding it. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);

    if (rc != CURLE_OK) {
        int retryable;
        const char *code = classify(rc, &retryable);
        if (h->overflow) {
            snprintf(msg, sizeof msg, "response body larger than %zu bytes", h->max_body);
            retryable = 0;
        } else {
            snprintf(msg, sizeof msg, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
        }
        buf_trim(&h->body);
        buf_trim(&h->resh);
        lua_pushnil(L);
        acmpca_error_push(L, code, msg, 0, NULL, retryable, NULL);
        return 2;
    }

    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    lua_createtable(L, 0, 3); /* res */
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "status");
    push_headers(L, h); /* res, headers */
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, h->body.p ? h->body.p : "", h->body.len);
    lua_setfield(L, -2, "body");
    buf_trim(&h->body);
    buf_trim(&h->resh);
    return 1;
}

/* ------------------------------------------------- the acmpca.http class */

typedef struct http_ud {
    acmpca_http h;
    int closed;
} http_ud;

static http_ud *check_http(lua_State *L)
{
    http_ud *u = luaL_checkudata(L, 1, HTTP_MT);
    if (u->closed)
        luaL_argerror(L, 1, "acmpca.http: object is closed");
    return u;
}

static double opt_seconds(lua_State *L, int t, const char *field)
{
    char msg[128];
    double v = 0;
    int ty = compat_getfield(L, t, field);
    if (ty == LUA_TNUMBER) {
        v = lua_tonumber(L, -1);
        if (!(v > 0 && v <= 86400)) {
            lua_pop(L, 1);
            snprintf(msg, sizeof msg, "%s: expected seconds in (0, 86400]", field);
            return luaL_argerror(L, 1, msg);
        }
    } else if (ty != LUA_TNIL) {
        lua_pop(L, 1);
        snprintf(msg, sizeof msg, "%s: expected a number of seconds", field);
        return luaL_argerror(L, 1, msg);
    }
    lua_pop(L, 1);
    return v;
}

/* core.http_new([opts]) -> http; opts: timeout, connect_timeout, ca_file */
static int l_http_new(lua_State *L)
{
    double timeout = 0, connect_timeout = 0;
    const char *ca_file = NULL;
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        timeout = opt_seconds(L, 1, "timeout");
        connect_timeout = opt_seconds(L, 1, "connect_timeout");
        /* opts, ca_file: kept on the stack until copied */
        int ty = compat_getfield(L, 1, "ca_file");
        if (ty == LUA_TSTRING) {
            size_t n;
            ca_file = lua_tolstring(L, -1, &n);
            if (strlen(ca_file) != n)
                return luaL_argerror(L, 1, "ca_file: contains NUL");
        } else if (ty != LUA_TNIL) {
            return luaL_argerror(L, 1, "ca_file: expected a string");
        }
    }
    /* userdata first, so __gc sees either nothing or a valid handle */
    http_ud *u = compat_newuserdata(L, sizeof *u);
    acmpca_http_init(&u->h);
    u->closed = 0;
    luaL_getmetatable(L, HTTP_MT);
    lua_setmetatable(L, -2);
    if (acmpca_http_configure(&u->h, ca_file, timeout, connect_timeout) != 0)
        return luaL_error(L, "acmpca.http_new: out of memory");
    return 1; /* the userdata, on top */
}

/* http:request(req) -> res | nil, err */
static int l_http_request(lua_State *L)
{
    http_ud *u = check_http(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    return acmpca_http_request(L, &u->h, 2, 2);
}

/* __gc, __close and close(): one idempotent function. */
static int l_http_close(lua_State *L)
{
    http_ud *u = luaL_checkudata(L, 1, HTTP_MT);
    acmpca_http_free(&u->h);
    u->closed = 1;
    return 0;
}

static int l_http_tostring(lua_State *L)
{
    http_ud *u = luaL_checkudata(L, 1, HTTP_MT);
    lua_pushfstring(L, "acmpca.http (%s)", u->closed ? "closed" : "open");
    return 1;
}

void acmpca_http_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"request", l_http_request},
        {"close", l_http_close},
        {NULL, NULL},
    };
    pthread_once(&global_once, global_init);

    luaL_newmetatable(L, HTTP_MT); /* M, mt */
    lua_newtable(L);               /* M, mt, index */
    for (const luaL_Reg *r = methods; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_http_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_http_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_http_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1); /* M */

    lua_pushcfunction(L, l_http_new);
    lua_setfield(L, -2, "http_new");
}
