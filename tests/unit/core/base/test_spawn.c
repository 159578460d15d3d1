/* SPDX-License-Identifier: MIT */
/* core/base/spawn.c: programs from argv arrays (no shell), output caps, input, exit status;
 * copy of a tree (files, modes, times, links as links, refusals, no partial copy left);
 * directory listing; the git commit of a directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <modlab/modlab.h>
#include <modlab/spawn.h>
#include <modlab/sweep.h>

#include "tap.h"

static char tmp[] = "/tmp/modlab-spawn.XXXXXX";
static char cwd0[PATH_MAX];

static void put(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_run(void)
{
    ml_err err = { 0 };
    char out[64];
    size_t n = 99;
    int32_t st = 99;
    /* Every argument is one argv element, whatever it holds: nothing is interpreted. */
    const char *echo[] = { "printf", "%s|", "$(touch X)", "`touch X`", "a b;c'\"\n", NULL };
    ok(ml_run(echo, NULL, 0, 0, out, sizeof out, &n, &st, &err) == 0, "run printf: %s",
       err.msg);
    is_str(out, "$(touch X)|`touch X`|a b;c'\"\n|", "arguments reach the program as they are");
    is_int(n, strlen(out), "*out_len is the output's length");
    is_int(st, 0, "exit status 0");
    ok(!exists("X"), "no command in an argument ran");

    /* A descriptor of modlab's without close-on-exec is not inherited. */
    int leak = open("/dev/null", O_RDONLY);
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", leak);
    const char *probe[] = { "sh", "-c", "test -e \"$0\" && echo open || echo closed", fdpath,
                            NULL };
    ok(ml_run(probe, NULL, 0, 0, out, sizeof out, &n, &st, &err) == 0, "probe descriptors");
    is_str(out, "closed\n", "modlab's other descriptors are closed in the program");
    close(leak);

    const char *cat[] = { "cat", NULL };
    static char big[300000];
    memset(big, 'x', sizeof big);
    char *back = malloc(sizeof big + 1);
    ok(ml_run(cat, big, sizeof big, 0, back, sizeof big + 1, &n, &st, &err) == 0 &&
           n == sizeof big && memcmp(back, big, n) == 0,
       "300 kB through stdin and back (no deadlock between input and output)");
    ok(ml_run(cat, big, sizeof big, 0, out, 16, &n, &st, &err) == ML_ERR_FORMAT,
       "output past the cap is an error");
    ok(strstr(err.msg, "cat: its output exceeds 15 bytes") != NULL, "... saying so: %s",
       err.msg);
    free(back);

    const char *head[] = { "head", "-c", "1", NULL };
    ok(ml_run(head, big, sizeof big, 0, out, sizeof out, &n, &st, &err) == 0 && st == 0 &&
           n == 1,
       "a program that stops reading its input early: no SIGPIPE in modlab");

    const char *exit3[] = { "sh", "-c", "echo oops >&2; exit 3", NULL };
    ok(ml_run(exit3, NULL, 0, ML_RUN_STDERR_TO_OUT, out, sizeof out, &n, &st, &err) == 0,
       "run a failing program");
    is_int(st, 3, "its exit status 3");
    is_str(out, "oops\n", "ML_RUN_STDERR_TO_OUT captures stderr too");
    ok(ml_run(exit3, NULL, 0, ML_RUN_STDERR_NULL, out, sizeof out, &n, &st, &err) == 0 &&
           n == 0,
       "ML_RUN_STDERR_NULL drops it");
    const char *killed[] = { "sh", "-c", "kill -9 $$", NULL };
    ok(ml_run(killed, NULL, 0, 0, NULL, 0, NULL, &st, &err) == 0 && st == -9,
       "death by SIGKILL is status -9 (out NULL: output discarded)");

    const char *missing[] = { "modlab-no-such-program", "x", NULL };
    ok(ml_run(missing, NULL, 0, 0, out, sizeof out, &n, &st, &err) == ML_ERR_NOT_FOUND,
       "a program not in PATH: ML_ERR_NOT_FOUND");
    ok(strstr(err.msg, "cannot run modlab-no-such-program: not found") != NULL, "... %s",
       err.msg);
    const char *none[] = { NULL };
    ok(ml_run(none, NULL, 0, 0, NULL, 0, NULL, &st, &err) == ML_ERR_INVALID, "empty argv");
    ok(ml_run(echo, NULL, 0, 0, out, 0, &n, &st, &err) == ML_ERR_INVALID, "out without cap");
    ok(ml_run(echo, NULL, 0, ML_RUN_STDERR_NULL | ML_RUN_STDERR_TO_OUT, NULL, 0, NULL, &st,
              &err) == ML_ERR_INVALID, "contradictory flags");

    /* The trial processes share the same fork + exec. */
    const char *tr[] = { "sh", "-c", "exit 5", NULL };
    int32_t pid = ml_proc_spawn(tr, NULL, &err);
    while (pid > 0 && ml_proc_poll(pid, &st, &err) == 0)
        ml_sleep(0.01);
    is_int(st, 5, "ml_proc_spawn still runs trial processes");
}

/* Records of ml_list_dir as "kname,kname,..." */
static char *listing(const char *dir, char *buf, size_t cap)
{
    ml_err err = { 0 };
    size_t len = 0, at = 0;
    char *l = ml_list_dir(dir, &len, &err);
    buf[0] = '\0';
    if (!l) {
        snprintf(buf, cap, "error: %.400s", err.msg);
        return buf;
    }
    for (size_t off = 0; off < len; off += strlen(l + off) + 1)
        at += (size_t)snprintf(buf + at, at < cap ? cap - at : 0, "%s%s", at ? "," : "",
                               l + off);
    ml_list_dir_free(l);
    return buf;
}

static void test_list_dir(void)
{
    ml_err err = { 0 };
    char buf[512];
    size_t len;
    mkdir("ls", 0755);
    mkdir("ls/sub$(x)", 0755);
    put("ls/b.txt", "b", 0644);
    put("ls/a\nb", "nl", 0644);
    symlink("/etc", "ls/link");
    mkfifo("ls/fifo", 0600);
    is_str(listing("ls", buf, sizeof buf), "fa\nb,fb.txt,ofifo,llink,dsub$(x)",
           "kinds and names, sorted bytewise, newline and $() kept");
    mkdir("empty", 0755);
    is_str(listing("empty", buf, sizeof buf), "", "an empty directory");
    ok(ml_list_dir("no-such-dir", &len, &err) == NULL && err.code == ML_ERR_NOT_FOUND,
       "a missing directory: ML_ERR_NOT_FOUND");
    ok(strstr(err.msg, "no-such-dir: cannot list") != NULL, "... naming it: %s", err.msg);
}

static void test_copy_tree(void)
{
    ml_err err = { 0 };
    char buf[512], target[64];
    struct stat a, b;
    mkdir("src", 0755);
    mkdir("src/d", 0750);
    mkdir("src/ro", 0755);
    put("src/exec.sh", "#!/bin/sh\n", 0751);
    put("src/d/data", "hello", 0640);
    put("src/ro/f", "r", 0444);
    chmod("src/ro", 0555);
    symlink("../../outside", "src/d/up");
    symlink("/etc/passwd", "src/abs");
    struct timespec old[2] = { { 1000000000, 5 }, { 1000000000, 5 } };
    utimensat(AT_FDCWD, "src/d/data", old, 0);
    ok(ml_copy_tree("src", "dst$(touch X)", &err) == 0, "copy a tree: %s", err.msg);
    ok(!exists("X"), "no command ran");
    is_str(listing("dst$(touch X)", buf, sizeof buf), "labs,dd,fexec.sh,dro",
           "the same entries");
    stat("dst$(touch X)/exec.sh", &a);
    is_int(a.st_mode & 07777, 0751, "a file's mode kept");
    stat("dst$(touch X)/d", &a);
    is_int(a.st_mode & 07777, 0750, "a directory's mode kept");
    stat("dst$(touch X)/ro", &a);
    is_int(a.st_mode & 07777, 0555, "a read-only directory's mode kept (set after its files)");
    stat("src/d/data", &a);
    stat("dst$(touch X)/d/data", &b);
    ok(b.st_mtim.tv_sec == a.st_mtim.tv_sec && b.st_mtim.tv_nsec == a.st_mtim.tv_nsec &&
           b.st_size == 5,
       "a file's times and bytes kept");
    ssize_t n = readlink("dst$(touch X)/d/up", target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    is_str(target, "../../outside", "a link is copied as the same link (not followed)");
    lstat("dst$(touch X)/abs", &a);
    ok(S_ISLNK(a.st_mode), "an absolute link stays a link: nothing outside the tree is read");

    ok(ml_copy_tree("src", "dst$(touch X)", &err) == ML_ERR_INVALID, "never copied over");
    ok(strstr(err.msg, "File exists") != NULL, "... %s", err.msg);
    ok(ml_copy_tree("src/exec.sh", "x1", &err) == ML_ERR_INVALID && !exists("x1"),
       "the source must be a directory");
    symlink("src", "srclink");
    ok(ml_copy_tree("srclink", "x2", &err) == ML_ERR_INVALID && !exists("x2"),
       "... not a link to one");
    ok(ml_copy_tree("nothing", "x3", &err) == ML_ERR_NOT_FOUND && !exists("x3"),
       "a missing source: ML_ERR_NOT_FOUND");
    ok(ml_copy_tree("src", "src/d/inside", &err) == ML_ERR_INVALID, "a copy into itself");
    ok(strstr(err.msg, "inside its source") != NULL, "... refused: %s", err.msg);
    ok(!exists("src/d/inside"), "... and no partial copy is left");
    mkdir("srcf", 0755);
    put("srcf/a", "a", 0644);
    mkfifo("srcf/z-fifo", 0600);
    ok(ml_copy_tree("srcf", "dstf", &err) == ML_ERR_UNSUPPORTED, "a fifo is refused");
    ok(strstr(err.msg, "srcf/z-fifo: not a regular file") != NULL, "... naming it: %s",
       err.msg);
    ok(!exists("dstf"), "... and the partial copy is removed");
    chmod("src/ro", 0755);
    chmod("dst$(touch X)/ro", 0755);
}

static void test_git(void)
{
    ml_err err = { 0 };
    char id[65], want[65] = "";
    const char *init[] = { "git", "init", "-q", "g`touch X`", NULL };
    const char *commit[] = { "git", "-C", "g`touch X`", "-c", "user.name=t", "-c",
                             "user.email=t@example.invalid", "commit", "-q", "--allow-empty",
                             "-m", "m", NULL };
    int32_t st = -1;
    size_t n;
    is_int(ml_git_commit("/", id, sizeof id, &err), 0, "no repository: 0");
    ok(ml_git_commit("/", id, 10, &err) == ML_ERR_INVALID, "cap < 65 is refused");
    if (ml_run(init, NULL, 0, ML_RUN_STDERR_NULL, NULL, 0, NULL, &st, &err) != 0 || st) {
        ok(1, "# SKIP git cannot run here: %s", err.msg);
        return;
    }
    is_int(ml_git_commit("g`touch X`", id, sizeof id, &err), 0, "a repository without commits: 0");
    ml_run(commit, NULL, 0, 0, NULL, 0, NULL, &st, &err);
    const char *rev[] = { "git", "-C", "g`touch X`", "rev-parse", "HEAD", NULL };
    ml_run(rev, NULL, 0, 0, want, sizeof want, &n, &st, &err);
    if (n > 0 && want[n - 1] == '\n')
        want[n - 1] = '\0';
    is_int(ml_git_commit("g`touch X`", id, sizeof id, &err), 1, "a repository with a commit: 1");
    is_str(id, want, "its commit id");
    ok(!exists("X"), "no command in the directory's name ran");
}

int main(void)
{
    getcwd(cwd0, sizeof cwd0);
    if (!mkdtemp(tmp) || chdir(tmp) != 0) {
        printf("Bail out! cannot make a temporary directory\n");
        return 1;
    }
    test_run();
    test_list_dir();
    test_copy_tree();
    test_git();
    /* Clean up with the code under test's own removal path is not public: use rm. */
    const char *rm[] = { "rm", "-rf", tmp, NULL };
    int32_t st;
    ml_err err = { 0 };
    if (chdir("/") == 0)
        ml_run(rm, NULL, 0, 0, NULL, 0, NULL, &st, &err);
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}
