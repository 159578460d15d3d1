/* SPDX-License-Identifier: MIT */
/* Fuzz target: loading a checkpoint (core/runtime/checkpoint.c on top of
 * core/formats/safetensors_read.c) into a built model: recipes/synthetic.lua's MLP
 * (2 -> 64 -> 64 -> 2), so that the real model.safetensors of a synthetic run is a seed
 * that loads. ml_model_load takes a path: the input goes through a memfd. The registry and
 * the model are built once. A load that succeeds must leave only finite weights (NaN
 * weights once loaded silently). */
#include "fuzz.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ml_registry *reg;
static ml_model *model;

static void die(const char *what, const ml_err *err)
{
    fprintf(stderr, "fuzz checkpoint: setup: %s: %s (is %s built? run make first)\n", what,
            err->msg, ML_BUILD_PLUGINDIR);
    exit(1);
}

static void add(const char *layer, const char *options)
{
    ml_err err;
    ml_opts *o = ml_opts_new(&err);
    if (!o || (options && ml_opts_parse(o, options, &err)) ||
        ml_model_add(model, layer, o, &err))
        die(layer, &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_err err;
    (void)argc;
    (void)argv;
    memset(&err, 0, sizeof err);
    const char *path = getenv("MODLAB_PLUGIN_PATH");
    if (!(reg = ml_registry_new(&err)) ||
        ml_registry_load_default(reg, path && *path ? path : ML_BUILD_PLUGINDIR, &err))
        die("loading plugins", &err);
    if (!(model = ml_model_new(reg, 1, &err)))
        die("ml_model_new", &err);
    add("linear", "out=64");
    add("relu", NULL);
    add("linear", "out=64");
    add("relu", NULL);
    add("linear", "out=2");
    ml_shape in = {.ndim = 1, .dim = {2}};
    if (ml_model_build(model, &in, 4, &err))
        die("ml_model_build", &err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    char path[64];
    ml_err err = {0};
    int fd = fz_file(data, size, path, sizeof path);

    int rc = ml_model_load(model, path, &err);
    fz_verdict("checkpoint", rc == 0, &err);
    for (int32_t i = 0; rc == 0 && i < ml_model_nparam_tensors(model); i++) {
        const ml_param *p = ml_model_param(model, i);
        for (int64_t k = 0; k < p->numel; k++)
            if (!isfinite(p->value[k]))
                fz_fail("checkpoint", "a load succeeded with a non-finite weight");
    }
    fz_file_close(fd);
    fz_leak_check("checkpoint", live);
    return 0;
}
