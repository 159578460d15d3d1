/* SPDX-License-Identifier: MIT */
/* The modular layer's small-row kernel (plugins/modular/modular_gemm*.c, compiled into
 * this test) against a double-precision reference, shape by shape: 1..40 rows (every tail
 * of the 4-row tiles), 1..20 and 33 outputs (every tail of the 12-output blocks), 1..70
 * inputs (every tail of 8 and of 16). Checks the sums, that nothing past y is written, and
 * that the kernel takes exactly the shapes its rule names (on x86-64 with AVX2+FMA;
 * elsewhere none), a rule that must take some, so a kernel that declines everything cannot
 * pass. Then each vector width's kernel on its own, on every shape, where the CPU has it.
 * The * layer-level comparison with the sgemm path is in test_modular_units. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../../plugins/modular/modular.h"
#include "tap.h"

enum { MAXC = 40, MAXOUT = 33, MAXIN = 70, GUARD = 16 };

/* __builtin_cpu_supports wants a literal: the two features the kernels need. */
static int cpu_has(const char *feature)
{
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (strcmp(feature, "avx512f") == 0)
        return __builtin_cpu_supports("avx512f");
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    (void)feature;
    return 0;
#endif
}

static int have_kernel(void)
{
    return cpu_has("avx2");
}

static void fill(float *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(((i + 1) * 2654435761u + seed * 40503u) % 2001) / 1000.0f - 1.0f;
}

typedef void (*kernel_fn)(int32_t, int32_t, int32_t, const float *, const float *, float *);

typedef struct sweep_stats {
    double worst;
    long shapes, taken, wrong_take, overwrites, untouched;
} sweep_stats;

/* Every shape through `direct`, a kernel called on all of them, or with NULL through
 * mod_small_gemm, which picks the CPU's widest kernel and may decline a shape. */
static void sweep(kernel_fn direct, int kernel, sweep_stats *st)
{
    int outs[21];
    for (int o = 0; o < 20; o++)
        outs[o] = o + 1;
    outs[20] = MAXOUT;
    memset(st, 0, sizeof *st);
    for (int32_t c = 1; c <= MAXC; c++)
        for (int oi = 0; oi < 21; oi++)
            for (int32_t in = 1; in <= MAXIN; in++) {
                int32_t out = outs[oi];
                /* Exact sizes, so that ASan and valgrind see any read past x or W. */
                float *x = malloc((size_t)c * in * sizeof(float));
                float *w = malloc((size_t)out * in * sizeof(float));
                float *y = malloc(((size_t)c * out + GUARD) * sizeof(float));
                if (!x || !w || !y) {
                    printf("Bail out! out of memory\n");
                    exit(1);
                }
                fill(x, (size_t)c * in, (unsigned)(c * 131 + in));
                fill(w, (size_t)out * in, (unsigned)(out * 7 + in * 3));
                for (size_t i = 0; i < (size_t)c * out + GUARD; i++)
                    y[i] = -7.0f;
                int done = 1;
                if (direct)
                    direct(c, out, in, x, w, y);
                else
                    done = mod_small_gemm(c, out, in, x, w, y);
                int want = direct || (kernel && mod_small_gemm_takes(c, out, in));
                st->shapes++;
                st->taken += done;
                st->wrong_take += done != want;
                for (size_t i = (size_t)c * out; i < (size_t)c * out + GUARD; i++)
                    st->overwrites += y[i] != -7.0f;
                for (int32_t r = 0; r < c; r++)
                    for (int32_t o = 0; o < out; o++) {
                        double s = 0.0, mag = 0.0;
                        for (int32_t i = 0; i < in; i++) {
                            double p = (double)x[(size_t)r * in + i] * w[(size_t)o * in + i];
                            s += p;
                            mag += fabs(p);
                        }
                        float got = y[(size_t)r * out + o];
                        if (!done) {
                            st->untouched += got != -7.0f;
                            continue;
                        }
                        /* Relative to the sum of |terms|: one dropped or doubled term
                         * is ~1/in of it, float rounding ~1e-7. */
                        double d = fabs((double)got - s) / (mag > 1e-30 ? mag : 1.0);
                        if (!(d <= st->worst))   /* NaN too */
                            st->worst = isnan(d) ? INFINITY : d;
                    }
                free(x);
                free(w);
                free(y);
            }
}

int main(void)
{
    int kernel = have_kernel();
    sweep_stats st;
    sweep(NULL, kernel, &st);
    tap_diag("%ld shapes, %ld taken by the kernel (AVX2+FMA: %s)", st.shapes, st.taken,
             kernel ? "yes" : "no");
    is_int(st.wrong_take, 0, "the kernel takes exactly the shapes mod_small_gemm_takes "
           "names (where it runs at all)");
    /* The rule itself: few rows against the input width, and narrow outputs at any rows. */
    ok(mod_small_gemm_takes(1, 1, 3) && mod_small_gemm_takes(23, 33, 70) &&
       mod_small_gemm_takes(40, 16, 64) && mod_small_gemm_takes(1024, 8, 512) &&
       mod_small_gemm_takes(MOD_SMALL_ROWS - 1, 512, 512),
       "the rule takes few rows, and narrow outputs at any rows");
    ok(!mod_small_gemm_takes(24, 33, 70) && !mod_small_gemm_takes(40, 8, 63) &&
       !mod_small_gemm_takes(MOD_SMALL_ROWS, 512, 512) && !mod_small_gemm_takes(0, 8, 64),
       "and leaves the rest to the sgemm");
    ok(st.worst <= 1e-5, "its sums match the double reference (max rel diff %.2g)",
       st.worst);
    is_int(st.overwrites, 0, "nothing past y is written");
    is_int(st.untouched, 0, "y is untouched where it declines");
    /* Each width on its own, on every shape (the dispatch above runs only the widest). */
    static const struct {
        const char *name, *cpu;
        kernel_fn fn;
    } widths[] = {{"256-bit (AVX2)", "avx2", mod_gemm_nt_avx2},
                  {"512-bit (AVX-512F)", "avx512f", mod_gemm_nt_avx512}};
    for (int k = 0; k < 2; k++) {
        if (!cpu_has(widths[k].cpu)) {
            tap_diag("the %s kernel is not run: this CPU lacks %s", widths[k].name,
                     widths[k].cpu);
            continue;
        }
        sweep(widths[k].fn, 1, &st);
        ok(st.worst <= 1e-5 && st.overwrites == 0, "the %s kernel on all %ld shapes: max rel "
           "diff %.2g, %ld writes past y", widths[k].name, st.shapes, st.worst,
           st.overwrites);
    }
    return done_testing();
}
