# SPDX-License-Identifier: MIT
# multipath.so: multi-path blocks, routers, mp_split and mp_merge (issue 7).
plugin_LTLIBRARIES += plugins/multipath/multipath.la
plugins_multipath_multipath_la_SOURCES = plugins/multipath/multipath.c \
	plugins/multipath/mp_entries.h plugins/multipath/mp_common.h \
	plugins/multipath/mp_router.h plugins/multipath/mp_router.c \
	plugins/multipath/route_fdcc.c plugins/multipath/route_cross.c \
	plugins/multipath/cross_conv.h plugins/multipath/cross_conv.c \
	plugins/multipath/route_static.c plugins/multipath/block.c \
	plugins/multipath/split.c plugins/multipath/merge.c
plugins_multipath_multipath_la_CFLAGS = $(AM_CFLAGS)
plugins_multipath_multipath_la_LDFLAGS = $(plugin_ldflags)
plugins_multipath_multipath_la_LIBADD = -lm

# Routing input dependence, diagnostics, error messages, split/merge values.
check_PROGRAMS += tests/unit/plugins/multipath/test_multipath
TESTS += tests/unit/plugins/multipath/test_multipath
tests_unit_plugins_multipath_test_multipath_SOURCES = tests/unit/plugins/multipath/test_multipath.c
tests_unit_plugins_multipath_test_multipath_LDADD = $(test_ldadd) -lm

# `make bench-multipath`: the routing overhead (router / block forward time); not a test.
EXTRA_PROGRAMS += bench/mp_routing
bench_mp_routing_SOURCES = bench/mp_routing.c bench/bench_util.c bench/bench_util.h
bench_mp_routing_LDADD = $(libmodlab_internal) -lm
bench-multipath: all bench/mp_routing$(EXEEXT)
	OPENBLAS_NUM_THREADS=1 MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins \
	  $(top_builddir)/bench/mp_routing $(BENCH_FLAGS)
.PHONY: bench-multipath

EXTRA_DIST += recipes/multipath/README.md recipes/multipath/experiments.txt \
	recipes/multipath/run_all.sh recipes/multipath/summarize.py \
	recipes/multipath/results.md recipes/multipath/bench_routing.txt
