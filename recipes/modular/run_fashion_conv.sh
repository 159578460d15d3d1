#!/bin/sh
# The conv table of recipes/modular/README.md: every training mode on a 10,000-example
# subset, 2 epochs, seeds 1-2-3, one BLAS thread.
#   sh recipes/modular/run_fashion_conv.sh [epochs] [train_size]   (from the build dir)
set -e
epochs=${1:-2}
size=${2:-10000}
export OPENBLAS_NUM_THREADS=1
for seed in 1 2 3; do
  for train in single em reinforce noisy_topk; do
    ./modlab run recipes/modular/fashion_conv.lua --set train=$train --set seed=$seed \
      --set epochs=$epochs --set train_size=$size
  done
  ./modlab run recipes/modular/fashion_conv.lua --set train=em --set estep_every=10 \
    --set seed=$seed --set epochs=$epochs --set train_size=$size
done
