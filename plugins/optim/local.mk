# SPDX-License-Identifier: MIT
# optim.so: optimizers.
plugin_LTLIBRARIES += plugins/optim/optim.la
plugins_optim_optim_la_SOURCES = plugins/optim/optim.c plugins/optim/sgd.c
plugins_optim_optim_la_LDFLAGS = $(plugin_ldflags)
plugins_optim_optim_la_LIBADD = -lm
