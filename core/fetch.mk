# SPDX-License-Identifier: MIT
# Downloads and dataset manifests: hashing, the YAML tree reader, libcurl fetch, manifests,
# `modlab data`, the manifests themselves, and their tests.
core_libmodlab_la_SOURCES += core/hash.c core/hash.h core/yaml_tree.c core/yaml_tree.h \
	core/fetch.c core/fetch.h core/manifest.c core/manifest.h core/data_cli.c
dist_manifest_DATA += datasets/fashion-mnist.yaml datasets/mnist.yaml datasets/cifar10.yaml \
	datasets/ptb.yaml

# The tests call internal (hidden) functions, so they link the fetch sources through a
# convenience library instead of the installed libmodlab.so.
# TEMPORARY: tests/unit/test_fetch_stubs.c stands in for err.c/mem.c/opts.c until main has
# them; then it is replaced by the core's own sources.
check_LTLIBRARIES += tests/libfetchtest.la
tests_libfetchtest_la_SOURCES = core/hash.c core/yaml_tree.c core/fetch.c core/manifest.c \
	core/data_cli.c tests/http_fault_server.c tests/http_fault_server.h \
	tests/unit/test_fetch_stubs.c
tests_libfetchtest_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests $(YAML_CFLAGS) \
	$(CURL_CFLAGS) $(ZLIB_CFLAGS)
tests_libfetchtest_la_LIBADD = $(YAML_LIBS) $(CURL_LIBS) $(ZLIB_LIBS)
fetch_test_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
fetch_test_ldadd = tests/libfetchtest.la

fetch_tests = tests/unit/test_hash tests/unit/test_yaml_tree tests/unit/test_fetch \
	tests/unit/test_manifest tests/unit/test_manifest_data
check_PROGRAMS += $(fetch_tests)
TESTS += $(fetch_tests)
tests_unit_test_hash_SOURCES = tests/unit/test_hash.c
tests_unit_test_hash_CPPFLAGS = $(fetch_test_cppflags)
tests_unit_test_hash_LDADD = $(fetch_test_ldadd)
tests_unit_test_yaml_tree_SOURCES = tests/unit/test_yaml_tree.c
tests_unit_test_yaml_tree_CPPFLAGS = $(fetch_test_cppflags)
tests_unit_test_yaml_tree_LDADD = $(fetch_test_ldadd) -lm
tests_unit_test_fetch_SOURCES = tests/unit/test_fetch.c
tests_unit_test_fetch_CPPFLAGS = $(fetch_test_cppflags)
tests_unit_test_fetch_LDADD = $(fetch_test_ldadd)
tests_unit_test_manifest_SOURCES = tests/unit/test_manifest.c
tests_unit_test_manifest_CPPFLAGS = $(fetch_test_cppflags)
tests_unit_test_manifest_LDADD = $(fetch_test_ldadd)
tests_unit_test_manifest_data_SOURCES = tests/unit/test_manifest_data.c
tests_unit_test_manifest_data_CPPFLAGS = $(fetch_test_cppflags)
tests_unit_test_manifest_data_LDADD = $(fetch_test_ldadd)
