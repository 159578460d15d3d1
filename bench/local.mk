# SPDX-License-Identifier: MIT
# `make bench`: modlab against PyTorch and the sgemm-only bound (issue 4), and the modular
# layer against one module (issue 8). The programs are EXTRA_PROGRAMS, so `make` and
# `make check` never build or run any of it.
EXTRA_PROGRAMS += bench/ml_bench bench/sgemm_bound
bench_ml_bench_SOURCES = bench/ml_bench.c bench/bench_util.c bench/bench_util.h \
	bench/bench_data.c bench/bench_data.h bench/bench_models.c bench/bench_models.h
bench_ml_bench_LDADD = $(libmodlab_internal) -lm
bench_sgemm_bound_SOURCES = bench/sgemm_bound.c bench/bench_util.c bench/bench_util.h \
	bench/bench_models.h
bench_sgemm_bound_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS)
bench_sgemm_bound_LDADD = $(BLAS_LIBS) -lm
# Conditional computation of the modular layer (issue 8): M=8, K=1 against one module.
EXTRA_PROGRAMS += bench/modular_bench
bench_modular_bench_SOURCES = bench/modular_bench.c bench/bench_util.c bench/bench_util.h
bench_modular_bench_LDADD = $(libmodlab_internal) -lm
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += bench/run.sh bench/table.awk bench/torch_bench.py bench/README.md

# BENCH_FLAGS passes options to bench/run.sh (e.g. BENCH_FLAGS="--quick").
bench: all bench/ml_bench$(EXEEXT) bench/sgemm_bound$(EXEEXT) bench/modular_bench$(EXEEXT) \
	bench/mp_routing$(EXEEXT)
	@MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins \
	  $(SHELL) $(top_srcdir)/bench/run.sh --builddir $(abs_top_builddir) \
	  --srcdir $(abs_top_srcdir) $(BENCH_FLAGS)
clean-local: clean-bench-out
clean-bench-out:
	-rm -rf $(top_builddir)/bench/out
.PHONY: bench clean-bench-out

# `make bench-report`: how fast report.html of a 100-trial sweep opens (bench/report_load.sh).
bench-report: all
	@MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins MODLAB=$(abs_top_builddir)/modlab \
	  $(SHELL) $(top_srcdir)/bench/report_load.sh
.PHONY: bench-report
EXTRA_DIST += bench/report_load.sh

# `make bench-graphsync` (and `make bench`): dense vs block-diagonal speed of the layer.
EXTRA_PROGRAMS += bench/graphsync_bench
bench_graphsync_bench_SOURCES = bench/graphsync_bench.c bench/bench_util.c bench/bench_util.h
bench_graphsync_bench_LDADD = $(libmodlab_internal) -lm
bench-graphsync: all bench/graphsync_bench$(EXEEXT)
	@MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins \
	  bench/graphsync_bench $(GS_BENCH_ARGS)
bench: bench-graphsync
.PHONY: bench-graphsync

# `make bench-hash` (and `make bench`): SHA-256 and MD5 of a 100 MB file, as downloads are checked.
EXTRA_PROGRAMS += bench/bench_hash
bench_bench_hash_SOURCES = bench/bench_hash.c bench/bench_util.c bench/bench_util.h
bench_bench_hash_LDADD = $(libmodlab_internal) -lm
bench-hash: all bench/bench_hash$(EXEEXT)
	@bench/bench_hash $(HASH_BENCH_ARGS)
bench: bench-hash
.PHONY: bench-hash

# `make bench-graph` (and `make bench`): a chain as ml.sequential and as ml.graph.
bench-graph: all
	@MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins \
	  $(SHELL) $(top_srcdir)/bench/graph_bench.sh $(abs_top_builddir)/modlab \
	  $(abs_top_srcdir) $(GRAPH_BENCH_ARGS)
bench: bench-graph
.PHONY: bench-graph
EXTRA_DIST += bench/graph_bench.sh bench/graph_chain.lua

# `make bench-augment` (and `make bench`): the bench CNN with and without crop + flip
# (issue 22): the data-preparation share of step time with and without prefetching.
EXTRA_PROGRAMS += bench/augment_bench
bench_augment_bench_SOURCES = bench/augment_bench.c bench/bench_util.c bench/bench_util.h \
	bench/bench_models.c bench/bench_models.h
bench_augment_bench_LDADD = $(libmodlab_internal) -lm
bench-augment: all bench/augment_bench$(EXEEXT)
	@MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins MODLAB_OFFLINE=1 \
	  bench/augment_bench $(AUG_BENCH_ARGS)
bench: bench-augment
.PHONY: bench-augment
