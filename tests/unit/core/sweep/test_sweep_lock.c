/* SPDX-License-Identifier: MIT */
/* Trial claims (core/sweep/sweep_lock.c): one winner among processes claiming at the same instant,
 * with or without a stale lock to break first; release only of one's own lock; unsafe ids
 * and malformed or oversized locks. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <modlab/modlab.h>
#include "tap.h"
#include "tap_fs.h"
#include <modlab/sweep.h>

enum { RACERS = 8 };

static char dir[256];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void host_of_this_machine(char *buf, size_t len)
{
    if (gethostname(buf, len - 1) != 0)
        snprintf(buf, len, "unknown");
    buf[len - 1] = '\0';
}

/* RACERS processes claim `id` at once (released together through a pipe) and keep what they
 * got until all have tried. Returns how many claimed it. */
static int race(const char *id)
{
    int go[2], told[2], end[2], winners = 0;
    pid_t pids[RACERS];
    char c;
    if (pipe(go) || pipe(told) || pipe(end))
        return -1;
    for (int i = 0; i < RACERS; i++) {
        if ((pids[i] = fork()) == 0) {
            ml_err err = {0};
            close(go[1]);
            close(end[1]);
            if (read(go[0], &c, 1) < 0)
                _exit(3);
            int r = ml_trial_claim(dir, id, NULL, 0, &err);
            if (write(told[1], "x", 1) < 0)
                _exit(3);
            if (read(end[0], &c, 1) < 0)   /* holds the claim until everyone tried */
                _exit(3);
            _exit(r == 0 ? 0 : r == 1 ? 1 : 2);
        }
    }
    close(go[0]);
    close(told[1]);
    close(end[0]);
    close(go[1]);   /* EOF: everyone starts */
    for (int i = 0; i < RACERS; i++)
        if (read(told[0], &c, 1) != 1)
            break;
    close(end[1]);
    for (int i = 0; i < RACERS; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            winners++;
        else if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
            tap_diag("racer %d: status %d", i, st);
    }
    close(told[0]);
    return winners;
}

int main(void)
{
    ml_err err = {0};
    char path[512], holder[256], host[256], text[512];
    snprintf(dir, sizeof dir, "/tmp/modlab-lock-test.%d", (int)getpid());
    mkdir(dir, 0755);
    host_of_this_machine(host, sizeof host);

    is_int(race("a1"), 1, "8 processes claim one trial at once: exactly one wins");
    snprintf(path, sizeof path, "%s/locks/a1.lock", dir);
    ok(access(path, F_OK) == 0, "the winner's lock stays after it exits (stale, not removed)");

    /* That lock's process is gone: stale. Racing to break it, again one wins. */
    is_int(race("a1"), 1, "8 processes break a stale lock at once: exactly one wins");

    is_int(ml_trial_claim(dir, "b2", holder, sizeof holder, &err), 0, "claim a free trial");
    is_int(ml_trial_claim(dir, "b2", holder, sizeof holder, &err), 1,
           "a second claim (even our own) is refused");
    ok(strstr(holder, host) != NULL, "... naming the holder's host: %s", holder);
    is_int(ml_trial_holder(dir, "b2", holder, sizeof holder, &err), 1, "holder: held");
    is_int(ml_trial_release(dir, "b2", &err), 0, "release our own lock");
    is_int(ml_trial_release(dir, "b2", &err), 1, "releasing again: not ours (absent)");
    is_int(ml_trial_holder(dir, "b2", holder, sizeof holder, &err), 0, "holder: free");

    /* Another process's live lock is never released by us. */
    snprintf(path, sizeof path, "%s/locks/c3.lock", dir);
    snprintf(text, sizeof text, "host=%s\npid=%d\nstart=0\ntime=0\n", host, (int)getppid());
    write_text(path, text);
    is_int(ml_trial_release(dir, "c3", &err), 1, "release leaves another process's lock");
    ok(access(path, F_OK) == 0, "... in place");
    is_int(ml_trial_claim(dir, "c3", holder, sizeof holder, &err), 1,
           "a live process's lock is honoured");

    const char *bad_locks[] = { "host=h\n", "pid=12\n", "host=../x\npid=12\n",
                                "host=h\npid=0\n", "host=h\npid=-4\n", "host=h\npid=1x\n",
                                "host=h\npid=99999999999\n", "host=h\npid=1\nstart=-1\n" };
    for (size_t i = 0; i < sizeof bad_locks / sizeof *bad_locks; i++) {
        write_text(path, bad_locks[i]);
        is_int(ml_trial_claim(dir, "c3", holder, sizeof holder, &err), 1,
               "a malformed lock is honoured, not broken");
        ok(strstr(holder, "unreadable lock"), "... and named: %s", holder);
    }
    {
        char big[2048];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        memcpy(big, "host=h\npid=1\n#", 14);
        write_text(path, big);
        is_int(ml_trial_claim(dir, "c3", holder, sizeof holder, &err), 1,
               "a lock over 1 KiB is not read");
    }

    const char *bad_ids[] = { "", ".x", "../x", "a/b", "a b", "x\n" };
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        is_int(ml_trial_claim(dir, bad_ids[i], NULL, 0, &err), ML_ERR_INVALID,
               "an unsafe trial id is refused");
        ok(strstr(err.msg, "not a safe name"), "... saying why: %s", err.msg);
    }

    tap_cleanup_dir(dir);
    return done_testing();
}
