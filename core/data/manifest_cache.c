/* SPDX-License-Identifier: MIT */
/* Dataset manifests: pins, the verified cache marker, the cache lock, `verify`. */
#include "data/manifest_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/mem.h"
#include "formats/json.h"

/* ---- verification and the cache marker ------------------------------------------------ */

/* The pins for file i as served by mirror k (k < 0: the official ones); label says whose. */
const pins *mli_mf_pins_for(const ml_manifest *m, size_t i, long k, const char **label)
{
    if (k >= 0 && m->mirrors[k].over[i].set) {
        *label = m->mirrors[k].url;
        return &m->mirrors[k].over[i];
    }
    *label = "official";
    return &m->files[i].pin;
}

static void short_hex(const char *h, char *out, size_t cap)
{
    snprintf(out, cap, "%.12s..", h);
}

/* 1 when the measured bytes match the pins; else 0 with a reason in why. */
int mli_mf_pins_match(const pins *p, int64_t size, const char *sha, const char *md5,
                      char *why, size_t cap)
{
    char a[20], b[20];
    if (p->size >= 0 && size != p->size) {
        snprintf(why, cap, "size mismatch (got %lld bytes, want %lld)", (long long)size,
                 (long long)p->size);
        return 0;
    }
    if (p->sha256[0] && strcmp(p->sha256, sha)) {
        short_hex(sha, a, sizeof a);
        short_hex(p->sha256, b, sizeof b);
        snprintf(why, cap, "sha256 mismatch (got %s, want %s)", a, b);
        return 0;
    }
    if (p->md5[0] && strcmp(p->md5, md5)) {
        short_hex(md5, a, sizeof a);
        short_hex(p->md5, b, sizeof b);
        snprintf(why, cap, "md5 mismatch (got %s, want %s)", a, b);
        return 0;
    }
    return 1;
}

/* "sha256 mismatch (got a, want b)" -> "sha256 mismatch for FILE (got a, want b)". */
const pins *mli_mf_pins_any(const ml_manifest *m, size_t i, long first, int64_t size,
                           const char *sha, const char *md5, const char **label, char *why,
                           size_t cap)
{
    char other[200];
    const pins *p = mli_mf_pins_for(m, i, first, label);
    if (mli_mf_pins_match(p, size, sha, md5, why, cap))
        return p;
    for (long k = -1; k < (long)m->nmirrors; k++) {
        if (k >= 0 && !m->mirrors[k].over[i].set)
            continue;   /* a plain mirror: the official pins, tried already or below */
        p = mli_mf_pins_for(m, i, k, label);
        if (mli_mf_pins_match(p, size, sha, md5, other, sizeof other))
            return p;
    }
    mli_mf_pins_for(m, i, first, label);
    return NULL;
}

void mli_mf_why_for(const char *why, const char *file, char *out, size_t cap)
{
    const char *paren = strstr(why, " (");
    if (!paren)
        snprintf(out, cap, "%s for %s", why, file);
    else
        snprintf(out, cap, "%.*s for %s%s", (int)(paren - why), why, file, paren);
}

const char *mli_mf_pins_kind(const pins *p)
{
    return p->sha256[0] && p->md5[0] ? "sha256+md5" : p->sha256[0] ? "sha256" : "md5";
}

typedef struct marker {
    char file[256], sha256[ML_SHA256_HEX], md5[ML_MD5_HEX], pinned_by[1024], source[1024];
    int64_t size, mtime_s, mtime_ns;
    int extracted;
} marker;

static void marker_path(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.verified", dir, name);
}

/* A string member of the marker into out (cap bytes); -1 when missing, not a string,
 * holding a NUL or too long (a marker we did not write: the file is re-hashed). */
static int marker_str(const ml_json *obj, const char *key, char *out, size_t cap)
{
    const ml_json *v = mli_json_get(obj, key);
    if (!v || v->type != ML_JSON_STRING || v->len >= cap || strlen(v->str) != v->len)
        return -1;
    memcpy(out, v->str, v->len + 1);
    return 0;
}

/* An integer member of the marker; -1 when missing or not an exact integer. */
static int marker_int(const ml_json *obj, const char *key, int64_t *out)
{
    const ml_json *v = mli_json_get(obj, key);
    if (!v || v->type != ML_JSON_NUMBER || !v->is_int)
        return -1;
    *out = v->i;
    return 0;
}

static int marker_read(const char *dir, const char *name, marker *mk)
{
    char path[PATH_MAX_], text[4096];
    FILE *f;
    size_t n;
    int64_t extracted = 0;
    marker_path(dir, name, path, sizeof path);
    if (!(f = fopen(path, "rb")))
        return -1;
    n = fread(text, 1, sizeof text, f);
    fclose(f);
    memset(mk, 0, sizeof *mk);
    /* A marker is a few hundred bytes; one that fills the buffer is not ours. */
    ml_json_limits lim = {.max_depth = 2, .max_bytes = sizeof text - 1};
    ml_err err;
    ml_json_doc *doc = mli_json_parse(text, n, &lim, NULL, &err);
    const ml_json *obj = mli_json_root(doc);
    int rc = -1;
    if (obj && obj->type == ML_JSON_OBJECT &&
        !marker_str(obj, "file", mk->file, sizeof mk->file) &&
        !marker_str(obj, "sha256", mk->sha256, sizeof mk->sha256) &&
        !marker_str(obj, "md5", mk->md5, sizeof mk->md5) &&
        !marker_str(obj, "pinned_by", mk->pinned_by, sizeof mk->pinned_by) &&
        !marker_str(obj, "source", mk->source, sizeof mk->source) &&
        !marker_int(obj, "size", &mk->size) && !marker_int(obj, "mtime_s", &mk->mtime_s) &&
        !marker_int(obj, "mtime_ns", &mk->mtime_ns)) {
        (void)marker_int(obj, "extracted", &extracted);   /* absent: not extracted */
        mk->extracted = extracted == 1;
        rc = strcmp(mk->file, name) ? -1 : 0;
    }
    mli_json_free(doc);
    return rc;
}

int mli_mf_marker_write(const char *dir, const char *name, const char *sha, const char *md5,
                        const char *pinned_by, const char *source, int extracted, ml_err *err)
{
    char path[PATH_MAX_], file[PATH_MAX_];
    struct stat st;
    ml_jbuf b;
    int rc;
    snprintf(file, sizeof file, "%s/%s", dir, name);
    if (stat(file, &st))
        return mli_error(err, ML_ERR_IO, "%s: %s", file, strerror(errno));
    mli_jbuf_init(&b);
    mli_jbuf_puts(&b, "{\"file\":");
    mli_jbuf_str(&b, name, strlen(name));
    mli_jbuf_printf(&b, ",\"size\":%lld,\"mtime_s\":%lld,\"mtime_ns\":%lld,\"sha256\":",
                   (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                   (long long)st.st_mtim.tv_nsec);
    mli_jbuf_str(&b, sha, strlen(sha));
    mli_jbuf_puts(&b, ",\"md5\":");
    mli_jbuf_str(&b, md5, strlen(md5));
    mli_jbuf_puts(&b, ",\"pinned_by\":");
    mli_jbuf_str(&b, pinned_by, strlen(pinned_by));
    mli_jbuf_puts(&b, ",\"source\":");
    mli_jbuf_str(&b, source, strlen(source));
    mli_jbuf_printf(&b, ",\"extracted\":%d}\n", extracted);
    marker_path(dir, name, path, sizeof path);
    /* Crash-safe: temp name, fsync, rename, fsync the directory. */
    rc = mli_jbuf_finish(&b, path, err);
    if (!rc)
        rc = ml_file_write_atomic(path, b.data, b.len, err);
    mli_jbuf_free(&b);
    return rc;
}

/* The pin set a marker names, if it still exists in the manifest. */
static const pins *pins_by_label(const ml_manifest *m, size_t i, const char *label)
{
    if (!strcmp(label, "official"))
        return &m->files[i].pin;
    for (size_t k = 0; k < m->nmirrors; k++)
        if (m->mirrors[k].over[i].set && !strcmp(m->mirrors[k].url, label))
            return &m->mirrors[k].over[i];
    return NULL;
}

static int members_present(const mf_file *f, const char *dir)
{
    char path[PATH_MAX_];
    for (size_t k = 0; k < f->nmembers; k++) {
        int64_t sz;
        snprintf(path, sizeof path, "%s/%s", dir, f->members[k].name);
        sz = mli_file_size(path);
        if (sz < 0 || (f->members[k].pin.size >= 0 && sz != f->members[k].pin.size))
            return 0;
    }
    return 1;
}

/* Cheap check (no hashing): the marker matches the file, and pins still in the manifest. */
int mli_mf_cached_ok(const ml_manifest *m, size_t i, const char *dir, int need_extracted)
{
    char path[PATH_MAX_], why[160];
    const pins *p;
    struct stat st;
    marker mk;
    snprintf(path, sizeof path, "%s/%s", dir, m->files[i].name);
    if (stat(path, &st) || marker_read(dir, m->files[i].name, &mk))
        return 0;
    if (mk.size != (int64_t)st.st_size || mk.mtime_s != (int64_t)st.st_mtim.tv_sec ||
        mk.mtime_ns != (int64_t)st.st_mtim.tv_nsec)
        return 0;
    if (!(p = pins_by_label(m, i, mk.pinned_by)) ||
        !mli_mf_pins_match(p, mk.size, mk.sha256, mk.md5, why, sizeof why))
        return 0;
    if (need_extracted && m->files[i].nmembers &&
        (!mk.extracted || !members_present(&m->files[i], dir)))
        return 0;
    return 1;
}

int mli_manifest_cache_dir(const ml_manifest *m, char *buf, size_t cap, ml_err *err)
{
    char root[PATH_MAX_];
    int rc = mli_data_dir(root, sizeof root, err), n;
    if (rc)
        return rc;
    n = snprintf(buf, cap, "%s/%s", root, m->name);
    if (n < 0 || (size_t)n >= cap)
        return mli_error(err, ML_ERR_INVALID, "the cache path is too long");
    return 0;
}

int mli_manifest_file_state(const ml_manifest *m, size_t i)
{
    char dir[PATH_MAX_], path[PATH_MAX_ + 300];
    if (i >= m->nfiles || mli_manifest_cache_dir(m, dir, sizeof dir, NULL))
        return ML_CACHE_MISSING;
    if (mli_mf_cached_ok(m, i, dir, 1))
        return ML_CACHE_VERIFIED;
    snprintf(path, sizeof path, "%s/%s", dir, m->files[i].name);
    if (mli_file_size(path) >= 0)
        return ML_CACHE_UNVERIFIED;
    snprintf(path, sizeof path, "%s/%s.part", dir, m->files[i].name);
    return mli_file_size(path) >= 0 ? ML_CACHE_PARTIAL : ML_CACHE_MISSING;
}

int mli_mf_lock_dir(const char *dir, int *fd, ml_err *err)
{
    char path[PATH_MAX_ + 8];
    int rc = ml_mkdirs(dir, err);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0)
        return mli_error(err, ML_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    while (flock(*fd, LOCK_EX)) {
        if (errno != EINTR) {
            close(*fd);
            return mli_error(err, ML_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
        }
    }
    return 0;
}

int mli_manifest_verify_file(ml_manifest *m, size_t i, char *how, size_t cap, ml_err *err)
{
    char dir[PATH_MAX_], path[PATH_MAX_ + 300], sha[ML_SHA256_HEX], md5[ML_MD5_HEX];
    char why[200] = "", mpath[PATH_MAX_ + 300];
    const char *label = "official";
    const pins *p = NULL;
    int64_t size;
    marker mk;
    int rc, have_marker;
    const mf_file *f = &m->files[i];

    if ((rc = mli_manifest_cache_dir(m, dir, sizeof dir, err)))
        return rc;
    snprintf(path, sizeof path, "%s/%s", dir, f->name);
    if (mli_file_size(path) < 0)
        return mli_error(err, ML_ERR_NOT_FOUND, "%s: %s is not in the cache (%s); run "
                        "'modlab data fetch %s'", m->name, f->name, path, m->name);
    if ((rc = mli_hash_file(path, sha, md5, &size, err)))
        return rc;
    have_marker = marker_read(dir, f->name, &mk) == 0;
    if (have_marker && (p = pins_by_label(m, i, mk.pinned_by)) &&
        mli_mf_pins_match(p, size, sha, md5, why, sizeof why)) {
        label = mk.pinned_by;
    } else {
        p = mli_mf_pins_any(m, i, -1, size, sha, md5, &label, why, sizeof why);
    }
    if (!p) {
        marker_path(dir, f->name, mpath, sizeof mpath);
        unlink(mpath);
        char msg[300];
        const pins *q = have_marker ? pins_by_label(m, i, mk.pinned_by) : NULL;
        mli_mf_pins_match(q ? q : &f->pin, size, sha, md5, why, sizeof why);
        mli_mf_why_for(why, f->name, msg, sizeof msg);
        return mli_error(err, ML_ERR_CHECKSUM, "%s: %s in %s; 'modlab data fetch %s' "
                        "fetches it again", m->name, msg, path, m->name);
    }
    for (size_t k = 0; k < f->nmembers; k++) {
        char mp[PATH_MAX_ + 300], ms[ML_SHA256_HEX], mm[ML_MD5_HEX];
        int64_t msz;
        snprintf(mp, sizeof mp, "%s/%s", dir, f->members[k].name);
        if (mli_hash_file(mp, ms, mm, &msz, NULL) ||
            !mli_mf_pins_match(&f->members[k].pin, msz, ms, mm, why, sizeof why)) {
            /* Re-extract from the verified archive. */
            if ((rc = mli_mf_extract(m, f, dir, err)))
                return rc;
            break;
        }
    }
    if ((rc = mli_mf_marker_write(dir, f->name, sha, md5, label, have_marker ? mk.source : "cache",
                           f->nmembers > 0, err)))
        return rc;
    if (how)
        snprintf(how, cap, "%s %s", mli_mf_pins_kind(p),
                 strcmp(label, "official") ? "pinned for its mirror" : "official");
    return 0;
}

int ml_manifest_verify(ml_manifest *m, ml_err *err)
{
    char dir[PATH_MAX_];
    int fd = -1, rc, first = 0;
    ml_err e;
    if ((rc = mli_manifest_cache_dir(m, dir, sizeof dir, err)) ||
        (rc = mli_mf_lock_dir(dir, &fd, err)))
        return rc;
    for (size_t i = 0; i < m->nfiles; i++) {
        rc = mli_manifest_verify_file(m, i, NULL, 0, first ? &e : err);
        if (rc && !first)
            first = rc;
    }
    close(fd);
    return first;
}

