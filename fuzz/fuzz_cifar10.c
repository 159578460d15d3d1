/* SPDX-License-Identifier: MIT */
/* Fuzz target: the CIFAR-10 binary reader (plugins/data/cifar10.c).
 * Input: batch [FZ_SPLIT batches.meta.txt]: a batch file (raw or gzip), and when the
 * separator is there, the class-name file given as the classes option. */
#include "fuzz.h"

#include "data_entries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    fz_memfile batch, meta;
    fz_pair_open(data, size, 0, &batch, &meta);
    ml_err err;

    ml_opts *o = ml_opts_new(&err);
    if (o && (ml_opts_set(o, "batches", ML_OPT_STRING, batch.path, &err) ||
              (meta.fd >= 0 && ml_opts_set(o, "classes", ML_OPT_STRING, meta.path, &err))))
        fz_fail("cifar10", "setting the harness's options failed");
    if (o)
        fz_dataset("cifar10", &ml_data_cifar10_entry, o);
    fz_pair_close(&batch, &meta);
    fz_leak_check("cifar10", live);
    return 0;
}
