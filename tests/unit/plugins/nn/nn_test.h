/* SPDX-License-Identifier: MIT */
/* Inputs, shapes and one-layer models for the nn plugin's tests (test_nn_*.c). */
#ifndef MODLAB_TESTS_NN_TEST_H
#define MODLAB_TESTS_NN_TEST_H

#include <math.h>
#include <string.h>

#include <modlab/modlab.h>

/* A deterministic stream of values in [-1, 1) for inputs. */
static inline float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) * (1.0 / 8388608.0)) - 1.0f;
}

static inline void fill(float *x, int64_t n, unsigned seed)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = frand(&seed);
}

static inline ml_shape shp(int ndim, int d0, int d1, int d2)
{
    ml_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = ndim;
    s.dim[0] = d0;
    s.dim[1] = d1;
    s.dim[2] = d2;
    return s;
}

/* One-layer model, built; NULL with err set on failure. */
static inline ml_model *model1(ml_registry *reg, const char *layer, const char *options,
                                ml_shape in, int32_t batch, ml_err *err)
{
    ml_model *m = ml_model_new(reg, 1234, err);
    ml_opts *o = m ? ml_opts_new(err) : NULL;
    if (!o)
        goto fail;
    if (ml_opts_parse(o, options, err)) {
        ml_opts_free(o);
        goto fail;
    }
    /* The model owns o from here on, also when adding fails. */
    if (ml_model_add(m, layer, o, err) || ml_model_build(m, &in, batch, err))
        goto fail;
    return m;
fail:
    ml_model_free(m);
    return NULL;
}

/* Parameter of layer 0 whose name ends in `suffix`. */
static inline ml_param *param(ml_model *m, const char *suffix)
{
    size_t ls = strlen(suffix);
    for (int32_t i = 0; i < ml_model_nparam_tensors(m); i++) {
        const char *n = ml_model_param_name(m, i);
        size_t ln = strlen(n);
        if (ln >= ls && strcmp(n + ln - ls, suffix) == 0 && n[ln - ls - 1] == '.')
            return ml_model_param(m, i);
    }
    return NULL;
}

static inline double max_abs_diff(const float *a, const double *b, int64_t n)
{
    double d = 0.0;
    for (int64_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

#endif
