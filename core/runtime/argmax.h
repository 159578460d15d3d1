/* SPDX-License-Identifier: MIT */
/* The argmax of a row of class scores, for the trainer's accuracy count; a header of its own
 * so tests/unit/core/runtime/test_argmax.c can hold it against the plain scan. */
#ifndef MODLAB_RUNTIME_ARGMAX_H
#define MODLAB_RUNTIME_ARGMAX_H

#include <stdint.h>

#include <modlab/plugin.h>   /* ml_maxf */

/* The index a scan keeping `p[c] > p[best]` from best = 0 picks: the first of tied maxima,
 * NaNs never winning, and 0 when p[0] is NaN (nothing compares greater). That scan is a
 * load-compare-select chain per element (it was 29% of the language model's profile at
 * 10,000 classes), so this finds the same index in two passes that vectorise: the max in
 * eight lanes (ml_maxf: `a > m ? a : m` ignores NaN as the scan does, and a NaN p[0] stays
 * the max), then the first element equal to it, eight at a time. */
static inline int32_t ml_argmax_first(const float *p, int32_t n)
{
    const float mx = ml_maxf(p, n);
    int32_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        int hit = 0;
        for (int k = 0; k < 8; k++)
            hit |= p[i + k] == mx;
        if (hit)
            break;
    }
    for (; i < n; i++)
        if (p[i] == mx)
            return i;
    return 0;   /* p[0] is NaN */
}

#endif
