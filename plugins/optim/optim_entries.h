/* SPDX-License-Identifier: MIT */
/* The optimizer entries of optim.so, one per source file, listed by optim.c's init. */
#ifndef MODLAB_PLUGINS_OPTIM_ENTRIES_H
#define MODLAB_PLUGINS_OPTIM_ENTRIES_H

#include <modlab/plugin.h>

/* Non-static so optim.c can list them; -fvisibility=hidden and the libtool export regex
 * keep them out of the .so's dynamic symbol table. */
extern const ml_entry ml_optim_sgd_entry;
extern const ml_entry ml_optim_adam_entry;
extern const ml_entry ml_optim_adamw_entry;
extern const ml_entry ml_optim_rmsprop_entry;

#endif
