/*
 * error.h: the one home of acmpca.core's errors.
 *
 * Runtime failures are "acmpca.error" objects: tables { code, message,
 * status, request_id, retryable, operation, ... } sharing one metatable
 * whose __tostring renders "Code: message (HTTP 400, request id X)".
 * Misuse raises a Lua error with one message format,
 * "acmpca.<function>: <argument>: <what>, got <value>".
 * acmpca_error_open runs first, so every other area may push errors.
 */
#ifndef ACMPCA_ERROR_H
#define ACMPCA_ERROR_H

#include <stddef.h>
#include "compat.h"

#define ACMPCA_ERROR_MT "acmpca.error"

/* Creates the metatable and adds core.new_error to the module on top. */
ACMPCA_HIDDEN void acmpca_error_open(lua_State *L);

/*
 * Push a new error object with the shared metatable.  status <= 0 and
 * NULL strings leave those fields out.
 */
ACMPCA_HIDDEN void acmpca_error_push(lua_State *L, const char *code,
                                     const char *message, int status,
                                     const char *request_id, int retryable,
                                     const char *operation);

/*
 * The one excerpt of untrusted text for messages: at most max bytes of s,
 * CR/LF/TAB as spaces, other non-printables as '?', "..." when cut.
 * Writes a NUL-terminated string to out; returns its length.
 */
#define ACMPCA_EXCERPT_MAX 200
ACMPCA_HIDDEN size_t acmpca_excerpt(const char *s, size_t n, size_t max, char *out,
                                    size_t outlen);

/* A service error's message is kept up to this many bytes (real ones are
 * one sentence); a longer one is cut on a UTF-8 character boundary and
 * ends in "... (N bytes)". */
#define ACMPCA_MESSAGE_MAX 4096

/* Give the table at index i the error metatable unless it has one. */
ACMPCA_HIDDEN void acmpca_error_adopt(lua_State *L, int i);

/* A short printable rendering of the value at index i ("\"ab?c\"...", 12, table). */
ACMPCA_HIDDEN void acmpca_describe(lua_State *L, int i, char *out, size_t outlen);

/*
 * Raise a misuse error: the printf-style message, formatted on the C stack
 * (nothing malloc'd is held across the longjmp).  When vi != 0 the
 * message gets ", got <value at vi>".  Never returns.
 */
ACMPCA_HIDDEN int acmpca_raise(lua_State *L, int vi, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
