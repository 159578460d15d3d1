/* SPDX-License-Identifier: MIT */
/* core/base/fileio.c: ml_mkdir_unique (the exclusive claim of run directories, its name checks)
 * and the MODLAB_TEST_FAIL_WRITE hook the writers honour. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "tap.h"
#include <modlab/modlab.h>
#include <modlab/sweep.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Removes dir and what the tests made in it (one level of subdirectories, no deeper). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (is_dir(path))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void test_mkdir_unique(const char *tmp)
{
    char base[300], out[400], want[400], small[8];
    ml_err err;
    snprintf(base, sizeof base, "%s/runs/x", tmp);
    is_int(ml_mkdir_unique(base, "r-20260101-000000", out, sizeof out, &err), 0,
           "a new name: created (with its parents)");
    snprintf(want, sizeof want, "%s/r-20260101-000000", base);
    ok(!strcmp(out, want) && is_dir(want), "... at base/name");
    is_int(ml_mkdir_unique(base, "r-20260101-000000", out, sizeof out, &err), 0,
           "the same name again: created");
    snprintf(want, sizeof want, "%s/r-20260101-000000-2", base);
    ok(!strcmp(out, want) && is_dir(want), "... with the suffix -2");
    ml_mkdir_unique(base, "r-20260101-000000", out, sizeof out, &err);
    snprintf(want, sizeof want, "%s/r-20260101-000000-3", base);
    ok(!strcmp(out, want), "... then -3");

    const char *bad[] = {"", "../escape", "a/b", ".hidden", "sp ace", "nl\n", "$(x)", "..",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        out[0] = 0;
        ok(ml_mkdir_unique(base, bad[i], out, sizeof out, &err) == ML_ERR_INVALID,
           "unsafe name #%d refused", i);
        ok(out[0] == 0, "... out untouched");
    }
    like(err.msg, "letters, digits", "the message says which characters are allowed");
    char longname[260];
    memset(longname, 'a', 201);
    longname[201] = 0;
    is_int(ml_mkdir_unique(base, longname, out, sizeof out, &err), ML_ERR_INVALID,
           "a 201-character name is refused");
    is_int(count_entries(base), 3, "nothing made by the refused calls");
    is_int(ml_mkdir_unique(base, "other", small, sizeof small, &err), ML_ERR_INVALID,
           "an out buffer too small for the path: an error");
}

static int read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return -1;
    n = fread(buf, 1, size - 1, f);
    buf[n] = 0;
    fclose(f);
    return (int)n;
}

static void test_write_fault(const char *tmp)
{
    char a[300], b[300], j[300], buf[64];
    ml_err err;
    snprintf(a, sizeof a, "%s/a.json", tmp);
    snprintf(b, sizeof b, "%s/b.json", tmp);
    snprintf(j, sizeof j, "%s/m.jsonl", tmp);
    setenv("MODLAB_TEST_FAIL_WRITE", "a.json#2,b.json,m.jsonl#1", 1);
    is_int(ml_file_write_atomic(a, "one", 3, &err), 0, "a.json#2: the first write works");
    is_int(ml_file_write_atomic(a, "two", 3, &err), ML_ERR_IO, "... the second fails");
    like(err.msg, "a.json: write failed: No space left on device", "... as a full disk");
    ok(read_file(a, buf, sizeof buf) == 3 && !strcmp(buf, "one"), "... the old file is whole");
    is_int(ml_file_write_atomic(a, "six", 3, &err), 0, "... the third works");
    is_int(ml_file_write_atomic(b, "x", 1, &err), ML_ERR_IO, "b.json: every write fails");
    is_int(ml_file_write_atomic(b, "x", 1, &err), ML_ERR_IO, "... again");
    is_int(ml_journal_append(j, "{\"epoch\":1}", &err), ML_ERR_IO,
           "m.jsonl#1: the first journal line fails");
    like(err.msg, "m.jsonl: cannot append to the journal: No space left on device",
         "... naming the file and the errno");
    is_int(ml_journal_append(j, "{\"epoch\":1}", &err), 0, "... the second is written");
    ok(read_file(j, buf, sizeof buf) == 12, "... one whole line, nothing of the failed one");
    is_int(count_entries(tmp), 2, "no temp file left (a.json, m.jsonl)");
    unsetenv("MODLAB_TEST_FAIL_WRITE");
    is_int(mli_test_write_fault(b), 0, "unset: no fault");
}

int main(void)
{
    char tmp[] = "/tmp/modlab-test-fileio-XXXXXX", sub[64];
    if (!mkdtemp(tmp)) {
        ok(0, "mkdtemp");
        return done_testing();
    }
    test_mkdir_unique(tmp);
    snprintf(sub, sizeof sub, "%s/w", tmp);
    mkdir(sub, 0755);
    test_write_fault(sub);
    remove_tree(tmp);
    return done_testing();
}
