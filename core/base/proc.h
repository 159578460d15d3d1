/* SPDX-License-Identifier: MIT */
/* The one fork + exec of modlab (core/base/spawn.c), shared by ml_run and the sweep's trial
 * processes (ml_proc_spawn in core/sweep/sweep_proc.c). */
#ifndef MODLAB_CORE_PROC_H
#define MODLAB_CORE_PROC_H

#include <sys/types.h>

#include <modlab/plugin.h>

/* A trial process: its own process group, killed when modlab dies (PR_SET_PDEATHSIG); a
 * program that cannot be executed writes why to its stderr and exits 127 (the trial's log
 * then says so). Without it, exec failures are returned to the caller instead. */
enum { ML_SPAWN_TRIAL = 1 };

/* Start argv[0] (PATH search) with argv; fds[i] (>= 0) becomes its descriptor i (-1:
 * inherited). Signal handling and mask are the defaults in the child. Returns the pid, or a
 * negative ML_ERR_* (ML_ERR_NOT_FOUND: no such program). The caller reaps the child. */
pid_t mli_spawn_fds(const char *const *argv, const int fds[3], int flags, ml_err *err);

/* A waitpid status as modlab reports it: the exit code (>= 0) or -signal. */
int mli_wait_code(int st);

#endif
