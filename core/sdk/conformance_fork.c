/* SPDX-License-Identifier: MIT */
/* ml_plugin_check: the checks in process, or in a forked child that reports through a pipe
 * so a plugin that crashes, hangs or calls exit() is reported with the call it was in. */
#include "sdk/conformance_impl.h"

/* ---- the forked variant ------------------------------------------------------------ */

static char *next_field(char **p)
{
    char *s = *p, *t = s ? strchr(s, '\t') : NULL;
    if (t) {
        *t = '\0';
        *p = t + 1;
    } else {
        *p = NULL;
    }
    return s;
}

static void parse_child_output(ml_check_report *r, char *buf, char *open_entry,
                               char *open_name, int *open)
{
    char *line, *save = NULL;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *p = line + 2;
        if (line[0] == 'B' && line[1] == '\t') {
            snprintf(open_entry, 96, "%s", next_field(&p));
            snprintf(open_name, 32, "%s", p ? p : "");
            *open = 1;
        } else if (line[0] == 'R' && line[1] == '\t') {
            int v = atoi(next_field(&p));
            char *entry = next_field(&p), *name = next_field(&p);
            if (entry && name && p) {
                mli_conf_rec_add(r, v, entry, name, p);
                *open = 0;
            }
        }
    }
}

static const char *sig_abbrev(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGSYS: return "SIGSYS";
    case SIGPIPE: return "SIGPIPE";
    default: return NULL;
    }
}

static ml_check_crumb *child_crumb;

/* In the child, exit() can only come from plugin code: note it and the status, and leave
 * at once, so the parent's atexit handlers (copied by fork) do not run a second time. */
#ifdef __GLIBC__
static void on_child_exit(int status, void *arg)
{
    (void)arg;
    if (child_crumb && !child_crumb->finished) {
        child_crumb->exit_called = 1;
        child_crumb->exit_status = status;
        _exit(status);
    }
}
#else
static void on_child_exit(void)
{
    if (child_crumb && !child_crumb->finished) {
        child_crumb->exit_called = 1;
        child_crumb->exit_status = -1;
    }
}
#endif

/* The verdict for a child that did not finish: which call, what happened. */
static void child_death(const ml_check_crumb *cr, int status, long timeout, char *detail,
                        size_t cap)
{
    char in[96] = "";
    const char *call = cr && cr->call[0] ? cr->call : NULL;
    if (call)
        snprintf(in, sizeof in, " in %s", call);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
        if (call)
            snprintf(detail, cap, "did not return from %s within %ld s "
                     "(MODLAB_CHECK_TIMEOUT); an infinite loop? later checks did not run",
                     call, timeout);
        else
            snprintf(detail, cap, "the plugin hung: no result within %ld s "
                     "(MODLAB_CHECK_TIMEOUT); later checks did not run", timeout);
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *ab = sig_abbrev(sig);
        char num[32];
        snprintf(num, sizeof num, "signal %d", sig);
        snprintf(detail, cap, "crashed with %s (%s)%s; later checks did not run",
                 ab ? ab : num, strsignal(sig), in[0] ? in : " during this check");
    } else if (cr && cr->exit_called) {
        if (cr->exit_status >= 0)
            snprintf(detail, cap, "called exit(%d)%s: a plugin must never end the process; "
                     "return a negative ML_ERR_* code with a message instead; later checks "
                     "did not run", cr->exit_status, in);
        else
            snprintf(detail, cap, "called exit()%s: a plugin must never end the process; "
                     "return a negative ML_ERR_* code with a message instead; later checks "
                     "did not run", in);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        snprintf(detail, cap, "the checking process exited with status %d%s (a sanitizer "
                 "report above says where, or the plugin called _exit); later checks did "
                 "not run", WEXITSTATUS(status), in[0] ? in : " during this check");
    } else {
        snprintf(detail, cap, "the checking process ended%s before the checks finished (the "
                 "plugin called _exit?); later checks did not run", in);
    }
}

ml_check_report *ml_plugin_check(const char *file, const char *deps, uint32_t flags,
                                 ml_err *err)
{
    ml_check_report *r = calloc(1, sizeof *r);
    int fds[2];
    if (!r)
        return mli_error(err, ML_ERR_NOMEM, "plugin check: out of memory"), NULL;
    if (!(flags & ML_CHECK_FORK)) {
        sink s = {r, -1};
        mli_conf_run_checks(&s, file, deps);
        return r;
    }
    fflush(NULL);
    ml_check_crumb *cr = mmap(NULL, sizeof *cr, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (cr == MAP_FAILED) {
        free(r);
        return mli_error(err, ML_ERR_IO, "plugin check: mmap: %s", strerror(errno)), NULL;
    }
    memset(cr, 0, sizeof *cr);
    if (pipe(fds) != 0) {
        munmap(cr, sizeof *cr);
        free(r);
        return mli_error(err, ML_ERR_IO, "plugin check: pipe: %s", strerror(errno)), NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        munmap(cr, sizeof *cr);
        free(r);
        return mli_error(err, ML_ERR_IO, "plugin check: fork: %s", strerror(errno)), NULL;
    }
    const char *tmo = getenv("MODLAB_CHECK_TIMEOUT");
    long timeout = tmo && atol(tmo) > 0 ? atol(tmo) : ML_CHECK_TIMEOUT_S;
    if (pid == 0) {
        /* The child: run, report through the pipe, and leave without running atexit
         * handlers that belong to the parent (the one place modlab ends a process). */
        sink s = {NULL, fds[1]};
        /* The report is the parent's: freeing our copy keeps a leak check of the checking
         * process (valgrind follows the fork) clean. */
        free(r);
        close(fds[0]);
        child_crumb = cr;
        mli_check_crumb_use(cr);
        mli_load_crash_quiet(1);   /* the parent reports, naming the call */
#ifdef __GLIBC__
        on_exit(on_child_exit, NULL);
#else
        atexit(on_child_exit);
#endif
        alarm((unsigned)timeout);
        mli_conf_run_checks(&s, file, deps);
        cr->finished = 1;
        fflush(NULL);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && len + 1024 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
                cap *= 2;
            }
        }
        char sinkbuf[1024];
        ssize_t got = read(fds[0], buf ? buf + len : sinkbuf, buf ? cap - len - 1 : 1024);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (buf)
            len += (size_t)got;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char entry[96] = "", name[32] = "";
    int open = 0;
    if (buf) {
        buf[len] = '\0';
        parse_child_output(r, buf, entry, name, &open);
        free(buf);
    }
    if (!*entry)
        snprintf(entry, sizeof entry, "%s", mli_conf_base_name(file));
    if (!open)
        snprintf(name, sizeof name, "teardown");
    char detail[400];
    if (!cr->finished || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        child_death(cr, status, timeout, detail, sizeof detail);
        mli_conf_rec_add(r, ML_CHECK_FAIL, entry, name, detail);
    }
    munmap(cr, sizeof *cr);
    return r;
}
