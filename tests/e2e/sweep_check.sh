# SPDX-License-Identifier: MIT
# The sweep planner's checks from the command line (issue 18): inputs that used to crash
# (SIGFPE) or make an invalid plan (inf in JSON) are usage errors (exit 2) naming the key,
# for `sweep --dry-run`, `sweep plan` and `sweep export`; sweep names are never paths; the
# program is a readable file at plan time; the dry run shows the resolved output directory.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
sweep_setup sweep/recipe.lua

# rejected FILE WANT DESCRIPTION: dry run, plan and export each exit 2 with WANT.
rejected() {
    for how in dry-run plan export; do
        case $how in
            dry-run) out=$("$MODLAB" sweep "$1" --dry-run 2>&1); rc=$? ;;
            plan) out=$("$MODLAB" sweep plan "$1" --out "$t/plan-out" 2>&1); rc=$? ;;
            export) out=$("$MODLAB" sweep export "$1" --format wandb 2>&1); rc=$? ;;
        esac
        like "$rc $out" "^2 modlab: error: .*$2" "$3: sweep $how exits 2 naming it"
    done
    ok $([ ! -e "$t/plan-out" ]; echo $?) "$3: nothing written"
}

head='program: recipe.lua
method: random
run_cap: 4'

printf 'program: recipe.lua\nmethod: grid\nparameters:\n  n: {min: -9223372036854775808, max: 9223372036854775807}\n' > grid64.yaml
rejected grid64.yaml "grid over parameter 'n' is too large" "grid over the full int64 range"

printf '%s\nparameters:\n  x: {min: -1.7e308, max: 1.7e308}\n' "$head" > huge.yaml
rejected huge.yaml "parameter 'x' are too far apart" "uniform over +-1.7e308"
printf '%s\nparameters:\n  x: {distribution: q_uniform, min: 0, max: 10, q: 1e-300}\n' "$head" > tinyq.yaml
rejected tinyq.yaml "q of parameter 'x' is too small" "q: 1e-300"
printf '%s\nparameters:\n  x: {distribution: log_uniform, min: 0, max: 1000}\n' "$head" > logu.yaml
rejected logu.yaml "max of parameter 'x' is 1000, and exp(max) overflows" "log_uniform up to exp(1000)"
printf '%s\nparameters:\n  x: {distribution: log_uniform_values, min: 0, max: 1}\n' "$head" > logv.yaml
rejected logv.yaml "min of parameter 'x' must be > 0" "log_uniform_values with min 0"
printf '%s\nmetric: {name: valid_loss}\nearly_terminate: {type: hyperband, min_iter: 1, eta: 1e308}\nparameters:\n  x: {values: [1]}\n' "$head" > eta.yaml
rejected eta.yaml "early_terminate.eta" "hyperband eta: 1e308"
printf '%s\nparameters:\n  x: {values: [1]}\nmodlab: {timeout: inf}\n' "$head" > tinf.yaml
rejected tinf.yaml "timeout must be seconds" "timeout: inf"

# Random draws over the full int64 range: all different (they were all INT64_MIN).
printf '%s\nparameters:\n  n: {min: -9223372036854775808, max: 9223372036854775807}\n' "$head" > rand64.yaml
out=$("$MODLAB" sweep rand64.yaml --dry-run 2>&1); rc=$?
is "$rc" 0 "random over the full int64 range: accepted"
is "$(printf '%s\n' "$out" | sed -n 's/.* n=//p' | sort -u | wc -l | tr -d ' ')" 4 \
   "... and its 4 draws differ"

# q_log_uniform_values never below min (it drew 0 for min 0.1, q 1).
printf 'program: recipe.lua\nmethod: random\nrun_cap: 200\nparameters:\n  x: {distribution: q_log_uniform_values, min: 0.1, max: 10, q: 1}\n  i: {min: 0, max: 1000000000}\n' > qlog.yaml
out=$("$MODLAB" sweep qlog.yaml --dry-run 2>&1)
xs=$(printf '%s\n' "$out" | sed -n 's/.* x=\([^ ]*\).*/\1/p')
is "$(printf '%s\n' "$xs" | wc -l | tr -d ' ')" 200 "q_log_uniform_values: 200 draws"
is "$(printf '%s\n' "$xs" | awk '$1 < 0.1 || $1 > 10' | wc -l | tr -d ' ')" 0 "... none outside [0.1, 10]"

# Sweep names: a safe set, never a path.
for name in ../../escaped-sweep ..evil .hidden -x 'a/b' 'lr-$(touch X)'; do
    printf 'name: "%s"\nprogram: recipe.lua\nmethod: grid\nparameters:\n  x: {values: [1]}\n' "$name" > name.yaml
    out=$(MODLAB_RUNS="$t/a/b/runs" "$MODLAB" sweep name.yaml 2>&1); rc=$?
    like "$rc $out" "^2 modlab: error: name.yaml:1:7: the sweep's 'name' .*\[A-Za-z0-9._-\]" \
         "name: $name is an error naming the key and the allowed set"
done
# (the runs root is $t/a/b/runs: ../../escaped-sweep would be $t/a/escaped-sweep)
ok $([ -z "$(find "$t" -name '*escaped*')" ] && [ ! -e "$t/a" ] && [ ! -e X ]; echo $?) \
   "... and nothing was written, inside the output root or outside"
# A name taken from the file's stem is made safe, never a path.
printf 'program: recipe.lua\nmethod: grid\nparameters:\n  x: {values: [1]}\n' > ..yaml
out=$("$MODLAB" sweep ..yaml --dry-run 2>&1); rc=$?
like "$rc $out" "^0 sweep _: 1 trial .* -> $t/runs/_$" "a file named ..yaml: the sweep is named _"

# The program: a readable regular file at plan time.
mkdir adir
for prog in . adir missing.lua; do
    printf 'program: %s\nmethod: grid\nparameters:\n  x: {values: [1]}\n' "$prog" > prog.yaml
    for how in --dry-run plan; do
        if [ $how = plan ]; then out=$("$MODLAB" sweep plan prog.yaml --out po 2>&1); rc=$?
        else out=$("$MODLAB" sweep prog.yaml --dry-run 2>&1); rc=$?; fi
        like "$rc $out" "^2 modlab: error: prog.yaml: program '$prog' " \
             "program: $prog is an error at plan time (sweep $how)"
    done
done
like "$out" "not found" "... a missing one is 'not found'"
printf 'program: .\nmethod: grid\nparameters:\n  x: {values: [1]}\n' > prog.yaml
like "$("$MODLAB" sweep prog.yaml --dry-run 2>&1)" "is a directory, not a regular file" \
     "... a directory is named as such"
ok $([ ! -e po ] && [ ! -e runs ]; echo $?) "... and nothing was written"

# output_dir is resolved, and the dry run shows where the sweep would go.
printf 'name: od\nprogram: recipe.lua\nmethod: grid\nparameters:\n  x: {values: [1]}\nmodlab: {output_dir: "sub/../elsewhere/./{name}"}\n' > od.yaml
like "$("$MODLAB" sweep od.yaml --dry-run 2>&1)" "^sweep od: 1 trial .* -> $t/elsewhere/od$" \
     "the dry run shows output_dir resolved to an absolute path"
like "$("$MODLAB" sweep od.yaml --dry-run --out rel/x/.. 2>&1)" "^sweep od: .* -> $t/rel$" \
     "... and --out too"

# sweep.json is data: a trial id edited into a path is refused before it becomes one.
printf 'name: tamper\nprogram: recipe.lua\nmethod: grid\nparameters:\n  x: {values: [1]}\n' > tamper.yaml
"$MODLAB" sweep plan tamper.yaml --out tampered >/dev/null 2>&1
id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' tampered/sweep.json | head -n 1)
ok $([ -n "$id" ]; echo $?) "sweep plan writes a trial id ($id)"
sed "s/\"$id\"/\"..\/..\/escaped\"/" tampered/sweep.json > tampered/sweep.json.new &&
    mv tampered/sweep.json.new tampered/sweep.json
out=$("$MODLAB" trial tampered --index 0 2>&1); rc=$?
like "$rc $out" "^2 modlab: error: tampered/sweep.json: trial 0 has no valid id" \
     "modlab trial refuses a sweep.json whose trial id is a path"
ok $([ ! -e "$t/escaped" ] && [ -z "$(ls tampered/trials)" ] && [ ! -e tampered/locks ]; echo $?) \
   "... and creates nothing"
done_testing
