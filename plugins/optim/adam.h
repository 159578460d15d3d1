/* SPDX-License-Identifier: MIT */
/* The Adam kernel shared by adam.c (L2 weight decay) and adamw.c (decoupled decay). */
#ifndef MODLAB_PLUGINS_OPTIM_ADAM_H
#define MODLAB_PLUGINS_OPTIM_ADAM_H

#include <modlab/plugin.h>

/* Create an Adam instance from validated options; `decoupled` selects AdamW's decay. */
int ml_optim_adam_create_common(const ml_host *host, const ml_opts *opts, int decoupled,
                                void **self, ml_err *err);
void ml_optim_adam_destroy(void *self);
int32_t ml_optim_adam_state_size(void *self);
int ml_optim_adam_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                       ml_err *err);

#endif
