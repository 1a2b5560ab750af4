/*
 * validate.h: checks a call's argument table against the operation's input
 * shape (model.h) before anything is built or sent.
 */
#ifndef ACMPCA_VALIDATE_H
#define ACMPCA_VALIDATE_H

#include "compat.h"
#include "model.h"

/*
 * Validate the argument table at index t for op.  Raises, with the
 * message "acmpca.<method>: <member path>: <what>, got <value>", on the
 * first violation: a wrong type, an unknown or missing member, a value out
 * of the model's limits, enum or pattern.  Leaves the stack as it was.
 */
ACMPCA_HIDDEN void acmpca_validate(lua_State *L, const acmpca_operation *op, int t);

/*
 * The value of the first top-level ARN member present in the (validated)
 * arguments at t, pushed; NULL (and nil pushed) when there is none.
 */
ACMPCA_HIDDEN const char *acmpca_validate_arn(lua_State *L, const acmpca_operation *op, int t,
                                              size_t *n);

#endif
