/*
 * client.c: the "acmpca.client" userdata, and nothing else.
 *
 * A client holds its settings (region, FIPS, dual-stack, custom endpoint, user agent,
 * timeouts), its clock offset, the libcurl handle of the built-in
 * transport and a reused body buffer.  The Lua call loop in
 * lua/acmpca/client.lua drives one attempt through three steps, each a
 * short list of calls into the area that owns the work:
 *
 *   _prepare(op, args, creds)  validate.c, endpoint.c, json.c, sigv4.c
 *   _send(req)                 http_lua.c (libcurl)
 *   _finish(op, res, err)      response.c, json.c
 *
 * The loop is Lua so that a transport may yield (OpenResty cosockets):
 * nothing here calls back into a transport or a credentials function.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "core.h"
#include "arn.h"
#include "client.h"
#include "endpoint.h"
#include "error.h"
#include "http.h"
#include "http_lua.h"
#include "json.h"
#include "model.h"
#include "response.h"
#include "sigv4.h"
#include "strbuf.h"
#include "validate.h"

#define CONTENT_TYPE "application/x-amz-json-1.1"
#define STR_LIT(s) {(s), sizeof(s) - 1} /* an acmpca_str of a string literal */

/* ------------------------------------------------------------ the client */

typedef struct client {
    int closed;
    acmpca_http http;
    char *region;          /* configured region, NULL: the ARN's */
    char *sign_region;     /* region without a "fips-" prefix */
    int ep_flags;          /* ACMPCA_EP_FIPS, ACMPCA_EP_DUALSTACK */
    acmpca_endpoint ep;    /* custom endpoint, ep.url NULL when none */
    char *user_agent;
    double timeout, connect_timeout; /* 0: not set */
    int64_t clock_offset;            /* seconds added to time(NULL) */
    acmpca_strbuf body;              /* the request body, reused */
    /* the endpoint derived for the last region used */
    char cache_region[64];
    char cache_url[ACMPCA_URL_MAX];
    char cache_host[ACMPCA_HOST_MAX];
} client;

static client *check_client(lua_State *L, int i)
{
    return luaL_checkudata(L, i, ACMPCA_CLIENT_MT);
}

static client *check_open(lua_State *L, int i)
{
    client *c = check_client(L, i);
    if (c->closed)
        luaL_error(L, "acmpca.client: the client is closed");
    return c;
}

static const acmpca_operation *check_op(lua_State *L, int i)
{
    size_t n;
    const char *s = luaL_checklstring(L, i, &n);
    const acmpca_operation *op = acmpca_model_find(s, n);
    if (op == NULL)
        luaL_argerror(L, i, "unknown operation");
    return op;
}

static void free_client(client *c)
{
    acmpca_http_free(&c->http);
    acmpca_endpoint_free(&c->ep);
    acmpca_strbuf_free(&c->body);
    free(c->region);
    free(c->sign_region);
    free(c->user_agent);
    c->region = c->sign_region = c->user_agent = NULL;
    c->closed = 1;
}

/* ------------------------------------------------------------ client_new */

/* A field of opts (index 1) that must be nil or of type ty; returns its type. */
static int opt_field(lua_State *L, const char *field, int ty, const char *want)
{
    int got = compat_getfield(L, 1, field);
    if (got != LUA_TNIL && got != ty)
        acmpca_raise(L, 0, "acmpca.new: %s: expected %s, got %s", field, want,
                     luaL_typename(L, -1));
    return got;
}

static double opt_secs(lua_State *L, const char *field)
{
    double v = 0;
    if (opt_field(L, field, LUA_TNUMBER, "a number of seconds") == LUA_TNUMBER) {
        v = lua_tonumber(L, -1);
        if (!(v > 0 && v <= 86400))
            acmpca_raise(L, 0, "acmpca.new: %s: expected seconds in (0, 86400], got %g",
                         field, v);
    }
    lua_pop(L, 1);
    return v;
}

static char *dup_or_raise(lua_State *L, const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        luaL_error(L, "acmpca.new: out of memory"); /* the userdata owns the rest */
    return d;
}

static void set_region(lua_State *L, client *c)
{
    if (opt_field(L, "region", LUA_TSTRING, "a string") == LUA_TSTRING) {
        size_t n;
        const char *r = lua_tolstring(L, -1, &n);
        int fips = strncmp(r, "fips-", 5) == 0;
        if (!acmpca_region_valid(r, n))
            acmpca_raise(L, lua_gettop(L), "acmpca.new: region: expected a region name "
                         "such as \"us-east-1\"");
        c->region = dup_or_raise(L, r);
        c->sign_region = dup_or_raise(L, fips && n > 5 ? r + 5 : r);
        if (fips)
            c->ep_flags |= ACMPCA_EP_FIPS;
    }
    lua_pop(L, 1);
    if (opt_field(L, "use_fips", LUA_TBOOLEAN, "a boolean") == LUA_TBOOLEAN &&
        lua_toboolean(L, -1))
        c->ep_flags |= ACMPCA_EP_FIPS;
    lua_pop(L, 1);
    if (opt_field(L, "use_dualstack", LUA_TBOOLEAN, "a boolean") == LUA_TBOOLEAN &&
        lua_toboolean(L, -1))
        c->ep_flags |= ACMPCA_EP_DUALSTACK;
    lua_pop(L, 1);
}

/* A configured region's partition must have the endpoint asked for. */
static void check_derivable(lua_State *L, client *c)
{
    char host[ACMPCA_HOST_MAX], url[ACMPCA_URL_MAX];
    const char *why;
    if (c->region == NULL || c->ep.url != NULL)
        return;
    why = acmpca_endpoint_derive(c->sign_region, strlen(c->sign_region), c->ep_flags, host, url);
    if (why != NULL)
        acmpca_raise(L, 0, "acmpca.new: use_dualstack: %s (region %s, partition %s)", why,
                     c->region, acmpca_endpoint_partition(c->sign_region,
                                                          strlen(c->sign_region)));
}

static void set_endpoint(lua_State *L, client *c)
{
    if (opt_field(L, "endpoint", LUA_TSTRING, "a URL string") == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        const char *why = acmpca_endpoint_parse(s, n, &c->ep);
        if (why != NULL) /* never echo a URL that may hold user:password@ */
            acmpca_raise(L, strchr(s, '@') ? 0 : lua_gettop(L), "acmpca.new: endpoint: %s "
                         "(http[s]://host[:port][/path])", why);
    }
    lua_pop(L, 1);
}

static void set_user_agent(lua_State *L, client *c)
{
    char ua[96];
    if (opt_field(L, "user_agent", LUA_TSTRING, "a string") == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (n == 0 || n > 512 || strlen(s) != n || strpbrk(s, "\r\n") != NULL)
            acmpca_raise(L, 0, "acmpca.new: user_agent: expected 1 to 512 characters "
                         "without CR, LF or NUL");
        c->user_agent = dup_or_raise(L, s);
    } else {
        snprintf(ua, sizeof ua, "lua-acmpca/%s lua/%s", ACMPCA_VERSION,
                 LUA_VERSION_NUM == 501 ? "5.1" : "5.4");
        c->user_agent = dup_or_raise(L, ua);
    }
    lua_pop(L, 1);
}

static void set_transport(lua_State *L, client *c)
{
    const char *ca_file = NULL;
    if (opt_field(L, "ca_file", LUA_TSTRING, "a file name") == LUA_TSTRING) {
        size_t n;
        ca_file = lua_tolstring(L, -1, &n);
        if (strlen(ca_file) != n) /* fopen would read a shorter name */
            acmpca_raise(L, 0, "acmpca.new: ca_file: contains NUL");
    }
    if (acmpca_http_configure(&c->http, ca_file, c->timeout, c->connect_timeout) != 0)
        luaL_error(L, "acmpca.new: out of memory");
    lua_pop(L, 1);
}

/*
 * core.client_new(opts[, state]) -> client.  opts: region, endpoint,
 * use_fips, use_dualstack, user_agent, timeout, connect_timeout, ca_file (all resolved by
 * the Lua layer); state: the Lua-side table kept as the user value.
 */
static int l_client_new(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 2);
        lua_newtable(L);
        lua_replace(L, 1);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    double timeout = opt_secs(L, "timeout");
    double connect_timeout = opt_secs(L, "connect_timeout");

    /* the userdata first: from here on __gc frees whatever was set */
    client *c = compat_newuserdata(L, sizeof *c); /* opts, state, c */
    memset(c, 0, sizeof *c);
    acmpca_http_init(&c->http);
    luaL_getmetatable(L, ACMPCA_CLIENT_MT);
    lua_setmetatable(L, -2);
    if (lua_type(L, 2) == LUA_TTABLE)
        lua_pushvalue(L, 2);
    else
        lua_newtable(L);
    compat_setuservalue(L, 3);
    c->timeout = timeout;
    c->connect_timeout = connect_timeout;

    set_region(L, c);
    set_endpoint(L, c);
    check_derivable(L, c);
    set_user_agent(L, c);
    set_transport(L, c);
    return 1;
}

/* ------------------------------------------------------------ small methods */

/* __gc, __close and close(): one idempotent function. */
static int l_client_close(lua_State *L)
{
    /* free_client is idempotent: run it even when closed, in case a
       transport re-created the curl handle after an earlier close. */
    free_client(check_client(L, 1));
    return 0;
}

/* Shows where requests go, never credentials. */
static int l_client_tostring(lua_State *L)
{
    char buf[512];
    client *c = check_client(L, 1);
    if (c->closed)
        snprintf(buf, sizeof buf, "acmpca.client (closed)");
    else if (c->ep.url != NULL)
        snprintf(buf, sizeof buf, "acmpca.client (region %s, endpoint %s)",
                 c->region ? c->region : "from the CA ARN", c->ep.url);
    else if (c->region != NULL) {
        char host[ACMPCA_HOST_MAX], url[ACMPCA_URL_MAX];
        acmpca_endpoint_derive(c->sign_region, strlen(c->sign_region), c->ep_flags, host, url);
        snprintf(buf, sizeof buf, "acmpca.client (region %s, endpoint %s)", c->region, url);
    } else
        snprintf(buf, sizeof buf, "acmpca.client (region from the CA ARN, endpoint "
                 "https://acm-pca%s.<region>.%s/)", c->ep_flags & ACMPCA_EP_FIPS ? "-fips" : "",
                 c->ep_flags & ACMPCA_EP_DUALSTACK ? "api.aws" : "amazonaws.com");
    lua_pushstring(L, buf);
    return 1;
}

/* client:region() -> the configured region, or nil (each CA ARN's) */
static int l_client_region(lua_State *L)
{
    client *c = check_client(L, 1);
    if (c->closed || c->region == NULL)
        lua_pushnil(L);
    else
        lua_pushstring(L, c->region);
    return 1;
}

/* client:endpoint() -> the URL requests go to: the custom endpoint, else
   the one derived from the configured region; nil when it depends on each
   CA ARN's region (no region configured) or the client is closed. */
static int l_client_endpoint(lua_State *L)
{
    char host[ACMPCA_HOST_MAX], url[ACMPCA_URL_MAX];
    client *c = check_client(L, 1);
    if (c->closed)
        lua_pushnil(L);
    else if (c->ep.url != NULL)
        lua_pushstring(L, c->ep.url);
    else if (c->region != NULL) {
        acmpca_endpoint_derive(c->sign_region, strlen(c->sign_region), c->ep_flags, host, url);
        lua_pushstring(L, url);
    } else
        lua_pushnil(L);
    return 1;
}

/* client:_state() -> the Lua-side table (transport, credentials, sleep...) */
static int l_client_state(lua_State *L)
{
    check_client(L, 1);
    compat_getuservalue(L, 1);
    return 1;
}

/* client:_clock_offset([seconds]) -> seconds; sets it when given */
static int l_client_clock_offset(lua_State *L)
{
    client *c = check_client(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        lua_Number v = luaL_checknumber(L, 2);
        if (!(v > -1e9 && v < 1e9))
            return luaL_argerror(L, 2, "offset out of range");
        c->clock_offset = (int64_t)v;
    }
    lua_pushnumber(L, (lua_Number)c->clock_offset);
    return 1;
}

/* ------------------------------------------------------------ _prepare */

/* What one attempt is built from. */
typedef struct attempt {
    const acmpca_operation *op;
    acmpca_str akid, secret, token;
    acmpca_str region;
    const char *url, *host, *path;
    acmpca_str body;
    acmpca_sigv4_result sig;
} attempt;

/* Read a credentials string; 1 if present and non-empty (left on the stack). */
static int cred_field(lua_State *L, int t, const char *k, acmpca_str *out)
{
    if (compat_getfield(L, t, k) == LUA_TSTRING) {
        out->p = lua_tolstring(L, -1, &out->n);
        if (out->n > 0)
            return 1;
    }
    out->p = NULL;
    out->n = 0;
    return 0;
}

static int read_credentials(lua_State *L, int t, attempt *a)
{
    if (lua_type(L, t) != LUA_TTABLE || !cred_field(L, t, "access_key_id", &a->akid) ||
        !cred_field(L, t, "secret_access_key", &a->secret)) {
        lua_pushnil(L);
        acmpca_error_push(L, "CredentialsError",
                          "credentials: expected a table with access_key_id and "
                          "secret_access_key strings", 0, NULL, 0, a->op->name);
        return -1;
    }
    cred_field(L, t, "session_token", &a->token);
    return 0;
}

/* The client's region, else the region of the call's ARN. */
static int resolve_region(lua_State *L, client *c, int args, attempt *a)
{
    acmpca_arn arn;
    size_t n = 0;
    const char *s;
    if (c->region != NULL) {
        a->region = (acmpca_str){c->sign_region, strlen(c->sign_region)};
        return 0;
    }
    s = acmpca_validate_arn(L, a->op, args, &n); /* validated: parses */
    if (s != NULL && acmpca_arn_parse(s, n, &arn) == NULL) {
        a->region = arn.region;
        return 0;
    }
    lua_pushnil(L);
    acmpca_error_push(L, "NoRegionError", "no region: set region (or AWS_REGION), or call "
                      "with a CA ARN to take its region", 0, NULL, 0, a->op->name);
    return -1;
}

/* The custom endpoint, else the one derived for the region (cached);
 * nil, err pushed when the ARN's partition has no such endpoint. */
static int resolve_endpoint(lua_State *L, client *c, attempt *a)
{
    char msg[200];
    const char *why;
    if (c->ep.url != NULL) {
        a->url = c->ep.url;
        a->host = c->ep.host;
        a->path = c->ep.path;
        return 0;
    }
    if (strlen(c->cache_region) != a->region.n ||
        memcmp(c->cache_region, a->region.p, a->region.n) != 0) {
        c->cache_region[0] = '\0';
        why = acmpca_endpoint_derive(a->region.p, a->region.n, c->ep_flags, c->cache_host,
                                     c->cache_url);
        if (why != NULL) {
            snprintf(msg, sizeof msg, "use_dualstack: %s (region %.*s, partition %s)", why,
                     (int)a->region.n, a->region.p,
                     acmpca_endpoint_partition(a->region.p, a->region.n));
            lua_pushnil(L);
            acmpca_error_push(L, "ConfigError", msg, 0, NULL, 0, a->op->name);
            return -1;
        }
        memcpy(c->cache_region, a->region.p, a->region.n);
        c->cache_region[a->region.n] = '\0';
    }
    a->url = c->cache_url;
    a->host = c->cache_host;
    a->path = "/";
    return 0;
}

/* The JSON body, pushed as a string (it becomes req.body). */
static int encode_body(lua_State *L, client *c, int args, attempt *a)
{
    acmpca_strbuf_reset(&c->body);
    acmpca_json_encode(L, a->op->input, args, &c->body);
    if (c->body.failed) {
        lua_pushnil(L);
        acmpca_error_push(L, "ClientError", "out of memory encoding the request", 0, NULL, 0,
                          a->op->name);
        return -1;
    }
    lua_pushlstring(L, c->body.p, c->body.len);
    a->body.p = lua_tolstring(L, -1, &a->body.n);
    return 0;
}

/* Sign content-type;host;x-amz-date;x-amz-target[;x-amz-security-token]. */
static int sign(lua_State *L, client *c, attempt *a)
{
    char err[256] = "";
    const acmpca_header hs[2] = {
        {STR_LIT("content-type"), STR_LIT(CONTENT_TYPE)},
        {STR_LIT("x-amz-target"), {a->op->target, strlen(a->op->target)}},
    };
    const acmpca_sigv4_request sr = {
        .method = STR_LIT("POST"),
        .host = {a->host, strlen(a->host)},
        .path = {a->path, strlen(a->path)},
        .query = STR_LIT(""),
        .headers = hs,
        .nheaders = 2,
        .body = a->body,
    };
    const acmpca_sigv4_config cfg = {
        .region = a->region,
        .service = {acmpca_service_info.signing_name, strlen(acmpca_service_info.signing_name)},
        .access_key_id = a->akid,
        .secret_access_key = a->secret,
        .session_token = a->token,
        .time = (int64_t)time(NULL) + c->clock_offset,
        .flags = ACMPCA_SIGV4_NORMALIZE_PATH,
    };
    if (acmpca_sigv4_sign(&sr, &cfg, &a->sig, err, sizeof err) == 0)
        return 0;
    lua_pushnil(L);
    acmpca_error_push(L, "SigningError", err[0] ? err : "signing failed", 0, NULL, 0,
                      a->op->name);
    return -1;
}

static void set_str(lua_State *L, const char *k, const char *v, size_t n)
{
    lua_pushlstring(L, v, n);
    lua_setfield(L, -2, k);
}

/* req = { method=, url=, headers={...}, body= [, timeout=, connect_timeout=] } */
static void push_request(lua_State *L, client *c, int bodyi, const attempt *a)
{
    lua_createtable(L, 0, 6);
    lua_pushliteral(L, "POST");
    lua_setfield(L, -2, "method");
    lua_pushstring(L, a->url);
    lua_setfield(L, -2, "url");
    lua_pushvalue(L, bodyi);
    lua_setfield(L, -2, "body");
    if (c->timeout > 0) {
        lua_pushnumber(L, c->timeout);
        lua_setfield(L, -2, "timeout");
    }
    if (c->connect_timeout > 0) {
        lua_pushnumber(L, c->connect_timeout);
        lua_setfield(L, -2, "connect_timeout");
    }
    lua_createtable(L, 0, 7); /* req, headers */
    lua_pushstring(L, a->host);
    lua_setfield(L, -2, "Host");
    lua_pushliteral(L, CONTENT_TYPE);
    lua_setfield(L, -2, "Content-Type");
    lua_pushstring(L, a->op->target);
    lua_setfield(L, -2, "X-Amz-Target");
    set_str(L, "X-Amz-Date", a->sig.amz_date, 16);
    set_str(L, "Authorization", a->sig.authorization, a->sig.authorization_len);
    if (a->token.p != NULL)
        set_str(L, "X-Amz-Security-Token", a->token.p, a->token.n);
    lua_pushstring(L, c->user_agent);
    lua_setfield(L, -2, "User-Agent");
    lua_setfield(L, -2, "headers"); /* req */
}

/*
 * client:_prepare(op, args, creds) -> req | nil, err.  With creds == false
 * it only validates args and returns true.  Raises on invalid args.
 */
static int l_prepare(lua_State *L)
{
    client *c = check_open(L, 1);
    attempt a;
    memset(&a, 0, sizeof a);
    a.op = check_op(L, 2);
    lua_settop(L, 4);
    acmpca_validate(L, a.op, 3);
    if (lua_type(L, 4) == LUA_TBOOLEAN && !lua_toboolean(L, 4)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (read_credentials(L, 4, &a) != 0 || resolve_region(L, c, 3, &a) != 0)
        return 2;
    if (resolve_endpoint(L, c, &a) != 0)
        return 2;
    if (encode_body(L, c, 3, &a) != 0)
        return 2;
    int bodyi = lua_gettop(L);
    if (sign(L, c, &a) != 0)
        return 2;
    push_request(L, c, bodyi, &a);
    return 1;
}

/* ------------------------------------------------------------ _send, _finish */

/* client:_send(req) -> res | nil, err  (the built-in libcurl transport) */
static int l_send(lua_State *L)
{
    client *c = check_open(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    return acmpca_http_request(L, &c->http, 2, 2);
}

/*
 * client:_finish(op, res, transport_err) -> result | nil, err.
 * err may carry clock_skew = true (the offset was corrected: retry once).
 */
static int l_finish(lua_State *L)
{
    client *c = check_client(L, 1);
    const acmpca_operation *op = check_op(L, 2);
    lua_settop(L, 4);
    return acmpca_response_finish(L, op, 3, 4, &c->clock_offset);
}

/* ------------------------------------------------------------ opener */

void acmpca_client_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"_prepare", l_prepare},
        {"_send", l_send},
        {"_finish", l_finish},
        {"_state", l_client_state},
        {"_clock_offset", l_client_clock_offset},
        {"close", l_client_close},
        {"region", l_client_region},
        {"endpoint", l_client_endpoint},
        {NULL, NULL},
    };
    int m = lua_gettop(L);

    luaL_newmetatable(L, ACMPCA_CLIENT_MT); /* M, mt */
    lua_newtable(L);                        /* M, mt, index */
    for (const luaL_Reg *r = methods; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, m, "client_methods");
    lua_setfield(L, -2, "__index"); /* M, mt */
    lua_pushcfunction(L, l_client_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_client_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_client_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1); /* M */

    lua_pushcfunction(L, l_client_new);
    lua_setfield(L, m, "client_new");
}
