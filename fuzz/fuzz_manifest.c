/* SPDX-License-Identifier: MIT */
/* Fuzz target: dataset manifests (core/data/manifest.c over core/formats/yaml_tree.c). ml_manifest_load
 * reads a path, so the input goes through a memfd; an accepted manifest is asked for its
 * files and splits as `modlab data list` does. Nothing here fetches or touches the cache
 * (ml_manifest_split_opts would fetch). */
#include "fuzz.h"

#include <string.h>

#include "data/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    char path[64];
    ml_err err = {0};
    int fd = fz_file(data, size, path, sizeof path);

    ml_manifest *m = ml_manifest_load(path, &err);
    if (fz_verdict("manifest", m != NULL, &err)) {
        if (!ml_manifest_name(m) || !ml_manifest_format(m))
            fz_fail("manifest", "accepted a manifest without name or format");
        for (size_t i = 0; i < mli_manifest_nfiles(m); i++)
            if (!mli_manifest_file(m, i))
                fz_fail("manifest", "a listed file has no name");
        (void)mli_manifest_total_size(m);
        for (int32_t i = 0; i < ml_manifest_nsplits(m); i++)
            if (!ml_manifest_split(m, i))
                fz_fail("manifest", "a listed split has no name");
        ml_manifest_free(m);
    }
    fz_file_close(fd);
    fz_leak_check("manifest", live);
    return 0;
}
