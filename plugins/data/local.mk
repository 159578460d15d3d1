# SPDX-License-Identifier: MIT
# data.so: dataset readers.
plugin_LTLIBRARIES += plugins/data/data.la
plugins_data_data_la_SOURCES = plugins/data/data.c plugins/data/synthetic.c
plugins_data_data_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS) $(DEFLATE_CFLAGS)
plugins_data_data_la_LDFLAGS = $(plugin_ldflags)
plugins_data_data_la_LIBADD = $(ZLIB_LIBS) $(DEFLATE_LIBS) -lm
# File readers (data_entries.h): idx (MNIST-style), cifar10 (binary batches), text (PTB, Brown).
plugins_data_data_la_SOURCES += plugins/data/data_entries.h plugins/data/datafile.h \
	plugins/data/datafile.c plugins/data/idx.c plugins/data/cifar10.c plugins/data/text.c
EXTRA_DIST += tests/support/brown.sh plugins/data/README.md

# Reader tests: generated files (zlib writes the gzip ones), and the real Fashion-MNIST files
# of Debian's dataset-fashion-mnist (skipped when missing).
data_tests = tests/unit/plugins/data/test_datafile tests/unit/plugins/data/test_data_idx tests/unit/plugins/data/test_data_cifar10 tests/unit/plugins/data/test_data_text \
	tests/unit/plugins/data/test_data_fashion
check_PROGRAMS += $(data_tests)
TESTS += $(data_tests)
# datafile.c compiled in (no plugin): which path (libdeflate whole, zlib stream) holds a file.
tests_unit_plugins_data_test_datafile_SOURCES = tests/unit/plugins/data/test_datafile.c \
	plugins/data/datafile.c
tests_unit_plugins_data_test_datafile_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/data
tests_unit_plugins_data_test_datafile_CFLAGS = $(test_cflags) $(ZLIB_CFLAGS) $(DEFLATE_CFLAGS)
tests_unit_plugins_data_test_datafile_LDADD = $(test_ldadd) $(ZLIB_LIBS) $(DEFLATE_LIBS)
tests_unit_plugins_data_test_data_idx_SOURCES = tests/unit/plugins/data/test_data_idx.c
tests_unit_plugins_data_test_data_idx_CFLAGS = $(test_cflags) $(ZLIB_CFLAGS)
tests_unit_plugins_data_test_data_idx_LDADD = $(test_ldadd) $(ZLIB_LIBS)
tests_unit_plugins_data_test_data_cifar10_SOURCES = tests/unit/plugins/data/test_data_cifar10.c
tests_unit_plugins_data_test_data_cifar10_CFLAGS = $(test_cflags) $(ZLIB_CFLAGS)
tests_unit_plugins_data_test_data_cifar10_LDADD = $(test_ldadd) $(ZLIB_LIBS)
tests_unit_plugins_data_test_data_text_SOURCES = tests/unit/plugins/data/test_data_text.c
tests_unit_plugins_data_test_data_fashion_SOURCES = tests/unit/plugins/data/test_data_fashion.c
