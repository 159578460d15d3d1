/* SPDX-License-Identifier: MIT */
/* numfmt.c: the one "shortest text that reads back as the same double" of modlab. JSON
 * writers, the sweep planner and Lua (through the FFI) all print numbers with it, so a
 * value such as 0.05 is written "0.05" everywhere, never "0.050000000000000003". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

int ml_format_double(char *buf, size_t cap, double v)
{
    if (!buf || cap == 0)
        return -1;
    if (isnan(v))
        return snprintf(buf, cap, "nan") < (int)cap ? 3 : -1;
    if (isinf(v))
        return snprintf(buf, cap, "%s", v < 0 ? "-inf" : "inf") < (int)cap ? (v < 0 ? 4 : 3)
                                                                            : -1;
    /* %.17g always reads back (IEEE-754 doubles need at most 17 significant digits); the
     * first precision that reads back is the shortest, since %g drops trailing zeros. */
    char tmp[32];
    int n = 0;
    for (int digits = 1; digits <= 17; digits++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", digits, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    if (n < 0 || (size_t)n >= cap)
        return -1;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}
