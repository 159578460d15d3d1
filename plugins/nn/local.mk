# SPDX-License-Identifier: MIT
# nn.so: ordinary layers and losses.
plugin_LTLIBRARIES += plugins/nn/nn.la
plugins_nn_nn_la_SOURCES = plugins/nn/nn.c plugins/nn/linear.c plugins/nn/relu.c \
	plugins/nn/cross_entropy.c
plugins_nn_nn_la_CFLAGS = $(AM_CFLAGS) $(BLAS_CFLAGS)
plugins_nn_nn_la_LDFLAGS = $(plugin_ldflags)
plugins_nn_nn_la_LIBADD = -lm
# Layers and losses beyond the first slice; nn.c registers them through nn_entries.h.
plugins_nn_nn_la_SOURCES += plugins/nn/nn_common.h plugins/nn/nn_entries.h \
	plugins/nn/flatten.c plugins/nn/reshape.c plugins/nn/leaky_relu.c plugins/nn/saturating.c \
	plugins/nn/gelu.c plugins/nn/softmax.c \
	plugins/nn/dropout.c plugins/nn/conv2d.c plugins/nn/maxpool2d.c plugins/nn/avgpool2d.c \
	plugins/nn/pool2d.h plugins/nn/pool2d.c \
	plugins/nn/global_avgpool.c plugins/nn/batchnorm.c plugins/nn/layernorm.c \
	plugins/nn/embedding.c plugins/nn/lstm.c plugins/nn/nll.c plugins/nn/mse.c \
	plugins/nn/merge.c

# nn_expf (softmax and cross-entropy's exp) against libm: its error bound, 0 and NaN.
check_PROGRAMS += tests/unit/plugins/nn/test_nn_expf
TESTS += tests/unit/plugins/nn/test_nn_expf
tests_unit_plugins_nn_test_nn_expf_LDADD = -lm
# Behaviour a gradient check cannot see (forward values, modes, running statistics).
check_PROGRAMS += tests/unit/plugins/nn/test_nn_layers
TESTS += tests/unit/plugins/nn/test_nn_layers
tests_unit_plugins_nn_test_nn_layers_SOURCES = tests/unit/plugins/nn/test_nn_layers.c \
	tests/unit/plugins/nn/nn_test.h
tests_unit_plugins_nn_test_nn_layers_LDADD = $(test_ldadd) -lm
# Embedding and lstm against naive references.
check_PROGRAMS += tests/unit/plugins/nn/test_nn_sequence
TESTS += tests/unit/plugins/nn/test_nn_sequence
tests_unit_plugins_nn_test_nn_sequence_SOURCES = tests/unit/plugins/nn/test_nn_sequence.c \
	tests/unit/plugins/nn/nn_test.h
tests_unit_plugins_nn_test_nn_sequence_LDADD = $(test_ldadd) -lm
# Losses through their vtables; the layers inside a trainer (they must learn).
check_PROGRAMS += tests/unit/plugins/nn/test_nn_train
TESTS += tests/unit/plugins/nn/test_nn_train
tests_unit_plugins_nn_test_nn_train_SOURCES = tests/unit/plugins/nn/test_nn_train.c \
	tests/unit/plugins/nn/nn_test.h
tests_unit_plugins_nn_test_nn_train_LDADD = $(test_ldadd) -lm
