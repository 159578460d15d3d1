# SPDX-License-Identifier: MIT
# Fuzz targets (fuzz/fuzz_*.c, one per parser; docs/fuzzing.md). With --enable-fuzz they are
# libFuzzer binaries built by `make` (everything instrumented, see m4/ml_fuzz.m4); otherwise
# the same sources link fuzz/standalone_driver.c and are check programs. Either way
# fuzz/smoke.sh (part of make check; alone: make fuzz-smoke) runs each on its seed corpus
# (fuzz/corpus/<target>), its regression inputs (fuzz/regress/<target>) and a fixed number
# of deterministic mutations.
fuzz_targets = fuzz/fuzz_idx fuzz/fuzz_cifar10 fuzz/fuzz_text fuzz/fuzz_safetensors \
	fuzz/fuzz_checkpoint fuzz/fuzz_manifest fuzz/fuzz_sweep fuzz/fuzz_opts fuzz/fuzz_json \
	fuzz/fuzz_lua_json fuzz/fuzz_tar
if ML_FUZZ
noinst_PROGRAMS += $(fuzz_targets)
fuzz_driver =
FUZZ_LIBFUZZER = 1
else
check_PROGRAMS += $(fuzz_targets)
fuzz_driver = fuzz/standalone_driver.c
FUZZ_LIBFUZZER =
endif
fuzz_cflags = $(AM_CFLAGS) $(FUZZ_CFLAGS)
# -no-install: real binaries (not libtool wrappers), so libFuzzer and gdb run them directly.
fuzz_ldflags = $(AM_LDFLAGS) $(FUZZ_LDFLAGS) -no-install
fuzz_common = fuzz/fuzz.h fuzz/fuzz_common.c $(fuzz_driver)
# Dataset readers: the plugin's sources are compiled into the target (no dlopen).
fuzz_data = $(fuzz_common) fuzz/fuzz_data.c plugins/data/datafile.c plugins/data/datafile.h \
	plugins/data/data_entries.h
fuzz_data_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/data $(ZLIB_CFLAGS) $(DEFLATE_CFLAGS)
fuzz_fuzz_idx_SOURCES = fuzz/fuzz_idx.c plugins/data/idx.c $(fuzz_data)
fuzz_fuzz_idx_CPPFLAGS = $(fuzz_data_cppflags)
fuzz_fuzz_idx_LDADD = $(libmodlab_internal) $(ZLIB_LIBS) $(DEFLATE_LIBS)
fuzz_fuzz_idx_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_idx_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_cifar10_SOURCES = fuzz/fuzz_cifar10.c plugins/data/cifar10.c $(fuzz_data)
fuzz_fuzz_cifar10_CPPFLAGS = $(fuzz_data_cppflags)
fuzz_fuzz_cifar10_LDADD = $(libmodlab_internal) $(ZLIB_LIBS) $(DEFLATE_LIBS)
fuzz_fuzz_cifar10_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_cifar10_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_text_SOURCES = fuzz/fuzz_text.c plugins/data/text.c $(fuzz_data)
fuzz_fuzz_text_CPPFLAGS = $(fuzz_data_cppflags)
fuzz_fuzz_text_LDADD = $(libmodlab_internal) $(ZLIB_LIBS) $(DEFLATE_LIBS)
fuzz_fuzz_text_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_text_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_safetensors_SOURCES = fuzz/fuzz_safetensors.c $(fuzz_common)
fuzz_fuzz_safetensors_LDADD = $(libmodlab_internal)
fuzz_fuzz_safetensors_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_safetensors_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_checkpoint_SOURCES = fuzz/fuzz_checkpoint.c $(fuzz_common)
fuzz_fuzz_checkpoint_LDADD = $(libmodlab_internal)
fuzz_fuzz_checkpoint_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_checkpoint_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_manifest_SOURCES = fuzz/fuzz_manifest.c $(fuzz_common)
fuzz_fuzz_manifest_LDADD = $(libmodlab_internal)
fuzz_fuzz_manifest_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_manifest_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_tar_SOURCES = fuzz/fuzz_tar.c $(fuzz_common)
fuzz_fuzz_tar_LDADD = $(libmodlab_internal)
fuzz_fuzz_tar_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_tar_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_sweep_SOURCES = fuzz/fuzz_sweep.c $(fuzz_common)
fuzz_fuzz_sweep_LDADD = $(libmodlab_internal)
fuzz_fuzz_sweep_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_sweep_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_opts_SOURCES = fuzz/fuzz_opts.c $(fuzz_common)
fuzz_fuzz_opts_LDADD = $(libmodlab_internal)
fuzz_fuzz_opts_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_opts_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_json_SOURCES = fuzz/fuzz_json.c $(fuzz_common)
fuzz_fuzz_json_LDADD = $(libmodlab_internal)
fuzz_fuzz_json_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_json_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_lua_json_SOURCES = fuzz/fuzz_lua_json.c $(fuzz_common)
fuzz_fuzz_lua_json_CPPFLAGS = $(AM_CPPFLAGS) $(LUAJIT_CFLAGS) \
	-DFZ_LUADIR='"$(abs_top_srcdir)/lua"'
fuzz_fuzz_lua_json_LDADD = $(libmodlab_internal) $(LUAJIT_LIBS)
fuzz_fuzz_lua_json_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_lua_json_LDFLAGS = $(fuzz_ldflags)

TESTS += fuzz/smoke.sh
AM_TESTS_ENVIRONMENT += FUZZ_LIBFUZZER=$(FUZZ_LIBFUZZER); export FUZZ_LIBFUZZER;
EXTRA_DIST += fuzz/smoke.sh fuzz/run-long.sh fuzz/make-corpus.py fuzz/corpus fuzz/regress \
	docs/fuzzing.md
CLEANFILES += crash-fuzz_*
clean-local: clean-fuzz-out
clean-fuzz-out:
	-rm -rf $(top_builddir)/fuzz/out

# Every target on its corpus, regressions and FUZZ_SMOKE_RUNS mutations (TAP on stdout).
fuzz-smoke: all $(fuzz_targets)
	$(AM_V_at)top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	  MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins \
	  FUZZ_LIBFUZZER=$(FUZZ_LIBFUZZER) ML_ASAN=$(ML_ASAN_FLAG) $(SHELL) $(srcdir)/fuzz/smoke.sh
# The long run of docs/fuzzing.md (libFuzzer builds): FUZZ_RUNS, FUZZ_MAX_TIME, FUZZ_TARGETS.
fuzz-long: all $(fuzz_targets)
	$(AM_V_at)top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	  MODLAB_PLUGIN_PATH=$(abs_top_builddir)/build-plugins $(SHELL) $(srcdir)/fuzz/run-long.sh
.PHONY: fuzz-smoke fuzz-long clean-fuzz-out
