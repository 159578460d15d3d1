/* SPDX-License-Identifier: MIT */
/* sdk.h: the plugin conformance suite behind `modlab plugin check` (libmodlab's C API).
 *
 * ml_plugin_check loads one plugin .so into a fresh registry of its own (nothing else from
 * the plugin path is loaded, so the result does not depend on what is installed) and runs
 * every check that applies to each entry it registers:
 *
 *   load, reload      the file loads; a second load into another registry registers the same
 *                     entries and leaves no memory behind (no state kept between inits)
 *   abi               versioned headers, required slots, paired save/load, version and
 *                     summary set, extension() returns NULL for unknown interfaces, a
 *                     modlab.gradcheck/1 interface (when given) is well formed
 *   options           every option has a doc line; defaults parse with their type and lie in
 *                     `choices`; choices only on string options
 *   gradient          layers: finite differences against backward_input / backward_params
 *                     (ml_gradcheck_layer, over the modlab.gradcheck/1 cases); losses: dL/dpred
 *   bounds            forward/backward, optimizer step and dataset read on buffers with guard
 *                     zones (poisoned for AddressSanitizer in ASan builds, canary bytes
 *                     otherwise): nothing written outside them, inputs left unchanged, every
 *                     output element written
 *   save/load         layers: a checkpoint of one model restores another built with another
 *                     seed to identical outputs; optimizers: a fresh instance continues from
 *                     the slots' state exactly (all state lives in the slots)
 *   step              optimizers: 20 steps on 0.5*|x|^2 lower it, values stay finite
 *   info, read        datasets opened with default options: sane shapes, deterministic reads,
 *                     class targets in range
 *   leaks             the accounting allocator shows no live block after create/destroy, and
 *                     none after every injected allocation failure during create (each
 *                     failure must be reported as an error, not a crash)
 *
 * With ML_CHECK_FORK the checks run in a child process: a plugin that crashes, aborts (an
 * ASan report), calls exit() or hangs (ML_CHECK_TIMEOUT_S seconds, or MODLAB_CHECK_TIMEOUT
 * from the environment) fails the check it was in, with the call it was in ("crashed with
 * SIGSEGV in forward"), and the checker itself carries on and reports.
 * Without it, everything runs in the calling process.
 */
#ifndef MODLAB_SDK_H
#define MODLAB_SDK_H

#include <modlab/modlab.h>

#ifdef __cplusplus
extern "C" {
#endif

ML_API_BEGIN
/* ffi:begin */

enum ml_check_flags {
    ML_CHECK_FORK = 1   /* run in a child process (crash and hang isolation) */
};

enum ml_check_verdict { ML_CHECK_PASS = 0, ML_CHECK_FAIL = 1, ML_CHECK_SKIP = 2 };

enum { ML_CHECK_TIMEOUT_S = 300 };

typedef struct ml_check_report ml_check_report;

/* Run the conformance suite on the plugin `file`. `deps` (NULL or colon-separated .so files
 * or directories) is loaded after it, for composite layers that build their parts from
 * other plugins' entries; only `file`'s entries are checked. Returns an owned report (free
 * with ml_check_report_free), also when checks fail; NULL with err set only when the suite
 * could not run at all (out of memory, fork failed). */
ml_check_report *ml_plugin_check(const char *file, const char *deps, uint32_t flags,
                                 ml_err *err);
void ml_check_report_free(ml_check_report *r);
/* Results in the order they ran. Strings live as long as the report. */
int32_t ml_check_count(const ml_check_report *r);
int ml_check_verdict(const ml_check_report *r, int32_t i);        /* ml_check_verdict */
/* "layer/halve", or the file name for the load and reload checks. */
const char *ml_check_entry(const ml_check_report *r, int32_t i);
const char *ml_check_name(const ml_check_report *r, int32_t i);   /* "gradient" */
const char *ml_check_detail(const ml_check_report *r, int32_t i); /* one line, what to do */
int32_t ml_check_failures(const ml_check_report *r);

/* Gradient-check case `i` (from 0) of the layer `layer` in `reg`: the cases it declares
 * through modlab.gradcheck/1, or one default case (options "", input {5}) when it declares
 * none and has no required options. Sets *options to the case's option text (owned by the
 * plugin). Returns ML_ERR_NOT_FOUND (with a message) past the last case or for an unknown
 * layer; otherwise what ml_gradcheck_layer returns. The suite's tolerance is a maximum
 * relative error of 1e-2. */
int ml_gradcheck_case_run(ml_registry *reg, const char *layer, int32_t i, uint64_t seed,
                          ml_gradcheck_result *res, const char **options, ml_err *err);

/* ffi:end */
ML_API_END

#ifdef __cplusplus
}
#endif
#endif /* MODLAB_SDK_H */
