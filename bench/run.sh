#!/bin/sh
# SPDX-License-Identifier: MIT
# `make bench` (issue 4): modlab and PyTorch on the same Fashion-MNIST tensors, each model
# at 1 and 2 threads, under two environment settings given identically to both sides, next
# to the sgemm-only bound; then, in each setting, the modular layer against one module
# (issue 8, bench/modular_bench), and the multipath routers' overhead (issue 7,
# bench/mp_routing); prints the table of medians and ratios (bench/table.awk).
#   run.sh --builddir DIR --srcdir DIR [--reps N] [--quick] [--no-accuracy]
# Environment: BENCH_PYTHON (default /usr/bin/python3, Debian's python3-torch),
# BENCH_SETTINGS (default "a b"), BENCH_MODELS (default "mlp cnn").
set -eu

builddir=. srcdir=. reps=5 accuracy=1
while [ $# -gt 0 ]; do
    case $1 in
    --builddir) builddir=$2; shift ;;
    --srcdir) srcdir=$2; shift ;;
    --reps) reps=$2; shift ;;
    --quick) reps=3; accuracy=0 ;;
    --no-accuracy) accuracy=0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

out=$builddir/bench/out
data=$out/data
results=$out/results.txt
python=${BENCH_PYTHON:-/usr/bin/python3}
settings=${BENCH_SETTINGS:-a b}
models=${BENCH_MODELS:-mlp cnn}
mlbench=$builddir/bench/ml_bench
bound=$builddir/bench/sgemm_bound
modbench=$builddir/bench/modular_bench
mkdir -p "$data"
: >"$results"

# The tensors both sides read, decoded once by modlab's idx reader (file:// mirror only).
if [ ! -s "$data/test_y.f32" ]; then
    MODLAB_OFFLINE=1 MODLAB_DATA_DIR=${MODLAB_DATA_DIR:-$out/cache} "$mlbench" prep "$data"
fi

torch=1
if ! skip=$("$python" "$srcdir/bench/torch_bench.py" check 2>&1); then
    torch=0
    echo "$skip" | grep '^skip:' || echo "skip: PyTorch side not run: $skip"
fi

# Machine facts for the README (as measured, not as claimed).
{
    echo "fact date=$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "fact cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1 |
        tr ' ' '_')_family_$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo |
        head -n1) cores=$(nproc)"
    echo "fact kernel=$(uname -r) load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')"
    echo "fact openblas=$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null ||
        echo unknown) torch=$([ $torch = 1 ] && "$python" -c \
        'import torch; print(torch.__version__)' || echo none)"
    echo "fact env_a_OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" \
        "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset} GLIBC_TUNABLES=${GLIBC_TUNABLES:-unset}"
} >>"$results"

# run SETTING THREADS CMD...: CMD under the setting's environment, identical for every side.
run() {
    s=$1 t=$2
    shift 2
    if [ "$s" = b ]; then
        env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=passive GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
            OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" "$@"
    else
        env OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" "$@"
    fi
}

# Keep only the summary lines, tagged with the setting; show progress on stderr.
record() {
    while IFS= read -r line; do
        case $line in
        result* | bound* | accuracy* | modular\ * | routing\ *)
            echo "setting=$1 $line" >>"$results"
            echo "  $1: $line" | cut -c1-150 >&2 ;;
        esac
    done
}

for s in $settings; do
    echo "bench: setting $s" >&2
    for m in $models; do
        for t in 1 2; do
            run "$s" "$t" "$bound" --model "$m" --threads "$t" --reps "$reps" | record "$s"
            # Alternate which side goes first, so a drift in machine load hits both alike.
            if [ $t = 1 ]; then order="torch modlab"; else order="modlab torch"; fi
            for side in $order; do
                if [ $side = modlab ]; then
                    run "$s" "$t" "$mlbench" run --model "$m" --threads "$t" --reps "$reps" \
                        --data "$data" | record "$s"
                elif [ $torch = 1 ]; then
                    run "$s" "$t" "$python" "$srcdir/bench/torch_bench.py" run --model "$m" \
                        --threads "$t" --reps "$reps" --data "$data" | record "$s"
                fi
            done
        done
    done
done

# Conditional computation (issue 8): a modular layer (M=8, K=1) against one module, 1
# thread, forward only, the three timed in interleaved rounds inside the program.
if [ -x "$modbench" ]; then
    if [ $reps -le 3 ]; then mreps=5; else mreps=9; fi
    for s in $settings; do
        echo "bench: modular layer, setting $s" >&2
        for cfg in "--batch 64 --iters 100" "--batch 256 --iters 20" \
            "--in 784 --out 32 --batch 32 --iters 200"; do
            # shellcheck disable=SC2086
            run "$s" 1 "$modbench" $cfg --reps $mreps | record "$s"
        done
    done
else
    echo "skip: $modbench not built (make bench/modular_bench)" >&2
fi

# Routing overhead (issue 7): a router's forward time as a share of its multipath block's
# (the router and n conv paths), n = 2 and 4, each router; the machine's setting, 1 thread.
rbench=$builddir/bench/mp_routing
if [ -x "$rbench" ]; then
    echo "bench: multipath routing overhead, setting a" >&2
    if [ $reps -le 3 ]; then rreps=15; else rreps=40; fi
    run a 1 "$rbench" --reps $rreps --kv 1 | record a
else
    echo "skip: $rbench not built (make bench/mp_routing)" >&2
fi

# Accuracy parity: the MLP trained to the same epoch count on both sides, three seeds.
if [ $accuracy = 1 ]; then
    echo "bench: accuracy (MLP, 10 epochs, seeds 1-3, setting a, 1 thread)" >&2
    for seed in 1 2 3; do
        run a 1 "$mlbench" accuracy --model mlp --epochs 10 --seed $seed --threads 1 \
            --data "$data" | record a
        if [ $torch = 1 ]; then
            run a 1 "$python" "$srcdir/bench/torch_bench.py" accuracy --model mlp \
                --epochs 10 --seed $seed --threads 1 --data "$data" | record a
        fi
    done
fi

awk -v reps="$reps" -f "$srcdir/bench/table.awk" "$results"
