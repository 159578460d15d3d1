/* SPDX-License-Identifier: MIT */
/* What the manifest tests share: manifests written into the test's own tmp folder (each
 * test file defines `tmp`), and a load that is one test point and shows the loader's
 * message when it fails, and the check that a failed fetch left nothing behind. Include after
 * tap.h and tap_fs.h, after the file's `tmp` and `cache`. */
#ifndef MODLAB_TEST_MANIFEST_H
#define MODLAB_TEST_MANIFEST_H

#include <modlab/modlab.h>

/* tmp/NAME.yaml holding the printf-formatted text; returns its path. */
#define write_manifest(name, ...) tap_write_in(tmp, name, ".yaml", __VA_ARGS__)

/* The manifest at PATH, or NULL after a failed test point WHAT with the reason. */
static inline ml_manifest *manifest_loads(const char *path, const char *what)
{
    ml_err err = {0};
    ml_manifest *m = ml_manifest_load(path, &err);
    if (!ok(m != NULL, "%s", what))
        tap_diag("%s", err.msg);
    return m;
}

/* A failed fetch left nothing of DS/FILE in the cache (each test file defines `cache`): no
 * file, no .part filling the disk, no .part origin note. */
static inline void nothing_left(const char *ds, const char *file, const char *what)
{
    ok(!tap_exists("%s/%s/%s", cache, ds, file) &&
           !tap_exists("%s/%s/%s.part", cache, ds, file) &&
           !tap_exists("%s/%s/%s.part.src", cache, ds, file),
       "%s: no file, .part or .part origin note left in the cache", what);
}

#endif
