/* SPDX-License-Identifier: MIT */
/* Walks the registry: every layer is gradient-checked with the cases it declares through
 * the modlab.gradcheck/1 interface (or defaults); every loss's gradient is checked too.
 * A new layer is covered without writing a new test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/registry.h"
#include "base/rng.h"
#include "tap.h"

static const double TOL = 1e-2;

static void check_layer(ml_registry *reg, const ml_reg_entry *re)
{
    const char *name = re->entry.name;
    const ml_gradcheck_iface *gi =
        re->entry.extension ? re->entry.extension(ML_IFACE_GRADCHECK) : NULL;
    static const ml_gradcheck_case fallback = {"", {1, {5}}, 0};
    const ml_gradcheck_case *cases = gi ? gi->cases : &fallback;
    int32_t n = gi ? gi->ncases : 1;
    for (int32_t c = 0; c < n; c++) {
        ml_gradcheck_result res;
        ml_err err;
        int rc = ml_gradcheck_layer(reg, name, cases[c].options, &cases[c].in,
                                    cases[c].int_inputs, 1234 + c, &res, &err);
        if (!ok(rc == 0, "%s [%s] runs", name, cases[c].options)) {
            tap_diag("  %s%s", err.msg, gi ? "" : " (the layer declares no modlab.gradcheck/1 "
                     "cases; give it some)");
            continue;
        }
        ok(res.max_rel_err_input < TOL, "%s [%s] input gradient (max rel err %.2e)", name,
           cases[c].options, res.max_rel_err_input);
        ok(res.max_rel_err_params < TOL, "%s [%s] parameter gradient (max rel err %.2e)",
           name, cases[c].options, res.max_rel_err_params);
        if (res.max_rel_err_aux >= 0)
            ok(res.max_rel_err_aux < TOL, "%s [%s] aux-loss gradient (max rel err %.2e)",
               name, cases[c].options, res.max_rel_err_aux);
        ok(res.checked > 0 || (res.max_rel_err_input < 0 && res.max_rel_err_params < 0),
           "%s [%s] compared %lld coordinates", name, cases[c].options,
           (long long)res.checked);
    }
}

/* Loss gradient by central differences on random predictions and valid targets. */
static void check_loss(const ml_reg_entry *re)
{
    const ml_host *h = mli_host_table();
    ml_shape pred = {1, {5}}, tgt = {0, {0}};
    enum { B = 3, C = 5 };
    float p[B * C], g[B * C], y[B * C];
    void *self = NULL;
    ml_err err;
    ml_opts *o = ml_opts_new(&err);
    ml_rng r;
    mli_rng_init(&r, 99, 1);
    mli_rng_fill_uniform(&r, p, B * C, -2, 2);
    int rc = ml_opts_validate(o, re->entry.options, re->entry.name, &err);
    /* Class-id targets first; a loss that rejects them gets regression targets. */
    for (int i = 0; i < B; i++)
        y[i] = (float)(i % C);
    if (!rc && re->vt.loss.create(h, o, &pred, &tgt, &self, &err) != 0) {
        tgt = pred;
        mli_rng_fill_uniform(&r, y, B * C, 0, 1);
        rc = re->vt.loss.create(h, o, &pred, &tgt, &self, &err);
    }
    if (!ok(rc == 0, "loss %s creates for predictions {5}", re->entry.name)) {
        tap_diag("  %s", err.msg);
        ml_opts_free(o);
        return;
    }
    ml_view pv = {p, B, pred}, tv = {y, B, tgt}, gv = {g, B, pred};
    double L, hi, lo, worst = 0;
    re->vt.loss.forward(self, &pv, &tv, &L, &gv, &err);
    for (int i = 0; i < B * C; i++) {
        float keep = p[i];
        p[i] = keep + 1e-3f;
        re->vt.loss.forward(self, &pv, &tv, &hi, NULL, &err);
        p[i] = keep - 1e-3f;
        re->vt.loss.forward(self, &pv, &tv, &lo, NULL, &err);
        p[i] = keep;
        double num = (hi - lo) / 2e-3, e = fabs(num - g[i]) / fmax(1.0, fabs(num));
        worst = e > worst ? e : worst;
    }
    ok(worst < TOL, "loss %s gradient (max rel err %.2e)", re->entry.name, worst);
    re->vt.loss.destroy(self);
    ml_opts_free(o);
}

int main(void)
{
    ml_err err;
    ml_registry *reg = ml_registry_new(&err);
    const char *dir = getenv("MODLAB_PLUGIN_PATH");
    int layers = 0;
    ml_registry_load_default(reg, dir, &err);
    for (int32_t i = 0; i < ml_registry_nwarnings(reg); i++)
        tap_diag("warning: %s", ml_registry_warning(reg, i));
    for (int32_t i = 0; i < ml_registry_count(reg); i++) {
        const ml_reg_entry *re = mli_registry_get(reg, i);
        if (re->entry.kind == ML_KIND_LAYER) {
            check_layer(reg, re);
            layers++;
        } else if (re->entry.kind == ML_KIND_LOSS) {
            check_loss(re);
        }
    }
    ok(layers >= 2, "found %d layers to check", layers);
    ml_registry_free(reg);
    is_int(ml_mem_live_blocks(), 0, "no memory left allocated");
    return done_testing();
}
