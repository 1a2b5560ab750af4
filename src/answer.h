/*
 * answer.h: a successful answer checked against the model, with no Lua in it.
 *
 * awsJson1_1 bodies are JSON; a 2xx body must be a value of the
 * operation's output shape: structures and maps are objects, lists are
 * arrays, strings and blobs strings, booleans booleans, integers and longs
 * integral numbers in range, doubles finite numbers, timestamps finite
 * epoch seconds from year 1 to 9999.  Enums are only strings (new values
 * stay readable), unknown members of any type and null anywhere are
 * allowed (forward compatibility; the mapping drops them).  An empty {}
 * and [] pass for each other (lua-cjson cannot tell them apart either).
 * Nesting, unknown members included, is bounded by ACMPCA_ANSWER_MAX_DEPTH.
 */
#ifndef ACMPCA_ANSWER_H
#define ACMPCA_ANSWER_H

#include <stddef.h>
#include "model.h"
#include "visibility.h"

#define ACMPCA_ANSWER_MAX_DEPTH 32

/*
 * 0 when the JSON text s[0..n) is a value of shape sh; otherwise -1 and
 * why (NUL-terminated, at most whylen bytes) says where and what, e.g.
 * "Permissions[2].Actions[1]: expected a string, got a number".  why
 * holds model member names and JSON kinds only, never a value.
 */
ACMPCA_HIDDEN int acmpca_answer_check(const acmpca_shape *sh, const char *s, size_t n,
                                      char *why, size_t whylen);

#endif
