/* SPDX-License-Identifier: MIT */
/* ml_err helpers: fixed-size messages, so reporting out-of-memory allocates nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include <modlab/modlab.h>

/* ML_PRINTF(3, 0): fmt is checked at mli_error's callers; clang's -Wformat-nonliteral wants
 * the va_list forwarder marked too. */
static int vset(ml_err *err, int code, const char *fmt, va_list ap) ML_PRINTF(3, 0);
static int vset(ml_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int mli_error(ml_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int mli_error_prefix(ml_err *err, const char *fmt, ...)
{
    char prefix[ML_ERR_MSG_MAX], old[ML_ERR_MSG_MAX];
    va_list ap;
    if (!err)
        return ML_ERR_INTERNAL;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%.200s: %.300s", prefix, old);
    return err->code;
}

void mli_err_clear(ml_err *err)
{
    if (err) {
        err->code = ML_OK;
        err->msg[0] = '\0';
    }
}

const char *ml_strerror(int code)
{
    switch (code) {
    case ML_OK: return "ok";
    case ML_ERR_NOMEM: return "out of memory";
    case ML_ERR_INVALID: return "invalid argument";
    case ML_ERR_SHAPE: return "shape mismatch";
    case ML_ERR_IO: return "input/output error";
    case ML_ERR_FORMAT: return "malformed input";
    case ML_ERR_ABI: return "incompatible plugin ABI";
    case ML_ERR_NOT_FOUND: return "not found";
    case ML_ERR_CHECKSUM: return "checksum mismatch";
    case ML_ERR_NETWORK: return "network error";
    case ML_ERR_NUMERIC: return "non-finite number";
    case ML_ERR_UNSUPPORTED: return "unsupported";
    case ML_ERR_INTERRUPTED: return "interrupted";
    case ML_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}
