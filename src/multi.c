/*
 * multi.c: many HTTP transfers at once over libcurl's multi interface,
 * with no Lua in it (the declarations and the model are in multi.h).
 *
 * Each slot is a whole acmpca_http: start runs acmpca_http_begin on a
 * free one and adds its easy handle to the CURLM; wait runs
 * curl_multi_perform and curl_multi_poll until a transfer is done (never
 * past its deadline), takes every finished easy handle off the multi into
 * a queue, and runs acmpca_http_end on the oldest.  The single engine's
 * checks, limits and error mapping therefore apply unchanged.  Only wait
 * drives the transfers: start just queues one in the multi.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "multi.h"

#define SLOT_FREE 0
#define SLOT_RUNNING 1 /* its easy handle is in the multi */
#define SLOT_DONE 2    /* finished, off the multi, queued for wait */
#define SLOT_HELD 3    /* handed out by wait: its response is being read */

#define MAX_POLL_MS 1000 /* one curl_multi_poll at most; longer waits loop */

/* ---------------------------------------------------------------- errors */

/* A failure of the multi itself, not of one transfer. */
static int multi_fail(acmpca_http_error *err, const char *call, CURLMcode mrc)
{
    snprintf(err->message, sizeof err->message, "%s: %s", call, curl_multi_strerror(mrc));
    err->code = "NetworkError";
    err->retryable = 0;
    return ACMPCA_HTTP_FAILED;
}

/* ------------------------------------------------------------ the multi */

void acmpca_multi_init(acmpca_multi *m)
{
    memset(m, 0, sizeof *m);
    m->held = -1;
}

const char *acmpca_multi_setup(acmpca_multi *m, int connections, const char *ca_file,
                               double timeout, double connect_timeout)
{
    if (acmpca_http_global_init() != 0 || (m->multi = curl_multi_init()) == NULL)
        return "could not initialise libcurl";
    /* as many cached connections as slots; HTTP/1.1, one request per connection */
    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)connections);
    curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    m->slots = calloc((size_t)connections, sizeof *m->slots);
    if (m->slots == NULL)
        return "out of memory";
    m->nslots = connections;
    for (int i = 0; i < connections; i++)
        acmpca_http_init(&m->slots[i].h);
    for (int i = 0; i < connections; i++)
        if (acmpca_http_configure(&m->slots[i].h, ca_file, timeout, connect_timeout) != 0)
            return "out of memory";
    m->queue = calloc((size_t)connections, sizeof *m->queue);
    return m->queue == NULL ? "out of memory" : NULL;
}

void acmpca_multi_done(acmpca_multi *m)
{
    if (m->held < 0)
        return;
    acmpca_http_done(&m->slots[m->held].h);
    m->slots[m->held].state = SLOT_FREE;
    m->held = -1;
}

/* Easy handles come off the multi before they are freed, the multi last. */
void acmpca_multi_free(acmpca_multi *m)
{
    for (int i = 0; i < m->nslots; i++) {
        acmpca_multi_slot *s = &m->slots[i];
        if (s->state == SLOT_RUNNING)
            curl_multi_remove_handle(m->multi, s->h.curl);
        acmpca_http_free(&s->h);
    }
    if (m->multi != NULL)
        curl_multi_cleanup(m->multi);
    free(m->slots);
    free(m->queue);
    acmpca_multi_init(m);
}

/* ----------------------------------------------------------------- start */

int acmpca_multi_start(acmpca_multi *m, const acmpca_http_req *req, int64_t *id,
                       acmpca_http_error *err)
{
    acmpca_multi_slot *s = NULL;
    acmpca_http_resp unused;
    CURLMcode mrc;
    int rc;

    acmpca_multi_done(m);
    for (int i = 0; i < m->nslots && s == NULL; i++)
        if (m->slots[i].state == SLOT_FREE)
            s = &m->slots[i];
    if (s == NULL)
        return ACMPCA_MULTI_BUSY;
    if ((rc = acmpca_http_begin(&s->h, req, err)) != ACMPCA_HTTP_OK)
        return rc;
    curl_easy_setopt(s->h.curl, CURLOPT_PRIVATE, (void *)s);
    if ((mrc = curl_multi_add_handle(m->multi, s->h.curl)) != CURLM_OK) {
        acmpca_http_end(&s->h, CURLE_FAILED_INIT, &unused, err); /* release the request */
        return multi_fail(err, "curl_multi_add_handle", mrc);
    }
    s->id = *id = ++m->last_id;
    s->state = SLOT_RUNNING;
    m->active++;
    return ACMPCA_HTTP_OK;
}

/* ------------------------------------------------------------------ wait */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the transfers once; every finished one off the multi, into the queue. */
static int pump(acmpca_multi *m, acmpca_http_error *err)
{
    CURLMsg *msg;
    int running, left;
    CURLMcode mrc = curl_multi_perform(m->multi, &running);
    if (mrc != CURLM_OK)
        return multi_fail(err, "curl_multi_perform", mrc);
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        CURL *easy = msg->easy_handle;
        char *priv = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv); /* the slot, set by start */
        acmpca_multi_slot *s = (acmpca_multi_slot *)(void *)priv;
        s->result = msg->data.result;
        curl_multi_remove_handle(m->multi, easy); /* msg is gone from here on */
        s->state = SLOT_DONE;
        m->queue[(m->qhead + m->qlen++) % m->nslots] = (int)(s - m->slots);
    }
    return ACMPCA_HTTP_OK;
}

/* Sleep in curl_multi_poll until there is socket activity, curl's own next
 * timer, or left seconds (at most MAX_POLL_MS; at least 1 ms, not a spin). */
static int poll_for(acmpca_multi *m, double left, acmpca_http_error *err)
{
    int ms = left * 1000.0 >= MAX_POLL_MS ? MAX_POLL_MS : (int)(left * 1000.0);
    CURLMcode mrc = curl_multi_poll(m->multi, NULL, 0, ms > 0 ? ms : 1, NULL);
    return mrc == CURLM_OK ? ACMPCA_HTTP_OK : multi_fail(err, "curl_multi_poll", mrc);
}

/* The oldest finished transfer, through the single engine's end. */
static int hand_out(acmpca_multi *m, int64_t *id, acmpca_http_resp *res, acmpca_http_error *err)
{
    int i = m->queue[m->qhead];
    acmpca_multi_slot *s = &m->slots[i];
    m->qhead = (m->qhead + 1) % m->nslots;
    m->qlen--;
    m->active--;
    s->state = SLOT_HELD;
    m->held = i;
    *id = s->id;
    return acmpca_http_end(&s->h, s->result, res, err);
}

int acmpca_multi_wait(acmpca_multi *m, double timeout, int64_t *id, acmpca_http_resp *res,
                      acmpca_http_error *err)
{
    double deadline = now() + timeout, left;
    int rc;

    *id = 0;
    acmpca_multi_done(m);
    for (;;) {
        if (m->qlen == 0 && m->active > 0 && (rc = pump(m, err)) != ACMPCA_HTTP_OK)
            return rc;
        if (m->qlen > 0)
            return hand_out(m, id, res, err);
        left = deadline - now();
        if (m->active == 0 || !(left > 0))
            return ACMPCA_MULTI_NONE;
        if ((rc = poll_for(m, left, err)) != ACMPCA_HTTP_OK)
            return rc;
    }
}
