/* SPDX-License-Identifier: MIT */
/* Options and small models from text, for the C tests that build models through the public
 * API. Header-only like tap.h. */
#ifndef MODLAB_TESTS_TAP_MODEL_H
#define MODLAB_TESTS_TAP_MODEL_H

#include <modlab/modlab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/registry.h" /* mli_registry_register: a test's own entries */

/* The plugins of `dir` (NULL: the default search path, MODLAB_PLUGIN_PATH under make check)
 * and the test's own `entry` (NULL: none); NULL, after "Bail out!" (the TAP way to stop the
 * whole test), when either does not load. */
static inline ml_registry *tap_registry(const char *dir, const ml_entry *entry)
{
    ml_err err = {0};
    ml_registry *reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, dir, &err) ||
        (entry && mli_registry_register(reg, entry, &err))) {
        printf("Bail out! registry: %s\n", err.msg);
        ml_registry_free(reg);
        return NULL;
    }
    return reg;
}

/* Options parsed from "k=v ..." (NULL: none). NULL, with a TAP diagnostic, when the text does
 * not parse: a test's own text is wrong then, and the check that uses it fails. */
static inline ml_opts *tap_opts(const char *text)
{
    ml_err err = {0};
    ml_opts *o = ml_opts_new(&err);
    if (o && text && ml_opts_parse(o, text, &err)) {
        printf("# ml_opts_parse '%s': %s\n", text, err.msg);
        ml_opts_free(o);
        return NULL;
    }
    return o;
}

/* A model of the layers in `spec` ("name k=v ...", separated by '|'; at most 511 bytes),
 * seeded with `seed` and built for input `in` and `batch` rows; NULL with *err set. */
static inline ml_model *tap_model(ml_registry *reg, uint64_t seed, const char *spec,
                                  const ml_shape *in, int32_t batch, ml_err *err)
{
    char buf[512], *save = NULL;
    ml_model *m = ml_model_new(reg, seed, err);
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tok = strtok_r(buf, "|", &save); m && tok; tok = strtok_r(NULL, "|", &save)) {
        char *opts = strchr(tok, ' ');
        if (opts)
            *opts++ = '\0';
        ml_opts *o = ml_opts_new(err);
        if (!o || ml_opts_parse(o, opts ? opts : "", err)) {
            ml_opts_free(o);
            ml_model_free(m);
            return NULL;
        }
        if (ml_model_add(m, tok, o, err)) { /* the model owns o, also on failure */
            ml_model_free(m);
            return NULL;
        }
    }
    if (m && ml_model_build(m, in, batch, err)) {
        ml_model_free(m);
        return NULL;
    }
    return m;
}

/* All of the model's parameter values, back to back, their count in *n; the caller frees it
 * with free(). Plain malloc, so a test's own snapshot never shows in modlab's live counts. */
static inline float *tap_snapshot(ml_model *m, size_t *n)
{
    size_t total = 0, at = 0;
    for (int32_t i = 0; i < ml_model_nparam_tensors(m); i++)
        total += (size_t)ml_model_param(m, i)->numel;
    float *v = malloc(total * sizeof *v + 1);
    for (int32_t i = 0; v && i < ml_model_nparam_tensors(m); i++) {
        const ml_param *p = ml_model_param(m, i);
        memcpy(v + at, p->value, (size_t)p->numel * sizeof *v);
        at += (size_t)p->numel;
    }
    *n = total;
    return v;
}

/* Whether the model's parameters are bit for bit the n values of snapshot v. */
static inline int tap_same_params(ml_model *m, const float *v, size_t n)
{
    size_t k;
    float *now = tap_snapshot(m, &k);
    int same = now && v && k == n && memcmp(now, v, n * sizeof *v) == 0;
    free(now);
    return same;
}

#endif
