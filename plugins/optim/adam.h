/* SPDX-License-Identifier: MIT */
/* The Adam kernel, schema and vtable shared by adam.c (L2 weight decay) and adamw.c
 * (decoupled decay). */
#ifndef MODLAB_PLUGINS_OPTIM_ADAM_H
#define MODLAB_PLUGINS_OPTIM_ADAM_H

#include <modlab/plugin.h>

#include "optim_util.h"

/* Create an Adam instance from validated options; `decoupled` selects AdamW's decay. */
int ml_optim_adam_create_common(const ml_host *host, const ml_opts *opts, int decoupled,
                                void **self, ml_err *err);
int32_t ml_optim_adam_state_size(void *self);
int ml_optim_adam_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                       ml_err *err);

/* Adam's option schema, every row but the {NULL} end. AdamW's is the same but for
 * weight_decay's default and meaning (as PyTorch has them), so each schema passes those. */
#define ML_OPTIM_ADAM_OPTIONS(wd_default, wd_doc)                                          \
    { "lr", ML_OPT_FLOAT, "0.001", "learning rate (multiplied by the schedule's factor)",  \
      NULL },                                                                              \
    { "beta1", ML_OPT_FLOAT, "0.9", "decay of the running mean of gradients, in [0, 1)",   \
      NULL },                                                                              \
    { "beta2", ML_OPT_FLOAT, "0.999", "decay of the running mean of squared gradients, "   \
      "in [0, 1)", NULL },                                                                 \
    { "eps", ML_OPT_FLOAT, "1e-08", "added to the denominator for numerical stability",    \
      NULL },                                                                              \
    { "weight_decay", ML_OPT_FLOAT, wd_default, wd_doc, NULL },                            \
    { "amsgrad", ML_OPT_BOOL, "false", "use the running maximum of the second moment "     \
      "(AMSGrad)", NULL }

/* The vtable fields of both (for ML_ENTRY_INIT): only `create`, which fixes the kind of
 * decay, differs. */
#define ML_OPTIM_ADAM_FIELDS(create_fn)                                                    \
    .create = (create_fn), .destroy = ml_optim_free,                                       \
    .state_size = ml_optim_adam_state_size, .step = ml_optim_adam_step

/* One member of the family: its create (fixing the kind of decay), its schema and its entry,
 * `const ml_entry sym`. adam.c and adamw.c differ only in these arguments. */
#define ML_OPTIM_ADAM_ENTRY(sym, name, decoupled, wd_default, wd_doc, summary)             \
    static int sym##_create(const ml_host *host, const ml_opts *opts, void **self,          \
                            ml_err *err)                                                   \
    {                                                                                      \
        return ml_optim_adam_create_common(host, opts, (decoupled), self, err);            \
    }                                                                                      \
    static const ml_opt_spec sym##_options[] = {                                           \
        ML_OPTIM_ADAM_OPTIONS(wd_default, wd_doc), { NULL, 0, NULL, NULL, NULL } };        \
    const ml_entry sym = ML_ENTRY_INIT(ML_KIND_OPTIMIZER, (name), "1.0.0", (summary),      \
        sym##_options, NULL, ml_optimizer_vtable, ML_OPTIM_ADAM_FIELDS(sym##_create))

#endif
