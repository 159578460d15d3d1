/* SPDX-License-Identifier: MIT */
/* data.so: dataset readers. Each lives in its own file and exports one entry. */
#include <modlab/plugin.h>

#include "data_entries.h"

extern const ml_entry ml_data_synthetic_entry;

ML_PLUGIN_INIT(data,
    &ml_data_synthetic_entry, &ml_data_idx_entry, &ml_data_cifar10_entry, &ml_data_text_entry)
