/* SPDX-License-Identifier: MIT */
/* Crash-safe file writes (temp name, fsync, rename, fsync the directory), mkdir -p, the
 * exclusive mkdir of run directories, and the test hooks of the writers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include <modlab/modlab.h>

int mli_fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, rc;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Test hook: crash-safety tests must kill a writer at an exact instant (between the temp
 * file and the rename), which no timing can hit reliably. MODLAB_TEST_PAUSE=POINT[#N] stops
 * the process with SIGSTOP the N-th time (default 1st) it reaches POINT; the test then
 * SIGKILLs it. Unset, this costs one getenv per call. */
void ml_test_pause(const char *point)
{
    static long seen;
    const char *want = getenv("MODLAB_TEST_PAUSE");
    const char *hash;
    size_t len;
    long nth = 1;
    if (!want || !*want || !point)
        return;
    hash = strchr(want, '#');
    len = hash ? (size_t)(hash - want) : strlen(want);
    if (hash)
        nth = strtol(hash + 1, NULL, 10);
    if (len != strlen(point) || strncmp(want, point, len) != 0 || ++seen != nth)
        return;
    fprintf(stderr, "modlab: MODLAB_TEST_PAUSE: stopped at %s (pid %ld)\n", point,
            (long)getpid());
    fflush(stderr);
    raise(SIGSTOP);
}

/* "before-rename:<file name without directories>": the pause point of a crash-safe write. */
void mli_test_pause_before_rename(const char *path)
{
    char point[128];
    const char *slash = strrchr(path, '/');
    if (!getenv("MODLAB_TEST_PAUSE"))
        return;
    snprintf(point, sizeof point, "before-rename:%s", slash ? slash + 1 : path);
    ml_test_pause(point);
}

/* Test hook: a full disk cannot be made without root (no tmpfs, no quota), yet every writer
 * of a run directory must be seen failing. MODLAB_TEST_FAIL_WRITE=NAME[#N][,NAME[#N]...]
 * makes writes of files with base name NAME (every one, or only the N-th) fail with ENOSPC,
 * where the writer's write(2) would. Unset, this costs one getenv per call. */
int mli_test_write_fault(const char *path)
{
    enum { MAX_NAMES = 8 };
    static long seen[MAX_NAMES];
    const char *want = getenv("MODLAB_TEST_FAIL_WRITE"), *base, *p;
    int i = 0;
    if (!want || !*want || !path)
        return 0;
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (p = want; *p && i < MAX_NAMES; i++) {
        size_t len = strcspn(p, ",#"), blen = strlen(base);
        long nth = 0;
        int match = len == blen && strncmp(p, base, len) == 0;
        if (p[len] == '#')
            nth = strtol(p + len + 1, NULL, 10);
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
        if (match && (++seen[i] == nth || nth == 0)) {
            errno = ENOSPC;
            return -1;
        }
    }
    return 0;
}

int mli_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int ml_file_write_atomic(const char *path, const void *data, size_t len, ml_err *err)
{
    char tmp[PATH_MAX];
    const char *p = data;
    int fd;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return mli_error(err, ML_ERR_INVALID, "%s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return mli_error(err, ML_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    if (mli_test_write_fault(path) < 0)
        goto fail;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    mli_test_pause_before_rename(path);
    if (rename(tmp, path) != 0)
        goto fail;
    mli_fsync_dir_of(path);
    return ML_OK;
fail:
    mli_error(err, ML_ERR_IO, "%s: write failed: %s (nothing replaced): free disk space or "
             "check permissions", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return ML_ERR_IO;
}

int64_t mli_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

/* The one mkdir -p of modlab (run directories, sweep folders, the data cache). Mode 0777
 * less the umask, as mkdir(1) does. */
int ml_mkdirs(const char *path, ml_err *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return mli_error(err, ML_ERR_INVALID, "mkdir: bad path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return mli_error(err, ML_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    return ML_OK;
}

/* mkdir(2) is the claim: EEXIST means another run (or a person) has that name, so try the
 * next suffix; never exists()-then-mkdir, which two runs started in one second both pass. */
int ml_mkdir_unique(const char *base, const char *name, char *out, size_t out_size,
                    ml_err *err)
{
    char path[PATH_MAX];
    size_t n = name ? strlen(name) : 0;
    int rc;
    if (!base || !*base || !out || out_size == 0)
        return mli_error(err, ML_ERR_INVALID, "ml_mkdir_unique: empty base directory");
    if (n == 0 || n > 200 || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789._+-") != n || name[0] == '.')
        return mli_error(err, ML_ERR_INVALID, "run directory name '%s': use 1 to 200 letters, "
                        "digits and . _ + - (not starting with '.')", name ? name : "");
    if ((rc = ml_mkdirs(base, err)))
        return rc;
    for (int k = 1; k <= 10000; k++) {
        int len = k == 1 ? snprintf(path, sizeof path, "%s/%s", base, name)
                         : snprintf(path, sizeof path, "%s/%s-%d", base, name, k);
        if (len < 0 || (size_t)len >= sizeof path || (size_t)len >= out_size)
            return mli_error(err, ML_ERR_INVALID, "%s/%s: path too long", base, name);
        if (mkdir(path, 0755) == 0) {
            memcpy(out, path, (size_t)len + 1);
            return ML_OK;
        }
        if (errno != EEXIST)
            return mli_error(err, ML_ERR_IO, "mkdir %s: %s", path, strerror(errno));
    }
    return mli_error(err, ML_ERR_IO, "%s/%s: 10000 directories of that name are taken; "
                    "choose another --out or name", base, name);
}
