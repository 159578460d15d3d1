# SPDX-License-Identifier: MIT
# Several agents on one sweep directory (issue 18, item 6): two `modlab sweep` processes at
# once run every trial exactly once; a stale lock (dead pid, or a reused pid with another
# start time) is broken; a live lock, or one from another host, is honoured by
# `modlab trial` (no run, no failure) and by `modlab sweep`, which skips the trial and takes
# it up once it is free.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
sweep_setup sweep/recipe.lua

ids() { "$MODLAB" sweep "$1" --dry-run | awk '$1 ~ /^[0-9]+$/ { print $2 }'; }
host=$(uname -n)
# The start time (clock ticks, field 22 of /proc/PID/stat) of process $1.
start_of() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }

grid_sweep two.yaml two recipe.lua valid_accuracy maximize <<'EOF'
  optimizer.lr: {values: [0.02, 0.05, 0.1, 0.2]}
  model.width: {values: [8, 16]}
  epochs: {value: 3}
  epoch_sleep: {value: 0.05}
EOF
d="$t/runs/two"
"$MODLAB" sweep two.yaml -j 1 > a.log 2>&1 &
pa=$!
"$MODLAB" sweep two.yaml -j 1 > b.log 2>&1 &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
is "$ra,$rb" "0,0" "two concurrent sweeps on one directory both succeed"
is "$(count '"event":"started"' "$d/journal.jsonl")" 8 "8 trials, each started once"
is "$(count '"event":"finished"' "$d/journal.jsonl")" 8 "8 finished lines"
once=0
for id in $(ids two.yaml); do
    [ "$(trial_events "$d/journal.jsonl" "$id" | grep -c '^finished$')" = 1 ] && once=$((once + 1))
done
is "$once" 8 "every trial finished exactly once"
is "$(count '"event":"failed"' "$d/journal.jsonl")" 0 "no trial failed (a refused claim is no failure)"
rep=0
for m in "$d"/trials/*/metrics.jsonl; do
    [ -n "$(sed -n 's/.*"epoch":\([0-9]*\).*/\1/p' "$m" | sort | uniq -d)" ] && rep=$((rep + 1))
done
is "$rep" 0 "no repeated epochs in any trials/<id>/metrics.jsonl"
is "$(ls "$d/trials/"*/metrics.jsonl | wc -l | tr -d ' ')" 8 "8 trial run directories"
is "$(ls "$d/locks/" 2>/dev/null | grep -c '\.lock$')" 0 "every lock released"
is "$(sed 1d "$d/results.csv" | grep -c ',finished,')" 8 "results.csv: 8 finished rows"

# Locks written by hand, in the documented format.
grid_sweep held.yaml held recipe.lua valid_accuracy maximize <<'EOF'
  optimizer.lr: {values: [0.05, 0.1, 0.2, 0.3]}
  epochs: {value: 1}
EOF
h="$t/runs/held"
"$MODLAB" sweep plan held.yaml > /dev/null || echo "# sweep plan failed"
set -- $(ids held.yaml)
id0=$1 id1=$2 id2=$3 id3=$4
mkdir -p "$h/locks"
lock() { printf 'host=%s\npid=%s\nstart=%s\ntime=%s\n' "$2" "$3" "$4" "$(date +%s)" > "$h/locks/$1.lock"; }

sh -c 'exit 0' & dead=$!
wait $dead
lock "$id0" "$host" "$dead" 1
out=$("$MODLAB" trial "$h" --index 0 2>&1); rc=$?
is "$rc" 0 "stale lock (dead pid): the trial runs"
is "$(trial_events "$h/journal.jsonl" "$id0" | tr '\n' ' ')" "started finished " \
   "... started and finished"
ok $([ ! -e "$h/locks/$id0.lock" ]; echo $?) "... and its lock is gone afterwards"

lock "$id3" "$host" $$ 1
out=$("$MODLAB" trial "$h" --index 3 2>&1); rc=$?
is "$rc" 0 "stale lock (pid reused: another start time): the trial runs"
is "$(trial_events "$h/journal.jsonl" "$id3" | tr '\n' ' ')" "started finished " \
   "... started and finished"

# A zombie: the subshell becomes `sleep 5`, which never reaps its child.
( sleep 0.1 & echo $! > zpid; exec sleep 5 ) &
zparent=$!
i=0
while [ "$(sed 's/.*) //' "/proc/$(cat zpid 2>/dev/null)/stat" 2>/dev/null | cut -c1)" != Z ] &&
      [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
zpid=$(cat zpid)
# Trial 3 again: forget its run above (its directory and journal lines).
rm -rf "$h/trials/$id3"
sed -i "/\"trial\":\"$id3\"/d" "$h/journal.jsonl"
lock "$id3" "$host" "$zpid" "$(start_of "$zpid")"
out=$("$MODLAB" trial "$h" --index 3 2>&1); rc=$?
is "$rc" 0 "stale lock (a zombie: a trial killed and not reaped yet): the trial runs"
is "$(trial_events "$h/journal.jsonl" "$id3" | tr '\n' ' ')" "started finished " \
   "... started and finished"
kill $zparent 2>/dev/null; wait $zparent 2>/dev/null

lock "$id1" "$host" $$ "$(start_of $$)"
out=$("$MODLAB" trial "$h" --index 1 2>&1); rc=$?
is "$rc" 0 "live lock: modlab trial exits 0"
like "$out" "claimed by $host:$$" "... saying who holds it"
is "$(trial_events "$h/journal.jsonl" "$id1")" "" "... without running it (no journal line)"
ok $([ ! -d "$h/trials/$id1" ]; echo $?) "... and without touching trials/<id>"
ok $([ -e "$h/locks/$id1.lock" ]; echo $?) "... and the holder's lock stays"

lock "$id2" elsewhere.example 1 1
out=$("$MODLAB" trial "$h" --index 2 2>&1); rc=$?
is "$rc" 0 "a lock of another host is honoured"
like "$out" "claimed by elsewhere.example:1" "... saying which host holds it"
is "$(trial_events "$h/journal.jsonl" "$id2")" "" "... without running it"
rm "$h/locks/$id2.lock"

printf 'garbage\n' > "$h/locks/$id2.lock"
out=$("$MODLAB" trial "$h" --index 2 2>&1); rc=$?
like "$out" "unreadable lock" "a malformed lock is not broken: it is named"
is "$(trial_events "$h/journal.jsonl" "$id2")" "" "... and the trial does not run"
rm "$h/locks/$id2.lock"
ln -s "$h/sweep.json" "$h/locks/$id2.lock"
out=$("$MODLAB" trial "$h" --index 2 2>&1); rc=$?
like "$out" "unreadable lock" "a symbolic link as the lock is not followed: it is named"
is "$(trial_events "$h/journal.jsonl" "$id2")" "" "... and the trial does not run"
rm "$h/locks/$id2.lock"

# modlab sweep: skips the held trial, runs the rest, waits, takes it up once released.
"$MODLAB" sweep "$h" --resume -j 1 > s.log 2>&1 &
ps=$!
wait_for "$h/journal.jsonl" '"event":"finished"' 3
is "$(trial_events "$h/journal.jsonl" "$id1")" "" "sweep: the held trial is not run while held"
ok $(kill -0 $ps 2>/dev/null; echo $?) "... the sweep waits for it"
rm "$h/locks/$id1.lock"
wait $ps; rc=$?
is "$rc" 0 "... and, once released, runs it and succeeds"
is "$(trial_events "$h/journal.jsonl" "$id1" | tr '\n' ' ')" "started finished " \
   "... exactly once"
like "$(cat s.log)" "claimed by $host:$$" "... having said who held it"
is "$(count '"event":"failed"' "$h/journal.jsonl")" 0 "... and nothing counted as failed"
done_testing
