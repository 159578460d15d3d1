/* SPDX-License-Identifier: MIT */
/* Dataset manifests: fetching from the mirrors into the cache, split options. */
#include "data/manifest_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "data/fetch.h"
#include "base/fileio.h"
#include "base/mem.h"

enum { REASONS_MAX = 1024 };

/* ---- fetching ----------------------------------------------------------------------- */

static void add_reason(char *buf, size_t cap, const char *fmt, ...) ML_PRINTF(3, 4);
static void add_reason(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;
    if (n + 3 >= cap)
        return;
    if (n) {
        strcpy(buf + n, "; ");
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

static int offline(void)
{
    const char *o = getenv("MODLAB_OFFLINE");
    return o && *o && strcmp(o, "0");
}

/* After the archive is verified: extract (when needed) and record it in the marker. */
static int finish_archive(ml_manifest *m, size_t i, const char *dir, const char *sha,
                          const char *md5, const char *label, const char *source, ml_err *err)
{
    int rc;
    if (!m->files[i].nmembers)
        return 0;
    if ((rc = mli_mf_extract(m, &m->files[i], dir, err)))
        return rc;
    return mli_mf_marker_write(dir, m->files[i].name, sha, md5, label, source, 1, err);
}

static int fetch_file(ml_manifest *m, size_t i, const char *dir, int progress, ml_err *err)
{
    const mf_file *f = &m->files[i];
    char path[PATH_MAX_], part[PATH_MAX_ + 8], url[PATH_MAX_ + 300], label_s[600];
    char sha[ML_SHA256_HEX], md5[ML_MD5_HEX], why[200], reasons[REASONS_MAX] = "";
    int64_t size;
    const char *label, *last_url = "";
    const pins *p;
    int off = offline(), mismatches = 0, tried = 0, notfound = 0, rc;

    if (mli_mf_cached_ok(m, i, dir, 1))
        return 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, f->name) >= (int)sizeof path)
        return mli_error(err, ML_ERR_INVALID, "%s: the cache path is too long", m->name);
    snprintf(part, sizeof part, "%s.part", path);
    snprintf(label_s, sizeof label_s, "%s: %s", m->name, f->name);
    /* Present but not (or no longer) recorded as verified: hash it once. */
    if (mli_file_size(path) >= 0) {
        if ((rc = mli_hash_file(path, sha, md5, &size, err)))
            return rc;
        if (mli_mf_pins_any(m, i, -1, size, sha, md5, &label, why, sizeof why)) {
            if ((rc = mli_mf_marker_write(dir, f->name, sha, md5, label, "cache", 0, err)))
                return rc;
            return finish_archive(m, i, dir, sha, md5, label, "cache", err);
        }
        if (progress)
            fprintf(stderr, "%s: the cached copy does not match the manifest; fetching again\n",
                    label_s);
        unlink(path);
    }
    for (size_t k = 0; k < m->nmirrors; k++) {
        const mf_mirror *mm = &m->mirrors[k];
        ml_fetch_opts o = {.label = label_s, .progress = progress, .allow_network = !off};
        ml_err e = {0};
        int is_file = !strncmp(mm->url, "file://", 7);
        if (off && !is_file)
            continue; /* not worth a word in the message: the offline error says it */
        tried++;
        o.expect_size = mli_mf_pins_for(m, i, (long)k, &label)->size;
        /* Never more than any pin set allows: a size, or max_size where one pins none. */
        o.max_size = mli_manifest_file_cap(m, i, &o.max_is_limit);
        snprintf(url, sizeof url, "%s%s", mm->url, f->name);
        if ((rc = mli_fetch_url(url, part, &o, NULL, &e))) {
            if (rc == ML_ERR_IO) /* our disk, not the mirror: stop here */
                return mli_error(err, rc, "%s: %s", label_s, e.msg);
            notfound += rc == ML_ERR_NOT_FOUND;
            add_reason(reasons, sizeof reasons, "%s: %s%s%s%s", mm->url, e.msg,
                       mm->hint && is_file ? " (" : "", mm->hint && is_file ? mm->hint : "",
                       mm->hint && is_file ? ")" : "");
            continue;
        }
        if ((rc = mli_hash_file(part, sha, md5, &size, err)))
            return rc;
        /* Any pin set of the file may accept it, whichever URL served it (MODLAB_MIRROR
         * pointing at Debian's repackaged files is held to Debian's pins). */
        if (!(p = mli_mf_pins_any(m, i, (long)k, size, sha, md5, &label, why, sizeof why))) {
            mli_fetch_discard(part);
            mismatches++;
            last_url = mm->url;
            add_reason(reasons, sizeof reasons, "%s: %s", mm->url, why);
            if (progress)
                fprintf(stderr, "%s: %s from %s; deleted the partial file\n", label_s, why,
                        mm->url);
            continue;
        }
        /* The download went through stdio: sync it before its name says "verified". */
        if (mli_fsync_path(part))
            return mli_error(err, ML_ERR_IO, "%s: cannot sync %s: %s; check the disk", label_s,
                            part, strerror(errno));
        mli_test_pause_before_rename(path);
        if (rename(part, path))
            return mli_error(err, ML_ERR_IO, "%s: cannot rename %s: %s", label_s, part,
                            strerror(errno));
        mli_fsync_dir_of(path);
        if ((rc = mli_mf_marker_write(dir, f->name, sha, md5, label, url, 0, err)))
            return rc;
        if (progress)
            fprintf(stderr, "%s: %s verified (%s%s)\n", label_s, mli_mf_pins_kind(p),
                    !strcmp(label, "official") ? "official pins"
                    : !strcmp(label, mm->url)  ? "pinned for this mirror"
                                               : "pinned for ",
                    strcmp(label, "official") && strcmp(label, mm->url) ? label : "");
        return finish_archive(m, i, dir, sha, md5, label, url, err);
    }
    if (off)
        return mli_error(err, ML_ERR_NOT_FOUND,
                        "%s is not in the cache (expected at %s) and MODLAB_OFFLINE=1 allows "
                        "only file:// mirrors %s%s%s; put a verified copy there, or unset "
                        "MODLAB_OFFLINE and run 'modlab data fetch %s'",
                        label_s, path, tried ? "[" : "(the manifest has none)",
                        tried ? reasons : "", tried ? "]" : "", m->name);
    if (mismatches == 1 && tried == 1) {
        char msg[300];
        mli_mf_why_for(why, f->name, msg, sizeof msg);
        return mli_error(err, ML_ERR_CHECKSUM,
                        "%s: %s from %s; deleted the partial file, retry or check "
                        "MODLAB_MIRROR", m->name, msg, last_url);
    }
    return mli_error(err, mismatches ? ML_ERR_CHECKSUM
                         : notfound == tried && tried ? ML_ERR_NOT_FOUND : ML_ERR_NETWORK,
                    "%s: could not fetch %s from %d mirror%s%s; retry, set MODLAB_MIRROR "
                    "to a mirror that has it, or put a verified copy at %s [%s]",
                    m->name, f->name, tried, tried == 1 ? "" : "s",
                    mismatches ? " (deleted the partial files)" : "", path, reasons);
}

/* An exclusive lock on the dataset's cache directory while fetching or verifying. */
int ml_manifest_fetch(ml_manifest *m, int progress, ml_err *err)
{
    char dir[PATH_MAX_];
    int fd = -1, rc;
    size_t i;
    if ((rc = mli_manifest_cache_dir(m, dir, sizeof dir, err)))
        return rc;
    for (i = 0; i < m->nfiles && mli_mf_cached_ok(m, i, dir, 1); i++)
        ;
    if (i == m->nfiles)
        return 0; /* the common start-up case: no lock, no hashing */
    if ((rc = mli_mf_lock_dir(dir, &fd, err)))
        return rc;
    for (i = 0; i < m->nfiles && !rc; i++)
        rc = fetch_file(m, i, dir, progress, err);
    close(fd);
    return rc;
}

ml_opts *ml_manifest_split_opts(ml_manifest *m, const char *split, ml_err *err)
{
    char dir[PATH_MAX_];
    ml_opts *opts = NULL;
    const mf_split *s = NULL;
    char *val = NULL;
    for (size_t i = 0; i < m->nsplits; i++)
        if (!strcmp(m->splits[i].name, split))
            s = &m->splits[i];
    if (!s) {
        char list[200] = "";
        for (size_t i = 0; i < m->nsplits; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     m->splits[i].name);
        mli_error(err, ML_ERR_NOT_FOUND, "%s: no split '%s' (splits: %s)", m->name, split,
                 m->nsplits ? list : "none");
        goto fail;
    }
    if (ml_manifest_fetch(m, 1, err) || mli_manifest_cache_dir(m, dir, sizeof dir, err))
        goto fail;
    if (!(opts = ml_opts_new(err)))
        goto fail;
    for (size_t i = 0; i < m->nopts; i++)
        if (ml_opts_set(opts, m->opts[i].key, m->opts[i].type, m->opts[i].text, err))
            goto fail;
    for (size_t r = 0; r < s->nroles; r++) {
        size_t len = 1;
        for (size_t j = 0; j < s->roles[r].nnames; j++)
            len += strlen(dir) + strlen(s->roles[r].names[j]) + 2;
        if (!(val = mli_zalloc(len))) {
            mli_error(err, ML_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t j = 0; j < s->roles[r].nnames; j++)
            snprintf(val + strlen(val), len - strlen(val), "%s%s/%s", j ? ":" : "", dir,
                     s->roles[r].names[j]);
        if (ml_opts_set(opts, s->roles[r].role, ML_OPT_STRING, val, err))
            goto fail;
        mli_free(val);
        val = NULL;
    }
    return opts;
fail:
    mli_free(val);
    ml_opts_free(opts);
    return NULL;
}
