# SPDX-License-Identifier: MIT
# libmodlab (the core) and the modlab CLI. Other core areas append to
# core_libmodlab_la_SOURCES from their own core/*.mk.
lib_LTLIBRARIES += core/libmodlab.la
core_libmodlab_la_SOURCES = core/err.c core/err.h core/mem.c core/mem.h core/mem_sites.c \
	core/rng.c core/rng.h \
	core/tensor.c core/blas.c core/blas.h core/fileio.c core/fileio.h core/opts.c core/opts.h \
	core/registry.c core/registry.h core/loader.c core/load_crash.c core/load_crash.h \
	core/host.c core/model.c core/model.h core/sublayer.c core/diagnostics.c \
	core/parallel.c core/parallel.h core/trainer.c core/trainer.h core/train_ckpt.c \
	core/estep.c core/estep.h \
	core/dataset.c core/dataset.h core/gradcheck.c core/version.c \
	core/spawn.c core/proc.h
core_libmodlab_la_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS) $(LUAJIT_CFLAGS) $(YAML_CFLAGS) \
	$(CURL_CFLAGS) $(ZLIB_CFLAGS)
# Default visibility inside libmodlab (tests use internals); the export list is ml_* only.
core_libmodlab_la_CFLAGS = $(AM_CFLAGS) -fvisibility=default
core_libmodlab_la_LIBADD = $(BLAS_LIBS) $(LUAJIT_LIBS) $(YAML_LIBS) $(CURL_LIBS) $(ZLIB_LIBS) \
	$(LAPACKE_LIBS) -lm
core_libmodlab_la_LDFLAGS = -version-info $(MODLAB_LT_VERSION) -export-symbols-regex '^ml_'
modlabinclude_HEADERS += core/include/modlab/plugin.h core/include/modlab/modlab.h \
	core/include/modlab/spawn.h

bin_PROGRAMS += modlab
modlab_SOURCES = core/main.c core/lua_host.c core/lua_host.h
nodist_modlab_SOURCES = core/embedded_lua.c
modlab_CPPFLAGS = $(AM_CPPFLAGS) $(LUAJIT_CFLAGS)
modlab_LDADD = core/libmodlab.la $(LUAJIT_LIBS)
# ffi.C finds ml_* in libmodlab, which the binary links.

BUILT_SOURCES += core/embedded_lua.c
CLEANFILES += core/embedded_lua.c
core/embedded_lua.c: $(top_srcdir)/lua/embed.lua $(embedded_lua_files) recipes/quickstart.lua \
		$(top_srcdir)/core/include/modlab/plugin.h $(top_srcdir)/core/include/modlab/modlab.h \
		$(top_srcdir)/core/include/modlab/sweep.h $(top_srcdir)/core/include/modlab/sdk.h \
		$(top_srcdir)/core/include/modlab/spawn.h
	$(AM_V_GEN)$(MKDIR_P) core && $(LUAJIT_BIN) $(top_srcdir)/lua/embed.lua $@ \
	  $(embedded_lua_args) \
	  cdef=$(top_srcdir)/core/include/modlab/plugin.h \
	  cdef=$(top_srcdir)/core/include/modlab/modlab.h \
	  cdef=$(top_srcdir)/core/include/modlab/sweep.h \
	  cdef=$(top_srcdir)/core/include/modlab/sdk.h \
	  cdef=$(top_srcdir)/core/include/modlab/spawn.h
EXTRA_DIST += lua/embed.lua

# No shell anywhere (issue 18): core/spawn.c runs argv arrays, copies trees, lists
# directories; the tests feed paths holding $(...), backticks, quotes and newlines through
# every caller, and fail the check if a process is started anywhere else.
check_PROGRAMS += tests/unit/test_spawn
tests_unit_test_spawn_CFLAGS = $(test_cflags)
tests_unit_test_spawn_LDADD = $(test_ldadd)
TESTS += tests/unit/test_spawn tests/no_shell.sh tests/no_shell_slurm.sh tests/no_shell_src.sh
EXTRA_DIST += tests/no_shell.sh tests/no_shell_slurm.sh tests/no_shell_src.sh
