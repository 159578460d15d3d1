/* SPDX-License-Identifier: MIT */
/* Fuzz target: the idx reader (plugins/data/idx.c) on an images file and a labels file.
 * Input: images FZ_SPLIT labels (raw or gzip each); no separator: the same bytes for both. */
#include "fuzz.h"

#include <stdio.h>

#include "data_entries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    fz_memfile images, labels;
    fz_pair_open(data, size, 1, &images, &labels);
    ml_err err;

    ml_opts *o = ml_opts_new(&err);
    if (o && (ml_opts_set(o, "images", ML_OPT_STRING, images.path, &err) ||
              ml_opts_set(o, "labels", ML_OPT_STRING, labels.path, &err)))
        fz_fail("idx", "setting the harness's options failed");
    if (o)
        fz_dataset("idx", &ml_data_idx_entry, o);
    fz_pair_close(&images, &labels);
    fz_leak_check("idx", live);
    return 0;
}
