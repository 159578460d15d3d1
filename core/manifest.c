/* SPDX-License-Identifier: MIT */
/* Dataset manifests: parsing, the verified cache, mirrors with their own pins, extraction. */
#include "manifest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "err.h"
#include "fileio.h"
#include "fetch.h"
#include "hash.h"
#include "mem.h"
#include "yaml_tree.h"

#ifndef ML_MANIFESTDIR
#define ML_MANIFESTDIR "/usr/local/share/modlab/datasets"
#endif

enum { PATH_MAX_ = 4096, REASONS_MAX = 1024 };

/* Checksums pinned for some bytes; size -1 and "" mean "not pinned". */
typedef struct pins {
    int64_t size;
    char md5[ML_MD5_HEX];
    char sha256[ML_SHA256_HEX];
    int set;               /* a mirror override exists for this file */
} pins;

typedef struct mf_member {
    char *name;            /* relative path inside the archive and the cache */
    pins pin;
} mf_member;

typedef struct mf_file {
    char *name;
    pins pin;              /* as published by the official source */
    mf_member *members;    /* archive members to extract (nmembers == 0: not an archive) */
    size_t nmembers;
} mf_file;

typedef struct mf_mirror {
    char *url;             /* base URL, ends with '/' */
    char *hint;            /* how to get this mirror, e.g. "apt-get install ..." or NULL */
    pins *over;            /* per file (nfiles), .set when the mirror has its own bytes */
} mf_mirror;

typedef struct mf_role {
    char *role;
    char **names;          /* files or extracted members (several: joined by ':') */
    size_t nnames;
} mf_role;

typedef struct mf_split {
    char *name;
    mf_role *roles;
    size_t nroles;
} mf_split;

typedef struct mf_opt {
    char *key, *text;
    int type;              /* ML_OPT_* */
} mf_opt;

struct ml_manifest {
    char *path, *name, *format;
    mf_file *files;
    size_t nfiles;
    mf_mirror *mirrors;
    size_t nmirrors;
    mf_split *splits;
    size_t nsplits;
    mf_opt *opts;
    size_t nopts;
};

/* ---- small helpers ------------------------------------------------------------------ */

static char *dupn(const char *s, ml_err *err)
{
    char *d = ml_strdup(s);
    if (!d)
        ml_error(err, ML_ERR_NOMEM, "out of memory");
    return d;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return s[n] == '\0';
}

/* A relative path with no empty, "." or ".." component; `slash` allows directories. */
static int safe_rel(const char *s, int slash)
{
    if (!*s || *s == '/' || strlen(s) > 255)
        return 0;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)p[i]) && !strchr("._+-", p[i]))
                return 0; /* also keeps names safe to append to a URL */
        p += n;
        if (*p == '/') {
            if (!slash)
                return 0;
            p++;
            if (!*p)
                return 0;
        }
    }
    return 1;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

static int mkdirs(const char *path, ml_err *err)
{
    char buf[PATH_MAX_];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return ml_error(err, ML_ERR_INVALID, "path too long: %s", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST)
            return ml_error(err, ML_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST)
        return ml_error(err, ML_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
    return 0;
}

/* Write a small file crash-safely (temp name, fsync, rename, fsync the directory). */
static int write_atomic(const char *path, const char *text, ml_err *err)
{
    return ml_file_write_atomic(path, text, strlen(text), err);
}

/* ---- search path and cache location --------------------------------------------------- */

int ml_data_dir(char *buf, size_t cap, ml_err *err)
{
    const char *d = getenv("MODLAB_DATA_DIR"), *x = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (d && *d)
        n = snprintf(buf, cap, "%s", d);
    else if (x && *x == '/')
        n = snprintf(buf, cap, "%s/modlab", x);
    else if (home && *home)
        n = snprintf(buf, cap, "%s/.cache/modlab", home);
    else
        return ml_error(err, ML_ERR_INVALID,
                        "no cache directory: set MODLAB_DATA_DIR (or HOME or XDG_CACHE_HOME)");
    if (n < 0 || (size_t)n >= cap)
        return ml_error(err, ML_ERR_INVALID, "the cache directory path is too long");
    return 0;
}

typedef struct dirs_seen {
    dev_t dev[16];
    ino_t ino[16];
    int n;
} dirs_seen;

/* 1 when `dir` is a directory not visited yet (the same directory can come twice). */
static int new_dir(dirs_seen *s, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return 0;
    for (int i = 0; i < s->n; i++)
        if (s->dev[i] == st.st_dev && s->ino[i] == st.st_ino)
            return 0;
    if (s->n < 16) {
        s->dev[s->n] = st.st_dev;
        s->ino[s->n++] = st.st_ino;
    }
    return 1;
}

int ml_manifest_dirs(int (*fn)(const char *dir, void *user), void *user)
{
    dirs_seen seen = {.n = 0};
    const char *env = getenv("MODLAB_MANIFEST_PATH");
    const char *fixed[] = {
#ifdef ML_SRC_MANIFESTDIR
        ML_SRC_MANIFESTDIR,
#endif
        ML_MANIFESTDIR};
    char dir[PATH_MAX_];
    int rc;
    for (const char *p = env; p && *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, p, n);
            dir[n] = '\0';
            if (new_dir(&seen, dir) && (rc = fn(dir, user)))
                return rc;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (new_dir(&seen, fixed[i]) && (rc = fn(fixed[i], user)))
            return rc;
    return 0;
}

typedef struct find_ctx {
    const char *name;
    char path[PATH_MAX_];
    char looked[400];
} find_ctx;

static int find_in(const char *dir, void *user)
{
    find_ctx *c = user;
    size_t l = strlen(c->looked);
    snprintf(c->path, sizeof c->path, "%s/%s.yaml", dir, c->name);
    snprintf(c->looked + l, sizeof c->looked - l, "%s%s", l ? ", " : "", dir);
    return file_size(c->path) >= 0;
}

/* ---- parsing ------------------------------------------------------------------------ */

static int check_keys(const ml_yt_doc *d, const ml_yt_node *map, const char *what,
                      const char *const *allowed, ml_err *err)
{
    for (size_t i = 0; i < map->n; i++) {
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            known |= !strcmp(map->keys[i]->value, *a);
        if (!known) {
            char list[200] = "";
            for (const char *const *a = allowed; *a; a++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         a == allowed ? "" : ", ", *a);
            return ml_yt_error(d, map->keys[i], err, ML_ERR_FORMAT,
                               "unknown key '%s' in %s (known: %s)", map->keys[i]->value,
                               what, list);
        }
    }
    return 0;
}

static int parse_pins(const ml_yt_doc *d, const ml_yt_node *map, const char *what, pins *p,
                      int need_digest, ml_err *err)
{
    const ml_yt_node *n;
    const char *s;
    int rc;
    p->size = -1;
    p->md5[0] = p->sha256[0] = '\0';
    if ((n = ml_yt_get(map, "size"))) {
        if ((rc = ml_yt_int(d, n, "size", &p->size, err)))
            return rc;
        if (p->size < 0)
            return ml_yt_error(d, n, err, ML_ERR_FORMAT, "size of %s must be >= 0", what);
    }
    if ((n = ml_yt_get(map, "md5"))) {
        if ((rc = ml_yt_str(d, n, "md5", &s, err)))
            return rc;
        if (!is_hex(s, 32))
            return ml_yt_error(d, n, err, ML_ERR_FORMAT,
                               "md5 of %s must be 32 hex digits, not '%s'", what, s);
        for (int i = 0; i < 33; i++)
            p->md5[i] = (char)tolower((unsigned char)s[i]);
    }
    if ((n = ml_yt_get(map, "sha256"))) {
        if ((rc = ml_yt_str(d, n, "sha256", &s, err)))
            return rc;
        if (!is_hex(s, 64))
            return ml_yt_error(d, n, err, ML_ERR_FORMAT,
                               "sha256 of %s must be 64 hex digits, not '%s'", what, s);
        for (int i = 0; i < 65; i++)
            p->sha256[i] = (char)tolower((unsigned char)s[i]);
    }
    if (need_digest && !p->md5[0] && !p->sha256[0])
        return ml_yt_error(d, map, err, ML_ERR_FORMAT,
                           "%s has no md5 or sha256: pin at least one checksum", what);
    return 0;
}

static int parse_files(ml_manifest *m, const ml_yt_doc *d, const ml_yt_node *seq, ml_err *err)
{
    static const char *const keys[] = {"name", "size", "md5", "sha256", "extract", NULL};
    static const char *const mkeys[] = {"name", "size", "md5", "sha256", NULL};
    int rc;
    if ((rc = ml_yt_expect(d, seq, ML_YT_SEQ, "files", err)))
        return rc;
    if (seq->n == 0)
        return ml_yt_error(d, seq, err, ML_ERR_FORMAT, "files is empty");
    m->files = ml_zalloc(seq->n * sizeof *m->files);
    if (!m->files)
        return ml_error(err, ML_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < seq->n; i++) {
        const ml_yt_node *fn = seq->items[i], *n;
        mf_file *f = &m->files[i];
        const char *name;
        m->nfiles = i + 1;
        if ((rc = ml_yt_expect(d, fn, ML_YT_MAP, "a files entry", err)) ||
            (rc = check_keys(d, fn, "a files entry", keys, err)) ||
            (rc = ml_yt_str(d, ml_yt_get(fn, "name"), "files[].name", &name, err)))
            return rc == ML_ERR_FORMAT && !ml_yt_get(fn, "name") && fn->kind == ML_YT_MAP
                       ? ml_yt_error(d, fn, err, ML_ERR_FORMAT, "files entry without a name")
                       : rc;
        if (!safe_rel(name, 0))
            return ml_yt_error(d, ml_yt_get(fn, "name"), err, ML_ERR_FORMAT,
                               "file name '%s' must be a plain file name (A-Z a-z 0-9 . _ + -)",
                               name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(m->files[j].name, name))
                return ml_yt_error(d, fn, err, ML_ERR_FORMAT, "file '%s' listed twice", name);
        if (!(f->name = dupn(name, err)))
            return ML_ERR_NOMEM;
        if ((rc = parse_pins(d, fn, name, &f->pin, 1, err)))
            return rc;
        if (!(n = ml_yt_get(fn, "extract")))
            continue;
        if ((rc = ml_yt_expect(d, n, ML_YT_SEQ, "extract", err)))
            return rc;
        f->members = ml_zalloc((n->n ? n->n : 1) * sizeof *f->members);
        if (!f->members)
            return ml_error(err, ML_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < n->n; k++) {
            const ml_yt_node *mn = n->items[k];
            mf_member *mem = &f->members[k];
            const char *mname;
            f->nmembers = k + 1;
            mem->pin.size = -1;
            if (mn->kind == ML_YT_MAP) {
                if ((rc = check_keys(d, mn, "an extract entry", mkeys, err)) ||
                    (rc = ml_yt_str(d, ml_yt_get(mn, "name"), "extract[].name", &mname, err)) ||
                    (rc = parse_pins(d, mn, "an extracted member", &mem->pin, 0, err)))
                    return rc;
            } else if ((rc = ml_yt_str(d, mn, "an extract entry", &mname, err))) {
                return rc;
            }
            if (!safe_rel(mname, 1))
                return ml_yt_error(d, mn, err, ML_ERR_FORMAT,
                                   "extract member '%s' must be a relative path without '..' "
                                   "(A-Z a-z 0-9 . _ + - /)",
                                   mname);
            if (!(mem->name = dupn(mname, err)))
                return ML_ERR_NOMEM;
        }
        if (!strstr(name, ".tar.gz") && !strstr(name, ".tgz"))
            return ml_yt_error(d, n, err, ML_ERR_FORMAT,
                               "extract needs a .tar.gz or .tgz archive, not '%s'", name);
    }
    return 0;
}

static int add_mirror(ml_manifest *m, const char *url, ml_err *err)
{
    mf_mirror *mm = &m->mirrors[m->nmirrors];
    size_t n = strlen(url);
    mm->url = ml_alloc(n + 2);
    mm->over = ml_zalloc(m->nfiles * sizeof *mm->over);
    if (!mm->url || !mm->over) {
        ml_free(mm->url);
        ml_free(mm->over);
        mm->url = NULL;
        mm->over = NULL;
        return ml_error(err, ML_ERR_NOMEM, "out of memory");
    }
    memcpy(mm->url, url, n + 1);
    if (n == 0 || url[n - 1] != '/')
        strcat(mm->url, "/");
    m->nmirrors++;
    return 0;
}

static int parse_urls(ml_manifest *m, const ml_yt_doc *d, const ml_yt_node *seq, ml_err *err)
{
    static const char *const keys[] = {"url", "hint", "files", NULL};
    const char *env = getenv("MODLAB_MIRROR");
    int rc;
    if ((rc = ml_yt_expect(d, seq, ML_YT_SEQ, "urls", err)))
        return rc;
    if (seq->n == 0)
        return ml_yt_error(d, seq, err, ML_ERR_FORMAT, "urls is empty");
    m->mirrors = ml_zalloc((seq->n + 1) * sizeof *m->mirrors);
    if (!m->mirrors)
        return ml_error(err, ML_ERR_NOMEM, "out of memory");
    if (env && *env && (rc = add_mirror(m, env, err)))
        return rc;
    for (size_t i = 0; i < seq->n; i++) {
        const ml_yt_node *un = seq->items[i], *fm;
        const char *url, *hint = NULL;
        if (un->kind == ML_YT_MAP) {
            if ((rc = check_keys(d, un, "a urls entry", keys, err)) ||
                (rc = ml_yt_str(d, ml_yt_get(un, "url"), "urls[].url", &url, err)))
                return rc;
            if (ml_yt_get(un, "hint") &&
                (rc = ml_yt_str(d, ml_yt_get(un, "hint"), "hint", &hint, err)))
                return rc;
        } else if ((rc = ml_yt_str(d, un, "a urls entry", &url, err))) {
            return rc;
        }
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8) &&
            strncmp(url, "file:///", 8))
            return ml_yt_error(d, un, err, ML_ERR_FORMAT,
                               "url '%s' must start with http://, https:// or file:///", url);
        if ((rc = add_mirror(m, url, err)))
            return rc;
        mf_mirror *mm = &m->mirrors[m->nmirrors - 1];
        if (hint && !(mm->hint = dupn(hint, err)))
            return ML_ERR_NOMEM;
        if (un->kind != ML_YT_MAP || !(fm = ml_yt_get(un, "files")))
            continue;
        /* This mirror's own bytes: its pins replace the official ones for listed files. */
        if ((rc = ml_yt_expect(d, fm, ML_YT_MAP, "urls[].files", err)))
            return rc;
        for (size_t k = 0; k < fm->n; k++) {
            static const char *const pkeys[] = {"size", "md5", "sha256", NULL};
            size_t j;
            for (j = 0; j < m->nfiles; j++)
                if (!strcmp(m->files[j].name, fm->keys[k]->value))
                    break;
            if (j == m->nfiles)
                return ml_yt_error(d, fm->keys[k], err, ML_ERR_FORMAT,
                                   "mirror checksums for '%s', which is not in files",
                                   fm->keys[k]->value);
            if ((rc = ml_yt_expect(d, fm->items[k], ML_YT_MAP, fm->keys[k]->value, err)) ||
                (rc = check_keys(d, fm->items[k], "mirror checksums", pkeys, err)) ||
                (rc = parse_pins(d, fm->items[k], fm->keys[k]->value, &mm->over[j], 1, err)))
                return rc;
            mm->over[j].set = 1;
        }
    }
    return 0;
}

/* 1 when `name` is a file or an extracted member of the manifest. */
static int known_name(const ml_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->nfiles; i++) {
        if (!strcmp(m->files[i].name, name))
            return 1;
        for (size_t k = 0; k < m->files[i].nmembers; k++)
            if (!strcmp(m->files[i].members[k].name, name))
                return 1;
    }
    return 0;
}

static int parse_splits(ml_manifest *m, const ml_yt_doc *d, const ml_yt_node *map,
                        ml_err *err)
{
    int rc;
    if ((rc = ml_yt_expect(d, map, ML_YT_MAP, "splits", err)))
        return rc;
    m->splits = ml_zalloc((map->n ? map->n : 1) * sizeof *m->splits);
    if (!m->splits)
        return ml_error(err, ML_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < map->n; i++) {
        const ml_yt_node *roles = map->items[i];
        mf_split *s = &m->splits[i];
        m->nsplits = i + 1;
        if (!(s->name = dupn(map->keys[i]->value, err)))
            return ML_ERR_NOMEM;
        if ((rc = ml_yt_expect(d, roles, ML_YT_MAP, s->name, err)))
            return rc;
        s->roles = ml_zalloc((roles->n ? roles->n : 1) * sizeof *s->roles);
        if (!s->roles)
            return ml_error(err, ML_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < roles->n; k++) {
            const ml_yt_node *v = roles->items[k];
            mf_role *r = &s->roles[k];
            size_t nn = v->kind == ML_YT_SEQ ? v->n : 1;
            s->nroles = k + 1;
            if (!(r->role = dupn(roles->keys[k]->value, err)))
                return ML_ERR_NOMEM;
            r->names = ml_zalloc((nn ? nn : 1) * sizeof *r->names);
            if (!r->names)
                return ml_error(err, ML_ERR_NOMEM, "out of memory");
            for (size_t j = 0; j < nn; j++) {
                const ml_yt_node *e = v->kind == ML_YT_SEQ ? v->items[j] : v;
                const char *name;
                if ((rc = ml_yt_str(d, e, r->role, &name, err)))
                    return rc;
                if (!known_name(m, name))
                    return ml_yt_error(d, e, err, ML_ERR_FORMAT,
                                       "split %s, role %s: '%s' is not a file or an extracted "
                                       "member of this manifest", s->name, r->role, name);
                r->nnames = j + 1;
                if (!(r->names[j] = dupn(name, err)))
                    return ML_ERR_NOMEM;
            }
            if (nn == 0)
                return ml_yt_error(d, v, err, ML_ERR_FORMAT, "split %s, role %s is empty",
                                   s->name, r->role);
        }
    }
    return 0;
}

static int parse_options(ml_manifest *m, const ml_yt_doc *d, const ml_yt_node *map,
                         ml_err *err)
{
    int rc;
    if ((rc = ml_yt_expect(d, map, ML_YT_MAP, "options", err)))
        return rc;
    m->opts = ml_zalloc((map->n ? map->n : 1) * sizeof *m->opts);
    if (!m->opts)
        return ml_error(err, ML_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < map->n; i++) {
        const ml_yt_node *v = map->items[i];
        mf_opt *o = &m->opts[i];
        m->nopts = i + 1;
        if (v->kind != ML_YT_SCALAR || v->type == ML_YT_NULL)
            return ml_yt_error(d, v, err, ML_ERR_FORMAT,
                               "option %s must be a number, boolean or string",
                               map->keys[i]->value);
        o->type = v->type == ML_YT_INT     ? ML_OPT_INT
                  : v->type == ML_YT_FLOAT ? ML_OPT_FLOAT
                  : v->type == ML_YT_BOOL  ? ML_OPT_BOOL
                                           : ML_OPT_STRING;
        o->key = dupn(map->keys[i]->value, err);
        o->text = dupn(o->type == ML_OPT_BOOL
                           ? (v->value[0] == 't' || v->value[0] == 'T' ? "true" : "false")
                           : v->value,
                       err);
        if (!o->key || !o->text)
            return ML_ERR_NOMEM;
    }
    return 0;
}

static int parse(ml_manifest *m, const ml_yt_doc *d, ml_err *err)
{
    static const char *const keys[] = {"name", "format", "description", "licence", "license",
                                       "homepage", "citation", "urls", "files", "splits",
                                       "options", NULL};
    const ml_yt_node *root = d->root;
    const char *s;
    int rc;
    if (!root)
        return ml_yt_error(d, NULL, err, ML_ERR_FORMAT, "the manifest is empty");
    if ((rc = ml_yt_expect(d, root, ML_YT_MAP, "a manifest", err)) ||
        (rc = check_keys(d, root, "a manifest", keys, err)))
        return rc;
    static const char *const required[] = {"name", "format", "urls", "files"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!ml_yt_get(root, required[i]))
            return ml_yt_error(d, root, err, ML_ERR_FORMAT,
                               "the manifest has no '%s' (needed: name, format, urls, files)",
                               required[i]);
    if ((rc = ml_yt_str(d, ml_yt_get(root, "name"), "name", &s, err)))
        return rc;
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("-_.", *p))
            return ml_yt_error(d, ml_yt_get(root, "name"), err, ML_ERR_FORMAT,
                               "name '%s' may use only a-z, 0-9, '-', '_' and '.'", s);
    if (!safe_rel(s, 0))
        return ml_yt_error(d, ml_yt_get(root, "name"), err, ML_ERR_FORMAT,
                           "name '%s' is not usable as a directory name", s);
    if (!(m->name = dupn(s, err)))
        return ML_ERR_NOMEM;
    if ((rc = ml_yt_str(d, ml_yt_get(root, "format"), "format", &s, err)))
        return rc;
    if (!(m->format = dupn(s, err)))
        return ML_ERR_NOMEM;
    if ((rc = parse_files(m, d, ml_yt_get(root, "files"), err)) ||
        (rc = parse_urls(m, d, ml_yt_get(root, "urls"), err)))
        return rc;
    if (ml_yt_get(root, "splits") &&
        (rc = parse_splits(m, d, ml_yt_get(root, "splits"), err)))
        return rc;
    if (ml_yt_get(root, "options") &&
        (rc = parse_options(m, d, ml_yt_get(root, "options"), err)))
        return rc;
    return 0;
}

void ml_manifest_free(ml_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfiles; i++) {
        for (size_t k = 0; k < m->files[i].nmembers; k++)
            ml_free(m->files[i].members[k].name);
        ml_free(m->files[i].members);
        ml_free(m->files[i].name);
    }
    for (size_t i = 0; i < m->nmirrors; i++) {
        ml_free(m->mirrors[i].url);
        ml_free(m->mirrors[i].hint);
        ml_free(m->mirrors[i].over);
    }
    for (size_t i = 0; i < m->nsplits; i++) {
        for (size_t k = 0; k < m->splits[i].nroles; k++) {
            mf_role *r = &m->splits[i].roles[k];
            for (size_t j = 0; j < r->nnames; j++)
                ml_free(r->names[j]);
            ml_free(r->names);
            ml_free(r->role);
        }
        ml_free(m->splits[i].roles);
        ml_free(m->splits[i].name);
    }
    for (size_t i = 0; i < m->nopts; i++) {
        ml_free(m->opts[i].key);
        ml_free(m->opts[i].text);
    }
    ml_free(m->files);
    ml_free(m->mirrors);
    ml_free(m->splits);
    ml_free(m->opts);
    ml_free(m->path);
    ml_free(m->name);
    ml_free(m->format);
    ml_free(m);
}

ml_manifest *ml_manifest_load(const char *name_or_path, ml_err *err)
{
    ml_manifest *m = NULL;
    ml_yt_doc *d = NULL;
    find_ctx *fc = NULL;
    const char *path = name_or_path;

    if (!name_or_path || !*name_or_path) {
        ml_error(err, ML_ERR_INVALID, "no dataset name given");
        goto fail;
    }
    if (!strchr(name_or_path, '/') && !strstr(name_or_path, ".yaml")) {
        fc = ml_zalloc(sizeof *fc);
        if (!fc) {
            ml_error(err, ML_ERR_NOMEM, "out of memory");
            goto fail;
        }
        fc->name = name_or_path;
        if (!ml_manifest_dirs(find_in, fc)) {
            ml_error(err, ML_ERR_NOT_FOUND,
                     "no dataset manifest '%s' (looked in: %s); 'modlab data list' shows the "
                     "known datasets, MODLAB_MANIFEST_PATH adds directories",
                     name_or_path, fc->looked[0] ? fc->looked : "no manifest directory");
            goto fail;
        }
        path = fc->path;
    }
    if (!(d = ml_yt_load_file(path, err)))
        goto fail;
    m = ml_zalloc(sizeof *m);
    if (!m || !(m->path = ml_strdup(path))) {
        ml_error(err, ML_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (parse(m, d, err))
        goto fail;
    ml_yt_free(d);
    ml_free(fc);
    return m;
fail:
    ml_manifest_free(m);
    ml_yt_free(d);
    ml_free(fc);
    return NULL;
}

const char *ml_manifest_name(const ml_manifest *m) { return m->name; }
const char *ml_manifest_format(const ml_manifest *m) { return m->format; }
const char *ml_manifest_path(const ml_manifest *m) { return m->path; }
int32_t ml_manifest_nsplits(const ml_manifest *m) { return (int32_t)m->nsplits; }
size_t ml_manifest_nfiles(const ml_manifest *m) { return m->nfiles; }

const char *ml_manifest_split(const ml_manifest *m, int32_t i)
{
    return i >= 0 && (size_t)i < m->nsplits ? m->splits[i].name : NULL;
}

const char *ml_manifest_file(const ml_manifest *m, size_t i)
{
    return i < m->nfiles ? m->files[i].name : NULL;
}

int64_t ml_manifest_total_size(const ml_manifest *m)
{
    int64_t t = 0;
    for (size_t i = 0; i < m->nfiles; i++) {
        int64_t s = m->files[i].pin.size;
        for (size_t k = 0; k < m->nmirrors && s < 0; k++)
            if (m->mirrors[k].over[i].set)
                s = m->mirrors[k].over[i].size; /* a mirror's size is close enough here */
        if (s < 0)
            return -1;
        t += s;
    }
    return t;
}

/* ---- verification and the cache marker ------------------------------------------------ */

/* The pins for file i as served by mirror k (k < 0: the official ones); label says whose. */
static const pins *pins_for(const ml_manifest *m, size_t i, long k, const char **label)
{
    if (k >= 0 && m->mirrors[k].over[i].set) {
        *label = m->mirrors[k].url;
        return &m->mirrors[k].over[i];
    }
    *label = "official";
    return &m->files[i].pin;
}

static void short_hex(const char *h, char *out, size_t cap)
{
    snprintf(out, cap, "%.12s..", h);
}

/* 1 when the measured bytes match the pins; else 0 with a reason in why. */
static int pins_match(const pins *p, int64_t size, const char *sha, const char *md5,
                      char *why, size_t cap)
{
    char a[20], b[20];
    if (p->size >= 0 && size != p->size) {
        snprintf(why, cap, "size mismatch (got %lld bytes, want %lld)", (long long)size,
                 (long long)p->size);
        return 0;
    }
    if (p->sha256[0] && strcmp(p->sha256, sha)) {
        short_hex(sha, a, sizeof a);
        short_hex(p->sha256, b, sizeof b);
        snprintf(why, cap, "sha256 mismatch (got %s, want %s)", a, b);
        return 0;
    }
    if (p->md5[0] && strcmp(p->md5, md5)) {
        short_hex(md5, a, sizeof a);
        short_hex(p->md5, b, sizeof b);
        snprintf(why, cap, "md5 mismatch (got %s, want %s)", a, b);
        return 0;
    }
    return 1;
}

/* "sha256 mismatch (got a, want b)" -> "sha256 mismatch for FILE (got a, want b)". */
static void why_for(const char *why, const char *file, char *out, size_t cap)
{
    const char *paren = strstr(why, " (");
    if (!paren)
        snprintf(out, cap, "%s for %s", why, file);
    else
        snprintf(out, cap, "%.*s for %s%s", (int)(paren - why), why, file, paren);
}

static const char *pins_kind(const pins *p)
{
    return p->sha256[0] && p->md5[0] ? "sha256+md5" : p->sha256[0] ? "sha256" : "md5";
}

typedef struct marker {
    char file[256], sha256[ML_SHA256_HEX], md5[ML_MD5_HEX], pinned_by[1024], source[1024];
    int64_t size, mtime_s, mtime_ns;
    int extracted;
} marker;

static void marker_path(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.verified", dir, name);
}

/* Value of "key": in a one-line JSON object we wrote ourselves (no escapes but \" \\). */
static int json_get(const char *text, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p;
    size_t n = 0;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    if (!(p = strstr(text, pat)))
        return -1;
    p += strlen(pat);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < cap)
                out[n++] = *p;
        }
        if (*p != '"')
            return -1;
    } else {
        while (*p && (isdigit((unsigned char)*p) || *p == '-') && n + 1 < cap)
            out[n++] = *p++;
    }
    out[n] = '\0';
    return 0;
}

static void json_str(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    if (n + 1 < cap)
        out[n++] = '"';
    for (; *s && n + 3 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[n++] = '\\';
        out[n++] = (unsigned char)*s < 0x20 ? '?' : *s;
    }
    if (n + 1 < cap)
        out[n++] = '"';
    out[n] = '\0';
}

static int marker_read(const char *dir, const char *name, marker *mk)
{
    char path[PATH_MAX_], text[4096], num[32];
    FILE *f;
    size_t n;
    marker_path(dir, name, path, sizeof path);
    if (!(f = fopen(path, "rb")))
        return -1;
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    memset(mk, 0, sizeof *mk);
    if (json_get(text, "file", mk->file, sizeof mk->file) ||
        json_get(text, "sha256", mk->sha256, sizeof mk->sha256) ||
        json_get(text, "md5", mk->md5, sizeof mk->md5) ||
        json_get(text, "pinned_by", mk->pinned_by, sizeof mk->pinned_by) ||
        json_get(text, "source", mk->source, sizeof mk->source))
        return -1;
    if (json_get(text, "size", num, sizeof num))
        return -1;
    mk->size = strtoll(num, NULL, 10);
    if (json_get(text, "mtime_s", num, sizeof num))
        return -1;
    mk->mtime_s = strtoll(num, NULL, 10);
    if (json_get(text, "mtime_ns", num, sizeof num))
        return -1;
    mk->mtime_ns = strtoll(num, NULL, 10);
    mk->extracted = json_get(text, "extracted", num, sizeof num) == 0 && num[0] == '1';
    return strcmp(mk->file, name) ? -1 : 0;
}

static int marker_write(const char *dir, const char *name, const char *sha, const char *md5,
                        const char *pinned_by, const char *source, int extracted, ml_err *err)
{
    char path[PATH_MAX_], file[PATH_MAX_], text[4096];
    struct stat st;
    snprintf(file, sizeof file, "%s/%s", dir, name);
    if (stat(file, &st))
        return ml_error(err, ML_ERR_IO, "%s: %s", file, strerror(errno));
    snprintf(text, sizeof text, "{\"file\":");
    json_str(text, sizeof text, name);
    snprintf(text + strlen(text), sizeof text - strlen(text),
             ",\"size\":%lld,\"mtime_s\":%lld,\"mtime_ns\":%lld,"
             "\"sha256\":\"%s\",\"md5\":\"%s\",\"pinned_by\":",
             (long long)st.st_size, (long long)st.st_mtim.tv_sec,
             (long long)st.st_mtim.tv_nsec, sha, md5);
    json_str(text, sizeof text, pinned_by);
    snprintf(text + strlen(text), sizeof text - strlen(text), ",\"source\":");
    json_str(text, sizeof text, source);
    snprintf(text + strlen(text), sizeof text - strlen(text), ",\"extracted\":%d}\n",
             extracted);
    marker_path(dir, name, path, sizeof path);
    return write_atomic(path, text, err);
}

/* The pin set a marker names, if it still exists in the manifest. */
static const pins *pins_by_label(const ml_manifest *m, size_t i, const char *label)
{
    if (!strcmp(label, "official"))
        return &m->files[i].pin;
    for (size_t k = 0; k < m->nmirrors; k++)
        if (m->mirrors[k].over[i].set && !strcmp(m->mirrors[k].url, label))
            return &m->mirrors[k].over[i];
    return NULL;
}

static int members_present(const mf_file *f, const char *dir)
{
    char path[PATH_MAX_];
    for (size_t k = 0; k < f->nmembers; k++) {
        int64_t sz;
        snprintf(path, sizeof path, "%s/%s", dir, f->members[k].name);
        sz = file_size(path);
        if (sz < 0 || (f->members[k].pin.size >= 0 && sz != f->members[k].pin.size))
            return 0;
    }
    return 1;
}

/* Cheap check (no hashing): the marker matches the file, and pins still in the manifest. */
static int cached_ok(const ml_manifest *m, size_t i, const char *dir, int need_extracted)
{
    char path[PATH_MAX_], why[160];
    const pins *p;
    struct stat st;
    marker mk;
    snprintf(path, sizeof path, "%s/%s", dir, m->files[i].name);
    if (stat(path, &st) || marker_read(dir, m->files[i].name, &mk))
        return 0;
    if (mk.size != (int64_t)st.st_size || mk.mtime_s != (int64_t)st.st_mtim.tv_sec ||
        mk.mtime_ns != (int64_t)st.st_mtim.tv_nsec)
        return 0;
    if (!(p = pins_by_label(m, i, mk.pinned_by)) ||
        !pins_match(p, mk.size, mk.sha256, mk.md5, why, sizeof why))
        return 0;
    if (need_extracted && m->files[i].nmembers &&
        (!mk.extracted || !members_present(&m->files[i], dir)))
        return 0;
    return 1;
}

int ml_manifest_cache_dir(const ml_manifest *m, char *buf, size_t cap, ml_err *err)
{
    char root[PATH_MAX_];
    int rc = ml_data_dir(root, sizeof root, err), n;
    if (rc)
        return rc;
    n = snprintf(buf, cap, "%s/%s", root, m->name);
    if (n < 0 || (size_t)n >= cap)
        return ml_error(err, ML_ERR_INVALID, "the cache path is too long");
    return 0;
}

int ml_manifest_file_state(const ml_manifest *m, size_t i)
{
    char dir[PATH_MAX_], path[PATH_MAX_ + 300];
    if (i >= m->nfiles || ml_manifest_cache_dir(m, dir, sizeof dir, NULL))
        return ML_CACHE_MISSING;
    if (cached_ok(m, i, dir, 1))
        return ML_CACHE_VERIFIED;
    snprintf(path, sizeof path, "%s/%s", dir, m->files[i].name);
    if (file_size(path) >= 0)
        return ML_CACHE_UNVERIFIED;
    snprintf(path, sizeof path, "%s/%s.part", dir, m->files[i].name);
    return file_size(path) >= 0 ? ML_CACHE_PARTIAL : ML_CACHE_MISSING;
}

/* ---- tar.gz extraction of listed members only ----------------------------------------- */

static int64_t tar_num(const unsigned char *p, size_t n)
{
    int64_t v = 0;
    if (p[0] & 0x80) { /* GNU base-256 */
        for (size_t i = 1; i < n; i++)
            v = (v << 8) | p[i];
        return v;
    }
    for (size_t i = 0; i < n && p[i]; i++) {
        if (p[i] == ' ')
            continue;
        if (p[i] < '0' || p[i] > '7')
            return -1;
        v = v * 8 + (p[i] - '0');
    }
    return v;
}

static int tar_header_ok(const unsigned char *h)
{
    int64_t want = tar_num(h + 148, 8), sum = 0;
    for (int i = 0; i < 512; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    return want == sum;
}

static int gz_skip(gzFile gz, int64_t n)
{
    unsigned char buf[8192];
    while (n > 0) {
        int want = n < (int64_t)sizeof buf ? (int)n : (int)sizeof buf;
        if (gzread(gz, buf, (unsigned)want) != want)
            return -1;
        n -= want;
    }
    return 0;
}

/* Copy `size` bytes to dir/member (via .part), verifying the member's pins. */
static int extract_one(gzFile gz, int64_t size, const char *dir, const mf_member *mem,
                       const char *arch, ml_err *err)
{
    char path[PATH_MAX_], part[PATH_MAX_ + 8], why[160], sha[ML_SHA256_HEX], md5[ML_MD5_HEX];
    unsigned char buf[65536], d[ML_SHA256_LEN];
    ml_sha256_ctx sc;
    ml_md5_ctx mc;
    int fd = -1, rc;
    int64_t left = size;
    char *slash;

    snprintf(path, sizeof path, "%s/%s", dir, mem->name);
    snprintf(part, sizeof part, "%s.part", path);
    if ((slash = strrchr(path, '/')) && slash > path) {
        *slash = '\0';
        rc = mkdirs(path, err);
        *slash = '/';
        if (rc)
            goto fail;
    }
    unlink(part);
    fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = ml_error(err, ML_ERR_IO, "cannot create %s: %s", part, strerror(errno));
        goto fail;
    }
    ml_sha256_init(&sc);
    ml_md5_init(&mc);
    while (left > 0) {
        int want = left < (int64_t)sizeof buf ? (int)left : (int)sizeof buf;
        if (gzread(gz, buf, (unsigned)want) != want) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated while extracting %s", arch,
                          mem->name);
            goto fail;
        }
        if (write(fd, buf, (size_t)want) != want) {
            rc = ml_error(err, ML_ERR_IO, "writing %s: %s", part, strerror(errno));
            goto fail;
        }
        ml_sha256_update(&sc, buf, (size_t)want);
        ml_md5_update(&mc, buf, (size_t)want);
        left -= want;
    }
    ml_sha256_final(&sc, d);
    ml_hex(d, ML_SHA256_LEN, sha);
    ml_md5_final(&mc, d);
    ml_hex(d, ML_MD5_LEN, md5);
    if (!pins_match(&mem->pin, size, sha, md5, why, sizeof why)) {
        rc = ml_error(err, ML_ERR_CHECKSUM, "%s in %s: %s", mem->name, arch, why);
        goto fail;
    }
    /* Synced before the rename, so the cache never holds a name with missing data. */
    if (fsync(fd) || close(fd)) {
        fd = -1;
        rc = ml_error(err, ML_ERR_IO, "writing %s: %s", part, strerror(errno));
        goto fail;
    }
    fd = -1;
    ml_test_pause_before_rename(path);
    if (rename(part, path)) {
        rc = ml_error(err, ML_ERR_IO, "cannot rename %s: %s", part, strerror(errno));
        goto fail;
    }
    ml_fsync_dir_of(path);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(part);
    return rc;
}

static int extract(const ml_manifest *m, const mf_file *f, const char *dir, ml_err *err)
{
    char arch[PATH_MAX_], name[1024], longname[1024] = "";
    unsigned char h[512];
    int *done = NULL;
    gzFile gz = NULL;
    size_t ndone = 0;
    int rc = 0;

    snprintf(arch, sizeof arch, "%s/%s", dir, f->name);
    done = ml_zalloc(f->nmembers * sizeof *done);
    if (!done) {
        rc = ml_error(err, ML_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!(gz = gzopen(arch, "rb"))) {
        rc = ml_error(err, ML_ERR_IO, "cannot open %s: %s", arch, strerror(errno));
        goto fail;
    }
    while (ndone < f->nmembers) {
        int64_t size;
        int n = gzread(gz, h, sizeof h), zero = 1;
        if (n == 0)
            break;
        if (n != (int)sizeof h) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated tar header", arch);
            goto fail;
        }
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero)
            break; /* end of archive */
        if (!tar_header_ok(h) || (size = tar_num(h + 124, 12)) < 0) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: bad tar header (not a tar.gz?)", arch);
            goto fail;
        }
        int64_t padded = (size + 511) / 512 * 512;
        if (h[156] == 'L') { /* GNU long name for the next entry */
            int64_t cap = (int64_t)sizeof longname - 1, take = size < cap ? size : cap;
            if (gzread(gz, longname, (unsigned)take) != take || gz_skip(gz, padded - take)) {
                rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated long name", arch);
                goto fail;
            }
            longname[take] = '\0';
            continue;
        }
        if (longname[0]) {
            snprintf(name, sizeof name, "%s", longname);
            longname[0] = '\0';
        } else if (h[345]) {
            snprintf(name, sizeof name, "%.155s/%.100s", (char *)h + 345, (char *)h);
        } else {
            snprintf(name, sizeof name, "%.100s", (char *)h);
        }
        const char *nm = name;
        while (nm[0] == '.' && nm[1] == '/')
            nm += 2;
        size_t k;
        for (k = 0; k < f->nmembers; k++)
            if (!done[k] && !strcmp(f->members[k].name, nm))
                break;
        if (k < f->nmembers) {
            if (h[156] != '0' && h[156] != '\0' && h[156] != '7') {
                rc = ml_error(err, ML_ERR_FORMAT, "%s: member %s is not a regular file", arch,
                              nm);
                goto fail;
            }
            if ((rc = extract_one(gz, size, dir, &f->members[k], arch, err)))
                goto fail;
            done[k] = 1;
            ndone++;
            if (gz_skip(gz, padded - size)) {
                rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated after %s", arch, nm);
                goto fail;
            }
        } else if (gz_skip(gz, padded)) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: truncated in %s", arch, nm);
            goto fail;
        }
    }
    for (size_t k = 0; k < f->nmembers; k++)
        if (!done[k]) {
            rc = ml_error(err, ML_ERR_FORMAT, "%s: %s has no member %s; check the manifest",
                          m->name, f->name, f->members[k].name);
            goto fail;
        }
fail:
    if (gz)
        gzclose(gz);
    ml_free(done);
    return rc;
}

/* ---- fetching ----------------------------------------------------------------------- */

static void add_reason(char *buf, size_t cap, const char *fmt, ...) ML_PRINTF(3, 4);
static void add_reason(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;
    if (n + 3 >= cap)
        return;
    if (n) {
        strcpy(buf + n, "; ");
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

static int offline(void)
{
    const char *o = getenv("MODLAB_OFFLINE");
    return o && *o && strcmp(o, "0");
}

/* After the archive is verified: extract (when needed) and record it in the marker. */
static int finish_archive(ml_manifest *m, size_t i, const char *dir, const char *sha,
                          const char *md5, const char *label, const char *source, ml_err *err)
{
    int rc;
    if (!m->files[i].nmembers)
        return 0;
    if ((rc = extract(m, &m->files[i], dir, err)))
        return rc;
    return marker_write(dir, m->files[i].name, sha, md5, label, source, 1, err);
}

static int fetch_file(ml_manifest *m, size_t i, const char *dir, int progress, ml_err *err)
{
    const mf_file *f = &m->files[i];
    char path[PATH_MAX_], part[PATH_MAX_ + 8], url[PATH_MAX_ + 300], label_s[600];
    char sha[ML_SHA256_HEX], md5[ML_MD5_HEX], why[200], reasons[REASONS_MAX] = "";
    int64_t size;
    const char *label, *last_url = "";
    const pins *p;
    int off = offline(), mismatches = 0, tried = 0, notfound = 0, rc;

    if (cached_ok(m, i, dir, 1))
        return 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, f->name) >= (int)sizeof path)
        return ml_error(err, ML_ERR_INVALID, "%s: the cache path is too long", m->name);
    snprintf(part, sizeof part, "%s.part", path);
    snprintf(label_s, sizeof label_s, "%s: %s", m->name, f->name);
    /* Present but not (or no longer) recorded as verified: hash it once. */
    if (file_size(path) >= 0) {
        if ((rc = ml_hash_file(path, sha, md5, &size, err)))
            return rc;
        for (long k = -1; k < (long)m->nmirrors; k++) {
            p = pins_for(m, i, k, &label);
            if (pins_match(p, size, sha, md5, why, sizeof why)) {
                if ((rc = marker_write(dir, f->name, sha, md5, label, "cache", 0, err)))
                    return rc;
                return finish_archive(m, i, dir, sha, md5, label, "cache", err);
            }
        }
        if (progress)
            fprintf(stderr, "%s: the cached copy does not match the manifest; fetching again\n",
                    label_s);
        unlink(path);
    }
    for (size_t k = 0; k < m->nmirrors; k++) {
        const mf_mirror *mm = &m->mirrors[k];
        ml_fetch_opts o = {.label = label_s, .progress = progress, .allow_network = !off};
        ml_err e = {0};
        int is_file = !strncmp(mm->url, "file://", 7);
        if (off && !is_file)
            continue; /* not worth a word in the message: the offline error says it */
        tried++;
        p = pins_for(m, i, (long)k, &label);
        o.expect_size = p->size;
        o.max_size = p->size;   /* -1 when not pinned: no cap but the checksum */
        snprintf(url, sizeof url, "%s%s", mm->url, f->name);
        if ((rc = ml_fetch_url(url, part, &o, NULL, &e))) {
            if (rc == ML_ERR_IO) /* our disk, not the mirror: stop here */
                return ml_error(err, rc, "%s: %s", label_s, e.msg);
            notfound += rc == ML_ERR_NOT_FOUND;
            add_reason(reasons, sizeof reasons, "%s: %s%s%s%s", mm->url, e.msg,
                       mm->hint && is_file ? " (" : "", mm->hint && is_file ? mm->hint : "",
                       mm->hint && is_file ? ")" : "");
            continue;
        }
        if ((rc = ml_hash_file(part, sha, md5, &size, err)))
            return rc;
        if (!pins_match(p, size, sha, md5, why, sizeof why)) {
            ml_fetch_discard(part);
            mismatches++;
            last_url = mm->url;
            add_reason(reasons, sizeof reasons, "%s: %s", mm->url, why);
            if (progress)
                fprintf(stderr, "%s: %s from %s; deleted the partial file\n", label_s, why,
                        mm->url);
            continue;
        }
        /* The download went through stdio: sync it before its name says "verified". */
        if (ml_fsync_path(part))
            return ml_error(err, ML_ERR_IO, "%s: cannot sync %s: %s; check the disk", label_s,
                            part, strerror(errno));
        ml_test_pause_before_rename(path);
        if (rename(part, path))
            return ml_error(err, ML_ERR_IO, "%s: cannot rename %s: %s", label_s, part,
                            strerror(errno));
        ml_fsync_dir_of(path);
        if ((rc = marker_write(dir, f->name, sha, md5, label, url, 0, err)))
            return rc;
        if (progress)
            fprintf(stderr, "%s: %s verified (%s)\n", label_s, pins_kind(p),
                    strcmp(label, "official") ? "pinned for this mirror" : "official pins");
        return finish_archive(m, i, dir, sha, md5, label, url, err);
    }
    if (off)
        return ml_error(err, ML_ERR_NOT_FOUND,
                        "%s is not in the cache (expected at %s) and MODLAB_OFFLINE=1 allows "
                        "only file:// mirrors %s%s%s; put a verified copy there, or unset "
                        "MODLAB_OFFLINE and run 'modlab data fetch %s'",
                        label_s, path, tried ? "[" : "(the manifest has none)",
                        tried ? reasons : "", tried ? "]" : "", m->name);
    if (mismatches == 1 && tried == 1) {
        char msg[300];
        why_for(why, f->name, msg, sizeof msg);
        return ml_error(err, ML_ERR_CHECKSUM,
                        "%s: %s from %s; deleted the partial file, retry or check "
                        "MODLAB_MIRROR", m->name, msg, last_url);
    }
    return ml_error(err, mismatches ? ML_ERR_CHECKSUM
                         : notfound == tried && tried ? ML_ERR_NOT_FOUND : ML_ERR_NETWORK,
                    "%s: could not fetch %s from %d mirror%s%s; retry, set MODLAB_MIRROR "
                    "to a mirror that has it, or put a verified copy at %s [%s]",
                    m->name, f->name, tried, tried == 1 ? "" : "s",
                    mismatches ? " (deleted the partial files)" : "", path, reasons);
}

/* An exclusive lock on the dataset's cache directory while fetching or verifying. */
static int lock_dir(const char *dir, int *fd, ml_err *err)
{
    char path[PATH_MAX_ + 8];
    int rc = mkdirs(dir, err);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0)
        return ml_error(err, ML_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    while (flock(*fd, LOCK_EX)) {
        if (errno != EINTR) {
            close(*fd);
            return ml_error(err, ML_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
        }
    }
    return 0;
}

int ml_manifest_fetch(ml_manifest *m, int progress, ml_err *err)
{
    char dir[PATH_MAX_];
    int fd = -1, rc;
    size_t i;
    if ((rc = ml_manifest_cache_dir(m, dir, sizeof dir, err)))
        return rc;
    for (i = 0; i < m->nfiles && cached_ok(m, i, dir, 1); i++)
        ;
    if (i == m->nfiles)
        return 0; /* the common start-up case: no lock, no hashing */
    if ((rc = lock_dir(dir, &fd, err)))
        return rc;
    for (i = 0; i < m->nfiles && !rc; i++)
        rc = fetch_file(m, i, dir, progress, err);
    close(fd);
    return rc;
}

int ml_manifest_verify_file(ml_manifest *m, size_t i, char *how, size_t cap, ml_err *err)
{
    char dir[PATH_MAX_], path[PATH_MAX_ + 300], sha[ML_SHA256_HEX], md5[ML_MD5_HEX];
    char why[200] = "", mpath[PATH_MAX_ + 300];
    const char *label = "official";
    const pins *p = NULL;
    int64_t size;
    marker mk;
    int rc, have_marker;
    const mf_file *f = &m->files[i];

    if ((rc = ml_manifest_cache_dir(m, dir, sizeof dir, err)))
        return rc;
    snprintf(path, sizeof path, "%s/%s", dir, f->name);
    if (file_size(path) < 0)
        return ml_error(err, ML_ERR_NOT_FOUND, "%s: %s is not in the cache (%s); run "
                        "'modlab data fetch %s'", m->name, f->name, path, m->name);
    if ((rc = ml_hash_file(path, sha, md5, &size, err)))
        return rc;
    have_marker = marker_read(dir, f->name, &mk) == 0;
    if (have_marker && (p = pins_by_label(m, i, mk.pinned_by)) &&
        pins_match(p, size, sha, md5, why, sizeof why)) {
        label = mk.pinned_by;
    } else {
        p = NULL;
        for (long k = -1; k < (long)m->nmirrors && !p; k++) {
            const pins *q = pins_for(m, i, k, &label);
            if (pins_match(q, size, sha, md5, why, sizeof why))
                p = q;
        }
    }
    if (!p) {
        marker_path(dir, f->name, mpath, sizeof mpath);
        unlink(mpath);
        char msg[300];
        const pins *q = have_marker ? pins_by_label(m, i, mk.pinned_by) : NULL;
        pins_match(q ? q : &f->pin, size, sha, md5, why, sizeof why);
        why_for(why, f->name, msg, sizeof msg);
        return ml_error(err, ML_ERR_CHECKSUM, "%s: %s in %s; 'modlab data fetch %s' "
                        "fetches it again", m->name, msg, path, m->name);
    }
    for (size_t k = 0; k < f->nmembers; k++) {
        char mp[PATH_MAX_ + 300], ms[ML_SHA256_HEX], mm[ML_MD5_HEX];
        int64_t msz;
        snprintf(mp, sizeof mp, "%s/%s", dir, f->members[k].name);
        if (ml_hash_file(mp, ms, mm, &msz, NULL) ||
            !pins_match(&f->members[k].pin, msz, ms, mm, why, sizeof why)) {
            /* Re-extract from the verified archive. */
            if ((rc = extract(m, f, dir, err)))
                return rc;
            break;
        }
    }
    if ((rc = marker_write(dir, f->name, sha, md5, label, have_marker ? mk.source : "cache",
                           f->nmembers > 0, err)))
        return rc;
    if (how)
        snprintf(how, cap, "%s %s", pins_kind(p),
                 strcmp(label, "official") ? "pinned for its mirror" : "official");
    return 0;
}

int ml_manifest_verify(ml_manifest *m, ml_err *err)
{
    char dir[PATH_MAX_];
    int fd = -1, rc, first = 0;
    ml_err e;
    if ((rc = ml_manifest_cache_dir(m, dir, sizeof dir, err)) ||
        (rc = lock_dir(dir, &fd, err)))
        return rc;
    for (size_t i = 0; i < m->nfiles; i++) {
        rc = ml_manifest_verify_file(m, i, NULL, 0, first ? &e : err);
        if (rc && !first)
            first = rc;
    }
    close(fd);
    return first;
}

ml_opts *ml_manifest_split_opts(ml_manifest *m, const char *split, ml_err *err)
{
    char dir[PATH_MAX_];
    ml_opts *opts = NULL;
    const mf_split *s = NULL;
    char *val = NULL;
    for (size_t i = 0; i < m->nsplits; i++)
        if (!strcmp(m->splits[i].name, split))
            s = &m->splits[i];
    if (!s) {
        char list[200] = "";
        for (size_t i = 0; i < m->nsplits; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     m->splits[i].name);
        ml_error(err, ML_ERR_NOT_FOUND, "%s: no split '%s' (splits: %s)", m->name, split,
                 m->nsplits ? list : "none");
        goto fail;
    }
    if (ml_manifest_fetch(m, 1, err) || ml_manifest_cache_dir(m, dir, sizeof dir, err))
        goto fail;
    if (!(opts = ml_opts_new(err)))
        goto fail;
    for (size_t i = 0; i < m->nopts; i++)
        if (ml_opts_set(opts, m->opts[i].key, m->opts[i].type, m->opts[i].text, err))
            goto fail;
    for (size_t r = 0; r < s->nroles; r++) {
        size_t len = 1;
        for (size_t j = 0; j < s->roles[r].nnames; j++)
            len += strlen(dir) + strlen(s->roles[r].names[j]) + 2;
        if (!(val = ml_zalloc(len))) {
            ml_error(err, ML_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t j = 0; j < s->roles[r].nnames; j++)
            snprintf(val + strlen(val), len - strlen(val), "%s%s/%s", j ? ":" : "", dir,
                     s->roles[r].names[j]);
        if (ml_opts_set(opts, s->roles[r].role, ML_OPT_STRING, val, err))
            goto fail;
        ml_free(val);
        val = NULL;
    }
    return opts;
fail:
    ml_free(val);
    ml_opts_free(opts);
    return NULL;
}
