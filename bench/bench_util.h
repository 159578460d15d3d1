/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the bench programs: clocks, medians, peak RSS, argument parsing. */
#ifndef MODLAB_BENCH_UTIL_H
#define MODLAB_BENCH_UTIL_H

#include <stdint.h>

/* Monotonic wall clock in seconds. */
double bench_now(void);
/* CPU seconds of the whole process (all threads): at 1 thread, samples per CPU second are
 * steadier than per wall second on a shared machine, for A/B checks of one change. */
double bench_cpu(void);
/* Median of v[0..n) (sorts v in place); the mean of the middle two for even n. */
double bench_median(double *v, int n);
/* Peak resident set size of this process in kB (getrusage; PyTorch's side uses the same). */
long bench_peak_rss_kb(void);
/* Value of "--name" in argv, or def. */
const char *bench_arg(int argc, char **argv, const char *name, const char *def);
int bench_arg_int(int argc, char **argv, const char *name, int def);
/* Print v[0..n) as "a,b,c" after "key=". */
void bench_print_list(const char *key, const double *v, int n);

#endif
