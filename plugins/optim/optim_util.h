/* SPDX-License-Identifier: MIT */
/* Shared by the optimizers of optim.so: kernel scaffolding, slot filtering, option checks.
 *
 * State layout (all optimizers here): slot->state holds state_size planes of numel floats,
 * plane k at state + k * numel (Adam: exp_avg then exp_avg_sq), so each plane is a tensor
 * shaped like the parameter, as PyTorch's state_dict has it, and the loops stay unit-stride.
 *
 * Scaling: the effective learning rate of a slot is lr * lr_factor * slot->lr_scale and its
 * weight decay weight_decay * slot->decay_scale. The host folds ML_PARAM_NO_DECAY into
 * decay_scale (always 0 for such params), so the optimizers read only decay_scale. A slot with
 * lr_scale 0 is frozen: neither value nor state changes, unlike lr = 0 or a schedule factor of
 * 0, which (as in PyTorch) still advance the moment estimates. */
#ifndef MODLAB_PLUGINS_OPTIM_UTIL_H
#define MODLAB_PLUGINS_OPTIM_UTIL_H

#include <math.h>
#include <string.h>

#include <modlab/plugin.h>

/* Update kernels: each optimizer writes one element's update once (ML_OPTIM_INLINE, with
 * flags that are constants at each use) and stamps out one ML_OPTIM_NOINLINE loop per flag
 * combination. The loops run in blocks of a fixed ML_OPTIM_BLOCK elements plus a tail,
 * because GCC's -O2 cost model vectorises only loops whose trip count is a known multiple
 * of the vector width, and they must not be inlined, because GCC then drops the restrict
 * qualifiers that prove the state planes do not overlap. local.mk adds -fno-math-errno so
 * that sqrtf vectorises too. Vector and scalar code round alike (nothing is reassociated),
 * so results do not depend on the split. About 3-4x faster at -O2. */
#if defined(__GNUC__)
#define ML_OPTIM_INLINE static inline __attribute__((always_inline))
#define ML_OPTIM_NOINLINE static __attribute__((noinline))
#else
#define ML_OPTIM_INLINE static inline
#define ML_OPTIM_NOINLINE static
#endif
#define ML_OPTIM_BLOCK 8

/* for (i = 0; i < numel; i++) STMT, as fixed-size blocks and a tail (see above). */
#define ML_OPTIM_FOR(i, numel, STMT)                                                       \
    do {                                                                                   \
        int64_t i = 0;                                                                     \
        for (int64_t b_ = 0; b_ + ML_OPTIM_BLOCK <= (numel); b_ += ML_OPTIM_BLOCK)         \
            for (int u_ = 0; u_ < ML_OPTIM_BLOCK; u_++) {                                  \
                i = b_ + u_;                                                               \
                STMT;                                                                      \
            }                                                                              \
        for (i = (numel) / ML_OPTIM_BLOCK * ML_OPTIM_BLOCK; i < (numel); i++)              \
            STMT;                                                                          \
    } while (0)

/* True when the optimizer must leave the slot alone: not trainable, no gradient this
 * step (PyTorch skips params whose .grad is None), frozen by its group, or empty. */
static inline int ml_optim_skip(const ml_opt_slot *s)
{
    return (s->flags & (ML_PARAM_BUFFER | ML_PARAM_STRUCTURAL)) || s->grad == NULL
        || s->value == NULL || s->lr_scale == 0.0f || s->numel <= 0;
}

/* Every optimizer instance here starts with its host pointer: destroy gets no host. */
typedef struct ml_optim_base {
    const ml_host *host;
} ml_optim_base;

/* The end of every create here: a host-owned copy of the validated settings at `v` (`bytes`
 * long, an instance that starts with the host pointer) into *self. */
static inline int ml_optim_keep(const ml_host *host, const void *v, size_t bytes, void **self,
                                ml_err *err)
{
    void *p = host->alloc(bytes);
    if (!p)
        return host->error(err, ML_ERR_NOMEM, "out of memory creating the optimizer");
    memcpy(p, v, bytes);
    *self = p;
    return 0;
}

/* The destroy of every optimizer here. */
static inline void ml_optim_free(void *self)
{
    if (self)
        ((ml_optim_base *)self)->host->free(self);
}

/* Read a float option and check lo <= v (< or <=) hi; NaN fails every comparison.
 * Messages do not name the optimizer: the host prefixes "optimizer NAME: " to create and
 * step errors. */
static inline int ml_optim_opt_range(const ml_host *host, const ml_opts *opts,
                                     const char *name, double lo, double hi, int hi_open,
                                     double *out, ml_err *err)
{
    double v = host->opt_float(opts, name);
    if (v >= lo && (hi_open ? v < hi : v <= hi)) {
        *out = v;
        return 0;
    }
    if (isinf(hi))
        return host->error(err, ML_ERR_INVALID, "option %s=%g is out of range: use a value "
                           ">= %g", name, v, lo);
    return host->error(err, ML_ERR_INVALID, "option %s=%g is out of range: use a value in "
                       "[%g, %g%s", name, v, lo, hi, hi_open ? ")" : "]");
}

#endif
