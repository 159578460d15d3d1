# SPDX-License-Identifier: MIT
# Downloads and dataset manifests: hashing, the YAML tree reader, libcurl fetch, manifests,
# `modlab data`, the manifests themselves, and their tests.
core_libmodlab_la_SOURCES += core/hash.c core/hash.h core/yaml_tree.c core/yaml_tree.h \
	core/fetch.c core/fetch.h core/manifest.c core/manifest.h core/manifest_impl.h \
	core/manifest_cache.c core/manifest_tar.c core/manifest_fetch.c core/data_cli.c
dist_manifest_DATA += datasets/fashion-mnist.yaml datasets/mnist.yaml datasets/cifar10.yaml \
	datasets/ptb.yaml
EXTRA_DIST += docs/DATASETS.md

# C tests (TAP). The loopback fault server is linked into the tests that need it.
fetch_tests = tests/unit/test_hash tests/unit/test_yaml_tree tests/unit/test_fetch \
	tests/unit/test_manifest tests/unit/test_manifest_data tests/unit/test_manifest_limits
check_PROGRAMS += $(fetch_tests)
TESTS += $(fetch_tests)
fetch_test_server = tests/http_fault_server.c tests/http_fault_server.h
tests_unit_test_hash_CFLAGS = $(test_cflags)
tests_unit_test_hash_LDADD = $(test_ldadd)
tests_unit_test_yaml_tree_CFLAGS = $(test_cflags)
tests_unit_test_yaml_tree_LDADD = $(test_ldadd) -lm
tests_unit_test_fetch_SOURCES = tests/unit/test_fetch.c $(fetch_test_server)
tests_unit_test_fetch_CFLAGS = $(test_cflags)
tests_unit_test_fetch_LDADD = $(test_ldadd)
tests_unit_test_manifest_SOURCES = tests/unit/test_manifest.c $(fetch_test_server)
tests_unit_test_manifest_CFLAGS = $(test_cflags) $(ZLIB_CFLAGS)
tests_unit_test_manifest_LDADD = $(test_ldadd) $(ZLIB_LIBS)
tests_unit_test_manifest_limits_SOURCES = tests/unit/test_manifest_limits.c $(fetch_test_server)
tests_unit_test_manifest_limits_CFLAGS = $(test_cflags)
tests_unit_test_manifest_limits_LDADD = $(test_ldadd)
tests_unit_test_manifest_data_CFLAGS = $(test_cflags)
tests_unit_test_manifest_data_LDADD = $(test_ldadd)
