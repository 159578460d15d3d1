/* SPDX-License-Identifier: MIT */
/* The host services table handed to every plugin: its only way into modlab. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/blas.h"
#include "base/err.h"
#include "base/mem.h"
#include "runtime/model.h"
#include "runtime/opts.h"
#include "base/parallel.h"

static int host_error(ml_err *err, int code, const char *fmt, ...) ML_PRINTF(3, 4);
static int host_error(ml_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    if (err) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int log_threshold(void)
{
    static int level = -1;
    if (level < 0) {
        const char *e = getenv("MODLAB_LOG");
        level = !e ? ML_LOG_INFO : e[0] == 'd' ? ML_LOG_DEBUG : e[0] == 'w' ? ML_LOG_WARN
              : e[0] == 'e' ? ML_LOG_ERROR : ML_LOG_INFO;
    }
    return level;
}

static void host_log(int level, const char *fmt, ...) ML_PRINTF(2, 3);
static void host_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warning", "error"};
    va_list ap;
    if (level < log_threshold())
        return;
    fprintf(stderr, "modlab: %s: ", names[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The plugin's call is the allocation site the test mode records, not these wrappers. */
static void *host_alloc(size_t n) { return mli_alloc_from(n, __builtin_return_address(0)); }
static void *host_zalloc(size_t n) { return mli_zalloc_from(n, __builtin_return_address(0)); }
static void host_free(void *p) { mli_free(p); }
static uint64_t host_rng_u64(ml_ctx *ctx) { return mli_rng_next(&ctx->rng); }
static void host_rng_uniform(ml_ctx *ctx, float *out, int64_t n, float lo, float hi)
{
    mli_rng_fill_uniform(&ctx->rng, out, n, lo, hi);
}
static void host_rng_normal(ml_ctx *ctx, float *out, int64_t n, float mean, float sd)
{
    mli_rng_fill_normal(&ctx->rng, out, n, mean, sd);
}
/* A transform's ctx (runtime/pipeline.c) has no model: transforms see training data. */
static int host_is_training(const ml_ctx *ctx) { return ctx->model ? ctx->model->training : 1; }

static const ml_host host_table = {
    ML_ABI_INIT(ml_host),
    .register_entry = mli_registry_register,
    .alloc = host_alloc,
    .zalloc = host_zalloc,
    .free = host_free,
    .error = host_error,
    .log = host_log,
    .opt_int = mli_opts_get_int,
    .opt_float = mli_opts_get_float,
    .opt_bool = mli_opts_get_bool,
    .opt_str = mli_opts_get_str,
    .param_new = mli_ctx_param_new,
    .rng_u64 = host_rng_u64,
    .rng_uniform = host_rng_uniform,
    .rng_normal = host_rng_normal,
    .is_training = host_is_training,
    .sgemm = mli_sgemm,
    .sublayer_new = mli_sublayer_new,
    .sublayer_out_shape = mli_sublayer_out_shape,
    .sublayer_workspace = mli_sublayer_workspace,
    .sublayer_forward = mli_sublayer_forward,
    .sublayer_backward = mli_sublayer_backward,
    .sublayer_self = mli_sublayer_self,
    .parallel_workers = mli_parallel_workers,
    .parallel_for = mli_parallel_for,
};

const ml_host *mli_host_table(void) { return &host_table; }
