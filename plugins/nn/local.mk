# SPDX-License-Identifier: MIT
# nn.so: ordinary layers and losses.
plugin_LTLIBRARIES += plugins/nn/nn.la
plugins_nn_nn_la_SOURCES = plugins/nn/nn.c plugins/nn/linear.c plugins/nn/relu.c \
	plugins/nn/cross_entropy.c
plugins_nn_nn_la_CFLAGS = $(AM_CFLAGS) $(BLAS_CFLAGS)
plugins_nn_nn_la_LDFLAGS = $(plugin_ldflags)
plugins_nn_nn_la_LIBADD = -lm
