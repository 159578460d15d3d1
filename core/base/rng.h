/* SPDX-License-Identifier: MIT */
/* A counter-based random stream: (seed, stream, counter). */
#ifndef MODLAB_CORE_RNG_H
#define MODLAB_CORE_RNG_H

#include <stdint.h>

typedef struct ml_rng {
    uint64_t seed, stream, counter;
} ml_rng;

void mli_rng_init(ml_rng *r, uint64_t seed, uint64_t stream);
uint64_t mli_rng_next(ml_rng *r);
uint64_t mli_rng_below(ml_rng *r, uint64_t n);
float mli_rng_uniform01(ml_rng *r);
void mli_rng_fill_uniform(ml_rng *r, float *out, int64_t n, float lo, float hi);
void mli_rng_fill_normal(ml_rng *r, float *out, int64_t n, float mean, float stddev);

#endif
