/* SPDX-License-Identifier: MIT */
/* The parsed JSON document: the arena every node and string lives in (one free for the
 * lot), and the read-only accessors callers walk the tree with. json_parse.c builds it. */
#include "formats/json_doc.h"

#include <string.h>

#include "base/mem.h"

enum { ARENA_CHUNK = 64 * 1024, ARENA_BIG = 2 * 1024 * 1024, ARENA_MAX = 4 * 1024 * 1024 };

/* ---- arena ------------------------------------------------------------------------------ */

typedef struct json_chunk {
    struct json_chunk *prev;
    size_t used, cap;
    /* data follows, 16-byte aligned */
} chunk;

#define CHUNK_HDR ((sizeof(chunk) + 15) & ~(size_t)15)

/* Chunks grow geometrically (64 KiB .. 4 MiB) so that big documents take few, large blocks;
 * the large ones come from mli_alloc_big, which advises huge pages (fewer page faults). */
void *mli_json_arena_alloc(ml_json_doc *doc, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk *c = doc->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = c ? c->cap * 2 : ARENA_CHUNK;
        if (cap > ARENA_MAX)
            cap = ARENA_MAX;
        if (cap < n)
            cap = n;
        size_t bytes = CHUNK_HDR + cap;
        c = bytes >= ARENA_BIG ? mli_alloc_big(bytes) : mli_alloc(bytes);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        if (n > ARENA_CHUNK / 2 && doc->chunks &&
            doc->chunks->cap - doc->chunks->used > ARENA_CHUNK / 2) {
            /* A big string gets a chunk of its own behind the current one, which keeps
             * its room. */
            c->prev = doc->chunks->prev;
            doc->chunks->prev = c;
        } else {
            c->prev = doc->chunks;
            doc->chunks = c;
        }
    }
    void *p = (char *)c + CHUNK_HDR + c->used;
    c->used += n;
    return p;
}

void mli_json_free(ml_json_doc *doc)
{
    if (!doc)
        return;
    chunk *c = doc->chunks;
    while (c) {
        chunk *prev = c->prev;
        mli_free(c);
        c = prev;
    }
    mli_free(doc);
}

const ml_json *mli_json_root(const ml_json_doc *doc)
{
    return doc ? doc->root : NULL;
}

/* ---- access ----------------------------------------------------------------------------- */

const ml_json *mli_json_get(const ml_json *obj, const char *key)
{
    if (!obj || obj->type != ML_JSON_OBJECT || !key)
        return NULL;
    size_t kl = strlen(key);
    for (const ml_json *m = obj->first; m; m = m->next)
        if (m->key_len == kl && memcmp(m->key, key, kl) == 0)
            return m;
    return NULL;
}

const ml_json *mli_json_at(const ml_json *arr, size_t i)
{
    if (!arr || (arr->type != ML_JSON_ARRAY && arr->type != ML_JSON_OBJECT) || i >= arr->count)
        return NULL;
    const ml_json *e = arr->first;
    while (i--)
        e = e->next;
    return e;
}

const char *mli_json_type_name(ml_json_type type)
{
    switch (type) {
    case ML_JSON_NULL: return "null";
    case ML_JSON_FALSE:
    case ML_JSON_TRUE: return "boolean";
    case ML_JSON_NUMBER: return "number";
    case ML_JSON_STRING: return "string";
    case ML_JSON_ARRAY: return "array";
    case ML_JSON_OBJECT: return "object";
    }
    return "?";
}
