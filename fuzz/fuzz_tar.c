/* SPDX-License-Identifier: MIT */
/* Fuzz target: the archive reader of dataset manifests (core/data/manifest_tar.c over
 * libarchive). The input is an archive (.tar or .tar.gz bytes) in a scratch directory; two
 * members are asked for with no pins, so whatever the reader accepts is written to the
 * scratch directory, which must then hold nothing but those two names. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/manifest_impl.h"

static char dir[64] = "/tmp/modlab-fuzz-tar-XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!mkdtemp(dir))
        abort();
    return 0;
}

static void clean(const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    char arch[128];
    snprintf(arch, sizeof arch, "%s/in.tar.gz", dir);
    FILE *f = fopen(arch, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f))
        abort();
    mf_member members[2] = {{.name = "data.bin", .pin = {.size = -1}},
                            {.name = "sub/meta.txt", .pin = {.size = -1}}};
    mf_file file = {.name = "in.tar.gz", .pin = {.size = -1}, .members = members,
                    .nmembers = 2, .max_size = -1};
    ml_manifest m = {.name = "fuzz"};
    ml_err err;
    memset(&err, 0, sizeof err);
    fz_verdict("tar", mli_mf_extract(&m, &file, dir, &err) == 0, &err);
    clean("data.bin");
    clean("sub/meta.txt");
    clean("data.bin.part");
    clean("sub/meta.txt.part");
    char sub[96];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    rmdir(sub);
    clean("in.tar.gz");
    if (rmdir(dir) != 0)
        fz_fail("tar", "the reader wrote something besides the two listed members");
    if (mkdir(dir, 0700) != 0)
        abort();
    fz_leak_check("tar", live);
    return 0;
}
