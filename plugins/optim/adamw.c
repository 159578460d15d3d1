/* SPDX-License-Identifier: MIT */
/* AdamW (Loshchilov & Hutter): Adam with weight decay applied to the weights, not the grad. */
#include "adam.h"
#include "optim_entries.h"

static int adamw_create(const ml_host *host, const ml_opts *opts, void **self, ml_err *err)
{
    return ml_optim_adam_create_common(host, opts, 1, self, err);
}

/* Same options as adam; only weight_decay's default and meaning differ (PyTorch's AdamW). */
static const ml_opt_spec adamw_options[] = {
    { "lr", ML_OPT_FLOAT, "0.001", "learning rate (multiplied by the schedule's factor)",
      NULL },
    { "beta1", ML_OPT_FLOAT, "0.9", "decay of the running mean of gradients, in [0, 1)",
      NULL },
    { "beta2", ML_OPT_FLOAT, "0.999", "decay of the running mean of squared gradients, "
      "in [0, 1)", NULL },
    { "eps", ML_OPT_FLOAT, "1e-08", "added to the denominator for numerical stability",
      NULL },
    { "weight_decay", ML_OPT_FLOAT, "0.01", "decoupled decay: each step multiplies the "
      "weights by 1 - lr * weight_decay", NULL },
    { "amsgrad", ML_OPT_BOOL, "false", "use the running maximum of the second moment "
      "(AMSGrad)", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_optimizer_vtable adamw_vtable = {
    ML_ABI_INIT(ml_optimizer_vtable),
    .create = adamw_create,
    .destroy = ml_optim_adam_destroy,
    .state_size = ml_optim_adam_state_size,
    .step = ml_optim_adam_step,
};

const ml_entry ml_optim_adamw_entry = {
    ML_ABI_INIT(ml_entry),
    .kind = ML_KIND_OPTIMIZER,
    .name = "adamw",
    .version = "1.0.0",
    .summary = "AdamW: Adam with decoupled weight decay (PyTorch torch.optim.AdamW semantics)",
    .options = adamw_options,
    .vtable = &adamw_vtable,
};
