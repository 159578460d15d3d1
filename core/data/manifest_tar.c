/* SPDX-License-Identifier: MIT */
/* Dataset manifests: extraction of the listed members of a verified tar.gz. */
#include "data/manifest_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/mem.h"

/* ---- tar.gz extraction of listed members only ----------------------------------------- */

static int64_t tar_num(const unsigned char *p, size_t n)
{
    int64_t v = 0;
    if (p[0] & 0x80) { /* GNU base-256 */
        for (size_t i = 1; i < n; i++)
            v = (v << 8) | p[i];
        return v;
    }
    for (size_t i = 0; i < n && p[i]; i++) {
        if (p[i] == ' ')
            continue;
        if (p[i] < '0' || p[i] > '7')
            return -1;
        v = v * 8 + (p[i] - '0');
    }
    return v;
}

static int tar_header_ok(const unsigned char *h)
{
    int64_t want = tar_num(h + 148, 8), sum = 0;
    for (int i = 0; i < 512; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    return want == sum;
}

static int gz_skip(gzFile gz, int64_t n)
{
    unsigned char buf[8192];
    while (n > 0) {
        int want = n < (int64_t)sizeof buf ? (int)n : (int)sizeof buf;
        if (gzread(gz, buf, (unsigned)want) != want)
            return -1;
        n -= want;
    }
    return 0;
}

/* Copy `size` bytes to dir/member (via .part), verifying the member's pins. */
static int extract_one(gzFile gz, int64_t size, const char *dir, const mf_member *mem,
                       const char *arch, ml_err *err)
{
    char path[PATH_MAX_], part[PATH_MAX_ + 8], why[160], sha[ML_SHA256_HEX], md5[ML_MD5_HEX];
    unsigned char buf[65536], d[ML_SHA256_LEN];
    ml_sha256_ctx sc;
    ml_md5_ctx mc;
    int fd = -1, rc;
    int64_t left = size;
    char *slash;

    snprintf(path, sizeof path, "%s/%s", dir, mem->name);
    snprintf(part, sizeof part, "%s.part", path);
    if ((slash = strrchr(path, '/')) && slash > path) {
        *slash = '\0';
        rc = ml_mf_mkdirs(path, err);
        *slash = '/';
        if (rc)
            goto fail;
    }
    unlink(part);
    fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = ml_error(err, ML_ERR_IO, "cannot create %s: %s", part, strerror(errno));
        goto fail;
    }
    ml_sha256_init(&sc);
    ml_md5_init(&mc);
    while (left > 0) {
        int want = left < (int64_t)sizeof buf ? (int)left : (int)sizeof buf;
        if (gzread(gz, buf, (unsigned)want) != want) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated while extracting %s", arch,
                          mem->name);
            goto fail;
        }
        if (write(fd, buf, (size_t)want) != want) {
            rc = ml_error(err, ML_ERR_IO, "writing %s: %s", part, strerror(errno));
            goto fail;
        }
        ml_sha256_update(&sc, buf, (size_t)want);
        ml_md5_update(&mc, buf, (size_t)want);
        left -= want;
    }
    ml_sha256_final(&sc, d);
    ml_hex(d, ML_SHA256_LEN, sha);
    ml_md5_final(&mc, d);
    ml_hex(d, ML_MD5_LEN, md5);
    if (!ml_mf_pins_match(&mem->pin, size, sha, md5, why, sizeof why)) {
        rc = ml_error(err, ML_ERR_CHECKSUM, "%s in %s: %s", mem->name, arch, why);
        goto fail;
    }
    /* Synced before the rename, so the cache never holds a name with missing data. */
    if (fsync(fd) || close(fd)) {
        fd = -1;
        rc = ml_error(err, ML_ERR_IO, "writing %s: %s", part, strerror(errno));
        goto fail;
    }
    fd = -1;
    ml_test_pause_before_rename(path);
    if (rename(part, path)) {
        rc = ml_error(err, ML_ERR_IO, "cannot rename %s: %s", part, strerror(errno));
        goto fail;
    }
    ml_fsync_dir_of(path);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(part);
    return rc;
}

int ml_mf_extract(const ml_manifest *m, const mf_file *f, const char *dir, ml_err *err)
{
    char arch[PATH_MAX_], name[1024], longname[1024] = "";
    unsigned char h[512];
    int *done = NULL;
    gzFile gz = NULL;
    size_t ndone = 0;
    int rc = 0;

    snprintf(arch, sizeof arch, "%s/%s", dir, f->name);
    done = ml_zalloc(f->nmembers * sizeof *done);
    if (!done) {
        rc = ml_error(err, ML_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!(gz = gzopen(arch, "rb"))) {
        rc = ml_error(err, ML_ERR_IO, "cannot open %s: %s", arch, strerror(errno));
        goto fail;
    }
    while (ndone < f->nmembers) {
        int64_t size;
        int n = gzread(gz, h, sizeof h), zero = 1;
        if (n == 0)
            break;
        if (n != (int)sizeof h) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated tar header", arch);
            goto fail;
        }
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero)
            break; /* end of archive */
        if (!tar_header_ok(h) || (size = tar_num(h + 124, 12)) < 0) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: bad tar header (not a tar.gz?)", arch);
            goto fail;
        }
        int64_t padded = (size + 511) / 512 * 512;
        if (h[156] == 'L') { /* GNU long name for the next entry */
            int64_t cap = (int64_t)sizeof longname - 1, take = size < cap ? size : cap;
            if (gzread(gz, longname, (unsigned)take) != take || gz_skip(gz, padded - take)) {
                rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated long name", arch);
                goto fail;
            }
            longname[take] = '\0';
            continue;
        }
        if (longname[0]) {
            snprintf(name, sizeof name, "%s", longname);
            longname[0] = '\0';
        } else if (h[345]) {
            snprintf(name, sizeof name, "%.155s/%.100s", (char *)h + 345, (char *)h);
        } else {
            snprintf(name, sizeof name, "%.100s", (char *)h);
        }
        const char *nm = name;
        while (nm[0] == '.' && nm[1] == '/')
            nm += 2;
        size_t k;
        for (k = 0; k < f->nmembers; k++)
            if (!done[k] && !strcmp(f->members[k].name, nm))
                break;
        if (k < f->nmembers) {
            if (h[156] != '0' && h[156] != '\0' && h[156] != '7') {
                rc = ml_error(err, ML_ERR_FORMAT, "%s: member %s is not a regular file", arch,
                              nm);
                goto fail;
            }
            if ((rc = extract_one(gz, size, dir, &f->members[k], arch, err)))
                goto fail;
            done[k] = 1;
            ndone++;
            if (gz_skip(gz, padded - size)) {
                rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated after %s", arch, nm);
                goto fail;
            }
        } else if (gz_skip(gz, padded)) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated in %s", arch, nm);
            goto fail;
        }
    }
    for (size_t k = 0; k < f->nmembers; k++)
        if (!done[k]) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: %s has no member %s; check the manifest",
                          m->name, f->name, f->members[k].name);
            goto fail;
        }
fail:
    if (gz)
        gzclose(gz);
    ml_free(done);
    return rc;
}

