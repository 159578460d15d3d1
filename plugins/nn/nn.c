/* SPDX-License-Identifier: MIT */
/* nn.so: the ordinary layers and losses. Each lives in its own file and exports one entry;
 * this file only registers them. */
#include <modlab/plugin.h>

extern const ml_entry ml_nn_linear_entry, ml_nn_relu_entry, ml_nn_cross_entropy_entry;

static const ml_entry *const entries[] = {
    &ml_nn_linear_entry,
    &ml_nn_relu_entry,
    &ml_nn_cross_entropy_entry,
};

ML_PLUGIN_EXPORT int ml_plugin_nn_init(const ml_host *host, ml_registry *reg, ml_err *err);

int ml_plugin_nn_init(const ml_host *host, ml_registry *reg, ml_err *err)
{
    if (host->abi_major != ML_ABI_MAJOR)
        return ML_ERR_ABI;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        int rc = host->register_entry(reg, entries[i], err);
        if (rc)
            return rc;
    }
    return ML_OK;
}
