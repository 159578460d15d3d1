/* SPDX-License-Identifier: MIT */
/* Error helpers for the core: fill an ml_err and return its code. */
#ifndef MODLAB_CORE_ERR_H
#define MODLAB_CORE_ERR_H

#include <modlab/plugin.h>

/* Format into err->msg (truncating) and return code. err may be NULL. */
int mli_error(ml_err *err, int code, const char *fmt, ...) ML_PRINTF(3, 4);
/* Prefix err->msg with "what: " (keeps the code); returns err->code. */
int mli_error_prefix(ml_err *err, const char *fmt, ...) ML_PRINTF(2, 3);
void mli_err_clear(ml_err *err);

#endif
