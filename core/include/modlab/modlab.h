/* SPDX-License-Identifier: MIT */
/* modlab.h: libmodlab's public C API, and the FFI surface the Lua side binds.
 *
 * The section between the ffi markers is read by LuaJIT's ffi.cdef as it is: plain
 * prototypes and opaque handles only, no macros, no varargs, no callbacks.
 *
 * Conventions: fallible functions return 0 / a negative ML_ERR_* code, or NULL, and fill the
 * ml_err passed last. Arguments are borrowed. _new/_open return owned objects freed by the
 * matching _free/_close; tensors are ref-counted (_retain/_release). Returned strings live
 * as long as the object they came from.
 */
#ifndef MODLAB_MODLAB_H
#define MODLAB_MODLAB_H

#include <modlab/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

ML_API_BEGIN
/* ffi:begin */

/* ---- library ---------------------------------------------------------------------------- */
const char *ml_version(void);
const char *ml_strerror(int code);
/* Environment and build facts as one JSON object (meta.json's "host" and "versions"). */
const char *ml_build_info(void);
/* The shortest text that strtod reads back as exactly v ("0.05", "1e+21", "5e-324", "-0";
 * "nan", "inf", "-inf" for those). Returns its length, or -1 when cap is too small. */
int ml_format_double(char *buf, size_t cap, double v);

/* ---- memory accounting (every allocation of core and plugins goes through it) ---------- */
int64_t ml_mem_live_bytes(void);
int64_t ml_mem_peak_bytes(void);
int64_t ml_mem_live_blocks(void);
/* Test mode: make the n-th allocation from now fail (n >= 1); 0 turns it off. */
void ml_mem_fail_at(int64_t n);

/* ---- BLAS ------------------------------------------------------------------------------- */
void ml_blas_set_threads(int n);
int ml_blas_threads(void);

/* ---- random numbers: counter-based, so any stream can be replayed --------------------- */
/* The k-th 64-bit value of stream (seed, stream). */
uint64_t ml_rng_at(uint64_t seed, uint64_t stream, uint64_t k);
/* Fisher-Yates shuffle of idx[0..n) driven by stream (seed, stream). */
void ml_shuffle(int64_t *idx, int64_t n, uint64_t seed, uint64_t stream);

/* ---- tensors: batch x shape floats, 64-byte aligned, ref-counted -------------------- */
typedef struct ml_tensor ml_tensor;
ml_tensor *ml_tensor_new(int32_t batch, const ml_shape *shape, ml_err *err);
ml_tensor *ml_tensor_retain(ml_tensor *t);
void ml_tensor_release(ml_tensor *t);
float *ml_tensor_data(ml_tensor *t);
int32_t ml_tensor_batch(const ml_tensor *t);
const ml_shape *ml_tensor_shape(const ml_tensor *t);
int64_t ml_tensor_numel(const ml_tensor *t);

/* ---- plugin registry -------------------------------------------------------------------- */
/* Search order: `path_list` (--plugin-path, colon-separated dirs or .so files), then
 * MODLAB_PLUGIN_PATH, then the installed plugin dir (or the build tree's, when modlab runs
 * uninstalled). A plugin that fails to load is skipped with a one-line warning naming the
 * file (see ml_registry_warning); the others still load. */
typedef struct ml_registry ml_registry;
ml_registry *ml_registry_new(ml_err *err);
void ml_registry_free(ml_registry *reg);
int ml_registry_load_default(ml_registry *reg, const char *path_list, ml_err *err);
/* Load one .so (returns its error; also recorded as a warning). */
int ml_registry_load_file(ml_registry *reg, const char *file, ml_err *err);
int32_t ml_registry_count(const ml_registry *reg);
const ml_entry *ml_registry_entry(const ml_registry *reg, int32_t i);
const char *ml_registry_entry_path(const ml_registry *reg, int32_t i);
const char *ml_registry_entry_sha256(const ml_registry *reg, int32_t i);
/* Index of (kind, name), or -1. */
int32_t ml_registry_find(const ml_registry *reg, int32_t kind, const char *name);
int32_t ml_registry_nwarnings(const ml_registry *reg);
const char *ml_registry_warning(const ml_registry *reg, int32_t i);
const char *ml_kind_name(int32_t kind);

/* ---- options ------------------------------------------------------------------------- */
/* Values arrive as text with the type the caller had (ML_OPT_*: a Lua number is FLOAT,
 * a string STRING, a boolean BOOL); ml_opts_validate checks them against a schema. */
typedef struct ml_opts ml_opts;
ml_opts *ml_opts_new(ml_err *err);
void ml_opts_free(ml_opts *opts);
int ml_opts_set(ml_opts *opts, const char *key, int type, const char *text, ml_err *err);
/* Parse "k=v k2=v2" (types inferred: numbers, true/false, else string). */
int ml_opts_parse(ml_opts *opts, const char *text, ml_err *err);
/* Check against `schema` (unknown key, wrong type, missing required, bad choice: errors
 * naming `owner` and the option) and fill defaults. */
int ml_opts_validate(ml_opts *opts, const ml_opt_spec *schema, const char *owner,
                     ml_err *err);
/* Canonical JSON object of the validated values ({"out":10,"bias":true}). */
const char *ml_opts_json(ml_opts *opts);

/* ---- models: a graph of layer nodes --------------------------------------------------
 * A model is a DAG: each node applies one layer instance to earlier nodes (or the model's
 * input), so nodes are in topological order by construction and a cycle cannot be written.
 * A layer instance may be applied by several nodes (tied weights: one set of parameters,
 * gradients summed). A chain is the graph where each node reads the one before. */
typedef struct ml_model ml_model;
enum { ML_MODEL_INPUT = -1 };   /* the node id of the model's input */
/* seed in [0, 2^63); a larger one is an error (NULL), never reduced to a smaller one. */
ml_model *ml_model_new(ml_registry *reg, uint64_t seed, ml_err *err);
void ml_model_free(ml_model *m);
/* Append a layer by name reading the last node (the input for the first); options are
 * validated now (errors name the layer and option). The model takes ownership of opts (also
 * on failure). Same as ml_model_node with nin 0. */
int ml_model_add(ml_model *m, const char *layer, ml_opts *opts, ml_err *err);
/* A node applying a new instance of LAYER to the nodes inputs[0..nin) (ids of earlier
 * nodes or ML_MODEL_INPUT; several only for merge layers, see ML_IFACE_MERGE in plugin.h;
 * nin 0: the last node). Returns the node's id (>= 0) or a negative ML_ERR_*. Owns opts. */
int32_t ml_model_node(ml_model *m, const char *layer, ml_opts *opts, const int32_t *inputs,
                      int32_t nin, ml_err *err);
/* A node applying node `of`'s layer instance again (tied weights) to other inputs, which
 * must have the shapes of its first application. Returns the node's id or ML_ERR_*. */
int32_t ml_model_apply(ml_model *m, int32_t of, const int32_t *inputs, int32_t nin,
                       ml_err *err);
/* The node whose output is the model's output (default: the last node). Every node must
 * lead to it, and the input must be read: build says which node does not. */
int ml_model_set_output(ml_model *m, int32_t node, ml_err *err);
/* Several outputs (auxiliary heads), up to ML_MODEL_MAX_OUTPUTS distinct nodes: the first is
 * the main one (accuracy, ml_model_forward); every node must lead to one of them. The
 * trainer takes a loss for each (ml_trainer_add_loss). */
enum { ML_MODEL_MAX_OUTPUTS = 8 };
int ml_model_set_outputs(ml_model *m, const int32_t *nodes, int32_t n, ml_err *err);
int32_t ml_model_noutputs(const ml_model *m);
int32_t ml_model_output_node(const ml_model *m, int32_t k);   /* -1 when k is out of range */
/* Create every layer for input shape `in`, infer shapes and allocate all buffers for
 * batches up to max_batch. Shape mismatches are errors here, before any training. */
int ml_model_build(ml_model *m, const ml_shape *in, int32_t max_batch, ml_err *err);
/* Layer instances (what parameters and checkpoints are named by), and nodes. */
int32_t ml_model_nlayers(const ml_model *m);
const char *ml_model_layer_name(const ml_model *m, int32_t i);
int32_t ml_model_nnodes(const ml_model *m);
/* Output shape of node i (-1: the model's output), after build. */
const ml_shape *ml_model_out_shape(const ml_model *m, int32_t i);
/* The model's input normalisation, (x - mean[c]) / std[c] per channel (the first dim of
 * {C,H,W} inputs, else one channel, as ml_dataset_channels): applied in every forward, saved in checkpoints. Set
 * after build; nch 0 removes it. ml_model_normalization returns the channels (0: none) and
 * borrows the arrays (valid until the next set or load). */
int ml_model_set_normalization(ml_model *m, const double *mean, const double *std,
                               int32_t nch, ml_err *err);
int32_t ml_model_normalization(const ml_model *m, const double **mean, const double **std);
/* Bytes of the activation and gradient buffers a built model holds (gradients shared by
 * liveness); *unshared (may be NULL): what one buffer per node would take. */
int64_t ml_model_buffer_bytes(const ml_model *m, int64_t *unshared);
int64_t ml_model_nparams(const ml_model *m);   /* trainable scalars */
void ml_model_set_training(ml_model *m, int training);
/* Forward a batch (x: batch x in-shape floats); returns the output, valid until the next
 * forward. */
const float *ml_model_forward(ml_model *m, const float *x, int32_t batch, ml_err *err);

/* Layers offering "modlab.diagnostics/1" tally what they do in each pass: reset starts a
 * pass (the trainer feeds every batch's targets), ml_model_diagnostics gathers the reports
 * as one JSON object {"<layer number>.<name>": {...}}; "" when no layer reports; NULL with
 * err on a malformed report. The text is the model's, valid until the next call. */
void ml_model_diag_reset(ml_model *m);
const char *ml_model_diagnostics(ml_model *m, ml_err *err);

/* Parameters, in a stable order. */
int32_t ml_model_nparam_tensors(const ml_model *m);
ml_param *ml_model_param(ml_model *m, int32_t i);
/* "2.linear.weight": layer index, layer name, parameter name. */
const char *ml_model_param_name(const ml_model *m, int32_t i);

/* ---- training ---------------------------------------------------------------------- */
typedef struct ml_trainer ml_trainer;
typedef struct ml_step_stats {
    double loss;        /* mean data loss over the examples seen */
    double aux_loss;    /* mean of the summed aux losses */
    int64_t correct;    /* argmax == target (classification) */
    int64_t seen;       /* examples (times positions for sequence targets) */
    int64_t steps;
} ml_step_stats;

/* The trainer borrows the model (which must be built) and owns loss and optimizer.
 * `target` is the shape of one example's target (the dataset's y shape); the loss checks it
 * against the model's output. `optimizer` NULL makes an evaluation-only trainer.
 * Takes ownership of both opts (also on failure). */
ml_trainer *ml_trainer_new(ml_model *m, const ml_shape *target, const char *loss,
                           ml_opts *loss_opts,
                           const char *optimizer, ml_opts *opt_opts, ml_err *err);
void ml_trainer_free(ml_trainer *t);
/* Parameter groups: multiply lr (0 freezes) and weight decay for params whose name
 * contains `pattern` ("" = all). Later calls win. */
int ml_trainer_set_group(ml_trainer *t, const char *pattern, float lr_scale,
                         float decay_scale, ml_err *err);
void ml_trainer_set_lr_factor(ml_trainer *t, float factor);
void ml_trainer_set_clip_norm(ml_trainer *t, float max_norm);   /* 0 = off */
void ml_trainer_set_aux_scale(ml_trainer *t, float scale);
/* The loss of output k >= 1 of a model with several outputs (output 0's is the trainer's
 * own), and its weight in the total the step minimises (and the loss stats report). Takes
 * ownership of opts. A training step needs a loss for every output. */
int ml_trainer_add_loss(ml_trainer *t, int32_t output, const char *loss, ml_opts *opts,
                        float weight, ml_err *err);
/* One optimizer step on a batch; adds to stats. No allocation. A model with E-step layers
 * (modular) needs the batch's dataset indices: an error here, use ml_trainer_read_batch and
 * ml_trainer_train_batch. */
int ml_trainer_step(ml_trainer *t, const float *x, const float *y, int32_t batch,
                    ml_step_stats *stats, ml_err *err);
/* Loss and accuracy without updating anything (evaluation mode). */
int ml_trainer_eval(ml_trainer *t, const float *x, const float *y, int32_t batch,
                    ml_step_stats *stats, ml_err *err);
int64_t ml_trainer_steps_done(const ml_trainer *t);


/* ---- datasets ------------------------------------------------------------------------- */
typedef struct ml_dataset ml_dataset;
/* Open with the dataset plugin `format`; takes ownership of opts (also on failure). */
ml_dataset *ml_dataset_open(ml_registry *reg, const char *format, ml_opts *opts,
                            ml_err *err);
void ml_dataset_close(ml_dataset *d);
const ml_data_info *ml_dataset_info(const ml_dataset *d);
int ml_dataset_read(ml_dataset *d, const int64_t *idx, int32_t n, float *x, float *y,
                    ml_err *err);

/* How d stores x (ml_dtype) and the divisor to float (ml_dataset_vtable.raw_format); F32
 * and 1 for a dataset without read_raw. div may be NULL. */
int32_t ml_dataset_dtype(const ml_dataset *d, float *div);
/* x in the stored dtype (n * prod(x_shape) values); the plain read for an F32 dataset. */
int ml_dataset_read_raw(ml_dataset *d, const int64_t *idx, int32_t n, void *x, float *y,
                        ml_err *err);

/* ---- transforms (data augmentation) ---------------------------------------------------- */
/* A list of transforms for the examples of one dataset: its shape and stored dtype. */
typedef struct ml_pipeline ml_pipeline;
ml_pipeline *ml_pipeline_new(ml_registry *reg, const ml_dataset *d, ml_err *err);
void ml_pipeline_free(ml_pipeline *p);
/* Append transform `name` (validated options; takes ownership of opts, also on failure).
 * The transform is created for the dtype the list has reached: the stored one until the
 * first ML_TRANSFORM_FLOAT transform, float32 from there on. At most 255 transforms. */
int ml_pipeline_add(ml_pipeline *p, const char *name, ml_opts *opts, ml_err *err);
int32_t ml_pipeline_length(const ml_pipeline *p);
/* Read examples idx[0..n) of d through the list: stored values, each transform in order
 * with the random stream of (seed, epoch, idx[i], position), then float32 (x: n * prod(
 * x_shape) floats, y as ml_dataset_read). The output of an example depends only on
 * (seed, epoch, idx[i]) and the list. Not reentrant: one call on a pipeline at a time. */
int ml_pipeline_read(ml_pipeline *p, ml_dataset *d, const int64_t *idx, int32_t n,
                     uint64_t seed, int64_t epoch, float *x, float *y, ml_err *err);

/* Normalisation channels: the first dim of {C,H,W} examples, else 1 (one for all values). */
int32_t ml_dataset_channels(const ml_dataset *d);
/* Per-channel mean and standard deviation of examples idx[0..n), for the model's input
 * normalisation (ml_model_set_normalization): statistics of training examples only. */
int ml_dataset_stats(ml_dataset *d, const int64_t *idx, int64_t n, double *mean, double *std,
                     ml_err *err);

/* The open step API: the trainer's own batch and the pieces of a step, for loops a recipe
 * writes itself. ml_trainer_train_batch is the whole step (what ml_trainer_run and ml.train
 * take, E-step included); the pieces are forward (in the model's current mode), the loss of
 * that forward (want_grad: dloss/dout for backward; stats may be NULL), backward (adds the
 * gradients, aux losses' too; *aux may be NULL), zero_grad and update (clip_norm, then one
 * optimizer step). None allocates. */
int ml_trainer_read_batch(ml_trainer *t, ml_dataset *d, const int64_t *idx, int32_t n,
                          ml_err *err);
/* Batches ml_trainer_read_batch loads from now on, and the training batches of
 * ml_trainer_run (never its evaluation ones), go through pipeline p with (seed, epoch);
 * p NULL: plain reads. p is borrowed: it must outlive its use here. */
void ml_trainer_set_augment(ml_trainer *t, ml_pipeline *p, uint64_t seed, int64_t epoch);
int ml_trainer_train_batch(ml_trainer *t, ml_step_stats *stats, ml_err *err);
int ml_trainer_eval_batch(ml_trainer *t, ml_step_stats *stats, ml_err *err);
const float *ml_trainer_forward(ml_trainer *t, ml_err *err);
int ml_trainer_loss(ml_trainer *t, int want_grad, ml_step_stats *stats, double *loss,
                    ml_err *err);
int ml_trainer_backward(ml_trainer *t, double *aux, ml_err *err);
void ml_trainer_zero_grad(ml_trainer *t);
int ml_trainer_update(ml_trainer *t, ml_err *err);

/* Run batches [first, first + count) of an epoch over examples order[0..n) of `d`,
 * training (train != 0) or evaluating. Batch buffers are the trainer's: no allocation. */
int ml_trainer_run(ml_trainer *t, ml_dataset *d, const int64_t *order, int64_t n,
                   int32_t batch, int64_t first, int64_t count, int train,
                   ml_step_stats *stats, ml_err *err);
/* Stopping a run cleanly: ml_run_signals(1) makes SIGINT, SIGTERM and SIGHUP (unless
 * ignored when called) only record the signal, after which ml_trainer_run fails with
 * ML_ERR_INTERRUPTED at its next batch and ml_run_stop_signal() returns the signal number
 * (0 while none came; it stays set for the process). A second signal acts as by default.
 * ml_run_signals(0) puts the previous handlers back. */
void ml_run_signals(int catch_them);
int ml_run_stop_signal(void);

/* ---- gradient check ------------------------------------------------------------------- */
typedef struct ml_gradcheck_result {
    double max_rel_err_input;   /* max relative error of dL/dx, -1 if not checked */
    double max_rel_err_params;  /* max relative error of dL/dparams, -1 if none */
    double max_rel_err_aux;     /* of the aux loss's parameter gradient, -1 if none */
    int64_t checked;            /* coordinates compared */
} ml_gradcheck_result;
/* Finite-difference check of one layer with `options` ("k=v ...") on input `in`. */
int ml_gradcheck_layer(ml_registry *reg, const char *layer, const char *options,
                       const ml_shape *in, int32_t int_inputs, uint64_t seed,
                       ml_gradcheck_result *res, ml_err *err);

/* ---- files -------------------------------------------------------------------------- */
/* Write a whole file crash-safely: temp name in the same dir, fsync, rename, fsync dir. */
int ml_file_write_atomic(const char *path, const void *data, size_t len, ml_err *err);
/* mkdir -p */
int ml_mkdirs(const char *path, ml_err *err);
/* Create a new directory base/name (base made as by ml_mkdirs), or base/name-2, -3, ... if
 * that name is taken: mkdir(2) claims it, so concurrent callers never share one. `name` is
 * one component of letters, digits and . _ + - (not starting with '.'). Writes the path
 * made into out[out_size] on success. */
int ml_mkdir_unique(const char *base, const char *name, char *out, size_t out_size,
                    ml_err *err);
/* Tests only: with MODLAB_TEST_PAUSE=POINT[#N] in the environment, the N-th call (default
 * the first) with this POINT stops the process (SIGSTOP) so a test can kill it exactly there.
 * Points: "before-rename:FILE" (every crash-safe write of FILE, after its temp file is
 * complete and synced) and ml.train's "mid-epoch:E". Does nothing otherwise. */
void ml_test_pause(const char *point);

/* ---- checkpoints (safetensors layout) --------------------------------------------------- */
/* Save every parameter (and buffers) as "<param name>" tensors, with layer kinds, names and
 * versions in the header's __metadata__. */
int ml_model_save(ml_model *m, const char *path, ml_err *err);
/* Load values into a built model with the same layers; mismatches are errors. */
int ml_model_load(ml_model *m, const char *path, ml_err *err);

/* ---- training checkpoints ------------------------------------------------------------ */
/* One crash-safe safetensors file with everything later steps read: the model checkpoint
 * (as ml_model_save), the optimizer's state planes ("train.optim.<param name>", shape
 * [state floats per element, numel]), the parameter groups' lr and decay scales
 * ("train.groups"), the step count and the model's forward count (which seeds dropout) in
 * __metadata__, and `state`: the caller's own text (ml.train's JSON: epoch, history, best,
 * schedule state). */
int ml_trainer_save(ml_trainer *t, const char *path, const char *state, ml_err *err);
/* Restore a checkpoint written for the same model and optimizer. Everything is checked
 * before anything changes: on error the trainer and model are as before. */
int ml_trainer_load(ml_trainer *t, const char *path, ml_err *err);
/* The `state` text of the last checkpoint loaded ("" if none); the trainer's. */
const char *ml_trainer_resumed_state(const ml_trainer *t);

/* ---- dataset manifests and downloads (datasets/NAME.yaml) ------------------------- */
typedef struct ml_manifest ml_manifest;
/* `name_or_path`: a manifest file path, or a dataset name looked up in MODLAB_MANIFEST_PATH,
 * the source tree's datasets/ (uninstalled) and the installed manifest dir. */
ml_manifest *ml_manifest_load(const char *name_or_path, ml_err *err);
void ml_manifest_free(ml_manifest *m);
const char *ml_manifest_name(const ml_manifest *m);
const char *ml_manifest_format(const ml_manifest *m);   /* the dataset plugin's name */
int32_t ml_manifest_nsplits(const ml_manifest *m);
const char *ml_manifest_split(const ml_manifest *m, int32_t i);
/* Make every file of the manifest present and verified in the cache (MODLAB_DATA_DIR,
 * default $XDG_CACHE_HOME/modlab): mirrors in order (MODLAB_MIRROR first), .part files
 * resumed, checksum verified before the rename; MODLAB_OFFLINE=1 allows only file://.
 * progress != 0 shows a progress line on a terminal. */
int ml_manifest_fetch(ml_manifest *m, int progress, ml_err *err);
/* Re-hash every cached file against the manifest. */
int ml_manifest_verify(ml_manifest *m, ml_err *err);
/* Options for the dataset plugin for one split: the manifest's options plus each file role
 * bound to its verified cached path. Caller owns the result. Fetches if needed. */
ml_opts *ml_manifest_split_opts(ml_manifest *m, const char *split, ml_err *err);
/* `modlab data list|fetch NAME|verify NAME`: returns the process exit code. */
int ml_data_main(int argc, char **argv);

/* ffi:end */
ML_API_END

#ifdef __cplusplus
}
#endif
#endif /* MODLAB_MODLAB_H */
