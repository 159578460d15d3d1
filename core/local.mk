# SPDX-License-Identifier: MIT
# libmodlab (the core) and the modlab CLI. Other core areas append to
# core_libmodlab_la_SOURCES from their own core/*.mk.
lib_LTLIBRARIES += core/libmodlab.la
core_libmodlab_la_SOURCES =
core_libmodlab_la_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS) $(LUAJIT_CFLAGS) $(YAML_CFLAGS) \
	$(CURL_CFLAGS) $(ZLIB_CFLAGS)
core_libmodlab_la_LIBADD = $(BLAS_LIBS) $(LUAJIT_LIBS) $(YAML_LIBS) $(CURL_LIBS) $(ZLIB_LIBS)
core_libmodlab_la_LDFLAGS = -version-info $(MODLAB_LT_VERSION) -export-symbols-regex '^ml_'
modlabinclude_HEADERS += core/include/modlab/plugin.h core/include/modlab/modlab.h
