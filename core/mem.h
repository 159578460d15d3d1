/* SPDX-License-Identifier: MIT */
/* The accounting allocator: 64-byte aligned blocks, live/peak counters, and a test mode that
 * fails the n-th allocation (curl's torture idea). Everything in core and plugins uses it. */
#ifndef MODLAB_CORE_MEM_H
#define MODLAB_CORE_MEM_H

#include <stddef.h>

void *ml_alloc(size_t bytes);        /* NULL on failure */
void *ml_zalloc(size_t bytes);       /* zeroed */
void *ml_realloc(void *ptr, size_t bytes);
void ml_free(void *ptr);             /* NULL is a no-op */
char *ml_strdup(const char *s);
/* Large buffers (activations, parameters): aligned, zeroed, huge pages advised; blocks of
 * 2 MB and more are untouched pages until written. Free with ml_free. */
void *ml_alloc_big(size_t bytes);

#endif
