/* SPDX-License-Identifier: MIT */
/* multipath.so: multi-path blocks, their routers and the layers that enter and leave
 * multi-path land. The block builds its paths from nn.so's layers through the host's
 * sublayer services, so nn.so must be loaded too (it is in the default plugin set). */
#include <modlab/plugin.h>

#include "mp_entries.h"

ML_PLUGIN_INIT(multipath,
    &mp_split_entry, &mp_merge_entry, &mp_block_entry, &mp_route_fdcc_entry,
    &mp_route_cross_prediction_entry, &mp_route_static_entry)
