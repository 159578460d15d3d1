/* SPDX-License-Identifier: MIT */
/* ABI fixture plugins: one source, built several ways (-DFX_*), each breaking (or, for
 * FX_OLD, exercising) one rule of the loader (FX_ANSI, FX_NLVER: strings that must be
 * printable). STEM names the file and so its entry point. */
#include <stddef.h>
#include <string.h>

#include <modlab/plugin.h>

#define CAT3(a, b, c) a##b##c
#define ENTRY_NAME(stem) CAT3(ml_plugin_, stem, _init)
#ifdef FX_NOSYM
#define INIT ml_plugin_some_other_name_init
#else
#define INIT ENTRY_NAME(STEM)
#endif

typedef struct ident {
    const ml_host *h;
} ident;

static int id_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                     void **self, ml_err *err)
{
    ident *s = h->zalloc(sizeof *s);
    if (!s)
        return h->error(err, ML_ERR_NOMEM, "fixture: out of memory");
    s->h = h;
    *self = s;
    return ML_OK;
}

static void id_destroy(void *self)
{
    ident *s = self;
    s->h->free(s);
}

static int id_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    *out = *in;
    return ML_OK;
}

static int id_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err)
{
    memcpy(out->data, in->data, (size_t)(in->batch * ml_shape_numel(&in->shape)) * sizeof(float));
    return ML_OK;
}

static int id_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                       const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    memcpy(gin->data, gout->data,
           (size_t)(in->batch * ml_shape_numel(&in->shape)) * sizeof(float));
    return ML_OK;
}

static const ml_layer_vtable vtable = {
    .abi_major = ML_ABI_MAJOR,
    .abi_minor = ML_ABI_MINOR,
#ifdef FX_OLD
    /* As a plugin compiled before aux_loss/save/load existed would have it. */
    .struct_size = offsetof(ml_layer_vtable, aux_loss),
#else
    .struct_size = sizeof(ml_layer_vtable),
#endif
    .create = id_create,
    .destroy = id_destroy,
    .infer_shape = id_infer,
    .forward = id_forward,
    .backward_input = id_backward,
};

static const ml_entry entry = {
#ifdef FX_MAJOR
    .abi_major = ML_ABI_MAJOR + 1,
#else
    .abi_major = ML_ABI_MAJOR,
#endif
#ifdef FX_MINOR
    .abi_minor = ML_ABI_MINOR + 1,
#else
    .abi_minor = ML_ABI_MINOR,
#endif
#ifdef FX_OLD
    .struct_size = offsetof(ml_entry, extension),   /* no `extension` field yet */
#else
    .struct_size = sizeof(ml_entry),
#endif
    .kind = ML_KIND_LAYER,
#ifdef FX_DUP
    .name = "linear",
#else
    .name = "fx_identity_" FX_TAG,
#endif
#ifdef FX_NLVER
    .version = "0.1.0\nlayer     forged           9.9.9    1.1  /usr/lib/modlab/nn.so",
#else
    .version = "0.1.0",
#endif
#ifdef FX_ANSI
    .summary = "ABI fixture \033[2J\033[31mred, and the screen cleared\033[0m",
#else
    .summary = "ABI fixture",
#endif
    .vtable = &vtable,
#ifndef FX_OLD
    .extension = NULL,
#endif
};

ML_PLUGIN_EXPORT int INIT(const ml_host *host, ml_registry *reg, ml_err *err);

int INIT(const ml_host *host, ml_registry *reg, ml_err *err)
{
    return host->register_entry(reg, &entry, err);
}
