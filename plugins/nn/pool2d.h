/* SPDX-License-Identifier: MIT */
/* What maxpool2d and avgpool2d share: the window geometry, its checks and the options. */
#ifndef MODLAB_PLUGINS_NN_POOL2D_H
#define MODLAB_PLUGINS_NN_POOL2D_H

#include <modlab/plugin.h>

/* {C,H,W} -> {C,OH,OW} with square kernel x kernel windows every `s` (no padding). Starts
 * with the host pointer, so nn_destroy frees it. */
typedef struct nn_pool2d {
    const ml_host *host;
    int c, h, w, k, s, oh, ow;
} nn_pool2d;

/* The options of both layers: kernel, stride (0 = the kernel). */
extern const ml_opt_spec nn_pool2d_options[];

/* Reads and checks the options against `in` and allocates the instance; `who` names the
 * layer in messages. */
int nn_pool2d_create(const char *who, const ml_host *host, const ml_opts *opts,
                     const ml_shape *in, void **self, ml_err *err);
/* {C,OH,OW}: a vtable's infer_shape. */
int nn_pool2d_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err);

#endif
