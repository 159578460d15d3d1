/* SPDX-License-Identifier: MIT */
/* Checkpoint internals: the metadata keys of model.safetensors and base64 for layer state. */
#ifndef MODLAB_CORE_CHECKPOINT_H
#define MODLAB_CORE_CHECKPOINT_H

#include <stddef.h>

#include <modlab/modlab.h>

/* A checkpoint is a safetensors file (core/formats/safetensors.h) whose tensors are the model's
 * parameters, buffers and structural masks, named by ml_model_param_name ("0.linear.weight"),
 * in parameter order. Its __metadata__ (string -> string) holds: */
#define ML_CKPT_FORMAT "modlab.checkpoint"   /* format of these keys: "1" */
#define ML_CKPT_VERSION "modlab.version"     /* ml_version() of the writer */
/* JSON array of strings, one per layer in order: "kind/name@version" ("layer/linear@1.0.0") */
#define ML_CKPT_LAYERS "modlab.layers"
/* {"mean":[...],"std":[...]}: the model's input normalisation per channel, when it has one
 * (core/runtime/normalization.c). */
#define ML_CKPT_NORMALIZATION "modlab.normalization"
/* "modlab.state.<layer index from 0>": base64 of the layer's save() payload, for every layer
 * whose vtable has save (possibly ""). */
#define ML_CKPT_STATE_PREFIX "modlab.state."

/* Load rules: the layer list must match kind and name exactly; a version with another major
 * number (text before the first '.') is an error, a different minor/patch is accepted and
 * the layer's load() receives the saved version. Every model tensor must be in the file with
 * the same shape and the file must hold no other tensor. Nothing changes unless everything
 * validates; a failing layer load() rolls back what was already loaded. */

/* Tensors named "train.*" belong to a training checkpoint (core/runtime/train_ckpt.c: optimizer
 * state and the like); model tensor names start with the layer's number. */
#define ML_CKPT_TRAIN_PREFIX "train."

typedef struct ml_st_writer ml_st_writer;
typedef struct ml_st_file ml_st_file;

/* Add the model's tensors and metadata (the whole of a model checkpoint) to `w`; `path`
 * names the destination in messages. ml_model_save is this plus mli_st_writer_write. */
int mli_ckpt_add_model(ml_model *m, ml_st_writer *w, const char *path, ml_err *err);
/* Load the model part of an opened checkpoint by the rules above; tensors whose names start
 * with `skip` (NULL: none) belong to someone else (a training checkpoint's optimizer state)
 * and are ignored. */
int mli_ckpt_load_model(ml_model *m, const ml_st_file *f, const char *path, const char *skip,
                       ml_err *err);

/* The normalisation metadata: written when the model has one; parsed and checked against
 * the model (mean and std for each input channel, finite, std >= 0; *nch 0: none). */
int mli_norm_save(const ml_model *m, ml_st_writer *w, const char *path, ml_err *err);
int mli_norm_parse(const ml_model *m, const ml_st_file *f, const char *path, int32_t *nch,
                   double *mean, double *std, ml_err *err);

/* Standard base64 with padding. encode writes 4*ceil(n/3) chars + NUL into out (size it with
 * mli_base64_encoded_len(n) + 1). decode is strict (alphabet, padding, length % 4 == 0);
 * out needs room for mli_base64_decoded_max(len) bytes; returns the decoded length, or
 * (size_t)-1 on bad input. */
size_t mli_base64_encoded_len(size_t n);
void mli_base64_encode(const void *in, size_t n, char *out);
size_t mli_base64_decoded_max(size_t len);
size_t mli_base64_decode(const char *in, size_t len, void *out);

#endif
