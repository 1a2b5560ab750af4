/*
 * sigv4_lua.c: the Lua binding of the SigV4 signer (sigv4.c).
 *
 * Owns the Lua functions signing_key, canonical_request, string_to_sign,
 * sign and presign of acmpca.core (re-exported by acmpca.sigv4): reading
 * the request and opts tables, and the request's URL, into the C structs
 * of sigv4.h; calling the signer's C API; building the results (the new
 * headers table, the presigned URL).  No signing happens here.
 *
 * Misuse raises through acmpca_raise (error.h) with one format,
 * "acmpca.sigv4.<function>: <what>[, got <value>]"; neither the secret
 * nor the session token ever goes into a message.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "core.h"
#include "crypto.h"
#include "error.h"
#include "sigv4.h"

/* ------------------------------------------------------------ table keys */

/*
 * The table keys the functions read and write are kept as upvalues of
 * each function, so a call interns no C string (lua_getfield would).  Two
 * more upvalues remember the Host and X-Amz-Date strings sign made last,
 * so signing in a loop interns neither again.
 */
/* clang-format off */
enum {
    K_METHOD = 1, K_URL, K_HOST, K_PATH, K_QUERY, K_HEADERS, K_BODY,
    K_REGION, K_SERVICE, K_CREDENTIALS, K_ACCESS_KEY_ID, K_SECRET_ACCESS_KEY,
    K_SESSION_TOKEN, K_TIME, K_NORMALIZE_PATH, K_SIGN_BODY, K_OMIT_SESSION_TOKEN,
    K_PAYLOAD_HASH, K_EXPIRES, K_PRESIGN,
    K_H_HOST, K_H_DATE, K_H_TOKEN, K_H_SHA256, K_H_AUTH,
    M_HOST, M_DATE,
    K_END
};

static const char *const key_names[K_END] = {
    NULL, "method", "url", "host", "path", "query", "headers", "body",
    "region", "service", "credentials", "access_key_id", "secret_access_key",
    "session_token", "time", "normalize_path", "sign_body", "omit_session_token",
    "payload_hash", "expires", "presign",
    "Host", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256", "Authorization",
    "", "",
};
/* clang-format on */

/* Push t[key] (metamethods honoured; t absolute); returns its type. */
static int getkey(lua_State *L, int t, int key)
{
    lua_pushvalue(L, lua_upvalueindex(key));
    lua_gettable(L, t);
    return lua_type(L, -1);
}

/* res[key] = p[0..n) as a string; res absolute. */
static void set_lstr(lua_State *L, int res, int key, const char *p, size_t n)
{
    lua_pushvalue(L, lua_upvalueindex(key)); /* ..., k */
    lua_pushlstring(L, p, n);                /* ..., k, v */
    lua_rawset(L, res);
}

/* set_lstr, reusing the string in upvalue memo when its bytes are p[0..n). */
static void set_memo(lua_State *L, int res, int key, int memo, const char *p, size_t n)
{
    size_t mn;
    const char *m;

    lua_pushvalue(L, lua_upvalueindex(key));  /* ..., k */
    lua_pushvalue(L, lua_upvalueindex(memo)); /* ..., k, last */
    m = lua_tolstring(L, -1, &mn);
    if (mn != n || memcmp(m, p, n) != 0) {
        lua_pop(L, 1);
        lua_pushlstring(L, p, n);               /* ..., k, v */
        lua_pushvalue(L, -1);                   /* ..., k, v, v */
        lua_replace(L, lua_upvalueindex(memo)); /* ..., k, v */
    }
    lua_rawset(L, res);
}

/* Case-insensitive (ASCII, whatever the locale) equality with a lower-case literal. */
static int ieq(const char *p, size_t n, const char *lit, size_t litn)
{
    size_t i;

    if (n != litn)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)lit[i])
            return 0;
    }
    return 1;
}
#define IEQ(p, n, lit) ieq((p), (n), lit, sizeof(lit) - 1)

/* ------------------------------------------------------------ call state */

/*
 * What one call has read.  Values read from the request/opts tables stay
 * on the Lua stack until the function returns, and header names and
 * values are held by the headers table there, so every pointer taken
 * from them stays valid.
 */
#define LHSTACK 16

typedef struct lsig {
    const char *fname;
    acmpca_sigv4_request req;
    acmpca_sigv4_config cfg;
    acmpca_header hsmall[LHSTACK];
    int hidx;             /* stack index of request.headers, 0 when absent */
    int host_header;      /* a Host header was given */
    const char *scheme;   /* "https" or "http" */
    acmpca_str authority; /* host[:port] for the presigned URL */
} lsig;

/* Everything but the header array, which is written before it is read. */
static void lsig_init(lsig *g, const char *fname)
{
    memset(&g->req, 0, sizeof g->req);
    memset(&g->cfg, 0, sizeof g->cfg);
    g->fname = fname;
    g->hidx = 0;
    g->host_header = 0;
    g->scheme = NULL;
    g->authority.p = NULL;
    g->authority.n = 0;
}

/* Raise "acmpca.sigv4.<fname>: <message>" (the message is formatted first). */
static int lraise(lua_State *L, const lsig *g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int lraise(lua_State *L, const lsig *g, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return acmpca_raise(L, 0, "acmpca.sigv4.%s: %s", g->fname, msg);
}

/* t[key] as a string (left on the stack); NULL when nil and optional. */
static const char *field_str(lua_State *L, int t, int key, const char *label, const lsig *g,
                             int required, size_t *len)
{
    int ty = getkey(L, t, key);

    if (ty == LUA_TNIL && !required) {
        *len = 0;
        return NULL;
    }
    if (ty != LUA_TSTRING)
        lraise(L, g, "%s: expected a string, got %s", label ? label : key_names[key],
               lua_typename(L, ty));
    return lua_tolstring(L, -1, len);
}

static int field_bool(lua_State *L, int t, int key, const lsig *g, int dflt)
{
    int ty = getkey(L, t, key);

    if (ty == LUA_TNIL)
        return dflt;
    if (ty != LUA_TBOOLEAN)
        lraise(L, g, "%s: expected a boolean, got %s", key_names[key], lua_typename(L, ty));
    return lua_toboolean(L, -1);
}

/* ------------------------------------------------------------ request.headers */

/*
 * The header list lives in g->hsmall; a table with more headers gets a
 * GC-owned block, sized by a counting pass before any pointer is taken.
 */
typedef struct hlist {
    acmpca_header *arr;
    size_t cap;
    size_t n;
    const char *hostname; /* the Host key chosen so far (the least of its spellings) */
    int res;              /* sign's result table (stack index), or 0 */
} hlist;

/* The request's headers minus the ones the signer replaces. */
static int header_replaced(const char *p, size_t n)
{
    switch (n) {
    case 10:
        return IEQ(p, n, "x-amz-date");
    case 13:
        return IEQ(p, n, "authorization");
    case 20:
        return IEQ(p, n, "x-amz-security-token") || IEQ(p, n, "x-amz-content-sha256");
    default:
        return 0;
    }
}

/* Record one header while there is room; count it either way. */
static void hlist_add(hlist *l, const char *k, size_t klen, const char *v, size_t vlen)
{
    if (l->n < l->cap) {
        l->arr[l->n].name.p = k;
        l->arr[l->n].name.n = klen;
        l->arr[l->n].value.p = v;
        l->arr[l->n].value.n = vlen;
    }
    l->n++;
}

/* The key on top-1 (below the value), which must be a string. */
static const char *header_name(lua_State *L, const lsig *g, size_t *klen)
{
    if (lua_type(L, -2) != LUA_TSTRING)
        lraise(L, g, "headers: expected string keys, got a %s key", luaL_typename(L, -2));
    return lua_tolstring(L, -2, klen);
}

/* A single-valued header (value on top); a Host one becomes the request's host. */
static void header_string(lua_State *L, lsig *g, hlist *l, const char *k, size_t klen)
{
    size_t vlen;
    const char *v = lua_tolstring(L, -1, &vlen);

    if (IEQ(k, klen, "host") && (l->hostname == NULL || memcmp(k, l->hostname, 4) < 0)) {
        l->hostname = k;
        g->req.host.p = v;
        g->req.host.n = vlen;
        g->host_header = 1;
    }
    hlist_add(l, k, klen, v, vlen);
}

/* A list-valued header (the list on top): every element a string. */
static void header_list(lua_State *L, const lsig *g, hlist *l, const char *k, size_t klen)
{
    size_t len = lua_rawlen(L, -1), i, vlen;
    const char *v;
    char q[64];

    if (IEQ(k, klen, "host") && len > 0)
        lraise(L, g, "header \"Host\": expected a string");
    for (i = 1; i <= len; i++) {
        if (compat_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING) { /* k, v, x */
            acmpca_excerpt(k, klen, 48, q, sizeof q);
            lraise(L, g, "header \"%s\": expected a string or a list of strings", q);
        }
        v = lua_tolstring(L, -1, &vlen);
        hlist_add(l, k, klen, v, vlen);
        lua_pop(L, 1); /* k, v */
    }
}

/*
 * One pass over the headers table at hi: check every entry, record or
 * count it, and copy it into sign's result table unless the signer
 * replaces it (a raw set allocates but runs no collector step).
 */
static void headers_pass(lua_State *L, lsig *g, int hi, hlist *l)
{
    char q[64];

    lua_pushnil(L);
    while (lua_next(L, hi) != 0) { /* k, v */
        size_t klen;
        const char *k = header_name(L, g, &klen);
        int ty = lua_type(L, -1);
        if (ty == LUA_TSTRING) {
            header_string(L, g, l, k, klen);
        } else if (ty == LUA_TTABLE) {
            header_list(L, g, l, k, klen);
        } else {
            acmpca_excerpt(k, klen, 48, q, sizeof q);
            lraise(L, g, "header \"%s\": expected a string or a list of strings, got %s", q,
                   lua_typename(L, ty));
        }
        if (l->res != 0 && !header_replaced(k, klen)) {
            lua_pushvalue(L, -2); /* k, v, k */
            lua_pushvalue(L, -2); /* k, v, k, v */
            lua_rawset(L, l->res);
        }
        lua_pop(L, 1); /* k */
    }
}

/* request.headers at hi into g->req (and sign's result table res, when not 0). */
static void headers_collect(lua_State *L, lsig *g, int hi, int res)
{
    hlist l = {g->hsmall, LHSTACK, 0, NULL, res};

    headers_pass(L, g, hi, &l);
    if (l.n > LHSTACK) {
        /*
         * Too many for the stack array: size a block by the count, then
         * record again.  The allocation may run a finalizer that touches
         * the table, so the second pass trusts no count of the first.
         */
        l.cap = l.n;
        l.arr = lua_newuserdata(L, l.cap * sizeof *l.arr); /* GC-owned scratch */
        l.n = 0;
        l.hostname = NULL;
        g->host_header = 0;
        headers_pass(L, g, hi, &l);
        if (l.n > l.cap)
            lraise(L, g, "headers: the table changed while it was read");
    }
    g->req.headers = l.arr;
    g->req.nheaders = l.n;
}

/* ------------------------------------------------------------ request */

static int method_known(const char *p, size_t n)
{
    switch (n) {
    case 3:
        return memcmp(p, "GET", 3) == 0 || memcmp(p, "PUT", 3) == 0;
    case 4:
        return memcmp(p, "POST", 4) == 0 || memcmp(p, "HEAD", 4) == 0;
    case 5:
        return memcmp(p, "PATCH", 5) == 0;
    case 6:
        return memcmp(p, "DELETE", 6) == 0;
    case 7:
        return memcmp(p, "OPTIONS", 7) == 0;
    default:
        return 0;
    }
}

static void request_method(lua_State *L, int ri, lsig *g)
{
    size_t n;
    const char *s = field_str(L, ri, K_METHOD, NULL, g, 1, &n);

    if (!method_known(s, n))
        acmpca_raise(L, lua_gettop(L),
                     "acmpca.sigv4.%s: method: expected one of GET, HEAD, "
                     "POST, PUT, DELETE, PATCH, OPTIONS",
                     g->fname);
    g->req.method.p = s;
    g->req.method.n = n;
}

/* request.host, .path and .query, the alternative to request.url. */
static void request_host_path(lua_State *L, int ri, lsig *g, const char *host, size_t n)
{
    const char *s;

    if (n == 0 || memchr(host, '\r', n) || memchr(host, '\n', n) || memchr(host, '\0', n))
        lraise(L, g, "host: expected a non-empty string without CR, LF or NUL");
    g->scheme = "https";
    g->authority.p = host;
    g->authority.n = n;
    s = field_str(L, ri, K_PATH, NULL, g, 0, &n);
    if (s == NULL) {
        s = "/";
        n = 1;
    }
    if (n > 0 && s[0] != '/')
        lraise(L, g, "path: expected a string starting with \"/\"");
    g->req.path.p = s;
    g->req.path.n = n;
    s = field_str(L, ri, K_QUERY, NULL, g, 0, &n);
    g->req.query.p = s != NULL ? s : "";
    g->req.query.n = s != NULL ? n : 0;
}

/* request.url, or host=, path= and query=: scheme, authority, path and query. */
static void request_target(lua_State *L, int ri, lsig *g)
{
    size_t n;
    const char *s = field_str(L, ri, K_URL, NULL, g, 0, &n), *problem;
    acmpca_sigv4_url u = {0};

    if (s != NULL) {
        if ((problem = acmpca_sigv4_parse_url(s, n, &u)) != NULL)
            lraise(L, g, "%s", problem);
        g->scheme = u.scheme;
        g->authority = u.authority;
        g->req.path = u.path;
        g->req.query = u.query;
    } else {
        s = field_str(L, ri, K_HOST, NULL, g, 0, &n);
        if (s == NULL)
            lraise(L, g, "url: expected a string (or give host= and path=)");
        request_host_path(L, ri, g, s, n);
    }
    g->req.host = g->authority;
}

/* The request table at ri into g; res: sign's result table, or 0. */
static void parse_request(lua_State *L, int ri, lsig *g, int res)
{
    size_t n;
    const char *s;

    if (lua_type(L, ri) != LUA_TTABLE)
        lraise(L, g, "request: expected a table, got %s", luaL_typename(L, ri));
    request_method(L, ri, g);
    request_target(L, ri, g);
    if (getkey(L, ri, K_HEADERS) == LUA_TTABLE) { /* ..., headers */
        g->hidx = lua_gettop(L);
        headers_collect(L, g, g->hidx, res);
    } else if (!lua_isnil(L, -1)) {
        lraise(L, g, "headers: expected a table, got %s", luaL_typename(L, -1));
    }
    s = field_str(L, ri, K_BODY, NULL, g, 0, &n);
    g->req.body.p = s != NULL ? s : "";
    g->req.body.n = s != NULL ? n : 0;
}

/* ------------------------------------------------------------ opts */

/* opts.time: unix seconds or "YYYYMMDDTHHMMSSZ"; default now. */
static int64_t parse_time(lua_State *L, int oi, const lsig *g)
{
    int64_t t = 0;
    int ty = getkey(L, oi, K_TIME);

    if (ty == LUA_TNIL)
        return (int64_t)time(NULL);
    if (ty == LUA_TNUMBER) {
        double d = (double)lua_tonumber(L, -1);
        if (!(d >= 0 && d <= (double)ACMPCA_SIGV4_MAX_TIME))
            lraise(L, g, "time: expected unix seconds from 0 to %lld or \"YYYYMMDDTHHMMSSZ\"",
                   (long long)ACMPCA_SIGV4_MAX_TIME);
        return (int64_t)floor(d);
    }
    if (ty == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (acmpca_sigv4_parse_amz_date(s, n, &t) == 0)
            return t;
    }
    lraise(L, g, "time: expected unix seconds or a valid \"YYYYMMDDTHHMMSSZ\" timestamp");
    return 0;
}

enum { NEED_NOTHING = 0, NEED_KEY_ID = 1, NEED_SECRET = 2 };

/* opts.credentials: the key id, secret and token; which must be there per need. */
static void parse_credentials(lua_State *L, int oi, lsig *g, int need)
{
    acmpca_sigv4_config *cfg = &g->cfg;
    int ci;

    getkey(L, oi, K_CREDENTIALS); /* ..., creds */
    ci = lua_gettop(L);
    if (lua_type(L, ci) == LUA_TTABLE) {
        cfg->access_key_id.p = field_str(L, ci, K_ACCESS_KEY_ID, "credentials.access_key_id", g,
                                         (need & NEED_KEY_ID) != 0, &cfg->access_key_id.n);
        cfg->secret_access_key.p =
            field_str(L, ci, K_SECRET_ACCESS_KEY, "credentials.secret_access_key", g,
                      (need & NEED_SECRET) != 0, &cfg->secret_access_key.n);
        cfg->session_token.p = field_str(L, ci, K_SESSION_TOKEN, "credentials.session_token", g, 0,
                                         &cfg->session_token.n);
    } else if (need != NEED_NOTHING || !lua_isnil(L, ci)) {
        lraise(L, g, "credentials: expected a table, got %s", luaL_typename(L, ci));
    }
    if ((need & NEED_KEY_ID) && cfg->access_key_id.n == 0)
        lraise(L, g, "credentials.access_key_id: expected a non-empty string");
    if ((need & NEED_SECRET) && cfg->secret_access_key.n == 0)
        lraise(L, g, "credentials.secret_access_key: expected a non-empty string");
}

static void parse_opts(lua_State *L, int oi, lsig *g, int need)
{
    acmpca_sigv4_config *cfg = &g->cfg;

    if (lua_type(L, oi) != LUA_TTABLE)
        lraise(L, g, "opts: expected a table, got %s", luaL_typename(L, oi));
    cfg->region.p = field_str(L, oi, K_REGION, NULL, g, 1, &cfg->region.n);
    cfg->service.p = field_str(L, oi, K_SERVICE, NULL, g, 1, &cfg->service.n);
    parse_credentials(L, oi, g, need);
    cfg->time = parse_time(L, oi, g);
    cfg->flags = 0;
    if (field_bool(L, oi, K_NORMALIZE_PATH, g, 1))
        cfg->flags |= ACMPCA_SIGV4_NORMALIZE_PATH;
    if (field_bool(L, oi, K_SIGN_BODY, g, 0))
        cfg->flags |= ACMPCA_SIGV4_SIGN_BODY;
    if (field_bool(L, oi, K_OMIT_SESSION_TOKEN, g, 0))
        cfg->flags |= ACMPCA_SIGV4_OMIT_TOKEN;
    cfg->payload_hash.p = field_str(L, oi, K_PAYLOAD_HASH, NULL, g, 0, &cfg->payload_hash.n);
}

/* opts.expires: an integer of seconds, default 3600. */
static void parse_expires(lua_State *L, int oi, lsig *g)
{
    if (getkey(L, oi, K_EXPIRES) == LUA_TNIL) {
        g->cfg.expires = 3600;
        return;
    }
    if (lua_type(L, -1) == LUA_TNUMBER) {
        double d = (double)lua_tonumber(L, -1);
        if (d >= 1 && d <= ACMPCA_SIGV4_EXPIRES_MAX && d == floor(d)) {
            g->cfg.expires = (long)d;
            return;
        }
    }
    lraise(L, g, "expires: expected an integer from 1 to %d", ACMPCA_SIGV4_EXPIRES_MAX);
}

/* ------------------------------------------------------------ results */

/* The signer's headers into sign's result table res (the request's are in). */
static void add_signer_headers(lua_State *L, const lsig *g, const acmpca_sigv4_result *out, int res)
{
    if (!g->host_header)
        set_memo(L, res, K_H_HOST, M_HOST, g->req.host.p, g->req.host.n);
    set_memo(L, res, K_H_DATE, M_DATE, out->amz_date, 16);
    if (g->cfg.session_token.p != NULL)
        set_lstr(L, res, K_H_TOKEN, g->cfg.session_token.p, g->cfg.session_token.n);
    if (g->cfg.flags & ACMPCA_SIGV4_SIGN_BODY)
        set_lstr(L, res, K_H_SHA256, out->payload_hash, strlen(out->payload_hash));
    set_lstr(L, res, K_H_AUTH, out->authorization, out->authorization_len);
}

/* scheme://authority/path?[query&]params */
static void push_presigned_url(lua_State *L, const lsig *g, const char *params, size_t n)
{
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    luaL_addstring(&b, g->scheme);
    luaL_addlstring(&b, "://", 3);
    luaL_addlstring(&b, g->authority.p, g->authority.n);
    if (g->req.path.n > 0)
        luaL_addlstring(&b, g->req.path.p, g->req.path.n);
    else
        luaL_addchar(&b, '/');
    luaL_addchar(&b, '?');
    if (g->req.query.n > 0) {
        luaL_addlstring(&b, g->req.query.p, g->req.query.n);
        luaL_addchar(&b, '&');
    }
    luaL_addlstring(&b, params, n);
    luaL_pushresult(&b);
}

/* ------------------------------------------------------------ Lua functions */

/* signing_key(secret, yyyymmdd, region, service) -> 32 raw bytes */
static int l_signing_key(lua_State *L)
{
    static const char *const labels[4] = {"secret", "yyyymmdd", "region", "service"};
    acmpca_str args[4];
    unsigned char key[32];
    char err[256];
    lsig g;
    int i;

    lsig_init(&g, "signing_key");
    for (i = 0; i < 4; i++) {
        if (lua_type(L, i + 1) != LUA_TSTRING)
            return lraise(L, &g, "%s: expected a string, got %s", labels[i],
                          luaL_typename(L, i + 1));
        args[i].p = lua_tolstring(L, i + 1, &args[i].n);
    }
    if (acmpca_sigv4_signing_key(&args[0], &args[1], &args[2], &args[3], key, err, sizeof err) != 0)
        return lraise(L, &g, "%s", err);
    lua_pushlstring(L, (const char *)key, sizeof key);
    acmpca_cleanse(key, sizeof key);
    return 1;
}

/*
 * canonical_request(request, opts) -> creq, signed_headers
 * opts.presign = true gives the query-string (presign) form.
 */
static int l_canonical_request(lua_State *L)
{
    char small[4096], sh[ACMPCA_SIGV4_AUTH_MAX], err[256];
    acmpca_sigv4_text creq = {small, sizeof small, 0}, shtext = {sh, sizeof sh, 0};
    int presign = 0;
    lsig g;

    luaL_checkstack(L, 48, "acmpca.sigv4: Lua stack exhausted");
    lsig_init(&g, "canonical_request");
    parse_request(L, 1, &g, 0);
    if (lua_type(L, 2) == LUA_TTABLE)
        presign = field_bool(L, 2, K_PRESIGN, &g, 0);
    parse_opts(L, 2, &g, presign ? NEED_KEY_ID : NEED_NOTHING);
    if (presign)
        parse_expires(L, 2, &g);
    if (acmpca_sigv4_canonical_request(&g.req, &g.cfg, presign, &creq, &shtext, err, sizeof err) !=
        0)
        return lraise(L, &g, "%s", err);
    if (creq.len >= creq.cap) {
        /* longer than the stack buffer: again, into a GC-owned block */
        creq.cap = creq.len + 1;
        creq.p = lua_newuserdata(L, creq.cap);
        if (acmpca_sigv4_canonical_request(&g.req, &g.cfg, presign, &creq, NULL, err, sizeof err) !=
            0)
            return lraise(L, &g, "%s", err);
    }
    lua_pushlstring(L, creq.p, creq.len);
    lua_pushlstring(L, sh, shtext.len);
    return 2;
}

/* string_to_sign(creq, opts) -> the string to sign (opts: region, service, time) */
static int l_string_to_sign(lua_State *L)
{
    char sts[ACMPCA_SIGV4_STS_MAX], err[256];
    acmpca_sigv4_text out = {sts, sizeof sts, 0};
    const char *creq;
    size_t n;
    lsig g;

    lsig_init(&g, "string_to_sign");
    if (lua_type(L, 1) != LUA_TSTRING)
        return lraise(L, &g, "canonical_request: expected a string, got %s", luaL_typename(L, 1));
    creq = lua_tolstring(L, 1, &n);
    if (lua_type(L, 2) != LUA_TTABLE)
        return lraise(L, &g, "opts: expected a table, got %s", luaL_typename(L, 2));
    g.cfg.region.p = field_str(L, 2, K_REGION, NULL, &g, 1, &g.cfg.region.n);
    g.cfg.service.p = field_str(L, 2, K_SERVICE, NULL, &g, 1, &g.cfg.service.n);
    g.cfg.time = parse_time(L, 2, &g);
    if (acmpca_sigv4_string_to_sign(creq, n, &g.cfg, &out, err, sizeof err) != 0)
        return lraise(L, &g, "%s", err);
    lua_pushlstring(L, sts, out.len);
    return 1;
}

/* sign(request, opts) -> a new headers table */
static int l_sign(lua_State *L)
{
    acmpca_sigv4_result out;
    char err[256];
    lsig g;
    int res;

    luaL_checkstack(L, 48, "acmpca.sigv4: Lua stack exhausted");
    lsig_init(&g, "sign");
    lua_createtable(L, 0, 8); /* request, opts, res: filled while the headers are read */
    res = lua_gettop(L);
    parse_request(L, 1, &g, res);
    parse_opts(L, 2, &g, NEED_KEY_ID | NEED_SECRET);
    if (acmpca_sigv4_sign(&g.req, &g.cfg, &out, err, sizeof err) != 0)
        return lraise(L, &g, "%s", err);
    add_signer_headers(L, &g, &out, res);
    lua_settop(L, res);
    return 1;
}

/* presign(request, opts) -> the presigned URL */
static int l_presign(lua_State *L)
{
    char small[2048], err[256];
    acmpca_sigv4_text params = {small, sizeof small, 0};
    lsig g;

    luaL_checkstack(L, 48, "acmpca.sigv4: Lua stack exhausted");
    lsig_init(&g, "presign");
    parse_request(L, 1, &g, 0);
    parse_opts(L, 2, &g, NEED_KEY_ID | NEED_SECRET);
    parse_expires(L, 2, &g);
    if (acmpca_sigv4_presign(&g.req, &g.cfg, &params, err, sizeof err) != 0)
        return lraise(L, &g, "%s", err);
    if (params.len >= params.cap) {
        /* a long session token: again, into a GC-owned block */
        params.cap = params.len + 1;
        params.p = lua_newuserdata(L, params.cap);
        if (acmpca_sigv4_presign(&g.req, &g.cfg, &params, err, sizeof err) != 0)
            return lraise(L, &g, "%s", err);
    }
    push_presigned_url(L, &g, params.p, params.len);
    return 1;
}

/* ------------------------------------------------------------ opener */

void acmpca_sigv4_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"signing_key", l_signing_key},
        {"canonical_request", l_canonical_request},
        {"string_to_sign", l_string_to_sign},
        {"sign", l_sign},
        {"presign", l_presign},
        {NULL, NULL},
    };
    const luaL_Reg *r;
    int i;

    luaL_checkstack(L, K_END + 2, "acmpca.sigv4: Lua stack exhausted");
    for (r = fns; r->name != NULL; r++) {
        for (i = 1; i < K_END; i++)
            lua_pushstring(L, key_names[i]);     /* t, k1..kn */
        lua_pushcclosure(L, r->func, K_END - 1); /* t, f */
        lua_setfield(L, -2, r->name);
    }
}
