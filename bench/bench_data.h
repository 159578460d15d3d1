/* SPDX-License-Identifier: MIT */
/* The benchmark's Fashion-MNIST tensors: written once as raw float32 files by modlab's own
 * idx reader, then read whole by both sides, so both train on identical bytes. */
#ifndef MODLAB_BENCH_DATA_H
#define MODLAB_BENCH_DATA_H

#include <stdint.h>

enum { BENCH_PIXELS = 784, BENCH_TRAIN = 60000, BENCH_TEST = 10000 };

typedef struct bench_data {
    float *train_x, *train_y;   /* BENCH_TRAIN x 784 in [0,1], BENCH_TRAIN class ids */
    float *test_x, *test_y;
} bench_data;

/* Fetch/verify the fashion-mnist manifest's files (MODLAB_DATA_DIR cache), decode them with
 * the idx plugin and write DIR/{train,test}_{x,y}.f32. Returns 0 or prints why and -1. */
int bench_data_prep(const char *dir);
/* Read the four files written by bench_data_prep. Returns 0 or prints why and -1. */
int bench_data_load(const char *dir, bench_data *d);
void bench_data_free(bench_data *d);

#endif
