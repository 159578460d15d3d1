# SPDX-License-Identifier: MIT
# Run directories are claimed with an exclusive mkdir: runs started in the same second get
# their own directories (name-stamp, name-stamp-2, ...), never one shared directory.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
recipe="$top_srcdir/tests/fixtures/runs/tiny.lua"

# Four runs released at one instant (tests/fixtures/runs/tiny.lua's gate) create their run
# directories in the same second; the gate also holds any run that looks before it creates
# until all four have looked, the race a check-then-create loses.
pids=
for i in 1 2 3 4; do
    "$MODLAB" run "$recipe" --out "$t/runs" --set gate="$t/gate" --set seed=$i \
        > "$t/run$i.log" 2>&1 &
    pids="$pids $!"
done
codes=
for p in $pids; do wait "$p"; codes="$codes $?"; done
is "$codes" " 0 0 0 0" "four runs released at one instant all finish"
is "$(ls "$t/runs" | wc -l | tr -d ' ')" 4 "... in four run directories"
seeds=
for d in "$t"/runs/tiny-*; do
    is "$(wc -l < "$d/metrics.jsonl" | tr -d ' ')" 2 "$(basename "$d"): one metrics line per epoch"
    like "$(cat "$d/meta.json")" '"status":"finished"' "$(basename "$d"): meta.json finished"
    like "$(cat "$d/summary.json")" '"status":"finished"' "$(basename "$d"): summary.json finished"
    ok $([ -s "$d/model.safetensors" ]; echo $?) "$(basename "$d"): its own model.safetensors"
    seeds="$seeds $(grep -o '"seed":[0-9]*' "$d/config.json" | head -1 | cut -d: -f2)"
done
is "$(printf '%s\n' $seeds | sort | tr '\n' ' ')" "1 2 3 4 " "each directory holds one run's config"
for i in 1 2 3 4; do
    d=$(sed -n 's/.* -> \(.*\)$/\1/p' "$t/run$i.log")
    like "$(cat "$d/config.json" 2>/dev/null)" "\"seed\":$i" "run $i printed its own directory"
done

# A directory already there (made by hand, or by a run this second) is never reused.
stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$t/taken/tiny-$stamp" "$t/taken/tiny-$stamp-2"
"$MODLAB" run "$recipe" --out "$t/taken" > "$t/taken.log" 2>&1; ok $? "a run next to taken names"
ok $([ -z "$(ls -A "$t/taken/tiny-$stamp")" ] && [ -z "$(ls -A "$t/taken/tiny-$stamp-2")" ]; echo $?) \
   "... the taken directories stay empty"
done_testing
