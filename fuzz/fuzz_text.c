/* SPDX-License-Identifier: MIT */
/* Fuzz target: the text corpus reader (plugins/data/text.c), plain (PTB) and tagged Brown.
 * Input: one flag byte, then train [FZ_SPLIT valid]. Flags: bit 0 format=brown, bit 1
 * lower=true, bits 2-4 seq_len-1, bits 5-7 pick the vocabulary cap. With a second part, it is
 * read as split=valid through `path` (the vocabulary still comes from train). */
#include "fuzz.h"

#include <stdio.h>

#include "data_entries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const vocab[8] = {"2", "3", "5", "10", "50", "200", "1000", "10000"};
    const int64_t live = fz_live();
    if (size < 1)
        return 0;
    const unsigned flags = data[0];
    fz_memfile train, valid;
    fz_pair_open(data + 1, size - 1, 0, &train, &valid);
    char seq[8];
    ml_err err;

    snprintf(seq, sizeof seq, "%u", 1 + ((flags >> 2) & 7));
    ml_opts *o = ml_opts_new(&err);
    if (o && (ml_opts_set(o, "train", ML_OPT_STRING, train.path, &err) ||
              ml_opts_set(o, "format", ML_OPT_STRING, flags & 1 ? "brown" : "plain", &err) ||
              ml_opts_set(o, "lower", ML_OPT_BOOL, flags & 2 ? "true" : "false", &err) ||
              ml_opts_set(o, "seq_len", ML_OPT_FLOAT, seq, &err) ||
              ml_opts_set(o, "vocab", ML_OPT_FLOAT, vocab[flags >> 5], &err) ||
              (valid.fd >= 0 && (ml_opts_set(o, "path", ML_OPT_STRING, valid.path, &err) ||
                         ml_opts_set(o, "split", ML_OPT_STRING, "valid", &err)))))
        fz_fail("text", "setting the harness's options failed");
    if (o)
        fz_dataset("text", &ml_data_text_entry, o);
    fz_pair_close(&train, &valid);
    fz_leak_check("text", live);
    return 0;
}
