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
