/* SPDX-License-Identifier: MIT */
/* The trainer's insides, shared by the step driver (trainer.c) and training checkpoints
 * (train_ckpt.c), which save and restore exactly the state that later steps read. */
#ifndef MODLAB_CORE_TRAINER_H
#define MODLAB_CORE_TRAINER_H

#include "runtime/estep.h"
#include "runtime/model.h"
#include "runtime/prefetch.h"

/* The loss of one more output of the model (ml_trainer_add_loss). */
typedef struct ml_trainer_head {
    ml_entry entry;
    ml_loss_vtable vt;
    void *self;                    /* NULL: no loss for this output yet */
    ml_opts *opts;
    float weight;
} ml_trainer_head;

struct ml_trainer {
    ml_model *m;
    ml_entry loss_entry, opt_entry;
    ml_loss_vtable loss_vt;
    ml_optimizer_vtable opt_vt;
    void *loss_self, *opt_self;
    ml_opts *loss_opts, *opt_opts;
    ml_shape target;
    int64_t target_numel, out_numel;
    int32_t classes;               /* last output dim, when targets are class ids */
    ml_opt_slot *slots;
    int32_t *slot_param;           /* model parameter index of each slot */
    int32_t nslots;
    float *state;                  /* all optimizer state, one block */
    int32_t state_per;             /* floats of state per parameter element */
    char *resumed;                 /* the caller's state text of the last loaded checkpoint */
    float lr_factor, clip, aux_scale;
    int64_t t;
    float *xbuf, *ybuf;            /* the loaded batch (ml_trainer_read_batch) */
    int64_t *ibuf;                 /* its dataset indices, for the E-step */
    int32_t nbatch;                /* its size; 0: none loaded */
    int64_t id_limit;              /* its dataset's size */
    int forwarded;                 /* forward ran on it since it was loaded */
    ml_estep *estep;               /* layers that want scored passes per batch, or NULL */
    ml_pipeline *aug;              /* transforms of training batches (borrowed), or NULL */
    uint64_t aug_seed;
    int64_t aug_epoch;
    float *xalt, *yalt;            /* the batch ml_trainer_run prefetches, swapped with xbuf */
    void *raw;                     /* a batch of stored values (plain reads of byte datasets) */
    size_t raw_bytes;
    int xnormed;                   /* xbuf holds normalised values (model->input_normalized) */
    mli_prefetch *pf;              /* its thread; made by the first run of several batches */
    ml_trainer_head heads[ML_MODEL_MAX_OUTPUTS];   /* outputs 1..: their losses */
};

#endif
