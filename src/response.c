/*
 * response.c: one attempt's answer to a result or an error object.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "json.h"
#include "response.h"

#define SKEW_LIMIT 240 /* seconds: what the SDKs tolerate before correcting */

/* ------------------------------------------------------------ error codes */

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

/* ------------------------------------------------------------ helpers */

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

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* What one attempt returned, read once from the response table. */
typedef struct answer {
    const acmpca_operation *op;
    int status;
    int headers; /* stack index of the headers table, or 0 */
    const char *body;
    size_t bodyn;
} answer;

/* ------------------------------------------------------------ transport failures */

/* A transport failure (error object or string at index e) as an error. */
static int transport_error(lua_State *L, const acmpca_operation *op, int e)
{
    lua_pushnil(L);
    if (lua_type(L, e) == LUA_TSTRING) {
        acmpca_error_push(L, "NetworkError", lua_tostring(L, e), 0, NULL, 1, op->name);
        return 2;
    }
    if (lua_type(L, e) != LUA_TTABLE) {
        acmpca_error_push(L, "NetworkError", "the transport returned neither a response "
                          "nor an error", 0, NULL, 0, op->name);
        return 2;
    }
    if (compat_getfield(L, e, "code") != LUA_TSTRING) {
        lua_pushliteral(L, "NetworkError");
        lua_setfield(L, e, "code");
    }
    lua_pop(L, 1);
    if (compat_getfield(L, e, "operation") == LUA_TNIL) {
        lua_pushstring(L, op->name);
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
    acmpca_error_adopt(L, e);
    lua_pushvalue(L, e);
    return 2;
}

/* ------------------------------------------------------------ the answer */

/* status (checked as a number: (int) of 2^32 + 200 would be 200), headers, body */
static int read_answer(lua_State *L, int r, answer *a)
{
    lua_Number st = 0;
    if (lua_type(L, r) == LUA_TTABLE && compat_getfield(L, r, "status") == LUA_TNUMBER)
        st = lua_tonumber(L, -1);
    if (!(st >= 100 && st <= 599 && st == floor(st)))
        return -1;
    a->status = (int)st;
    a->headers = compat_getfield(L, r, "headers") == LUA_TTABLE ? lua_gettop(L) : 0;
    a->body = "";
    a->bodyn = 0;
    if (compat_getfield(L, r, "body") == LUA_TSTRING)
        a->body = lua_tolstring(L, -1, &a->bodyn);
    return 0;
}

static int success(lua_State *L, const answer *a)
{
    char msg[512], ex[ACMPCA_EXCERPT_MAX + 8];
    if (a->op->output == NULL && is_blank(a->body, a->bodyn)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (acmpca_json_decode(L, a->body, a->bodyn) && lua_type(L, -1) == LUA_TTABLE) {
        acmpca_json_result(L, a->op, -1);
        return 1;
    }
    acmpca_excerpt(a->body, a->bodyn, ACMPCA_EXCERPT_MAX, ex, sizeof ex);
    snprintf(msg, sizeof msg, "HTTP %d with a body that is not a JSON object: %s", a->status,
             a->bodyn ? ex : "(empty)");
    const char *rid = header(L, a->headers, "x-amzn-requestid", "x-amzn-RequestId");
    lua_pushnil(L);
    acmpca_error_push(L, "InvalidResponse", msg, a->status, rid, 0, a->op->name);
    return 2;
}

/* Correct *offset from the Date of a clock-skew error (the error on top). */
static void correct_skew(lua_State *L, const answer *a, const char *code, const char *message,
                         int64_t *offset)
{
    int strong = in_list(code, SKEW_STRONG), weak = in_list(code, SKEW_WEAK);
    int64_t server = 0;
    int dated = 0;
    if (strong || weak) {
        const char *date = header(L, a->headers, "date", "Date");
        dated = date != NULL && parse_http_date(date, &server);
        lua_pop(L, 1);
    }
    if (!dated)
        return;
    int64_t now = (int64_t)time(NULL), fresh = server - now, drift = fresh - *offset;
    int said = message != NULL && (strstr(message, "expired") != NULL ||
                                   strstr(message, "not yet current") != NULL ||
                                   strstr(message, "skew") != NULL);
    if (strong || drift > SKEW_LIMIT || drift < -SKEW_LIMIT || said) {
        *offset = fresh;
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "clock_skew");
        lua_pushnumber(L, (lua_Number)fresh);
        lua_setfield(L, -2, "clock_offset");
    }
}

/* The code and message of a service error (pushes up to 3 values it points into). */
static void error_fields(lua_State *L, const answer *a, char *code, size_t codelen,
                         const char **message, char *msg, size_t msglen)
{
    char ex[ACMPCA_EXCERPT_MAX + 8];
    const char *type = NULL;
    int json = acmpca_json_decode(L, a->body, a->bodyn) && lua_type(L, -1) == LUA_TTABLE;
    *message = NULL;
    if (json) {
        int t = lua_gettop(L);
        if (compat_getfield(L, t, "__type") == LUA_TSTRING)
            type = lua_tostring(L, -1);
        if (compat_getfield(L, t, "message") == LUA_TSTRING ||
            (lua_pop(L, 1), compat_getfield(L, t, "Message")) == LUA_TSTRING)
            *message = lua_tostring(L, -1);
    }
    if (type == NULL)
        type = header(L, a->headers, "x-amzn-errortype", "X-Amzn-ErrorType");
    if (type != NULL)
        clean_code(type, code, codelen);
    else
        snprintf(code, codelen, "%s", json ? "UnknownError" : "InvalidResponse");
    if (*message != NULL)
        return;
    if (json || a->bodyn == 0) {
        snprintf(msg, msglen, "HTTP %d", a->status);
    } else {
        acmpca_excerpt(a->body, a->bodyn, ACMPCA_EXCERPT_MAX, ex, sizeof ex);
        snprintf(msg, msglen, "HTTP %d with a body that is not JSON: %s", a->status, ex);
    }
    *message = msg;
}

static int service_error(lua_State *L, const answer *a, int64_t *clock_offset)
{
    char msg[512], code[128];
    const char *message;
    const char *rid = header(L, a->headers, "x-amzn-requestid", "x-amzn-RequestId");
    error_fields(L, a, code, sizeof code, &message, msg, sizeof msg);
    int throttling = in_list(code, THROTTLING);
    int retryable = throttling || in_list(code, TRANSIENT) || retryable_status(a->status);
    lua_pushnil(L);
    acmpca_error_push(L, code, message, a->status, rid, retryable, a->op->name);
    if (throttling) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "throttling");
    }
    correct_skew(L, a, code, message, clock_offset);
    return 2;
}

int acmpca_response_finish(lua_State *L, const acmpca_operation *op, int r, int e,
                           int64_t *clock_offset)
{
    answer a;
    a.op = op;
    r = lua_absindex(L, r);
    e = lua_absindex(L, e);
    luaL_checkstack(L, 24, "acmpca.client: Lua stack exhausted");
    if (lua_isnil(L, r) || (lua_type(L, r) == LUA_TBOOLEAN && !lua_toboolean(L, r)))
        return transport_error(L, op, e);
    if (read_answer(L, r, &a) != 0) {
        lua_pushnil(L);
        acmpca_error_push(L, "InvalidResponse", "the transport returned a response "
                          "without a numeric HTTP status (100 to 599)", 0, NULL, 0, op->name);
        return 2;
    }
    if (a.status >= 200 && a.status < 300)
        return success(L, &a);
    return service_error(L, &a, clock_offset);
}
