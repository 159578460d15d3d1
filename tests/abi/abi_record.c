/* SPDX-License-Identifier: MIT */
/* The ABI record: sizes and offsets of every field of every public struct, and the values of
 * the public constants, compared with tests/abi/abi-record.txt in `make check`.
 *   abi_record            print the record of the headers it was compiled with
 *   abi_record RECORD     TAP test: compare with RECORD; on a difference, say whether it is
 *                         an append (bump ML_ABI_MINOR) or a break (bump ML_ABI_MAJOR)
 * A field added to a header must be added here too (a struct whose size changes without a
 * new field here is reported as such). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/sdk.h>

/* Struct kinds: versioned (ML_ABI_HEADER, append-only), frozen (plain data of the plugin
 * ABI), library (libmodlab's C API in modlab.h: governed by the library's libtool version). */
typedef struct line {
    char what;          /* 'a' abi, 'c' const, 's' struct, 'f' field */
    char kind;          /* 's': 'v', 'f', 'l' */
    char sname[64], fname[64];
    long long a, b;     /* const value | struct size | field offset, field size */
} line;

static line cur[512];
static int ncur;

static void add(char what, char kind, const char *s, const char *f, long long a, long long b)
{
    line *l = &cur[ncur++];
    memset(l, 0, sizeof *l);
    l->what = what;
    l->kind = kind;
    snprintf(l->sname, sizeof l->sname, "%s", s);
    snprintf(l->fname, sizeof l->fname, "%s", f);
    l->a = a;
    l->b = b;
}

#define K(name) add('c', 0, "", #name, (long long)(name), 0)
#define S(type, kind) add('s', kind, #type, "", (long long)sizeof(type), 0)
#define F(type, f) add('f', 0, #type, #f, (long long)offsetof(type, f), \
                       (long long)sizeof(((type *)0)->f))
#define HDR(type) F(type, abi_major), F(type, abi_minor), F(type, struct_size)

static void build(void)
{
    add('a', 0, "", "", ML_ABI_MAJOR, ML_ABI_MINOR);
    K(ML_OK), K(ML_ERR_NOMEM), K(ML_ERR_INVALID), K(ML_ERR_SHAPE), K(ML_ERR_IO);
    K(ML_ERR_FORMAT), K(ML_ERR_ABI), K(ML_ERR_NOT_FOUND), K(ML_ERR_CHECKSUM);
    K(ML_ERR_NETWORK), K(ML_ERR_NUMERIC), K(ML_ERR_UNSUPPORTED), K(ML_ERR_INTERRUPTED);
    K(ML_ERR_INTERNAL), K(ML_ERR_MSG_MAX), K(ML_MAX_DIMS);
    K(ML_PARAM_NO_DECAY), K(ML_PARAM_BUFFER), K(ML_PARAM_STRUCTURAL);
    K(ML_OPT_INT), K(ML_OPT_FLOAT), K(ML_OPT_BOOL), K(ML_OPT_STRING);
    K(ML_KIND_LAYER), K(ML_KIND_LOSS), K(ML_KIND_OPTIMIZER), K(ML_KIND_DATASET);
    K(ML_KIND_ROUTER), K(ML_KIND_TRANSFORM), K(ML_DTYPE_F32), K(ML_DTYPE_U8);
    K(ML_DTYPE_I16), K(ML_DTYPE_F16), K(ML_TRANSFORM_FLOAT), K(ML_LOG_DEBUG), K(ML_LOG_INFO), K(ML_LOG_WARN), K(ML_LOG_ERROR);

    S(ml_err, 'f'), F(ml_err, code), F(ml_err, msg);
    S(ml_shape, 'f'), F(ml_shape, ndim), F(ml_shape, dim);
    S(ml_view, 'f'), F(ml_view, data), F(ml_view, batch), F(ml_view, shape);
    S(ml_param, 'f'), F(ml_param, value), F(ml_param, grad), F(ml_param, numel);
    F(ml_param, shape), F(ml_param, flags), F(ml_param, id);
    S(ml_opt_spec, 'f'), F(ml_opt_spec, name), F(ml_opt_spec, type), F(ml_opt_spec, def);
    F(ml_opt_spec, doc), F(ml_opt_spec, choices);
    S(ml_data_info, 'f'), F(ml_data_info, size), F(ml_data_info, x_shape);
    F(ml_data_info, y_shape), F(ml_data_info, classes);
    S(ml_opt_slot, 'f'), F(ml_opt_slot, value), F(ml_opt_slot, grad), F(ml_opt_slot, state);
    F(ml_opt_slot, numel), F(ml_opt_slot, flags), F(ml_opt_slot, lr_scale);
    F(ml_opt_slot, decay_scale);
    S(ml_gradcheck_case, 'f'), F(ml_gradcheck_case, options), F(ml_gradcheck_case, in);
    F(ml_gradcheck_case, int_inputs);

    S(ml_entry, 'v'), HDR(ml_entry), F(ml_entry, kind), F(ml_entry, name);
    F(ml_entry, version), F(ml_entry, summary), F(ml_entry, options), F(ml_entry, vtable);
    F(ml_entry, extension);
    S(ml_layer_vtable, 'v'), HDR(ml_layer_vtable), F(ml_layer_vtable, create);
    F(ml_layer_vtable, destroy), F(ml_layer_vtable, infer_shape);
    F(ml_layer_vtable, workspace), F(ml_layer_vtable, forward);
    F(ml_layer_vtable, backward_input), F(ml_layer_vtable, backward_params);
    F(ml_layer_vtable, aux_loss), F(ml_layer_vtable, save), F(ml_layer_vtable, load);
    S(ml_loss_vtable, 'v'), HDR(ml_loss_vtable), F(ml_loss_vtable, create);
    F(ml_loss_vtable, destroy), F(ml_loss_vtable, forward);
    S(ml_optimizer_vtable, 'v'), HDR(ml_optimizer_vtable), F(ml_optimizer_vtable, create);
    F(ml_optimizer_vtable, destroy), F(ml_optimizer_vtable, state_size);
    F(ml_optimizer_vtable, step);
    S(ml_dataset_vtable, 'v'), HDR(ml_dataset_vtable), F(ml_dataset_vtable, open);
    F(ml_dataset_vtable, close), F(ml_dataset_vtable, info), F(ml_dataset_vtable, read);
    F(ml_dataset_vtable, raw_format), F(ml_dataset_vtable, read_raw);
    S(ml_transform_vtable, 'v'), HDR(ml_transform_vtable), F(ml_transform_vtable, create);
    F(ml_transform_vtable, destroy), F(ml_transform_vtable, flags);
    F(ml_transform_vtable, workspace), F(ml_transform_vtable, apply);
    S(ml_host, 'v'), HDR(ml_host), F(ml_host, register_entry), F(ml_host, alloc);
    F(ml_host, zalloc), F(ml_host, free), F(ml_host, error), F(ml_host, log);
    F(ml_host, opt_int), F(ml_host, opt_float), F(ml_host, opt_bool), F(ml_host, opt_str);
    F(ml_host, param_new), F(ml_host, rng_u64), F(ml_host, rng_uniform);
    F(ml_host, rng_normal), F(ml_host, is_training), F(ml_host, sgemm);
    S(ml_gradcheck_iface, 'v'), HDR(ml_gradcheck_iface), F(ml_gradcheck_iface, ncases);
    F(ml_gradcheck_iface, cases);

    S(ml_step_stats, 'l'), F(ml_step_stats, loss), F(ml_step_stats, aux_loss);
    F(ml_step_stats, correct), F(ml_step_stats, seen), F(ml_step_stats, steps);
    S(ml_gradcheck_result, 'l'), F(ml_gradcheck_result, max_rel_err_input);
    F(ml_gradcheck_result, max_rel_err_params), F(ml_gradcheck_result, max_rel_err_aux);
    F(ml_gradcheck_result, checked);
    K(ML_CHECK_FORK), K(ML_CHECK_PASS), K(ML_CHECK_FAIL), K(ML_CHECK_SKIP);
}

static void print_line(FILE *f, const line *l)
{
    switch (l->what) {
    case 'a': fprintf(f, "abi %lld %lld\n", l->a, l->b); break;
    case 'c': fprintf(f, "const %s %lld\n", l->fname, l->a); break;
    case 's':
        fprintf(f, "struct %s %s %lld\n", l->sname,
                l->kind == 'v' ? "versioned" : l->kind == 'f' ? "frozen" : "library", l->a);
        break;
    case 'f': fprintf(f, "field %s %s %lld %lld\n", l->sname, l->fname, l->a, l->b); break;
    }
}

static line old[512];
static int nold;

static int load(const char *path)
{
    char buf[256], a[64], b[64], c[64];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(buf, sizeof buf, f) && nold < 512) {
        line *l = &old[nold];
        long long x, y;
        memset(l, 0, sizeof *l);
        if (sscanf(buf, "abi %lld %lld", &x, &y) == 2)
            l->what = 'a', l->a = x, l->b = y;
        else if (sscanf(buf, "const %63s %lld", a, &x) == 2)
            l->what = 'c', snprintf(l->fname, sizeof l->fname, "%s", a), l->a = x;
        else if (sscanf(buf, "struct %63s %63s %lld", a, b, &x) == 3)
            l->what = 's', l->kind = b[0] == 'v' ? 'v' : b[0] == 'f' ? 'f' : 'l',
            snprintf(l->sname, sizeof l->sname, "%s", a), l->a = x;
        else if (sscanf(buf, "field %63s %63s %lld %lld", a, c, &x, &y) == 4)
            l->what = 'f', snprintf(l->sname, sizeof l->sname, "%s", a),
            snprintf(l->fname, sizeof l->fname, "%s", c), l->a = x, l->b = y;
        else
            continue;   /* comments */
        nold++;
    }
    fclose(f);
    return 0;
}

static const line *find(const line *set, int n, char what, const char *s, const char *f)
{
    for (int i = 0; i < n; i++)
        if (set[i].what == what && !strcmp(set[i].sname, s) && !strcmp(set[i].fname, f))
            return &set[i];
    return NULL;
}

static int nbreak, nappend, nlib;

static void note(char sev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(char sev, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nbreak += sev == 'b';
    nappend += sev == 'a';
    nlib += sev == 'l';
    printf("#   %s: %s\n", sev == 'b' ? "BREAK" : sev == 'a' ? "append" : "library", msg);
}

static void compare(void)
{
    for (int i = 0; i < nold; i++) {
        const line *o = &old[i], *n;
        if (o->what == 'c') {
            n = find(cur, ncur, 'c', "", o->fname);
            if (!n)
                note('b', "constant %s removed", o->fname);
            else if (n->a != o->a)
                note('b', "constant %s changed from %lld to %lld", o->fname, o->a, n->a);
        } else if (o->what == 's') {
            n = find(cur, ncur, 's', o->sname, "");
            char sev = o->kind == 'l' ? 'l' : 'b';
            if (!n) {
                note(sev, "struct %s removed", o->sname);
                continue;
            }
            if (n->a == o->a)
                continue;
            if (o->kind != 'v') {
                note(sev, "%s struct %s changed size from %lld to %lld bytes",
                     o->kind == 'f' ? "frozen" : "library", o->sname, o->a, n->a);
                continue;
            }
            if (n->a < o->a) {
                note('b', "versioned struct %s shrank from %lld to %lld bytes", o->sname,
                     o->a, n->a);
                continue;
            }
            int grew = 0;
            for (int j = 0; j < ncur; j++)
                if (cur[j].what == 'f' && !strcmp(cur[j].sname, o->sname) &&
                    !find(old, nold, 'f', o->sname, cur[j].fname)) {
                    if (cur[j].a >= o->a)
                        note('a', "%s.%s appended at offset %lld", o->sname, cur[j].fname,
                             cur[j].a);
                    else
                        note('b', "%s.%s inserted at offset %lld, inside the old layout "
                             "(append at the end instead)", o->sname, cur[j].fname, cur[j].a);
                    grew = 1;
                }
            if (!grew)
                note('a', "%s grew from %lld to %lld bytes but tests/abi/abi_record.c lists "
                     "no new field: add it there", o->sname, o->a, n->a);
        } else if (o->what == 'f') {
            const line *st = find(old, nold, 's', o->sname, "");
            char sev = st && st->kind == 'l' ? 'l' : 'b';
            n = find(cur, ncur, 'f', o->sname, o->fname);
            if (!n)
                note(sev, "field %s.%s removed or renamed", o->sname, o->fname);
            else if (n->a != o->a || n->b != o->b)
                note(sev, "field %s.%s moved or retyped: offset %lld size %lld -> offset %lld "
                     "size %lld", o->sname, o->fname, o->a, o->b, n->a, n->b);
        }
    }
    for (int j = 0; j < ncur; j++) {
        const line *n = &cur[j];
        if (n->what == 'c' && !find(old, nold, 'c', "", n->fname))
            note('a', "new constant %s = %lld", n->fname, n->a);
        if (n->what == 's' && !find(old, nold, 's', n->sname, ""))
            note(n->kind == 'l' ? 'l' : 'a', "new struct %s", n->sname);
        if (n->what == 'f') {
            const line *st = find(old, nold, 's', n->sname, "");
            if (st && st->kind == 'f' && !find(old, nold, 'f', n->sname, n->fname))
                note('b', "field %s.%s added to a frozen struct", n->sname, n->fname);
        }
    }
}

int main(int argc, char **argv)
{
    build();
    if (argc < 2) {
        printf("# modlab ABI record: sizes and offsets of the public structs and the values\n"
               "# of the public constants, as built by tests/abi/abi_record.c. Compared in\n"
               "# `make check`; regenerate with `make abi-record` after bumping the ABI.\n");
        for (int i = 0; i < ncur; i++)
            print_line(stdout, &cur[i]);
        return 0;
    }
    if (load(argv[1]) != 0 || nold == 0) {
        printf("not ok 1 - cannot read the ABI record %s\n1..1\n", argv[1]);
        return 1;
    }
    const line *ov = find(old, nold, 'a', "", "");
    long long omaj = ov ? ov->a : -1, omin = ov ? ov->b : -1;
    compare();
    if (!nbreak && !nappend && !nlib && omaj == ML_ABI_MAJOR && omin == ML_ABI_MINOR) {
        printf("ok 1 - the public ABI matches %s (ABI %d.%d, %d records)\n1..1\n", argv[1],
               ML_ABI_MAJOR, ML_ABI_MINOR, ncur);
        return 0;
    }
    printf("not ok 1 - the public ABI differs from %s (recorded ABI %lld.%lld, headers "
           "%d.%d)\n", argv[1], omaj, omin, ML_ABI_MAJOR, ML_ABI_MINOR);
    if (nbreak && ML_ABI_MAJOR == omaj)
        printf("# This is a BREAKING change of the plugin ABI: every plugin would have to be "
               "rebuilt.\n# Undo it, or bump ML_ABI_MAJOR (to %lld, and ML_ABI_MINOR to 0) in "
               "core/include/modlab/plugin.h,\n# document it in docs/PLUGINS.md, then run "
               "`make abi-record` and commit tests/abi/abi-record.txt.\n", omaj + 1);
    else if (nappend && !nbreak && ML_ABI_MAJOR == omaj && ML_ABI_MINOR == omin)
        printf("# Fields or names were APPENDED: old plugins keep working, but plugins built "
               "now may use them.\n# Bump ML_ABI_MINOR (to %lld) in "
               "core/include/modlab/plugin.h, document the addition in docs/PLUGINS.md,\n"
               "# then run `make abi-record` and commit tests/abi/abi-record.txt.\n",
               omin + 1);
    else if (nlib && !nbreak && !nappend && ML_ABI_MAJOR == omaj && ML_ABI_MINOR == omin)
        printf("# Only libmodlab's C API structs changed (not the plugin ABI): update "
               "MODLAB_LT_VERSION in configure.ac\n# by libtool's rules, then run `make "
               "abi-record` and commit tests/abi/abi-record.txt.\n");
    else
        printf("# The ABI version was bumped (%lld.%lld -> %d.%d): run `make abi-record` and "
               "commit tests/abi/abi-record.txt.\n", omaj, omin, ML_ABI_MAJOR, ML_ABI_MINOR);
    printf("1..1\n");
    return 1;
}
