/* SPDX-License-Identifier: MIT */
/* optim.so: optimizers. Each lives in its own file and exports one entry. */
#include <modlab/plugin.h>

#include "optim_entries.h"

ML_PLUGIN_INIT(optim,
    &ml_optim_sgd_entry, &ml_optim_adam_entry, &ml_optim_adamw_entry, &ml_optim_rmsprop_entry)
