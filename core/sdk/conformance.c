/* SPDX-License-Identifier: MIT */
/* The plugin conformance suite (`modlab plugin check`) over one plugin file: load it,
 * init it twice, then run the common and the per-kind checks on each entry it registers. */
#include "sdk/conformance_impl.h"

/* ---- the file as a whole ---------------------------------------------------------- */

const char *mli_conf_base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void mli_conf_run_checks(sink *s, const char *file, const char *deps)
{
    const char *fid = mli_conf_base_name(file);
    ml_err err;
    ml_registry *reg = NULL;
    mli_conf_begin(s, fid, "load");
    if (!(reg = ml_registry_new(&err))) {
        mli_conf_emit(s, ML_CHECK_FAIL, fid, "load", "%s", err.msg);
        return;
    }
    const char *prev = mli_check_call_enter("plugin init");
    int lrc = ml_registry_load_file(reg, file, &err);
    mli_check_call_leave(prev);
    if (lrc) {
        mli_conf_emit(s, ML_CHECK_FAIL, fid, "load", "%s", err.msg);
        ml_registry_free(reg);
        return;
    }
    int32_t n = ml_registry_count(reg);
    if (n == 0) {
        mli_conf_emit(s, ML_CHECK_FAIL, fid, "load", "init succeeded but registered no entry; call "
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
    mli_conf_emit(s, ML_CHECK_PASS, fid, "load", "%d entr%s: %s", n, n == 1 ? "y" : "ies", names);

    /* A second init into another registry: same entries, and nothing left behind. */
    mli_conf_begin(s, fid, "reload");
    int64_t blocks = ml_mem_live_blocks();
    ml_registry *r2 = ml_registry_new(&err);
    prev = mli_check_call_enter("plugin init (a second time)");
    int rc = r2 ? ml_registry_load_file(r2, file, &err) : err.code;
    mli_check_call_leave(prev);
    int same = !rc && ml_registry_count(r2) == n;
    for (int32_t i = 0; same && i < n; i++)
        same = !strcmp(ml_registry_entry(r2, i)->name, ml_registry_entry(reg, i)->name);
    ml_registry_free(r2);
    if (rc)
        mli_conf_emit(s, ML_CHECK_FAIL, fid, "reload", "a second init failed: %s; init must not "
                     "depend on having run before", err.msg);
    else if (!same)
        mli_conf_emit(s, ML_CHECK_FAIL, fid, "reload", "a second init registered other "
                     "entries; register the same entries every time");
    else if (ml_mem_live_blocks() != blocks)
        mli_conf_emit(s, ML_CHECK_FAIL, fid, "reload", "init left %lld block(s) allocated; init "
                     "must not allocate (entries, vtables and schemas are static const data)",
                     (long long)(ml_mem_live_blocks() - blocks));
    else
        mli_conf_emit(s, ML_CHECK_PASS, fid, "reload", "a second init registers the same "
                     "entries and allocates nothing");

    if (deps && *deps)
        ml_registry_load_default(reg, deps, &err);   /* warnings only */
    for (int32_t i = 0; i < n; i++) {
        ck c;
        c.s = s;
        c.reg = reg;
        c.idx = i;
        c.re = mli_registry_get(reg, i);
        snprintf(c.id, sizeof c.id, "%s/%s", ml_kind_name(c.re->entry.kind), c.re->entry.name);
        /* The registry's copy is host storage: wrapping it names every call in a crash. */
        mli_check_wrap((ml_reg_entry *)c.re);
        mli_conf_check_abi(&c);
        mli_conf_check_options(&c);
        switch (c.re->entry.kind) {
        case ML_KIND_LAYER: mli_conf_check_layer(&c); break;
        case ML_KIND_LOSS: mli_conf_check_loss(&c); break;
        case ML_KIND_OPTIMIZER: mli_conf_check_optimizer(&c); break;
        case ML_KIND_DATASET: mli_conf_check_dataset(&c); break;
        case ML_KIND_TRANSFORM: mli_conf_check_transform(&c); break;
        default: break;
        }
        mli_check_unwrap((ml_reg_entry *)c.re);
    }
    ml_registry_free(reg);
}
