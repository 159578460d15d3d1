/* SPDX-License-Identifier: MIT */
/* Fuzz target: the idx reader (plugins/data/idx.c) on an images file and a labels file.
 * Input: images FZ_SPLIT labels (raw or gzip each); no separator: the same bytes for both. */
#include "fuzz.h"

#include <stdio.h>

#include "data_entries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    const uint8_t *lb;
    size_t nlb;
    size_t nim = fz_split(data, size, &lb, &nlb);
    char pim[64], plb[64];
    int fim = fz_file(data, nim, pim, sizeof pim);
    int flb = fz_file(lb ? lb : data, lb ? nlb : nim, plb, sizeof plb);
    ml_err err;

    ml_opts *o = ml_opts_new(&err);
    if (o && (ml_opts_set(o, "images", ML_OPT_STRING, pim, &err) ||
              ml_opts_set(o, "labels", ML_OPT_STRING, plb, &err)))
        fz_fail("idx", "setting the harness's options failed");
    if (o)
        fz_dataset("idx", &ml_data_idx_entry, o);
    fz_file_close(fim);
    fz_file_close(flb);
    fz_leak_check("idx", live);
    return 0;
}
