/*
 * xml.h: the XML reader of acmpca.core (STS answers), over libexpat.
 *
 * Lua-free.  acmpca_xml_parse reads a whole document into a compact tree
 * of element nodes: each node's name, its parent/child/sibling links and
 * the character data directly inside it (concatenated, entities and CDATA
 * decoded).  Attributes, comments and processing instructions are dropped.
 * Limits are enforced while parsing; any DOCTYPE is refused, so no entity
 * is ever declared, expanded or loaded.  xml_lua.c binds it as
 * core.xml_decode; fuzz/xml.c fuzzes it.
 */
#ifndef ACMPCA_XML_H
#define ACMPCA_XML_H

#include <stddef.h>
#include <stdint.h>
#include "visibility.h"

/* The defaults, which are also the ceilings a caller may lower. */
#define ACMPCA_XML_MAX_BYTES (1024 * 1024)
#define ACMPCA_XML_MAX_DEPTH 32
#define ACMPCA_XML_MAX_ELEMENTS 10000
#define ACMPCA_XML_MAX_TEXT (1024 * 1024)

typedef struct acmpca_xml_limits {
    size_t max_bytes;    /* input size */
    size_t max_depth;    /* nesting, the root being depth 1 */
    size_t max_elements; /* elements in the document */
    size_t max_text;     /* character data in all, after decoding */
} acmpca_xml_limits;

#define ACMPCA_XML_NONE (-1)

/*
 * One element.  Nodes are stored in document order (the root is node 0),
 * so a node's children follow it.  Links are node indices or
 * ACMPCA_XML_NONE; name and text are offsets into the document's pools,
 * NUL-terminated there.
 */
typedef struct acmpca_xml_node {
    uint32_t name, name_len;
    uint32_t text, text_len;
    int32_t parent, first_child, next_sibling;
    uint32_t children; /* number of child elements */
    uint32_t depth;    /* 1 for the root */
} acmpca_xml_node;

typedef struct acmpca_xml_doc {
    acmpca_xml_node *nodes;
    size_t count;
    char *names; /* every element's name, each NUL-terminated */
    char *text;  /* every element's text, each NUL-terminated */
    char err[192];
} acmpca_xml_doc;

/*
 * Parse s[0..n) into *doc.  NULL on success (free with acmpca_xml_free),
 * or a message "xml: ..." in doc->err with doc holding nothing to free.
 * limits NULL means the defaults.  Messages never quote the input.
 */
ACMPCA_HIDDEN const char *acmpca_xml_parse(const char *s, size_t n,
                                           const acmpca_xml_limits *limits,
                                           acmpca_xml_doc *doc);

/* Release a parsed document; safe on a zeroed one and to run twice. */
ACMPCA_HIDDEN void acmpca_xml_free(acmpca_xml_doc *doc);

/* The defaults above. */
ACMPCA_HIDDEN void acmpca_xml_default_limits(acmpca_xml_limits *limits);

/* A node's name and text (NUL-terminated). */
#define acmpca_xml_name(doc, i) ((doc)->names + (doc)->nodes[i].name)
#define acmpca_xml_text(doc, i) ((doc)->text + (doc)->nodes[i].text)

#endif
