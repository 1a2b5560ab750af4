/*
 * fuzz/xml.c: libFuzzer target for the XML reader (src/xml.c over
 * libexpat), Lua-free.
 *
 * The whole input is the document.  It is parsed with the default limits,
 * then again with limits lowered from the input's size (so the depth,
 * element and text limits trip on small inputs too).  Oracles, beyond the
 * sanitizers:
 *   - a refusal is "xml: ..." in printable ASCII, fits its buffer, and
 *     leaves nothing to free;
 *   - a tree is well formed: node 0 is the root; every other node's parent
 *     comes before it, one level up; the first_child/next_sibling chain of
 *     each node visits exactly its `children`, in document order, each
 *     naming it as parent; names are non-empty and their lengths right;
 *     no text holds a NUL;
 *   - the tree keeps within the limits (depth, elements, total text), and
 *     the total text is at most twice the input (a declared Latin-1 or
 *     UTF-16 document grows in UTF-8, so the text limit is reachable);
 *   - lowering the limits never turns a refusal into a tree, and a tree
 *     under both limits is the same tree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz/xml: %s: %s\n", what, detail ? detail : "");
    abort();
}


static void check_refusal(const acmpca_xml_doc *doc, const char *err)
{
    size_t n;
    if (err != doc->err)
        die("the error is not the document's buffer", err);
    n = strnlen(err, sizeof doc->err);
    if (n == sizeof doc->err || strncmp(err, "xml: ", 5) != 0)
        die("the error is unterminated or not \"xml: ...\"", err);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)err[i] < 32 || (unsigned char)err[i] > 126)
            die("the error holds a non-printable byte", err);
    if (doc->nodes != NULL || doc->names != NULL || doc->text != NULL || doc->count != 0)
        die("a refusal left a tree behind", err);
}


/* The children chain of node i: count, order and parent links. */
static void check_children(const acmpca_xml_doc *doc, size_t i)
{
    const acmpca_xml_node *nd = &doc->nodes[i];
    uint32_t seen = 0;
    int32_t prev = (int32_t)i;
    for (int32_t c = nd->first_child; c != ACMPCA_XML_NONE; c = doc->nodes[c].next_sibling) {
        if (c <= prev || (size_t)c >= doc->count)
            die("a child link goes backwards or out of the tree", acmpca_xml_name(doc, i));
        if (doc->nodes[c].parent != (int32_t)i)
            die("a child does not name its parent", acmpca_xml_name(doc, c));
        prev = c;
        seen++;
    }
    if (seen != nd->children)
        die("the children chain and the count differ", acmpca_xml_name(doc, i));
}


static void check_tree(const acmpca_xml_doc *doc, const acmpca_xml_limits *lim, size_t size)
{
    size_t text = 0;
    if (doc->count == 0 || doc->count > lim->max_elements)
        die("element count out of range", NULL);
    if (doc->nodes[0].parent != ACMPCA_XML_NONE || doc->nodes[0].depth != 1)
        die("node 0 is not the root", NULL);
    for (size_t i = 0; i < doc->count; i++) {
        const acmpca_xml_node *nd = &doc->nodes[i];
        if (i > 0 && (nd->parent < 0 || (size_t)nd->parent >= i ||
                      nd->depth != doc->nodes[nd->parent].depth + 1))
            die("a parent link is wrong", acmpca_xml_name(doc, i));
        if (nd->depth > lim->max_depth)
            die("a node is deeper than the limit", acmpca_xml_name(doc, i));
        if (nd->name_len == 0 || strlen(acmpca_xml_name(doc, i)) != nd->name_len)
            die("a name is empty or its length wrong", acmpca_xml_name(doc, i));
        if (strlen(acmpca_xml_text(doc, i)) != nd->text_len)
            die("a text holds a NUL or its length is wrong", acmpca_xml_name(doc, i));
        text += nd->text_len;
        check_children(doc, i);
    }
    /* UTF-8 out of Latin-1 (or UTF-16) is at most twice the bytes in */
    if (text > lim->max_text || text > 2 * size)
        die("the text is over the limit or over twice the input", NULL);
}


/* Two trees are the same: links, names and texts. */
static void check_same(const acmpca_xml_doc *a, const acmpca_xml_doc *b)
{
    if (a->count != b->count)
        die("lower limits gave another element count", NULL);
    for (size_t i = 0; i < a->count; i++) {
        const acmpca_xml_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->parent != y->parent || x->first_child != y->first_child ||
            x->next_sibling != y->next_sibling || x->depth != y->depth ||
            strcmp(acmpca_xml_name(a, i), acmpca_xml_name(b, i)) != 0 ||
            x->text_len != y->text_len ||
            memcmp(acmpca_xml_text(a, i), acmpca_xml_text(b, i), x->text_len) != 0)
            die("lower limits gave another tree", acmpca_xml_name(a, i));
    }
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acmpca_xml_doc full, low;
    acmpca_xml_limits dflt, small;
    const char *s = (const char *)data;
    const char *e1, *e2;

    acmpca_xml_default_limits(&dflt);
    small = dflt;
    small.max_depth = 1 + size % 7;
    small.max_elements = 1 + size % 61;
    small.max_text = size % 251;

    e1 = acmpca_xml_parse(s, size, NULL, &full);
    if (e1 != NULL)
        check_refusal(&full, e1);
    else
        check_tree(&full, &dflt, size);

    e2 = acmpca_xml_parse(s, size, &small, &low);
    if (e2 != NULL) {
        check_refusal(&low, e2);
    } else {
        check_tree(&low, &small, size);
        if (e1 != NULL)
            die("lower limits turned a refusal into a tree", e1);
        check_same(&full, &low);
    }
    acmpca_xml_free(&low);
    acmpca_xml_free(&full);
    acmpca_xml_free(&full); /* idempotent */
    return 0;
}
