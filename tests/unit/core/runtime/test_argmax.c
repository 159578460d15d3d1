/* SPDX-License-Identifier: MIT */
/* ml_argmax_first (the trainer's accuracy count) against the scan it replaced, on rows built
 * to hit its edges: ties (the first must win), +0 against -0, NaNs anywhere and at p[0],
 * infinities, and lengths around the eight-lane blocks. Any difference changes accuracies
 * in every run's metrics. */
#include <math.h>
#include <stdlib.h>

#include "runtime/argmax.h"
#include "tap.h"

static int32_t scan(const float *p, int32_t n)
{
    int32_t best = 0;
    for (int32_t c = 1; c < n; c++)
        if (p[c] > p[best])
            best = c;
    return best;
}

int main(void)
{
    static const float vals[] = { 0.0f, -0.0f, 1.0f, -1.0f, 2.5f, NAN, INFINITY, -INFINITY };
    float row[40];
    int bad = 0, rows = 0;
    srand(7);
    for (int32_t n = 1; n <= 40; n++)
        for (int trial = 0; trial < 2000; trial++, rows++) {
            /* Few distinct values, so ties and NaNs are common. */
            for (int32_t i = 0; i < n; i++)
                row[i] = vals[rand() % (trial % 3 == 0 ? 8 : 5)];
            int32_t want = scan(row, n), got = ml_argmax_first(row, n);
            if (want != got && bad++ < 5)
                tap_diag("n %d trial %d: scan %d, argmax %d", n, trial, want, got);
        }
    ok(bad == 0, "argmax equals the scan on %d rows (%d differ)", rows, bad);

    /* A long row like the language model's: the maximum late, tied twice. */
    static float big[10000];
    for (int i = 0; i < 10000; i++)
        big[i] = (float)((i * 7919) % 1000) / 1000.0f;
    big[6001] = big[9998] = 3.0f;
    is_int(ml_argmax_first(big, 10000), 6001, "10,000 classes: the first of two tied maxima");
    big[0] = NAN;
    is_int(ml_argmax_first(big, 10000), 0, "NaN at p[0]: 0, as the scan gives");
    return done_testing();
}
