/* SPDX-License-Identifier: MIT */
/* Dataset manifests (internal side): files, cache state, manifest search path. The public
 * functions (ml_manifest_*) are declared in modlab.h.
 *
 * The manifest format (datasets/NAME.yaml; unknown keys are errors, so typos show):
 *   name: fashion-mnist          a-z 0-9 - _ . (the cache directory's name)
 *   format: idx                  the dataset plugin that reads the files
 *   description, licence (or license), homepage, citation: free text
 *   urls:                        base URLs, tried in this order (MODLAB_MIRROR goes first)
 *     - https://example.org/d/   plain: its bytes are checked against the files' pins
 *     - url: file:///usr/share/datasets/d/
 *       hint: apt-get install d  shown when this mirror fails
 *       files:                   this mirror repackages: its own pins for these files
 *         a.gz: {size: 123, sha256: ...}
 *   max_size: 16000000           bytes; the cap of a file without a pinned size (optional;
 *                                default ML_MANIFEST_MAX_SIZE_DEFAULT)
 *   files:                       each with md5 and/or sha256 (one is required), size optional
 *     - {name: a.gz, size: 125, md5: ...}
 *     - {name: c.txt, max_size: 9000000, md5: ...}   its own cap instead of the manifest's
 *     - name: b.tar.gz           an archive: only these members are extracted
 *       md5: ...
 *       extract: [dir/x.bin, {name: dir/y.bin, size: 10, sha256: ...}]
 *   splits:                      split -> role -> file or member (a list joins with ':')
 *     train: {images: a.gz, labels: ...}
 *   options: {key: value}        passed to the dataset plugin, typed by YAML 1.2
 *
 * The cache (MODLAB_DATA_DIR/NAME/) holds each file, a NAME.verified marker (JSON: size,
 * mtime, sha256, md5, whose pins verified it and where it came from; written atomically),
 * extracted members, and while fetching FILE.part (+ FILE.part.src, its URL) and .lock. */
#ifndef MODLAB_CORE_MANIFEST_H
#define MODLAB_CORE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <modlab/modlab.h>

/* A file is accepted when its bytes match any one pin set the manifest has for it: the
 * official pins or a mirror's own, whichever URL served it. A download is stopped at the
 * file's cap (mli_manifest_file_cap) and its partial file deleted. */
#define ML_MANIFEST_MAX_SIZE_DEFAULT ((int64_t)2 << 30)   /* 2 GiB */

/* Cache state of one manifest file. */
enum {
    ML_CACHE_MISSING = 0,    /* not in the cache */
    ML_CACHE_VERIFIED = 1,   /* present, marker matches (size, mtime, pinned digests) */
    ML_CACHE_UNVERIFIED = 2, /* present, but no valid marker: `verify` or `fetch` re-hashes */
    ML_CACHE_PARTIAL = 3     /* only a .part file */
};

size_t mli_manifest_nfiles(const ml_manifest *m);
const char *mli_manifest_file(const ml_manifest *m, size_t i);
/* The most bytes file i may have: the largest size its pin sets allow, where a set without a
 * size allows the file's max_size (else the manifest's, else the default). *limit (optional)
 * is 1 when that cap is a max_size rather than a known size. */
int64_t mli_manifest_file_cap(const ml_manifest *m, size_t i, int *limit);
/* Total pinned size of the files, or -1 when a size is not pinned. */
int64_t mli_manifest_total_size(const ml_manifest *m);
const char *mli_manifest_path(const ml_manifest *m);   /* the YAML file it came from */
/* State of file i in the cache (cheap: no hashing). */
int mli_manifest_file_state(const ml_manifest *m, size_t i);
/* The dataset's cache directory (MODLAB_DATA_DIR/<name>) into buf. */
int mli_manifest_cache_dir(const ml_manifest *m, char *buf, size_t cap, ml_err *err);
/* Re-hash file i (and its extracted members). `how` (optional, cap bytes) receives what
 * verified it, e.g. "sha256 pinned for file:///usr/share/datasets/fashion-mnist/". */
int mli_manifest_verify_file(ml_manifest *m, size_t i, char *how, size_t cap, ml_err *err);

/* The manifest search path, in order: MODLAB_MANIFEST_PATH (colon-separated), the source
 * tree's datasets/ when it exists, the installed manifest directory. Calls fn(dir, user) for
 * each existing directory, stopping when fn returns non-zero (and returning that value). */
int mli_manifest_dirs(int (*fn)(const char *dir, void *user), void *user);

/* The cache root: MODLAB_DATA_DIR, else $XDG_CACHE_HOME/modlab, else ~/.cache/modlab. */
int mli_data_dir(char *buf, size_t cap, ml_err *err);

#endif
