/* SPDX-License-Identifier: MIT */
/* Inside the JSON reader: the document and its arena, shared by json_parse.c (which fills
 * it) and json_tree.c (which owns, frees and walks it). Not for use outside formats/json*.c. */
#ifndef MODLAB_CORE_JSON_DOC_H
#define MODLAB_CORE_JSON_DOC_H

#include <stddef.h>

#include "formats/json.h"

struct json_chunk;

struct ml_json_doc {
    struct json_chunk *chunks;
    ml_json *root;
};

/* n bytes, 16-byte aligned, from the document's arena; NULL when out of memory. Freed with
 * the whole document by mli_json_free. */
void *mli_json_arena_alloc(ml_json_doc *doc, size_t n);

#endif
