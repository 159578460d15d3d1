# SPDX-License-Identifier: MIT
# transforms.so: data augmentation (random_crop, hflip, random_erasing, random_affine,
# gaussian_noise, normalize), one file each; transforms.c registers them.
plugin_LTLIBRARIES += plugins/transforms/transforms.la
plugins_transforms_transforms_la_SOURCES = plugins/transforms/transforms.c \
	plugins/transforms/tf_common.h plugins/transforms/tf_entries.h \
	plugins/transforms/random_crop.c plugins/transforms/hflip.c \
	plugins/transforms/random_erasing.c plugins/transforms/random_affine.c \
	plugins/transforms/gaussian_noise.c plugins/transforms/normalize.c
plugins_transforms_transforms_la_LDFLAGS = $(plugin_ldflags)
plugins_transforms_transforms_la_LIBADD = -lm
EXTRA_DIST += plugins/transforms/README.md

# Invariants, references written differently, determinism per stream, bad options.
check_PROGRAMS += tests/unit/plugins/transforms/test_transforms
TESTS += tests/unit/plugins/transforms/test_transforms
tests_unit_plugins_transforms_test_transforms_SOURCES = \
	tests/unit/plugins/transforms/test_transforms.c tests/unit/plugins/transforms/tf_test.h
tests_unit_plugins_transforms_test_transforms_LDADD = $(test_ldadd) -lm
# Rotations and noise against numpy (tf_ref.py; skipped without python3 and numpy).
check_PROGRAMS += tests/unit/plugins/transforms/test_transforms_ref
TESTS += tests/unit/plugins/transforms/test_transforms_ref
tests_unit_plugins_transforms_test_transforms_ref_SOURCES = \
	tests/unit/plugins/transforms/test_transforms_ref.c tests/unit/plugins/transforms/tf_test.h
tests_unit_plugins_transforms_test_transforms_ref_LDADD = $(test_ldadd) -lm
EXTRA_DIST += tests/unit/plugins/transforms/tf_ref.py
