/* SPDX-License-Identifier: MIT */
/* nn_expf (plugins/nn/nn_common.h, the exp of softmax and cross-entropy) against libm's
 * double exp: within the documented relative error on every 61st float in [-87.3, 0] and a
 * sweep up to 88, exactly 0 below ln(FLT_MIN), NaN for NaN; and the vectorised sums against
 * a plain double loop. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "../../../../plugins/nn/nn_common.h"
#include "tap.h"

/* The bound nn_common.h documents; the sweep measures just under it. */
#define MAX_REL 1e-7

static double rel_err(float x)
{
    double want = exp((double)x);
    return fabs((double)nn_expf(x) - want) / want;
}

int main(void)
{
    const float lo = -87.33654475f;
    double worst = 0.0;
    float worst_x = 0.0f;
    int64_t n = 0;
    /* Every 61st float from -0 down to lo (all 1.1e9 would take seconds): ~1.8e7 points,
     * ~1.4e5 in each binade, an odd stride so they fall on every position in the ulp. */
    for (uint32_t b = 0x80000000u; ; b += 61) {
        float x;
        memcpy(&x, &b, sizeof x);
        if (!(x >= lo))
            break;
        double e = rel_err(x);
        if (e > worst)
            worst = e, worst_x = x;
        n++;
    }
    for (float x = 0.0f; x <= 88.0f; x += 1.0f / 4096)
        if (rel_err(x) > worst)
            worst = rel_err(x), worst_x = x;
    tap_diag("max relative error %.3g at x = %.9g over %lld points", worst, (double)worst_x,
         (long long)n);
    ok(worst <= MAX_REL, "nn_expf within %.2g of exp on [ln FLT_MIN, 88]", MAX_REL);
    ok(worst > 0.0, "and not exact everywhere (the sweep reached the polynomial)");

    int zero = 1;
    for (float x = nextafterf(lo, -INFINITY); x > -1e4f; x = x * 1.001f - 0.01f)
        zero &= nn_expf(x) == 0.0f;
    ok(zero && nn_expf(-INFINITY) == 0.0f && nn_expf(-FLT_MAX) == 0.0f,
       "exactly 0 below ln(FLT_MIN), and for -inf");
    ok(nn_expf(0.0f) == 1.0f, "e^0 is exactly 1 (a softmax's largest term)");
    ok(isnan(nn_expf(NAN)), "NaN stays NaN");

    /* The eight-lane sums against a double loop, at a length with a tail. */
    static float z[10003], y[10003];
    double want = 0.0;
    for (int i = 0; i < 10003; i++)
        z[i] = (float)((i * 7919) % 2000) / 100.0f - 20.0f;
    float mx = ml_maxf(z, 10003);
    for (int i = 0; i < 10003; i++)
        want += exp((double)z[i] - mx);
    double got = nn_exp_shifted(z, y, 10003, mx);
    ok(fabs(got - want) <= 1e-6 * want, "nn_exp_shifted sums within 1e-6 (%.9g vs %.9g)",
       got, want);
    ok(nn_exp_shifted(z, NULL, 10003, mx) == got, "without storing the terms, the same sum");
    ok(y[10002] == nn_expf(z[10002] - mx) && y[5] == nn_expf(z[5] - mx),
       "and stores the terms, the tail's too");
    return done_testing();
}
