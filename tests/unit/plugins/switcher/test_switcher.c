/* SPDX-License-Identifier: MIT */
/* switcher gradients over many seeds. The registry walk checks each
 * declared case at one seed; here every case runs at 12 seeds. The gates, the U-Net's ReLUs
 * and max pools are piecewise linear, and batch norm over a few pixels magnifies the
 * check's 1e-3 step, so an occasional seed straddles a kink and shows a large error for
 * that reason alone. A wrong backward pass fails (nearly) every seed, so: at least 9 of 12
 * seeds must be within the registry's tolerance (1e-2), for the input gradient and for the
 * parameter gradient (which includes dL/dW through the U-Net's path: without that term
 * the parameter check passes at 0-1 of 12 seeds).
 * switcher_unet alone (an image straight into the objective, so the U-Net's kinks weigh
 * fully) straddles a kink at most seeds with the 1e-3 step; it is checked by the registry
 * walk at its declared cases only (with a 1e-4 step it passes at nearly every seed, but the
 * step is the core's). */
#include <string.h>

#include "runtime/model.h"
#include "runtime/registry.h"
#include "tap.h"

enum { SEEDS = 12, NEED = 9 };

static void check(ml_registry *reg, const char *layer, const char *opts, ml_shape in)
{
    int good_in = 0, good_par = 0, ran = 0;
    for (uint64_t s = 0; s < SEEDS; s++) {
        ml_gradcheck_result res;
        ml_err err = {0};
        if (ml_gradcheck_layer(reg, layer, opts, &in, 0, 100 + s, &res, &err)) {
            tap_diag("%s [%s] seed %d: %s", layer, opts, (int)s, err.msg);
            continue;
        }
        ran++;
        good_in += res.max_rel_err_input < 1e-2;
        good_par += res.max_rel_err_params < 1e-2;
    }
    ok(ran == SEEDS && good_in >= NEED && good_par >= NEED,
       "%s [%s]: input gradient right at %d/%d seeds, parameters at %d/%d", layer, opts,
       good_in, SEEDS, good_par, SEEDS);
}

int main(void)
{
    ml_err err = {0};
    ml_registry *reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, ML_ABS_BUILDDIR "/build-plugins", &err)) {
        printf("Bail out! registry: %s\n", err.msg);
        return 1;
    }
    check(reg, "switcher", "out=4 depth=1 base_channels=2", (ml_shape){1, {6}});
    check(reg, "switcher", "out=5 depth=2 base_channels=2", (ml_shape){1, {7}});
    check(reg, "switcher", "out=3 gate=connections depth=2 base_channels=2",
          (ml_shape){1, {7}});
    check(reg, "switcher", "out=4 wrap=conv2d kernel=2 depth=1 base_channels=2",
          (ml_shape){3, {2, 4, 4}});
    check(reg, "switcher", "out=4 wrap=conv2d kernel=2 gate=connections depth=1 "
          "base_channels=2", (ml_shape){3, {2, 4, 4}});
    ml_registry_free(reg);
    return done_testing();
}
