/* SPDX-License-Identifier: MIT */
/* The plugin registry: entries copied into host storage with their vtables, by kind. */
#ifndef MODLAB_CORE_REGISTRY_H
#define MODLAB_CORE_REGISTRY_H

#include <modlab/modlab.h>

typedef struct ml_reg_entry {
    ml_entry entry;    /* zero-extended copy: fields the plugin did not know read as 0 */
    union {
        ml_layer_vtable layer;
        ml_loss_vtable loss;
        ml_optimizer_vtable optimizer;
        ml_dataset_vtable dataset;
        ml_transform_vtable transform;
    } vt;              /* zero-extended copy of the vtable */
    char *path;        /* the .so it came from ("(builtin)" for none) */
    char sha256[65];   /* of the .so, computed on first request */
} ml_reg_entry;

const ml_reg_entry *mli_registry_get(const ml_registry *reg, int32_t i);
/* Find by kind and name, or fill err with a message listing what exists. */
const ml_reg_entry *mli_registry_lookup(const ml_registry *reg, int32_t kind, const char *name,
                                       ml_err *err);
/* The host table handed to plugins. */
const ml_host *mli_host_table(void);
/* Used by the loader: entries registered from now on come from `path`. */
void mli_registry_set_origin(ml_registry *reg, const char *path);
int32_t mli_registry_truncate(ml_registry *reg, int32_t n);
int mli_registry_add_warning(ml_registry *reg, const char *fmt, ...) ML_PRINTF(2, 3);
int mli_registry_register(ml_registry *reg, const ml_entry *e, ml_err *err);

#endif
