/*
 * client.h: what the ACM PCA client (client.c) shares with the rest of
 * acmpca.core: the error objects every area returns.
 */
#ifndef ACMPCA_CLIENT_H
#define ACMPCA_CLIENT_H

#include "compat.h"

#define ACMPCA_ERROR_MT "acmpca.error"
#define ACMPCA_CLIENT_MT "acmpca.client"

/*
 * Push a new error object { code=, message=, status=, request_id=,
 * retryable=, operation= } with the shared "acmpca.error" metatable.
 * status <= 0 and NULL strings leave those fields out.  The metatable must
 * exist (acmpca_client_open creates it).
 */
ACMPCA_HIDDEN void acmpca_error_push(lua_State *L, const char *code,
                                     const char *message, int status,
                                     const char *request_id, int retryable,
                                     const char *operation);

#endif
