/*
 * json.h: the JSON mapping of the awsJson1_1 protocol, driven by the model.
 *
 * Requests: a validated argument table becomes the JSON body, members in
 * model order with their wire names (as aws-cli sends them), written by
 * hand into a reused buffer.  Responses: lua-cjson decodes the body; the
 * output shape maps it to Lua, wire names to snake_case by one rule
 * (model.h's member names), timestamps to epoch numbers, values of an
 * unexpected JSON type dropped.
 */
#ifndef ACMPCA_JSON_H
#define ACMPCA_JSON_H

#include "compat.h"
#include "model.h"
#include "strbuf.h"

/* Append the JSON of the arguments at t for shape sh (NULL: "{}") to b. */
ACMPCA_HIDDEN void acmpca_json_encode(lua_State *L, const acmpca_shape *sh, int t,
                                      acmpca_strbuf *b);

/* lua-cjson's decode: pushes the value and returns 1, or returns 0. */
ACMPCA_HIDDEN int acmpca_json_decode(lua_State *L, const char *s, size_t n);

/*
 * Push op's result from the decoded object at i: true when op has no
 * output; otherwise the mapped table, whose paginated list is always
 * present (empty when the service left it out).
 */
ACMPCA_HIDDEN void acmpca_json_result(lua_State *L, const acmpca_operation *op, int i);

#endif
