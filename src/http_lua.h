/*
 * http_lua.h: the Lua binding of the HTTP engine (http_lua.c), for the
 * areas that run request tables through an embedded acmpca_http
 * (client.c's _send), or read request tables and push response tables
 * around an engine of their own (multi_lua.c).  acmpca_http_open is
 * declared in core.h with the other openers.
 *
 * lua_State is named by its struct tag: this header includes no Lua header.
 */
#ifndef ACMPCA_HTTP_LUA_H
#define ACMPCA_HTTP_LUA_H

#include "http.h"

struct lua_State;

/*
 * Perform the request table at index req (the transport contract in
 * README.md: method, url, headers, body, timeout, connect_timeout) and
 * push res { status, headers, body }, or nil and an acmpca.error (codes
 * Timeout, TLSError, NetworkError).  Raises (luaL_argerror on argument
 * arg) only on a malformed request table.  Returns the number of values
 * pushed on top (the strings read from req stay anchored on the stack
 * below them).
 */
ACMPCA_HIDDEN int acmpca_http_request(struct lua_State *L, acmpca_http *h, int req, int arg);

/*
 * The request table at index req into r, the one reader of request
 * tables; fields has room for ACMPCA_HTTP_MAX_HEADERS + 1.  Raises as
 * acmpca_http_request does.  r points into strings it leaves on the
 * stack: they must stay there while r is used.
 */
ACMPCA_HIDDEN void acmpca_http_read_request(struct lua_State *L, int req, int arg,
                                            acmpca_http_req *r, acmpca_http_field *fields);

/* Push res as the response table { status, headers, body }. */
ACMPCA_HIDDEN void acmpca_http_push_response(struct lua_State *L, const acmpca_http_resp *res);

#endif
