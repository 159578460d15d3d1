# SPDX-License-Identifier: MIT
# libmodlab, the core library. Each area (core/<area>/local.mk, included after this
# file) appends its sources to core_libmodlab_la_SOURCES and declares its own tests.
# Areas, bottom up; an area includes only headers of the areas below it:
#   base/ -> formats/ -> runtime/, data/, sweep/ -> sdk/ -> cli/
lib_LTLIBRARIES += core/libmodlab.la
core_libmodlab_la_SOURCES =
core_libmodlab_la_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS) $(LUAJIT_CFLAGS) $(YAML_CFLAGS) \
	$(CURL_CFLAGS) $(ZLIB_CFLAGS)
# Default visibility inside libmodlab (tests use internals); the export list is ml_* only.
core_libmodlab_la_CFLAGS = $(AM_CFLAGS) -fvisibility=default
core_libmodlab_la_LIBADD = $(BLAS_LIBS) $(LUAJIT_LIBS) $(YAML_LIBS) $(CURL_LIBS) $(ZLIB_LIBS) \
	$(LAPACKE_LIBS) -lm
core_libmodlab_la_LDFLAGS = -version-info $(MODLAB_LT_VERSION) -export-symbols-regex '^ml_'

# The tree is the architecture: each area's README says what it holds and may include.
EXTRA_DIST += core/README.md core/base/README.md core/formats/README.md \
	core/runtime/README.md core/data/README.md core/sweep/README.md core/sdk/README.md \
	core/cli/README.md
TESTS += tests/e2e/layering.sh
EXTRA_DIST += tests/e2e/layering.sh
