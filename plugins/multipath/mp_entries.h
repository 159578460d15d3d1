/* SPDX-License-Identifier: MIT */
/* The multipath plugin's entries, one per file; multipath.c registers them. */
#ifndef MODLAB_PLUGINS_MULTIPATH_ENTRIES_H
#define MODLAB_PLUGINS_MULTIPATH_ENTRIES_H

#include <modlab/plugin.h>

extern const ml_entry mp_split_entry;
extern const ml_entry mp_merge_entry;
extern const ml_entry mp_block_entry;
extern const ml_entry mp_route_fdcc_entry;
extern const ml_entry mp_route_cross_prediction_entry;
extern const ml_entry mp_route_static_entry;

#endif
