/* SPDX-License-Identifier: MIT */
/* What the sweep file reader's files share (private to core/sweep/): the parsed sweep,
 * its parameters and trials, and the steps from YAML to the plan's JSON. */
#ifndef MODLAB_CORE_SWEEP_SWEEP_IMPL_H
#define MODLAB_CORE_SWEEP_SWEEP_IMPL_H

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hash.h"
#include "formats/json.h"
#include "base/mem.h"
#include "formats/yaml_tree.h"
#include <modlab/modlab.h>
#include <modlab/sweep.h>

enum { V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_JSON };

typedef struct sw_val {
    int type;
    int64_t i;      /* V_INT, V_BOOL */
    double d;       /* V_FLOAT */
    char *s;        /* V_STR text, V_JSON text (owned) */
} sw_val;

enum {
    D_CONST, D_CAT, D_INT_UNIFORM, D_UNIFORM, D_Q_UNIFORM, D_LOG_UNIFORM, D_LOG_UNIFORM_V,
    D_Q_LOG_UNIFORM_V, D_NORMAL, D_Q_NORMAL, D_LOG_NORMAL
};
static const char *const dist_names[] = {
    "constant", "categorical", "int_uniform", "uniform", "q_uniform", "log_uniform",
    "log_uniform_values", "q_log_uniform_values", "normal", "q_normal", "log_normal", NULL
};

typedef struct sw_param {
    char *name;                  /* dotted path */
    const ml_yt_node *node;      /* the parameter's mapping */
    int dist;
    sw_val *vals;                /* D_CONST (1), D_CAT (nvals) */
    size_t nvals;
    double *probs;               /* D_CAT with probabilities, else NULL */
    int64_t imin, imax;
    double min, max, q, mu, sigma;
    double kmin, kmax;           /* quantised: the draws are k*q, k in [kmin, kmax] */
    size_t ngrid;                /* grid: the number of values */
} sw_param;

typedef struct sw_trial {
    sw_val *vals;                /* one per column (borrowed from params or owned: see own) */
    unsigned char *own;
    int64_t repeat;
    char id[13];
} sw_trial;

struct ml_sweep {
    ml_yt_doc *doc;
    sw_param *params;
    size_t nparams, cparams;
    sw_trial *trials;
    size_t ntrials;
    char **warnings;
    size_t nwarnings;
    char *json;
    /* settings */
    const char *name, *program, *method, *metric_name, *goal;
    double target;
    int has_target;
    int grid;
    int64_t run_cap, trials_n, workers, retries, repeats, base_seed, k, max_array;
    uint64_t sampler_seed;
    int fail_fast, resume, strict, has_seeds;
    double timeout;
    const char *seed_param, *launcher, *output_dir, *metric_summary;
    const ml_yt_node *seeds, *slurm;
    int hyperband;
    double eta;
    double rungs[16];
    int nrungs;
};

/* |gauss()| <= sqrt(-2 ln 2^-53) = 8.57: its uniform is a multiple of 2^-53, clamped > 0. */
#define GAUSS_MAX 8.6
/* Beyond 2^53 consecutive multiples of q are no longer distinct doubles. */
#define EXACT_MAX 9007199254740992.0

/* sweep_value.c */
int mli_sw_warn(ml_sweep *s, const char *fmt, ...) ML_PRINTF(2, 3);
int mli_sw_check_keys(const ml_yt_doc *d, const ml_yt_node *map, const char *what,
                     const char *const *allowed, ml_err *err);
void mli_sw_put_json_node(ml_jbuf *b, const ml_yt_doc *d, const ml_yt_node *n);
int mli_sw_node_val(const ml_yt_doc *d, const ml_yt_node *n, const char *what, sw_val *out,
                   ml_err *err);
sw_val mli_sw_num_val(double v);
void mli_sw_put_val_json(ml_jbuf *b, const sw_val *v);
void mli_sw_put_val_arg(ml_jbuf *b, const sw_val *v);
void mli_sw_val_free(sw_val *v);

/* sweep_param.c */
int mli_sw_num_key(const ml_yt_doc *d, const ml_yt_node *map, const char *key,
                  const char *pname, double def, double *out, ml_err *err);
int mli_sw_read_params(ml_sweep *s, const ml_yt_node *map, const char *prefix, ml_err *err);

/* sweep_expand.c */
size_t mli_sw_ncols(const ml_sweep *s);
const char *mli_sw_col_name(const ml_sweep *s, size_t j);
int mli_sw_expand(ml_sweep *s, ml_err *err);

/* sweep_read.c */
int mli_sw_read_top(ml_sweep *s, ml_err *err);

/* sweep_plan.c */
int mli_sw_build_json(ml_sweep *s, ml_err *err);

#endif
