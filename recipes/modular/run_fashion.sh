#!/bin/sh
# Table (a) of recipes/modular/README.md: every training mode, 3 seeds, one thread each.
#   sh recipes/modular/run_fashion.sh [epochs]   (run from the build directory)
set -e
epochs=${1:-10}
export OPENBLAS_NUM_THREADS=1
for seed in 1 2 3; do
  for train in em single reinforce noisy_topk; do
    ./modlab run recipes/modular/fashion.lua --set train=$train --set seed=$seed \
      --set epochs=$epochs
  done
  ./modlab run recipes/modular/fashion.lua --set train=em --set estep_every=1 \
    --set seed=$seed --set epochs=$epochs
done
