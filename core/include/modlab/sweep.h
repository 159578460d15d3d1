/* SPDX-License-Identifier: MIT */
/* Sweeps: read a W&B sweep file (plus `modlab:`) into a trial plan; processes; the journal. */
#ifndef MODLAB_SWEEP_H
#define MODLAB_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include <modlab/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

ML_API_BEGIN
/* ffi:begin */

/* ---- sweep files ------------------------------------------------------------------------ */
typedef struct ml_sweep ml_sweep;
/* Read, check and expand a sweep file: W&B keys (program, method grid|random, metric,
 * parameters with value/values/min/max/distribution and nested parameters, run_cap,
 * early_terminate hyperband) and modlab's own settings under `modlab:`. Errors are
 * ML_ERR_FORMAT / ML_ERR_UNSUPPORTED "FILE:LINE:COL: ..." (or ML_ERR_IO / NOT_FOUND).
 * Owned: free with ml_sweep_free. */
ml_sweep *ml_sweep_load(const char *path, ml_err *err);
/* Same, from text in memory; `name` is used in messages. */
ml_sweep *ml_sweep_load_string(const char *text, size_t len, const char *name, ml_err *err);
void ml_sweep_free(ml_sweep *s);
/* The plan as one JSON object: name, program, method, metric, early_terminate, settings,
 * columns (parameter names in file order), trials [{index, id, repeat, args, params}] and
 * warnings. Borrowed: lives as long as s. */
const char *ml_sweep_json(const ml_sweep *s);
int32_t ml_sweep_ntrials(const ml_sweep *s);
/* The stable id of trial i (12 hex digits of sha256(canonical params, repeat)). */
const char *ml_sweep_trial_id(const ml_sweep *s, int32_t i);
/* The sweep file without its top-level `modlab:` block (comments and layout kept), for
 * W&B. Owned: free with ml_sweep_text_free. */
char *ml_sweep_export_wandb(const char *path, ml_err *err);
void ml_sweep_text_free(char *text);
/* Sweep names become directory names (and Slurm job names): 1..ML_SWEEP_NAME_MAX characters
 * of [A-Za-z0-9._-], not starting with '.' or '-', no "..". ml_sweep_load holds `name:` to
 * it; callers hold names they derive (a file's stem) to it too. `what` names the value in
 * the message (the name itself is not echoed). 0 or ML_ERR_FORMAT. */
enum { ML_SWEEP_NAME_MAX = 100 };
int ml_sweep_check_name(const char *name, const char *what, ml_err *err);
/* The program of a sweep must be a regular file this process can open for reading:
 * 0, or ML_ERR_NOT_FOUND / ML_ERR_IO / ML_ERR_INVALID (a directory, a FIFO) naming it. */
int ml_sweep_check_program(const char *path, const char *what, ml_err *err);

/* ---- trial processes -------------------------------------------------------------------- */
/* Start argv[0] (searched in PATH) with argv (NULL-terminated) in a new process group, stdin
 * from /dev/null, stdout and stderr appended to log_path (NULL: inherited); the child dies
 * with its parent (PR_SET_PDEATHSIG). Returns the pid (> 0) or a negative ML_ERR_*. */
int32_t ml_proc_spawn(const char *const *argv, const char *log_path, ml_err *err);
/* Without blocking: 0 while pid runs; 1 once it ended, with *status = exit code (>= 0) or
 * -signal; negative ML_ERR_* on error. */
int ml_proc_poll(int32_t pid, int32_t *status, ml_err *err);
/* Send sig to the process group of pid (the trial and anything it started). */
int ml_proc_signal(int32_t pid, int sig);
/* SIGINT/SIGTERM/SIGHUP set a flag instead of killing the sweep; ml_sweep_stop_requested
 * returns the signal seen (0 if none). ml_sweep_signals(0) restores the defaults. */
void ml_sweep_signals(int catch_them);
int ml_sweep_stop_requested(void);
/* Monotonic seconds, and a sleep that returns early when a signal arrives. */
double ml_clock(void);
void ml_sleep(double seconds);

/* ---- the journal ------------------------------------------------------------------------ */
/* Append one line (a '\n' is added) to path with a single write under an exclusive lock,
 * then fsync: lines from concurrent trials never interleave and a finished line survives a
 * crash. */
int ml_journal_append(const char *path, const char *line, ml_err *err);

/* ---- trial claims (several agents on one sweep directory) ------------------------------- */
/* Claim trial `id` (a safe name) of the sweep in `dir` for this process. The claim is
 * DIR/locks/ID.lock, created exclusively and whole (written aside, then hard-linked into
 * place), holding this host, pid, process start time and the time. A lock of this host
 * whose process is dead, or whose pid was reused by a process started at another time, is
 * stale: it is broken (under an flock, so two breakers cannot both win) and the claim
 * retried. A lock of another host is honoured until removed by hand. Returns 0 when claimed,
 * 1 when another process holds it ("host:pid since TIME" written to holder, borrowed buffer
 * of holder_len bytes, may be NULL), or a negative ML_ERR_*. */
int ml_trial_claim(const char *dir, const char *id, char *holder, size_t holder_len,
                   ml_err *err);
/* Release this process's claim of trial id: 0 released, 1 not ours (absent, or broken as
 * stale and claimed by another; never removed), negative ML_ERR_* on error. */
int ml_trial_release(const char *dir, const char *id, ml_err *err);
/* Without claiming: 1 when a live process (or another host) holds trial id, holder as for
 * ml_trial_claim; 0 when it is free or the lock is stale; negative ML_ERR_* on error. */
int ml_trial_holder(const char *dir, const char *id, char *holder, size_t holder_len,
                    ml_err *err);

/* ffi:end */
ML_API_END

#ifdef __cplusplus
}
#endif

#endif
