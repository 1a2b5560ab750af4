/*
 * fuzz/validate.c: libFuzzer target for input validation (src/validate.c)
 * and the JSON encoding of a validated input (src/json.c), for every
 * string member of every operation's input shape.
 *
 * Input: byte 0 picks the operation, byte 1 the string member (a leaf of
 * the input shape, nested structures and list items included, in a
 * depth-first walk), the rest is the member's value.  The harness builds
 * an otherwise valid argument table from the model (every member present,
 * each a value its shape accepts) and puts the fuzzed string at the leaf.
 *
 * Oracles, beyond the sanitizers:
 *   - the table without the fuzzed value validates (the harness is right);
 *   - a rejection is a Lua error whose message is a printable string
 *     "acmpca.<method>: ..." of bounded length (misuse raises; the value
 *     is quoted as an excerpt);
 *   - an accepted value meets the shape's limits as counted here (length
 *     in characters, enum, digits, principal);
 *   - the JSON body decodes (lua-cjson) and holds the value byte for byte
 *     at the member's wire path.
 */
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "lua_harness.h"
#include "model.h"
#include "strbuf.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DEPTH 8
#define MAX_LEAVES 128
#define VALID_ARN "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/" \
                  "11111111-2222-3333-4444-555555555555"

/* A path from the input shape to a string leaf: members, or list items (NULL). */
typedef struct leaf {
    const acmpca_member *step[MAX_DEPTH];
    int depth;
    const acmpca_shape *shape;
} leaf;

static leaf leaves[MAX_LEAVES];
static int nleaves;

static void die(lua_State *L, const char *what)
{
    lua_pushstring(L, what);
    fuzz_lua_die(L, "validate");
}

/* ------------------------------------------------------------ the model's leaves */

static void walk(const acmpca_shape *sh, leaf *at)
{
    if (at->depth >= MAX_DEPTH || nleaves == MAX_LEAVES)
        return;
    if (sh->type == ACMPCA_T_STRING) {
        at->shape = sh;
        leaves[nleaves++] = *at;
    } else if (sh->type == ACMPCA_T_LIST) {
        at->step[at->depth++] = NULL;
        walk(sh->item, at);
        at->depth--;
    } else if (sh->type == ACMPCA_T_STRUCTURE) {
        for (int m = 0; m < sh->nmembers; m++) {
            at->step[at->depth++] = &sh->members[m];
            walk(sh->members[m].shape, at);
            at->depth--;
        }
    }
}

/* ------------------------------------------------------------ a valid table */

static void push_string_for(lua_State *L, const acmpca_shape *sh)
{
    luaL_Buffer b;
    long long n = sh->has_min && sh->min > 1 ? sh->min : 1;
    if (sh->enums != NULL) {
        lua_pushstring(L, sh->enums[0]);
        return;
    }
    switch (sh->check) {
    case ACMPCA_CHECK_ARN: lua_pushliteral(L, VALID_ARN); return;
    case ACMPCA_CHECK_PRINCIPAL: lua_pushliteral(L, "acm.amazonaws.com"); return;
    default: break;
    }
    luaL_buffinit(L, &b);
    for (long long i = 0; i < n; i++)
        luaL_addchar(&b, sh->check == ACMPCA_CHECK_DIGITS ? '1' : 'a');
    luaL_pushresult(&b);
}

/* A value that shape sh accepts (depth-limited). */
static void push_valid(lua_State *L, const acmpca_shape *sh, int depth)
{
    luaL_checkstack(L, 8, "fuzz/validate");
    switch (sh->type) {
    case ACMPCA_T_STRING: push_string_for(L, sh); break;
    case ACMPCA_T_BLOB: lua_pushliteral(L, "blob"); break;
    case ACMPCA_T_BOOLEAN: lua_pushboolean(L, 1); break;
    case ACMPCA_T_TIMESTAMP: lua_pushinteger(L, 1700000000); break;
    case ACMPCA_T_INTEGER:
    case ACMPCA_T_LONG:
    case ACMPCA_T_DOUBLE: lua_pushinteger(L, sh->has_min ? sh->min : 1); break;
    case ACMPCA_T_MAP: lua_newtable(L); break;
    case ACMPCA_T_LIST:
        lua_newtable(L);
        push_valid(L, sh->item, depth + 1);
        lua_rawseti(L, -2, 1);
        break;
    case ACMPCA_T_STRUCTURE:
        lua_newtable(L);
        for (int m = 0; m < sh->nmembers && depth < MAX_DEPTH; m++) {
            push_valid(L, sh->members[m].shape, depth + 1);
            lua_setfield(L, -2, sh->members[m].lua);
        }
        break;
    }
}

/* The table (or list item) holding leaf l in the arguments at t, pushed. */
static void push_parent(lua_State *L, int t, const leaf *l)
{
    lua_pushvalue(L, t);
    for (int d = 0; d + 1 < l->depth; d++) {
        if (l->step[d] == NULL)
            lua_rawgeti(L, -1, 1);
        else
            lua_getfield(L, -1, l->step[d]->lua);
        lua_remove(L, -2);
    }
}

/* ------------------------------------------------------------ checks */

static size_t chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* What the model says of an accepted value, counted independently. */
static void check_accepted(lua_State *L, const acmpca_shape *sh, const char *s, size_t n)
{
    size_t c = chars(s, n);
    if ((sh->has_min && c < (size_t)sh->min) || (sh->has_max && c > (size_t)sh->max))
        die(L, "a value of the wrong length was accepted");
    if (sh->enums != NULL) {
        int found = 0;
        for (int k = 0; k < sh->nenums; k++)
            found |= strlen(sh->enums[k]) == n && memcmp(sh->enums[k], s, n) == 0;
        if (!found)
            die(L, "a value outside the enum was accepted");
    }
    if (sh->check == ACMPCA_CHECK_DIGITS)
        for (size_t i = 0; i < n; i++)
            if (s[i] < '0' || s[i] > '9')
                die(L, "a non-digit was accepted");
    if (sh->check == ACMPCA_CHECK_PRINCIPAL &&
        (n == 0 || memchr(s, '*', n) || memchr(s, '\r', n) || memchr(s, '\n', n) ||
         memchr(s, '\0', n)))
        die(L, "a bad principal was accepted");
}

/* A rejection: "acmpca.<method>: ...", printable, bounded. */
static void check_rejection(lua_State *L, const acmpca_operation *op)
{
    size_t n;
    char want[96];
    if (lua_type(L, -1) != LUA_TSTRING)
        die(L, "validation raised a non-string");
    const char *msg = lua_tolstring(L, -1, &n);
    snprintf(want, sizeof want, "acmpca.%s: ", op->method);
    if (strncmp(msg, want, strlen(want)) != 0 || n > 1024)
        fuzz_lua_die(L, "a rejection message of the wrong form or length");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 32 || (unsigned char)msg[i] > 126)
            fuzz_lua_die(L, "a rejection message with an unprintable byte");
}

static int run_validate(lua_State *L)
{
    const acmpca_operation *op = lua_touserdata(L, 2);
    acmpca_validate(L, op, 1);
    return 0;
}

/* Validate the arguments at t: 1 accepted, 0 rejected (the message on top). */
static int validate(lua_State *L, const acmpca_operation *op, int t)
{
    lua_pushcfunction(L, run_validate);
    lua_pushvalue(L, t);
    lua_pushlightuserdata(L, (void *)op);
    return lua_pcall(L, 2, 0, 0) == LUA_OK;
}

/* The body json.c writes for the arguments at t, decoded; the value at l's wire path pushed. */
static void push_encoded(lua_State *L, const acmpca_operation *op, int t, const leaf *l)
{
    acmpca_strbuf b = {NULL, 0, 0, 0};
    acmpca_json_encode(L, op->input, t, &b);
    if (b.failed)
        die(L, "out of memory");
    if (!acmpca_json_decode(L, b.p, b.len)) {
        lua_pushlstring(L, b.p, b.len);
        acmpca_strbuf_free(&b);
        fuzz_lua_die(L, "the body is not JSON");
    }
    acmpca_strbuf_free(&b);
    for (int d = 0; d < l->depth && lua_type(L, -1) == LUA_TTABLE; d++) {
        if (l->step[d] == NULL)
            lua_rawgeti(L, -1, 1);
        else
            lua_getfield(L, -1, l->step[d]->wire);
        lua_remove(L, -2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_lua_state();
    static const acmpca_operation *walked;
    size_t vn;

    if (size < 2)
        return 0;
    const acmpca_operation *op = &acmpca_operations[data[0] % acmpca_noperations];
    if (op->input == NULL)
        return 0;
    if (walked != op) {
        leaf at = {{NULL}, 0, NULL};
        nleaves = 0;
        walk(op->input, &at);
        walked = op;
    }
    if (nleaves == 0)
        return 0;
    const leaf *l = &leaves[data[1] % nleaves];
    const char *v = (const char *)data + 2;
    vn = size - 2;

    push_valid(L, op->input, 0); /* 1: the arguments */
    if (!validate(L, op, 1))
        fuzz_lua_die(L, "the harness's valid arguments were rejected");
    push_parent(L, 1, l);
    lua_pushlstring(L, v, vn);
    if (l->step[l->depth - 1] == NULL)
        lua_rawseti(L, -2, 1);
    else
        lua_setfield(L, -2, l->step[l->depth - 1]->lua);
    lua_pop(L, 1);
    if (!validate(L, op, 1)) {
        check_rejection(L, op);
        fuzz_lua_done(L);
        return 0;
    }
    check_accepted(L, l->shape, v, vn);
    push_encoded(L, op, 1, l);
    size_t gn;
    const char *got = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &gn) : NULL;
    if (got == NULL || gn != vn || memcmp(got, v, vn) != 0)
        die(L, "the JSON body does not hold the value");
    fuzz_lua_done(L);
    return 0;
}
