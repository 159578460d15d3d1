/* SPDX-License-Identifier: MIT */
/* The trainer's side of the modlab.estep/1 protocol (see plugin.h): the layers that provide
 * it, the per-row log-likelihood scoring of candidate passes, and the buffers for both. */
#ifndef MODLAB_CORE_ESTEP_H
#define MODLAB_CORE_ESTEP_H

#include "runtime/model.h"

typedef struct ml_estep ml_estep;

/* NULL (and no error) when no layer of the model provides the interface. `loss` scores
 * targets that are not class ids; `classes` and `rows` are the trainer's view of the
 * output: class-id targets when rows * classes == output values per example. */
ml_estep *mli_estep_new(ml_model *m, const ml_loss_vtable *loss, void *loss_self,
                       const ml_shape *target, int32_t classes, int32_t class_rows,
                       ml_err *err);
void mli_estep_free(ml_estep *e);
/* begin_batch and the candidate passes, ending with set_candidate(ML_ESTEP_TRAIN). */
int mli_estep_before_step(ml_estep *e, const float *x, const float *y, const int64_t *ids,
                         int32_t batch, int64_t id_limit, ml_err *err);
void mli_estep_after_step(ml_estep *e);
/* The joint score (log-likelihood + every layer's log prior) of the layers' current choice
 * (candidate k) on a batch, per target row, into `score` (batch * rows); *rows is set. */
int mli_estep_score(ml_estep *e, const float *x, const float *y, int32_t batch, int32_t k,
                   double *score, int32_t *rows, ml_err *err);

/* The trainer's E-step state (NULL when no layer wants one), for tests. */
struct ml_trainer;
ml_estep *mli_trainer_estep(struct ml_trainer *t);

#endif
