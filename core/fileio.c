/* SPDX-License-Identifier: MIT */
/* Crash-safe file writes (temp name, fsync, rename, fsync the directory) and mkdir -p. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include <modlab/modlab.h>

int ml_fsync_dir_of(const char *path)
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
void ml_test_pause_before_rename(const char *path)
{
    char point[128];
    const char *slash = strrchr(path, '/');
    if (!getenv("MODLAB_TEST_PAUSE"))
        return;
    snprintf(point, sizeof point, "before-rename:%s", slash ? slash + 1 : path);
    ml_test_pause(point);
}

int ml_fsync_path(const char *path)
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
        return ml_error(err, ML_ERR_INVALID, "%s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ml_error(err, ML_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
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
    ml_test_pause_before_rename(path);
    if (rename(tmp, path) != 0)
        goto fail;
    ml_fsync_dir_of(path);
    return ML_OK;
fail:
    ml_error(err, ML_ERR_IO, "%s: write failed: %s (nothing replaced)", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return ML_ERR_IO;
}

int ml_mkdirs(const char *path, ml_err *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return ml_error(err, ML_ERR_INVALID, "mkdir: bad path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return ml_error(err, ML_ERR_IO, "mkdir %s: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    return ML_OK;
}
