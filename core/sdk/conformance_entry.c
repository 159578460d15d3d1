/* SPDX-License-Identifier: MIT */
/* The checks every entry gets, whatever its kind: ABI, options, and leaks (a create/use/
 * destroy cycle, then create under every injected allocation failure). */
#include "sdk/conformance_impl.h"

int mli_conf_has_required(const ml_opt_spec *s)
{
    for (; s && s->name; s++)
        if (!s->def)
            return 1;
    return 0;
}

const ml_gradcheck_iface *mli_conf_gradcheck_iface(const ml_reg_entry *re)
{
    return re->entry.extension ? re->entry.extension(ML_IFACE_GRADCHECK) : NULL;
}

/* The entry's options, defaults filled in and validated: what create or open is given. The
 * caller frees *out, which may be NULL when this fails. */
int mli_conf_entry_opts(ck *c, ml_opts **out, ml_err *err)
{
    *out = ml_opts_new(err);
    return *out ? ml_opts_validate(*out, c->re->entry.options, c->id, err) : ML_ERR_NOMEM;
}

/* Create an optimizer or open a dataset (the two have one signature) with those options. */
int mli_conf_open(ck *c, ml_conf_open_fn fn, void **self, ml_err *err)
{
    ml_opts *o;
    int rc = mli_conf_entry_opts(c, &o, err);
    if (!rc)
        rc = fn(mli_host_table(), o, self, err);
    ml_opts_free(o);
    return rc;
}

void mli_conf_check_abi(ck *c)
{
    const ml_entry *e = &c->re->entry;
    const ml_entry *vh = (const ml_entry *)&c->re->vt;   /* the vtable's copied header */
    mli_conf_begin(c->s, c->id, "abi");
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
    const ml_gradcheck_iface *gi = mli_conf_gradcheck_iface(c->re);
    if (gi) {
        /* A transform's cases are what its conformance check applies (options, shape). */
        if (e->kind != ML_KIND_LAYER && e->kind != ML_KIND_TRANSFORM) {
            FAIL(c, "abi", "%s only applies to layers and transforms", ML_IFACE_GRADCHECK);
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

void mli_conf_check_options(ck *c)
{
    const ml_opt_spec *s = c->re->entry.options;
    char req[128] = "";
    size_t used = 0;
    int n = 0;
    mli_conf_begin(c->s, c->id, "options");
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

void mli_conf_check_leaks(ck *c, life_fn life, const void *arg)
{
    ml_err err;
    int64_t blocks = ml_mem_live_blocks(), bytes = ml_mem_live_bytes();
    int rc;
    mli_conf_begin(c->s, c->id, "leaks");
    mli_err_clear(&err);
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
        mli_err_clear(&err);
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
