/* SPDX-License-Identifier: MIT */
/* Dataset instances (internal layout). */
#ifndef MODLAB_CORE_DATASET_H
#define MODLAB_CORE_DATASET_H

#include "runtime/registry.h"

struct ml_dataset {
    ml_entry entry;
    ml_dataset_vtable vt;
    void *self;
    ml_opts *opts;
    ml_data_info info;
    int32_t dtype;   /* how x is stored (ml_dtype): F32 without read_raw */
    float div;       /* stored value / div = the float read() gives */
};

#endif
