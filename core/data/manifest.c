/* SPDX-License-Identifier: MIT */
/* Dataset manifests: the YAML manifest parsed and checked into struct ml_manifest, loading
 * by name or path, and the accessors. Where manifests and the cache live: manifest_dirs.c. */
#include "data/manifest_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "formats/yaml_tree.h"

/* ---- small helpers ------------------------------------------------------------------ */

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

static char *dupn(const char *s, ml_err *err)
{
    char *d = mli_strdup(s);
    if (!d)
        mli_error(err, ML_ERR_NOMEM, "out of memory");
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
            return mli_yt_error(d, map->keys[i], err, ML_ERR_FORMAT,
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
    if ((n = mli_yt_get(map, "size"))) {
        if ((rc = mli_yt_int(d, n, "size", &p->size, err)))
            return rc;
        if (p->size < 0)
            return mli_yt_error(d, n, err, ML_ERR_FORMAT, "size of %s must be >= 0", what);
    }
    if ((n = mli_yt_get(map, "md5"))) {
        if ((rc = mli_yt_str(d, n, "md5", &s, err)))
            return rc;
        if (!is_hex(s, 32))
            return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                               "md5 of %s must be 32 hex digits, not '%s'", what, s);
        for (int i = 0; i < 33; i++)
            p->md5[i] = (char)tolower((unsigned char)s[i]);
    }
    if ((n = mli_yt_get(map, "sha256"))) {
        if ((rc = mli_yt_str(d, n, "sha256", &s, err)))
            return rc;
        if (!is_hex(s, 64))
            return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                               "sha256 of %s must be 64 hex digits, not '%s'", what, s);
        for (int i = 0; i < 65; i++)
            p->sha256[i] = (char)tolower((unsigned char)s[i]);
    }
    if (need_digest && !p->md5[0] && !p->sha256[0])
        return mli_yt_error(d, map, err, ML_ERR_FORMAT,
                           "%s has no md5 or sha256: pin at least one checksum", what);
    return 0;
}

/* max_size: a positive byte count (absent: *out = -1). */
static int parse_max_size(const ml_yt_doc *d, const ml_yt_node *n, int64_t *out, ml_err *err)
{
    int rc;
    *out = -1;
    if (!n)
        return 0;
    if ((rc = mli_yt_int(d, n, "max_size", out, err)))
        return rc;
    if (*out <= 0)
        return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                           "max_size must be a positive number of bytes, not %lld",
                           (long long)*out);
    return 0;
}

/* A pinned size over the file's cap is a contradiction in the manifest: say so at load. */
static int check_caps(const ml_manifest *m, const ml_yt_doc *d, const ml_yt_node *root,
                      ml_err *err)
{
    for (size_t i = 0; i < m->nfiles; i++) {
        const mf_file *f = &m->files[i];
        int64_t cap = f->max_size > 0 ? f->max_size : m->max_size;
        for (long k = -1; k < (long)m->nmirrors; k++) {
            const pins *p = k < 0 ? &f->pin : m->mirrors[k].over[i].set ? &m->mirrors[k].over[i]
                                                                           : NULL;
            if (p && p->size > cap)
                return mli_yt_error(d, root, err, ML_ERR_FORMAT,
                                   "size %lld of %s is over its max_size %lld: raise max_size "
                                   "or fix the size", (long long)p->size, f->name,
                                   (long long)cap);
        }
    }
    return 0;
}

static int parse_files(ml_manifest *m, const ml_yt_doc *d, const ml_yt_node *seq, ml_err *err)
{
    static const char *const keys[] = {"name", "size", "md5", "sha256", "max_size", "extract",
                                       NULL};
    static const char *const mkeys[] = {"name", "size", "md5", "sha256", NULL};
    int rc;
    if ((rc = mli_yt_expect(d, seq, ML_YT_SEQ, "files", err)))
        return rc;
    if (seq->n == 0)
        return mli_yt_error(d, seq, err, ML_ERR_FORMAT, "files is empty");
    m->files = mli_zalloc(seq->n * sizeof *m->files);
    if (!m->files)
        return mli_error(err, ML_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < seq->n; i++) {
        const ml_yt_node *fn = seq->items[i], *n;
        mf_file *f = &m->files[i];
        const char *name;
        m->nfiles = i + 1;
        if ((rc = mli_yt_expect(d, fn, ML_YT_MAP, "a files entry", err)) ||
            (rc = check_keys(d, fn, "a files entry", keys, err)) ||
            (rc = mli_yt_str(d, mli_yt_get(fn, "name"), "files[].name", &name, err)))
            return rc == ML_ERR_FORMAT && !mli_yt_get(fn, "name") && fn->kind == ML_YT_MAP
                       ? mli_yt_error(d, fn, err, ML_ERR_FORMAT, "files entry without a name")
                       : rc;
        if (!safe_rel(name, 0))
            return mli_yt_error(d, mli_yt_get(fn, "name"), err, ML_ERR_FORMAT,
                               "file name '%s' must be a plain file name (A-Z a-z 0-9 . _ + -)",
                               name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(m->files[j].name, name))
                return mli_yt_error(d, fn, err, ML_ERR_FORMAT, "file '%s' listed twice", name);
        if (!(f->name = dupn(name, err)))
            return ML_ERR_NOMEM;
        if ((rc = parse_pins(d, fn, name, &f->pin, 1, err)) ||
            (rc = parse_max_size(d, mli_yt_get(fn, "max_size"), &f->max_size, err)))
            return rc;
        if (!(n = mli_yt_get(fn, "extract")))
            continue;
        if ((rc = mli_yt_expect(d, n, ML_YT_SEQ, "extract", err)))
            return rc;
        f->members = mli_zalloc((n->n ? n->n : 1) * sizeof *f->members);
        if (!f->members)
            return mli_error(err, ML_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < n->n; k++) {
            const ml_yt_node *mn = n->items[k];
            mf_member *mem = &f->members[k];
            const char *mname;
            f->nmembers = k + 1;
            mem->pin.size = -1;
            if (mn->kind == ML_YT_MAP) {
                if ((rc = check_keys(d, mn, "an extract entry", mkeys, err)) ||
                    (rc = mli_yt_str(d, mli_yt_get(mn, "name"), "extract[].name", &mname, err)) ||
                    (rc = parse_pins(d, mn, "an extracted member", &mem->pin, 0, err)))
                    return rc;
            } else if ((rc = mli_yt_str(d, mn, "an extract entry", &mname, err))) {
                return rc;
            }
            if (!safe_rel(mname, 1))
                return mli_yt_error(d, mn, err, ML_ERR_FORMAT,
                                   "extract member '%s' must be a relative path without '..' "
                                   "(A-Z a-z 0-9 . _ + - /)",
                                   mname);
            if (!(mem->name = dupn(mname, err)))
                return ML_ERR_NOMEM;
        }
        if (!ends_with(name, ".tar") && !ends_with(name, ".tar.gz") && !ends_with(name, ".tgz"))
            return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                               "extract needs a .tar, .tar.gz or .tgz archive, not '%s'", name);
    }
    return 0;
}

static int add_mirror(ml_manifest *m, const char *url, ml_err *err)
{
    mf_mirror *mm = &m->mirrors[m->nmirrors];
    size_t n = strlen(url);
    mm->url = mli_alloc(n + 2);
    mm->over = mli_zalloc(m->nfiles * sizeof *mm->over);
    if (!mm->url || !mm->over) {
        mli_free(mm->url);
        mli_free(mm->over);
        mm->url = NULL;
        mm->over = NULL;
        return mli_error(err, ML_ERR_NOMEM, "out of memory");
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
    if ((rc = mli_yt_expect(d, seq, ML_YT_SEQ, "urls", err)))
        return rc;
    if (seq->n == 0)
        return mli_yt_error(d, seq, err, ML_ERR_FORMAT, "urls is empty");
    m->mirrors = mli_zalloc((seq->n + 1) * sizeof *m->mirrors);
    if (!m->mirrors)
        return mli_error(err, ML_ERR_NOMEM, "out of memory");
    if (env && *env && (rc = add_mirror(m, env, err)))
        return rc;
    for (size_t i = 0; i < seq->n; i++) {
        const ml_yt_node *un = seq->items[i], *fm;
        const char *url, *hint = NULL;
        if (un->kind == ML_YT_MAP) {
            if ((rc = check_keys(d, un, "a urls entry", keys, err)) ||
                (rc = mli_yt_str(d, mli_yt_get(un, "url"), "urls[].url", &url, err)))
                return rc;
            if (mli_yt_get(un, "hint") &&
                (rc = mli_yt_str(d, mli_yt_get(un, "hint"), "hint", &hint, err)))
                return rc;
        } else if ((rc = mli_yt_str(d, un, "a urls entry", &url, err))) {
            return rc;
        }
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8) &&
            strncmp(url, "file:///", 8))
            return mli_yt_error(d, un, err, ML_ERR_FORMAT,
                               "url '%s' must start with http://, https:// or file:///", url);
        if ((rc = add_mirror(m, url, err)))
            return rc;
        mf_mirror *mm = &m->mirrors[m->nmirrors - 1];
        if (hint && !(mm->hint = dupn(hint, err)))
            return ML_ERR_NOMEM;
        if (un->kind != ML_YT_MAP || !(fm = mli_yt_get(un, "files")))
            continue;
        /* This mirror's own bytes: its pins replace the official ones for listed files. */
        if ((rc = mli_yt_expect(d, fm, ML_YT_MAP, "urls[].files", err)))
            return rc;
        for (size_t k = 0; k < fm->n; k++) {
            static const char *const pkeys[] = {"size", "md5", "sha256", NULL};
            size_t j;
            for (j = 0; j < m->nfiles; j++)
                if (!strcmp(m->files[j].name, fm->keys[k]->value))
                    break;
            if (j == m->nfiles)
                return mli_yt_error(d, fm->keys[k], err, ML_ERR_FORMAT,
                                   "mirror checksums for '%s', which is not in files",
                                   fm->keys[k]->value);
            if ((rc = mli_yt_expect(d, fm->items[k], ML_YT_MAP, fm->keys[k]->value, err)) ||
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
    if ((rc = mli_yt_expect(d, map, ML_YT_MAP, "splits", err)))
        return rc;
    m->splits = mli_zalloc((map->n ? map->n : 1) * sizeof *m->splits);
    if (!m->splits)
        return mli_error(err, ML_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < map->n; i++) {
        const ml_yt_node *roles = map->items[i];
        mf_split *s = &m->splits[i];
        m->nsplits = i + 1;
        if (!(s->name = dupn(map->keys[i]->value, err)))
            return ML_ERR_NOMEM;
        if ((rc = mli_yt_expect(d, roles, ML_YT_MAP, s->name, err)))
            return rc;
        s->roles = mli_zalloc((roles->n ? roles->n : 1) * sizeof *s->roles);
        if (!s->roles)
            return mli_error(err, ML_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < roles->n; k++) {
            const ml_yt_node *v = roles->items[k];
            mf_role *r = &s->roles[k];
            size_t nn = v->kind == ML_YT_SEQ ? v->n : 1;
            s->nroles = k + 1;
            if (!(r->role = dupn(roles->keys[k]->value, err)))
                return ML_ERR_NOMEM;
            r->names = mli_zalloc((nn ? nn : 1) * sizeof *r->names);
            if (!r->names)
                return mli_error(err, ML_ERR_NOMEM, "out of memory");
            for (size_t j = 0; j < nn; j++) {
                const ml_yt_node *e = v->kind == ML_YT_SEQ ? v->items[j] : v;
                const char *name;
                if ((rc = mli_yt_str(d, e, r->role, &name, err)))
                    return rc;
                if (!known_name(m, name))
                    return mli_yt_error(d, e, err, ML_ERR_FORMAT,
                                       "split %s, role %s: '%s' is not a file or an extracted "
                                       "member of this manifest", s->name, r->role, name);
                r->nnames = j + 1;
                if (!(r->names[j] = dupn(name, err)))
                    return ML_ERR_NOMEM;
            }
            if (nn == 0)
                return mli_yt_error(d, v, err, ML_ERR_FORMAT, "split %s, role %s is empty",
                                   s->name, r->role);
        }
    }
    return 0;
}

static int parse_options(ml_manifest *m, const ml_yt_doc *d, const ml_yt_node *map,
                         ml_err *err)
{
    int rc;
    if ((rc = mli_yt_expect(d, map, ML_YT_MAP, "options", err)))
        return rc;
    m->opts = mli_zalloc((map->n ? map->n : 1) * sizeof *m->opts);
    if (!m->opts)
        return mli_error(err, ML_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < map->n; i++) {
        const ml_yt_node *v = map->items[i];
        mf_opt *o = &m->opts[i];
        m->nopts = i + 1;
        if (v->kind != ML_YT_SCALAR || v->type == ML_YT_NULL)
            return mli_yt_error(d, v, err, ML_ERR_FORMAT,
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
                                       "options", "max_size", NULL};
    const ml_yt_node *root = d->root;
    const char *s;
    int rc;
    if (!root)
        return mli_yt_error(d, NULL, err, ML_ERR_FORMAT, "the manifest is empty");
    if ((rc = mli_yt_expect(d, root, ML_YT_MAP, "a manifest", err)) ||
        (rc = check_keys(d, root, "a manifest", keys, err)))
        return rc;
    static const char *const required[] = {"name", "format", "urls", "files"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!mli_yt_get(root, required[i]))
            return mli_yt_error(d, root, err, ML_ERR_FORMAT,
                               "the manifest has no '%s' (needed: name, format, urls, files)",
                               required[i]);
    if ((rc = mli_yt_str(d, mli_yt_get(root, "name"), "name", &s, err)))
        return rc;
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("-_.", *p))
            return mli_yt_error(d, mli_yt_get(root, "name"), err, ML_ERR_FORMAT,
                               "name '%s' may use only a-z, 0-9, '-', '_' and '.'", s);
    if (!safe_rel(s, 0))
        return mli_yt_error(d, mli_yt_get(root, "name"), err, ML_ERR_FORMAT,
                           "name '%s' is not usable as a directory name", s);
    if (!(m->name = dupn(s, err)))
        return ML_ERR_NOMEM;
    if ((rc = mli_yt_str(d, mli_yt_get(root, "format"), "format", &s, err)))
        return rc;
    if (!(m->format = dupn(s, err)))
        return ML_ERR_NOMEM;
    if ((rc = parse_max_size(d, mli_yt_get(root, "max_size"), &m->max_size, err)))
        return rc;
    if (m->max_size < 0)
        m->max_size = ML_MANIFEST_MAX_SIZE_DEFAULT;
    if ((rc = parse_files(m, d, mli_yt_get(root, "files"), err)) ||
        (rc = parse_urls(m, d, mli_yt_get(root, "urls"), err)) ||
        (rc = check_caps(m, d, root, err)))
        return rc;
    if (mli_yt_get(root, "splits") &&
        (rc = parse_splits(m, d, mli_yt_get(root, "splits"), err)))
        return rc;
    if (mli_yt_get(root, "options") &&
        (rc = parse_options(m, d, mli_yt_get(root, "options"), err)))
        return rc;
    return 0;
}

void ml_manifest_free(ml_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfiles; i++) {
        for (size_t k = 0; k < m->files[i].nmembers; k++)
            mli_free(m->files[i].members[k].name);
        mli_free(m->files[i].members);
        mli_free(m->files[i].name);
    }
    for (size_t i = 0; i < m->nmirrors; i++) {
        mli_free(m->mirrors[i].url);
        mli_free(m->mirrors[i].hint);
        mli_free(m->mirrors[i].over);
    }
    for (size_t i = 0; i < m->nsplits; i++) {
        for (size_t k = 0; k < m->splits[i].nroles; k++) {
            mf_role *r = &m->splits[i].roles[k];
            for (size_t j = 0; j < r->nnames; j++)
                mli_free(r->names[j]);
            mli_free(r->names);
            mli_free(r->role);
        }
        mli_free(m->splits[i].roles);
        mli_free(m->splits[i].name);
    }
    for (size_t i = 0; i < m->nopts; i++) {
        mli_free(m->opts[i].key);
        mli_free(m->opts[i].text);
    }
    mli_free(m->files);
    mli_free(m->mirrors);
    mli_free(m->splits);
    mli_free(m->opts);
    mli_free(m->path);
    mli_free(m->name);
    mli_free(m->format);
    mli_free(m);
}

ml_manifest *ml_manifest_load(const char *name_or_path, ml_err *err)
{
    ml_manifest *m = NULL;
    ml_yt_doc *d = NULL;
    mf_find *fc = NULL;
    const char *path = name_or_path;

    if (!name_or_path || !*name_or_path) {
        mli_error(err, ML_ERR_INVALID, "no dataset name given");
        goto fail;
    }
    if (!strchr(name_or_path, '/') && !strstr(name_or_path, ".yaml")) {
        fc = mli_zalloc(sizeof *fc);
        if (!fc) {
            mli_error(err, ML_ERR_NOMEM, "out of memory");
            goto fail;
        }
        fc->name = name_or_path;
        if (!mli_mf_find(fc)) {
            mli_error(err, ML_ERR_NOT_FOUND,
                     "no dataset manifest '%s' (looked in: %s); 'modlab data list' shows the "
                     "known datasets, MODLAB_MANIFEST_PATH adds directories",
                     name_or_path, fc->looked[0] ? fc->looked : "no manifest directory");
            goto fail;
        }
        path = fc->path;
    }
    if (!(d = mli_yt_load_file(path, err)))
        goto fail;
    m = mli_zalloc(sizeof *m);
    if (!m || !(m->path = mli_strdup(path))) {
        mli_error(err, ML_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (parse(m, d, err))
        goto fail;
    mli_yt_free(d);
    mli_free(fc);
    return m;
fail:
    ml_manifest_free(m);
    mli_yt_free(d);
    mli_free(fc);
    return NULL;
}

const char *ml_manifest_name(const ml_manifest *m) { return m->name; }
const char *ml_manifest_format(const ml_manifest *m) { return m->format; }
const char *mli_manifest_path(const ml_manifest *m) { return m->path; }
int32_t ml_manifest_nsplits(const ml_manifest *m) { return (int32_t)m->nsplits; }
size_t mli_manifest_nfiles(const ml_manifest *m) { return m->nfiles; }

const char *ml_manifest_split(const ml_manifest *m, int32_t i)
{
    return i >= 0 && (size_t)i < m->nsplits ? m->splits[i].name : NULL;
}

const char *mli_manifest_file(const ml_manifest *m, size_t i)
{
    return i < m->nfiles ? m->files[i].name : NULL;
}

int64_t mli_manifest_file_cap(const ml_manifest *m, size_t i, int *limit)
{
    const mf_file *f = &m->files[i];
    int64_t cap = -1, max = f->max_size > 0 ? f->max_size : m->max_size;
    int lim = 0;
    /* Any pin set may accept the bytes, so the cap is the largest size one allows. */
    for (long k = -1; k < (long)m->nmirrors; k++) {
        const pins *p = k < 0 ? &f->pin : m->mirrors[k].over[i].set ? &m->mirrors[k].over[i]
                                                                       : NULL;
        if (!p)
            continue;
        if (p->size < 0 && max > cap)
            cap = max, lim = 1;
        else if (p->size > cap)
            cap = p->size, lim = 0;
    }
    if (limit)
        *limit = lim;
    return cap;
}

int64_t mli_manifest_total_size(const ml_manifest *m)
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

