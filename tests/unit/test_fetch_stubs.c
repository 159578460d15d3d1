/* SPDX-License-Identifier: MIT */
/* TEMPORARY stand-ins for the lead's core runtime (err.c, mem.c, opts.c) so that the fetch
 * area's tests link before main has them. Removed when main is merged. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "err.h"
#include "mem.h"

int ml_error(ml_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int ml_error_prefix(ml_err *err, const char *fmt, ...)
{
    char pre[ML_ERR_MSG_MAX], old[ML_ERR_MSG_MAX];
    va_list ap;
    if (!err)
        return 0;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    if (snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old) >= (int)sizeof err->msg)
        err->msg[sizeof err->msg - 1] = '\0';
    return err->code;
}

void ml_err_clear(ml_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

void *ml_alloc(size_t bytes) { return malloc(bytes ? bytes : 1); }
void *ml_zalloc(size_t bytes) { return calloc(1, bytes ? bytes : 1); }
void *ml_realloc(void *ptr, size_t bytes) { return realloc(ptr, bytes ? bytes : 1); }
void ml_free(void *ptr) { free(ptr); }
char *ml_strdup(const char *s) { return s ? strdup(s) : NULL; }
const char *ml_version(void) { return "0.1.0"; }

struct ml_opts {
    char json[4096];
};

ml_opts *ml_opts_new(ml_err *err)
{
    ml_opts *o = calloc(1, sizeof *o);
    if (!o)
        ml_error(err, ML_ERR_NOMEM, "out of memory");
    else
        strcpy(o->json, "{}");
    return o;
}

void ml_opts_free(ml_opts *opts) { free(opts); }

int ml_opts_set(ml_opts *opts, const char *key, int type, const char *text, ml_err *err)
{
    (void)err;
    size_t n = strlen(opts->json);
    const char *q = type == ML_OPT_STRING ? "\"" : "";
    snprintf(opts->json + n - 1, sizeof opts->json - n + 1, "%s\"%s\":%s%s%s}",
             n > 2 ? "," : "", key, q, text, q);
    return 0;
}

const char *ml_opts_json(ml_opts *opts) { return opts->json; }
