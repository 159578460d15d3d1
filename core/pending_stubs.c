/* SPDX-License-Identifier: MIT */
/* Temporary: entry points whose areas (downloads, checkpoints) have not landed yet. Each
 * says so plainly instead of pretending to work. Removed as the areas land. */
#include <stdio.h>

#include "err.h"
#include <modlab/modlab.h>

int ml_model_save(ml_model *m, const char *path, ml_err *err)
{
    return ml_error(err, ML_ERR_UNSUPPORTED, "checkpoints are not part of this build yet");
}

int ml_model_load(ml_model *m, const char *path, ml_err *err)
{
    return ml_error(err, ML_ERR_UNSUPPORTED, "checkpoints are not part of this build yet");
}
