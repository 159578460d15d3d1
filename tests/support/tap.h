/* SPDX-License-Identifier: MIT */
/* Minimal TAP producer for modlab's C tests (automake's tap-driver reads it).
 * Usage: plan is printed at the end (done_testing), so tests need not count ahead. */
#ifndef MODLAB_TESTS_TAP_H
#define MODLAB_TESTS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

/* Formats are checked at the callers (and clang's -Wformat-nonliteral asks for it). */
static inline int tap_ok(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    tap_count++;
    if (!cond)
        tap_failed++;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)
#define is_int(got, want, name)                                                      \
    do {                                                                             \
        long long g_ = (long long)(got), w_ = (long long)(want);                     \
        if (!tap_ok(g_ == w_, "%s", name))                                           \
            tap_diag("  got %lld, want %lld (%s:%d)", g_, w_, __FILE__, __LINE__);  \
    } while (0)
#define is_str(got, want, name)                                                      \
    do {                                                                             \
        const char *g_ = (got), *w_ = (want);                                        \
        if (!tap_ok(g_ && w_ && strcmp(g_, w_) == 0, "%s", name))                    \
            tap_diag("  got '%s', want '%s' (%s:%d)", g_ ? g_ : "(null)", w_, __FILE__, \
                     __LINE__);                                                      \
    } while (0)
#define is_near(got, want, tol, name)                                                \
    do {                                                                             \
        double g_ = (got), w_ = (want);                                              \
        if (!tap_ok(fabs(g_ - w_) <= (tol), "%s", name))                             \
            tap_diag("  got %.9g, want %.9g +- %g (%s:%d)", g_, w_, (double)(tol),   \
                     __FILE__, __LINE__);                                            \
    } while (0)
/* ok(strstr(msg, want)) with a diagnostic showing the message. */
#define like(msg, want, name)                                                        \
    do {                                                                             \
        const char *m_ = (msg);                                                      \
        if (!tap_ok(m_ && strstr(m_, want) != NULL, "%s", name))                     \
            tap_diag("  message '%s' lacks '%s' (%s:%d)", m_ ? m_ : "(null)", want,  \
                     __FILE__, __LINE__);                                            \
    } while (0)

static inline int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
