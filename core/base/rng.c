/* SPDX-License-Identifier: MIT */
/* Counter-based random numbers: value k of stream s under seed is a pure function of
 * (seed, s, k), so runs replay exactly and streams never interfere. The mixer is
 * SplitMix64's finaliser applied twice over a keyed counter (fast, passes BigCrush as used
 * by SplitMix; good enough for initialisation, shuffling and dropout). */
#include <math.h>

#include "base/rng.h"
#include <modlab/modlab.h>

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t ml_rng_at(uint64_t seed, uint64_t stream, uint64_t k)
{
    uint64_t key = mix64(seed * 0x9e3779b97f4a7c15ULL + mix64(stream + 0x632be59bd9b4e019ULL));
    return mix64(key + k * 0x9e3779b97f4a7c15ULL);
}

void mli_rng_init(ml_rng *r, uint64_t seed, uint64_t stream)
{
    r->seed = seed;
    r->stream = stream;
    r->counter = 0;
}

uint64_t mli_rng_next(ml_rng *r)
{
    return ml_rng_at(r->seed, r->stream, r->counter++);
}

float mli_rng_uniform01(ml_rng *r)
{
    /* 24 random bits -> [0, 1) exactly representable in float. */
    return (float)(mli_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

void mli_rng_fill_uniform(ml_rng *r, float *out, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = lo + (hi - lo) * mli_rng_uniform01(r);
}

void mli_rng_fill_normal(ml_rng *r, float *out, int64_t n, float mean, float stddev)
{
    /* Box-Muller on 53-bit uniforms in (0, 1]. */
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = ((mli_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
        double u2 = (mli_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        out[i] = (float)(mean + stddev * rad * cos(th));
        if (i + 1 < n)
            out[i + 1] = (float)(mean + stddev * rad * sin(th));
    }
}

uint64_t mli_rng_below(ml_rng *r, uint64_t n)
{
    /* Lemire's multiply-shift; the tiny bias for n << 2^64 does not matter here. */
    return (uint64_t)(((unsigned __int128)mli_rng_next(r) * n) >> 64);
}

void ml_shuffle(int64_t *idx, int64_t n, uint64_t seed, uint64_t stream)
{
    ml_rng r;
    mli_rng_init(&r, seed, stream);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)mli_rng_below(&r, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
