/*
 * client.c: the ACM PCA operations of acmpca.core.
 *
 * Owns the "acmpca.client" userdata (core.client_new), the per-operation
 * logic the Lua call loop in lua/acmpca/client.lua drives -- _prepare
 * (validate, resolve region and endpoint, encode with lua-cjson, sign),
 * _send (the built-in libcurl transport, see http.c) and _finish (response
 * or transport failure to result or error object) -- plus the shared
 * "acmpca.error" objects (core.new_error), core.sleep and core.now.
 *
 * The loop itself is Lua so that a transport may yield (OpenResty
 * cosockets): nothing here calls back into a transport or a credentials
 * function.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compat.h"
#include "core.h"
#include "client.h"
#include "error.h"
#include "http.h"
#include "sigv4.h"

#define CONTENT_TYPE "application/x-amz-json-1.1"
#define SERVICE "acm-pca"
#define ARN_SHAPE "arn:<partition>:acm-pca:<region>:<12-digit account>:" \
                  "certificate-authority/<id>"
#define ACTIONS_LIST "IssueCertificate, GetCertificate, ListPermissions"
#define SKEW_LIMIT 240 /* seconds: what the SDKs tolerate before correcting */
#define STR_LIT(s) {(s), sizeof(s) - 1} /* an acmpca_str of a string literal */

/* Slots of the state table shared as upvalue 1 by every client function. */
#define ST_ENCODE 1
#define ST_DECODE 2
#define ST_NULL 3

/* ------------------------------------------------------------ operations */

enum { OP_CREATE, OP_LIST, OP_DELETE, OP_COUNT };

static const struct op_info {
    const char *method; /* Lua name, as in error messages */
    const char *name;   /* model name, err.operation */
    const char *target; /* X-Amz-Target */
} OPS[OP_COUNT] = {
    {"create_permission", "CreatePermission", "ACMPrivateCA.CreatePermission"},
    {"list_permissions", "ListPermissions", "ACMPrivateCA.ListPermissions"},
    {"delete_permission", "DeletePermission", "ACMPrivateCA.DeletePermission"},
};

static int check_op(lua_State *L, int i)
{
    const char *s = luaL_checkstring(L, i);
    for (int op = 0; op < OP_COUNT; op++)
        if (strcmp(s, OPS[op].method) == 0)
            return op;
    return luaL_argerror(L, i, "unknown operation");
}

/* ---------------------------------------------------------- the client */

typedef struct client {
    int closed;
    acmpca_http http;
    char *region;      /* configured region, NULL: the CA ARN's */
    char *sign_region; /* region without a "fips-" prefix */
    int use_fips;
    char *ep_url;      /* custom endpoint: URL as sent (path included) */
    char *ep_host;     /* its Host header (default port dropped) */
    char *ep_path;     /* its path, "/" by default */
    char *user_agent;
    double timeout, connect_timeout; /* 0: not set */
    int64_t clock_offset;            /* seconds added to time(NULL) */
    /* the endpoint derived for the last region used */
    char cache_region[64];
    char cache_url[192];
    char cache_host[160];
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

/* Load lua-cjson on first use into the state table (upvalue 1). */
static void need_cjson(lua_State *L)
{
    int st = lua_upvalueindex(1);
    if (compat_rawgeti(L, st, ST_ENCODE) == LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    lua_call(L, 1, 1); /* cjson */
    /* A private instance: other users' cjson settings cannot affect us. */
    if (compat_getfield(L, -1, "new") == LUA_TFUNCTION) {
        lua_call(L, 0, 1); /* cjson, instance */
        lua_remove(L, -2);
    } else {
        lua_pop(L, 1);
    }
    if (compat_getfield(L, -1, "encode_escape_forward_slash") == LUA_TFUNCTION) {
        lua_pushboolean(L, 0);
        lua_call(L, 1, 0);
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, -1, "decode");
    lua_rawseti(L, st, ST_DECODE);
    lua_getfield(L, -1, "null");
    lua_rawseti(L, st, ST_NULL);
    lua_getfield(L, -1, "encode");
    lua_rawseti(L, st, ST_ENCODE);
    lua_pop(L, 1);
}

/* ---------------------------------------------------------- validation */

/* Raise "acmpca.<method>: <field>: <what>, got <value>" (no malloc held). */
static int bad_arg(lua_State *L, int op, const char *field, const char *what, int vi)
{
    char got[96], msg[512];
    if (vi != 0) {
        acmpca_describe(L, vi, got, sizeof got);
        snprintf(msg, sizeof msg, "acmpca.%s: %s: %s, got %s", OPS[op].method, field,
                 what, got);
    } else {
        snprintf(msg, sizeof msg, "acmpca.%s: %s: %s", OPS[op].method, field, what);
    }
    lua_pushstring(L, msg);
    return lua_error(L);
}

static int arn_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '+' || ch == '=' || ch == ',' || ch == '.' || ch == '@' ||
           ch == '-';
}

static int region_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* The parts of a CA ARN, pointing into the string parsed. */
typedef struct arn_parts {
    acmpca_str partition, region, account, id;
} arn_parts;

/* The end of the run of characters from p that ok accepts. */
static const char *span(const char *p, const char *end, int (*ok)(unsigned char))
{
    while (p < end && ok((unsigned char)*p))
        p++;
    return p;
}

static int digit_char(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/*
 * arn:<partition>:acm-pca:<region>:<12 digits>:certificate-authority/<id>,
 * the one definition of a CA ARN (core.parse_ca_arn gives it to the Lua
 * layer and the mock).  Returns NULL and fills *a, or what is wrong.
 */
static const char *parse_arn(const char *s, size_t n, arn_parts *a)
{
    static const char svc[] = ":acm-pca:", res[] = ":certificate-authority/";
    const char *p = s, *end = s + n, *q;
    if (n < 5 || n > 200)
        return "expected 5 to 200 characters";
    if (memcmp(p, "arn:", 4) != 0)
        return "expected it to start with \"arn:\"";
    p += 4;
    q = span(p, end, arn_char);
    if (q == p)
        return "bad partition";
    a->partition = (acmpca_str){p, (size_t)(q - p)};
    if ((size_t)(end - q) < sizeof svc - 1 || memcmp(q, svc, sizeof svc - 1) != 0)
        return "not an acm-pca ARN";
    p = q + sizeof svc - 1;
    q = span(p, end, region_char);
    if (q == p || q == end || *q != ':' || q - p > 63)
        return "bad region";
    a->region = (acmpca_str){p, (size_t)(q - p)};
    p = q + 1;
    q = span(p, end, digit_char);
    if (q - p != 12 || q == end || *q != ':')
        return "the account must be 12 digits";
    a->account = (acmpca_str){p, 12};
    if ((size_t)(end - q) < sizeof res - 1 || memcmp(q, res, sizeof res - 1) != 0)
        return "not a certificate-authority ARN";
    p = q + sizeof res - 1;
    a->id = (acmpca_str){p, (size_t)(end - p)};
    /* <id>, possibly more /-separated segments as the model allows */
    for (;;) {
        q = span(p, end, arn_char);
        if (q == p)
            return "bad resource id";
        if (q == end)
            return NULL;
        if (*q != '/')
            return "bad resource id";
        p = q + 1;
    }
}

/*
 * core.parse_ca_arn(s) -> partition, region, account, id | nil, reason.
 * Any value may be passed: a non-string is not a CA ARN.
 */
static int l_parse_ca_arn(lua_State *L)
{
    arn_parts a;
    size_t n;
    const char *s, *why;
    if (lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_pushfstring(L, "expected a string, got %s", luaL_typename(L, 1));
        return 2;
    }
    s = lua_tolstring(L, 1, &n);
    why = parse_arn(s, n, &a);
    if (why != NULL) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    lua_pushlstring(L, a.partition.p, a.partition.n);
    lua_pushlstring(L, a.region.p, a.region.n);
    lua_pushlstring(L, a.account.p, a.account.n);
    lua_pushlstring(L, a.id.p, a.id.n);
    return 4;
}

/* What one call's arguments hold once validated (value stack indices). */
typedef struct call_args {
    int arn, principal, actions, source_account, max_results, next_token;
    arn_parts ca; /* spans inside the ARN */
} call_args;

static const char *const ACTIONS[] = {"IssueCertificate", "GetCertificate", "ListPermissions"};

/* Lua string s (n bytes, may hold NUL) equals the C string lit. */
static int same_str(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static void check_actions(lua_State *L, int op, int i)
{
    char field[32];
    int seen[3] = {0, 0, 0};
    size_t n, count = 0;
    if (lua_type(L, i) != LUA_TTABLE)
        bad_arg(L, op, "actions", "expected a non-empty list of " ACTIONS_LIST, i);
    n = lua_rawlen(L, i);
    lua_pushnil(L);
    while (lua_next(L, i) != 0) {
        count++;
        lua_pop(L, 1);
    }
    if (n == 0)
        bad_arg(L, op, "actions", "expected a non-empty list of " ACTIONS_LIST, i);
    if (count != n)
        bad_arg(L, op, "actions", "expected a list (keys 1..n only)", 0);
    if (n > 3)
        bad_arg(L, op, "actions", "expected at most 3 actions (" ACTIONS_LIST ")", 0);
    for (size_t k = 1; k <= n; k++) {
        int a, found = -1;
        compat_rawgeti(L, i, (lua_Integer)k);
        snprintf(field, sizeof field, "actions[%d]", (int)k);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            for (a = 0; a < 3; a++)
                if (same_str(s, len, ACTIONS[a])) /* "IssueCertificate\0x" is not */
                    found = a;
        }
        if (found < 0)
            bad_arg(L, op, field, "expected one of " ACTIONS_LIST, lua_gettop(L));
        if (seen[found])
            bad_arg(L, op, field, "duplicate action", lua_gettop(L));
        seen[found] = 1;
        lua_pop(L, 1);
    }
}

static void check_principal(lua_State *L, int op, int i)
{
    size_t n, chars = 0;
    const char *s;
    if (lua_type(L, i) != LUA_TSTRING)
        bad_arg(L, op, "principal", "expected a string such as \"acm.amazonaws.com\"", i);
    s = lua_tolstring(L, i, &n);
    if (n == 0)
        bad_arg(L, op, "principal", "must not be empty", 0);
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '*')
            bad_arg(L, op, "principal", "must not contain '*'", i);
        if (s[k] == '\r' || s[k] == '\n' || s[k] == '\0')
            bad_arg(L, op, "principal", "must not contain CR, LF or NUL", i);
        if (((unsigned char)s[k] & 0xC0) != 0x80)
            chars++;
    }
    if (chars > 128)
        bad_arg(L, op, "principal", "must be at most 128 characters", i);
}

static void check_account(lua_State *L, int op, int i)
{
    size_t n;
    const char *s;
    if (lua_type(L, i) == LUA_TSTRING) {
        s = lua_tolstring(L, i, &n);
        if (n == 12 && span(s, s + n, digit_char) == s + n)
            return;
    }
    bad_arg(L, op, "source_account", "expected a string of 12 digits", i);
}

static void check_max_results(lua_State *L, int op, int i)
{
    if (lua_type(L, i) == LUA_TNUMBER) {
        lua_Number v = lua_tonumber(L, i);
        if (v >= 1 && v <= 1000 && v == floor(v))
            return;
    }
    bad_arg(L, op, "max_results", "expected an integer from 1 to 1000", i);
}

static void check_next_token(lua_State *L, int op, int i)
{
    if (lua_type(L, i) == LUA_TSTRING) {
        size_t n = lua_rawlen(L, i);
        if (n >= 1 && n <= 43739)
            return;
    }
    bad_arg(L, op, "next_token", "expected a non-empty string of at most 43739 characters",
            i);
}

/*
 * Validate the argument table at index t for op and leave every field it
 * uses on the stack (indices in a).  Raises on the first violation.
 */
static void check_args(lua_State *L, int op, int t, call_args *a)
{
    char msg[256];
    memset(a, 0, sizeof *a);
    if (lua_type(L, t) != LUA_TTABLE) {
        char got[96];
        acmpca_describe(L, t, got, sizeof got);
        snprintf(msg, sizeof msg, "acmpca.%s: expected a table of arguments, got %s",
                 OPS[op].method, got);
        lua_pushstring(L, msg);
        lua_error(L);
    }
    /* Unknown names are typos; say so rather than ignoring them. */
    lua_pushnil(L);
    while (lua_next(L, t) != 0) { /* k, v */
        size_t kn = 0;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &kn) : NULL;
        int ok = k != NULL &&
                 (same_str(k, kn, "ca_arn") ||
                  (op != OP_LIST && (same_str(k, kn, "principal") ||
                                     same_str(k, kn, "source_account"))) ||
                  (op == OP_CREATE && same_str(k, kn, "actions")) ||
                  (op == OP_LIST && (same_str(k, kn, "max_results") ||
                                     same_str(k, kn, "next_token"))));
        if (!ok) {
            char got[96];
            acmpca_describe(L, -2, got, sizeof got);
            snprintf(msg, sizeof msg, "acmpca.%s: unknown argument %s", OPS[op].method, got);
            lua_pushstring(L, msg);
            lua_error(L);
        }
        lua_pop(L, 1);
    }

    lua_getfield(L, t, "ca_arn");
    a->arn = lua_gettop(L);
    if (lua_type(L, a->arn) != LUA_TSTRING ||
        parse_arn(lua_tostring(L, a->arn), lua_rawlen(L, a->arn), &a->ca) != NULL)
        bad_arg(L, op, "ca_arn", "expected " ARN_SHAPE, a->arn);

    if (op != OP_LIST) {
        lua_getfield(L, t, "principal");
        a->principal = lua_gettop(L);
        check_principal(L, op, a->principal);
        lua_getfield(L, t, "source_account");
        a->source_account = lua_gettop(L);
        if (lua_isnil(L, -1))
            a->source_account = 0;
        else
            check_account(L, op, a->source_account);
    }
    if (op == OP_CREATE) {
        lua_getfield(L, t, "actions");
        a->actions = lua_gettop(L);
        check_actions(L, op, a->actions);
    }
    if (op == OP_LIST) {
        lua_getfield(L, t, "max_results");
        a->max_results = lua_isnil(L, -1) ? 0 : lua_gettop(L);
        if (a->max_results)
            check_max_results(L, op, a->max_results);
        lua_getfield(L, t, "next_token");
        a->next_token = lua_isnil(L, -1) ? 0 : lua_gettop(L);
        if (a->next_token)
            check_next_token(L, op, a->next_token);
    }
}

/* ---------------------------------------------------------- endpoints */

static int valid_region(const char *s, size_t n)
{
    return n > 0 && n <= 63 && s[0] != '-' && s[n - 1] != '-' &&
           span(s, s + n, region_char) == s + n;
}

/* https://acm-pca[-fips].<region>.<dns suffix> for region (no fips- prefix) */
static void derive_endpoint(client *c, const char *region, size_t n, int fips)
{
    const char *suffix = "amazonaws.com";
    if (n > 3 && memcmp(region, "cn-", 3) == 0)
        suffix = "amazonaws.com.cn";
    else if (n > 7 && memcmp(region, "us-iso-", 7) == 0)
        suffix = "c2s.ic.gov";
    else if (n > 8 && memcmp(region, "us-isob-", 8) == 0)
        suffix = "sc2s.sgov.gov";
    /* GovCloud's FIPS endpoint is the plain name (endpoint-rule-set-1.json) */
    if (n > 7 && memcmp(region, "us-gov-", 7) == 0)
        fips = 0;
    snprintf(c->cache_host, sizeof c->cache_host, "acm-pca%s.%.*s.%s",
             fips ? "-fips" : "", (int)n, region, suffix);
    snprintf(c->cache_url, sizeof c->cache_url, "https://%s/", c->cache_host);
    memcpy(c->cache_region, region, n);
    c->cache_region[n] = '\0';
}

/*
 * Parse a custom endpoint "http[s]://host[:port][/path]" into the client.
 * Returns NULL or what is wrong.
 */
static const char *set_endpoint(client *c, const char *s, size_t n)
{
    const char *p, *host, *hend, *port = NULL, *path;
    int https;
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
    if (*p == '[') {
        /* an IPv6 literal, maybe with a zone ("%25eth0"): it becomes Host */
        for (p++; *p && *p != ']'; p++)
            if (!isalnum((unsigned char)*p) && *p != ':' && *p != '.' && *p != '%' &&
                *p != '-' && *p != '_')
                return "invalid IPv6 address";
        if (*p != ']')
            return "unterminated IPv6 address";
        p++;
    } else {
        while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#') {
            if (*p == '@' || (unsigned char)*p <= 32 || *p == 127)
                return "invalid host";
            p++;
        }
    }
    hend = p;
    if (hend == host)
        return "missing host";
    if (*p == ':') {
        long v = 0;
        port = ++p;
        while (*p >= '0' && *p <= '9' && v <= 65535)
            v = v * 10 + (*p++ - '0');
        if (p == port || v < 1 || v > 65535)
            return "invalid port";
    }
    path = p;
    if (*path != '\0' && *path != '/')
        return "invalid host or port";
    for (const char *q = path; *q; q++)
        if (*q == '?' || *q == '#' || (unsigned char)*q <= 32 || *q == 127)
            return "the path must not hold a query, a fragment or spaces";

    size_t hostn = (size_t)(hend - host);
    int default_port = port == NULL ||
                       (https && path - port == 3 && strncmp(port, "443", 3) == 0) ||
                       (!https && path - port == 2 && strncmp(port, "80", 2) == 0);
    size_t hlen = default_port ? hostn : (size_t)(path - host);
    c->ep_host = malloc(hlen + 1);
    c->ep_path = strdup(*path ? path : "/");
    c->ep_url = malloc(n + 2);
    if (c->ep_host == NULL || c->ep_path == NULL || c->ep_url == NULL)
        return "out of memory";
    memcpy(c->ep_host, host, hlen);
    c->ep_host[hlen] = '\0';
    memcpy(c->ep_url, s, n + 1);
    if (*path == '\0')
        memcpy(c->ep_url + n, "/", 2);
    return NULL;
}

/* ------------------------------------------------------ client_new/close */

static void free_client(client *c)
{
    acmpca_http_free(&c->http);
    free(c->region);
    free(c->sign_region);
    free(c->ep_url);
    free(c->ep_host);
    free(c->ep_path);
    free(c->user_agent);
    c->region = c->sign_region = c->ep_url = c->ep_host = c->ep_path = NULL;
    c->user_agent = NULL;
    c->closed = 1;
}

/* A field of opts that must be nil or of type ty; returns its type. */
static int opt_field(lua_State *L, const char *field, int ty, const char *want)
{
    char msg[160];
    int got = compat_getfield(L, 1, field);
    if (got != LUA_TNIL && got != ty) {
        snprintf(msg, sizeof msg, "acmpca.new: %s: expected %s, got %s", field, want,
                 luaL_typename(L, -1));
        lua_pushstring(L, msg);
        return lua_error(L);
    }
    return got;
}

static double opt_secs(lua_State *L, const char *field)
{
    char msg[160];
    double v = 0;
    if (opt_field(L, field, LUA_TNUMBER, "a number of seconds") == LUA_TNUMBER) {
        v = lua_tonumber(L, -1);
        if (!(v > 0 && v <= 86400)) {
            snprintf(msg, sizeof msg, "acmpca.new: %s: expected seconds in (0, 86400], got %g",
                     field, v);
            lua_pushstring(L, msg);
            lua_error(L);
        }
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

/*
 * core.client_new(opts[, state]) -> client.  opts: region, endpoint,
 * use_fips, user_agent, timeout, connect_timeout, ca_file (all resolved by
 * the Lua layer); state: the Lua-side table kept as the user value.
 */
static int l_client_new(lua_State *L)
{
    char msg[256];
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 2);
        lua_newtable(L);
        lua_replace(L, 1);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    double timeout = opt_secs(L, "timeout");
    double connect_timeout = opt_secs(L, "connect_timeout");

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

    if (opt_field(L, "region", LUA_TSTRING, "a string") == LUA_TSTRING) {
        size_t n;
        const char *r = lua_tolstring(L, -1, &n);
        if (!valid_region(r, n)) {
            char got[96];
            acmpca_describe(L, -1, got, sizeof got);
            snprintf(msg, sizeof msg, "acmpca.new: region: expected a region name such as "
                     "\"us-east-1\", got %s", got);
            lua_pushstring(L, msg);
            return lua_error(L);
        }
        c->region = dup_or_raise(L, r);
        c->sign_region = dup_or_raise(L, strncmp(r, "fips-", 5) == 0 && n > 5 ? r + 5 : r);
        if (strncmp(r, "fips-", 5) == 0)
            c->use_fips = 1;
    }
    lua_pop(L, 1);
    if (opt_field(L, "use_fips", LUA_TBOOLEAN, "a boolean") == LUA_TBOOLEAN &&
        lua_toboolean(L, -1))
        c->use_fips = 1;
    lua_pop(L, 1);
    if (opt_field(L, "endpoint", LUA_TSTRING, "a URL string") == LUA_TSTRING) {
        size_t n;
        const char *ep = lua_tolstring(L, -1, &n);
        const char *why = set_endpoint(c, ep, n);
        if (why != NULL) {
            char got[96];
            acmpca_describe(L, -1, got, sizeof got);
            snprintf(msg, sizeof msg, "acmpca.new: endpoint: %s (http[s]://host[:port][/path]), "
                     "got %s", why, got);
            lua_pushstring(L, msg);
            return lua_error(L);
        }
    }
    lua_pop(L, 1);
    if (opt_field(L, "user_agent", LUA_TSTRING, "a string") == LUA_TSTRING) {
        size_t n;
        const char *ua = lua_tolstring(L, -1, &n);
        if (n == 0 || n > 512 || strlen(ua) != n || strpbrk(ua, "\r\n") != NULL)
            return luaL_error(L, "acmpca.new: user_agent: expected 1 to 512 characters "
                                 "without CR, LF or NUL");
        c->user_agent = dup_or_raise(L, ua);
    } else {
        snprintf(msg, sizeof msg, "lua-acmpca/%s lua/%s", ACMPCA_VERSION,
                 LUA_VERSION_NUM == 501 ? "5.1" : "5.4");
        c->user_agent = dup_or_raise(L, msg);
    }
    lua_pop(L, 1);
    const char *ca_file = NULL;
    if (opt_field(L, "ca_file", LUA_TSTRING, "a file name") == LUA_TSTRING) {
        size_t n;
        ca_file = lua_tolstring(L, -1, &n);
        if (strlen(ca_file) != n) /* fopen would read a shorter name */
            return luaL_error(L, "acmpca.new: ca_file: contains NUL");
    }
    if (acmpca_http_configure(&c->http, ca_file, timeout, connect_timeout) != 0)
        return luaL_error(L, "acmpca.new: out of memory");
    lua_pop(L, 1);
    return 1;
}

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
    else if (c->ep_url != NULL)
        snprintf(buf, sizeof buf, "acmpca.client (region %s, endpoint %s)",
                 c->region ? c->region : "from the CA ARN", c->ep_url);
    else if (c->region != NULL) {
        derive_endpoint(c, c->sign_region, strlen(c->sign_region), c->use_fips);
        snprintf(buf, sizeof buf, "acmpca.client (region %s, endpoint %s)", c->region,
                 c->cache_url);
    } else
        snprintf(buf, sizeof buf, "acmpca.client (region from the CA ARN, endpoint "
                 "https://acm-pca%s.<region>.amazonaws.com/)", c->use_fips ? "-fips" : "");
    lua_pushstring(L, buf);
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

/* ------------------------------------------------------------- _prepare */

/*
 * lua-cjson 2.1.0 writes '/' as the escape \/ and has no switch for it
 * (the private instance of need_cjson turns it off where it can); the AWS
 * CLI sends a plain '/'.  Rewrites the JSON text at index i escape by
 * escape: every escape is a backslash and one character, or \uXXXX, so in
 * \\/ (an escaped backslash, then a slash) nothing changes.  The text is
 * copied only when it holds an escaped slash, once, into a luaL_Buffer (on
 * the C stack while it fits), which replaces index i.
 */
static void plain_slashes(lua_State *L, int i)
{
    size_t n;
    const char *s = lua_tolstring(L, i, &n);
    const char *end = s + n, *p = s, *run = s;
    luaL_Buffer b;
    int copying = 0;
    while (p < end && (p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        size_t step = (end - p > 1 && p[1] == 'u') ? 6 : 2;
        if (end - p > 1 && p[1] == '/') {
            if (!copying) {
                luaL_buffinit(L, &b);
                copying = 1;
            }
            luaL_addlstring(&b, run, (size_t)(p - run));
            run = p + 1; /* the '/' opens the next run */
        }
        p = (size_t)(end - p) > step ? p + step : end;
    }
    if (!copying)
        return;
    luaL_addlstring(&b, run, (size_t)(end - run));
    luaL_pushresult(&b);
    lua_replace(L, i);
}

/* core._json_plain_slashes(json) -> json, as plain_slashes leaves it (specs) */
static int l_json_plain_slashes(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TSTRING);
    lua_settop(L, 1);
    plain_slashes(L, 1);
    return 1;
}

static void set_str(lua_State *L, const char *k, const char *v, size_t n)
{
    lua_pushlstring(L, v, n);
    lua_setfield(L, -2, k);
}

/* Read a credentials string; 1 if present and non-empty. */
static int cred_field(lua_State *L, int t, const char *k, acmpca_str *out)
{
    if (compat_getfield(L, t, k) == LUA_TSTRING) {
        out->p = lua_tolstring(L, -1, &out->n); /* stays on the stack */
        if (out->n > 0)
            return 1;
    }
    out->p = NULL;
    out->n = 0;
    return 0;
}

/*
 * client:_prepare(op, args, creds) -> req | nil, err.  With creds == false
 * it only validates args and returns true.  Raises on invalid args.
 */
static int l_prepare(lua_State *L)
{
    client *c = check_open(L, 1);
    int op = check_op(L, 2);
    call_args a;
    acmpca_str akid, secret, token;
    char errmsg[256];

    lua_settop(L, 4);
    check_args(L, op, 3, &a);
    if (lua_type(L, 4) == LUA_TBOOLEAN && !lua_toboolean(L, 4)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (lua_type(L, 4) != LUA_TTABLE || !cred_field(L, 4, "access_key_id", &akid) ||
        !cred_field(L, 4, "secret_access_key", &secret)) {
        lua_pushnil(L);
        acmpca_error_push(L, "CredentialsError",
                          "credentials: expected a table with access_key_id and "
                          "secret_access_key strings",
                          0, NULL, 0, OPS[op].name);
        return 2;
    }
    cred_field(L, 4, "session_token", &token);

    /* Region: the client's, else the CA ARN's. */
    const char *region;
    size_t regionn;
    int fips = c->use_fips;
    if (c->region != NULL) {
        region = c->sign_region;
        regionn = strlen(region);
    } else {
        region = a.ca.region.p;
        regionn = a.ca.region.n;
    }

    /* Endpoint: the custom one, else derived (cached per region). */
    const char *url, *host, *path;
    if (c->ep_url != NULL) {
        url = c->ep_url;
        host = c->ep_host;
        path = c->ep_path;
    } else {
        if (strlen(c->cache_region) != regionn ||
            memcmp(c->cache_region, region, regionn) != 0)
            derive_endpoint(c, region, regionn, fips);
        url = c->cache_url;
        host = c->cache_host;
        path = "/";
    }

    /* The body, encoded by lua-cjson: the arguments given, by model name. */
    const struct {
        int i; /* stack index, 0: absent */
        const char *name;
    } members[] = {
        {a.arn, "CertificateAuthorityArn"}, {a.principal, "Principal"},
        {a.source_account, "SourceAccount"}, {a.actions, "Actions"},
        {a.max_results, "MaxResults"}, {a.next_token, "NextToken"},
    };
    need_cjson(L);
    compat_rawgeti(L, lua_upvalueindex(1), ST_ENCODE);
    lua_createtable(L, 0, 4);
    for (size_t k = 0; k < sizeof members / sizeof members[0]; k++) {
        if (members[k].i == 0)
            continue;
        if (members[k].i == a.max_results) /* an integer, even from 10.0 */
            lua_pushinteger(L, (lua_Integer)lua_tonumber(L, a.max_results));
        else
            lua_pushvalue(L, members[k].i);
        lua_setfield(L, -2, members[k].name);
    }
    lua_call(L, 1, 1); /* ..., body */
    int bodyi = lua_gettop(L);
    plain_slashes(L, bodyi);
    size_t bodyn;
    const char *body = lua_tolstring(L, bodyi, &bodyn);

    /* Sign: content-type;host;x-amz-date;x-amz-target[;x-amz-security-token] */
    const char *target = OPS[op].target;
    const acmpca_header hs[2] = {
        {STR_LIT("content-type"), STR_LIT(CONTENT_TYPE)},
        {STR_LIT("x-amz-target"), {target, strlen(target)}},
    };
    const acmpca_sigv4_request sr = {
        .method = STR_LIT("POST"),
        .host = {host, strlen(host)},
        .path = {path, strlen(path)},
        .query = STR_LIT(""),
        .headers = hs,
        .nheaders = 2,
        .body = {body, bodyn},
    };
    const acmpca_sigv4_config cfg = {
        .region = {region, regionn},
        .service = STR_LIT(SERVICE),
        .access_key_id = akid,
        .secret_access_key = secret,
        .session_token = token,
        .time = (int64_t)time(NULL) + c->clock_offset,
        .flags = ACMPCA_SIGV4_NORMALIZE_PATH,
    };
    acmpca_sigv4_result out;
    errmsg[0] = '\0';
    if (acmpca_sigv4_sign(&sr, &cfg, &out, errmsg, sizeof errmsg) != 0) {
        lua_pushnil(L);
        acmpca_error_push(L, "SigningError", errmsg[0] ? errmsg : "signing failed", 0, NULL,
                          0, OPS[op].name);
        return 2;
    }

    /* req = { method=, url=, headers={...}, body= [, timeout=, connect_timeout=] } */
    lua_createtable(L, 0, 6);
    lua_pushliteral(L, "POST");
    lua_setfield(L, -2, "method");
    lua_pushstring(L, url);
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
    lua_pushstring(L, host);
    lua_setfield(L, -2, "Host");
    lua_pushliteral(L, CONTENT_TYPE);
    lua_setfield(L, -2, "Content-Type");
    lua_pushstring(L, target);
    lua_setfield(L, -2, "X-Amz-Target");
    set_str(L, "X-Amz-Date", out.amz_date, 16);
    set_str(L, "Authorization", out.authorization, out.authorization_len);
    if (token.p != NULL) {
        set_str(L, "X-Amz-Security-Token", token.p, token.n);
    }
    lua_pushstring(L, c->user_agent);
    lua_setfield(L, -2, "User-Agent");
    lua_setfield(L, -2, "headers"); /* req */
    return 1;
}

/* --------------------------------------------------------------- _send */

/* client:_send(req) -> res | nil, err  (the built-in libcurl transport) */
static int l_send(lua_State *L)
{
    client *c = check_open(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    return acmpca_http_request(L, &c->http, 2, 2);
}

/* ------------------------------------------------------------- _finish */

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/*
 * AWS SDK standard retry mode (botocore/retries/standard.py): throttling
 * codes, transient codes and HTTP 500/502/503/504.  LimitExceededException
 * is left out: for ACM PCA it is a modeled quota error, not throttling.
 */
static const char *const THROTTLING[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", NULL,
};
static const char *const TRANSIENT[] = {
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "Timeout", "NetworkError", NULL,
};
/* Always a clock problem / a clock problem when the Date says so. */
static const char *const SKEW_STRONG[] = {
    "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture", NULL,
};
static const char *const SKEW_WEAK[] = {
    "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", NULL,
};

static int retryable_status(int status)
{
    return status == 500 || status == 502 || status == 503 || status == 504;
}

/* Parse an RFC 1123 date ("Sun, 06 Nov 1994 08:49:37 GMT"). */
static int parse_http_date(const char *s, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4];
    int d, y, hh, mm, ss;
    struct tm tm;
    const char *m;
    if (sscanf(s, "%*3s, %d %3s %d %d:%d:%d GMT", &d, mon, &y, &hh, &mm, &ss) != 6)
        return 0;
    mon[3] = '\0';
    m = strstr(months, mon);
    if (m == NULL || strlen(mon) != 3 || (m - months) % 3 != 0 || d < 1 || d > 31 ||
        y < 1970 || y > 9999 || hh > 23 || mm > 59 || ss > 60 || hh < 0 || mm < 0 || ss < 0)
        return 0;
    memset(&tm, 0, sizeof tm);
    tm.tm_mday = d;
    tm.tm_mon = (int)((m - months) / 3);
    tm.tm_year = y - 1900;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    *out = (int64_t)timegm(&tm);
    return 1;
}

/*
 * headers[name] as a string, or NULL (headers table at index h, or 0).
 * Transports give lower-case names; the canonical spelling alt is a
 * fallback for hand-made responses.  The value is left on the stack (one
 * slot, always): an __index may return a string nothing else holds.
 */
static const char *header(lua_State *L, int h, const char *name, const char *alt)
{
    if (h == 0) {
        lua_pushnil(L);
        return NULL;
    }
    if (compat_getfield(L, h, name) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_getfield(L, h, alt);
    }
    return lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
}

/* pcall(decode, s): pushes the value and returns 1, or pushes nothing, 0. */
static int decode_json(lua_State *L, const char *s, size_t n)
{
    need_cjson(L);
    compat_rawgeti(L, lua_upvalueindex(1), ST_DECODE);
    lua_pushlstring(L, s, n);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* Copy t[src] to the table on top as [dst] when it has type ty. */
static void copy_field(lua_State *L, int t, const char *src, const char *dst, int ty)
{
    if (compat_getfield(L, t, src) == ty)
        lua_setfield(L, -2, dst);
    else
        lua_pop(L, 1);
}

/*
 * An epoch time as the service sent it: lua-cjson decodes every number as a
 * float, so a whole number of seconds becomes an integer again on 5.3+ (and
 * prints as 1700000000, not 1700000000.0); a fraction stays a float.
 */
static void push_epoch(lua_State *L, lua_Number n)
{
#if LUA_VERSION_NUM >= 503
    if (n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (lua_Number)(lua_Integer)n) {
        lua_pushinteger(L, (lua_Integer)n);
        return;
    }
#endif
    lua_pushnumber(L, n);
}

/* The ListPermissions output (decoded object at index t) in snake_case. */
static void push_list_result(lua_State *L, int t)
{
    lua_createtable(L, 0, 2); /* result */
    if (compat_getfield(L, t, "Permissions") == LUA_TTABLE) {
        int src = lua_gettop(L);
        size_t n = lua_rawlen(L, src);
        lua_createtable(L, (int)n, 0); /* result, Permissions, list */
        for (size_t i = 1; i <= n; i++) {
            if (compat_rawgeti(L, src, (lua_Integer)i) != LUA_TTABLE) {
                lua_pop(L, 1);
                continue;
            }
            int p = lua_gettop(L);
            lua_createtable(L, 0, 6); /* ..., P, perm */
            if (compat_getfield(L, p, "Actions") == LUA_TTABLE) {
                int acts = lua_gettop(L);
                size_t an = lua_rawlen(L, acts);
                lua_createtable(L, (int)an, 0);
                for (size_t k = 1, out = 1; k <= an; k++) {
                    if (compat_rawgeti(L, acts, (lua_Integer)k) == LUA_TSTRING)
                        lua_rawseti(L, -2, (int)out++);
                    else
                        lua_pop(L, 1);
                }
                lua_setfield(L, -3, "actions");
            }
            lua_pop(L, 1);
            copy_field(L, p, "CertificateAuthorityArn", "certificate_authority_arn",
                       LUA_TSTRING);
            if (compat_getfield(L, p, "CreatedAt") == LUA_TNUMBER) { /* ..., perm, n */
                push_epoch(L, lua_tonumber(L, -1));
                lua_setfield(L, -3, "created_at");
            }
            lua_pop(L, 1);
            copy_field(L, p, "Principal", "principal", LUA_TSTRING);
            copy_field(L, p, "SourceAccount", "source_account", LUA_TSTRING);
            copy_field(L, p, "Policy", "policy", LUA_TSTRING);
            lua_rawseti(L, -3, (int)lua_rawlen(L, -3) + 1); /* ..., list, P */
            lua_pop(L, 1);
        }
        lua_setfield(L, -3, "permissions"); /* result, Permissions */
        lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_setfield(L, -2, "permissions");
    }
    copy_field(L, t, "NextToken", "next_token", LUA_TSTRING);
}

/* Keep the code of "ns#Code" and "Code:uri". */
static void clean_code(const char *s, char *out, size_t outlen)
{
    size_t n = strcspn(s, ":");
    const char *hash = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '#')
            hash = s + i;
    if (hash != NULL) {
        n -= (size_t)(hash + 1 - s);
        s = hash + 1;
    }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* A transport failure (error object or string at index e) as an error. */
static int finish_transport_error(lua_State *L, int op, int e)
{
    if (lua_type(L, e) == LUA_TTABLE) {
        if (compat_getfield(L, e, "code") != LUA_TSTRING) {
            lua_pushliteral(L, "NetworkError");
            lua_setfield(L, e, "code");
        }
        lua_pop(L, 1);
        if (compat_getfield(L, e, "operation") == LUA_TNIL) {
            lua_pushstring(L, OPS[op].name);
            lua_setfield(L, e, "operation");
        }
        lua_pop(L, 1);
        if (compat_getfield(L, e, "retryable") == LUA_TNIL) {
            /* still no string code when a __newindex swallowed the write */
            lua_getfield(L, e, "code");
            const char *code = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
            lua_pushboolean(L, code != NULL && in_list(code, TRANSIENT));
            lua_setfield(L, e, "retryable");
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (!lua_getmetatable(L, e)) {
            luaL_getmetatable(L, ACMPCA_ERROR_MT);
            lua_setmetatable(L, e);
        } else {
            lua_pop(L, 1);
        }
        lua_pushnil(L);
        lua_pushvalue(L, e);
        return 2;
    }
    lua_pushnil(L);
    if (lua_type(L, e) == LUA_TSTRING)
        acmpca_error_push(L, "NetworkError", lua_tostring(L, e), 0, NULL, 1, OPS[op].name);
    else
        acmpca_error_push(L, "NetworkError", "the transport returned neither a response "
                          "nor an error", 0, NULL, 0, OPS[op].name);
    return 2;
}

/*
 * client:_finish(op, res, transport_err) -> result | nil, err.
 * result: true (create/delete) or { permissions=, next_token= } (list).
 * err may carry clock_skew = true (the offset was corrected: retry once).
 */
static int l_finish(lua_State *L)
{
    client *c = check_client(L, 1);
    int op = check_op(L, 2);
    char msg[512], ex[ACMPCA_EXCERPT_MAX + 8], code[128];
    int status, hdrs = 0;
    const char *body = "";
    size_t bodyn = 0;

    lua_settop(L, 4);
    luaL_checkstack(L, 24, "acmpca.client: Lua stack exhausted");
    if (lua_isnil(L, 3) || (lua_type(L, 3) == LUA_TBOOLEAN && !lua_toboolean(L, 3)))
        return finish_transport_error(L, op, 4);
    /* 100..599, checked as a number: (int) of 2^32 + 200 would be 200 */
    lua_Number st = 0;
    if (lua_type(L, 3) == LUA_TTABLE && compat_getfield(L, 3, "status") == LUA_TNUMBER)
        st = lua_tonumber(L, -1); /* 5 */
    if (!(st >= 100 && st <= 599 && st == floor(st))) {
        lua_pushnil(L);
        acmpca_error_push(L, "InvalidResponse", "the transport returned a response "
                          "without a numeric HTTP status (100 to 599)", 0, NULL, 0,
                          OPS[op].name);
        return 2;
    }
    status = (int)st;
    if (compat_getfield(L, 3, "headers") == LUA_TTABLE) /* 6 */
        hdrs = 6;
    if (compat_getfield(L, 3, "body") == LUA_TSTRING) /* 7 */
        body = lua_tolstring(L, 7, &bodyn);

    /* ------------------------------------------------- success */
    if (status >= 200 && status < 300) {
        if (op != OP_LIST && is_blank(body, bodyn)) {
            lua_pushboolean(L, 1);
            return 1;
        }
        if (decode_json(L, body, bodyn) && lua_type(L, -1) == LUA_TTABLE) {
            if (op != OP_LIST) {
                lua_pushboolean(L, 1);
                return 1;
            }
            push_list_result(L, lua_gettop(L));
            return 1;
        }
        acmpca_excerpt(body, bodyn, ACMPCA_EXCERPT_MAX, ex, sizeof ex);
        snprintf(msg, sizeof msg, "HTTP %d with a body that is not a JSON object: %s",
                 status, bodyn ? ex : "(empty)");
        const char *okrid = header(L, hdrs, "x-amzn-requestid", "x-amzn-RequestId");
        lua_pushnil(L);
        acmpca_error_push(L, "InvalidResponse", msg, status, okrid, 0, OPS[op].name);
        return 2;
    }

    /* ------------------------------------------------- service error */
    const char *rid = header(L, hdrs, "x-amzn-requestid", "x-amzn-RequestId");
    const char *message = NULL, *type = NULL;
    int json = decode_json(L, body, bodyn) && lua_type(L, -1) == LUA_TTABLE;
    if (json) {
        int t = lua_gettop(L);
        if (compat_getfield(L, t, "__type") == LUA_TSTRING)
            type = lua_tostring(L, -1);
        if (compat_getfield(L, t, "message") == LUA_TSTRING ||
            (lua_pop(L, 1), compat_getfield(L, t, "Message")) == LUA_TSTRING)
            message = lua_tostring(L, -1);
    }
    if (type == NULL)
        type = header(L, hdrs, "x-amzn-errortype", "X-Amzn-ErrorType");
    if (type != NULL) {
        clean_code(type, code, sizeof code);
    } else {
        snprintf(code, sizeof code, "%s", json ? "UnknownError" : "InvalidResponse");
    }
    if (message == NULL) {
        if (json || bodyn == 0) {
            snprintf(msg, sizeof msg, "HTTP %d", status);
        } else {
            acmpca_excerpt(body, bodyn, ACMPCA_EXCERPT_MAX, ex, sizeof ex);
            snprintf(msg, sizeof msg, "HTTP %d with a body that is not JSON: %s", status, ex);
        }
        message = msg;
    }
    int throttling = in_list(code, THROTTLING);
    int retryable = throttling || in_list(code, TRANSIENT) || retryable_status(status);
    lua_pushnil(L);
    acmpca_error_push(L, code, message, status, rid, retryable, OPS[op].name);
    if (throttling) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "throttling");
    }

    /* Clock skew: correct the offset from Date; the Lua loop retries once. */
    int strong = in_list(code, SKEW_STRONG), weak = in_list(code, SKEW_WEAK);
    int64_t server = 0;
    int dated = 0;
    if (strong || weak) {
        const char *date = header(L, hdrs, "date", "Date"); /* nil, err, date */
        dated = date != NULL && parse_http_date(date, &server);
        lua_pop(L, 1); /* nil, err */
    }
    if (dated) {
        int64_t offset = server - (int64_t)time(NULL);
        int64_t drift = offset - c->clock_offset;
        int said = message != NULL && (strstr(message, "expired") != NULL ||
                                       strstr(message, "not yet current") != NULL ||
                                       strstr(message, "skew") != NULL);
        if (strong || drift > SKEW_LIMIT || drift < -SKEW_LIMIT || said) {
            c->clock_offset = offset;
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "clock_skew");
            lua_pushnumber(L, (lua_Number)offset);
            lua_setfield(L, -2, "clock_offset");
        }
    }
    return 2;
}

/* ----------------------------------------------------------- sleep, now */

/* core.sleep(seconds): blocks the thread (nanosleep, restarted on EINTR) */
static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    struct timespec ts, rem;
    if (!(s >= 0 && s <= 86400))
        return luaL_argerror(L, 1, "expected seconds in [0, 86400]");
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;
    return 0;
}

/* core.now() -> monotonic seconds (double) */
static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* -------------------------------------------------------------- opener */

void acmpca_client_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"_prepare", l_prepare},
        {"_send", l_send},
        {"_finish", l_finish},
        {"_state", l_client_state},
        {"_clock_offset", l_client_clock_offset},
        {"close", l_client_close},
        {NULL, NULL},
    };
    static const luaL_Reg functions[] = {
        {"sleep", l_sleep},
        {"now", l_now},
        {"parse_ca_arn", l_parse_ca_arn},
        {"_json_plain_slashes", l_json_plain_slashes},
        {NULL, NULL},
    };
    int m = lua_gettop(L);

    lua_newtable(L); /* M, state: cjson functions, loaded on first use */
    int st = lua_gettop(L);
    luaL_newmetatable(L, ACMPCA_CLIENT_MT); /* M, state, mt */
    lua_newtable(L);                        /* M, state, mt, index */
    for (const luaL_Reg *r = methods; r->name; r++) {
        lua_pushvalue(L, st);
        lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, -2, r->name);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, m, "client_methods");
    lua_setfield(L, -2, "__index"); /* M, state, mt */
    lua_pushcfunction(L, l_client_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_client_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_client_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1); /* M, state */

    lua_pushvalue(L, st);
    lua_pushcclosure(L, l_client_new, 1);
    lua_setfield(L, m, "client_new");
    lua_pop(L, 1); /* M */

    for (const luaL_Reg *r = functions; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
}
