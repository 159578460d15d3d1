/* SPDX-License-Identifier: MIT */
/* Breadcrumbs for `modlab plugin check`: which call into the plugin is running, kept in
 * memory the parent shares with the checking child, so a crash, a hang or an exit() in the
 * child is reported with the call it happened in ("crashed with SIGSEGV in forward"). */
#ifndef MODLAB_CORE_CHECK_CALLS_H
#define MODLAB_CORE_CHECK_CALLS_H

#include "runtime/registry.h"

typedef struct ml_check_crumb {
    char call[64];             /* "forward", "plugin init", ...; "" outside plugin code */
    volatile int finished;     /* the checks ran to the end */
    volatile int exit_called;  /* something called exit() (the plugin: modlab never does) */
    volatile int exit_status;
} ml_check_crumb;

/* Where breadcrumbs go from now on (shared memory in the child); NULL: nowhere. */
void mli_check_crumb_use(ml_check_crumb *c);
/* Enter a named call; returns the enclosing one, to hand back to mli_check_call_leave. */
const char *mli_check_call_enter(const char *name);
void mli_check_call_leave(const char *prev);
/* Route one entry's vtable (its registry copy, which models copy) through wrappers that
 * leave a breadcrumb around each call; mli_check_unwrap restores it. One entry at a time. */
void mli_check_wrap(ml_reg_entry *re);
void mli_check_unwrap(ml_reg_entry *re);

#endif
