/* SPDX-License-Identifier: MIT */
/* No shell: programs run from argv arrays (fork + execvp), with their output captured, and
 * the directory operations modlab once ran through a shell: copy a tree (cp -a), list a
 * directory (ls), the git commit of a directory. The one file of modlab that starts
 * processes; tests/e2e/no_shell_src.sh fails the check if another one does. */
#define _GNU_SOURCE   /* pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/proc.h"
#include <modlab/spawn.h>

int mli_wait_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1;
}

static void reap(pid_t pid, int *st)
{
    while (waitpid(pid, st, 0) < 0 && errno == EINTR)
        ;
}

/* Between fork and exec: async-signal-safe calls only (the parent may have threads). */
static void child(const char *const *argv, const int fds[3], int flags, pid_t parent,
                  int errfd)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD };
    struct sigaction sa;
    sigset_t none;
    int hi[3], e;
    if (flags & ML_SPAWN_TRIAL) {
        /* Its own process group (Ctrl-C reaches only the sweep, which stops the trials
         * itself), killed if the sweep dies. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Lift the descriptors above 2 first, so that one already sitting at 0..2 (or the same
     * one given twice) is never closed by another's dup2. */
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0 && (hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
            goto fail;
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0 && dup2(hi[i], i) < 0)
            goto fail;
#ifdef CLOSE_RANGE_CLOEXEC
    /* Nothing else of modlab's (Lua's open files, locks) leaks into the program. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
    execvp(argv[0], (char *const *)argv);
fail:
    e = errno;
    if (errfd >= 0) {
        ssize_t w = write(errfd, &e, sizeof e);
        (void)w;
    } else {
        dprintf(2, "modlab: cannot run %s: %s\n", argv[0], strerror(e));
    }
    _exit(127);
}

pid_t mli_spawn_fds(const char *const *argv, const int fds[3], int flags, ml_err *err)
{
    int ep[2] = { -1, -1 }, e = 0;
    pid_t parent = getpid(), pid;
    ssize_t r;
    if (!argv || !argv[0] || !argv[0][0])
        return mli_error(err, ML_ERR_INVALID, "spawn: empty argv (no program to run)");
    /* Without ML_SPAWN_TRIAL, exec's errno comes back through a close-on-exec pipe: EOF
     * means the program started. */
    if (!(flags & ML_SPAWN_TRIAL) && pipe2(ep, O_CLOEXEC) < 0)
        return mli_error(err, ML_ERR_IO, "cannot start %s: pipe: %s", argv[0], strerror(errno));
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        e = errno;
        if (ep[0] >= 0) {
            close(ep[0]);
            close(ep[1]);
        }
        return mli_error(err, ML_ERR_IO, "cannot start %s: fork: %s", argv[0], strerror(e));
    }
    if (pid == 0) {
        if (ep[0] >= 0)
            close(ep[0]);
        child(argv, fds, flags, parent, ep[1]);
    }
    if (flags & ML_SPAWN_TRIAL) {
        setpgid(pid, pid);   /* also from the parent, so signalling the group never races */
        return pid;
    }
    close(ep[1]);
    do
        r = read(ep[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(ep[0]);
    if (r == (ssize_t)sizeof e) {
        int st;
        reap(pid, &st);
        if (e == ENOENT)
            return mli_error(err, ML_ERR_NOT_FOUND, "cannot run %s: not found (is it installed "
                            "and in PATH?)", argv[0]);
        return mli_error(err, ML_ERR_IO, "cannot run %s: %s", argv[0], strerror(e));
    }
    return pid;
}

/* ---- ml_run ----------------------------------------------------------------------------- */

static int cloexec_pipe(int p[2])
{
    return pipe2(p, O_CLOEXEC);
}

int ml_run(const char *const *argv, const char *input, size_t input_len, int32_t flags,
           char *out, size_t cap, size_t *out_len, int32_t *status, ml_err *err)
{
    int in[2] = { -1, -1 }, op[2] = { -1, -1 }, devnull = -1, fds[3], rc = 0, st = 0;
    int blocked = 0;
    size_t n = 0, off = 0;
    pid_t pid = -1;
    sigset_t pipe_set, old;
    const char *what = argv && argv[0] ? argv[0] : "(null)";
    if (!argv || !argv[0] || !argv[0][0])
        return mli_error(err, ML_ERR_INVALID, "ml_run: empty argv (no program to run)");
    if ((out && cap == 0) || (!input && input_len) ||
        (flags & ~(ML_RUN_STDERR_NULL | ML_RUN_STDERR_TO_OUT)) ||
        (flags & ML_RUN_STDERR_NULL && flags & ML_RUN_STDERR_TO_OUT))
        return mli_error(err, ML_ERR_INVALID, "ml_run %s: bad arguments (out without cap, "
                        "input_len without input, or unknown flags)", what);
    if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
        (input && cloexec_pipe(in) < 0) || (out && cloexec_pipe(op) < 0)) {
        rc = mli_error(err, ML_ERR_IO, "cannot start %s: %s", what, strerror(errno));
        goto fail;
    }
    fds[0] = input ? in[0] : devnull;
    fds[1] = out ? op[1] : devnull;
    fds[2] = flags & ML_RUN_STDERR_NULL ? devnull : flags & ML_RUN_STDERR_TO_OUT ? fds[1] : -1;
    /* A program that exits before reading all its input must not kill modlab with SIGPIPE:
     * block it while writing (the child resets its mask) and drop it when done. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (input && pthread_sigmask(SIG_BLOCK, &pipe_set, &old) == 0)
        blocked = 1;
    if ((pid = mli_spawn_fds(argv, fds, 0, err)) < 0) {
        rc = (int)pid;
        goto fail;
    }
    if (in[0] >= 0) {
        close(in[0]);
        in[0] = -1;
        fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
        if (input_len == 0) {
            close(in[1]);
            in[1] = -1;
        }
    }
    if (op[1] >= 0) {
        close(op[1]);
        op[1] = -1;
    }
    while (in[1] >= 0 || op[0] >= 0) {
        struct pollfd pf[2];
        nfds_t np = 0;
        if (op[0] >= 0)
            pf[np++] = (struct pollfd){ .fd = op[0], .events = POLLIN };
        if (in[1] >= 0)
            pf[np++] = (struct pollfd){ .fd = in[1], .events = POLLOUT };
        if (poll(pf, np, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = mli_error(err, ML_ERR_IO, "%s: poll: %s", what, strerror(errno));
            goto fail;
        }
        for (nfds_t k = 0; k < np; k++) {
            if (!pf[k].revents)
                continue;
            if (pf[k].fd == op[0]) {
                char spill;
                char *dst = n + 1 < cap ? out + n : &spill;
                size_t room = n + 1 < cap ? cap - 1 - n : 1;
                ssize_t r = read(op[0], dst, room);
                if (r < 0 && (errno == EINTR || errno == EAGAIN))
                    continue;
                if (r < 0) {
                    rc = mli_error(err, ML_ERR_IO, "%s: reading its output: %s", what,
                                  strerror(errno));
                    goto fail;
                }
                if (r == 0) {
                    close(op[0]);
                    op[0] = -1;
                } else if (dst == &spill) {
                    rc = mli_error(err, ML_ERR_FORMAT, "%s: its output exceeds %zu bytes; "
                                  "stopped it", what, cap - 1);
                    goto fail;
                } else {
                    n += (size_t)r;
                }
            } else {
                ssize_t w = write(in[1], input + off, input_len - off);
                if (w < 0 && (errno == EINTR || errno == EAGAIN))
                    continue;
                if (w < 0 && errno != EPIPE) {
                    rc = mli_error(err, ML_ERR_IO, "%s: writing its input: %s", what,
                                  strerror(errno));
                    goto fail;
                }
                /* EPIPE: it stopped reading; its exit status says whether that was fine. */
                off = w < 0 ? input_len : off + (size_t)w;
                if (off == input_len) {
                    close(in[1]);
                    in[1] = -1;
                }
            }
        }
    }
    reap(pid, &st);
    pid = -1;
    if (out) {
        out[n] = '\0';
        if (out_len)
            *out_len = n;
    }
    if (status)
        *status = mli_wait_code(st);
fail:
    if (pid > 0) {
        kill(pid, SIGKILL);
        reap(pid, &st);
    }
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (op[i] >= 0)
            close(op[i]);
    }
    if (devnull >= 0)
        close(devnull);
    if (blocked) {
        /* A SIGPIPE our writes raised is pending: take it before unblocking. */
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
            ;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    return rc;
}

/* ---- ml_git_commit ---------------------------------------------------------------------- */

int ml_git_commit(const char *dir, char *out, size_t cap, ml_err *err)
{
    const char *argv[] = { "git", "-C", dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}",
                           NULL };
    char buf[160];
    size_t n = 0, hex = 0;
    int32_t st = -1;
    ml_err e2 = { 0 };
    if (!dir || !*dir || !out || cap < 65)
        return mli_error(err, ML_ERR_INVALID, "ml_git_commit: want a directory and cap >= 65");
    /* git missing or failing is "no commit": a run outside a repository is normal. */
    if (ml_run(argv, NULL, 0, ML_RUN_STDERR_NULL, buf, sizeof buf, &n, &st, &e2) != 0 ||
        st != 0)
        return 0;
    while (hex < n && ((buf[hex] >= '0' && buf[hex] <= '9') || (buf[hex] >= 'a' &&
                                                                 buf[hex] <= 'f')))
        hex++;
    if ((hex != 40 && hex != 64) || (n != hex && !(n == hex + 1 && buf[hex] == '\n')))
        return 0;
    memcpy(out, buf, hex);
    out[hex] = '\0';
    return 1;
}

/* ---- ml_list_dir ------------------------------------------------------------------------ */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a + 1, *(const char *const *)b + 1);
}

static char kind_of(int dfd, const struct dirent *de)
{
    struct stat st;
    mode_t m;
    switch (de->d_type) {
    case DT_REG: return 'f';
    case DT_DIR: return 'd';
    case DT_LNK: return 'l';
    case DT_UNKNOWN: break;
    default: return 'o';
    }
    if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 'o';
    m = st.st_mode;
    return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : 'o';
}

char *ml_list_dir(const char *dir, size_t *len, ml_err *err)
{
    DIR *d = NULL;
    char *buf = NULL, *list = NULL, **names = NULL;
    size_t used = 0, size = 0, count = 0, *offs = NULL, noffs = 0;
    struct dirent *de;
    if (!dir || !*dir || !len) {
        mli_error(err, ML_ERR_INVALID, "ml_list_dir: want a directory");
        return NULL;
    }
    if (!(d = opendir(dir))) {
        mli_error(err, errno == ENOENT ? ML_ERR_NOT_FOUND : ML_ERR_IO, "%s: cannot list: %s",
                 dir, strerror(errno));
        return NULL;
    }
    for (;;) {
        errno = 0;
        if (!(de = readdir(d))) {
            if (errno) {
                mli_error(err, ML_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
                goto fail;
            }
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        size_t nl = strlen(de->d_name) + 2;   /* kind letter, name, NUL */
        if (used + nl > size || count == noffs) {
            size_t ns = size + nl > 2 * size ? size + nl + 4096 : 2 * size;
            size_t no = noffs ? 2 * noffs : 64;
            char *nb = used + nl > size ? mli_realloc(buf, ns) : buf;
            if (!nb)
                goto nomem;
            buf = nb;
            if (used + nl > size)
                size = ns;
            if (count == noffs) {
                size_t *n2 = mli_realloc(offs, no * sizeof *offs);
                if (!n2)
                    goto nomem;
                offs = n2;
                noffs = no;
            }
        }
        offs[count++] = used;
        buf[used] = kind_of(dirfd(d), de);
        memcpy(buf + used + 1, de->d_name, nl - 1);
        used += nl;
    }
    /* Sorted through pointers into the finished buffer, then copied out in order. */
    if (!(names = mli_alloc((count ? count : 1) * sizeof *names)) ||
        !(list = mli_alloc(used ? used : 1)))
        goto nomem;
    for (size_t i = 0; i < count; i++)
        names[i] = buf + offs[i];
    qsort(names, count, sizeof *names, cmp_name);
    used = 0;
    for (size_t i = 0; i < count; i++) {
        size_t nl = strlen(names[i]) + 1;
        memcpy(list + used, names[i], nl);
        used += nl;
    }
    *len = used;
    goto done;
nomem:
    mli_error(err, ML_ERR_NOMEM, "%s: out of memory listing it", dir);
fail:
    mli_free(list);
    list = NULL;
done:
    mli_free(names);
    mli_free(offs);
    mli_free(buf);
    closedir(d);
    return list;
}

void ml_list_dir_free(char *list)
{
    mli_free(list);
}

/* ---- ml_copy_tree ----------------------------------------------------------------------- */

enum { COPY_MAX_DEPTH = 128, COPY_BUF = 1 << 16 };

typedef struct copy_ctx {
    char path[PATH_MAX];   /* the source entry being copied, for messages */
    size_t plen;
    dev_t dst_dev;         /* the destination's root: never copied into itself */
    ino_t dst_ino;
    char *buf;
    ml_err *err;
} copy_ctx;

static int copy_fail(copy_ctx *c, const char *what)
{
    return mli_error(c->err, errno == ENOMEM ? ML_ERR_NOMEM : ML_ERR_IO, "copy of %s: %s: %s",
                    c->path, what, strerror(errno));
}

static int copy_file(copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
    const struct timespec times[2] = { st->st_atim, st->st_mtim };
    int in = -1, out = -1, rc = 0;
    struct stat now;
    if ((in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        rc = copy_fail(c, "open");
        goto fail;
    }
    if (fstat(in, &now) != 0) {
        rc = copy_fail(c, "stat");
        goto fail;
    }
    if (!S_ISREG(now.st_mode) || now.st_ino != st->st_ino) {
        rc = mli_error(c->err, ML_ERR_IO, "copy of %s: it changed while being copied",
                      c->path);
        goto fail;
    }
    if ((out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600)) < 0) {
        rc = copy_fail(c, "create the copy");
        goto fail;
    }
    for (;;) {
        ssize_t r = read(in, c->buf, COPY_BUF), off = 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = copy_fail(c, "read");
            goto fail;
        }
        if (r == 0)
            break;
        while (off < r) {
            ssize_t w = write(out, c->buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                if (w == 0)
                    errno = EIO;
                rc = copy_fail(c, "write the copy");
                goto fail;
            }
            off += w;
        }
    }
    if (fchmod(out, st->st_mode & 07777) != 0 || futimens(out, times) != 0) {
        rc = copy_fail(c, "set the copy's mode and times");
        goto fail;
    }
    if (close(out) != 0) {
        out = -1;
        rc = copy_fail(c, "write the copy");
        goto fail;
    }
    out = -1;
fail:
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    return rc;
}

static int copy_link(copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
    const struct timespec times[2] = { st->st_atim, st->st_mtim };
    char target[PATH_MAX];
    ssize_t n = readlinkat(sdir, name, target, sizeof target);
    if (n < 0)
        return copy_fail(c, "readlink");
    if ((size_t)n >= sizeof target) {
        errno = ENAMETOOLONG;
        return copy_fail(c, "readlink");
    }
    target[n] = '\0';
    /* Copied as a link (what it points to is never opened): the copy reads nothing outside
     * the source tree. */
    if (symlinkat(target, ddir, name) != 0)
        return copy_fail(c, "symlink");
    if (utimensat(ddir, name, times, AT_SYMLINK_NOFOLLOW) != 0)
        return copy_fail(c, "set the link's times");
    return 0;
}

static int copy_dir(copy_ctx *c, int sdir, int ddir, int depth);

static int copy_entry(copy_ctx *c, int sdir, int ddir, const char *name, int depth)
{
    struct stat st;
    size_t keep = c->plen, nl = strlen(name);
    int rc = 0, s2 = -1, d2 = -1;
    if (keep + 1 + nl >= sizeof c->path)
        return mli_error(c->err, ML_ERR_INVALID, "copy of %s/%s: path too long", c->path, name);
    c->path[c->plen++] = '/';
    memcpy(c->path + c->plen, name, nl + 1);
    c->plen += nl;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        rc = copy_fail(c, "stat");
    } else if (S_ISREG(st.st_mode)) {
        rc = copy_file(c, sdir, ddir, name, &st);
    } else if (S_ISLNK(st.st_mode)) {
        rc = copy_link(c, sdir, ddir, name, &st);
    } else if (!S_ISDIR(st.st_mode)) {
        rc = mli_error(c->err, ML_ERR_UNSUPPORTED, "copy of %s: not a regular file, directory "
                      "or symbolic link; refusing to copy it", c->path);
    } else if (st.st_dev == c->dst_dev && st.st_ino == c->dst_ino) {
        rc = mli_error(c->err, ML_ERR_INVALID, "copy of %s: it is the destination itself (a "
                      "copy cannot go inside its source)", c->path);
    } else if (depth >= COPY_MAX_DEPTH) {
        rc = mli_error(c->err, ML_ERR_UNSUPPORTED, "copy of %s: nested deeper than %d "
                      "directories", c->path, COPY_MAX_DEPTH);
    } else if (mkdirat(ddir, name, 0700) != 0) {
        rc = copy_fail(c, "mkdir");
    } else if ((s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
               (d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        rc = copy_fail(c, "open");
    } else if ((rc = copy_dir(c, s2, d2, depth + 1)) == 0) {
        /* Mode and times last: the entries just made changed the mtime, and a read-only
         * directory could not have received them. */
        const struct timespec times[2] = { st.st_atim, st.st_mtim };
        if (fchmod(d2, st.st_mode & 07777) != 0 || futimens(d2, times) != 0)
            rc = copy_fail(c, "set the copy's mode and times");
    }
    if (s2 >= 0)
        close(s2);
    if (d2 >= 0)
        close(d2);
    c->plen = keep;
    c->path[keep] = '\0';
    return rc;
}

static int copy_dir(copy_ctx *c, int sdir, int ddir, int depth)
{
    int fd = dup(sdir), rc = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    if (!d) {
        rc = copy_fail(c, "list");
        if (fd >= 0)
            close(fd);
        return rc;
    }
    for (;;) {
        errno = 0;
        if (!(de = readdir(d))) {
            if (errno)
                rc = copy_fail(c, "list");
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if ((rc = copy_entry(c, sdir, ddir, de->d_name, depth)) != 0)
            break;
    }
    closedir(d);
    return rc;
}

/* Remove what a failed copy made (never following links: only its own entries go). */
static void remove_tree_at(int dir, const char *name, int depth)
{
    int fd;
    DIR *d;
    struct dirent *de;
    if (unlinkat(dir, name, 0) == 0 || errno != EISDIR || depth > COPY_MAX_DEPTH + 1)
        goto rmdir_it;
    if ((fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return;
    fchmod(fd, 0700);   /* a copied read-only directory */
    if (!(d = fdopendir(fd))) {
        close(fd);
        return;
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            remove_tree_at(fd, de->d_name, depth + 1);
    closedir(d);
rmdir_it:
    unlinkat(dir, name, AT_REMOVEDIR);
}

int ml_copy_tree(const char *src, const char *dst, ml_err *err)
{
    copy_ctx *c = NULL;
    struct stat st, dst_st;
    int sfd = -1, dfd = -1, rc = 0, made = 0;
    if (!src || !*src || !dst || !*dst)
        return mli_error(err, ML_ERR_INVALID, "ml_copy_tree: want a source and a destination");
    if (lstat(src, &st) != 0)
        return mli_error(err, errno == ENOENT ? ML_ERR_NOT_FOUND : ML_ERR_IO, "copy of %s: %s",
                        src, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mli_error(err, ML_ERR_INVALID, "copy of %s: not a directory (%s)", src,
                        S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
    if (strlen(src) >= PATH_MAX)
        return mli_error(err, ML_ERR_INVALID, "copy of %s: path too long", src);
    if (!(c = mli_zalloc(sizeof *c)) || !(c->buf = mli_alloc(COPY_BUF))) {
        rc = mli_error(err, ML_ERR_NOMEM, "copy of %s: out of memory", src);
        goto fail;
    }
    c->err = err;
    c->plen = strlen(src);
    memcpy(c->path, src, c->plen + 1);
    if (mkdir(dst, 0700) != 0) {
        rc = mli_error(err, errno == EEXIST ? ML_ERR_INVALID : ML_ERR_IO, "copy of %s to %s: "
                      "%s%s", src, dst, strerror(errno),
                      errno == EEXIST ? " (it is never copied over)" : "");
        goto fail;
    }
    made = 1;
    if ((sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
        (dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
        fstat(dfd, &dst_st) != 0) {
        rc = copy_fail(c, "open");
        goto fail;
    }
    c->dst_dev = dst_st.st_dev;
    c->dst_ino = dst_st.st_ino;
    if ((rc = copy_dir(c, sfd, dfd, 0)) != 0)
        goto fail;
    {
        const struct timespec times[2] = { st.st_atim, st.st_mtim };
        if (fchmod(dfd, st.st_mode & 07777) != 0 || futimens(dfd, times) != 0)
            rc = copy_fail(c, "set the copy's mode and times");
    }
fail:
    if (sfd >= 0)
        close(sfd);
    if (dfd >= 0)
        close(dfd);
    if (rc != 0 && made)
        remove_tree_at(AT_FDCWD, dst, 0);
    if (c)
        mli_free(c->buf);
    mli_free(c);
    return rc;
}
