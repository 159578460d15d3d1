/* SPDX-License-Identifier: MIT */
/* nn.so: the ordinary layers and losses. Each lives in its own file and exports one entry;
 * this file only registers them. */
#include <modlab/plugin.h>

#include "nn_entries.h"

static const ml_entry *const entries[] = {
    &ml_nn_linear_entry,
    &ml_nn_relu_entry,
    &ml_nn_cross_entropy_entry,
    &ml_nn_flatten_entry,
    &ml_nn_reshape_entry,
    &ml_nn_leaky_relu_entry,
    &ml_nn_tanh_entry,
    &ml_nn_sigmoid_entry,
    &ml_nn_gelu_entry,
    &ml_nn_softmax_entry,
    &ml_nn_log_softmax_entry,
    &ml_nn_dropout_entry,
    &ml_nn_conv2d_entry,
    &ml_nn_maxpool2d_entry,
    &ml_nn_avgpool2d_entry,
    &ml_nn_global_avgpool_entry,
    &ml_nn_batchnorm_entry,
    &ml_nn_layernorm_entry,
    &ml_nn_embedding_entry,
    &ml_nn_lstm_entry,
    &ml_nn_nll_entry,
    &ml_nn_mse_entry,
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
