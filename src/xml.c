/*
 * xml.c: the XML reader of acmpca.core, a tree of elements built from
 * libexpat's callbacks.  Lua-free (xml_lua.c binds it).
 *
 * The reader owns the limits and the refusals: an input over max_bytes is
 * refused before expat sees it; depth, element count and total text are
 * counted in the callbacks, which stop the parser at the first one over.
 * A DOCTYPE stops it too: with no DTD there is no entity to declare,
 * expand or fetch (billion laughs, external entities), and expat loads
 * nothing by itself since no external entity handler is set.
 *
 * Text is gathered on a stack: the open elements' character data sit one
 * after another in `pending`, each from its mark; when an element closes
 * its run moves to the text pool and the stack shrinks back, so a parent's
 * text stays contiguous around its children.
 */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"

/* ------------------------------------------------------------ buffers */

typedef struct xbuf {
    char *p;
    size_t n, cap;
} xbuf;

/* Room for `more` bytes after n; 0 on allocation failure. */
static int xbuf_reserve(xbuf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    if (more <= b->cap - b->n)
        return 1;
    while (cap - b->n < more) {
        if (cap > ((size_t)-1) / 2)
            return 0;
        cap *= 2;
    }
    p = realloc(b->p, cap);
    if (p == NULL)
        return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}


static int xbuf_add(xbuf *b, const char *s, size_t len)
{
    if (!xbuf_reserve(b, len))
        return 0;
    if (len)
        memcpy(b->p + b->n, s, len);
    b->n += len;
    return 1;
}


/* ------------------------------------------------------------ parser state */

typedef struct xstate {
    XML_Parser p;
    acmpca_xml_doc *doc;
    acmpca_xml_limits lim;
    acmpca_xml_node *nodes;
    size_t count, cap;
    xbuf names, text, pending;
    size_t depth, text_total;
    int failed;
    /* per open element, by depth (1..max_depth) */
    int32_t open[ACMPCA_XML_MAX_DEPTH + 1];
    int32_t last[ACMPCA_XML_MAX_DEPTH + 1];
    size_t mark[ACMPCA_XML_MAX_DEPTH + 1];
} xstate;

/* Stop the parser with "xml: <what> at line L column C" (1-based). */
static void fail_at(xstate *st, const char *what)
{
    if (st->failed)
        return;
    st->failed = 1;
    snprintf(st->doc->err, sizeof st->doc->err, "xml: %s at line %llu column %llu", what,
             (unsigned long long)XML_GetCurrentLineNumber(st->p),
             (unsigned long long)XML_GetCurrentColumnNumber(st->p) + 1);
    XML_StopParser(st->p, XML_FALSE);
}


static void fail_oom(xstate *st)
{
    if (st->failed)
        return;
    st->failed = 1;
    snprintf(st->doc->err, sizeof st->doc->err, "xml: out of memory");
    XML_StopParser(st->p, XML_FALSE);
}


/* A new node for an element at depth st->depth + 1, linked to its parent. */
static int32_t add_node(xstate *st, const char *name)
{
    size_t len = strlen(name);
    int32_t idx = (int32_t)st->count, parent;
    acmpca_xml_node *nd;

    if (st->count == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 32;
        acmpca_xml_node *nodes = realloc(st->nodes, cap * sizeof *nodes);
        if (nodes == NULL)
            return ACMPCA_XML_NONE;
        st->nodes = nodes;
        st->cap = cap;
    }
    nd = &st->nodes[idx];
    nd->name = (uint32_t)st->names.n;
    nd->name_len = (uint32_t)len;
    if (!xbuf_add(&st->names, name, len + 1))
        return ACMPCA_XML_NONE;
    nd->text = nd->text_len = 0;
    nd->first_child = nd->next_sibling = ACMPCA_XML_NONE;
    nd->children = 0;
    nd->depth = (uint32_t)st->depth + 1;
    parent = st->depth ? st->open[st->depth] : ACMPCA_XML_NONE;
    nd->parent = parent;
    if (parent != ACMPCA_XML_NONE) {
        if (st->last[st->depth] == ACMPCA_XML_NONE)
            st->nodes[parent].first_child = idx;
        else
            st->nodes[st->last[st->depth]].next_sibling = idx;
        st->last[st->depth] = idx;
        st->nodes[parent].children++;
    }
    st->count++;
    return idx;
}


/* ------------------------------------------------------------ callbacks */

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    xstate *st = ud;
    int32_t idx;
    char what[64];
    (void)attrs;

    if (st->failed)
        return;
    if (st->depth >= st->lim.max_depth) {
        snprintf(what, sizeof what, "depth limit (%zu) exceeded", st->lim.max_depth);
        fail_at(st, what);
        return;
    }
    if (st->count >= st->lim.max_elements) {
        snprintf(what, sizeof what, "element limit (%zu) exceeded", st->lim.max_elements);
        fail_at(st, what);
        return;
    }
    idx = add_node(st, name);
    if (idx == ACMPCA_XML_NONE) {
        fail_oom(st);
        return;
    }
    st->depth++;
    st->open[st->depth] = idx;
    st->last[st->depth] = ACMPCA_XML_NONE;
    st->mark[st->depth] = st->pending.n;
}


/* The closing element's text moves from the stack to the pool. */
static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    xstate *st = ud;
    acmpca_xml_node *nd;
    size_t from, len;
    (void)name;

    if (st->failed || st->depth == 0)
        return;
    nd = &st->nodes[st->open[st->depth]];
    from = st->mark[st->depth];
    len = st->pending.n - from;
    nd->text = (uint32_t)st->text.n;
    nd->text_len = (uint32_t)len;
    if (!xbuf_reserve(&st->text, len + 1)) {
        fail_oom(st);
        return;
    }
    if (len) /* pending.p may still be NULL */
        xbuf_add(&st->text, st->pending.p + from, len);
    xbuf_add(&st->text, "", 1);
    st->pending.n = from;
    st->depth--;
}


static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    xstate *st = ud;
    char what[64];

    if (st->failed || st->depth == 0 || len <= 0)
        return;
    if ((size_t)len > st->lim.max_text - st->text_total) {
        snprintf(what, sizeof what, "text limit (%zu bytes) exceeded", st->lim.max_text);
        fail_at(st, what);
        return;
    }
    st->text_total += (size_t)len;
    if (!xbuf_add(&st->pending, s, (size_t)len))
        fail_oom(st);
}


static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail_at(ud, "DOCTYPE refused (no DTD, entity declarations or external entities)");
}


/* Unreachable with the DOCTYPE refused; kept as the second lock. */
static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
                              const XML_Char *value, int value_len, const XML_Char *base,
                              const XML_Char *sysid, const XML_Char *pubid,
                              const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_len, (void)base;
    (void)sysid, (void)pubid, (void)notation;
    fail_at(ud, "entity declaration refused");
}


/* ------------------------------------------------------------ entry points */

void acmpca_xml_default_limits(acmpca_xml_limits *limits)
{
    limits->max_bytes = ACMPCA_XML_MAX_BYTES;
    limits->max_depth = ACMPCA_XML_MAX_DEPTH;
    limits->max_elements = ACMPCA_XML_MAX_ELEMENTS;
    limits->max_text = ACMPCA_XML_MAX_TEXT;
}


/* The caller's limits, none above the ceilings. */
static void clamp_limits(const acmpca_xml_limits *in, acmpca_xml_limits *out)
{
    acmpca_xml_default_limits(out);
    if (in == NULL)
        return;
    if (in->max_bytes < out->max_bytes)
        out->max_bytes = in->max_bytes;
    if (in->max_depth < out->max_depth)
        out->max_depth = in->max_depth;
    if (in->max_elements < out->max_elements)
        out->max_elements = in->max_elements;
    if (in->max_text < out->max_text)
        out->max_text = in->max_text;
}


static XML_Parser new_parser(xstate *st)
{
    XML_Parser p = XML_ParserCreate(NULL);
    if (p == NULL)
        return NULL;
    XML_SetUserData(p, st);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetEntityDeclHandler(p, on_entity);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    return p;
}


/* expat's own refusal: "xml: <message> at line L column C". */
static void expat_error(xstate *st)
{
    enum XML_Error code = XML_GetErrorCode(st->p);
    const XML_LChar *msg = XML_ErrorString(code);
    snprintf(st->doc->err, sizeof st->doc->err, "xml: %s at line %llu column %llu",
             msg ? msg : "parse error", (unsigned long long)XML_GetCurrentLineNumber(st->p),
             (unsigned long long)XML_GetCurrentColumnNumber(st->p) + 1);
}


const char *acmpca_xml_parse(const char *s, size_t n, const acmpca_xml_limits *limits,
                             acmpca_xml_doc *doc)
{
    xstate st;
    int ok;

    memset(doc, 0, sizeof *doc);
    memset(&st, 0, sizeof st);
    st.doc = doc;
    clamp_limits(limits, &st.lim);
    if (n > st.lim.max_bytes) {
        snprintf(doc->err, sizeof doc->err, "xml: input too large (%zu bytes, limit %zu)", n,
                 st.lim.max_bytes);
        return doc->err;
    }
    st.p = new_parser(&st);
    if (st.p == NULL) {
        snprintf(doc->err, sizeof doc->err, "xml: out of memory");
        return doc->err;
    }
    ok = XML_Parse(st.p, s, (int)n, XML_TRUE) == XML_STATUS_OK && !st.failed;
    if (!ok && !st.failed)
        expat_error(&st);
    XML_ParserFree(st.p);
    free(st.pending.p);
    if (!ok) {
        free(st.nodes);
        free(st.names.p);
        free(st.text.p);
        return doc->err;
    }
    doc->nodes = st.nodes;
    doc->count = st.count;
    doc->names = st.names.p;
    doc->text = st.text.p;
    return NULL;
}


void acmpca_xml_free(acmpca_xml_doc *doc)
{
    free(doc->nodes);
    free(doc->names);
    free(doc->text);
    doc->nodes = NULL;
    doc->names = doc->text = NULL;
    doc->count = 0;
}
