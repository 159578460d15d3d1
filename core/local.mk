# SPDX-License-Identifier: MIT
# libmodlab, the core library. Each area (core/<area>/local.mk, included after this
# file) appends its sources to core_libmodlab_internal_la_SOURCES and declares its own tests.
# Areas, bottom up; an area includes only headers of the areas below it:
#   base/ -> formats/ -> runtime/, data/, sweep/ -> sdk/ -> cli/
# The objects are built once, with -fvisibility=hidden, into a convenience library that
# the tests, benchmarks and fuzzers link statically (they use internals); the installed
# libmodlab.so is that library whole, exporting only what ML_API_BEGIN/END marks in the
# public headers (core/include/modlab/*.h). LuaJIT is the CLI's, not libmodlab's.
noinst_LTLIBRARIES += core/libmodlab_internal.la
core_libmodlab_internal_la_SOURCES =
core_libmodlab_internal_la_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS) $(YAML_CFLAGS) \
	$(CURL_CFLAGS) $(NETTLE_CFLAGS) $(LIBARCHIVE_CFLAGS)
core_libmodlab_internal_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
core_libmodlab_internal_la_LIBADD = $(BLAS_LIBS) $(YAML_LIBS) $(CURL_LIBS) \
	$(NETTLE_LIBS) $(LIBARCHIVE_LIBS) $(LAPACKE_LIBS) -lm
lib_LTLIBRARIES += core/libmodlab.la
core_libmodlab_la_SOURCES =
core_libmodlab_la_LIBADD = core/libmodlab_internal.la
core_libmodlab_la_LDFLAGS = -version-info $(MODLAB_LT_VERSION)
# What programs that use internals link (tests, bench, fuzz).
libmodlab_internal = core/libmodlab_internal.la

# The tree is the architecture: each area's README says what it holds and may include.
EXTRA_DIST += core/README.md core/base/README.md core/formats/README.md \
	core/runtime/README.md core/data/README.md core/sweep/README.md core/sdk/README.md \
	core/cli/README.md
TESTS += tests/e2e/layering.sh
EXTRA_DIST += tests/e2e/layering.sh
TESTS += tests/e2e/exports.sh
EXTRA_DIST += tests/e2e/exports.sh
