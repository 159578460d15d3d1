# SPDX-License-Identifier: MIT
# data/: downloads and dataset manifests: libcurl fetch, manifests, the cache, archives,
# `modlab data`, the manifests themselves, and their tests.
core_libmodlab_internal_la_SOURCES += core/data/fetch.c core/data/fetch.h core/data/manifest.c core/data/manifest.h core/data/manifest_impl.h \
	core/data/manifest_dirs.c \
	core/data/manifest_cache.c core/data/manifest_tar.c core/data/manifest_fetch.c core/data/data_cli.c
dist_manifest_DATA += datasets/fashion-mnist.yaml datasets/mnist.yaml datasets/cifar10.yaml \
	datasets/ptb.yaml datasets/brown.yaml
EXTRA_DIST += docs/DATASETS.md

# C tests (TAP). The loopback fault server is linked into the tests that need it.
fetch_tests = tests/unit/core/base/test_hash tests/unit/core/formats/test_yaml_tree tests/unit/core/data/test_fetch \
	tests/unit/core/data/test_manifest tests/unit/core/data/test_manifest_data tests/unit/core/data/test_manifest_limits \
	tests/unit/core/data/test_manifest_tar
check_PROGRAMS += $(fetch_tests)
TESTS += $(fetch_tests)
fetch_test_server = tests/support/http_fault_server.c tests/support/http_fault_server.h
tests_unit_core_formats_test_yaml_tree_LDADD = $(test_ldadd) -lm
tests_unit_core_data_test_fetch_SOURCES = tests/unit/core/data/test_fetch.c $(fetch_test_server)
tests_unit_core_data_test_manifest_SOURCES = tests/unit/core/data/test_manifest.c \
	tests/unit/core/data/manifest_test.h $(fetch_test_server)
tests_unit_core_data_test_manifest_CFLAGS = $(test_cflags) $(ZLIB_CFLAGS)
tests_unit_core_data_test_manifest_LDADD = $(test_ldadd) $(ZLIB_LIBS)
tests_unit_core_data_test_manifest_limits_SOURCES = tests/unit/core/data/test_manifest_limits.c \
	tests/unit/core/data/manifest_test.h $(fetch_test_server)
tests_unit_core_data_test_manifest_tar_CFLAGS = $(test_cflags) $(LIBARCHIVE_CFLAGS)
tests_unit_core_data_test_manifest_tar_LDADD = $(test_ldadd) $(LIBARCHIVE_LIBS)
