/* SPDX-License-Identifier: MIT */
/* transforms.so: data augmentation, one transform per file sharing tf_common.h; this file
 * only registers them. */
#include <modlab/plugin.h>

#include "tf_entries.h"

ML_PLUGIN_INIT(transforms,
    &ml_tf_random_crop_entry, &ml_tf_hflip_entry, &ml_tf_random_erasing_entry,
    &ml_tf_random_affine_entry, &ml_tf_gaussian_noise_entry, &ml_tf_normalize_entry)
