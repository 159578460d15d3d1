/* SPDX-License-Identifier: MIT */
/* The nn plugin's entries, one per file; nn.c registers them in its list. */
#ifndef MODLAB_PLUGINS_NN_ENTRIES_H
#define MODLAB_PLUGINS_NN_ENTRIES_H

#include <modlab/plugin.h>

extern const ml_entry ml_nn_linear_entry;
extern const ml_entry ml_nn_relu_entry;
extern const ml_entry ml_nn_add_entry;
extern const ml_entry ml_nn_mul_entry;
extern const ml_entry ml_nn_concat_entry;
extern const ml_entry ml_nn_cross_entropy_entry;
extern const ml_entry ml_nn_flatten_entry;
extern const ml_entry ml_nn_reshape_entry;
extern const ml_entry ml_nn_leaky_relu_entry;
extern const ml_entry ml_nn_tanh_entry;
extern const ml_entry ml_nn_sigmoid_entry;
extern const ml_entry ml_nn_gelu_entry;
extern const ml_entry ml_nn_softmax_entry;
extern const ml_entry ml_nn_log_softmax_entry;
extern const ml_entry ml_nn_dropout_entry;
extern const ml_entry ml_nn_conv2d_entry;
extern const ml_entry ml_nn_maxpool2d_entry;
extern const ml_entry ml_nn_avgpool2d_entry;
extern const ml_entry ml_nn_global_avgpool_entry;
extern const ml_entry ml_nn_batchnorm_entry;
extern const ml_entry ml_nn_layernorm_entry;
extern const ml_entry ml_nn_embedding_entry;
extern const ml_entry ml_nn_lstm_entry;
extern const ml_entry ml_nn_nll_entry;
extern const ml_entry ml_nn_mse_entry;

#endif
