/* SPDX-License-Identifier: MIT */
/* Reader and writer of the safetensors file layout (F32 tensors + string metadata). */
#ifndef MODLAB_CORE_SAFETENSORS_H
#define MODLAB_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include <modlab/plugin.h>

/* Layout: 8-byte little-endian header length N; N bytes of JSON header
 *   {"__metadata__": {"key": "value", ...},
 *    "name": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
 * padded with spaces so that the data starts at a multiple of 8; then the data section,
 * little-endian, tensors back to back in the order they were added. Offsets are relative to
 * the data section. This is what Python's `safetensors` library reads and writes. */

enum { ML_ST_MAX_HEADER = 100000000 };   /* same limit as the reference implementation */

/* ---- writer ----------------------------------------------------------------------------- */

typedef struct ml_st_writer ml_st_writer;

ml_st_writer *mli_st_writer_new(ml_err *err);
void mli_st_writer_free(ml_st_writer *w);
/* Add an F32 tensor of shape dims[0..ndim) (ndim <= ML_MAX_DIMS, 0 = scalar). `data` is
 * borrowed until mli_st_writer_write / _to_memory returns. Names are unique, non-empty,
 * and not "__metadata__". */
int mli_st_writer_add(ml_st_writer *w, const char *name, int32_t ndim, const int64_t *dims,
                     const float *data, ml_err *err);
/* Add a __metadata__ entry (both strings copied; keys unique). */
int mli_st_writer_meta(ml_st_writer *w, const char *key, const char *value, ml_err *err);
/* Write the file crash-safely: a temp file in the same directory, fsync, rename over `path`,
 * fsync the directory. On failure `path` is untouched and the temp file removed. */
int mli_st_writer_write(ml_st_writer *w, const char *path, ml_err *err);
/* The whole file in memory (for tests and embedding). *out is freed with mli_free. */
int mli_st_writer_to_memory(ml_st_writer *w, void **out, size_t *len, ml_err *err);

/* ---- reader ----------------------------------------------------------------------------- */

typedef struct ml_st_tensor {
    const char *name;
    int32_t ndim;
    int64_t dims[ML_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end;   /* byte range in the data section */
} ml_st_tensor;

typedef struct ml_st_file ml_st_file;

/* Read and validate a whole file: header length within the file and at most
 * ML_ST_MAX_HEADER, strict JSON, only F32 tensors (other dtypes: ML_ERR_UNSUPPORTED), shapes
 * matching offsets, offsets in range, sorted by offset they tile the data section exactly
 * (no overlap, no gap). Errors name the file and say what to do. */
ml_st_file *mli_st_open(const char *path, ml_err *err);
/* The same on bytes in memory; `bytes` is borrowed and must outlive the result. `what` names
 * the source in messages. */
ml_st_file *mli_st_parse(const void *bytes, size_t len, const char *what, ml_err *err);
void mli_st_close(ml_st_file *f);

/* Tensors in header order (for files modlab wrote, the order they were added). */
int32_t mli_st_count(const ml_st_file *f);
const ml_st_tensor *mli_st_tensor_at(const ml_st_file *f, int32_t i);
/* Index of the tensor called `name`, or -1. */
int32_t mli_st_find(const ml_st_file *f, const char *name);
/* Copy tensor i's numel floats into dst (converting from little-endian). */
void mli_st_read_f32(const ml_st_file *f, int32_t i, float *dst);
/* 0 when every value of tensor i is finite; else ML_ERR_FORMAT naming `what` (the file),
 * the tensor, what it holds (NaN, Inf, -Inf) and where. Loaders of weights call it before
 * applying anything: the reader itself accepts any F32 bits, as safetensors does. */
int mli_st_check_finite(const ml_st_file *f, int32_t i, const char *what, ml_err *err);

/* __metadata__ entries in header order. */
int32_t mli_st_meta_count(const ml_st_file *f);
const char *mli_st_meta_key(const ml_st_file *f, int32_t i);
const char *mli_st_meta_value(const ml_st_file *f, int32_t i);
/* Value of `key`, or NULL. */
const char *mli_st_meta_get(const ml_st_file *f, const char *key);

#endif
