/* SPDX-License-Identifier: MIT */
/* The dataset reader entries of data.so, registered by ml_plugin_data_init in data.c. */
#ifndef MODLAB_PLUGINS_DATA_DATA_ENTRIES_H
#define MODLAB_PLUGINS_DATA_DATA_ENTRIES_H

#include <modlab/plugin.h>

/* MNIST-style IDX files (idx.c): options images, labels, scale, classes, dataset. */
extern const ml_entry ml_data_idx_entry;
/* CIFAR-10 binary batches (cifar10.c): options files, scale, dataset. */
extern const ml_entry ml_data_cifar10_entry;
/* Word-level language modelling (text.c): PTB-style plain text and the tagged Brown
 * corpus. */
extern const ml_entry ml_data_text_entry;

#endif
