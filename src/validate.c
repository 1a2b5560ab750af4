/*
 * validate.c: argument tables against the model's input shapes.
 *
 * One walk over the shape: structures (unknown and missing members),
 * lists (sequences, counts, no repeated enum value), maps, strings
 * (well-formed UTF-8 first, then length in characters, enum, and the
 * hand-written check behind each model pattern), integers, booleans,
 * timestamps.  Messages name the
 * member by its Lua path ("actions[2]", "subject.common_name") and say
 * what was expected in the shape's hint, generated with the model.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arn.h"
#include "compat.h"
#include "error.h"
#include "validate.h"

#define PATH_MAX_LEN 160

typedef struct vctx {
    lua_State *L;
    const acmpca_operation *op;
    char path[PATH_MAX_LEN];
} vctx;

static void check_value(vctx *v, const acmpca_shape *sh, int vi, size_t plen);

/* ------------------------------------------------------------ messages */

/* "acmpca.<method>: <path>: <what>[, got <value at vi>]" */
#define FAIL(v, vi, ...) fail((v), (vi), __VA_ARGS__)

static int fail(vctx *v, int vi, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(vctx *v, int vi, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (v->path[0] == '\0')
        return acmpca_raise(v->L, vi, "acmpca.%s: %s", v->op->method, what);
    return acmpca_raise(v->L, vi, "acmpca.%s: %s: %s", v->op->method, v->path, what);
}

static int expected(vctx *v, const acmpca_shape *sh, int vi)
{
    return FAIL(v, vi, "expected %s", sh->hint ? sh->hint : "a valid value");
}

/* Extend the path by ".name" (or "name" at the top); returns the new length. */
static size_t path_member(vctx *v, size_t plen, const char *name)
{
    snprintf(v->path + plen, sizeof v->path - plen, "%s%s", plen ? "." : "", name);
    return strlen(v->path);
}

/* ------------------------------------------------------------ strings */

/*
 * Well-formed UTF-8 (RFC 3629; Unicode 15, table 3-7), walked once: the
 * number of characters (code points) the model's lengths count, or
 * UTF8_BAD with *why and *at (0-based byte offset of the sequence) set.
 * ASCII, the usual case, goes eight bytes at a time.
 */
#define UTF8_BAD ((size_t)-1)
#define HIGH_BITS 0x8080808080808080ULL

/* The lead byte c's sequence length and its second byte's range; 0 when c leads none. */
static size_t utf8_lead(unsigned c, unsigned *lo, unsigned *hi, const char **why)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0; /* below: overlong */
        else if (c == 0xED)
            *hi = 0x9F; /* above: U+D800..U+DFFF */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90; /* below: overlong */
        else if (c == 0xF4)
            *hi = 0x8F; /* above: past U+10FFFF */
        return 4;
    }
    *why = c < 0xC0   ? "stray continuation byte"
           : c < 0xC2 ? "overlong encoding"
                      : "code point past U+10FFFF";
    return 0;
}

/* One multi-byte sequence at k: its length, or 0 with *why set. */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t k, const char **why)
{
    unsigned lo, hi;
    size_t len = utf8_lead(s[k], &lo, &hi, why);
    if (len == 0)
        return 0;
    for (size_t j = 1; j < len; j++)
        if (k + j >= n || (s[k + j] & 0xC0) != 0x80) {
            *why = "truncated sequence";
            return 0;
        }
    if (s[k + 1] < lo || s[k + 1] > hi) {
        *why = s[k + 1] < lo  ? "overlong encoding"
               : s[k] == 0xED ? "surrogate"
                              : "code point past U+10FFFF";
        return 0;
    }
    return len;
}

static size_t utf8_chars(const char *str, size_t n, const char **why, size_t *at)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t k = 0, count = 0;
    while (k < n) {
        uint64_t w;
        /* a run of ASCII: eight bytes at a time, then one */
        while (n - k >= 8 && (memcpy(&w, s + k, 8), (w & HIGH_BITS) == 0))
            k += 8, count += 8;
        while (k < n && s[k] < 0x80)
            k++, count++;
        /* a run of multi-byte sequences */
        while (k < n && s[k] >= 0x80) {
            size_t len = utf8_seq(s, n, k, why);
            if (len == 0) {
                *at = k;
                return UTF8_BAD;
            }
            k += len;
            count++;
        }
    }
    return count;
}

static int same_str(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static void check_principal(vctx *v, const acmpca_shape *sh, int vi, const char *s, size_t n,
                            size_t nchars)
{
    if (n == 0)
        FAIL(v, 0, "must not be empty");
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '*')
            FAIL(v, vi, "must not contain '*'");
        if (s[k] == '\r' || s[k] == '\n' || s[k] == '\0')
            FAIL(v, vi, "must not contain CR, LF or NUL");
    }
    if (sh->has_max && nchars > (size_t)sh->max)
        FAIL(v, vi, "must be at most %lld characters", sh->max);
}

/* [\t\n\r\x20-\xFF]+ over characters: ASCII from space, or U+0080..U+00FF. */
static int policy_text(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x80))
            continue;
        if ((c == 0xC2 || c == 0xC3) && k + 1 < n &&
            ((unsigned char)s[k + 1] & 0xC0) == 0x80) {
            k++;
            continue;
        }
        return 0;
    }
    return 1;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return 0;
    return n > 0;
}

static int in_enum(const acmpca_shape *sh, const char *s, size_t n)
{
    for (int k = 0; k < sh->nenums; k++)
        if (same_str(s, n, sh->enums[k]))
            return 1;
    return 0;
}

static void check_string(vctx *v, const acmpca_shape *sh, int vi)
{
    size_t n, nchars, at = 0;
    const char *s, *why = "";
    acmpca_arn arn;
    if (lua_type(v->L, vi) != LUA_TSTRING)
        expected(v, sh, vi);
    s = lua_tolstring(v->L, vi, &n);
    /* before any other rule: every string member is text */
    nchars = utf8_chars(s, n, &why, &at);
    if (nchars == UTF8_BAD)
        FAIL(v, vi, "must be valid UTF-8 (%s at byte %zu)", why, at + 1);
    switch (sh->check) {
    case ACMPCA_CHECK_PRINCIPAL:
        check_principal(v, sh, vi, s, n, nchars);
        return;
    case ACMPCA_CHECK_ARN:
        if (acmpca_arn_parse(s, n, &arn) != NULL)
            expected(v, sh, vi);
        break;
    case ACMPCA_CHECK_DIGITS:
        if (!all_digits(s, n))
            expected(v, sh, vi);
        break;
    case ACMPCA_CHECK_POLICY:
        if (n > 0 && !policy_text(s, n))
            FAIL(v, vi, "must hold only tab, LF, CR and characters U+0020 to U+00FF");
        break;
    case ACMPCA_CHECK_NONE:
        break;
    }
    if (sh->enums != NULL && !in_enum(sh, s, n))
        expected(v, sh, vi);
    if ((sh->has_min && nchars < (size_t)sh->min) || (sh->has_max && nchars > (size_t)sh->max))
        expected(v, sh, vi);
}

/* ------------------------------------------------------------ scalars */

static void check_number(vctx *v, const acmpca_shape *sh, int vi, int integral)
{
    lua_Number x;
    if (lua_type(v->L, vi) != LUA_TNUMBER)
        expected(v, sh, vi);
    x = lua_tonumber(v->L, vi);
    if (x != x || (integral && x != floor(x)) || (sh->has_min && x < (lua_Number)sh->min) ||
        (sh->has_max && x > (lua_Number)sh->max))
        expected(v, sh, vi);
}

static void check_type(vctx *v, const acmpca_shape *sh, int vi, int type)
{
    if (lua_type(v->L, vi) != type)
        expected(v, sh, vi);
}

/* ------------------------------------------------------------ lists, maps */

/* Keys 1..n only: returns n, or raises. */
static size_t sequence_length(vctx *v, const acmpca_shape *sh, int vi)
{
    size_t n, count = 0;
    if (lua_type(v->L, vi) != LUA_TTABLE)
        expected(v, sh, vi);
    n = lua_rawlen(v->L, vi);
    lua_pushnil(v->L);
    while (lua_next(v->L, vi) != 0) {
        count++;
        lua_pop(v->L, 1);
    }
    if (n == 0 && sh->has_min && sh->min > 0)
        expected(v, sh, vi);
    if (count != n)
        FAIL(v, 0, "expected a list (keys 1..n only)");
    return n;
}

/* The singular of a list's name for "duplicate <item>": actions -> action. */
static void singular(const char *path, char *out, size_t outlen)
{
    const char *dot = strrchr(path, '.');
    const char *name = dot ? dot + 1 : path;
    size_t n = strcspn(name, "[");
    if (n > 1 && name[n - 1] == 's')
        n--;
    snprintf(out, outlen, "%.*s", (int)n, name);
}

/* An enum value repeated at item k (values are at stack top k-th..). */
static void check_unique(vctx *v, int list, size_t k, const char *item)
{
    size_t n, m;
    const char *s = lua_tolstring(v->L, -1, &n);
    for (size_t j = 1; j < k; j++) {
        compat_rawgeti(v->L, list, (lua_Integer)j);
        const char *t = lua_tolstring(v->L, -1, &m);
        int same = t != NULL && m == n && memcmp(s, t, n) == 0;
        lua_pop(v->L, 1);
        if (same)
            FAIL(v, lua_gettop(v->L), "duplicate %s", item);
    }
}

static void check_list(vctx *v, const acmpca_shape *sh, int vi, size_t plen)
{
    char item[48];
    size_t n = sequence_length(v, sh, vi);
    if (sh->has_max && n > (size_t)sh->max) {
        if (sh->item->enums != NULL) {
            char what[PATH_MAX_LEN], list[256] = "";
            singular(v->path, what, sizeof what);
            for (int e = 0; e < sh->item->nenums; e++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         e ? ", " : "", sh->item->enums[e]);
            FAIL(v, 0, "expected at most %lld %ss (%s)", sh->max, what, list);
        }
        FAIL(v, 0, "expected at most %lld items", sh->max);
    }
    singular(v->path, item, sizeof item);
    for (size_t k = 1; k <= n; k++) {
        snprintf(v->path + plen, sizeof v->path - plen, "[%d]", (int)k);
        compat_rawgeti(v->L, vi, (lua_Integer)k);
        check_value(v, sh->item, lua_gettop(v->L), strlen(v->path));
        if (sh->item->enums != NULL)
            check_unique(v, vi, k, item);
        lua_pop(v->L, 1);
    }
    v->path[plen] = '\0';
}

/* Extend the path by ["key"]: at most 40 bytes of it, '?' for what is not printable ASCII. */
static void path_key(vctx *v, size_t plen, int k)
{
    size_t n, j;
    const char *key = lua_tolstring(v->L, k, &n);
    char tmp[48];
    for (j = 0; j < n && j < 40; j++) {
        unsigned char c = (unsigned char)key[j];
        tmp[j] = (c >= 0x20 && c < 0x7F && c != '"') ? (char)c : '?';
    }
    tmp[j] = '\0';
    snprintf(v->path + plen, sizeof v->path - plen, "[\"%s\"]", tmp);
}

static void check_map(vctx *v, const acmpca_shape *sh, int vi, size_t plen)
{
    if (lua_type(v->L, vi) != LUA_TTABLE)
        expected(v, sh, vi);
    lua_pushnil(v->L);
    while (lua_next(v->L, vi) != 0) { /* k, val */
        int k = lua_gettop(v->L) - 1;
        if (lua_type(v->L, k) != LUA_TSTRING)
            FAIL(v, k, "expected string keys");
        path_key(v, plen, k);
        check_value(v, sh->key, k, strlen(v->path));
        check_value(v, sh->item, k + 1, strlen(v->path));
        v->path[plen] = '\0';
        lua_pop(v->L, 1);
    }
}

/* ------------------------------------------------------------ structures */

/* Unknown names are typos: say so rather than ignoring them. */
static void check_known(vctx *v, const acmpca_shape *sh, int vi)
{
    lua_pushnil(v->L);
    while (lua_next(v->L, vi) != 0) { /* k, val */
        size_t kn = 0;
        int k = lua_gettop(v->L) - 1;
        const char *key = lua_type(v->L, k) == LUA_TSTRING ? lua_tolstring(v->L, k, &kn) : NULL;
        if (key == NULL || acmpca_model_member(sh, key, kn) == NULL) {
            char got[96];
            acmpca_describe(v->L, k, got, sizeof got);
            FAIL(v, 0, "unknown %s %s", v->path[0] ? "member" : "argument", got);
        }
        lua_pop(v->L, 1);
    }
}

static void check_structure(vctx *v, const acmpca_shape *sh, int vi, size_t plen)
{
    if (lua_type(v->L, vi) != LUA_TTABLE) {
        if (plen == 0)
            FAIL(v, vi, "expected a table of arguments");
        expected(v, sh, vi);
    }
    check_known(v, sh, vi);
    for (int m = 0; m < sh->nmembers; m++) {
        const acmpca_member *mb = &sh->members[m];
        size_t len = path_member(v, plen, mb->lua);
        lua_getfield(v->L, vi, mb->lua);
        if (!lua_isnil(v->L, -1) || mb->required)
            check_value(v, mb->shape, lua_gettop(v->L), len);
        lua_pop(v->L, 1);
        v->path[plen] = '\0';
    }
}

static void check_value(vctx *v, const acmpca_shape *sh, int vi, size_t plen)
{
    luaL_checkstack(v->L, 8, "acmpca: arguments nested too deeply");
    switch (sh->type) {
    case ACMPCA_T_STRING:
        check_string(v, sh, vi);
        break;
    case ACMPCA_T_INTEGER:
    case ACMPCA_T_LONG:
        check_number(v, sh, vi, 1);
        break;
    case ACMPCA_T_DOUBLE:
    case ACMPCA_T_TIMESTAMP:
        check_number(v, sh, vi, 0);
        break;
    case ACMPCA_T_BOOLEAN:
        check_type(v, sh, vi, LUA_TBOOLEAN);
        break;
    case ACMPCA_T_BLOB:
        check_type(v, sh, vi, LUA_TSTRING);
        break;
    case ACMPCA_T_LIST:
        check_list(v, sh, vi, plen);
        break;
    case ACMPCA_T_MAP:
        check_map(v, sh, vi, plen);
        break;
    case ACMPCA_T_STRUCTURE:
        check_structure(v, sh, vi, plen);
        break;
    }
}

/* ------------------------------------------------------------ entry points */

void acmpca_validate(lua_State *L, const acmpca_operation *op, int t)
{
    vctx v;
    v.L = L;
    v.op = op;
    v.path[0] = '\0';
    t = lua_absindex(L, t);
    if (op->input == NULL) {
        if (!lua_isnoneornil(L, t) && lua_type(L, t) != LUA_TTABLE)
            FAIL(&v, t, "expected a table of arguments");
        return;
    }
    check_value(&v, op->input, t, 0);
}

const char *acmpca_validate_arn(lua_State *L, const acmpca_operation *op, int t, size_t *n)
{
    t = lua_absindex(L, t);
    for (int m = 0; op->input != NULL && m < op->input->nmembers; m++) {
        const acmpca_member *mb = &op->input->members[m];
        if (mb->shape->check != ACMPCA_CHECK_ARN)
            continue;
        if (compat_getfield(L, t, mb->lua) == LUA_TSTRING)
            return lua_tolstring(L, -1, n);
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    return NULL;
}
