/* SPDX-License-Identifier: MIT */
/* Where dataset manifests and the cache live: the manifest search path, the cache root
 * (environment first), finding NAME.yaml, and the two filesystem helpers the manifest code
 * shares. Nothing here reads a manifest. */
#include "data/manifest_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "base/fileio.h"

#ifndef ML_MANIFESTDIR
#define ML_MANIFESTDIR "/usr/local/share/modlab/datasets"
#endif

/* ---- search path and cache location --------------------------------------------------- */

int mli_data_dir(char *buf, size_t cap, ml_err *err)
{
    const char *d = getenv("MODLAB_DATA_DIR"), *x = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (d && *d)
        n = snprintf(buf, cap, "%s", d);
    else if (x && *x == '/')
        n = snprintf(buf, cap, "%s/modlab", x);
    else if (home && *home)
        n = snprintf(buf, cap, "%s/.cache/modlab", home);
    else
        return mli_error(err, ML_ERR_INVALID,
                        "no cache directory: set MODLAB_DATA_DIR (or HOME or XDG_CACHE_HOME)");
    if (n < 0 || (size_t)n >= cap)
        return mli_error(err, ML_ERR_INVALID, "the cache directory path is too long");
    return 0;
}

typedef struct dirs_seen {
    dev_t dev[16];
    ino_t ino[16];
    int n;
} dirs_seen;

/* 1 when `dir` is a directory not visited yet (the same directory can come twice). */
static int new_dir(dirs_seen *s, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return 0;
    for (int i = 0; i < s->n; i++)
        if (s->dev[i] == st.st_dev && s->ino[i] == st.st_ino)
            return 0;
    if (s->n < 16) {
        s->dev[s->n] = st.st_dev;
        s->ino[s->n++] = st.st_ino;
    }
    return 1;
}

int mli_manifest_dirs(int (*fn)(const char *dir, void *user), void *user)
{
    dirs_seen seen = {.n = 0};
    const char *env = getenv("MODLAB_MANIFEST_PATH");
    const char *fixed[] = {
#ifdef ML_SRC_MANIFESTDIR
        ML_SRC_MANIFESTDIR,
#endif
        ML_MANIFESTDIR};
    char dir[PATH_MAX_];
    int rc;
    for (const char *p = env; p && *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, p, n);
            dir[n] = '\0';
            if (new_dir(&seen, dir) && (rc = fn(dir, user)))
                return rc;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (new_dir(&seen, fixed[i]) && (rc = fn(fixed[i], user)))
            return rc;
    return 0;
}

static int find_in(const char *dir, void *user)
{
    mf_find *c = user;
    size_t l = strlen(c->looked);
    snprintf(c->path, sizeof c->path, "%s/%s.yaml", dir, c->name);
    snprintf(c->looked + l, sizeof c->looked - l, "%s%s", l ? ", " : "", dir);
    return mli_file_size(c->path) >= 0;
}

int mli_mf_find(mf_find *f)
{
    return mli_manifest_dirs(find_in, f);
}
