/* SPDX-License-Identifier: MIT */
/* The pooling geometry of maxpool2d and avgpool2d (pool2d.h). */
#include "pool2d.h"

#include "nn_common.h"

const ml_opt_spec nn_pool2d_options[] = {
    { "kernel", ML_OPT_INT, NULL, "square window size", NULL },
    { "stride", ML_OPT_INT, "0", "step between windows; 0 means the kernel size", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

int nn_pool2d_create(const char *who, const ml_host *host, const ml_opts *opts,
                     const ml_shape *in, void **self, ml_err *err)
{
    char sb[96];
    int64_t k = host->opt_int(opts, "kernel"), s = host->opt_int(opts, "stride");
    nn_pool2d *p;
    if (s == 0)
        s = k;
    if (in->ndim != 3)
        return host->error(err, ML_ERR_SHAPE, "%s: input must be {C,H,W}, got %d dims %s",
                           who, (int)in->ndim, ml_shape_str(in, sb, sizeof sb));
    if (k < 1 || s < 1 || k > 4096 || s > 4096)
        return host->error(err, ML_ERR_INVALID,
                           "%s: need kernel >= 1 and stride >= 1 (0 = kernel), got "
                           "kernel=%lld stride=%lld", who, (long long)k, (long long)s);
    if (in->dim[1] < k || in->dim[2] < k)
        return host->error(err, ML_ERR_SHAPE,
                           "%s: kernel %lld is bigger than the input %s; use a smaller "
                           "kernel or pool earlier",
                           who, (long long)k, ml_shape_str(in, sb, sizeof sb));
    p = host->alloc(sizeof *p);
    if (!p)
        return host->error(err, ML_ERR_NOMEM, "%s: out of memory", who);
    p->host = host;
    p->c = in->dim[0];
    p->h = in->dim[1];
    p->w = in->dim[2];
    p->k = (int)k;
    p->s = (int)s;
    p->oh = (p->h - p->k) / p->s + 1;
    p->ow = (p->w - p->k) / p->s + 1;
    *self = p;
    return 0;
}

int nn_pool2d_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    const nn_pool2d *p = self;
    *out = (ml_shape){ 3, { p->c, p->oh, p->ow } };
    return 0;
}
