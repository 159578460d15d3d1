/* SPDX-License-Identifier: MIT */
/* nn.so: the ordinary layers and losses, a file each (or a file for a family that shares its
 * kernels: saturating.c's sigmoid and tanh, softmax.c's softmax and log_softmax); this file
 * only registers them. */
#include <modlab/plugin.h>

#include "nn_entries.h"

ML_PLUGIN_INIT(nn,
    &ml_nn_linear_entry, &ml_nn_relu_entry, &ml_nn_cross_entropy_entry, &ml_nn_flatten_entry,
    &ml_nn_reshape_entry, &ml_nn_leaky_relu_entry, &ml_nn_tanh_entry, &ml_nn_sigmoid_entry,
    &ml_nn_gelu_entry, &ml_nn_softmax_entry, &ml_nn_log_softmax_entry, &ml_nn_dropout_entry,
    &ml_nn_conv2d_entry, &ml_nn_maxpool2d_entry, &ml_nn_avgpool2d_entry,
    &ml_nn_global_avgpool_entry, &ml_nn_batchnorm_entry, &ml_nn_layernorm_entry,
    &ml_nn_embedding_entry, &ml_nn_lstm_entry, &ml_nn_nll_entry, &ml_nn_mse_entry,
    &ml_nn_add_entry, &ml_nn_mul_entry, &ml_nn_concat_entry)
