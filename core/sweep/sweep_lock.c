/* SPDX-License-Identifier: MIT */
/* Trial claims: several agents (`modlab sweep`, `modlab trial`, Slurm tasks) on one sweep
 * directory, each trial run by one process at a time. A claim is DIR/locks/<id>.lock:
 *
 *     host=<hostname>\npid=<pid>\nstart=<start time in clock ticks>\ntime=<unix seconds>\n
 *
 * written whole to a private temporary name and hard-linked into place: link() fails with
 * EEXIST when the lock exists, so creating is exclusive (as O_CREAT|O_EXCL) and a reader never
 * sees a half-written lock. A lock of this host whose process is dead (or whose pid now
 * belongs to a process started at another time) is stale and is broken; a lock of another
 * host cannot be checked from here and is honoured until removed by hand. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include <modlab/modlab.h>
#include <modlab/sweep.h>

enum { LOCK_MAX = 1024, HOST_MAX = 256, PATH_CAP = 4096, CLAIM_TRIES = 8 };

typedef struct lock_info {
    char host[HOST_MAX];
    long pid;
    unsigned long long start;   /* 0: unknown */
    long long time;
} lock_info;

/* Names that become path components: [A-Za-z0-9_.-], not starting with '.', <= 128. */
static int safe_name(const char *s)
{
    size_t n = 0;
    if (!s || !*s || *s == '.')
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return n <= 128;
}

/* This host's name, with anything outside the safe set replaced, so it can go in a file
 * name and a lock line. */
static void this_host(char *buf, size_t len)
{
    if (gethostname(buf, len - 1) != 0)
        snprintf(buf, len, "unknown");
    buf[len - 1] = '\0';
    for (char *p = buf; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    if (!*buf)
        snprintf(buf, len, "unknown");
}

/* Field 22 of /proc/PID/stat (the start time in clock ticks since boot), counted after the
 * last ')' because the command name may hold spaces and parentheses, and field 3 (the state)
 * in *state when state is not NULL. 0 (and state '?') when unreadable. */
static unsigned long long proc_start(long pid, char *state)
{
    char path[64], buf[1024];
    int fd;
    ssize_t n;
    if (state)
        *state = '?';
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'), *save = NULL, *tok;
    if (!p)
        return 0;
    tok = strtok_r(p + 1, " ", &save);   /* field 3, the state */
    if (tok && state)
        *state = tok[0];
    for (int field = 3; tok && field < 22; field++)
        tok = strtok_r(NULL, " ", &save);
    if (!tok || *tok < '0' || *tok > '9')
        return 0;
    return strtoull(tok, NULL, 10);
}

static int lock_paths(const char *dir, const char *id, char *lock, char *locks, ml_err *err)
{
    if (!dir || !*dir)
        return mli_error(err, ML_ERR_INVALID, "trial lock: no sweep directory given");
    if (!safe_name(id)) {
        int printable = id != NULL;
        for (const char *p = id; p && *p && printable; p++)
            printable = *p >= 0x20 && *p < 0x7f;
        return mli_error(err, ML_ERR_INVALID,
                        "%s: trial id '%.64s' is not a safe name ([A-Za-z0-9_.-], not "
                        "starting with '.'): is sweep.json damaged?", dir,
                        printable ? id : "(control characters)");
    }
    if (snprintf(locks, PATH_CAP, "%s/locks", dir) >= PATH_CAP ||
        snprintf(lock, PATH_CAP, "%s/locks/%s.lock", dir, id) >= PATH_CAP)
        return mli_error(err, ML_ERR_INVALID, "%s: the sweep directory's path is too long", dir);
    return 0;
}

/* Parse a lock's text. Sizes and every field are checked: a lock is data another process
 * (or a person) wrote. Returns 0 or -1 when it is not a lock we can read. */
static int parse_lock(const char *text, lock_info *li)
{
    const char *p = text;
    int have_host = 0, have_pid = 0;
    memset(li, 0, sizeof *li);
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char line[HOST_MAX + 16];
        if (n >= sizeof line)
            return -1;
        memcpy(line, p, n);
        line[n] = '\0';
        char *end = NULL;
        errno = 0;
        if (!strncmp(line, "host=", 5)) {
            if (!safe_name(line + 5) || strlen(line + 5) >= HOST_MAX)
                return -1;
            snprintf(li->host, sizeof li->host, "%s", line + 5);
            have_host = 1;
        } else if (!strncmp(line, "pid=", 4)) {
            long v = strtol(line + 4, &end, 10);
            if (errno || end == line + 4 || *end || v <= 0 || v > INT_MAX)
                return -1;
            li->pid = v;
            have_pid = 1;
        } else if (!strncmp(line, "start=", 6)) {
            unsigned long long v = strtoull(line + 6, &end, 10);
            if (errno || end == line + 6 || *end || line[6] == '-')
                return -1;
            li->start = v;
        } else if (!strncmp(line, "time=", 5)) {
            long long v = strtoll(line + 5, &end, 10);
            if (errno || end == line + 5 || *end)
                return -1;
            li->time = v;
        }   /* other keys: from a newer modlab, ignored */
        p = eol ? eol + 1 : p + n;
    }
    return have_host && have_pid ? 0 : -1;
}

/* Read the lock at path. 0 read (and *ino set), 1 no lock, -1 unreadable or malformed. */
static int read_lock(const char *path, lock_info *li, ino_t *ino)
{
    char buf[LOCK_MAX + 1];
    struct stat st;
    ssize_t n, off = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > LOCK_MAX) {
        close(fd);
        return -1;
    }
    while (off < LOCK_MAX && (n = read(fd, buf + off, (size_t)(LOCK_MAX - off))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        off += n;
    }
    close(fd);
    buf[off] = '\0';
    if (memchr(buf, '\0', (size_t)off))
        return -1;
    *ino = st.st_ino;
    return parse_lock(buf, li);
}

/* A lock is stale when it is this host's and its process is gone: no such pid, a zombie (a
 * trial killed and not yet reaped), or the pid now belongs to a process started at another
 * time (reused). EPERM means alive. */
static int is_stale(const lock_info *li)
{
    char host[HOST_MAX];
    this_host(host, sizeof host);
    if (strcmp(host, li->host) != 0)
        return 0;
    if (kill((pid_t)li->pid, 0) < 0 && errno == ESRCH)
        return 1;
    char state = '?';
    unsigned long long now = proc_start(li->pid, &state);
    if (state == 'Z' || state == 'X')
        return 1;
    if (li->start && now && now != li->start)
        return 1;
    return 0;
}

static void describe(const char *lockpath, const lock_info *li, int readable, char *holder,
                     size_t len)
{
    char when[32] = "?";
    if (!holder || !len)
        return;
    if (!readable) {
        snprintf(holder, len, "an unreadable lock %s (remove it if no agent runs this trial)",
                 lockpath);
        return;
    }
    if (li->time > 0) {
        time_t t = (time_t)li->time;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    snprintf(holder, len, "%s:%ld since %s", li->host, li->pid, when);
}

/* Remove the stale lock at path if it is still the file (inode) judged stale. Breakers take
 * an flock on locks/.break first: the kernel drops it if a breaker dies, and under it nobody
 * else can remove the lock (its owner is dead), so between the check and the unlink the
 * lock cannot be replaced by a live one, and two breakers never both win. */
static int break_stale(const char *locks, const char *path, ino_t ino, ml_err *err)
{
    char bpath[PATH_CAP];
    lock_info li;
    ino_t now = 0;
    int fd, rc = 0;
    if (snprintf(bpath, sizeof bpath, "%s/.break", locks) >= (int)sizeof bpath)
        return mli_error(err, ML_ERR_INVALID, "%s: path too long", locks);
    if ((fd = open(bpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return mli_error(err, ML_ERR_IO, "%s: cannot open: %s", bpath, strerror(errno));
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            rc = mli_error(err, ML_ERR_IO, "%s: cannot lock: %s", bpath, strerror(errno));
            goto fail;
        }
    if (read_lock(path, &li, &now) == 0 && now == ino && is_stale(&li) && unlink(path) < 0 &&
        errno != ENOENT)
        rc = mli_error(err, ML_ERR_IO, "%s: cannot remove the stale lock: %s", path,
                      strerror(errno));
fail:
    close(fd);   /* also releases the flock */
    return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

int ml_trial_claim(const char *dir, const char *id, char *holder, size_t holder_len,
                   ml_err *err)
{
    char lock[PATH_CAP], locks[PATH_CAP], tmp[PATH_CAP], text[LOCK_MAX], host[HOST_MAX];
    long pid = (long)getpid();
    int fd = -1, rc, n, made = 0;
    if (holder && holder_len)
        holder[0] = '\0';
    if ((rc = lock_paths(dir, id, lock, locks, err)) != 0)
        return rc;
    if ((rc = ml_mkdirs(locks, err)) != 0)
        return rc;
    this_host(host, sizeof host);
    n = snprintf(text, sizeof text, "host=%s\npid=%ld\nstart=%llu\ntime=%lld\n", host, pid,
                 proc_start(pid, NULL), (long long)time(NULL));
    if (snprintf(tmp, sizeof tmp, "%s/.%s.%s.%ld.tmp", locks, id, host, pid) >=
        (int)sizeof tmp)
        return mli_error(err, ML_ERR_INVALID, "%s: the sweep directory's path is too long", dir);
    /* A leftover of a crashed process with our pid may be a second name of its lock:
     * never write through it, start a new file. */
    unlink(tmp);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
        rc = mli_error(err, ML_ERR_IO, "%s: cannot write a trial lock: %s", tmp,
                      strerror(errno));
        goto fail;
    }
    made = 1;
    if (write_all(fd, text, (size_t)n) < 0 || fsync(fd) < 0) {
        rc = mli_error(err, ML_ERR_IO, "%s: cannot write a trial lock: %s", tmp,
                      strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;
    for (int attempt = 0; attempt < CLAIM_TRIES; attempt++) {
        lock_info li;
        ino_t ino = 0;
        int r;
        struct stat st;
        int e = 0;
        /* NFS may report a link that succeeded as failed (a retried request): the link
         * count of our own file says the truth. */
        if (link(tmp, lock) == 0 || (e = errno, stat(tmp, &st) == 0 && st.st_nlink == 2)) {
            rc = 0;
            goto fail;   /* claimed: the cleanup removes the temporary name */
        }
        if (e != EEXIST) {
            rc = mli_error(err, ML_ERR_IO, "%s: cannot create the trial lock: %s (the sweep "
                          "directory must be on a file system with hard links)", lock,
                          strerror(e));
            goto fail;
        }
        r = read_lock(lock, &li, &ino);
        if (r == 1)
            continue;   /* released between link and read: try again */
        if (r < 0 || !is_stale(&li)) {
            describe(lock, &li, r == 0, holder, holder_len);
            rc = 1;
            goto fail;
        }
        if ((rc = break_stale(locks, lock, ino, err)) != 0)
            goto fail;
    }
    rc = mli_error(err, ML_ERR_IO, "%s: the trial lock kept changing under %d attempts to "
                  "claim it; is something else rewriting %s?", lock, CLAIM_TRIES, locks);
fail:
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    return rc;
}

int ml_trial_release(const char *dir, const char *id, ml_err *err)
{
    char lock[PATH_CAP], locks[PATH_CAP], host[HOST_MAX];
    lock_info li;
    ino_t ino = 0;
    int rc;
    if ((rc = lock_paths(dir, id, lock, locks, err)) != 0)
        return rc;
    this_host(host, sizeof host);
    /* Only our own lock: a lock broken as stale and claimed by another may sit there now. */
    if (read_lock(lock, &li, &ino) != 0 || strcmp(li.host, host) != 0 ||
        li.pid != (long)getpid())
        return 1;
    if (unlink(lock) < 0 && errno != ENOENT)
        return mli_error(err, ML_ERR_IO, "%s: cannot remove the trial lock: %s", lock,
                        strerror(errno));
    return 0;
}

int ml_trial_holder(const char *dir, const char *id, char *holder, size_t holder_len,
                    ml_err *err)
{
    char lock[PATH_CAP], locks[PATH_CAP];
    lock_info li;
    ino_t ino = 0;
    int rc, r;
    if (holder && holder_len)
        holder[0] = '\0';
    if ((rc = lock_paths(dir, id, lock, locks, err)) != 0)
        return rc;
    r = read_lock(lock, &li, &ino);
    if (r == 1 || (r == 0 && is_stale(&li)))
        return 0;
    describe(lock, &li, r == 0, holder, holder_len);
    return 1;
}
