/* SPDX-License-Identifier: MIT */
/* The transforms plugin's entries, one per file; transforms.c registers them. */
#ifndef MODLAB_PLUGINS_TF_ENTRIES_H
#define MODLAB_PLUGINS_TF_ENTRIES_H

#include <modlab/plugin.h>

extern const ml_entry ml_tf_random_crop_entry;
extern const ml_entry ml_tf_hflip_entry;
extern const ml_entry ml_tf_random_erasing_entry;
extern const ml_entry ml_tf_random_affine_entry;
extern const ml_entry ml_tf_gaussian_noise_entry;
extern const ml_entry ml_tf_normalize_entry;

#endif
