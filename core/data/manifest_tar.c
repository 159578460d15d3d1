/* SPDX-License-Identifier: MIT */
/* Dataset manifests: extraction of the listed members of a verified .tar or .tar.gz, read
 * by libarchive (ustar, pax, GNU and v7 tar; gzip or no compression). Only members the
 * manifest lists are written, each to the manifest's (checked) name, never to a name the
 * archive carries, and only if it is a regular file whose bytes match its pins. */
#include "data/manifest_impl.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/mem.h"

/* Copy `size` bytes to dir/member (via .part), verifying the member's pins. */
static int extract_one(struct archive *a, int64_t size, const char *dir, const mf_member *mem,
                       const char *arch, ml_err *err)
{
    char path[PATH_MAX_], part[PATH_MAX_ + 8], why[160], sha[ML_SHA256_HEX], md5[ML_MD5_HEX];
    unsigned char buf[65536], d[ML_SHA256_LEN];
    ml_sha256_ctx sc;
    ml_md5_ctx mc;
    int fd = -1, rc;
    int64_t got = 0;
    char *slash;

    snprintf(path, sizeof path, "%s/%s", dir, mem->name);
    snprintf(part, sizeof part, "%s.part", path);
    if ((slash = strrchr(path, '/')) && slash > path) {
        *slash = '\0';
        rc = ml_mkdirs(path, err);
        *slash = '/';
        if (rc)
            goto fail;
    }
    unlink(part);
    fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = mli_error(err, ML_ERR_IO, "cannot create %s: %s", part, strerror(errno));
        goto fail;
    }
    mli_sha256_init(&sc);
    mli_md5_init(&mc);
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            rc = mli_error(err, ML_ERR_FORMAT, "%s: truncated or corrupt while extracting %s: %s",
                          arch, mem->name, archive_error_string(a));
            goto fail;
        }
        if (write(fd, buf, (size_t)n) != n) {
            rc = mli_error(err, ML_ERR_IO, "writing %s: %s", part, strerror(errno));
            goto fail;
        }
        mli_sha256_update(&sc, buf, (size_t)n);
        mli_md5_update(&mc, buf, (size_t)n);
        got += n;
    }
    if (got != size) {
        rc = mli_error(err, ML_ERR_FORMAT, "%s: truncated while extracting %s", arch, mem->name);
        goto fail;
    }
    mli_sha256_final(&sc, d);
    mli_hex(d, ML_SHA256_LEN, sha);
    mli_md5_final(&mc, d);
    mli_hex(d, ML_MD5_LEN, md5);
    if (!mli_mf_pins_match(&mem->pin, size, sha, md5, why, sizeof why)) {
        rc = mli_error(err, ML_ERR_CHECKSUM, "%s in %s: %s", mem->name, arch, why);
        goto fail;
    }
    /* Synced before the rename, so the cache never holds a name with missing data. */
    if (fsync(fd) || close(fd)) {
        fd = -1;
        rc = mli_error(err, ML_ERR_IO, "writing %s: %s", part, strerror(errno));
        goto fail;
    }
    fd = -1;
    mli_test_pause_before_rename(path);
    if (rename(part, path)) {
        rc = mli_error(err, ML_ERR_IO, "cannot rename %s: %s", part, strerror(errno));
        goto fail;
    }
    mli_fsync_dir_of(path);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(part);
    return rc;
}

/* A reader for .tar and .tar.gz only. Formats and filters are named one by one: a filter
 * libarchive would run as an external program (ARCHIVE_WARN) is never enabled, since
 * archive bytes are data and must not start anything. */
static struct archive *open_archive(const char *arch, ml_err *err)
{
    struct archive *a = archive_read_new();
    if (!a) {
        mli_error(err, ML_ERR_NOMEM, "out of memory opening %s", arch);
        return NULL;
    }
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_support_filter_gzip(a) != ARCHIVE_OK) {
        mli_error(err, ML_ERR_IO, "%s: libarchive cannot read tar.gz here: %s", arch,
                 archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    if (archive_read_open_filename(a, arch, 1 << 16) != ARCHIVE_OK) {
        /* Opening reads the first block to recognise the format: a file that is there but
         * not a tar is a format error, like one that goes bad later. */
        if (mli_file_size(arch) < 0)
            mli_error(err, ML_ERR_IO, "cannot open %s: %s", arch, archive_error_string(a));
        else
            mli_error(err, ML_ERR_FORMAT, "%s: bad tar archive (not a .tar or .tar.gz?): %s",
                     arch, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

int mli_mf_extract(const ml_manifest *m, const mf_file *f, const char *dir, ml_err *err)
{
    char arch[PATH_MAX_];
    struct archive *a = NULL;
    int *done = NULL;
    size_t ndone = 0;
    int rc = 0;

    snprintf(arch, sizeof arch, "%s/%s", dir, f->name);
    done = mli_zalloc(f->nmembers * sizeof *done);
    if (!done) {
        rc = mli_error(err, ML_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!(a = open_archive(arch, err))) {
        rc = err ? err->code : ML_ERR_IO;
        goto fail;
    }
    while (ndone < f->nmembers) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = mli_error(err, ML_ERR_FORMAT, "%s: bad tar archive (not a .tar or .tar.gz?): %s",
                          arch, archive_error_string(a));
            goto fail;
        }
        const char *nm = archive_entry_pathname(e);
        if (!nm)
            continue; /* a name libarchive cannot give as bytes: never one we list */
        while (nm[0] == '.' && nm[1] == '/')
            nm += 2;
        size_t len = strlen(nm), k;
        if (len > 0 && nm[len - 1] == '/')
            len--; /* "sub/" is the directory sub: listed, it is refused below */
        for (k = 0; k < f->nmembers; k++)
            if (!done[k] && !strncmp(f->members[k].name, nm, len) &&
                f->members[k].name[len] == '\0')
                break;
        if (k == f->nmembers)
            continue; /* unlisted: libarchive skips its data */
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
            rc = mli_error(err, ML_ERR_FORMAT, "%s: member %s is not a regular file", arch,
                          f->members[k].name);
            goto fail;
        }
        if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) {
            rc = mli_error(err, ML_ERR_FORMAT, "%s: member %s has no size", arch, nm);
            goto fail;
        }
        if ((rc = extract_one(a, archive_entry_size(e), dir, &f->members[k], arch, err)))
            goto fail;
        done[k] = 1;
        ndone++;
    }
    for (size_t k = 0; k < f->nmembers; k++)
        if (!done[k]) {
            rc = mli_error(err, ML_ERR_FORMAT, "%s: %s has no member %s; check the manifest",
                          m->name, f->name, f->members[k].name);
            goto fail;
        }
fail:
    if (a)
        archive_read_free(a);
    mli_free(done);
    return rc;
}
