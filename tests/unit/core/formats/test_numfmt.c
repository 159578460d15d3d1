/* SPDX-License-Identifier: MIT */
/* Unit tests of core/formats/numfmt.c: ml_format_double gives text that strtod reads back to
 * the same bits, and no shorter text would; edge values; a buffer too small is refused. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "tap.h"

static int same_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

/* Round trip, and no precision below the one used reads back. */
static void check(double v, const char *want)
{
    char buf[64];
    int n = ml_format_double(buf, sizeof buf, v);
    is_str(buf, want, "prints as the shortest text");
    is_int(n, (int)strlen(want), "  and its length is returned");
    ok(same_bits(strtod(buf, NULL), v), "  '%s' reads back to the same bits", buf);
    int digits = 0;
    for (const char *p = buf; *p && *p != 'e'; p++)
        digits += (*p >= '0' && *p <= '9');
    char shorter[512]; /* gcc cannot see that d <= 17 bounds %g */
    int shorter_reads_back = 0;
    for (int d = 1; d < digits; d++) {
        snprintf(shorter, sizeof shorter, "%.*g", d, v);
        shorter_reads_back |= strtod(shorter, NULL) == v && strlen(shorter) < strlen(buf);
    }
    ok(!shorter_reads_back, "  no shorter %%g text reads back");
}

int main(void)
{
    check(0.1, "0.1");
    check(0.05, "0.05");
    check(3.0, "3");
    check(-0.0, "-0");
    check(1e21, "1e+21");
    check(1e-300, "1e-300");
    check(5e-324, "5e-324");
    check(1.7976931348623157e308, "1.7976931348623157e+308");
    check(0.1 + 0.2, "0.30000000000000004");
    check(1.0 / 3.0, "0.3333333333333333");
    check(123456789.0, "123456789");
    check(2.5e-3, "0.0025");

    char buf[64];
    is_int(ml_format_double(buf, sizeof buf, NAN), 3, "NaN has a length");
    is_str(buf, "nan", "NaN prints as nan");
    ml_format_double(buf, sizeof buf, -INFINITY);
    is_str(buf, "-inf", "-Inf prints as -inf");
    ml_format_double(buf, sizeof buf, INFINITY);
    is_str(buf, "inf", "Inf prints as inf");

    char small[4];
    is_int(ml_format_double(small, sizeof small, 0.05), -1, "a buffer too small is refused");
    is_int(ml_format_double(small, sizeof small, 0.5), 3, "a buffer just big enough is used");
    is_str(small, "0.5", "  and holds the text");
    is_int(ml_format_double(NULL, 0, 1.0), -1, "no buffer is refused");
    return done_testing();
}
