/* SPDX-License-Identifier: MIT */
/* Composite layers: the host creates registered layers on behalf of a layer being created,
 * so a multi-path block or a modular layer reuses linear/conv2d/batchnorm instead of
 * copying them. The sublayer's parameters are registered as the parent's (prefixed), so
 * optimizers, checkpoints and the gradient check see them with no special case. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "runtime/model.h"
#include "runtime/opts.h"

ml_sublayer *mli_sublayer_new(ml_ctx *ctx, const char *prefix, const char *layer,
                             const char *options, const ml_shape *in, ml_err *err)
{
    ml_model *m = ctx->model;
    const char *parent = m->layers[ctx->layer].entry.name;
    const ml_reg_entry *re;
    ml_opts *opts = NULL;
    ml_sublayer *s = NULL;
    char owner[160];
    int rc;
    if (!ctx->creating)
        return mli_error(err, ML_ERR_INVALID, "%s: sublayer_new called outside create",
                        parent), NULL;
    if (!prefix || !*prefix || strlen(ctx->prefix) + strlen(prefix) + 2 > sizeof ctx->prefix)
        return mli_error(err, ML_ERR_INVALID, "%s: sublayer prefix '%s' empty or too long",
                        parent, prefix ? prefix : ""), NULL;
    if (!(re = mli_registry_lookup(m->reg, ML_KIND_LAYER, layer, err)))
        return mli_error_prefix(err, "%s: sublayer '%s'", parent, prefix), NULL;
    snprintf(owner, sizeof owner, "%s: sublayer '%s' (%s)", parent, prefix, layer);
    if (!(opts = ml_opts_new(err)))
        return NULL;
    if ((rc = ml_opts_parse(opts, options ? options : "", err)) ||
        (rc = ml_opts_validate(opts, re->entry.options, owner, err)))
        goto fail;
    if (!(s = mli_zalloc(sizeof *s))) {
        mli_error(err, ML_ERR_NOMEM, "%s: out of memory", owner);
        goto fail;
    }
    s->entry = re->entry;
    s->vt = re->vt.layer;
    s->in = *in;
    s->ctx = *ctx;
    snprintf(s->ctx.prefix, sizeof s->ctx.prefix, "%s%s.", ctx->prefix, prefix);
    /* Seeded apart from the parent's stream: adding a sublayer does not shift the parent's
     * own initialisation, and two sublayers never share a stream. */
    mli_rng_init(&s->ctx.rng, mli_rng_next(&ctx->rng), 0x5ab1a7e5ULL);
    if ((rc = s->vt.create(mli_host_table(), &s->ctx, opts, in, &s->self, err))) {
        s->self = NULL;
        mli_error_prefix(err, "%s", owner);
        goto fail;
    }
    s->ctx.creating = 0;
    if ((rc = s->vt.infer_shape(s->self, in, &s->out, err))) {
        mli_error_prefix(err, "%s", owner);
        goto fail;
    }
    ml_opts_free(opts);
    s->next = m->subs;
    m->subs = s;
    return s;
fail:
    if (s && s->self)
        s->vt.destroy(s->self);
    mli_free(s);
    ml_opts_free(opts);
    return NULL;
}

const ml_shape *mli_sublayer_out_shape(const ml_sublayer *s) { return &s->out; }
void *mli_sublayer_self(ml_sublayer *s) { return s->self; }

size_t mli_sublayer_workspace(const ml_sublayer *s, int32_t batch)
{
    return s->vt.workspace ? s->vt.workspace(s->self, batch) : 0;
}

int mli_sublayer_forward(ml_sublayer *s, ml_ctx *ctx, const ml_view *in, ml_view *out,
                        void *ws, ml_err *err)
{
    int rc = s->vt.forward(s->self, ctx, in, out, ws, err);
    return rc ? mli_error_prefix(err, "%s%s", s->ctx.prefix, s->entry.name) : ML_OK;
}

int mli_sublayer_backward(ml_sublayer *s, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                         const ml_view *gout, ml_view *gin, int params, void *ws,
                         ml_err *err)
{
    int rc = ML_OK;
    if (params && s->vt.backward_params)
        rc = s->vt.backward_params(s->self, ctx, in, out, gout, ws, err);
    if (!rc && gin) {
        if (!s->vt.backward_input)
            return mli_error(err, ML_ERR_INVALID, "%s%s passes no gradient to its input",
                            s->ctx.prefix, s->entry.name);
        rc = s->vt.backward_input(s->self, ctx, in, out, gout, gin, ws, err);
    }
    return rc ? mli_error_prefix(err, "%s%s", s->ctx.prefix, s->entry.name) : ML_OK;
}

void mli_sublayers_free(ml_sublayer *head)
{
    while (head) {
        ml_sublayer *next = head->next;
        head->vt.destroy(head->self);
        mli_free(head);
        head = next;
    }
}
