/*
 * sigv4_test.c: the pure-C signer (src/sigv4.c, src/crypto.c, OpenSSL; no
 * Lua) against both copies of AWS's SigV4 test suite.
 *
 *   build/sigv4_test [fixtures directory]     (default spec/fixtures)
 *
 * Reads the suites at run time, as spec/sigv4_spec.lua does:
 * spec/fixtures/sigv4-suite (the old layout: <case>/<case>.req, .creq,
 * .sts, .authz; groups of cases in sub-directories) and
 * spec/fixtures/sigv4-suite-v4 (the current layout: <case>/context.json,
 * request.txt, header-*.txt and query-*.txt).  Each case checks the
 * canonical request, the string to sign and the Authorization value; v4
 * cases also check the signature and, where the query-*.txt files are
 * there, the presigned request line.  Then the crypto layer against the
 * RFC 4231 and FIPS 180 vectors (the .txt files of spec/fixtures), and API
 * cases for the C interface itself: URL splitting, errors, truncated
 * output, and
 * signatures made in a row (through the signing-key cache and its cached
 * heads) against the HMAC chain computed from scratch.
 *
 * Prints one line per case, "ok <case>" or "not ok <case>: <why>", and
 * ends with exactly "N passed, M failed"; the exit status is non-zero on
 * any failure.  Finding fewer or more cases than expected is a failure, so
 * a missing fixture directory cannot pass.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "crypto.h"
#include "sigv4.h"

#define OLD_SUITE_CASES 34
#define V4_SUITE_CASES 38
#define RFC4231_CASES 7
#define FIPS180_CASES 5

#define ACCESS_KEY_ID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define UNIX_TIME 1440938160 /* 20150830T123600Z */
#define MAX_HEADERS 64

static int passed, failed;

/* ------------------------------------------------------------ results */

/* One case's verdict; the first failed check explains it. */
typedef struct check {
    const char *name;
    char why[4096];
    int bad;
} check;

static void check_fail(check *c, const char *fmt, ...)
{
    va_list ap;

    if (c->bad)
        return;
    c->bad = 1;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
}

/* got[0..n) must equal want (a NUL-terminated file's text). */
static void check_text(check *c, const char *what, const char *want, const char *got, size_t n)
{
    if (want == NULL)
        check_fail(c, "%s: expected file missing", what);
    else if (strlen(want) != n || memcmp(want, got, n) != 0)
        check_fail(c, "%s differs\n--- expected\n%s\n--- got\n%.*s\n---", what, want, (int)n, got);
}

static void report(check *c)
{
    if (c->bad) {
        failed++;
        printf("not ok %s: %s\n", c->name, c->why);
    } else {
        passed++;
        printf("ok %s\n", c->name);
    }
}

/* ------------------------------------------------------------ files */

/* The whole file, NUL-terminated and malloc'd; NULL when unreadable. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static char *read_path(const char *dir, const char *name, const char *suffix)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix);
    return read_file(path);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted sub-directory names of dir (malloc'd, NULL-terminated); NULL if none. */
static char **subdirs(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, path[1024];
    size_t n = 0;

    if (d == NULL)
        return NULL;
    while ((e = readdir(d)) != NULL) {
        char **grown;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || !is_dir(path))
            continue;
        grown = realloc(names, (n + 2) * sizeof *names);
        if (grown == NULL)
            break;
        names = grown;
        names[n++] = strdup(e->d_name);
        names[n] = NULL;
    }
    closedir(d);
    if (names != NULL)
        qsort(names, n, sizeof *names, cmp_names);
    return names;
}

static void free_names(char **names)
{
    size_t i;

    for (i = 0; names != NULL && names[i] != NULL; i++)
        free(names[i]);
    free(names);
}

/* ------------------------------------------------------------ raw requests */

/*
 * A raw HTTP/1.1 request as the suites write it, parsed as
 * spec/support/vectors.lua does: the target is everything between the
 * first and the last space of the request line; a line that starts with
 * whitespace continues the previous value, joined with one space.
 */
typedef struct raw_request {
    char *text; /* the request, cut in place */
    char *method;
    char *target;
    acmpca_header headers[MAX_HEADERS];
    char *folded[MAX_HEADERS]; /* values rebuilt from continuation lines */
    size_t nheaders;
    acmpca_str host;
    acmpca_str body;
} raw_request;

/* Append a continuation line to the last header's value. */
static int fold_line(raw_request *r, const char *line)
{
    acmpca_header *h = &r->headers[r->nheaders - 1];
    size_t n = strlen(line + strspn(line, " \t"));
    char *v = malloc(h->value.n + 1 + n + 1);

    if (v == NULL)
        return -1;
    memcpy(v, h->value.p, h->value.n);
    v[h->value.n] = ' ';
    memcpy(v + h->value.n + 1, line + strspn(line, " \t"), n + 1);
    free(r->folded[r->nheaders - 1]);
    r->folded[r->nheaders - 1] = v;
    h->value.p = v;
    h->value.n += 1 + n;
    return 0;
}

static int header_line(raw_request *r, char *line)
{
    char *colon = strchr(line, ':');

    if (line[0] == ' ' || line[0] == '\t')
        return r->nheaders > 0 ? fold_line(r, line) : -1;
    if (colon == NULL || colon == line || r->nheaders == MAX_HEADERS)
        return -1;
    *colon = '\0';
    r->headers[r->nheaders].name.p = line;
    r->headers[r->nheaders].name.n = (size_t)(colon - line);
    r->headers[r->nheaders].value.p = colon + 1;
    r->headers[r->nheaders].value.n = strlen(colon + 1);
    if (strcasecmp(line, "host") == 0 && r->host.p == NULL)
        r->host = r->headers[r->nheaders].value;
    r->nheaders++;
    return 0;
}

/* "METHOD target HTTP/1.1" */
static int request_line(raw_request *r, char *line)
{
    char *sp = strchr(line, ' '), *last = strrchr(line, ' ');

    if (sp == NULL || last == sp || strcmp(last, " HTTP/1.1") != 0)
        return -1;
    *sp = '\0';
    *last = '\0';
    r->method = line;
    r->target = sp + 1;
    return 0;
}

/* Parse text (taken over, freed by raw_free); 0 or -1. */
static int raw_parse(raw_request *r, char *text)
{
    char *split = strstr(text, "\n\n"), *line, *next;
    size_t n;

    memset(r, 0, sizeof *r);
    r->text = text;
    r->body.p = "";
    if (split != NULL) {
        *split = '\0';
        r->body.p = split + 2;
        r->body.n = strlen(split + 2);
    }
    n = strlen(text);
    if (n > 0 && text[n - 1] == '\n')
        text[n - 1] = '\0';
    for (line = text; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (line == text ? request_line(r, line) : header_line(r, line))
            return -1;
    }
    return r->host.p != NULL ? 0 : -1;
}

static void raw_free(raw_request *r)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++)
        free(r->folded[i]);
    free(r->text);
}

/* The signer's request: path and query split at the first '?'. */
static void to_request(const raw_request *r, acmpca_sigv4_request *req)
{
    const char *q = strchr(r->target, '?');

    memset(req, 0, sizeof *req);
    req->method.p = r->method;
    req->method.n = strlen(r->method);
    req->host = r->host;
    req->path.p = r->target;
    req->path.n = q != NULL ? (size_t)(q - r->target) : strlen(r->target);
    req->query.p = q != NULL ? q + 1 : "";
    req->query.n = q != NULL ? strlen(q + 1) : 0;
    req->headers = r->headers;
    req->nheaders = r->nheaders;
    req->body = r->body;
}

/* ------------------------------------------------------------ context.json */

/*
 * The value of "key" in the flat-keyed context.json of a v4 case (keys are
 * unique there, nested or not): a string copied into out, or a bare
 * literal (true, 3600).  0, or -1 when absent.
 */
static int json_value(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p;
    size_t n = 0;

    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(json, pat);
    if (p == NULL)
        return -1;
    p += strlen(pat);
    p += strspn(p, " \t\r\n");
    if (*p++ != ':')
        return -1;
    p += strspn(p, " \t\r\n");
    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"' && n + 1 < cap; p++)
            out[n++] = (*p == '\\' && p[1] != '\0') ? *++p : *p;
    } else {
        while (*p != '\0' && strchr(",}\r\n \t", *p) == NULL && n + 1 < cap)
            out[n++] = *p++;
    }
    out[n] = '\0';
    return 0;
}

static int json_true(const char *json, const char *key)
{
    char v[16];
    return json_value(json, key, v, sizeof v) == 0 && strcmp(v, "true") == 0;
}

/* ------------------------------------------------------------ one signing */

/* What the signer produced for one case, in both forms. */
typedef struct signed_case {
    char creq[8192], sts[ACMPCA_SIGV4_STS_MAX], params[4096];
    acmpca_sigv4_text creq_t, sts_t, params_t;
    acmpca_sigv4_result out;
} signed_case;

/* Canonical request and string to sign of one form; 0 or -1 (c explains). */
static int texts(check *c, const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                 int presign, signed_case *s)
{
    char err[256];

    s->creq_t = (acmpca_sigv4_text){s->creq, sizeof s->creq, 0};
    s->sts_t = (acmpca_sigv4_text){s->sts, sizeof s->sts, 0};
    if (acmpca_sigv4_canonical_request(req, cfg, presign, &s->creq_t, NULL, err, sizeof err) != 0) {
        check_fail(c, "canonical_request: %s", err);
        return -1;
    }
    if (s->creq_t.len >= s->creq_t.cap) {
        check_fail(c, "canonical_request: longer than the test's buffer");
        return -1;
    }
    if (acmpca_sigv4_string_to_sign(s->creq, s->creq_t.len, cfg, &s->sts_t, err, sizeof err) != 0) {
        check_fail(c, "string_to_sign: %s", err);
        return -1;
    }
    return 0;
}

static int sign_headers(check *c, const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                        signed_case *s)
{
    char err[256];

    if (acmpca_sigv4_sign(req, cfg, &s->out, err, sizeof err) != 0) {
        check_fail(c, "sign: %s", err);
        return -1;
    }
    return 0;
}

static int presign(check *c, const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                   signed_case *s)
{
    char err[256];

    s->params_t = (acmpca_sigv4_text){s->params, sizeof s->params, 0};
    if (acmpca_sigv4_presign(req, cfg, &s->params_t, err, sizeof err) != 0) {
        check_fail(c, "presign: %s", err);
        return -1;
    }
    if (s->params_t.len >= s->params_t.cap) {
        check_fail(c, "presign: longer than the test's buffer");
        return -1;
    }
    return 0;
}

static void base_config(acmpca_sigv4_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->region = (acmpca_str){"us-east-1", 9};
    cfg->service = (acmpca_str){"service", 7};
    cfg->access_key_id = (acmpca_str){ACCESS_KEY_ID, sizeof ACCESS_KEY_ID - 1};
    cfg->secret_access_key = (acmpca_str){SECRET, sizeof SECRET - 1};
    cfg->time = UNIX_TIME;
    cfg->flags = ACMPCA_SIGV4_NORMALIZE_PATH;
    cfg->expires = 3600;
}

/* ------------------------------------------------------------ old layout */

/* The token a case signs: the one its canonical request shows, if any. */
static const char *creq_token(const char *creq, size_t *n)
{
    const char *p = strstr(creq, "\nx-amz-security-token:"), *end;

    if (p == NULL)
        return NULL;
    p += strlen("\nx-amz-security-token:");
    end = strchr(p, '\n');
    *n = end != NULL ? (size_t)(end - p) : strlen(p);
    return p;
}

/* The last non-empty line of post-sts-token/readme.txt, into out. */
static void readme_token(const char *root, char *out, size_t cap)
{
    char *text = read_path(root, "post-sts-token/readme.txt", "");
    size_t n = text != NULL ? strlen(text) : 0, end;

    out[0] = '\0';
    while (n > 0 && strchr(" \t\r\n", text[n - 1]) != NULL)
        n--;
    end = n;
    while (n > 0 && text[n - 1] != '\n')
        n--;
    if (text != NULL && end - n < cap) {
        memcpy(out, text + n, end - n);
        out[end - n] = '\0';
    }
    free(text);
}

static void old_case(const char *root, const char *dir, const char *name, const char *label)
{
    char *want_creq = read_path(dir, name, ".creq"), *want_sts = read_path(dir, name, ".sts");
    char *want_authz = read_path(dir, name, ".authz"), *raw = read_path(dir, name, ".req");
    static signed_case s;
    char token[2048];
    raw_request r;
    acmpca_sigv4_request req;
    acmpca_sigv4_config cfg;
    check c = {label, "", 0};

    base_config(&cfg);
    if (raw == NULL || raw_parse(&r, raw) != 0) {
        check_fail(&c, "cannot read or parse %s/%s.req", dir, name);
        if (raw != NULL)
            raw_free(&r);
        goto done;
    }
    to_request(&r, &req);
    if (want_creq != NULL)
        cfg.session_token.p = creq_token(want_creq, &cfg.session_token.n);
    if (strstr(name, "post-sts-header-after") != NULL) {
        readme_token(root, token, sizeof token);
        cfg.session_token = (acmpca_str){token, strlen(token)};
        cfg.flags |= ACMPCA_SIGV4_OMIT_TOKEN;
    }
    if (texts(&c, &req, &cfg, 0, &s) == 0 && sign_headers(&c, &req, &cfg, &s) == 0) {
        check_text(&c, "canonical request", want_creq, s.creq, s.creq_t.len);
        check_text(&c, "string to sign", want_sts, s.sts, s.sts_t.len);
        check_text(&c, "Authorization", want_authz, s.out.authorization, s.out.authorization_len);
    }
    raw_free(&r);
done:
    report(&c);
    free(want_creq);
    free(want_sts);
    free(want_authz);
}

/* A case is a directory holding <name>.req; other directories are groups. */
static void old_walk(const char *root, const char *dir, const char *prefix, int *count)
{
    char **names = subdirs(dir);
    char path[2048], file[2300], label[1024];
    size_t i;

    for (i = 0; names != NULL && names[i] != NULL; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(file, sizeof file, "%s/%s.req", path, names[i]);
        snprintf(label, sizeof label, "%s%s", prefix, names[i]);
        if (is_file(file)) {
            (*count)++;
            old_case(root, path, names[i], label);
        } else {
            strncat(label, "/", sizeof label - strlen(label) - 1);
            old_walk(root, path, label, count);
        }
    }
    free_names(names);
}

/* ------------------------------------------------------------ v4 layout */

/* The case's context.json into cfg (strings kept in the buffers of ctx). */
typedef struct v4_context {
    char region[64], service[64], timestamp[64], key_id[128], secret[128], token[2048];
    char expires[32];
} v4_context;

static int v4_config(const char *json, v4_context *x, acmpca_sigv4_config *cfg)
{
    char date[17];
    size_t i, o = 0;

    memset(cfg, 0, sizeof *cfg);
    if (json_value(json, "region", x->region, sizeof x->region) ||
        json_value(json, "service", x->service, sizeof x->service) ||
        json_value(json, "timestamp", x->timestamp, sizeof x->timestamp) ||
        json_value(json, "access_key_id", x->key_id, sizeof x->key_id) ||
        json_value(json, "secret_access_key", x->secret, sizeof x->secret) ||
        json_value(json, "expiration_in_seconds", x->expires, sizeof x->expires))
        return -1;
    for (i = 0; x->timestamp[i] != '\0' && o < 16; i++)
        if (x->timestamp[i] != '-' && x->timestamp[i] != ':')
            date[o++] = x->timestamp[i];
    if (acmpca_sigv4_parse_amz_date(date, o, &cfg->time) != 0)
        return -1;
    cfg->region = (acmpca_str){x->region, strlen(x->region)};
    cfg->service = (acmpca_str){x->service, strlen(x->service)};
    cfg->access_key_id = (acmpca_str){x->key_id, strlen(x->key_id)};
    cfg->secret_access_key = (acmpca_str){x->secret, strlen(x->secret)};
    if (json_value(json, "token", x->token, sizeof x->token) == 0)
        cfg->session_token = (acmpca_str){x->token, strlen(x->token)};
    cfg->flags = (json_true(json, "normalize") ? ACMPCA_SIGV4_NORMALIZE_PATH : 0) |
                 (json_true(json, "sign_body") ? ACMPCA_SIGV4_SIGN_BODY : 0) |
                 (json_true(json, "omit_session_token") ? ACMPCA_SIGV4_OMIT_TOKEN : 0);
    cfg->expires = strtol(x->expires, NULL, 10);
    return 0;
}

/* The "Authorization:" line of a signed request file, NUL-terminated in place. */
static const char *authorization_line(char *signed_request)
{
    char *p = signed_request != NULL ? strstr(signed_request, "\nAuthorization:") : NULL;

    if (p == NULL)
        return NULL;
    p += strlen("\nAuthorization:");
    p[strcspn(p, "\n")] = '\0';
    return p;
}

static char *v4_read(const char *dir, const char *file)
{
    return read_path(dir, file, "");
}

/* The header form: texts, signature and the signed request's Authorization. */
static void v4_headers(check *c, const char *dir, const acmpca_sigv4_request *req,
                       const acmpca_sigv4_config *cfg, signed_case *s)
{
    char *creq = v4_read(dir, "header-canonical-request.txt");
    char *sts = v4_read(dir, "header-string-to-sign.txt");
    char *sig = v4_read(dir, "header-signature.txt");
    char *signed_request = v4_read(dir, "header-signed-request.txt");
    const char *authz = authorization_line(signed_request);

    if (texts(c, req, cfg, 0, s) == 0 && sign_headers(c, req, cfg, s) == 0) {
        check_text(c, "header canonical request", creq, s->creq, s->creq_t.len);
        check_text(c, "header string to sign", sts, s->sts, s->sts_t.len);
        check_text(c, "header signature", sig, s->out.signature, 64);
        check_text(c, "Authorization", authz, s->out.authorization, s->out.authorization_len);
    }
    free(creq);
    free(sts);
    free(sig);
    free(signed_request);
}

/* The query form, where the case has it: texts, signature and request line. */
static void v4_query(check *c, const char *dir, const raw_request *r,
                     const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                     signed_case *s)
{
    char *creq = v4_read(dir, "query-canonical-request.txt");
    char *sts = v4_read(dir, "query-string-to-sign.txt");
    char *sig = v4_read(dir, "query-signature.txt");
    char *signed_request = v4_read(dir, "query-signed-request.txt");
    char line[8192];
    int n;

    if ((creq != NULL || signed_request != NULL) && texts(c, req, cfg, 1, s) == 0 &&
        presign(c, req, cfg, s) == 0) {
        check_text(c, "query canonical request", creq, s->creq, s->creq_t.len);
        check_text(c, "query string to sign", sts, s->sts, s->sts_t.len);
        check_text(c, "query signature", sig, s->params + s->params_t.len - 64, 64);
        n = snprintf(line, sizeof line, "%s %.*s?%.*s%s%s HTTP/1.1", r->method, (int)req->path.n,
                     req->path.p, (int)req->query.n, req->query.p, req->query.n > 0 ? "&" : "",
                     s->params);
        if (signed_request != NULL)
            signed_request[strcspn(signed_request, "\n")] = '\0';
        check_text(c, "presigned request line", signed_request, line, (size_t)n);
    }
    free(creq);
    free(sts);
    free(sig);
    free(signed_request);
}

static void v4_case(const char *dir, const char *name)
{
    char *json = v4_read(dir, "context.json"), *raw = v4_read(dir, "request.txt");
    static signed_case s;
    static v4_context x;
    char label[300];
    raw_request r;
    acmpca_sigv4_request req;
    acmpca_sigv4_config cfg;
    check c = {label, "", 0};

    snprintf(label, sizeof label, "v4/%s", name);
    if (json == NULL || v4_config(json, &x, &cfg) != 0) {
        check_fail(&c, "cannot read context.json");
        free(raw);
    } else if (raw == NULL || raw_parse(&r, raw) != 0) {
        check_fail(&c, "cannot read or parse request.txt");
        if (raw != NULL)
            raw_free(&r);
    } else {
        to_request(&r, &req);
        v4_headers(&c, dir, &req, &cfg, &s);
        v4_query(&c, dir, &r, &req, &cfg, &s);
        raw_free(&r);
    }
    report(&c);
    free(json);
}

/* A case is a directory holding context.json. */
static void v4_walk(const char *root, int *count)
{
    char **names = subdirs(root);
    char path[2048], file[2100];
    size_t i;

    for (i = 0; names != NULL && names[i] != NULL; i++) {
        snprintf(path, sizeof path, "%s/%s", root, names[i]);
        snprintf(file, sizeof file, "%s/context.json", path);
        if (is_file(file)) {
            (*count)++;
            v4_case(path, names[i]);
        }
    }
    free_names(names);
}

/* ------------------------------------------------------------ the C API itself */

static void api_case(const char *name, int ok, const char *why)
{
    check c = {name, "", 0};

    if (!ok)
        check_fail(&c, "%s", why);
    report(&c);
}

/* Bad input fails with a clear message that shows neither secret nor token. */
static void api_errors(void)
{
    acmpca_sigv4_request req = {{"GET", 3}, {"h", 1}, {"/", 1}, {"", 0}, NULL, 0, {"", 0}};
    acmpca_header bad = {{"X-A", 3}, {"a\nb", 3}};
    acmpca_sigv4_config cfg;
    acmpca_sigv4_result out;
    char err[256];
    int rc;

    base_config(&cfg);
    cfg.session_token = (acmpca_str){"TOKEN\r\nX: y", 11};
    rc = acmpca_sigv4_sign(&req, &cfg, &out, err, sizeof err);
    api_case("api/token with CR LF",
             rc != 0 &&
                 strcmp(err, "credentials.session_token: "
                             "contains CR, LF or NUL") == 0 &&
                 strstr(err, "TOKEN") == NULL,
             err);
    base_config(&cfg);
    req.headers = &bad;
    req.nheaders = 1;
    rc = acmpca_sigv4_sign(&req, &cfg, &out, err, sizeof err);
    api_case("api/header value with LF",
             rc != 0 && strcmp(err, "header \"X-A\": value contains CR, LF or NUL") == 0, err);
    req.nheaders = 0;
    cfg.secret_access_key.n = 0;
    rc = acmpca_sigv4_sign(&req, &cfg, &out, err, sizeof err);
    api_case("api/empty secret", rc != 0 && strstr(err, "secret_access_key") != NULL, err);
    base_config(&cfg);
    cfg.time = -1;
    rc = acmpca_sigv4_sign(&req, &cfg, &out, err, sizeof err);
    api_case("api/time out of range", rc != 0 && strcmp(err, "time: out of range") == 0, err);
    base_config(&cfg);
    cfg.expires = 604801;
    {
        char buf[64];
        acmpca_sigv4_text t = {buf, sizeof buf, 0};
        rc = acmpca_sigv4_presign(&req, &cfg, &t, err, sizeof err);
        api_case("api/expires out of range",
                 rc != 0 && strstr(err, "expires: expected an integer") == err, err);
    }
}

/* Output that does not fit is cut, NUL-free, and its full length reported. */
static void api_truncation(void)
{
    acmpca_sigv4_request req = {{"GET", 3}, {"h", 1}, {"/", 1}, {"", 0}, NULL, 0, {"", 0}};
    acmpca_sigv4_config cfg;
    char small[8], full[4096], err[256];
    acmpca_sigv4_text a = {small, sizeof small, 0}, b = {full, sizeof full, 0};
    int ok;

    base_config(&cfg);
    ok = acmpca_sigv4_canonical_request(&req, &cfg, 1, &a, NULL, err, sizeof err) == 0 &&
         acmpca_sigv4_canonical_request(&req, &cfg, 1, &b, NULL, err, sizeof err) == 0 &&
         a.len == b.len && b.len < b.cap && memcmp(small, full, sizeof small) == 0 &&
         strlen(full) == b.len;
    api_case("api/canonical request into a short buffer", ok, "lengths or bytes differ");
    a.len = 0;
    ok = acmpca_sigv4_presign(&req, &cfg, &a, err, sizeof err) == 0 &&
         acmpca_sigv4_presign(&req, &cfg, &b, err, sizeof err) == 0 && a.len == b.len &&
         memcmp(small, full, sizeof small) == 0;
    api_case("api/presign into a short buffer", ok, "lengths or bytes differ");
}

/* ------------------------------------------------------------ crypto vectors */

/* "name = value" blocks separated by blank lines, '#' comments (as vectors.lua reads). */
#define VFIELD 512

typedef struct vblock {
    char key[VFIELD], data[VFIELD], mac[VFIELD], digest[VFIELD], repeat[VFIELD], label[VFIELD];
} vblock;

static int unhex(const char *h, unsigned char *out, size_t cap)
{
    size_t n = strlen(h), i;
    unsigned v;

    if (n % 2 != 0 || n / 2 > cap)
        return -1;
    for (i = 0; i < n / 2; i++) {
        if (sscanf(h + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (int)(n / 2);
}

/* The line "k = v" into block b (unknown names ignored; v may be empty). */
static void vblock_line(vblock *b, const char *line)
{
    static const char *const names[] = {"key", "data", "mac", "digest", "repeat", "case"};
    char *fields[] = {b->key, b->data, b->mac, b->digest, b->repeat, b->label};
    const char *eq = strchr(line, '=');
    size_t k, klen;

    if (eq == NULL)
        return;
    klen = strcspn(line, " \t=");
    eq += 1 + strspn(eq + 1, " \t");
    for (k = 0; k < sizeof names / sizeof *names; k++)
        if (strlen(names[k]) == klen && strncmp(line, names[k], klen) == 0)
            snprintf(fields[k], VFIELD, "%.*s", (int)strcspn(eq, " \t\r"), eq);
}

/* Call f on every block of the file; returns the number of blocks, -1 if unreadable. */
static int each_block(const char *path, void (*f)(const vblock *))
{
    char *text = read_file(path), *line, *next;
    static vblock b;
    int count = 0, open = 0;

    if (text == NULL)
        return -1;
    memset(&b, 0, sizeof b);
    for (line = text; line != NULL; line = next) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        if (line[strspn(line, " \t\r")] == '\0') {
            if (open) {
                f(&b);
                count++;
            }
            memset(&b, 0, sizeof b);
            open = 0;
        } else if (line[0] != '#') {
            vblock_line(&b, line);
            open = 1;
        }
    }
    if (open) {
        f(&b);
        count++;
    }
    free(text);
    return count;
}

static void hmac_vector(const vblock *b)
{
    unsigned char key[VFIELD / 2], data[VFIELD / 2], mac[32];
    char hex[65], name[128];
    int kn = unhex(b->key, key, sizeof key), dn = unhex(b->data, data, sizeof data);
    check c = {name, "", 0};

    snprintf(name, sizeof name, "crypto/RFC 4231 case %.60s", b->label);
    if (kn < 0 || dn < 0) {
        check_fail(&c, "bad vector");
    } else {
        acmpca_hmac_sha256(key, (size_t)kn, data, (size_t)dn, mac);
        acmpca_hex(mac, sizeof mac, hex);
        check_text(&c, "HMAC-SHA256 (prefix as given)", b->mac, hex, strlen(b->mac));
    }
    report(&c);
}

static void sha256_vector(const vblock *b)
{
    unsigned char data[VFIELD / 2], md[32];
    char hex[65], name[128];
    int dn = unhex(b->data, data, sizeof data);
    long i, times = strtol(b->repeat, NULL, 10);
    acmpca_sha256_ctx ctx;
    check c = {name, "", 0};

    snprintf(name, sizeof name, "crypto/FIPS 180 %.16s x%ld", b->data, times);
    acmpca_sha256_init(&ctx);
    for (i = 0; dn >= 0 && i < times; i++)
        acmpca_sha256_update(&ctx, data, (size_t)dn);
    acmpca_sha256_final(&ctx, md);
    acmpca_hex(md, sizeof md, hex);
    if (dn < 0)
        check_fail(&c, "bad vector");
    check_text(&c, "SHA-256", b->digest, hex, 64);
    report(&c);
}

/* ------------------------------------------------------------ URL splitting */

static void url_ok(const char *url, const char *authority, const char *path, const char *query)
{
    acmpca_sigv4_url u;
    const char *problem = acmpca_sigv4_parse_url(url, strlen(url), &u);
    char name[160];
    check c = {name, "", 0};

    snprintf(name, sizeof name, "api/url %s", url);
    if (problem != NULL) {
        check_fail(&c, "%s", problem);
    } else {
        check_text(&c, "authority", authority, u.authority.p, u.authority.n);
        check_text(&c, "path", path, u.path.p, u.path.n);
        check_text(&c, "query", query, u.query.p, u.query.n);
    }
    report(&c);
}

static void url_bad(const char *url, size_t n, const char *want)
{
    acmpca_sigv4_url u;
    const char *problem = acmpca_sigv4_parse_url(url, n, &u);
    char name[160];
    check c = {name, "", 0};

    snprintf(name, sizeof name, "api/url %.*s is refused", (int)strcspn(url, "\r\n"), url);
    if (problem == NULL)
        check_fail(&c, "accepted");
    else
        check_text(&c, "problem", want, problem, strlen(problem));
    report(&c);
}

static void api_urls(void)
{
    static const char ctl[] = "https://host/\r\nX: y";

    url_ok("https://h.example:8443/a/b?x=1#frag", "h.example:8443", "/a/b", "x=1");
    url_ok("https://h.example:443/", "h.example", "/", "");
    url_ok("http://h.example:80/x", "h.example", "/x", "");
    url_ok("http://h.example:443/", "h.example:443", "/", "");
    url_ok("https://[::1]:9000/", "[::1]:9000", "/", "");
    url_ok("HTTPS://user:pw@h.example?q", "h.example", "", "q");
    url_bad("ftp://example.com/", 18,
            "url: expected http://host[:port][/path][?query] or https://...");
    url_bad("https:///path", 13, "url: missing host");
    url_bad("https://:443/", 13, "url: missing host");
    url_bad("https://host:99999/", 19, "url: bad port");
    url_bad("https://host:/", 14, "url: bad port");
    url_bad("https://[::1/", 13, "url: unterminated IPv6 address");
    url_bad("https://ho st/", 14, "url: host contains a space");
    url_bad(ctl, sizeof ctl - 1, "url: contains a control character");
    url_bad("https://h/\0x", 12, "url: contains a control character");
}

/* ------------------------------------------------------------ signatures in a row */

/*
 * The signature from scratch: canonical request, string to sign, signing
 * key and one HMAC, with nothing but the key from the cache.
 */
static int chain_signature(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                           char hex[65])
{
    char sts[ACMPCA_SIGV4_STS_MAX], err[256];
    acmpca_sigv4_text ct = {NULL, 0, 0}, st = {sts, sizeof sts, 0};
    unsigned char key[32], mac[32];
    acmpca_str date;
    int rc = -1;

    /* measure, then write the canonical request into a block of its size */
    if (acmpca_sigv4_canonical_request(req, cfg, 0, &ct, NULL, err, sizeof err) != 0)
        return -1;
    ct.cap = ct.len + 1;
    if ((ct.p = malloc(ct.cap)) == NULL)
        return -1;
    if (acmpca_sigv4_canonical_request(req, cfg, 0, &ct, NULL, err, sizeof err) == 0 &&
        ct.len < ct.cap &&
        acmpca_sigv4_string_to_sign(ct.p, ct.len, cfg, &st, err, sizeof err) == 0) {
        date = (acmpca_str){sts + 17, 8}; /* "AWS4-HMAC-SHA256\nYYYYMMDD..." */
        rc = acmpca_sigv4_signing_key(&cfg->secret_access_key, &date, &cfg->region, &cfg->service,
                                      key, err, sizeof err);
    }
    free(ct.p);
    if (rc != 0)
        return -1;
    acmpca_hmac_sha256(key, sizeof key, sts, st.len, mac);
    acmpca_hex(mac, sizeof mac, hex);
    hex[64] = '\0';
    return 0;
}

/*
 * Sign in a row while the time, the request's first block, the secret and
 * the region change one at a time: every signature must equal the chain.
 */
static void api_in_a_row(void)
{
    static const int64_t times[] = {UNIX_TIME,     UNIX_TIME,         UNIX_TIME + 1,
                                    UNIX_TIME + 1, UNIX_TIME + 86400, UNIX_TIME};
    static const char *const paths[] = {"/", "/", "/", "/other-path-that-is-long/", "/", "/"};
    acmpca_header hs[1] = {{{"X-Amz-Target", 12}, {"ACMPrivateCA.ListPermissions", 28}}};
    acmpca_sigv4_request req = {{"POST", 4}, {"h.example", 9}, {"/", 1}, {"", 0}, hs, 1, {"{}", 2}};
    acmpca_sigv4_config cfg;
    acmpca_sigv4_result out;
    char want[65], err[256], name[96];
    size_t i;
    int round;

    for (round = 0; round < 3; round++) {
        for (i = 0; i < sizeof times / sizeof *times; i++) {
            check c = {name, "", 0};
            base_config(&cfg);
            cfg.time = times[i];
            if (round == 1)
                cfg.secret_access_key = (acmpca_str){"another secret", 14};
            if (round == 2)
                cfg.region = (acmpca_str){"eu-west-1", 9};
            req.path = (acmpca_str){paths[i], strlen(paths[i])};
            snprintf(name, sizeof name, "api/in a row: round %d, signature %zu", round, i);
            if (acmpca_sigv4_sign(&req, &cfg, &out, err, sizeof err) != 0 ||
                chain_signature(&req, &cfg, want) != 0)
                check_fail(&c, "signing failed: %s", err);
            else
                check_text(&c, "signature", want, out.signature, 64);
            report(&c);
        }
    }
}

/*
 * A request past every stack buffer: 40 headers (the header array),
 * 800 bytes of names (the lower-cased names), a 3 KB query (the query
 * block) and so a canonical request longer than the sink (hashed by the
 * streaming path); and a presigned URL with a 3 KB token.
 */
static void api_large(void)
{
    static char names[40][24], values[40][110], query[3100], token[3000];
    acmpca_header hs[40];
    acmpca_sigv4_request req = {{"GET", 3}, {"h.example", 9}, {"/a/b", 4}, {"", 0}, hs,
                                40,         {"", 0}};
    acmpca_sigv4_config cfg;
    acmpca_sigv4_result out;
    char want[65], err[256], url[12000];
    acmpca_sigv4_text t = {url, sizeof url, 0};
    check c = {"api/large request: signature equals the chain", "", 0};
    check d = {"api/large presign: whole and signed", "", 0};
    size_t i;

    for (i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "X-Custom-Header-%03zu", i);
        memset(values[i], 'a' + (int)(i % 26), 100);
        hs[i] = (acmpca_header){{names[i], strlen(names[i])}, {values[i], 100}};
    }
    for (i = 0; i + 10 < sizeof query; i += 10)
        memcpy(query + i, "k%2Fv=1234", 10);
    req.query = (acmpca_str){query, i};
    base_config(&cfg);
    if (acmpca_sigv4_sign(&req, &cfg, &out, err, sizeof err) != 0 ||
        chain_signature(&req, &cfg, want) != 0)
        check_fail(&c, "signing failed: %s", err);
    else
        check_text(&c, "signature", want, out.signature, 64);
    report(&c);

    memset(token, 'T', sizeof token - 1);
    cfg.session_token = (acmpca_str){token, sizeof token - 1};
    req.nheaders = 0;
    req.query = (acmpca_str){"", 0};
    if (acmpca_sigv4_presign(&req, &cfg, &t, err, sizeof err) != 0)
        check_fail(&d, "presign failed: %s", err);
    else if (t.len >= t.cap || strstr(url, token) == NULL ||
             strstr(url, "&X-Amz-Signature=") == NULL || strlen(url) != t.len)
        check_fail(&d, "output cut or without the token (%zu bytes)", t.len);
    report(&d);
}

/* ------------------------------------------------------------ main */

static void expect_count(const char *what, int got, int want)
{
    char name[128], why[128];

    snprintf(name, sizeof name, "%s: finds all %d cases", what, want);
    snprintf(why, sizeof why, "found %d", got);
    api_case(name, got == want, why);
}

int main(int argc, char **argv)
{
    const char *fixtures = argc > 1 ? argv[1] : "spec/fixtures";
    char old_root[1024], v4_root[1024], path[1100];
    int old_count = 0, v4_count = 0, n;

    snprintf(old_root, sizeof old_root, "%s/sigv4-suite", fixtures);
    snprintf(v4_root, sizeof v4_root, "%s/sigv4-suite-v4", fixtures);
    old_walk(old_root, old_root, "old/", &old_count);
    expect_count("old layout (sigv4-suite)", old_count, OLD_SUITE_CASES);
    v4_walk(v4_root, &v4_count);
    expect_count("v4 layout (sigv4-suite-v4)", v4_count, V4_SUITE_CASES);
    snprintf(path, sizeof path, "%s/rfc4231-hmac-sha256.txt", fixtures);
    n = each_block(path, hmac_vector);
    expect_count("crypto/RFC 4231", n, RFC4231_CASES);
    snprintf(path, sizeof path, "%s/fips180-sha256.txt", fixtures);
    n = each_block(path, sha256_vector);
    expect_count("crypto/FIPS 180", n, FIPS180_CASES);
    api_urls();
    api_errors();
    api_truncation();
    api_in_a_row();
    api_large();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
