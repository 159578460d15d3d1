#!/bin/sh
# Table (b) of recipes/modular/README.md: the four training modes at an equal step budget,
# run side by side, one BLAS thread each.   sh recipes/modular/run_lm.sh [steps] [seed]
steps=${1:-400}
seed=${2:-1}
export OPENBLAS_NUM_THREADS=1
for train in em single reinforce noisy_topk; do
  ./modlab run recipes/modular/lm.lua --set train=$train --set steps=$steps \
    --set seed=$seed > "${MODLAB_RUNS:-runs}/lm_${train}_s${seed}.log" 2>&1 &
done
wait
