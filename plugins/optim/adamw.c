/* SPDX-License-Identifier: MIT */
/* AdamW (Loshchilov & Hutter): Adam with weight decay applied to the weights, not the grad. */
#include "adam.h"
#include "optim_entries.h"

static int adamw_create(const ml_host *host, const ml_opts *opts, void **self, ml_err *err)
{
    return ml_optim_adam_create_common(host, opts, 1, self, err);
}

/* Adam's options; only weight_decay's default and meaning differ (PyTorch's AdamW). */
static const ml_opt_spec adamw_options[] = {
    ML_OPTIM_ADAM_OPTIONS("0.01", "decoupled decay: each step multiplies the weights by "
                          "1 - lr * weight_decay"),
    { NULL, 0, NULL, NULL, NULL },
};

const ml_entry ml_optim_adamw_entry = ML_ENTRY_INIT(ML_KIND_OPTIMIZER, "adamw", "1.0.0",
    "AdamW: Adam with decoupled weight decay (PyTorch torch.optim.AdamW semantics)",
    adamw_options, NULL, ml_optimizer_vtable, ML_OPTIM_ADAM_FIELDS(adamw_create));
