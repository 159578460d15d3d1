/* SPDX-License-Identifier: MIT */
/* data.so: dataset readers. Each lives in its own file and exports one entry. */
#include <modlab/plugin.h>

#include "data_entries.h"

extern const ml_entry ml_data_synthetic_entry;

static const ml_entry *const entries[] = {
    &ml_data_synthetic_entry,
    &ml_data_idx_entry,
    &ml_data_cifar10_entry,
    &ml_data_text_entry,
};

ML_PLUGIN_EXPORT int ml_plugin_data_init(const ml_host *host, ml_registry *reg, ml_err *err);

int ml_plugin_data_init(const ml_host *host, ml_registry *reg, ml_err *err)
{
    return ml_register_entries(host, reg, entries, sizeof entries / sizeof entries[0], err);
}
