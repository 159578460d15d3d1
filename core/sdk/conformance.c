/* SPDX-License-Identifier: MIT */
/* The plugin conformance suite (`modlab plugin check`): ABI, options, gradients, guarded
 * buffers, save/load round trips and leaks, per entry, optionally in a child process. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sdk/check_calls.h"
#include "base/err.h"
#include "runtime/load_crash.h"
#include "base/mem.h"
#include "runtime/model.h"
#include "runtime/opts.h"
#include <modlab/sdk.h>

#if defined(__SANITIZE_ADDRESS__)
#define ML_CHECK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ML_CHECK_ASAN 1
#endif
#endif
#ifdef ML_CHECK_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#define GUARD_KIND "ASan-poisoned guard zones"
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define GUARD_KIND "canary guard zones"
#endif

#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

enum { BATCH = 3, GUARD = 256, OOM_MAX = 400, OPT_STEPS = 20 };
static const double TOL = 1e-2;
static const unsigned char CANARY = 0xa5;

/* ---- the report (plain malloc: it must not disturb the accounting it reports on) ------ */

typedef struct check_rec {
    int verdict;
    char entry[96];
    char name[32];
    char detail[ML_ERR_MSG_MAX + 128];
} check_rec;

struct ml_check_report {
    check_rec *recs;
    int32_t n, cap, failures;
};

static void rec_add(ml_check_report *r, int verdict, const char *entry, const char *name,
                    const char *detail)
{
    if (r->n == r->cap) {
        int32_t cap = r->cap ? 2 * r->cap : 32;
        check_rec *p = realloc(r->recs, (size_t)cap * sizeof *p);
        if (!p)
            return;   /* out of memory: the result is lost, the failure count is not */
        r->recs = p;
        r->cap = cap;
    }
    check_rec *c = &r->recs[r->n++];
    c->verdict = verdict;
    snprintf(c->entry, sizeof c->entry, "%s", entry);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->detail, sizeof c->detail, "%s", detail);
    r->failures += verdict == ML_CHECK_FAIL;
}

void ml_check_report_free(ml_check_report *r)
{
    if (r) {
        free(r->recs);
        free(r);
    }
}
int32_t ml_check_count(const ml_check_report *r) { return r ? r->n : 0; }
int32_t ml_check_failures(const ml_check_report *r) { return r ? r->failures : 0; }
static const check_rec *rec(const ml_check_report *r, int32_t i)
{
    return r && i >= 0 && i < r->n ? &r->recs[i] : NULL;
}
int ml_check_verdict(const ml_check_report *r, int32_t i)
{
    return rec(r, i) ? rec(r, i)->verdict : ML_CHECK_FAIL;
}
const char *ml_check_entry(const ml_check_report *r, int32_t i)
{
    return rec(r, i) ? rec(r, i)->entry : "";
}
const char *ml_check_name(const ml_check_report *r, int32_t i)
{
    return rec(r, i) ? rec(r, i)->name : "";
}
const char *ml_check_detail(const ml_check_report *r, int32_t i)
{
    return rec(r, i) ? rec(r, i)->detail : "";
}

/* ---- where results go: the report (in process) or a pipe to the parent (forked) ------- */

typedef struct sink {
    ml_check_report *rep;   /* in process */
    /* forked child: lines "B\tentry\tname" (begin) and "R\tverdict\tentry\tname\tdetail" */
    int fd;
} sink;

static void write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r')
            *s = ' ';
}

/* Announce a check before running it, so a crash inside it is blamed on it. */
static void begin(sink *s, const char *entry, const char *name)
{
    char line[256];
    if (s->fd < 0)
        return;
    int n = snprintf(line, sizeof line, "B\t%s\t%s\n", entry, name);
    write_all(s->fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void emit(sink *s, int verdict, const char *entry, const char *name, const char *fmt,
                 ...) ML_PRINTF(5, 6);
static void emit(sink *s, int verdict, const char *entry, const char *name, const char *fmt,
                 ...)
{
    char detail[ML_ERR_MSG_MAX + 128], line[ML_ERR_MSG_MAX + 400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    one_line(detail);
    if (s->fd < 0) {
        rec_add(s->rep, verdict, entry, name, detail);
        return;
    }
    int n = snprintf(line, sizeof line, "R\t%d\t%s\t%s\t%s\n", verdict, entry, name, detail);
    write_all(s->fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* ---- guarded buffers ----------------------------------------------------------------
 * Every buffer a plugin writes into gets GUARD canary bytes on each side, checked after each
 * call. Why canaries rather than mprotect'd guard pages: a page can sit flush against only
 * one end of a buffer whose size is not a page multiple (so a write one float before the
 * start, or past the end, would slip through on the other side), it costs two extra pages
 * and a syscall per buffer, and a fault is reported as a crash rather than as "forward
 * wrote past the end of its output buffer". Canaries catch both sides to the byte in normal
 * builds; ASan builds also poison the zones, which catches reads and faults at the write. */

typedef struct gbuf {
    unsigned char *base;
    float *data;
    size_t bytes;
} gbuf;

static int gbuf_new(gbuf *g, size_t bytes)
{
    size_t total = (2 * GUARD + bytes + 63) / 64 * 64;
    g->bytes = bytes;
    g->base = aligned_alloc(64, total);
    if (!g->base)
        return ML_ERR_NOMEM;
    memset(g->base, CANARY, total);
    g->data = (float *)(g->base + GUARD);
    POISON(g->base, GUARD);
    /* From the exact end: ASan marks a granule's first bytes addressable, the rest not. */
    POISON(g->base + GUARD + bytes, total - GUARD - bytes);
    return ML_OK;
}

/* Which guard zones were written: 0 none, else GB_BEFORE | GB_AFTER. */
enum { GB_BEFORE = 1, GB_AFTER = 2 };
static int gbuf_damage(gbuf *g)
{
    size_t total = (2 * GUARD + g->bytes + 63) / 64 * 64;
    int before = 0, after = 0;
    if (!g->base)
        return 0;
    UNPOISON(g->base, total);
    for (size_t i = 0; i < GUARD; i++)
        before |= g->base[i] != CANARY;
    for (size_t i = GUARD + g->bytes; i < total; i++)
        after |= g->base[i] != CANARY;
    POISON(g->base, GUARD);
    POISON(g->base + GUARD + g->bytes, total - GUARD - g->bytes);
    return (before ? GB_BEFORE : 0) | (after ? GB_AFTER : 0);
}

/* 1 if both guard zones are untouched. */
static int gbuf_intact(gbuf *g)
{
    return gbuf_damage(g) == 0;
}

/* "past the end of", "before the start of" or "on both sides of". */
static const char *damage_where(int d)
{
    return d == GB_AFTER ? "past the end of" : d == GB_BEFORE ? "before the start of"
                                                              : "on both sides of";
}

static void gbuf_free(gbuf *g)
{
    if (g->base) {
        UNPOISON(g->base, (2 * GUARD + g->bytes + 63) / 64 * 64);
        free(g->base);
    }
    memset(g, 0, sizeof *g);
}

/* Outputs start as a NaN with a payload of our own: an element still holding exactly it was
 * not written; any other NaN or infinity was computed by the plugin. */
static const uint32_t UNWRITTEN = 0x7fbadbadu;

static void fill_nan(float *p, int64_t n)
{
    float v;
    memcpy(&v, &UNWRITTEN, sizeof v);
    for (int64_t i = 0; i < n; i++)
        p[i] = v;
}

static int64_t first_nonfinite(const float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return i;
    return -1;
}

/* "left element 4 of 30 unwritten" or "wrote NaN into element 4 of 30". */
static void describe_nonfinite(const float *p, int64_t i, int64_t n, char *buf, size_t cap)
{
    uint32_t bits;
    memcpy(&bits, &p[i], sizeof bits);
    if (bits == UNWRITTEN)
        snprintf(buf, cap, "left element %lld of %lld unwritten", (long long)i, (long long)n);
    else
        snprintf(buf, cap, "wrote %s into element %lld of %lld", isnan(p[i]) ? "NaN"
                 : p[i] > 0 ? "+Inf" : "-Inf", (long long)i, (long long)n);
}

static int has_required(const ml_opt_spec *s)
{
    for (; s && s->name; s++)
        if (!s->def)
            return 1;
    return 0;
}

/* ---- one checker run -------------------------------------------------------------- */

typedef struct ck {
    sink *s;
    ml_registry *reg;
    int32_t idx;           /* registry index of the entry being checked */
    const ml_reg_entry *re;
    char id[96];           /* "layer/name" */
} ck;

#define PASS(c, name, ...) emit((c)->s, ML_CHECK_PASS, (c)->id, name, __VA_ARGS__)
#define FAIL(c, name, ...) emit((c)->s, ML_CHECK_FAIL, (c)->id, name, __VA_ARGS__)
#define SKIP(c, name, ...) emit((c)->s, ML_CHECK_SKIP, (c)->id, name, __VA_ARGS__)

static const ml_gradcheck_iface *gradcheck_iface(const ml_reg_entry *re)
{
    return re->entry.extension ? re->entry.extension(ML_IFACE_GRADCHECK) : NULL;
}

static void check_abi(ck *c)
{
    const ml_entry *e = &c->re->entry;
    const ml_entry *vh = (const ml_entry *)&c->re->vt;   /* the vtable's copied header */
    begin(c->s, c->id, "abi");
    if (!strcmp(e->version, "0") || !*e->version) {
        FAIL(c, "abi", "ml_entry.version is not set; give the entry its own version "
             "(\"1.0.0\"): checkpoints and meta.json record it");
        return;
    }
    if (!*e->summary) {
        FAIL(c, "abi", "ml_entry.summary is empty; give one line for `modlab plugins`");
        return;
    }
    if (e->kind == ML_KIND_LAYER && !c->re->vt.layer.save != !c->re->vt.layer.load) {
        FAIL(c, "abi", "the layer vtable has %s without %s; provide both or neither",
             c->re->vt.layer.save ? "save" : "load", c->re->vt.layer.save ? "load" : "save");
        return;
    }
    if (e->extension && e->extension("modlab.sdk.no-such-interface/1") != NULL) {
        FAIL(c, "abi", "extension() returned non-NULL for an unknown interface name; return "
             "NULL for every name you do not implement");
        return;
    }
    const ml_gradcheck_iface *gi = gradcheck_iface(c->re);
    if (gi) {
        if (e->kind != ML_KIND_LAYER) {
            FAIL(c, "abi", "%s only applies to layers", ML_IFACE_GRADCHECK);
            return;
        }
        if (gi->abi_major != ML_ABI_MAJOR || gi->abi_minor > ML_ABI_MINOR ||
            gi->struct_size < END_OF(ml_gradcheck_iface, cases)) {
            FAIL(c, "abi", "%s interface has ABI %u.%u size %u (this modlab: %d.%d, size >= "
                 "%zu); initialise it with ML_ABI_INIT(ml_gradcheck_iface)",
                 ML_IFACE_GRADCHECK, gi->abi_major, gi->abi_minor, gi->struct_size,
                 ML_ABI_MAJOR, ML_ABI_MINOR, END_OF(ml_gradcheck_iface, cases));
            return;
        }
        if (gi->ncases < 1 || !gi->cases) {
            FAIL(c, "abi", "%s declares no cases; give at least one", ML_IFACE_GRADCHECK);
            return;
        }
        for (int32_t i = 0; i < gi->ncases; i++) {
            const ml_gradcheck_case *gc = &gi->cases[i];
            int bad = !gc->options || gc->in.ndim < 0 || gc->in.ndim > ML_MAX_DIMS;
            for (int32_t d = 0; !bad && d < gc->in.ndim; d++)
                bad = gc->in.dim[d] <= 0;
            if (bad) {
                FAIL(c, "abi", "%s case %d has NULL options (use \"\") or a bad input shape",
                     ML_IFACE_GRADCHECK, i);
                return;
            }
        }
    }
    PASS(c, "abi", "entry ABI %u.%u (%u bytes), vtable ABI %u.%u (%u bytes), version %s",
         e->abi_major, e->abi_minor, e->struct_size, vh->abi_major, vh->abi_minor,
         vh->struct_size, e->version);
}

static void check_options(ck *c)
{
    const ml_opt_spec *s = c->re->entry.options;
    char req[128] = "";
    size_t used = 0;
    int n = 0;
    begin(c->s, c->id, "options");
    for (; s && s->name; s++, n++) {
        ml_err err;
        if (!s->doc || !*s->doc) {
            FAIL(c, "options", "option '%s' has no doc line; `modlab plugins --describe` "
                 "prints it", s->name);
            return;
        }
        if (s->choices && s->type != ML_OPT_STRING) {
            FAIL(c, "options", "option '%s' has choices but is not a string option", s->name);
            return;
        }
        if (s->choices && (!*s->choices || strstr(s->choices, "||") || *s->choices == '|' ||
                           s->choices[strlen(s->choices) - 1] == '|')) {
            FAIL(c, "options", "option '%s': choices \"%s\" has an empty alternative; write "
                 "\"a|b|c\"", s->name, s->choices);
            return;
        }
        if (!s->def) {
            if (used < sizeof req)
                used += (size_t)snprintf(req + used, sizeof req - used, "%s%s",
                                         used ? ", " : "", s->name);
            continue;
        }
        ml_opt_spec one[2] = {*s, {0}};
        ml_opts *o = ml_opts_new(&err);
        int rc = o ? ml_opts_validate(o, one, c->id, &err) : ML_ERR_NOMEM;
        ml_opts_free(o);
        if (rc) {
            FAIL(c, "options", "the default of option '%s' does not validate: %s", s->name,
                 err.msg);
            return;
        }
    }
    PASS(c, "options", "%d option%s, defaults valid%s%s", n, n == 1 ? "" : "s",
         used ? "; required: " : "", req);
}

/* The cases a layer is exercised with, or 0 if it gives none and needs options. */
static int layer_cases(const ml_reg_entry *re, const ml_gradcheck_case **cases, int32_t *n)
{
    static const ml_gradcheck_case fallback = {"", {1, {5}}, 0};
    const ml_gradcheck_iface *gi = gradcheck_iface(re);
    if (gi && gi->ncases > 0 && gi->cases) {
        *cases = gi->cases;
        *n = gi->ncases;
        return 1;
    }
    if (has_required(re->entry.options))
        return 0;
    *cases = &fallback;
    *n = 1;
    return 1;
}

int ml_gradcheck_case_run(ml_registry *reg, const char *layer, int32_t i, uint64_t seed,
                          ml_gradcheck_result *res, const char **options, ml_err *err)
{
    const ml_reg_entry *re = ml_registry_lookup(reg, ML_KIND_LAYER, layer, err);
    const ml_gradcheck_case *cases;
    int32_t n;
    if (!re)
        return err->code;
    if (!layer_cases(re, &cases, &n))
        return ml_error(err, ML_ERR_NOT_FOUND, "layer '%s' has required options but declares "
                        "no %s cases; declare some (see PLUGINS.md)", layer,
                        ML_IFACE_GRADCHECK);
    if (i < 0 || i >= n)
        return ml_error(err, ML_ERR_NOT_FOUND, "layer '%s' has %d gradient-check case%s",
                        layer, n, n == 1 ? "" : "s");
    *options = cases[i].options;
    return ml_gradcheck_layer(reg, layer, cases[i].options, &cases[i].in, cases[i].int_inputs,
                              seed, res, err);
}

static ml_model *build_case(ck *c, const ml_gradcheck_case *gc, uint64_t seed, ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    ml_model *m;
    if (!o)
        return NULL;
    if (ml_opts_parse(o, gc->options, err)) {
        ml_opts_free(o);
        return NULL;
    }
    if (!(m = ml_model_new(c->reg, seed, err))) {
        ml_opts_free(o);
        return NULL;
    }
    if (ml_model_add(m, c->re->entry.name, o, err) || ml_model_build(m, &gc->in, BATCH, err)) {
        ml_model_free(m);
        return NULL;
    }
    return m;
}

static void fill_input(float *x, int64_t n, int32_t int_inputs, uint64_t seed)
{
    ml_rng r;
    ml_rng_init(&r, seed, 5);
    if (int_inputs > 0)
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)ml_rng_below(&r, (uint64_t)int_inputs);
    else
        ml_rng_fill_uniform(&r, x, n, -1.0f, 1.0f);
}

static void check_gradient(ck *c, const ml_gradcheck_case *cases, int32_t n)
{
    const ml_layer_vtable *vt = &c->re->vt.layer;
    double worst = 0.0;
    int64_t coords = 0;
    begin(c->s, c->id, "gradient");
    if (!vt->backward_input && !vt->backward_params) {
        SKIP(c, "gradient", "not differentiable (backward_input and backward_params are NULL)");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const char *opts = *cases[i].options ? cases[i].options : "defaults";
        ml_gradcheck_result res;
        ml_err err;
        int rc = ml_gradcheck_layer(c->reg, c->re->entry.name, cases[i].options, &cases[i].in,
                                    cases[i].int_inputs, 1234 + (uint64_t)i, &res, &err);
        if (rc) {
            FAIL(c, "gradient", "case %d [%s] did not run: %s", i, opts, err.msg);
            return;
        }
        static const char *what[] = {"input (backward_input)", "parameter (backward_params)",
                                     "aux-loss (aux_loss)"};
        double errs[3] = {res.max_rel_err_input, res.max_rel_err_params, res.max_rel_err_aux};
        for (int k = 0; k < 3; k++) {
            if (!(errs[k] < TOL)) {   /* NaN fails too */
                FAIL(c, "gradient", "case %d [%s]: %s gradient is wrong: max relative error "
                     "%.2e against finite differences (tolerance %.0e); fix the backward pass",
                     i, opts, what[k], errs[k], TOL);
                return;
            }
            worst = errs[k] > worst ? errs[k] : worst;
        }
        coords += res.checked;
    }
    PASS(c, "gradient", "%d case%s, %lld coordinates, max relative error %.2e", n,
         n == 1 ? "" : "s", (long long)coords, worst);
}

/* Parameter gradients on guarded buffers too: plugins reach them through the ml_param the
 * host handed out (PLUGINS.md: keep that pointer), so the check swaps the grad pointers. */
typedef struct pguard {
    gbuf g[64];
    float *orig[64];
    int32_t n;
} pguard;

static int pguard_on(pguard *pg, ml_model *m)
{
    memset(pg, 0, sizeof *pg);
    for (int32_t i = 0; i < m->np && pg->n < 64; i++) {
        ml_param *p = m->params[i];
        if (!p->grad)
            continue;
        if (gbuf_new(&pg->g[pg->n], (size_t)p->numel * 4))
            return ML_ERR_NOMEM;
        memset(pg->g[pg->n].data, 0, (size_t)p->numel * 4);
        pg->orig[pg->n] = p->grad;
        p->grad = pg->g[pg->n++].data;
    }
    return ML_OK;
}

/* Index of the first parameter whose grad guard was written, or -1; *d the damage. */
static int32_t pguard_damaged(pguard *pg, ml_model *m, int *d)
{
    for (int32_t i = 0, k = 0; i < m->np && k < pg->n; i++)
        if (m->params[i]->grad && (*d = gbuf_damage(&pg->g[k++])))
            return i;
    return -1;
}

static void pguard_off(pguard *pg, ml_model *m)
{
    for (int32_t i = 0, k = 0; i < m->np; i++)
        if (m->params[i]->grad && k < pg->n && m->params[i]->grad == pg->g[k].data)
            m->params[i]->grad = pg->orig[k++];
    for (int32_t k = 0; k < 64; k++)
        gbuf_free(&pg->g[k]);
}

/* forward / backward on guarded buffers, with the first case. */
static void check_layer_bounds(ck *c, const ml_gradcheck_case *gc)
{
    ml_err err;
    gbuf x = {0}, out = {0}, ws = {0}, gout = {0}, gin = {0};
    pguard pg;
    float *keep_x = NULL, *keep_out = NULL, *keep_gout = NULL;
    char msg[ML_ERR_MSG_MAX + 128] = "", what[96];
    int64_t bad;
    int d;
    begin(c->s, c->id, "bounds");
    memset(&pg, 0, sizeof pg);
    ml_model *m = build_case(c, gc, 7, &err);
    if (!m) {
        FAIL(c, "bounds", "could not create the layer: %s", err.msg);
        return;
    }
    ml_layer_slot *l = &m->layers[0];
    int64_t nin = BATCH * ml_shape_numel(&l->in), nout = BATCH * l->out_numel;
    size_t wsb = l->vt.workspace ? l->vt.workspace(l->self, BATCH) : 0;
    int want_gin = l->vt.backward_input && gc->int_inputs <= 0;
    if (gbuf_new(&x, (size_t)nin * 4) || gbuf_new(&out, (size_t)nout * 4) ||
        (wsb && gbuf_new(&ws, wsb)) || gbuf_new(&gout, (size_t)nout * 4) ||
        gbuf_new(&gin, (size_t)nin * 4) || !(keep_x = malloc((size_t)nin * 4)) ||
        !(keep_out = malloc((size_t)nout * 4)) || !(keep_gout = malloc((size_t)nout * 4)) ||
        pguard_on(&pg, m)) {
        snprintf(msg, sizeof msg, "out of memory for the guarded buffers");
        goto done;
    }
    fill_input(x.data, nin, gc->int_inputs, 3);
    memcpy(keep_x, x.data, (size_t)nin * 4);
    fill_nan(out.data, nout);
    ml_view vin = {x.data, BATCH, l->in}, vout = {out.data, BATCH, l->out};
    m->training = 1;
    ml_rng_init(&l->ctx.rng, m->seed, (1ull << 40) ^ 1);
    if (l->vt.forward(l->self, &l->ctx, &vin, &vout, wsb ? ws.data : NULL, &err)) {
        snprintf(msg, sizeof msg, "forward failed: %s", err.msg);
        goto done;
    }
    if ((d = gbuf_damage(&out)) || (d = gbuf_damage(&ws)) || (d = gbuf_damage(&x))) {
        snprintf(msg, sizeof msg, "forward wrote %s its %s", damage_where(d),
                 gbuf_damage(&out) ? "output buffer"
                 : gbuf_damage(&ws) ? "workspace (is workspace() too small?)"
                                    : "input buffer (inputs are const)");
        goto done;
    }
    if (memcmp(keep_x, x.data, (size_t)nin * 4)) {
        snprintf(msg, sizeof msg, "forward modified its input (inputs are const: copy first)");
        goto done;
    }
    if ((bad = first_nonfinite(out.data, nout)) >= 0) {
        describe_nonfinite(out.data, bad, nout, what, sizeof what);
        snprintf(msg, sizeof msg, "forward %s of its output (batch %d, finite inputs in "
                 "[-1, 1]); write every element, and a finite value", what, BATCH);
        goto done;
    }
    memcpy(keep_out, out.data, (size_t)nout * 4);
    ml_rng r;
    ml_rng_init(&r, 9, 9);
    ml_rng_fill_uniform(&r, gout.data, nout, -1.0f, 1.0f);
    memcpy(keep_gout, gout.data, (size_t)nout * 4);
    if (want_gin) {
        ml_view vgout = {gout.data, BATCH, l->out}, vgin = {gin.data, BATCH, l->in};
        fill_nan(gin.data, nin);
        if (l->vt.backward_input(l->self, &l->ctx, &vin, &vout, &vgout, &vgin,
                                 wsb ? ws.data : NULL, &err)) {
            snprintf(msg, sizeof msg, "backward_input failed: %s", err.msg);
            goto done;
        }
        if ((d = gbuf_damage(&gin)) || (d = gbuf_damage(&ws)) || (d = gbuf_damage(&gout)) ||
            (d = gbuf_damage(&out)) || (d = gbuf_damage(&x))) {
            snprintf(msg, sizeof msg, "backward_input wrote %s its %s", damage_where(d),
                     gbuf_damage(&gin) ? "gin buffer (the input gradient)"
                     : gbuf_damage(&ws) ? "workspace" : "gout, out or in buffer");
            goto done;
        }
        if ((bad = first_nonfinite(gin.data, nin)) >= 0) {
            describe_nonfinite(gin.data, bad, nin, what, sizeof what);
            snprintf(msg, sizeof msg, "backward_input %s of gin; it must write (not "
                     "accumulate) every element, and a finite value", what);
            goto done;
        }
    }
    if (l->vt.backward_params && l->nparams) {
        ml_view vgout = {gout.data, BATCH, l->out};
        int32_t pi;
        ml_model_zero_grad(m);
        if (l->vt.backward_params(l->self, &l->ctx, &vin, &vout, &vgout,
                                  wsb ? ws.data : NULL, &err)) {
            snprintf(msg, sizeof msg, "backward_params failed: %s", err.msg);
            goto done;
        }
        if ((pi = pguard_damaged(&pg, m, &d)) >= 0) {
            snprintf(msg, sizeof msg, "backward_params wrote %s the grad buffer of "
                     "parameter '%s' (%lld floats)", damage_where(d), m->param_names[pi],
                     (long long)m->params[pi]->numel);
            goto done;
        }
        if ((d = gbuf_damage(&ws)) || (d = gbuf_damage(&gout)) || (d = gbuf_damage(&x)) ||
            (d = gbuf_damage(&out))) {
            snprintf(msg, sizeof msg, "backward_params wrote %s its %s", damage_where(d),
                     gbuf_damage(&ws) ? "workspace" : "gout, out or in buffer");
            goto done;
        }
    }
    if (memcmp(keep_x, x.data, (size_t)nin * 4) ||
        memcmp(keep_out, out.data, (size_t)nout * 4) ||
        memcmp(keep_gout, gout.data, (size_t)nout * 4))
        snprintf(msg, sizeof msg, "a backward call modified in, out or gout (they are const)");
done:
    if (*msg)
        FAIL(c, "bounds", "%s", msg);
    else
        PASS(c, "bounds", "forward%s%s on %s, batch %d: inputs intact, outputs all written",
             want_gin ? ", backward_input" : "",
             l->vt.backward_params && l->nparams ? ", backward_params" : "", GUARD_KIND,
             BATCH);
    pguard_off(&pg, m);
    gbuf_free(&x), gbuf_free(&out), gbuf_free(&ws), gbuf_free(&gout), gbuf_free(&gin);
    free(keep_x), free(keep_out), free(keep_gout);
    ml_model_free(m);
}

static void check_layer_saveload(ck *c, const ml_gradcheck_case *gc)
{
    char dir[] = "/tmp/modlab-check-XXXXXX", path[64];
    float *x = NULL, *ya = NULL;
    ml_model *a = NULL, *b = NULL;
    ml_err err;
    int made = 0;
    begin(c->s, c->id, "save/load");
    if (!(a = build_case(c, gc, 11, &err)) || !(b = build_case(c, gc, 12, &err))) {
        FAIL(c, "save/load", "could not create the layer: %s", err.msg);
        goto done;
    }
    if (a->np == 0 && !a->layers[0].vt.save) {
        PASS(c, "save/load", "nothing to save (no parameters, no save())");
        goto done;
    }
    ml_rng r;
    ml_rng_init(&r, 13, 1);
    for (int32_t i = 0; i < a->np; i++) {   /* move away from any seed-independent init */
        float *v = a->params[i]->value;
        for (int64_t k = 0; k < a->params[i]->numel; k++)
            v[k] += 0.25f * (ml_rng_uniform01(&r) - 0.5f);
    }
    if (!mkdtemp(dir)) {
        FAIL(c, "save/load", "cannot make a temporary directory: %s", strerror(errno));
        goto done;
    }
    made = 1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (ml_model_save(a, path, &err)) {
        FAIL(c, "save/load", "saving failed: %s", err.msg);
        goto done;
    }
    if (ml_model_load(b, path, &err)) {
        FAIL(c, "save/load", "loading what was saved failed: %s", err.msg);
        goto done;
    }
    int64_t nin = BATCH * a->in_numel, nout = BATCH * a->layers[0].out_numel;
    if (!(x = malloc((size_t)nin * 4)) || !(ya = malloc((size_t)nout * 4))) {
        FAIL(c, "save/load", "out of memory");
        goto done;
    }
    fill_input(x, nin, gc->int_inputs, 4);
    a->training = b->training = 0;
    const float *y = ml_model_forward(a, x, BATCH, &err);
    if (!y) {
        FAIL(c, "save/load", "forward failed: %s", err.msg);
        goto done;
    }
    memcpy(ya, y, (size_t)nout * 4);
    if (!(y = ml_model_forward(b, x, BATCH, &err))) {
        FAIL(c, "save/load", "forward after load failed: %s", err.msg);
        goto done;
    }
    for (int64_t i = 0; i < nout; i++)
        if (memcmp(&ya[i], &y[i], 4)) {
            FAIL(c, "save/load", "after loading, output %lld is %g instead of %g: state "
                 "outside the parameters is not saved; register it as a parameter "
                 "(ML_PARAM_BUFFER) or implement save/load", (long long)i, y[i], ya[i]);
            goto done;
        }
    PASS(c, "save/load", "%d parameter tensor%s%s restored to identical outputs", a->np,
         a->np == 1 ? "" : "s", a->layers[0].vt.save ? " and save() state" : "");
done:
    if (made) {
        unlink(path);
        rmdir(dir);
    }
    free(x);
    free(ya);
    ml_model_free(a);
    ml_model_free(b);
}

/* One life of a layer: create, forward, backward, destroy. */
static int layer_life(ck *c, const ml_gradcheck_case *gc, ml_err *err)
{
    ml_model *m = build_case(c, gc, 21, err);
    float *x = NULL;
    int rc = ML_OK;
    if (!m)
        return err->code ? err->code : ML_ERR_INTERNAL;
    if (!(x = ml_alloc((size_t)(BATCH * m->in_numel) * 4)))
        rc = ml_error(err, ML_ERR_NOMEM, "out of memory");
    if (!rc) {
        fill_input(x, BATCH * m->in_numel, gc->int_inputs, 6);
        rc = ml_model_forward_into(m, x, BATCH, err);
    }
    if (!rc) {
        ml_layer_slot *l = &m->layers[0];
        memset(l->gact, 0, (size_t)(BATCH * l->out_numel) * 4);
        rc = ml_model_backward(m, x, BATCH, l->vt.backward_input && gc->int_inputs <= 0, err);
    }
    ml_free(x);
    ml_model_free(m);
    return rc;
}

static int layer_create_only(ck *c, const ml_gradcheck_case *gc, int64_t fail_at, ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    ml_model *m;
    int rc;
    if (!o || ml_opts_parse(o, gc->options, err)) {
        ml_opts_free(o);
        return ML_ERR_INTERNAL;
    }
    if (!(m = ml_model_new(c->reg, 21, err))) {
        ml_opts_free(o);
        return ML_ERR_INTERNAL;
    }
    if ((rc = ml_model_add(m, c->re->entry.name, o, err))) {
        ml_model_free(m);
        return ML_ERR_INTERNAL;
    }
    ml_err_clear(err);
    ml_mem_fail_at(fail_at);
    rc = ml_model_build(m, &gc->in, BATCH, err);
    ml_mem_fail_at(0);
    ml_model_free(m);
    return rc;
}

/* Generic leak check: `life` once, then `create` under every injected failure. */
typedef int (*life_fn)(ck *c, const void *arg, int64_t fail_at, ml_err *err);

static void check_leaks(ck *c, life_fn life, const void *arg)
{
    ml_err err;
    int64_t blocks = ml_mem_live_blocks(), bytes = ml_mem_live_bytes();
    int rc;
    begin(c->s, c->id, "leaks");
    ml_err_clear(&err);
    if ((rc = life(c, arg, 0, &err))) {
        FAIL(c, "leaks", "a create/use/destroy cycle failed: %s", err.msg);
        return;
    }
    if (ml_mem_live_blocks() != blocks) {
        FAIL(c, "leaks", "%lld block%s (%lld bytes) still allocated after destroy; free in "
             "destroy everything create allocated",
             (long long)(ml_mem_live_blocks() - blocks),
             ml_mem_live_blocks() - blocks == 1 ? "" : "s",
             (long long)(ml_mem_live_bytes() - bytes));
        return;
    }
    int64_t n;
    for (n = 1; n <= OOM_MAX; n++) {
        ml_err_clear(&err);
        rc = life(c, arg, n, &err);
        if (ml_mem_live_blocks() != blocks) {
            FAIL(c, "leaks", "when allocation %lld of create fails, %lld block%s stay%s "
                 "allocated; on failure create must free what it allocated",
                 (long long)n, (long long)(ml_mem_live_blocks() - blocks),
                 ml_mem_live_blocks() - blocks == 1 ? "" : "s",
                 ml_mem_live_blocks() - blocks == 1 ? "s" : "");
            return;
        }
        if (rc == ML_OK)
            break;
        if (rc > 0 || !err.msg[0]) {
            FAIL(c, "leaks", "when allocation %lld of create fails, create returns %d %s; "
                 "return a negative ML_ERR_* with a message (host->error)", (long long)n, rc,
                 err.msg[0] ? "" : "without a message");
            return;
        }
    }
    PASS(c, "leaks", "no live blocks after create/destroy, nor after each of %lld injected "
         "allocation failures during create", (long long)(n - 1));
}

static int layer_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    return fail_at ? layer_create_only(c, arg, fail_at, err) : layer_life(c, arg, err);
}

static void check_layer(ck *c)
{
    const ml_gradcheck_case *cases;
    int32_t n;
    if (!layer_cases(c->re, &cases, &n)) {
        begin(c->s, c->id, "gradient");
        FAIL(c, "gradient", "the layer has required options but no %s cases; declare some "
             "through ml_entry.extension (see PLUGINS.md)", ML_IFACE_GRADCHECK);
        return;
    }
    /* Bounds first: a layer that scribbles outside its buffers is caught on guarded ones
     * before the gradient check runs it thousands of times on unguarded ones. */
    check_layer_bounds(c, &cases[0]);
    check_gradient(c, cases, n);
    check_layer_saveload(c, &cases[0]);
    check_leaks(c, layer_leak_life, &cases[0]);
}

/* ---- losses ---------------------------------------------------------------------- */

static int loss_open(ck *c, void **self, ml_shape *pred, ml_shape *tgt, ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    int rc = o ? ml_opts_validate(o, c->re->entry.options, c->id, err) : ML_ERR_NOMEM;
    *pred = (ml_shape){1, {5}};
    *tgt = (ml_shape){0, {0}};
    /* Class-id targets first; a loss that rejects them gets regression targets. */
    if (!rc && c->re->vt.loss.create(ml_host_table(), o, pred, tgt, self, err) != 0) {
        *tgt = *pred;
        rc = c->re->vt.loss.create(ml_host_table(), o, pred, tgt, self, err);
    }
    ml_opts_free(o);
    return rc;
}

static int loss_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    void *self = NULL;
    ml_shape p, t;
    (void)arg;
    ml_mem_fail_at(fail_at);
    int rc = loss_open(c, &self, &p, &t, err);
    ml_mem_fail_at(0);
    if (!rc)
        c->re->vt.loss.destroy(self);
    return rc;
}

static void check_loss(ck *c)
{
    enum { B = 3, K = 5 };
    float p[B * K], y[B * K];
    gbuf g = {0};
    void *self = NULL;
    ml_shape ps, ts;
    ml_err err;
    ml_rng r;
    begin(c->s, c->id, "gradient");
    if (has_required(c->re->entry.options)) {
        SKIP(c, "gradient", "the loss has required options; the check cannot invent values");
        return;
    }
    if (loss_open(c, &self, &ps, &ts, &err)) {
        FAIL(c, "gradient", "create failed for predictions {5}: %s", err.msg);
        return;
    }
    ml_rng_init(&r, 99, 1);
    ml_rng_fill_uniform(&r, p, B * K, -2, 2);
    if (ts.ndim == 0)
        for (int i = 0; i < B; i++)
            y[i] = (float)(i % K);
    else
        ml_rng_fill_uniform(&r, y, B * K, 0, 1);
    ml_view pv = {p, B, ps}, tv = {y, B, ts};
    double L, hi, lo, worst = 0;
    if (gbuf_new(&g, sizeof p)) {
        FAIL(c, "gradient", "out of memory");
        goto done;
    }
    fill_nan(g.data, B * K);
    ml_view gv = {g.data, B, ps};
    if (c->re->vt.loss.forward(self, &pv, &tv, &L, &gv, &err)) {
        FAIL(c, "gradient", "forward failed: %s", err.msg);
        goto done;
    }
    if (!gbuf_intact(&g) || first_nonfinite(g.data, B * K) >= 0) {
        FAIL(c, "gradient", "forward wrote outside gpred or left some of it unwritten");
        goto done;
    }
    for (int i = 0; i < B * K; i++) {
        float keep = p[i];
        p[i] = keep + 1e-3f;
        c->re->vt.loss.forward(self, &pv, &tv, &hi, NULL, &err);
        p[i] = keep - 1e-3f;
        c->re->vt.loss.forward(self, &pv, &tv, &lo, NULL, &err);
        p[i] = keep;
        double num = (hi - lo) / 2e-3, e = fabs(num - g.data[i]) / fmax(1.0, fabs(num));
        worst = e > worst ? e : worst;
    }
    if (worst >= TOL)
        FAIL(c, "gradient", "dloss/dpred is wrong: max relative error %.2e against finite "
             "differences (tolerance %.0e)", worst, TOL);
    else
        PASS(c, "gradient", "%d coordinates, max relative error %.2e", B * K, worst);
done:
    gbuf_free(&g);
    c->re->vt.loss.destroy(self);
    if (!has_required(c->re->entry.options))
        check_leaks(c, loss_leak_life, NULL);
}

/* ---- optimizers ------------------------------------------------------------------ */

enum { NSLOT = 2 };
static const int64_t slot_numel[NSLOT] = {7, 3};

typedef struct opt_run {
    gbuf val[NSLOT], grad[NSLOT], state[NSLOT];
    ml_opt_slot slots[NSLOT];
    int32_t ss;
} opt_run;

static int opt_create(ck *c, void **self, ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    int rc = o ? ml_opts_validate(o, c->re->entry.options, c->id, err) : ML_ERR_NOMEM;
    if (!rc)
        rc = c->re->vt.optimizer.create(ml_host_table(), o, self, err);
    ml_opts_free(o);
    return rc;
}

static void opt_run_free(opt_run *o)
{
    for (int i = 0; i < NSLOT; i++)
        gbuf_free(&o->val[i]), gbuf_free(&o->grad[i]), gbuf_free(&o->state[i]);
}

static int opt_run_init(opt_run *o, int32_t ss)
{
    ml_rng r;
    memset(o, 0, sizeof *o);
    o->ss = ss;
    ml_rng_init(&r, 31, 1);
    for (int i = 0; i < NSLOT; i++) {
        int64_t n = slot_numel[i];
        if (gbuf_new(&o->val[i], (size_t)n * 4) || gbuf_new(&o->grad[i], (size_t)n * 4) ||
            gbuf_new(&o->state[i], (size_t)(n * (ss ? ss : 1)) * 4))
            return ML_ERR_NOMEM;
        ml_rng_fill_uniform(&r, o->val[i].data, n, -1.0f, 1.0f);
        memset(o->state[i].data, 0, (size_t)(n * (ss ? ss : 1)) * 4);
        o->slots[i] = (ml_opt_slot){o->val[i].data, o->grad[i].data, ss ? o->state[i].data
                                    : NULL, n, i ? ML_PARAM_NO_DECAY : 0u, 1.0f,
                                    i ? 0.0f : 1.0f};
    }
    return ML_OK;
}

static double opt_f(const opt_run *o)
{
    double f = 0;
    for (int i = 0; i < NSLOT; i++)
        for (int64_t k = 0; k < slot_numel[i]; k++)
            f += 0.5 * (double)o->val[i].data[k] * o->val[i].data[k];
    return f;
}

/* Steps t0..t1 on f = 0.5 |x|^2 (grad = x). Returns 1 with *why set on a contract breach. */
static int opt_steps(ck *c, void *self, opt_run *o, int64_t t0, int64_t t1, const char **why,
                     ml_err *err)
{
    float keep[16];
    for (int64_t t = t0; t <= t1; t++) {
        for (int i = 0; i < NSLOT; i++)
            memcpy(o->grad[i].data, o->val[i].data, (size_t)slot_numel[i] * 4);
        memcpy(keep, o->grad[0].data, (size_t)slot_numel[0] * 4);
        if (c->re->vt.optimizer.step(self, o->slots, NSLOT, 1.0f, t, err)) {
            *why = err->msg;
            return 1;
        }
        for (int i = 0; i < NSLOT; i++) {
            static char buf[160];
            int dv = gbuf_damage(&o->val[i]), dg = gbuf_damage(&o->grad[i]);
            int ds = gbuf_damage(&o->state[i]);
            if (dv || dg || ds) {
                snprintf(buf, sizeof buf, "step wrote %s slot %d's %s buffer%s",
                         damage_where(dv ? dv : dg ? dg : ds), i,
                         dv ? "value" : dg ? "grad" : "state",
                         ds && !dv && !dg ? " (state has state_size() floats per element)"
                                          : "");
                *why = buf;
                return 1;
            }
        }
        if (memcmp(keep, o->grad[0].data, (size_t)slot_numel[0] * 4)) {
            *why = "step modified grad (it is const)";
            return 1;
        }
        for (int i = 0; i < NSLOT; i++) {
            static char buf[160];
            char what[96];
            int64_t bad = first_nonfinite(o->val[i].data, slot_numel[i]);
            if (bad >= 0) {
                describe_nonfinite(o->val[i].data, bad, slot_numel[i], what, sizeof what);
                snprintf(buf, sizeof buf, "step %lld %s of slot %d's value (its gradient "
                         "was finite)", (long long)t, what, i);
                *why = buf;
                return 1;
            }
        }
    }
    return 0;
}

static int opt_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    void *self = NULL;
    (void)arg;
    ml_mem_fail_at(fail_at);
    int rc = opt_create(c, &self, err);
    ml_mem_fail_at(0);
    if (!rc)
        c->re->vt.optimizer.destroy(self);
    return rc;
}

static void check_optimizer(ck *c)
{
    const ml_optimizer_vtable *vt = &c->re->vt.optimizer;
    void *self = NULL, *s2 = NULL;
    opt_run a, b;
    ml_err err;
    const char *why = NULL;
    int32_t ss;
    begin(c->s, c->id, "step");
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (has_required(c->re->entry.options)) {
        SKIP(c, "step", "the optimizer has required options; the check cannot invent values");
        return;
    }
    if (opt_create(c, &self, &err)) {
        FAIL(c, "step", "create with default options failed: %s", err.msg);
        return;
    }
    ss = vt->state_size ? vt->state_size(self) : 0;
    if (ss < 0 || ss > 64) {
        FAIL(c, "step", "state_size() returned %d; expected 0..64 floats per element", ss);
        goto done;
    }
    if (opt_run_init(&a, ss)) {
        FAIL(c, "step", "out of memory");
        goto done;
    }
    double f0 = opt_f(&a);
    if (opt_steps(c, self, &a, 1, OPT_STEPS, &why, &err)) {
        FAIL(c, "step", "%s", why);
        goto done;
    }
    double f1 = opt_f(&a);
    if (!(f1 < f0)) {
        FAIL(c, "step", "%d steps on 0.5*|x|^2 with default options did not lower it (%g -> "
             "%g); does step move values against the gradient?", OPT_STEPS, f0, f1);
        goto done;
    }
    PASS(c, "step", "%d steps lower 0.5*|x|^2 from %.4g to %.4g; state_size %d", OPT_STEPS,
         f0, f1, ss);
    begin(c->s, c->id, "bounds");
    PASS(c, "bounds", "values, grads and state on %s: nothing written outside, grads intact",
         GUARD_KIND);

    /* Save/load: a fresh instance continues from the slots' state exactly. */
    begin(c->s, c->id, "save/load");
    opt_run_free(&a);
    if (opt_run_init(&a, ss) || opt_run_init(&b, ss)) {
        FAIL(c, "save/load", "out of memory");
        goto done;
    }
    vt->destroy(self);
    self = NULL;
    if (opt_create(c, &self, &err) || opt_steps(c, self, &a, 1, 6, &why, &err) ||
        opt_steps(c, self, &b, 1, 3, &why, &err) || (vt->destroy(self), self = NULL,
                                                      opt_create(c, &s2, &err)) ||
        opt_steps(c, s2, &b, 4, 6, &why, &err)) {
        FAIL(c, "save/load", "%s", why ? why : err.msg);
        goto done;
    }
    for (int i = 0; i < NSLOT; i++)
        if (memcmp(a.val[i].data, b.val[i].data, (size_t)slot_numel[i] * 4)) {
            FAIL(c, "save/load", "a fresh instance continuing from the slots' state diverges "
                 "from an uninterrupted run: keep all per-parameter state in slots[i].state, "
                 "never in self (checkpoints save only the slots)");
            goto done;
        }
    PASS(c, "save/load", "6 steps uninterrupted == 3 steps, new instance, 3 steps (bitwise)");
done:
    if (self)
        vt->destroy(self);
    if (s2)
        vt->destroy(s2);
    opt_run_free(&a);
    opt_run_free(&b);
    check_leaks(c, opt_leak_life, NULL);
}

/* ---- datasets -------------------------------------------------------------------- */

static int ds_open(ck *c, void **self, ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    int rc = o ? ml_opts_validate(o, c->re->entry.options, c->id, err) : ML_ERR_NOMEM;
    if (!rc)
        rc = c->re->vt.dataset.open(ml_host_table(), o, self, err);
    ml_opts_free(o);
    return rc;
}

static int shape_ok(const ml_shape *s)
{
    if (s->ndim < 0 || s->ndim > ML_MAX_DIMS)
        return 0;
    for (int32_t i = 0; i < s->ndim; i++)
        if (s->dim[i] <= 0)
            return 0;
    return 1;
}

static int ds_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    void *self = NULL;
    ml_data_info info;
    (void)arg;
    ml_mem_fail_at(fail_at);
    int rc = ds_open(c, &self, err);
    ml_mem_fail_at(0);
    if (!rc) {
        rc = c->re->vt.dataset.info(self, &info, err);
        c->re->vt.dataset.close(self);
    }
    return rc;
}

static void check_dataset(ck *c)
{
    const ml_dataset_vtable *vt = &c->re->vt.dataset;
    void *self = NULL;
    ml_data_info info;
    ml_err err;
    gbuf x = {0}, y = {0};
    float *x2 = NULL, *y2 = NULL;
    begin(c->s, c->id, "info");
    if (has_required(c->re->entry.options)) {
        SKIP(c, "info", "the dataset has required options (files come from a manifest); "
             "the check cannot invent values");
        return;
    }
    if (ds_open(c, &self, &err)) {
        FAIL(c, "info", "open with default options failed: %s", err.msg);
        return;
    }
    memset(&info, 0, sizeof info);
    if (vt->info(self, &info, &err)) {
        FAIL(c, "info", "info failed: %s", err.msg);
        goto done;
    }
    if (info.size <= 0 || !shape_ok(&info.x_shape) || !shape_ok(&info.y_shape) ||
        info.classes < 0) {
        FAIL(c, "info", "info reports size %lld, x ndim %d, y ndim %d, classes %d: size must "
             "be > 0, shapes 0..%d dims of positive sizes, classes >= 0",
             (long long)info.size, info.x_shape.ndim, info.y_shape.ndim, info.classes,
             ML_MAX_DIMS);
        goto done;
    }
    PASS(c, "info", "%lld examples, x %lld floats, y %lld floats, %d classes",
         (long long)info.size, (long long)ml_shape_numel(&info.x_shape),
         (long long)ml_shape_numel(&info.y_shape), info.classes);
    begin(c->s, c->id, "read");
    int64_t idx[3] = {0, info.size - 1, info.size / 2};
    int64_t nx = 3 * ml_shape_numel(&info.x_shape), ny = 3 * ml_shape_numel(&info.y_shape);
    if (gbuf_new(&x, (size_t)nx * 4) || gbuf_new(&y, (size_t)ny * 4) ||
        !(x2 = malloc((size_t)nx * 4)) || !(y2 = malloc((size_t)ny * 4))) {
        FAIL(c, "read", "out of memory");
        goto done;
    }
    fill_nan(x.data, nx);
    fill_nan(y.data, ny);
    if (vt->read(self, idx, 3, x.data, y.data, &err)) {
        FAIL(c, "read", "reading examples 0, %lld and %lld failed: %s",
             (long long)idx[1], (long long)idx[2], err.msg);
        goto done;
    }
    if (!gbuf_intact(&x) || !gbuf_intact(&y)) {
        FAIL(c, "read", "read wrote outside x or y (n * prod(shape) floats each)");
        goto done;
    }
    if (first_nonfinite(x.data, nx) >= 0 || first_nonfinite(y.data, ny) >= 0) {
        FAIL(c, "read", "read left elements of x or y unwritten or non-finite");
        goto done;
    }
    if (vt->read(self, idx, 3, x2, y2, &err) || memcmp(x2, x.data, (size_t)nx * 4) ||
        memcmp(y2, y.data, (size_t)ny * 4)) {
        FAIL(c, "read", "reading the same indices twice gave different examples; reads must "
             "be deterministic (the host shuffles, not the dataset)");
        goto done;
    }
    if (info.classes > 0 && info.y_shape.ndim == 0)
        for (int64_t i = 0; i < ny; i++)
            if (y.data[i] != floorf(y.data[i]) || y.data[i] < 0 || y.data[i] >= info.classes) {
                FAIL(c, "read", "target %g is not a class index in [0, %d)", y.data[i],
                     info.classes);
                goto done;
            }
    PASS(c, "read", "3 examples deterministic, all written, targets valid, nothing written "
         "outside (%s)", GUARD_KIND);
done:
    gbuf_free(&x);
    gbuf_free(&y);
    free(x2);
    free(y2);
    vt->close(self);
    check_leaks(c, ds_leak_life, NULL);
}

/* ---- the file as a whole ---------------------------------------------------------- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void run_checks(sink *s, const char *file, const char *deps)
{
    const char *fid = base_name(file);
    ml_err err;
    ml_registry *reg = NULL;
    begin(s, fid, "load");
    if (!(reg = ml_registry_new(&err))) {
        emit(s, ML_CHECK_FAIL, fid, "load", "%s", err.msg);
        return;
    }
    const char *prev = ml_check_call_enter("plugin init");
    int lrc = ml_registry_load_file(reg, file, &err);
    ml_check_call_leave(prev);
    if (lrc) {
        emit(s, ML_CHECK_FAIL, fid, "load", "%s", err.msg);
        ml_registry_free(reg);
        return;
    }
    int32_t n = ml_registry_count(reg);
    if (n == 0) {
        emit(s, ML_CHECK_FAIL, fid, "load", "init succeeded but registered no entry; call "
             "host->register_entry for each entry");
        ml_registry_free(reg);
        return;
    }
    char names[256];
    size_t used = 0;
    for (int32_t i = 0; i < n && used < sizeof names; i++) {
        const ml_entry *e = ml_registry_entry(reg, i);
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s/%s", i ? ", " : "",
                                 ml_kind_name(e->kind), e->name);
    }
    emit(s, ML_CHECK_PASS, fid, "load", "%d entr%s: %s", n, n == 1 ? "y" : "ies", names);

    /* A second init into another registry: same entries, and nothing left behind. */
    begin(s, fid, "reload");
    int64_t blocks = ml_mem_live_blocks();
    ml_registry *r2 = ml_registry_new(&err);
    prev = ml_check_call_enter("plugin init (a second time)");
    int rc = r2 ? ml_registry_load_file(r2, file, &err) : err.code;
    ml_check_call_leave(prev);
    int same = !rc && ml_registry_count(r2) == n;
    for (int32_t i = 0; same && i < n; i++)
        same = !strcmp(ml_registry_entry(r2, i)->name, ml_registry_entry(reg, i)->name);
    ml_registry_free(r2);
    if (rc)
        emit(s, ML_CHECK_FAIL, fid, "reload", "a second init failed: %s; init must not depend "
             "on having run before", err.msg);
    else if (!same)
        emit(s, ML_CHECK_FAIL, fid, "reload", "a second init registered other entries; "
             "register the same entries every time");
    else if (ml_mem_live_blocks() != blocks)
        emit(s, ML_CHECK_FAIL, fid, "reload", "init left %lld block(s) allocated; init must "
             "not allocate (entries, vtables and schemas are static const data)",
             (long long)(ml_mem_live_blocks() - blocks));
    else
        emit(s, ML_CHECK_PASS, fid, "reload", "a second init registers the same entries and "
             "allocates nothing");

    if (deps && *deps)
        ml_registry_load_default(reg, deps, &err);   /* warnings only */
    for (int32_t i = 0; i < n; i++) {
        ck c;
        c.s = s;
        c.reg = reg;
        c.idx = i;
        c.re = ml_registry_get(reg, i);
        snprintf(c.id, sizeof c.id, "%s/%s", ml_kind_name(c.re->entry.kind), c.re->entry.name);
        /* The registry's copy is host storage: wrapping it names every call in a crash. */
        ml_check_wrap((ml_reg_entry *)c.re);
        check_abi(&c);
        check_options(&c);
        switch (c.re->entry.kind) {
        case ML_KIND_LAYER: check_layer(&c); break;
        case ML_KIND_LOSS: check_loss(&c); break;
        case ML_KIND_OPTIMIZER: check_optimizer(&c); break;
        case ML_KIND_DATASET: check_dataset(&c); break;
        default: break;
        }
        ml_check_unwrap((ml_reg_entry *)c.re);
    }
    ml_registry_free(reg);
}

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
                rec_add(r, v, entry, name, p);
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
        return ml_error(err, ML_ERR_NOMEM, "plugin check: out of memory"), NULL;
    if (!(flags & ML_CHECK_FORK)) {
        sink s = {r, -1};
        run_checks(&s, file, deps);
        return r;
    }
    fflush(NULL);
    ml_check_crumb *cr = mmap(NULL, sizeof *cr, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (cr == MAP_FAILED) {
        free(r);
        return ml_error(err, ML_ERR_IO, "plugin check: mmap: %s", strerror(errno)), NULL;
    }
    memset(cr, 0, sizeof *cr);
    if (pipe(fds) != 0) {
        munmap(cr, sizeof *cr);
        free(r);
        return ml_error(err, ML_ERR_IO, "plugin check: pipe: %s", strerror(errno)), NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        munmap(cr, sizeof *cr);
        free(r);
        return ml_error(err, ML_ERR_IO, "plugin check: fork: %s", strerror(errno)), NULL;
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
        ml_check_crumb_use(cr);
        ml_load_crash_quiet(1);   /* the parent reports, naming the call */
#ifdef __GLIBC__
        on_exit(on_child_exit, NULL);
#else
        atexit(on_child_exit);
#endif
        alarm((unsigned)timeout);
        run_checks(&s, file, deps);
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
        snprintf(entry, sizeof entry, "%s", base_name(file));
    if (!open)
        snprintf(name, sizeof name, "teardown");
    char detail[400];
    if (!cr->finished || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        child_death(cr, status, timeout, detail, sizeof detail);
        rec_add(r, ML_CHECK_FAIL, entry, name, detail);
    }
    munmap(cr, sizeof *cr);
    return r;
}
