/* SPDX-License-Identifier: MIT */
/* Dataset manifests (internal side): files, cache state, manifest search path. The public
 * functions (ml_manifest_*) are declared in modlab.h. */
#ifndef MODLAB_CORE_MANIFEST_H
#define MODLAB_CORE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <modlab/modlab.h>

/* Cache state of one manifest file. */
enum {
    ML_CACHE_MISSING = 0,    /* not in the cache */
    ML_CACHE_VERIFIED = 1,   /* present, marker matches (size, mtime, pinned digests) */
    ML_CACHE_UNVERIFIED = 2, /* present, but no valid marker: `verify` or `fetch` re-hashes */
    ML_CACHE_PARTIAL = 3     /* only a .part file */
};

size_t ml_manifest_nfiles(const ml_manifest *m);
const char *ml_manifest_file(const ml_manifest *m, size_t i);
/* Total pinned size of the files, or -1 when a size is not pinned. */
int64_t ml_manifest_total_size(const ml_manifest *m);
const char *ml_manifest_path(const ml_manifest *m);   /* the YAML file it came from */
/* State of file i in the cache (cheap: no hashing). */
int ml_manifest_file_state(const ml_manifest *m, size_t i);
/* The dataset's cache directory (MODLAB_DATA_DIR/<name>) into buf. */
int ml_manifest_cache_dir(const ml_manifest *m, char *buf, size_t cap, ml_err *err);
/* Re-hash file i (and its extracted members). `how` (optional, cap bytes) receives what
 * verified it, e.g. "sha256 pinned for file:///usr/share/datasets/fashion-mnist/". */
int ml_manifest_verify_file(ml_manifest *m, size_t i, char *how, size_t cap, ml_err *err);

/* The manifest search path, in order: MODLAB_MANIFEST_PATH (colon-separated), the source
 * tree's datasets/ when it exists, the installed manifest directory. Calls fn(dir, user) for
 * each existing directory, stopping when fn returns non-zero (and returning that value). */
int ml_manifest_dirs(int (*fn)(const char *dir, void *user), void *user);

/* The cache root: MODLAB_DATA_DIR, else $XDG_CACHE_HOME/modlab, else ~/.cache/modlab. */
int ml_data_dir(char *buf, size_t cap, ml_err *err);

#endif
