/* SPDX-License-Identifier: MIT */
/* Driving a dataset reader the way ml_dataset_open does, minus the plugin loading: the
 * reader's sources are compiled into the target so that they are instrumented with it. */
#include "fuzz.h"

#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/registry.h"

int fz_dataset(const char *target, const ml_entry *entry, ml_opts *opts)
{
    const ml_dataset_vtable *vt = entry->vtable;
    const ml_host *host = mli_host_table();
    ml_err err;
    void *self = NULL;
    int accepted = 0;

    memset(&err, 0, sizeof err);
    if (ml_opts_validate(opts, entry->options, entry->name, &err) != 0) {
        fprintf(stderr, "fuzz %s: harness options rejected: %s\n", target, err.msg);
        fz_fail(target, "the harness's own options do not validate (fix the target)");
    }
    if (!fz_verdict(target, vt->open(host, opts, &self, &err) == 0, &err))
        goto out;
    accepted = 1;
    ml_data_info info;
    if (vt->info(self, &info, &err) != 0)
        goto out;
    if (info.size <= 0)
        fz_fail(target, "open succeeded on a dataset with no examples");
    int64_t xn = 1, yn = 1;
    for (int32_t i = 0; i < info.x_shape.ndim; i++)
        xn *= info.x_shape.dim[i];
    for (int32_t i = 0; i < info.y_shape.ndim; i++)
        yn *= info.y_shape.dim[i];
    if (xn <= 0 || xn > (1 << 24) || yn <= 0 || yn > (1 << 24))
        fz_fail(target, "open succeeded with an empty or absurd example shape");
    float *x = mli_alloc((size_t)xn * sizeof *x), *y = mli_alloc((size_t)yn * sizeof *y);
    if (x && y) {
        const int64_t first = 0, last = info.size - 1, past = info.size;
        if (vt->read(self, &first, 1, x, y, &err) != 0 ||
            vt->read(self, &last, 1, x, y, &err) != 0)
            fz_fail(target, "reading the first or last example of an open dataset failed");
        if (vt->read(self, &past, 1, x, y, &err) == 0)
            fz_fail(target, "reading the example past the end succeeded");
    }
    mli_free(x);
    mli_free(y);
out:
    if (self)
        vt->close(self);
    ml_opts_free(opts);
    return accepted;
}
