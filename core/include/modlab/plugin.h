/* SPDX-License-Identifier: MIT */
/* modlab plugin ABI: the only header a plugin includes.
 *
 * Shape of the ABI (learned from SQLite extensions, LV2, GStreamer, hwloc):
 *  - A plugin .so exports exactly one symbol, derived from its file name:
 *        int ml_plugin_<stem>_init(const ml_host *host, ml_registry *reg, ml_err *err);
 *    <stem> is the file name without a leading "lib", cut at the first '.', with every
 *    character outside [a-z0-9_] mapped to '_' ("nn.so" -> ml_plugin_nn_init).
 *  - The host passes a table of services (ml_host). A plugin calls the host only through it,
 *    so a plugin links against nothing of modlab's.
 *  - The init function registers one or more entries (ml_entry) with host->register_entry.
 *  - Versioned structs (ml_host, ml_entry, every vtable) start with ML_ABI_HEADER. The host
 *    rejects another major or a newer minor, and copies an older, shorter struct into zeroed
 *    storage, so fields a plugin does not know about read as NULL / 0 and get defaults.
 *  - Plain data structs (ml_err, ml_shape, ml_view, ml_param, ml_opt_spec, ml_opt_slot,
 *    ml_data_info) are frozen for a major version: changing one is a major bump.
 *
 * Versioning rules (what counts as breaking):
 *  - Appending a field to a versioned struct: bump ML_ABI_MINOR.
 *  - Removing, reordering or retyping any field, changing a frozen struct, or changing what
 *    an existing function means: bump ML_ABI_MAJOR (every plugin must be rebuilt).
 *
 * Threading: the host calls a plugin instance from one thread at a time. Plugins must not
 * keep mutable globals other than the host pointer saved at init.
 *
 * Errors: fallible functions return 0 or a negative ML_ERR_* and fill the ml_err passed last
 * (use host->error, which formats the message and returns the code). Never exit, abort or
 * longjmp. Messages say what went wrong, where, and what to do.
 *
 * Ownership: arguments are borrowed for the duration of the call. A layer's `self` is the
 * plugin's (allocate it with host->alloc); the host calls destroy exactly once for every
 * successful create. Parameters and activations belong to the host.
 */
#ifndef MODLAB_PLUGIN_H
#define MODLAB_PLUGIN_H

#include <math.h>    /* expf and log, for ml_logsumexp */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>   /* snprintf, for the inline helpers at the end */
#include <string.h>  /* memcpy and strcmp, likewise */

#ifdef __cplusplus
extern "C" {
#endif

#define ML_ABI_MAJOR 1
#define ML_ABI_MINOR 2

/* First fields of every versioned struct. Frozen forever, at the same offsets. */
#define ML_ABI_HEADER                                                                    \
    uint32_t abi_major;   /* ML_ABI_MAJOR the struct was compiled against */            \
    uint32_t abi_minor;   /* ML_ABI_MINOR the struct was compiled against */            \
    uint32_t struct_size  /* sizeof the struct as compiled */

/* Designated-initializer helper: `ml_entry e = { ML_ABI_INIT(ml_entry), ... }`. */
#define ML_ABI_INIT(type) .abi_major = ML_ABI_MAJOR, .abi_minor = ML_ABI_MINOR, \
                          .struct_size = (uint32_t)sizeof(type)

/* True when a versioned struct received from the other side carries `field`. */
#define ML_HAS_FIELD(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* libmodlab is built with -fvisibility=hidden: what its public headers declare between
 * ML_API_BEGIN and ML_API_END is exported, nothing else (tests/e2e/exports.sh checks
 * `nm -D`). A pragma pair rather than a word on each prototype keeps the ffi sections plain
 * C that LuaJIT's ffi.cdef reads as they are. MUST pair: every ML_API_BEGIN has its END. */
#if defined(__GNUC__)
#define ML_PLUGIN_EXPORT __attribute__((visibility("default")))
#define ML_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ML_API_BEGIN _Pragma("GCC visibility push(default)")
#define ML_API_END _Pragma("GCC visibility pop")
#else
#define ML_PLUGIN_EXPORT
#define ML_PRINTF(a, b)
#define ML_API_BEGIN
#define ML_API_END
#endif

/* ffi:begin -- the frozen section below is also read by LuaJIT's ffi.cdef: no macros in it. */

/* ---- errors (frozen) ------------------------------------------------------------------ */

typedef enum ml_status {
    ML_OK = 0,
    ML_ERR_NOMEM = -1,       /* an allocation failed */
    ML_ERR_INVALID = -2,     /* bad argument, option or usage: the caller's mistake */
    ML_ERR_SHAPE = -3,       /* shapes do not fit */
    ML_ERR_IO = -4,          /* reading or writing a file failed */
    ML_ERR_FORMAT = -5,      /* malformed input bytes (truncated file, wrong magic, bad YAML) */
    ML_ERR_ABI = -6,         /* plugin built for an incompatible ABI */
    ML_ERR_NOT_FOUND = -7,   /* no such plugin, file, dataset or key */
    ML_ERR_CHECKSUM = -8,    /* downloaded or cached bytes do not match their checksum */
    ML_ERR_NETWORK = -9,     /* a transfer failed */
    ML_ERR_NUMERIC = -10,    /* NaN or Inf where a number was expected */
    ML_ERR_UNSUPPORTED = -11,/* valid request that this build or plugin cannot do */
    ML_ERR_INTERRUPTED = -12,/* stopped by a signal or by the user */
    ML_ERR_INTERNAL = -13    /* a bug in modlab or a plugin */
} ml_status;

enum { ML_ERR_MSG_MAX = 512, ML_MAX_DIMS = 8 };
/* Fixed-size so that reporting out-of-memory allocates nothing. */
typedef struct ml_err {
    int code;                  /* ml_status */
    char msg[ML_ERR_MSG_MAX];  /* NUL-terminated, one line */
} ml_err;

/* ---- shapes and views (frozen) -------------------------------------------------------- */

/* Shape of ONE example; the batch dimension is never part of it. ndim 0 is a scalar. */
typedef struct ml_shape {
    int32_t ndim;
    int32_t dim[ML_MAX_DIMS];
} ml_shape;

/* A batch of examples: `batch` rows of prod(shape) floats, row-major, contiguous.
 * Borrowed: valid for the duration of the call it is passed to. */
typedef struct ml_view {
    float *data;
    int32_t batch;
    ml_shape shape;
} ml_view;

/* ---- parameters (frozen) ---------------------------------------------------------------- */

enum ml_param_flags {
    ML_PARAM_NO_DECAY = 1u << 0,   /* optimizers apply no weight decay (biases, norms) */
    ML_PARAM_BUFFER = 1u << 1,     /* state, not trained (running statistics); saved */
    ML_PARAM_STRUCTURAL = 1u << 2  /* a structure mask: never trained, saved */
};

/* A host-owned parameter. `value` and `grad` are 64-byte aligned and stay valid for the
 * layer's lifetime. The host zeroes `grad` before each backward pass; layers accumulate. */
typedef struct ml_param {
    float *value;
    float *grad;     /* NULL for BUFFER and STRUCTURAL parameters */
    int64_t numel;
    ml_shape shape;
    uint32_t flags;
    int32_t id;      /* stable index in the model's parameter store */
} ml_param;

/* ---- options (frozen) ------------------------------------------------------------------- */

typedef enum ml_opt_type {
    ML_OPT_INT = 1,
    ML_OPT_FLOAT = 2,
    ML_OPT_BOOL = 3,
    ML_OPT_STRING = 4
} ml_opt_type;

/* One option of an entry's schema. Arrays of these end with a {NULL} element.
 * The host rejects unknown names, wrong types and values outside `choices` before
 * create/open is called, fills defaults, and prints the schema in `plugins --describe`. */
typedef struct ml_opt_spec {
    const char *name;     /* [a-z0-9_]+ */
    int type;             /* ml_opt_type */
    const char *def;      /* default as text ("0.01", "true", "relu"); NULL = required */
    const char *doc;      /* one line */
    const char *choices;  /* STRING only: "a|b|c", or NULL for any string */
} ml_opt_spec;

/* Opaque, host-owned handles. */
typedef struct ml_registry ml_registry;
typedef struct ml_opts ml_opts;   /* validated option values of one instance */
typedef struct ml_ctx ml_ctx;     /* the layer's link to its model: params, RNG, mode */
typedef struct ml_sublayer ml_sublayer; /* a registered layer used inside another (ABI 1.1) */

/* ---- entries -------------------------------------------------------------------------- */

typedef enum ml_kind {
    ML_KIND_LAYER = 1,
    ML_KIND_LOSS = 2,
    ML_KIND_OPTIMIZER = 3,
    ML_KIND_DATASET = 4,
    ML_KIND_ROUTER = 5,   /* reserved: multi-path routers (vtable defined by a later minor) */
    ML_KIND_TRANSFORM = 6 /* ABI 1.2: maps one example (data augmentation) */
} ml_kind;

/* How a dataset stores example values (ABI 1.2): the pipeline keeps them in this type
 * through the transforms that can move bytes (crop, flip, erase) and converts to float
 * once, at the end. */
typedef enum ml_dtype {
    ML_DTYPE_F32 = 0,
    ML_DTYPE_U8 = 1,
    ML_DTYPE_I16 = 2,
    ML_DTYPE_F16 = 3   /* IEEE binary16 */
} ml_dtype;

/* Bytes of one value of a dtype, or 0 for an unknown one. */
static inline size_t ml_dtype_size(int32_t dtype)
{
    return dtype == ML_DTYPE_F32 ? 4 : dtype == ML_DTYPE_U8 ? 1
         : dtype == ML_DTYPE_I16 || dtype == ML_DTYPE_F16 ? 2 : 0;
}

typedef struct ml_data_info {
    int64_t size;        /* examples in this split */
    ml_shape x_shape;    /* one example */
    ml_shape y_shape;    /* one target; ndim 0 for a class index */
    int32_t classes;     /* 0 for regression */
} ml_data_info;


/* One registered plugin entry. The host copies it (and the strings stay owned by the .so,
 * which is never unloaded while the process runs). */
typedef struct ml_entry {
    ML_ABI_HEADER;
    int32_t kind;                  /* ml_kind */
    const char *name;              /* [a-z0-9_]+, unique within its kind */
    const char *version;           /* the plugin's own version, "1.0.0" */
    const char *summary;           /* one line for `modlab plugins` */
    const ml_opt_spec *options;    /* {NULL}-terminated; NULL = no options */
    const void *vtable;            /* const ml_layer_vtable * etc., by kind */
    /* Optional interfaces by name ("modlab.estep/1"), NULL if not provided (LV2's
     * extension_data). May itself be NULL. */
    const void *(*extension)(const char *iface);
} ml_entry;

/* ffi:end */

/* ---- layer ----------------------------------------------------------------------------- */

typedef struct ml_host ml_host;

/* torch/nn's split: forward, gradient to the input, gradient to the parameters.
 * `ws` is scratch of workspace(self, batch) bytes (64-byte aligned), owned by the host and
 * passed unchanged from forward to the matching backward calls: keep what backward needs
 * there, not in `self`. Nothing may be allocated in forward/backward. */
typedef struct ml_layer_vtable {
    ML_ABI_HEADER;
    /* Read options, register parameters with host->param_new, initialise them with the
     * ctx's RNG. `in` is the input shape of one example. Required. */
    int (*create)(const ml_host *host, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                  void **self, ml_err *err);
    void (*destroy)(void *self);                                    /* required */
    /* Output shape for input shape `in` (the same `in` as at create). Required. */
    int (*infer_shape)(void *self, const ml_shape *in, ml_shape *out, ml_err *err);
    /* Bytes of scratch for a batch of `batch`; NULL means none. */
    size_t (*workspace)(void *self, int32_t batch);
    int (*forward)(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                   ml_err *err);                                    /* required */
    /* Write (not accumulate) dL/din into gin. NULL: not differentiable w.r.t. its input. */
    int (*backward_input)(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                          const ml_view *gout, ml_view *gin, void *ws, ml_err *err);
    /* Accumulate dL/dparam into each param->grad. NULL: no trainable parameters.
     * One backward pass calls backward_params (if the layer has trainable parameters) and
     * then backward_input (if the previous layer needs a gradient), with the same views and
     * `ws`, and nothing else runs on the instance in between; either call may be skipped. */
    int (*backward_params)(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                           const ml_view *gout, void *ws, ml_err *err);
    /* Optional regulariser added to the loss: set *value; when scale != 0 also accumulate
     * scale * dR/dparam into the grads. Reported separately in metrics. NULL: none. */
    int (*aux_loss)(void *self, ml_ctx *ctx, float scale, double *value, ml_err *err);
    /* Optional extra state beyond parameters, for checkpoints. save with buf == NULL sets
     * *len to the size needed. load receives the version string the state was saved by. */
    int (*save)(void *self, void *buf, size_t cap, size_t *len, ml_err *err);
    int (*load)(void *self, const void *buf, size_t len, const char *saved_version,
                ml_err *err);
} ml_layer_vtable;

/* ---- loss ------------------------------------------------------------------------------ */

/* A loss reduces a batch to its mean loss. Targets are floats: class indices for the
 * classification losses (one per position of pred's leading dims), values for regression. */
typedef struct ml_loss_vtable {
    ML_ABI_HEADER;
    int (*create)(const ml_host *host, const ml_opts *opts, const ml_shape *pred,
                  const ml_shape *target, void **self, ml_err *err);
    void (*destroy)(void *self);
    /* *loss = mean over the batch; when gpred != NULL write dloss/dpred into it. */
    int (*forward)(void *self, const ml_view *pred, const ml_view *target, double *loss,
                   ml_view *gpred, ml_err *err);
} ml_loss_vtable;

/* ---- optimizer -------------------------------------------------------------------------- */

/* One parameter as the optimizer sees it: no layer internals. Host-owned. */
typedef struct ml_opt_slot {
    float *value;
    const float *grad;
    float *state;        /* state_size(self) floats per element, zeroed at start, as
                          * planes: plane k is state[k * numel .. (k + 1) * numel) */
    int64_t numel;
    uint32_t flags;      /* ml_param_flags */
    float lr_scale;      /* parameter group's multiplier of the learning rate */
    float decay_scale;   /* group's multiplier of weight decay (0 for NO_DECAY params) */
} ml_opt_slot;

typedef struct ml_optimizer_vtable {
    ML_ABI_HEADER;
    int (*create)(const ml_host *host, const ml_opts *opts, void **self, ml_err *err);
    void (*destroy)(void *self);
    /* Floats of state per parameter element (momentum: 1, adam: 2). NULL = 0. */
    int32_t (*state_size)(void *self);
    /* Update every slot. `lr_factor` comes from the host's schedule and multiplies the
     * optimizer's own lr option; `t` is the 1-based step count (bias correction). All
     * state lives in slots[i].state, so checkpoints restore it exactly. */
    int (*step)(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                ml_err *err);
} ml_optimizer_vtable;

/* ---- dataset ---------------------------------------------------------------------------- */

/* Pull-style: the host asks for examples by index. Files named in the manifest arrive as
 * string options holding local, verified paths. */
typedef struct ml_dataset_vtable {
    ML_ABI_HEADER;
    int (*open)(const ml_host *host, const ml_opts *opts, void **self, ml_err *err);
    void (*close)(void *self);
    int (*info)(void *self, ml_data_info *info, ml_err *err);
    /* Fill x (n * prod(x_shape) floats) and y (n * prod(y_shape)) for the given indices. */
    int (*read)(void *self, const int64_t *indices, int32_t n, float *x, float *y,
                ml_err *err);
    /* ---- ABI 1.0 ends here. ---- */

    /* Stored values (ABI 1.2; both NULL or both set). raw_format: the dtype the dataset
     * keeps x in (ml_dtype) and the divisor that makes it the float read() gives: read's x
     * == (float)raw / div, exactly (a division, not a product with 1/div: 255 gives
     * torchvision's ToTensor values bit for bit). read_raw: like read, x in that dtype
     * (n * prod(x_shape) values); y as read fills it. The host's pipeline reads with it,
     * transforms in the stored type and converts once. */
    int (*raw_format)(void *self, int32_t *dtype, float *div, ml_err *err);
    int (*read_raw)(void *self, const int64_t *indices, int32_t n, void *x, float *y,
                    ml_err *err);
} ml_dataset_vtable;

/* ---- transform (ABI 1.2) ---------------------------------------------------------------- */

/* apply needs float32 values (Gaussian noise, normalisation): the pipeline converts the
 * example to float before it. Without the flag, apply works on any dtype it was created
 * for (moving, copying or filling whole values: crops, flips, erasing). */
#define ML_TRANSFORM_FLOAT 1u

/* A transform maps one example in place, keeping its shape (data augmentation). The host
 * applies a recipe's list in order to every training example, each with its own random
 * stream derived from (run seed, epoch, example index, position in the list), so an
 * output depends on nothing else: not the thread count, the batch order or prefetching.
 *   create:    options (validated against the entry's schema) for examples of shape `in`
 *              and values of `dtype` (ML_DTYPE_*; F32 if flags has ML_TRANSFORM_FLOAT).
 *              Refuse what cannot work with a clear message: a crop larger than the image
 *              plus its padding, a probability outside [0, 1].
 *   workspace: scratch bytes apply needs (NULL: none); the host passes them 64-byte aligned.
 *   apply:     x holds one example (prod(in) values of the dtype), y its target values
 *              (prod(y_shape) floats; most transforms leave it). ctx is the example's random
 *              stream: only host->rng_u64, rng_uniform and rng_normal are valid on it.
 *              apply runs on the host's worker threads, several examples at once on one
 *              instance: it must not change `self`. host->error on the err given is fine.
 * MUST-pairs: destroy exactly once for every successful create. */
typedef struct ml_transform_vtable {
    ML_ABI_HEADER;
    int (*create)(const ml_host *host, const ml_opts *opts, const ml_shape *in, int32_t dtype,
                  void **self, ml_err *err);
    void (*destroy)(void *self);
    uint32_t flags;   /* ML_TRANSFORM_* */
    size_t (*workspace)(void *self);
    int (*apply)(void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err);
} ml_transform_vtable;

/* ---- host services (append only) ------------------------------------------------------ */

enum ml_log_level { ML_LOG_DEBUG = 0, ML_LOG_INFO = 1, ML_LOG_WARN = 2, ML_LOG_ERROR = 3 };

struct ml_host {
    ML_ABI_HEADER;
    /* Register an entry; copies it. Rejects bad ABI, bad names and duplicates. */
    int (*register_entry)(ml_registry *reg, const ml_entry *entry, ml_err *err);

    /* Memory: 64-byte aligned, accounted, may fail (returns NULL). free(NULL) is a no-op. */
    void *(*alloc)(size_t bytes);
    void *(*zalloc)(size_t bytes);
    void (*free)(void *ptr);

    /* Fill err (printf-style) and return code. */
    int (*error)(ml_err *err, int code, const char *fmt, ...) ML_PRINTF(3, 4);
    void (*log)(int level, const char *fmt, ...) ML_PRINTF(2, 3);

    /* Validated option values; the names must be in the entry's schema. */
    int64_t (*opt_int)(const ml_opts *opts, const char *name);
    double (*opt_float)(const ml_opts *opts, const char *name);
    int (*opt_bool)(const ml_opts *opts, const char *name);
    const char *(*opt_str)(const ml_opts *opts, const char *name);

    /* Register a parameter of the layer being created (only valid inside create).
     * Returns a host-owned parameter, or NULL with err set. Values start at zero. */
    ml_param *(*param_new)(ml_ctx *ctx, const char *name, const ml_shape *shape,
                           uint32_t flags, ml_err *err);

    /* The ctx's deterministic random stream (seeded from the run seed and the layer). */
    uint64_t (*rng_u64)(ml_ctx *ctx);
    void (*rng_uniform)(ml_ctx *ctx, float *out, int64_t n, float lo, float hi);
    void (*rng_normal)(ml_ctx *ctx, float *out, int64_t n, float mean, float stddev);

    /* 1 while training (dropout active, batchnorm updating statistics), 0 in evaluation. */
    int (*is_training)(const ml_ctx *ctx);

    /* Row-major C = alpha * op(A) op(B) + beta * C, op(X) = X or X^T (trans != 0). */
    void (*sgemm)(int trans_a, int trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c,
                  int ldc);
    /* ---- ABI 1.0 ends here. ---- */

    /* Composite layers (ABI 1.1): a layer may build itself from other registered layers
     * (paths of a multi-path block, the modules of a modular layer, a wrapped dense layer).
     * sublayer_new is valid only inside create: it validates `options` ("out=8 bias=false")
     * against the named layer's schema and creates it for input shape `in`; its parameters
     * become the parent's, named "<prefix>.<param>". The host owns the sublayer and destroys
     * it with the model. The parent passes its own ctx and a slice of its own workspace
     * (sublayer_workspace bytes, 64-byte aligned) to the calls below. sublayer_backward
     * accumulates parameter gradients when `params` != 0 and writes dL/din when gin != NULL,
     * in the documented order (parameters first). Aux losses of sublayers are the parent's
     * to report. */
    ml_sublayer *(*sublayer_new)(ml_ctx *ctx, const char *prefix, const char *layer,
                                 const char *options, const ml_shape *in, ml_err *err);
    const ml_shape *(*sublayer_out_shape)(const ml_sublayer *s);
    size_t (*sublayer_workspace)(const ml_sublayer *s, int32_t batch);
    int (*sublayer_forward)(ml_sublayer *s, ml_ctx *ctx, const ml_view *in, ml_view *out,
                            void *ws, ml_err *err);
    int (*sublayer_backward)(ml_sublayer *s, ml_ctx *ctx, const ml_view *in,
                             const ml_view *out, const ml_view *gout, ml_view *gin,
                             int params, void *ws, ml_err *err);
    /* The self pointer of a sublayer, for plugins that know its type (their own layers). */
    void *(*sublayer_self)(ml_sublayer *s);

    /* Data parallelism (ABI 1.1): fn(arg, task, worker) for every task in 0..ntasks-1,
     * split statically across up to the user's thread count; the host's sgemm runs
     * single-threaded inside, so split a batch into chunks rather than threading each
     * GEMM. worker < parallel_workers(): size per-worker scratch in workspace() with it.
     * Tasks must not call the host's error/log/param services; nested calls run serially.
     * For a fixed thread count each task always lands on the same worker (reproducible
     * reductions). */
    int32_t (*parallel_workers)(void);
    void (*parallel_for)(int32_t ntasks, void (*fn)(void *arg, int32_t task, int32_t worker),
                         void *arg);
    /* ---- ABI 1.1 ends here. Append only, and bump ML_ABI_MINOR. ---- */
};

/* ---- optional interfaces (ml_entry.extension) ------------------------------------------ */

/* "modlab.gradcheck/1": how the registry-walking gradient check should exercise a layer.
 * A layer with required options must provide it (otherwise the check fails and says so). */
#define ML_IFACE_GRADCHECK "modlab.gradcheck/1"
typedef struct ml_gradcheck_case {
    const char *options;   /* "out=3 bias=false": space-separated key=value, or "" */
    ml_shape in;           /* input shape of one example */
    int32_t int_inputs;    /* > 0: inputs are integers in [0, int_inputs) (embedding ids) */
} ml_gradcheck_case;
typedef struct ml_gradcheck_iface {
    ML_ABI_HEADER;
    int32_t ncases;
    const ml_gradcheck_case *cases;
} ml_gradcheck_iface;

/* "modlab.diagnostics/1": what a layer did, for metrics.jsonl (routing weights, module use,
 * module sizes). The host resets the layer's tallies before each training epoch and each
 * evaluation pass, calls observe after every forward pass with that batch's targets, and
 * after the pass asks for a report, which lands in metrics.jsonl under
 * "diagnostics": {"train"|"valid"|"test": {"<layer number>.<name>": <report>}}. */
#define ML_IFACE_DIAGNOSTICS "modlab.diagnostics/1"
typedef struct ml_diagnostics_iface {
    ML_ABI_HEADER;
    void (*reset)(void *self);
    /* After a forward pass of `batch` examples: their targets (class indices as floats for
     * classification, target_numel per example), NULL when the caller has none. It runs
     * in the training loop: no allocation, no I/O. */
    void (*observe)(void *self, const float *targets, int32_t batch, int32_t target_numel);
    /* One JSON object (no newline) of what was tallied since reset, into buf (cap bytes,
     * NUL-terminated); returns the length needed, like snprintf. */
    size_t (*report)(void *self, char *buf, size_t cap);
} ml_diagnostics_iface;

/* "modlab.estep/1": a layer asks the trainer for scored forward passes of the whole model
 * before a training step (the E-step of EM-trained modular layers; also how REINFORCE gets
 * its rewards). Protocol of one training step of ml_trainer_run (which knows the batch's
 * dataset indices; a bare ml_trainer_step has none and calls nothing here):
 *   n = max over layers of begin_batch(self, ids, batch, id_limit)
 *   for k in 0..n-1:  set_candidate(self, k) on every such layer; forward the batch
 *                     (training mode, no backward); the trainer scores every target row:
 *                     loglik[b * rows + r] = log p(y_br | x_b, candidate k), rows = target
 *                     rows per example (class-id targets: one per prediction row; otherwise
 *                     1, and log p = -(the loss of that example alone) * target values);
 *                     score = loglik; add_log_prior(self, score, ...) on every such layer
 *                     (each adds its own log p(a|x)); then take_scores(self, loglik, score)
 *                     on every layer: all see the same joint score.
 *   set_candidate(self, ML_ESTEP_TRAIN) on every layer, then the ordinary training step
 *   (forward, loss, backward, aux losses, optimizer), then end_batch(self).
 * Every layer sees every k, also k >= its own n (it then keeps its stored choice, say).
 * ids are borrowed for begin_batch only; they lie in [0, id_limit). Nothing
 * here allocates in the trainer; a layer may grow its own tables in begin_batch, and when
 * it cannot it returns a negative ML_ERR_* (ML_ERR_NOMEM): the step then fails, saying so,
 * rather than train on without the E-step. */
#define ML_IFACE_ESTEP "modlab.estep/1"
#define ML_ESTEP_TRAIN (-1)
typedef struct ml_estep_iface {
    ML_ABI_HEADER;
    /* Number of candidate passes wanted for this batch (0: none; < 0: an ML_ERR_*). */
    int32_t (*begin_batch)(void *self, const int64_t *ids, int32_t batch, int64_t id_limit);
    void (*set_candidate)(void *self, int32_t k);
    /* After candidate k's forward: score[b * rows + r] += this layer's log p(a_k | x). */
    void (*add_log_prior)(void *self, double *score, int32_t batch, int32_t rows);
    /* After candidate k's forward: the per-row log-likelihood and the joint score. */
    void (*take_scores)(void *self, const double *loglik, const double *score, int32_t batch,
                        int32_t rows);
    /* After the optimizer step of the batch. */
    void (*end_batch)(void *self);
} ml_estep_iface;

/* Merge layers read several nodes of a graph model (add, concat, multiply). The entry is
 * an ordinary layer whose vtable is the one-input case (create's `in` is the first input's
 * shape); a graph node with several inputs calls these instead of infer_shape, forward and
 * backward_input. in[], gin[] have nin >= 1 views, in the node's input order; a gin[k]
 * whose data is NULL needs no gradient. backward writes (never accumulates) each wanted
 * gin[k]: the host adds them up where a node feeds several readers. No parameters.
 * MUST-pairs: an entry offering this has no backward_params; infer_shapes is called once,
 * after create and before any forward, with the shapes forward will see. */
#define ML_IFACE_MERGE "modlab.merge/1"
typedef struct ml_merge_iface {
    ML_ABI_HEADER;
    int (*infer_shapes)(void *self, const ml_shape *in, int32_t nin, ml_shape *out,
                        ml_err *err);
    int (*forward)(void *self, ml_ctx *ctx, const ml_view *in, int32_t nin, ml_view *out,
                   ml_err *err);
    int (*backward)(void *self, ml_ctx *ctx, const ml_view *in, int32_t nin,
                    const ml_view *out, const ml_view *gout, ml_view *gin, ml_err *err);
} ml_merge_iface;

/* The entry point every plugin exports, named after its file. */
typedef int (*ml_plugin_init_fn)(const ml_host *host, ml_registry *reg, ml_err *err);

/* ---- inline helpers for plugins ---------------------------------------------------------
 * Header-only conveniences, compiled into each plugin (and used by the host too): nothing
 * here is a symbol of libmodlab or part of the ABI record, so adding one changes no struct
 * and needs no version bump. Each exists once so that plugins stop carrying copies. */

/* Convenience for plugins: register a list of entries (the usual body of an init function).
 * Stops at the first failure, whose error the host has filled in. */
static inline int ml_register_entries(const ml_host *host, ml_registry *reg,
                                      const ml_entry *const *entries, size_t n, ml_err *err)
{
    if (host->abi_major != ML_ABI_MAJOR)
        return ML_ERR_ABI;
    for (size_t i = 0; i < n; i++) {
        int rc = host->register_entry(reg, entries[i], err);
        if (rc)
            return rc;
    }
    return ML_OK;
}

/* Defines the plugin's one exported symbol, ml_plugin_<stem>_init, registering the listed
 * entries: `ML_PLUGIN_INIT(nn, &linear_entry, &relu_entry)` in nn.so. `stem` is the file
 * name's stem as the loader derives it (section 2 of docs/PLUGINS.md). A plugin whose init
 * must do more (check a host field, say) writes the function out instead. */
#define ML_PLUGIN_INIT(stem, ...)                                                          \
    ML_PLUGIN_EXPORT int ml_plugin_##stem##_init(const ml_host *host, ml_registry *reg,    \
                                                 ml_err *err);                             \
    int ml_plugin_##stem##_init(const ml_host *host, ml_registry *reg, ml_err *err)        \
    {                                                                                      \
        static const ml_entry *const stem##_entries[] = { __VA_ARGS__ };                   \
        return ml_register_entries(host, reg, stem##_entries,                              \
                                   sizeof stem##_entries / sizeof stem##_entries[0], err); \
    }

/* Convenience for plugins: elements in one example of `s`. */
static inline int64_t ml_shape_numel(const ml_shape *s)
{
    int64_t n = 1;
    for (int32_t i = 0; i < s->ndim; i++)
        n *= s->dim[i];
    return n;
}

/* "{3,28,28}" (the dims of `s`) for error messages; "{}" for a scalar. Always
 * NUL-terminated (cut short when cap is too small; cap must be at least 1). Returns buf. */
static inline const char *ml_shape_str(const ml_shape *s, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "{");
    for (int32_t i = 0; i < s->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ",%d" : "%d", (int)s->dim[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "}");
    return buf;
}

/* infer_shape of a layer whose output has its input's shape (activations, norms). */
static inline int ml_infer_same_shape(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    (void)self, (void)err;
    *out = *in;
    return ML_OK;
}

/* The largest of z[0..n), n >= 1 (the shift that keeps exp from overflowing). Eight
 * running maxima, not one: a single chain of dependent compares costs ~3 cycles an element
 * (10,000-class rows in the language model's E-step); `a > m ? a : m` ignores NaN either
 * way, and a NaN z[0] stays the answer as before. */
static inline float ml_maxf(const float *z, int64_t n)
{
    float lane[8];
    int64_t i = 0;
    for (int k = 0; k < 8; k++)
        lane[k] = z[0];
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            lane[k] = z[i + k] > lane[k] ? z[i + k] : lane[k];
    float mx = lane[0];
    for (int k = 1; k < 8; k++)
        mx = lane[k] > mx ? lane[k] : mx;
    for (; i < n; i++)
        mx = z[i] > mx ? z[i] : mx;
    return mx;
}

/* The sum of exp(z[i] - mx) over n floats, summed in double: a softmax's denominator. Each
 * term in float (expf, within an ulp: the arguments are floats already), into four double
 * sums so the adds do not wait on each other; libm's double exp in one running sum was
 * ~10% of the language model's profile through the E-step's ml_logsumexp. */
static inline double ml_sum_exp_shifted(const float *z, int32_t n, float mx)
{
    double acc[4] = { 0.0, 0.0, 0.0, 0.0 };
    int32_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            acc[k] += expf(z[i + k] - mx);
    double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; i < n; i++)
        sum += expf(z[i] - mx);
    return sum;
}

/* log(sum of exp(z[i])) over n >= 1 floats, max-subtracted so large logits do not
 * overflow (the log-likelihood of a class is z[y] - this). */
static inline double ml_logsumexp(const float *z, int32_t n)
{
    float mx = ml_maxf(z, n);
    return log(ml_sum_exp_shifted(z, n, mx)) + mx;
}

/* ---- optional interfaces (ml_entry.extension) ---- */

/* An ml_gradcheck_iface over the static array of cases `arr`, counting them:
 * `static const ml_gradcheck_iface gc = ML_GRADCHECK_IFACE(cases);` */
#define ML_GRADCHECK_IFACE(arr)                                                          \
    { ML_ABI_INIT(ml_gradcheck_iface),                                                   \
      .ncases = (int32_t)(sizeof(arr) / sizeof((arr)[0])), .cases = (arr) }

/* One interface an entry provides, by name, for ml_iface_find. Not part of the ABI. */
typedef struct ml_iface_ref {
    const char *name;     /* ML_IFACE_... */
    const void *iface;
} ml_iface_ref;

/* The body of an extension function: the interface named `iface` in refs[0..n), NULL when
 * it is not among them (and for a NULL name). */
static inline const void *ml_iface_find(const char *iface, const ml_iface_ref *refs, size_t n)
{
    for (size_t i = 0; iface && i < n; i++)
        if (strcmp(iface, refs[i].name) == 0)
            return refs[i].iface;
    return NULL;
}

/* Defines `static const void *fn(const char *iface)` answering the listed interfaces:
 * ML_EXTENSIONS(gs_extension, {ML_IFACE_GRADCHECK, &gc}, {ML_IFACE_DIAGNOSTICS, &diag}) */
#define ML_EXTENSIONS(fn, ...)                                                           \
    static const void *fn(const char *iface)                                             \
    {                                                                                    \
        static const ml_iface_ref fn##_refs[] = { __VA_ARGS__ };                         \
        return ml_iface_find(iface, fn##_refs, sizeof fn##_refs / sizeof fn##_refs[0]);  \
    }

/* The common case: an extension function `fn` that answers only ML_IFACE_GRADCHECK, with
 * the static array `cases`. */
#define ML_GRADCHECK_EXTENSION(fn, cases)                                                \
    static const ml_gradcheck_iface fn##_gradcheck = ML_GRADCHECK_IFACE(cases);          \
    ML_EXTENSIONS(fn, { ML_IFACE_GRADCHECK, &fn##_gradcheck })

/* ---- entries ---- */

/* An ml_entry's initializer with the vtable it points at, written in one statement (the
 * vtable is a file-scope compound literal, so it has static storage like a named one):
 *
 *   const ml_entry my_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "name", "1.0.0", "one line",
 *       options, extension, ml_layer_vtable, .create = my_create, .forward = my_forward);
 *
 * The arguments, in order: kind, name, version, summary, options (or NULL), extension (or
 * NULL), the vtable's type, then the vtable's fields as designated initializers. It spells
 * the same two structs a plugin may write out by hand; both carry ML_ABI_INIT. At file scope
 * only: inside a function the vtable would live no longer than the call. */
#define ML_ENTRY_INIT(kind_, name_, version_, summary_, options_, extension_, vt_type, ...) \
    { ML_ABI_INIT(ml_entry), .kind = (kind_), .name = (name_), .version = (version_),     \
      .summary = (summary_), .options = (options_),                                       \
      .vtable = &(const vt_type){ ML_ABI_INIT(vt_type), __VA_ARGS__ },                    \
      .extension = (extension_) }

/* ---- hashing ---- */

/* FNV-1a (Fowler-Noll-Vo): fast, not cryptographic, for in-memory tables and caches only
 * (the values are never written to disk or compared across builds). */
#define ML_FNV32_OFFSET 2166136261u
#define ML_FNV32_PRIME 16777619u
#define ML_FNV64_OFFSET 1469598103934665603ull
#define ML_FNV64_PRIME 1099511628211ull

/* The classic 32-bit FNV-1a of len bytes (a word table's hash). */
static inline uint32_t ml_fnv1a32(const void *p, size_t len)
{
    const unsigned char *b = (const unsigned char *)p;
    uint32_t h = ML_FNV32_OFFSET;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * ML_FNV32_PRIME;
    return h;
}

/* 64-bit FNV-1a over the bit patterns of n floats, one 32-bit word per step (a quarter of
 * the multiplies of a byte-wise pass): "is this the same gradient buffer as last call",
 * cheap enough to run on a whole gout every backward pass. */
static inline uint64_t ml_fnv1a64_floats(const float *x, int64_t n)
{
    uint64_t h = ML_FNV64_OFFSET;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        h = (h ^ u) * ML_FNV64_PRIME;
    }
    return h;
}

#ifdef __cplusplus
}
#endif
#endif /* MODLAB_PLUGIN_H */
