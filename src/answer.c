/*
 * answer.c: a successful answer's JSON text checked against the model's
 * output shape (answer.h says what passes), with no Lua in it.
 *
 * One forward pass over the text with a recursion depth bound: the model
 * drives the check where it knows the member, unknown members are skipped
 * by the same scanner.  The text has usually been decoded by lua-cjson
 * already, but nothing here relies on that: any bytes are safe input
 * (fuzz target: acmpca_answer_check with the operations' output shapes).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"

#define PATH_MAX_LEN 200
#define KEY_MAX 64     /* longer keys match no member */
#define NUMBER_MAX 96  /* longer numbers are out of every range */
#define TSTAMP_MIN -62135596800.0 /* 0001-01-01T00:00:00Z */
#define TSTAMP_MAX 253402300799.0 /* 9999-12-31T23:59:59Z */

typedef struct scan {
    const char *p, *end;
    int depth;
    char path[PATH_MAX_LEN + 1];
    size_t plen;
    char *why;
    size_t whylen;
} scan;

/* the JSON kinds, as messages name them */
enum { K_OBJECT, K_ARRAY, K_STRING, K_NUMBER, K_BOOLEAN, K_NULL, K_BAD };
static const char *const KIND[] = {"an object", "an array", "a string", "a number",
                                   "a boolean", "null", "malformed JSON"};

static int check_value(scan *sc, const acmpca_shape *sh);

/* ------------------------------------------------------------ failures */

static int failf(scan *sc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "<path>: <what>" into why; returns -1. */
static int failf(scan *sc, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (sc->whylen > 0)
        snprintf(sc->why, sc->whylen, "%s: %s", sc->plen ? sc->path : "(top)", what);
    return -1;
}

static const char *expected(const acmpca_shape *sh)
{
    switch (sh->type) {
    case ACMPCA_T_STRUCTURE:
    case ACMPCA_T_MAP:
        return "an object";
    case ACMPCA_T_LIST:
        return "an array";
    case ACMPCA_T_STRING:
    case ACMPCA_T_BLOB:
        return "a string";
    case ACMPCA_T_BOOLEAN:
        return "a boolean";
    case ACMPCA_T_INTEGER:
        return "an integer from -2147483648 to 2147483647";
    case ACMPCA_T_LONG:
        return "an integer of at most 2^53";
    case ACMPCA_T_DOUBLE:
        return "a finite number";
    case ACMPCA_T_TIMESTAMP:
        return "a timestamp (epoch seconds, years 1 to 9999)";
    }
    return "a value";
}

static int type_error(scan *sc, const acmpca_shape *sh, int kind)
{
    return failf(sc, "expected %s, got %s", expected(sh), KIND[kind]);
}

/* ------------------------------------------------------------ the path */

/* Append ".name" (".Name" printable, cut) or "[k]"; returns the old length. */
static size_t path_push(scan *sc, const char *name, size_t n, size_t index)
{
    /* on every member of every answer: plain byte copies, no stdio (the
     * path is only read when a message names it) */
    size_t old = sc->plen, at = sc->plen, cap = sizeof sc->path - 1;
    if (name != NULL) {
        if (at > 0 && at < cap)
            sc->path[at++] = '.';
        for (size_t i = 0; i < n && i < KEY_MAX && at < cap; i++) {
            unsigned char ch = (unsigned char)name[i];
            sc->path[at++] = (ch > 32 && ch < 127) ? (char)ch : '?';
        }
    } else {
        char digits[24];
        size_t k = 0;
        do {
            digits[k++] = (char)('0' + index % 10);
            index /= 10;
        } while (index > 0);
        if (at + k + 2 <= cap) {
            sc->path[at++] = '[';
            while (k > 0)
                sc->path[at++] = digits[--k];
            sc->path[at++] = ']';
        } else {
            at = cap;
        }
    }
    sc->path[at] = '\0';
    sc->plen = at;
    return old;
}

static void path_pop(scan *sc, size_t old)
{
    sc->plen = old;
    sc->path[old] = '\0';
}

/* ------------------------------------------------------------ tokens */

static void skip_ws(scan *sc)
{
    while (sc->p < sc->end &&
           (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

static int kind_at(const scan *sc)
{
    if (sc->p >= sc->end)
        return K_BAD;
    switch (*sc->p) {
    case '{': return K_OBJECT;
    case '[': return K_ARRAY;
    case '"': return K_STRING;
    case 't':
    case 'f': return K_BOOLEAN;
    case 'n': return K_NULL;
    default:
        return (*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9')) ? K_NUMBER : K_BAD;
    }
}

/* A string at p: [*s, *s + *n) is its raw inside, *esc whether it has '\'. */
static int read_string(scan *sc, const char **s, size_t *n, int *esc)
{
    const char *q = ++sc->p;
    *esc = 0;
    while (q < sc->end && *q != '"') {
        if ((unsigned char)*q < 0x20)
            return failf(sc, "malformed JSON (control character in a string)");
        if (*q == '\\') {
            *esc = 1;
            q++;
        }
        q++;
    }
    if (q >= sc->end)
        return failf(sc, "malformed JSON (unterminated string)");
    *s = sc->p;
    *n = (size_t)(q - sc->p);
    sc->p = q + 1;
    return 0;
}

/* A key's escapes undone into out (KEY_MAX); 0 when it cannot name a member. */
static size_t unescape_key(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\\' && i + 1 < n) {
            char e = s[++i];
            if (e == 'u') {
                unsigned v = 0;
                if (i + 4 >= n)
                    return 0;
                for (int j = 1; j <= 4; j++) {
                    char h = s[i + (size_t)j];
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9'   ? h - '0'
                                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                                   : 255);
                }
                if (v < 0x20 || v > 0x7e)
                    return 0; /* no member name holds it */
                ch = (char)v;
                i += 4;
            } else {
                ch = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                   : e == 't' ? '\t' : e;
            }
        }
        if (k >= KEY_MAX)
            return 0;
        out[k++] = ch;
    }
    return k;
}

/* A number's text at p as a double (*x); -1 when malformed or too long. */
static int read_number(scan *sc, double *x, int *too_long)
{
    char buf[NUMBER_MAX + 1];
    const char *q = sc->p;
    char *stop;
    while (q < sc->end && ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+' || *q == '.' ||
                           *q == 'e' || *q == 'E'))
        q++;
    *too_long = (size_t)(q - sc->p) > NUMBER_MAX;
    if (*too_long) {
        sc->p = q;
        *x = HUGE_VAL;
        return 0;
    }
    memcpy(buf, sc->p, (size_t)(q - sc->p));
    buf[q - sc->p] = '\0';
    *x = strtod(buf, &stop);
    if (stop == buf || *stop != '\0')
        return failf(sc, "malformed JSON (number)");
    sc->p = q;
    return 0;
}

static int read_literal(scan *sc, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
        return failf(sc, "malformed JSON");
    sc->p += n;
    return 0;
}

/* ------------------------------------------------------------ values */

static int check_number(scan *sc, const acmpca_shape *sh)
{
    double x;
    int too_long, ok = 1;
    if (read_number(sc, &x, &too_long) != 0)
        return -1;
    if (sh == NULL)
        return 0;
    switch (sh->type) {
    case ACMPCA_T_INTEGER:
        ok = isfinite(x) && x == floor(x) && x >= -2147483648.0 && x <= 2147483647.0;
        break;
    case ACMPCA_T_LONG:
        ok = isfinite(x) && x == floor(x) && fabs(x) <= 9007199254740992.0;
        break;
    case ACMPCA_T_DOUBLE:
        ok = isfinite(x);
        break;
    case ACMPCA_T_TIMESTAMP:
        ok = isfinite(x) && x >= TSTAMP_MIN && x <= TSTAMP_MAX;
        break;
    default:
        return type_error(sc, sh, K_NUMBER);
    }
    return ok ? 0 : failf(sc, "expected %s, got a number out of range", expected(sh));
}

/* The member of structure sh named by the raw key [s, s + n), or NULL. */
static const acmpca_shape *member_shape(const acmpca_shape *sh, const char *s, size_t n,
                                        int esc)
{
    char key[KEY_MAX];
    if (sh == NULL)
        return NULL;
    if (sh->type == ACMPCA_T_MAP)
        return sh->item;
    if (esc && (n = unescape_key(s, n, key)) == 0)
        return NULL;
    if (esc)
        s = key;
    for (int m = 0; m < sh->nmembers; m++)
        if (strlen(sh->members[m].wire) == n && memcmp(sh->members[m].wire, s, n) == 0)
            return sh->members[m].shape;
    return NULL;
}

static int check_object(scan *sc, const acmpca_shape *sh)
{
    sc->p++; /* '{' */
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == '}') {
        sc->p++;
        return 0;
    }
    if (sh != NULL && sh->type != ACMPCA_T_STRUCTURE && sh->type != ACMPCA_T_MAP)
        return type_error(sc, sh, K_OBJECT);
    for (;;) {
        const char *key;
        size_t keyn, old;
        int esc;
        skip_ws(sc);
        if (kind_at(sc) != K_STRING)
            return failf(sc, "malformed JSON (object key)");
        if (read_string(sc, &key, &keyn, &esc) != 0)
            return -1;
        skip_ws(sc);
        if (sc->p >= sc->end || *sc->p++ != ':')
            return failf(sc, "malformed JSON (':')");
        old = path_push(sc, key, keyn, 0);
        if (check_value(sc, member_shape(sh, key, keyn, esc)) != 0)
            return -1;
        path_pop(sc, old);
        skip_ws(sc);
        if (sc->p < sc->end && *sc->p == ',') {
            sc->p++;
            continue;
        }
        if (sc->p < sc->end && *sc->p == '}') {
            sc->p++;
            return 0;
        }
        return failf(sc, "malformed JSON (object)");
    }
}

static int check_array(scan *sc, const acmpca_shape *sh)
{
    size_t index = 0;
    sc->p++; /* '[' */
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == ']') {
        sc->p++;
        return 0;
    }
    if (sh != NULL && sh->type != ACMPCA_T_LIST)
        return type_error(sc, sh, K_ARRAY);
    for (;;) {
        size_t old = path_push(sc, NULL, 0, ++index);
        if (check_value(sc, sh != NULL ? sh->item : NULL) != 0)
            return -1;
        path_pop(sc, old);
        skip_ws(sc);
        if (sc->p < sc->end && *sc->p == ',') {
            sc->p++;
            continue;
        }
        if (sc->p < sc->end && *sc->p == ']') {
            sc->p++;
            return 0;
        }
        return failf(sc, "malformed JSON (array)");
    }
}

/* One value at p, of shape sh (NULL: an unknown member, any type). */
static int check_value(scan *sc, const acmpca_shape *sh)
{
    const char *s;
    size_t n;
    int esc, kind, rc;
    skip_ws(sc);
    kind = kind_at(sc);
    switch (kind) {
    case K_OBJECT:
    case K_ARRAY:
        if (sc->depth >= ACMPCA_ANSWER_MAX_DEPTH)
            return failf(sc, "nested deeper than %d levels", ACMPCA_ANSWER_MAX_DEPTH);
        sc->depth++;
        rc = kind == K_OBJECT ? check_object(sc, sh) : check_array(sc, sh);
        sc->depth--;
        return rc;
    case K_STRING:
        if (sh != NULL && sh->type != ACMPCA_T_STRING && sh->type != ACMPCA_T_BLOB)
            return type_error(sc, sh, kind);
        return read_string(sc, &s, &n, &esc);
    case K_NUMBER:
        return check_number(sc, sh);
    case K_BOOLEAN:
        if (sh != NULL && sh->type != ACMPCA_T_BOOLEAN)
            return type_error(sc, sh, kind);
        return read_literal(sc, *sc->p == 't' ? "true" : "false");
    case K_NULL:
        return read_literal(sc, "null"); /* absent, whatever the shape */
    }
    return failf(sc, "malformed JSON");
}

/* ------------------------------------------------------------ entry */

int acmpca_answer_check(const acmpca_shape *sh, const char *s, size_t n, char *why,
                        size_t whylen)
{
    scan sc;
    memset(&sc, 0, sizeof sc);
    sc.p = s;
    sc.end = s + n;
    sc.why = why;
    sc.whylen = whylen;
    if (whylen > 0)
        why[0] = '\0';
    skip_ws(&sc);
    if (sh != NULL && sh->type == ACMPCA_T_STRUCTURE && kind_at(&sc) != K_OBJECT)
        return type_error(&sc, sh, kind_at(&sc));
    if (check_value(&sc, sh) != 0)
        return -1;
    skip_ws(&sc);
    return sc.p == sc.end ? 0 : failf(&sc, "malformed JSON (trailing bytes)");
}
