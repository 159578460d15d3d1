/* SPDX-License-Identifier: MIT */
/* The argmax of a row of class scores, for the trainer's accuracy count; a header of its own
 * so tests/unit/core/runtime/test_argmax.c can hold it against the plain scan. */
#ifndef MODLAB_RUNTIME_ARGMAX_H
#define MODLAB_RUNTIME_ARGMAX_H

#include <stdint.h>

/* The index a scan keeping `p[c] > p[best]` from best = 0 picks: the first of tied maxima,
 * NaNs never winning, and 0 when p[0] is NaN (nothing compares greater). That scan is a
 * load-compare-select chain per element (it was 29% of the language model's profile at
 * 10,000 classes), so this finds the same index in two passes that vectorise: the max in
 * eight lanes (`a > m ? a : m` ignores NaN as the scan does, and a NaN p[0] stays the max),
 * then the first element equal to it, eight at a time. */
static inline int32_t ml_argmax_first(const float *p, int32_t n)
{
    float lane[8];
    int32_t i = 0;
    for (int k = 0; k < 8; k++)
        lane[k] = p[0];
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            lane[k] = p[i + k] > lane[k] ? p[i + k] : lane[k];
    float mx = lane[0];
    for (int k = 1; k < 8; k++)
        mx = lane[k] > mx ? lane[k] : mx;
    for (; i < n; i++)
        mx = p[i] > mx ? p[i] : mx;
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
