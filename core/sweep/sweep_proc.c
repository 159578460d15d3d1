/* SPDX-License-Identifier: MIT */
/* Sweep processes: spawn and reap trial processes, catch Ctrl-C, append to the journal. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/mem.h"
#include "base/proc.h"
#include <modlab/sweep.h>

int32_t ml_proc_spawn(const char *const *argv, const char *log_path, ml_err *err)
{
    int fds[3] = { -1, -1, -1 };
    pid_t pid;
    if (!argv || !argv[0])
        return mli_error(err, ML_ERR_INVALID, "ml_proc_spawn: empty argv");
    if (log_path && (fds[1] = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                                   0644)) < 0)
        return mli_error(err, ML_ERR_IO, "%s: cannot open the trial log: %s", log_path,
                        strerror(errno));
    fds[2] = fds[1];
    fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);   /* none: stdin stays inherited */
    /* core/base/spawn.c forks: a new process group, dies with the sweep, exec errors to the log. */
    pid = mli_spawn_fds(argv, fds, ML_SPAWN_TRIAL, err);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return (int32_t)pid;
}

int ml_proc_poll(int32_t pid, int32_t *status, ml_err *err)
{
    int st = 0;
    pid_t r;
    do
        r = waitpid((pid_t)pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return mli_error(err, ML_ERR_IO, "waitpid %d: %s", (int)pid, strerror(errno));
    if (r == 0)
        return 0;
    if (status)
        *status = mli_wait_code(st);
    return 1;
}

int ml_proc_signal(int32_t pid, int sig)
{
    if (pid <= 0)
        return ML_ERR_INVALID;
    if (kill(-(pid_t)pid, sig) < 0 && kill((pid_t)pid, sig) < 0)
        return ML_ERR_IO;
    return 0;
}

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
    stop_sig = sig;
}

/* Does nothing: its only job is to interrupt the runner's nanosleep when a trial exits, so
 * the next trial starts at once instead of at the next polling tick. */
static void on_child(int sig)
{
    (void)sig;
}

void ml_sweep_signals(int catch_them)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = catch_them ? on_signal : SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = catch_them ? on_child : SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    if (!catch_them)
        stop_sig = 0;
}

int ml_sweep_stop_requested(void) { return (int)stop_sig; }

double ml_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ml_sleep(double seconds)
{
    struct timespec ts;
    if (!(seconds > 0))
        return;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);   /* a signal ends it early: the caller checks the stop flag */
}

int ml_journal_append(const char *path, const char *line, ml_err *err)
{
    size_t len = strlen(line), off = 0;
    char *buf = NULL;
    int fd = -1, rc = 0;
    if (memchr(line, '\n', len))
        return mli_error(err, ML_ERR_INVALID, "%s: a journal line may not contain a newline",
                        path);
    if (!(buf = mli_alloc(len + 1)))
        return mli_error(err, ML_ERR_NOMEM, "out of memory appending to %s", path);
    memcpy(buf, line, len);
    buf[len] = '\n';
    if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        rc = mli_error(err, ML_ERR_IO, "%s: cannot open the journal: %s", path, strerror(errno));
        goto fail;
    }
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            rc = mli_error(err, ML_ERR_IO, "%s: cannot lock the journal: %s", path,
                          strerror(errno));
            goto fail;
        }
    while (off < len + 1) {
        ssize_t w = mli_test_write_fault(path) < 0 ? -1 : write(fd, buf + off, len + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = mli_error(err, ML_ERR_IO, "%s: cannot append to the journal: %s", path,
                          w < 0 ? strerror(errno) : "short write");
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0) {
        rc = mli_error(err, ML_ERR_IO, "%s: fsync: %s", path, strerror(errno));
        goto fail;
    }
fail:
    if (fd >= 0)
        close(fd);   /* also releases the lock */
    mli_free(buf);
    return rc;
}
