# SPDX-License-Identifier: MIT
# switcher.so: a dense/conv layer gated by a U-Net reading its weights (Han et al. 2021).
plugin_LTLIBRARIES += plugins/switcher/switcher.la
plugins_switcher_switcher_la_SOURCES = plugins/switcher/switcher.c plugins/switcher/unet.c \
	plugins/switcher/unet.h plugins/switcher/unet_layer.c
plugins_switcher_switcher_la_CFLAGS = $(AM_CFLAGS)
plugins_switcher_switcher_la_LDFLAGS = $(plugin_ldflags)
plugins_switcher_switcher_la_LIBADD = -lm

switcherrecipedir = $(recipedir)/switcher
dist_switcherrecipe_DATA = recipes/switcher/mlp.lua recipes/switcher/lenet.lua \
	recipes/switcher/switcher_lib.lua
EXTRA_DIST += recipes/switcher/README.md

# Gradients at many seeds (kinks make single seeds fragile), and the Lua side: on_epoch,
# the alternating schedule, and pruned export == gated predictions.
check_PROGRAMS += tests/unit/plugins/switcher/test_switcher
TESTS += tests/unit/plugins/switcher/test_switcher tests/lua/test_switcher.lua
EXTRA_DIST += tests/lua/test_switcher.lua
tests_unit_plugins_switcher_test_switcher_SOURCES = tests/unit/plugins/switcher/test_switcher.c
