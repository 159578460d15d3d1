/* SPDX-License-Identifier: MIT */
/* AdamW (Loshchilov & Hutter): Adam with weight decay applied to the weights, not the grad. */
#include "adam.h"
#include "optim_entries.h"

/* Adam's options; only weight_decay's default and meaning differ (PyTorch's AdamW). */
ML_OPTIM_ADAM_ENTRY(ml_optim_adamw_entry, "adamw", 1, "0.01",
                    "decoupled decay: each step multiplies the weights by 1 - lr * weight_decay",
                    "AdamW: Adam with decoupled weight decay (PyTorch torch.optim.AdamW "
                    "semantics)");
