/* SPDX-License-Identifier: MIT */
/* `plugin check` breadcrumbs: thin wrappers around each vtable function of the entry being
 * checked. A wrapper costs a pointer swap and a short copy, which the gradient check's
 * thousands of forward calls do not notice. Wrapping the registry's copy (rather than
 * instrumenting model.c) keeps the training hot path free of any of this. */
#include "sdk/check_calls.h"

#include <stdio.h>
#include <string.h>

static ml_check_crumb *crumb;
static const char *current;
static ml_layer_vtable o_layer;
static ml_loss_vtable o_loss;
static ml_optimizer_vtable o_opt;
static ml_dataset_vtable o_data;
static ml_transform_vtable o_tf;

void mli_check_crumb_use(ml_check_crumb *c)
{
    crumb = c;
    current = NULL;
}

const char *mli_check_call_enter(const char *name)
{
    const char *prev = current;
    current = name;
    if (crumb)
        snprintf(crumb->call, sizeof crumb->call, "%s", name ? name : "");
    return prev;
}

void mli_check_call_leave(const char *prev)
{
    mli_check_call_enter(prev);
}

/* One wrapper: enter NAME, call the original, leave. */
#define WRAP(ret, fn, orig, name, params, args)                                             \
    static ret fn params                                                                    \
    {                                                                                       \
        const char *prev_ = mli_check_call_enter(name);                                      \
        ret r_ = orig args;                                                                 \
        mli_check_call_leave(prev_);                                                         \
        return r_;                                                                          \
    }
#define WRAP_VOID(fn, orig, name, params, args)                                             \
    static void fn params                                                                   \
    {                                                                                       \
        const char *prev_ = mli_check_call_enter(name);                                      \
        orig args;                                                                          \
        mli_check_call_leave(prev_);                                                         \
    }

WRAP(int, l_create, o_layer.create, "create",
     (const ml_host *h, ml_ctx *ctx, const ml_opts *o, const ml_shape *in, void **self,
      ml_err *err), (h, ctx, o, in, self, err))
WRAP_VOID(l_destroy, o_layer.destroy, "destroy", (void *self), (self))
WRAP(int, l_infer, o_layer.infer_shape, "infer_shape",
     (void *self, const ml_shape *in, ml_shape *out, ml_err *err), (self, in, out, err))
WRAP(size_t, l_workspace, o_layer.workspace, "workspace", (void *self, int32_t b), (self, b))
WRAP(int, l_forward, o_layer.forward, "forward",
     (void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws, ml_err *err),
     (self, ctx, in, out, ws, err))
WRAP(int, l_bin, o_layer.backward_input, "backward_input",
     (void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out, const ml_view *gout,
      ml_view *gin, void *ws, ml_err *err), (self, ctx, in, out, gout, gin, ws, err))
WRAP(int, l_bparams, o_layer.backward_params, "backward_params",
     (void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out, const ml_view *gout,
      void *ws, ml_err *err), (self, ctx, in, out, gout, ws, err))
WRAP(int, l_aux, o_layer.aux_loss, "aux_loss",
     (void *self, ml_ctx *ctx, float scale, double *v, ml_err *err),
     (self, ctx, scale, v, err))
WRAP(int, l_save, o_layer.save, "save",
     (void *self, void *buf, size_t cap, size_t *len, ml_err *err),
     (self, buf, cap, len, err))
WRAP(int, l_load, o_layer.load, "load",
     (void *self, const void *buf, size_t len, const char *ver, ml_err *err),
     (self, buf, len, ver, err))

WRAP(int, s_create, o_loss.create, "create",
     (const ml_host *h, const ml_opts *o, const ml_shape *p, const ml_shape *t, void **self,
      ml_err *err), (h, o, p, t, self, err))
WRAP_VOID(s_destroy, o_loss.destroy, "destroy", (void *self), (self))
WRAP(int, s_forward, o_loss.forward, "forward",
     (void *self, const ml_view *p, const ml_view *t, double *loss, ml_view *g, ml_err *err),
     (self, p, t, loss, g, err))

WRAP(int, o_create, o_opt.create, "create",
     (const ml_host *h, const ml_opts *o, void **self, ml_err *err), (h, o, self, err))
WRAP_VOID(o_destroy, o_opt.destroy, "destroy", (void *self), (self))
WRAP(int32_t, o_state, o_opt.state_size, "state_size", (void *self), (self))
WRAP(int, o_step, o_opt.step, "step",
     (void *self, ml_opt_slot *s, int32_t n, float f, int64_t t, ml_err *err),
     (self, s, n, f, t, err))

WRAP(int, d_open, o_data.open, "open",
     (const ml_host *h, const ml_opts *o, void **self, ml_err *err), (h, o, self, err))
WRAP_VOID(d_close, o_data.close, "close", (void *self), (self))
WRAP(int, d_info, o_data.info, "info", (void *self, ml_data_info *i, ml_err *err),
     (self, i, err))
WRAP(int, d_read, o_data.read, "read",
     (void *self, const int64_t *idx, int32_t n, float *x, float *y, ml_err *err),
     (self, idx, n, x, y, err))

WRAP(int, d_raw_format, o_data.raw_format, "raw_format",
     (void *self, int32_t *dtype, float *div, ml_err *err), (self, dtype, div, err))
WRAP(int, d_read_raw, o_data.read_raw, "read_raw",
     (void *self, const int64_t *idx, int32_t n, void *x, float *y, ml_err *err),
     (self, idx, n, x, y, err))

WRAP(int, t_create, o_tf.create, "create",
     (const ml_host *h, const ml_opts *o, const ml_shape *in, int32_t dtype, void **self,
      ml_err *err), (h, o, in, dtype, self, err))
WRAP_VOID(t_destroy, o_tf.destroy, "destroy", (void *self), (self))
WRAP(size_t, t_workspace, o_tf.workspace, "workspace", (void *self), (self))
WRAP(int, t_apply, o_tf.apply, "apply",
     (void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err),
     (self, ctx, x, y, ws, err))

/* Swap in a wrapper only where the plugin has a function: NULL keeps its meaning. */
#define SWAP(vt, field, fn)                                                                 \
    if ((vt).field)                                                                         \
        (vt).field = fn

void mli_check_wrap(ml_reg_entry *re)
{
    switch (re->entry.kind) {
    case ML_KIND_LAYER:
        o_layer = re->vt.layer;
        SWAP(re->vt.layer, create, l_create);
        SWAP(re->vt.layer, destroy, l_destroy);
        SWAP(re->vt.layer, infer_shape, l_infer);
        SWAP(re->vt.layer, workspace, l_workspace);
        SWAP(re->vt.layer, forward, l_forward);
        SWAP(re->vt.layer, backward_input, l_bin);
        SWAP(re->vt.layer, backward_params, l_bparams);
        SWAP(re->vt.layer, aux_loss, l_aux);
        SWAP(re->vt.layer, save, l_save);
        SWAP(re->vt.layer, load, l_load);
        break;
    case ML_KIND_LOSS:
        o_loss = re->vt.loss;
        SWAP(re->vt.loss, create, s_create);
        SWAP(re->vt.loss, destroy, s_destroy);
        SWAP(re->vt.loss, forward, s_forward);
        break;
    case ML_KIND_OPTIMIZER:
        o_opt = re->vt.optimizer;
        SWAP(re->vt.optimizer, create, o_create);
        SWAP(re->vt.optimizer, destroy, o_destroy);
        SWAP(re->vt.optimizer, state_size, o_state);
        SWAP(re->vt.optimizer, step, o_step);
        break;
    case ML_KIND_DATASET:
        o_data = re->vt.dataset;
        SWAP(re->vt.dataset, open, d_open);
        SWAP(re->vt.dataset, close, d_close);
        SWAP(re->vt.dataset, info, d_info);
        SWAP(re->vt.dataset, read, d_read);
        SWAP(re->vt.dataset, raw_format, d_raw_format);
        SWAP(re->vt.dataset, read_raw, d_read_raw);
        break;
    case ML_KIND_TRANSFORM:
        o_tf = re->vt.transform;
        SWAP(re->vt.transform, create, t_create);
        SWAP(re->vt.transform, destroy, t_destroy);
        SWAP(re->vt.transform, workspace, t_workspace);
        SWAP(re->vt.transform, apply, t_apply);
        break;
    default:
        break;
    }
}

void mli_check_unwrap(ml_reg_entry *re)
{
    switch (re->entry.kind) {
    case ML_KIND_LAYER: re->vt.layer = o_layer; break;
    case ML_KIND_LOSS: re->vt.loss = o_loss; break;
    case ML_KIND_OPTIMIZER: re->vt.optimizer = o_opt; break;
    case ML_KIND_DATASET: re->vt.dataset = o_data; break;
    case ML_KIND_TRANSFORM: re->vt.transform = o_tf; break;
    default: break;
    }
}
