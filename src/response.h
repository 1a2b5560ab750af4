/*
 * response.h: what came back, as a result or an error object.
 *
 * The awsJson1_1 answer of one attempt: a 2xx JSON body mapped by the
 * model (json.c), a service error ({"__type", "message"} or the
 * X-Amzn-ErrorType header) classified for the retry loop (throttling,
 * transient, HTTP 5xx), a clock-skew error corrected from the Date
 * header, or a transport failure normalised into an error object.
 */
#ifndef ACMPCA_RESPONSE_H
#define ACMPCA_RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include "compat.h"
#include "model.h"

/*
 * Finish one attempt of op: the transport's response table at index r, or
 * its failure at index e when r is nil/false.  Pushes the result (returns
 * 1) or nil and an error object (returns 2).  A clock-skew error with a
 * plausible Date sets *clock_offset and marks the error clock_skew = true.
 */
ACMPCA_HIDDEN int acmpca_response_finish(lua_State *L, const acmpca_operation *op, int r, int e,
                                         int64_t *clock_offset);

/*
 * An RFC 1123 date ("Sun, 06 Nov 1994 08:49:37 GMT", years 1970 to 9999)
 * in s[0..n) as epoch seconds: returns 1, or 0 for anything else.
 * Lua-free (a fuzz target).
 */
ACMPCA_HIDDEN int acmpca_parse_http_date(const char *s, size_t n, int64_t *out);

#endif
