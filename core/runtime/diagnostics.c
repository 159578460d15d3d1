/* SPDX-License-Identifier: MIT */
/* The host side of "modlab.diagnostics/1": layers tally what they did during a pass (routing
 * weights, module use) and report it as JSON; the host resets, feeds targets, and gathers
 * the reports into one object keyed by layer, checked to be JSON before it reaches a file. */
#include <string.h>

#include "base/err.h"
#include "formats/json.h"
#include "base/mem.h"
#include "runtime/model.h"

const ml_diagnostics_iface *mli_diag_iface_of(const ml_entry *e)
{
    const ml_diagnostics_iface *d = e->extension ? e->extension(ML_IFACE_DIAGNOSTICS) : NULL;
    if (!d || d->abi_major != ML_ABI_MAJOR ||
        !ML_HAS_FIELD(d, ml_diagnostics_iface, report) || !d->reset || !d->report)
        return NULL;
    return d;
}

void ml_model_diag_reset(ml_model *m)
{
    for (int32_t i = 0; i < m->n; i++)
        if (m->layers[i].diag)
            m->layers[i].diag->reset(m->layers[i].self);
}

void mli_model_diag_observe(ml_model *m, const float *targets, int32_t batch,
                           int32_t target_numel)
{
    for (int32_t i = 0; i < m->n; i++)
        if (m->layers[i].diag && m->layers[i].diag->observe)
            m->layers[i].diag->observe(m->layers[i].self, targets, batch, target_numel);
}

/* One layer's report in a host buffer, grown to what the layer says it needs. */
static int report_of(ml_layer_slot *l, int32_t i, ml_jbuf *out, ml_err *err)
{
    char small[4096], *text = small;
    size_t need = l->diag->report(l->self, small, sizeof small);
    ml_json_doc *doc;
    int rc = ML_OK;
    if (need >= sizeof small) {
        if (!(text = mli_alloc(need + 1)))
            return mli_error(err, ML_ERR_NOMEM, "diagnostics: out of memory");
        need = l->diag->report(l->self, text, need + 1);
    }
    if (!(doc = mli_json_parse(text, strnlen(text, need), NULL, NULL, err)))
        rc = mli_error_prefix(err, "layer %d (%s): its diagnostics report is not valid JSON",
                             i + 1, l->entry.name);
    else if (mli_json_root(doc)->type != ML_JSON_OBJECT)
        rc = mli_error(err, ML_ERR_FORMAT, "layer %d (%s): its diagnostics report must be a "
                      "JSON object, not %s", i + 1, l->entry.name,
                      mli_json_type_name(mli_json_root(doc)->type));
    else {
        mli_jbuf_printf(out, "%s\"%d.%s\":", out->len > 1 ? "," : "", i + 1, l->entry.name);
        mli_jbuf_putn(out, text, strnlen(text, need));
    }
    mli_json_free(doc);
    if (text != small)
        mli_free(text);
    return rc;
}

const char *ml_model_diagnostics(ml_model *m, ml_err *err)
{
    ml_jbuf *b = &m->diag_text;
    int any = 0;
    mli_jbuf_free(b);
    mli_jbuf_init(b);
    mli_jbuf_puts(b, "{");
    for (int32_t i = 0; i < m->n; i++) {
        if (!m->layers[i].diag)
            continue;
        any = 1;
        if (report_of(&m->layers[i], i, b, err))
            return NULL;
    }
    mli_jbuf_puts(b, "}");
    if (mli_jbuf_finish(b, "diagnostics", err))
        return NULL;
    return any ? b->data : "";
}
