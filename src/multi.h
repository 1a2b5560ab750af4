/*
 * multi.h: many HTTP transfers at once over libcurl's multi interface,
 * with no Lua in it (multi.c); multi_lua.c binds it as core.http_multi.
 *
 * An acmpca_multi owns one CURLM and a fixed number of slots, each an
 * acmpca_http (http.h) that carries one transfer at a time: start runs
 * the single engine's begin on a free slot and adds its easy handle to
 * the multi; wait drives the multi and runs the engine's end on one
 * finished slot.  So requests are checked, bounded while read, and mapped
 * to errors exactly as acmpca_http_perform does.  The connections live in
 * the multi's cache (as many as there are slots) and are reused by
 * whichever slot runs next.
 */
#ifndef ACMPCA_MULTI_H
#define ACMPCA_MULTI_H

#include <stdint.h>
#include <curl/curl.h>

#include "http.h"
#include "visibility.h"

#define ACMPCA_MULTI_MAX_CONNECTIONS 256
#define ACMPCA_MULTI_CONNECTIONS 8 /* the default */

/* start's and wait's results, besides http.h's OK, BADREQ and FAILED. */
#define ACMPCA_MULTI_BUSY 3 /* start: every slot carries a transfer */
#define ACMPCA_MULTI_NONE 4 /* wait: nothing completed in time */

typedef struct acmpca_multi_slot {
    acmpca_http h;
    int64_t id;      /* of the transfer it carries */
    int state;       /* SLOT_* in multi.c */
    CURLcode result; /* of a finished transfer, until wait hands it out */
} acmpca_multi_slot;

typedef struct acmpca_multi {
    CURLM *multi;             /* NULL until set up, and after free */
    acmpca_multi_slot *slots; /* nslots of them */
    int *queue;               /* finished slots, oldest first (a ring) */
    int nslots;
    int qhead, qlen;
    int active; /* started, not yet handed out by wait */
    int held;   /* the slot whose response wait handed out, or -1 */
    int64_t last_id;
} acmpca_multi;

/* Zero the struct: no resources yet, safe to free. */
ACMPCA_HIDDEN void acmpca_multi_init(acmpca_multi *m);

/*
 * The CURLM and connections slots, each configured like
 * acmpca_http_configure (ca_file copied; timeouts <= 0 mean the
 * defaults).  NULL, or what failed (after which only free is valid).
 */
ACMPCA_HIDDEN const char *acmpca_multi_setup(acmpca_multi *m, int connections, const char *ca_file,
                                             double timeout, double connect_timeout);

/*
 * Start req on a free slot: *id is the transfer's (ACMPCA_HTTP_OK).  Or
 * ACMPCA_MULTI_BUSY, or err filled: ACMPCA_HTTP_BADREQ (malformed, nothing
 * started), ACMPCA_HTTP_FAILED (out of memory, curl).  req is copied: its
 * memory may go once start returns.
 */
ACMPCA_HIDDEN int acmpca_multi_start(acmpca_multi *m, const acmpca_http_req *req, int64_t *id,
                                     acmpca_http_error *err);

/*
 * Drive the transfers for at most timeout seconds (0: once, without
 * blocking; returns at once when none is in flight) until one completes:
 * *id is then set and res filled (ACMPCA_HTTP_OK) or err
 * (ACMPCA_HTTP_FAILED), as acmpca_http_perform would.  ACMPCA_MULTI_NONE
 * when nothing completed; ACMPCA_HTTP_FAILED with *id 0 when the multi
 * itself failed.  res points into the slot until the next call on m (or
 * acmpca_multi_done).  Transfers that complete together are queued and
 * handed out one per call, oldest first.
 */
ACMPCA_HIDDEN int acmpca_multi_wait(acmpca_multi *m, double timeout, int64_t *id,
                                    acmpca_http_resp *res, acmpca_http_error *err);

/* wait's response is no longer needed: its slot takes transfers again. */
ACMPCA_HIDDEN void acmpca_multi_done(acmpca_multi *m);

/* Abort what is in flight, release everything; idempotent. */
ACMPCA_HIDDEN void acmpca_multi_free(acmpca_multi *m);

/* Adds core.http_multi and the "acmpca.multi" class to the module on top. */
struct lua_State;
ACMPCA_HIDDEN void acmpca_multi_open(struct lua_State *L);

#endif
