/* SPDX-License-Identifier: MIT */
/* What the conformance suite's files share (private to core/sdk/): the report and where
 * results go, guarded buffers, one checker run (ck) and each entry kind's check. */
#ifndef MODLAB_CORE_SDK_CONFORMANCE_IMPL_H
#define MODLAB_CORE_SDK_CONFORMANCE_IMPL_H

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sdk/check_calls.h"
#include "base/err.h"
#include "runtime/load_crash.h"
#include "base/mem.h"
#include "runtime/model.h"
#include "runtime/opts.h"
#include <modlab/sdk.h>

#if defined(__SANITIZE_ADDRESS__)
#define ML_CHECK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ML_CHECK_ASAN 1
#endif
#endif
#ifdef ML_CHECK_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#define GUARD_KIND "ASan-poisoned guard zones"
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define GUARD_KIND "canary guard zones"
#endif

#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

enum { BATCH = 3, GUARD = 256, OOM_MAX = 400, OPT_STEPS = 20 };
static const double TOL = 1e-2;
static const unsigned char CANARY = 0xa5;
typedef struct check_rec {
    int verdict;
    char entry[96];
    char name[32];
    char detail[ML_ERR_MSG_MAX + 128];
} check_rec;

struct ml_check_report {
    check_rec *recs;
    int32_t n, cap, failures;
};
typedef struct sink {
    ml_check_report *rep;   /* in process */
    /* forked child: lines "B\tentry\tname" (begin) and "R\tverdict\tentry\tname\tdetail" */
    int fd;
} sink;

typedef struct gbuf {
    unsigned char *base;
    float *data;
    size_t bytes;
} gbuf;

/* Which guard zones were written: 0 none, else GB_BEFORE | GB_AFTER. */
enum { GB_BEFORE = 1, GB_AFTER = 2 };
/* Outputs start as a NaN with a payload of our own: an element still holding exactly it was
 * not written; any other NaN or infinity was computed by the plugin. */
static const uint32_t UNWRITTEN = 0x7fbadbadu;

/* ---- one checker run -------------------------------------------------------------- */

typedef struct ck {
    sink *s;
    ml_registry *reg;
    int32_t idx;           /* registry index of the entry being checked */
    const ml_reg_entry *re;
    char id[96];           /* "layer/name" */
} ck;

#define PASS(c, name, ...) mli_conf_emit((c)->s, ML_CHECK_PASS, (c)->id, name, __VA_ARGS__)
#define FAIL(c, name, ...) mli_conf_emit((c)->s, ML_CHECK_FAIL, (c)->id, name, __VA_ARGS__)
#define SKIP(c, name, ...) mli_conf_emit((c)->s, ML_CHECK_SKIP, (c)->id, name, __VA_ARGS__)

/* Generic leak check: `life` once, then `create` under every injected failure. */
typedef int (*life_fn)(ck *c, const void *arg, int64_t fail_at, ml_err *err);

/* conformance_report.c */
void mli_conf_rec_add(ml_check_report *r, int verdict, const char *entry, const char *name,
                     const char *detail);
void mli_conf_begin(sink *s, const char *entry, const char *name);
void mli_conf_emit(sink *s, int verdict, const char *entry, const char *name, const char *fmt,
                  ...) ML_PRINTF(5, 6);

/* conformance_guard.c */
int mli_gbuf_new(gbuf *g, size_t bytes);
int mli_gbuf_damage(gbuf *g);
int mli_gbuf_intact(gbuf *g);
const char *mli_gbuf_damage_where(int d);
void mli_gbuf_free(gbuf *g);
void mli_conf_fill_nan(float *p, int64_t n);
int64_t mli_conf_first_nonfinite(const float *p, int64_t n);
void mli_conf_describe_nonfinite(const float *p, int64_t i, int64_t n, char *buf, size_t cap);

/* conformance_entry.c */
int mli_conf_has_required(const ml_opt_spec *s);
const ml_gradcheck_iface *mli_conf_gradcheck_iface(const ml_reg_entry *re);
int mli_conf_entry_opts(ck *c, ml_opts **out, ml_err *err);
typedef int (*ml_conf_open_fn)(const ml_host *host, const ml_opts *opts, void **self,
                               ml_err *err);
int mli_conf_open(ck *c, ml_conf_open_fn fn, void **self, ml_err *err);
void mli_conf_check_abi(ck *c);
void mli_conf_check_options(ck *c);
void mli_conf_check_leaks(ck *c, life_fn life, const void *arg);

/* conformance_layer.c */
ml_model *mli_conf_build_case(ck *c, const ml_gradcheck_case *gc, uint64_t seed, ml_err *err);
void mli_conf_fill_input(float *x, int64_t n, int32_t int_inputs, uint64_t seed);
void mli_conf_check_layer(ck *c);

/* conformance_layer_guard.c */
void mli_conf_check_layer_bounds(ck *c, const ml_gradcheck_case *gc);
void mli_conf_check_layer_saveload(ck *c, const ml_gradcheck_case *gc);

/* conformance_loss.c */
void mli_conf_check_loss(ck *c);

/* conformance_optimizer.c */
void mli_conf_check_optimizer(ck *c);

/* conformance_dataset.c */
void mli_conf_check_dataset(ck *c);

/* conformance_transform.c */
void mli_conf_check_transform(ck *c);

/* conformance.c */
const char *mli_conf_base_name(const char *p);
void mli_conf_run_checks(sink *s, const char *file, const char *deps);

#endif
