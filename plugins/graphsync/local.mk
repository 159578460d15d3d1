# SPDX-License-Identifier: MIT
# graphsync.so: the graph-synchronous layer with modularity regularisers (issue 6).
plugin_LTLIBRARIES += plugins/graphsync/graphsync.la
plugins_graphsync_graphsync_la_SOURCES = plugins/graphsync/graphsync.c \
	plugins/graphsync/gs_layer.h plugins/graphsync/gs_forward.c \
	plugins/graphsync/gs_spectral.c plugins/graphsync/gs_assign.c \
	plugins/graphsync/gs_modules.c
plugins_graphsync_graphsync_la_CFLAGS = $(AM_CFLAGS) $(BLAS_CFLAGS) $(LAPACKE_CFLAGS)
plugins_graphsync_graphsync_la_LDFLAGS = $(plugin_ldflags)
plugins_graphsync_graphsync_la_LIBADD = $(LAPACKE_LIBS) -lm

# Forward values, the regularisers' gradients (relative), reports, option errors.
check_PROGRAMS += tests/unit/plugins/graphsync/test_graphsync
TESTS += tests/unit/plugins/graphsync/test_graphsync
tests_unit_plugins_graphsync_test_graphsync_SOURCES = tests/unit/plugins/graphsync/test_graphsync.c
tests_unit_plugins_graphsync_test_graphsync_LDADD = $(test_ldadd) -lm
# Modules form with either regulariser and not without (small blobs problem, seconds).
TESTS += tests/lua/test_graphsync_modules.lua
EXTRA_DIST += tests/lua/test_graphsync_modules.lua docs/graphsync.md \
	recipes/graphsync/run_all.sh recipes/graphsync/results
# The experiment installs with the other recipes, in its own folder (it loads modules.lua
# from beside itself).
graphsyncrecipedir = $(recipedir)/graphsync
dist_graphsyncrecipe_DATA = recipes/graphsync/graphsync.lua recipes/graphsync/modules.lua \
	recipes/graphsync/summarize.lua recipes/graphsync/README.md
