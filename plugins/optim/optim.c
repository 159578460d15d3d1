/* SPDX-License-Identifier: MIT */
/* optim.so: optimizers. Each lives in its own file and exports one entry. */
#include <modlab/plugin.h>

#include "optim_entries.h"

static const ml_entry *const entries[] = {
    &ml_optim_sgd_entry,
    &ml_optim_adam_entry,
    &ml_optim_adamw_entry,
    &ml_optim_rmsprop_entry,
};

ML_PLUGIN_EXPORT int ml_plugin_optim_init(const ml_host *host, ml_registry *reg, ml_err *err);

int ml_plugin_optim_init(const ml_host *host, ml_registry *reg, ml_err *err)
{
    return ml_register_entries(host, reg, entries, sizeof entries / sizeof entries[0], err);
}
