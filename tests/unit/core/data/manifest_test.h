/* SPDX-License-Identifier: MIT */
/* What the manifest tests share: manifests written into the test's own tmp folder (each
 * test file defines `tmp`), and a load that is one test point and shows the loader's
 * message when it fails. Include after tap.h and tap_fs.h. */
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

#endif
