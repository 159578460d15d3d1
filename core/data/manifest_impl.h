/* SPDX-License-Identifier: MIT */
/* Inside the manifest code (core/data/manifest*.c): the parsed manifest and the helpers its
 * parts share. Parsing is manifest.c, the search path and cache root manifest_dirs.c, the
 * verified cache manifest_cache.c, tar.gz members manifest_tar.c, downloads
 * manifest_fetch.c. */
#ifndef MODLAB_CORE_MANIFEST_IMPL_H
#define MODLAB_CORE_MANIFEST_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "data/manifest.h"

enum { PATH_MAX_ = 4096 };

/* Checksums pinned for some bytes; size -1 and "" mean "not pinned". */
typedef struct pins {
    int64_t size;
    char md5[ML_MD5_HEX];
    char sha256[ML_SHA256_HEX];
    int set;               /* a mirror override exists for this file */
} pins;

typedef struct mf_member {
    char *name;            /* relative path inside the archive and the cache */
    pins pin;
} mf_member;

typedef struct mf_file {
    char *name;
    pins pin;              /* as published by the official source */
    mf_member *members;    /* archive members to extract (nmembers == 0: not an archive) */
    size_t nmembers;
    int64_t max_size;      /* the cap when a pin set has no size; -1: the manifest's */
} mf_file;

typedef struct mf_mirror {
    char *url;             /* base URL, ends with '/' */
    char *hint;            /* how to get this mirror, e.g. "apt-get install ..." or NULL */
    pins *over;            /* per file (nfiles), .set when the mirror has its own bytes */
} mf_mirror;

typedef struct mf_role {
    char *role;
    char **names;          /* files or extracted members (several: joined by ':') */
    size_t nnames;
} mf_role;

typedef struct mf_split {
    char *name;
    mf_role *roles;
    size_t nroles;
} mf_split;

typedef struct mf_opt {
    char *key, *text;
    int type;              /* ML_OPT_* */
} mf_opt;

struct ml_manifest {
    char *path, *name, *format;
    mf_file *files;
    size_t nfiles;
    mf_mirror *mirrors;
    size_t nmirrors;
    mf_split *splits;
    size_t nsplits;
    mf_opt *opts;
    size_t nopts;
    int64_t max_size;      /* files' cap without a pinned size (ML_MANIFEST_MAX_SIZE_DEFAULT) */
};

/* manifest_dirs.c */
/* Looking up NAME.yaml along the search path (mli_manifest_dirs). */
typedef struct mf_find {
    const char *name;      /* in: the dataset name */
    char path[PATH_MAX_];  /* out: its manifest when found */
    char looked[400];      /* out: the directories looked in, for the not-found message */
} mf_find;
/* 1 when found (f->path), else 0 with f->looked filled. */
int mli_mf_find(mf_find *f);

/* manifest_cache.c: pins, the NAME.verified marker, the cache lock. */
/* The pins for file i as served by mirror k (k < 0: the official ones); label says whose. */
const pins *mli_mf_pins_for(const ml_manifest *m, size_t i, long k, const char **label);
/* 1 when the measured bytes match the pins; else 0 with a reason in why. */
int mli_mf_pins_match(const pins *p, int64_t size, const char *sha, const char *md5, char *why,
                     size_t cap);
/* The first pin set of file i that the measured bytes match: mirror `first`'s pins (k < 0:
 * official), then the official ones and every mirror's own; *label says whose. NULL when
 * none does, with the reason by `first`'s pins in why. */
const pins *mli_mf_pins_any(const ml_manifest *m, size_t i, long first, int64_t size,
                           const char *sha, const char *md5, const char **label, char *why,
                           size_t cap);
/* "sha256 mismatch (got a, want b)" -> "sha256 mismatch for FILE (got a, want b)". */
void mli_mf_why_for(const char *why, const char *file, char *out, size_t cap);
const char *mli_mf_pins_kind(const pins *p);   /* "sha256", "md5" or "sha256+md5" */
int mli_mf_marker_write(const char *dir, const char *name, const char *sha, const char *md5,
                       const char *pinned_by, const char *source, int extracted, ml_err *err);
/* Cheap check (no hashing): the marker matches the file, and pins still in the manifest. */
int mli_mf_cached_ok(const ml_manifest *m, size_t i, const char *dir, int need_extracted);
/* An exclusive lock on the dataset's cache directory (*fd: close it to unlock). */
int mli_mf_lock_dir(const char *dir, int *fd, ml_err *err);

/* manifest_tar.c: extract the listed members of a verified archive into dir. */
int mli_mf_extract(const ml_manifest *m, const mf_file *f, const char *dir, ml_err *err);

#endif
