/*
 * response.c: one attempt's answer to a result or an error object.
 *
 * Every failure is an "acmpca.error" with a non-empty code, a message and
 * retryable; with status and request_id whenever a response came back.
 *
 *   - Status: an integer from 100 to 999 is a response (999 included: it is
 *     three digits); anything else is InvalidResponse without a status.
 *   - 2xx: the body must be a JSON object of the operation's output shape
 *     (answer.c); otherwise InvalidResponse (retryable false).  Operations
 *     without output accept any body that is blank or decodes as JSON.
 *   - Anything else is a service error, read as awsJson1_1 clients must:
 *     the code from the X-Amzn-Errortype header, else a top-level "code"
 *     member, else a top-level "__type" (never a nested one); of each, what
 *     follows the last '#' before the first ':'.  A source that leaves
 *     nothing (empty, "#", ":uri") counts as absent.  No code anywhere:
 *     "UnknownError" when the body is empty or a JSON object/array,
 *     "InvalidResponse" when it is not JSON (an HTML page, say).  The
 *     message is a top-level string "message", else "Message", else
 *     "HTTP <status>" (plus an excerpt when the body is not JSON).
 *   - Clock skew: a skew error's Date header corrects the client's clock
 *     offset only when it parses (RFC 1123, years 1970 to 9999) and the
 *     offset it implies is within +-24 h (MAX_CORRECTION); any other Date
 *     is ignored, so one absurd answer cannot disable a client for good.
 *     The SDKs bound nothing (the JS SDK's isClockSkewed only decides
 *     *whether* to correct, at 5 min); 24 h is our choice: larger than any
 *     real misconfigured clock, small enough that the next honest answer
 *     corrects it back.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "error.h"
#include "json.h"
#include "response.h"

#define SKEW_LIMIT 240        /* seconds: what the SDKs tolerate before correcting */
#define MAX_CORRECTION 86400  /* seconds: a larger implied offset is ignored */
#define MAX_STATUS 999

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

/*
 * The code of "ns#Code:uri" (what follows the last '#' before the first
 * ':'), cut to outlen - 1 bytes, non-printables as '?'.  Returns its length.
 */
static size_t clean_code(const char *s, size_t len, char *out, size_t outlen)
{
    const char *colon = memchr(s, ':', len);
    size_t n = colon ? (size_t)(colon - s) : len;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == '#') {
            s += i;
            n -= i;
            break;
        }
    if (n >= outlen)
        n = outlen - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch > 32 && ch < 127) ? (char)ch : '?';
    }
    out[n] = '\0';
    return n;
}

/* ------------------------------------------------------------ helpers */

/* At most max digits at *p as a number (*v); 0 when there is none. */
static int digits(const char **p, const char *end, int min, int max, int *v)
{
    int k = 0;
    *v = 0;
    while (*p < end && k < max && **p >= '0' && **p <= '9') {
        *v = *v * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    return k >= min;
}

static int lit(const char **p, const char *end, const char *want)
{
    size_t n = strlen(want);
    if ((size_t)(end - *p) < n || memcmp(*p, want, n) != 0)
        return 0;
    *p += n;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int acmpca_parse_http_date(const char *s, size_t n, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static const char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s, *end = s + n;
    int d, mon = -1, y, hh, mm, ss;
    if (n < 28 || p[3] != ',' || p[4] != ' ')
        return 0;
    p += 5;
    if (!digits(&p, end, 1, 2, &d) || !lit(&p, end, " ") || end - p < 4)
        return 0;
    for (int i = 0; i < 12; i++)
        if (memcmp(p, months + 3 * i, 3) == 0)
            mon = i;
    p += 3;
    if (mon < 0 || !lit(&p, end, " ") || !digits(&p, end, 4, 4, &y) || !lit(&p, end, " ") ||
        !digits(&p, end, 2, 2, &hh) || !lit(&p, end, ":") || !digits(&p, end, 2, 2, &mm) ||
        !lit(&p, end, ":") || !digits(&p, end, 2, 2, &ss) || !lit(&p, end, " GMT") || p != end)
        return 0;
    if (d < 1 || d > mdays[mon] || y < 1970 || hh > 23 || mm > 59 || ss > 60)
        return 0;
    *out = days_from_civil(y, mon + 1, d) * 86400 + hh * 3600 + mm * 60 + ss;
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
    if (!(st >= 100 && st <= MAX_STATUS && st == floor(st)))
        return -1;
    a->status = (int)st;
    a->headers = compat_getfield(L, r, "headers") == LUA_TTABLE ? lua_gettop(L) : 0;
    a->body = "";
    a->bodyn = 0;
    if (compat_getfield(L, r, "body") == LUA_TSTRING)
        a->body = lua_tolstring(L, -1, &a->bodyn);
    return 0;
}

/* nil and an InvalidResponse error carrying the status and request id. */
static int invalid_answer(lua_State *L, const answer *a, const char *msg)
{
    const char *rid = header(L, a->headers, "x-amzn-requestid", "x-amzn-RequestId");
    lua_pushnil(L);
    acmpca_error_push(L, "InvalidResponse", msg, a->status, rid, 0, a->op->name);
    return 2;
}

static int success(lua_State *L, const answer *a)
{
    char msg[512], ex[ACMPCA_EXCERPT_MAX + 8], why[320];
    if (a->op->output == NULL && is_blank(a->body, a->bodyn)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (!acmpca_json_decode(L, a->body, a->bodyn) || lua_type(L, -1) != LUA_TTABLE) {
        acmpca_excerpt(a->body, a->bodyn, ACMPCA_EXCERPT_MAX, ex, sizeof ex);
        snprintf(msg, sizeof msg, "HTTP %d with a body that is not a JSON object: %s",
                 a->status, a->bodyn ? ex : "(empty)");
        return invalid_answer(L, a, msg);
    }
    if (a->op->output != NULL &&
        acmpca_answer_check(a->op->output, a->body, a->bodyn, why, sizeof why) != 0) {
        snprintf(msg, sizeof msg, "HTTP %d answer does not match the model: %s", a->status,
                 why);
        return invalid_answer(L, a, msg);
    }
    acmpca_json_result(L, a->op, -1);
    return 1;
}

/* Correct *offset from the Date of a clock-skew error (the error on top). */
static void correct_skew(lua_State *L, const answer *a, const char *code, const char *message,
                         int64_t *offset)
{
    int strong = in_list(code, SKEW_STRONG), weak = in_list(code, SKEW_WEAK);
    int64_t server = 0;
    int dated = 0;
    if (strong || weak) {
        size_t n = 0;
        const char *date = header(L, a->headers, "date", "Date");
        if (date != NULL)
            lua_tolstring(L, -1, &n);
        dated = date != NULL && acmpca_parse_http_date(date, n, &server);
        lua_pop(L, 1);
    }
    if (!dated)
        return;
    int64_t now = (int64_t)time(NULL), fresh = server - now, drift = fresh - *offset;
    if (fresh > MAX_CORRECTION || fresh < -MAX_CORRECTION)
        return; /* an absurd Date: not a clock we could agree with */
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

/* The cleaned code of the string at the top of the stack, if any; 1 when found. */
static int code_from(lua_State *L, char *code, size_t codelen)
{
    size_t n;
    const char *s;
    if (lua_type(L, -1) != LUA_TSTRING)
        return 0;
    s = lua_tolstring(L, -1, &n);
    return clean_code(s, n, code, codelen) > 0;
}

/*
 * The code and message of a service error (the header's rule in the file
 * comment).  Pushes up to 5 values that *message may point into.
 */
static void error_fields(lua_State *L, const answer *a, char *code, size_t codelen,
                         const char **message, char *msg, size_t msglen)
{
    char ex[ACMPCA_EXCERPT_MAX + 8];
    int json = acmpca_json_decode(L, a->body, a->bodyn) && lua_type(L, -1) == LUA_TTABLE;
    int t = lua_gettop(L), found;
    *message = NULL;
    header(L, a->headers, "x-amzn-errortype", "X-Amzn-ErrorType");
    found = code_from(L, code, codelen);
    if (json && !found) {
        compat_getfield(L, t, "code");
        found = code_from(L, code, codelen);
    }
    if (json && !found) {
        compat_getfield(L, t, "__type");
        found = code_from(L, code, codelen);
    }
    if (json && (compat_getfield(L, t, "message") == LUA_TSTRING ||
                 (lua_pop(L, 1), compat_getfield(L, t, "Message")) == LUA_TSTRING))
        *message = lua_tostring(L, -1);
    if (!found)
        snprintf(code, codelen, "%s",
                 json || is_blank(a->body, a->bodyn) ? "UnknownError" : "InvalidResponse");
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

/*
 * A message over ACMPCA_MESSAGE_MAX bytes, cut before the character that
 * crosses the limit, with its full size after it: pushed, and returned.
 */
static const char *bound_message(lua_State *L, const char *message)
{
    size_t n = strlen(message), cut = ACMPCA_MESSAGE_MAX;
    char tail[48];
    if (n <= ACMPCA_MESSAGE_MAX)
        return message;
    /* back to the lead byte of the character at the limit (at most 3 steps
     * on valid UTF-8; bytes of anything else are left as they are) */
    for (int i = 0; i < 3 && ((unsigned char)message[cut] & 0xC0) == 0x80; i++)
        cut--;
    if (((unsigned char)message[cut] & 0xC0) == 0x80)
        cut = ACMPCA_MESSAGE_MAX;
    snprintf(tail, sizeof tail, "... (%zu bytes)", n);
    lua_pushlstring(L, message, cut);
    lua_pushstring(L, tail);
    lua_concat(L, 2);
    return lua_tostring(L, -1);
}

static int service_error(lua_State *L, const answer *a, int64_t *clock_offset)
{
    char msg[512], code[128];
    const char *message;
    const char *rid = header(L, a->headers, "x-amzn-requestid", "x-amzn-RequestId");
    error_fields(L, a, code, sizeof code, &message, msg, sizeof msg);
    message = bound_message(L, message);
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
                          "without a numeric HTTP status (100 to 999)", 0, NULL, 0, op->name);
        return 2;
    }
    if (a.status >= 200 && a.status < 300)
        return success(L, &a);
    return service_error(L, &a, clock_offset);
}
