/*
 * arn.c: CA ARN parsing (Lua-free), then its binding core.parse_ca_arn.
 */
#include <string.h>

#include "arn.h"

/* ------------------------------------------------------------ characters */

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

static int digit_char(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* The end of the run of characters from p that ok accepts. */
static const char *span(const char *p, const char *end, int (*ok)(unsigned char))
{
    while (p < end && ok((unsigned char)*p))
        p++;
    return p;
}

/* ------------------------------------------------------------ the parser */

/* <id>, possibly more /-separated segments as the model allows */
static const char *parse_resource(const char *p, const char *end)
{
    for (;;) {
        const char *q = span(p, end, arn_char);
        if (q == p)
            return "bad resource id";
        if (q == end)
            return NULL;
        if (*q != '/')
            return "bad resource id";
        p = q + 1;
    }
}

const char *acmpca_arn_parse(const char *s, size_t n, acmpca_arn *a)
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
    return parse_resource(p, end);
}

/* ------------------------------------------------------------ binding */

/*
 * core.parse_ca_arn(s) -> partition, region, account, id | nil, reason.
 * Any value may be passed: a non-string is not a CA ARN.
 */
static int l_parse_ca_arn(lua_State *L)
{
    acmpca_arn a;
    size_t n;
    const char *s, *why;
    if (lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_pushfstring(L, "expected a string, got %s", luaL_typename(L, 1));
        return 2;
    }
    s = lua_tolstring(L, 1, &n);
    why = acmpca_arn_parse(s, n, &a);
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

void acmpca_arn_open(lua_State *L)
{
    lua_pushcfunction(L, l_parse_ca_arn);
    lua_setfield(L, -2, "parse_ca_arn");
}
