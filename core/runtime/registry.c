/* SPDX-License-Identifier: MIT */
/* The registry: validates each entry a plugin registers (ABI versions, sizes, names,
 * required slots, duplicates, printable strings) and keeps zero-extended copies (LV2/SQLite
 * rules). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/hash.h"
#include "base/mem.h"
#include "runtime/opts.h"
#include "runtime/registry.h"

struct ml_registry {
    ml_reg_entry *entries;
    int32_t n, cap;
    char **warnings;
    int32_t nwarn, capwarn;
    const char *origin;
};

ml_registry *ml_registry_new(ml_err *err)
{
    return mli_znew(sizeof(ml_registry), "registry", err);
}

void ml_registry_free(ml_registry *r)
{
    if (!r)
        return;
    mli_registry_truncate(r, 0);
    for (int32_t i = 0; i < r->nwarn; i++)
        mli_free(r->warnings[i]);
    mli_free(r->warnings);
    mli_free(r->entries);
    mli_free(r);   /* plugins stay mapped: their strings may still be referenced */
}

int32_t mli_registry_truncate(ml_registry *r, int32_t n)
{
    while (r->n > n)
        mli_free(r->entries[--r->n].path);
    return r->n;
}

void mli_registry_set_origin(ml_registry *r, const char *path) { r->origin = path; }

int mli_registry_add_warning(ml_registry *r, const char *fmt, ...)
{
    char buf[ML_ERR_MSG_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (r->nwarn == r->capwarn) {
        int32_t cap = r->capwarn ? 2 * r->capwarn : 8;
        char **w = mli_realloc(r->warnings, (size_t)cap * sizeof *w);
        if (!w)
            return ML_ERR_NOMEM;
        r->warnings = w;
        r->capwarn = cap;
    }
    if (!(r->warnings[r->nwarn] = mli_strdup(buf)))
        return ML_ERR_NOMEM;
    r->nwarn++;
    return ML_OK;
}

int32_t ml_registry_nwarnings(const ml_registry *r) { return r->nwarn; }
const char *ml_registry_warning(const ml_registry *r, int32_t i)
{
    return i >= 0 && i < r->nwarn ? r->warnings[i] : NULL;
}

const char *ml_kind_name(int32_t kind)
{
    switch (kind) {
    case ML_KIND_LAYER: return "layer";
    case ML_KIND_LOSS: return "loss";
    case ML_KIND_OPTIMIZER: return "optimizer";
    case ML_KIND_DATASET: return "dataset";
    case ML_KIND_ROUTER: return "router";
    case ML_KIND_TRANSFORM: return "transform";
    default: return "unknown";
    }
}

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* Check a versioned header; `need` is the smallest size carrying every required field. */
static int check_header(const void *p, size_t need, size_t have_max, const char *what,
                        const char *name, ml_err *err)
{
    const ml_entry *h = p;   /* every versioned struct starts with the same three fields */
    if (h->abi_major != ML_ABI_MAJOR)
        return mli_error(err, ML_ERR_ABI,
                        "%s '%s' was built for modlab ABI %u.%u but this modlab has ABI %d.%d;"
                        " rebuild the plugin against this modlab (pkg-config --cflags modlab)",
                        what, name, h->abi_major, h->abi_minor, ML_ABI_MAJOR, ML_ABI_MINOR);
    if (h->abi_minor > ML_ABI_MINOR)
        return mli_error(err, ML_ERR_ABI,
                        "%s '%s' needs modlab ABI %u.%u but this modlab has ABI %d.%d;"
                        " upgrade modlab or rebuild the plugin against this one",
                        what, name, h->abi_major, h->abi_minor, ML_ABI_MAJOR, ML_ABI_MINOR);
    if (h->struct_size < need || (h->abi_minor == ML_ABI_MINOR && h->struct_size > have_max))
        return mli_error(err, ML_ERR_ABI,
                        "%s '%s' has struct_size %u (expected %zu..%zu for ABI %u.%u);"
                        " the plugin was built with mismatched headers",
                        what, name, h->struct_size, need, have_max, h->abi_major,
                        h->abi_minor);
    return ML_OK;
}

#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

static int copy_vtable(ml_reg_entry *re, ml_err *err)
{
    const void *vt = re->entry.vtable;
    const char *name = re->entry.name;
    size_t need, max;
    int rc;
    if (!vt)
        return mli_error(err, ML_ERR_ABI, "entry '%s' has no vtable", name);
    switch (re->entry.kind) {
    case ML_KIND_LAYER:
        need = END_OF(ml_layer_vtable, backward_params);
        max = sizeof(ml_layer_vtable);
        break;
    case ML_KIND_LOSS:
        need = END_OF(ml_loss_vtable, forward);
        max = sizeof(ml_loss_vtable);
        break;
    case ML_KIND_OPTIMIZER:
        need = END_OF(ml_optimizer_vtable, step);
        max = sizeof(ml_optimizer_vtable);
        break;
    case ML_KIND_DATASET:
        need = END_OF(ml_dataset_vtable, read);
        max = sizeof(ml_dataset_vtable);
        break;
    case ML_KIND_TRANSFORM:
        need = END_OF(ml_transform_vtable, apply);
        max = sizeof(ml_transform_vtable);
        break;
    default:
        return mli_error(err, ML_ERR_UNSUPPORTED,
                        "entry '%s' has kind %d, which this modlab (ABI %d.%d) does not know",
                        name, re->entry.kind, ML_ABI_MAJOR, ML_ABI_MINOR);
    }
    if ((rc = check_header(vt, need, max, "vtable of", name, err)))
        return rc;
    size_t size = ((const ml_entry *)vt)->struct_size;
    memcpy(&re->vt, vt, size < max ? size : max);
    switch (re->entry.kind) {
    case ML_KIND_LAYER:
        if (!re->vt.layer.create || !re->vt.layer.destroy || !re->vt.layer.infer_shape ||
            !re->vt.layer.forward)
            return mli_error(err, ML_ERR_ABI, "layer '%s' lacks create, destroy, infer_shape "
                            "or forward", name);
        break;
    case ML_KIND_LOSS:
        if (!re->vt.loss.create || !re->vt.loss.destroy || !re->vt.loss.forward)
            return mli_error(err, ML_ERR_ABI, "loss '%s' lacks create, destroy or forward",
                            name);
        break;
    case ML_KIND_OPTIMIZER:
        if (!re->vt.optimizer.create || !re->vt.optimizer.destroy || !re->vt.optimizer.step)
            return mli_error(err, ML_ERR_ABI, "optimizer '%s' lacks create, destroy or step",
                            name);
        break;
    case ML_KIND_DATASET:
        if (!re->vt.dataset.open || !re->vt.dataset.close || !re->vt.dataset.info ||
            !re->vt.dataset.read)
            return mli_error(err, ML_ERR_ABI, "dataset '%s' lacks open, close, info or read",
                            name);
        if (!re->vt.dataset.raw_format != !re->vt.dataset.read_raw)
            return mli_error(err, ML_ERR_ABI, "dataset '%s' has one of raw_format and read_raw "
                            "without the other: give both or neither", name);
        break;
    case ML_KIND_TRANSFORM:
        if (!re->vt.transform.create || !re->vt.transform.destroy || !re->vt.transform.apply)
            return mli_error(err, ML_ERR_ABI, "transform '%s' lacks create, destroy or apply",
                            name);
        if (re->vt.transform.flags & ~ML_TRANSFORM_FLOAT)
            return mli_error(err, ML_ERR_ABI, "transform '%s' has flags 0x%x this modlab does "
                            "not know", name, (unsigned)re->vt.transform.flags);
        break;
    }
    return ML_OK;
}

/* Plugin strings are printed on terminals (`modlab plugins`, `--describe`) and written to
 * meta.json and checkpoints, so they must be printable text: ASCII 0x20..0x7e and
 * well-formed UTF-8, without what can still move the cursor, end a line or reorder one
 * (C1 controls, U+2028/U+2029, the bidirectional controls). An ANSI escape or a newline
 * in a summary was printed raw. Quotes are fine: the JSON writers escape them. `owner`
 * names the entry ("layer 'foo'"), `field` the string ("summary"). */
static int check_text(const char *s, const char *owner, const char *field, ml_err *err)
{
    for (size_t i = 0; s && s[i];) {
        const unsigned char *p = (const unsigned char *)s + i;
        size_t n = mli_utf8_len(p);
        unsigned cp = n == 1   ? p[0]
                      : n == 2 ? (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu)
                      : n == 3 ? (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu)
                               : 0x10000u;   /* 4 bytes: past every control */
        if (!n)
            return mli_error(err, ML_ERR_ABI, "%s: %s has invalid UTF-8 at byte %zu; plugin "
                            "strings must be printable text (ASCII or UTF-8, one line): fix "
                            "the plugin", owner, field, i);
        if (cp < 0x20 || cp == 0x7f)
            return mli_error(err, ML_ERR_ABI, "%s: %s has control character 0x%02x at byte "
                            "%zu; plugin strings must be printable text (ASCII or UTF-8, one "
                            "line): fix the plugin", owner, field, cp, i);
        if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
            cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
            return mli_error(err, ML_ERR_ABI, "%s: %s has control character U+%04X at byte "
                            "%zu; plugin strings must be printable text (ASCII or UTF-8, one "
                            "line): fix the plugin", owner, field, cp, i);
        i += n;
    }
    return ML_OK;
}

/* A version is a token: it is a column of `modlab plugins` and the part after '@' of the
 * "kind/name@version" names in checkpoints. 1..64 of [A-Za-z0-9._+~-] (semver fits). */
static int check_version(const char *v, const char *owner, ml_err *err)
{
    size_t i = 0;
    if (!*v)
        return mli_error(err, ML_ERR_ABI, "%s: version is empty; give one such as \"1.0.0\"",
                        owner);
    for (; v[i]; i++) {
        unsigned char c = (unsigned char)v[i];
        if (i == 64)
            return mli_error(err, ML_ERR_ABI, "%s: version is longer than 64 bytes", owner);
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._+~-", c)))
            return mli_error(err, ML_ERR_ABI, "%s: version has character 0x%02x at byte %zu; "
                            "a version is 1..64 of [A-Za-z0-9._+~-], such as 1.0.0-rc.1: fix "
                            "the plugin", owner, c, i);
    }
    return ML_OK;
}

/* Every string of an entry: version, summary, and each option's doc, default and choices
 * (option names and the entry name are [a-z0-9_]+, checked elsewhere). */
static int check_strings(const ml_entry *e, ml_err *err)
{
    char owner[128], opt[224];
    int rc;
    snprintf(owner, sizeof owner, "%s '%s'", ml_kind_name(e->kind), e->name);
    if ((e->version && (rc = check_version(e->version, owner, err))) ||
        (rc = check_text(e->summary, owner, "summary", err)))
        return rc;
    for (int i = 0; e->options && e->options[i].name; i++) {
        const ml_opt_spec *o = &e->options[i];
        snprintf(opt, sizeof opt, "%s: option '%s'", owner, o->name);
        if ((rc = check_text(o->doc, opt, "doc", err)) ||
            (rc = check_text(o->def, opt, "default", err)) ||
            (rc = check_text(o->choices, opt, "choices", err)))
            return rc;
    }
    return ML_OK;
}

static int check_schema(const ml_opt_spec *s, const char *name, ml_err *err)
{
    for (int i = 0; s && s[i].name; i++) {
        if (!valid_name(s[i].name) || s[i].type < ML_OPT_INT || s[i].type > ML_OPT_STRING)
            return mli_error(err, ML_ERR_ABI, "entry '%s': option %d ('%s') has a bad name or "
                            "type", name, i, s[i].name);
        for (int j = 0; j < i; j++)
            if (!strcmp(s[j].name, s[i].name))
                return mli_error(err, ML_ERR_ABI, "entry '%s': option '%s' declared twice",
                                name, s[i].name);
    }
    return ML_OK;
}

int mli_registry_register(ml_registry *r, const ml_entry *e, ml_err *err)
{
    ml_reg_entry re;
    int rc;
    if (!e)
        return mli_error(err, ML_ERR_INVALID, "register_entry: NULL entry");
    memset(&re, 0, sizeof re);
    if ((rc = check_header(e, END_OF(ml_entry, vtable), sizeof(ml_entry), "entry",
                           e->name && valid_name(e->name) ? e->name : "?", err)))
        return rc;
    memcpy(&re.entry, e, e->struct_size < sizeof re.entry ? e->struct_size : sizeof re.entry);
    if (!valid_name(re.entry.name))
        return mli_error(err, ML_ERR_INVALID, "entry name '%s' is not [a-z0-9_]+ (1..64 chars)",
                        re.entry.name ? re.entry.name : "(null)");
    if ((rc = copy_vtable(&re, err)) || (rc = check_schema(re.entry.options, e->name, err)) ||
        (rc = check_strings(&re.entry, err)))
        return rc;
    for (int32_t i = 0; i < r->n; i++)
        if (r->entries[i].entry.kind == re.entry.kind &&
            !strcmp(r->entries[i].entry.name, re.entry.name))
            return mli_error(err, ML_ERR_INVALID,
                            "duplicate %s '%s': already registered by %s; remove one of them "
                            "from the plugin path", ml_kind_name(re.entry.kind), re.entry.name,
                            r->entries[i].path);
    if (!re.entry.version)
        re.entry.version = "0";
    if (!re.entry.summary)
        re.entry.summary = "";
    if (r->n == r->cap) {
        int32_t cap = r->cap ? 2 * r->cap : 32;
        ml_reg_entry *es = mli_realloc(r->entries, (size_t)cap * sizeof *es);
        if (!es)
            return mli_error(err, ML_ERR_NOMEM, "registry: out of memory");
        r->entries = es;
        r->cap = cap;
    }
    if (!(re.path = mli_strdup(r->origin ? r->origin : "(builtin)")))
        return mli_error(err, ML_ERR_NOMEM, "registry: out of memory");
    r->entries[r->n++] = re;
    return ML_OK;
}

int32_t ml_registry_count(const ml_registry *r) { return r->n; }

const ml_reg_entry *mli_registry_get(const ml_registry *r, int32_t i)
{
    return i >= 0 && i < r->n ? &r->entries[i] : NULL;
}

const ml_entry *ml_registry_entry(const ml_registry *r, int32_t i)
{
    return i >= 0 && i < r->n ? &r->entries[i].entry : NULL;
}

const char *ml_registry_entry_path(const ml_registry *r, int32_t i)
{
    return i >= 0 && i < r->n ? r->entries[i].path : NULL;
}

int32_t ml_registry_find(const ml_registry *r, int32_t kind, const char *name)
{
    for (int32_t i = 0; i < r->n; i++)
        if (r->entries[i].entry.kind == kind && !strcmp(r->entries[i].entry.name, name))
            return i;
    return -1;
}

const ml_reg_entry *mli_registry_lookup(const ml_registry *r, int32_t kind, const char *name,
                                       ml_err *err)
{
    char names[320];
    size_t used = 0;
    int32_t i = ml_registry_find(r, kind, name);
    if (i >= 0)
        return &r->entries[i];
    names[0] = '\0';
    for (int32_t j = 0; j < r->n && used < sizeof names; j++)
        if (r->entries[j].entry.kind == kind)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                     used ? ", " : "", r->entries[j].entry.name);
    mli_error(err, ML_ERR_NOT_FOUND, "no %s named '%s' (known: %s); see `modlab plugins`",
             ml_kind_name(kind), name, used ? names : "none loaded");
    return NULL;
}

/* The plugin file's sha256 (meta.json records it), hashed on first request. */
const char *ml_registry_entry_sha256(const ml_registry *r, int32_t i)
{
    ml_reg_entry *re;
    ml_err err;
    if (i < 0 || i >= r->n)
        return NULL;
    re = &r->entries[i];
    if (!re->sha256[0]) {
        if (strcmp(re->path, "(builtin)") == 0 ||
            mli_hash_file(re->path, re->sha256, NULL, NULL, &err) != 0)
            return NULL;
        for (int32_t j = 0; j < r->n; j++)   /* one .so registers many entries */
            if (!strcmp(r->entries[j].path, re->path))
                memcpy(r->entries[j].sha256, re->sha256, sizeof re->sha256);
    }
    return re->sha256;
}
