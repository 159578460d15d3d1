# SPDX-License-Identifier: MIT
# No user text reaches a shell (issue 18, item 1): paths holding $(...) and backticks go
# through every place that used to build a command line (the sweep's copy of a stopped trial,
# `modlab run --resume`, the git commit lookup, reports). Each case asserts that the marker
# file was not created and that the operation still did its job.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
make_tmpdir
cd "$t" || exit 1
cp "$top_srcdir/tests/fixtures/crash/resumable.lua" "$t/r.lua"
# Every injected command is `touch X` run in the current directory, $t.
no_marker() { ok $([ ! -e "$t/X" ]; echo $?) "$1: no command ran (no marker file)"; rm -f "$t/X"; }


# 1. A sweep trial killed after its first checkpoint: the next attempt copies the stopped
# trial to attempts/ (it was `cp -a` through the shell) and resumes from the checkpoint.
out="$t/o\$(touch X)"
cat > s.yaml <<'EOF'
name: inj
program: r.lua
method: grid
parameters:
  epochs: {value: 3}
modlab:
  retries: 1
EOF
"$MODLAB" sweep plan s.yaml --out "$out" > plan.log 2>&1; ok $? "sweep plan into $out"
d="$out"
id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' "$d/sweep.json" | head -1)
pause_kill mid-epoch:2 "$t/killed.log" "$MODLAB" trial "$d" --index 0
ok $? "trial 0 stopped in epoch 2 (after its first checkpoint) and killed"
ok $([ -f "$d/trials/$id/checkpoint.safetensors" ]; echo $?) "... leaving a checkpoint"
res=$("$MODLAB" trial "$d" --index 0 2>&1); ok $? "the retry of trial 0 finishes"
no_marker "copy of the stopped trial"
like "$(grep '"event":"started"' "$d/journal.jsonl" | tail -1)" '"resumed":true' \
     "the retry resumed from the checkpoint (the copy succeeded)"
ok $([ -f "$d/attempts/$id-1/checkpoint.safetensors" ] &&
     cmp -s "$d/attempts/$id-1/config.json" "$d/trials/$id/config.json"; echo $?) \
   "attempts/$id-1 holds the stopped attempt's files"

# 2. `modlab run --resume` of a run directory whose path holds $(...): the stale temp file
# of a checkpoint killed before its rename is removed (it was found with `ls` in a shell).
runs="$t/r\$(touch X)"
pause_kill 'before-rename:checkpoint.safetensors#2' "$t/killed.log" \
    "$MODLAB" run r.lua --out "$runs"
ok $? "a run stopped between the 2nd checkpoint's temp file and its rename, killed"
dir=$(ls -d "$runs"/r-* | head -1)
ok $([ -n "$(ls "$dir" | grep 'checkpoint.safetensors.tmp')" ]; echo $?) "... a temp file is left"
res=$("$MODLAB" run --resume "$dir" 2>&1); ok $? "--resume $dir finishes"
no_marker "--resume"
is "$(ls "$dir" | grep -c '\.tmp')" 0 "the resumed run removed the stale temp file"

# 3. A recipe in a git repository whose directory is named proj$(touch X) or q`touch X`:
# meta.json records the commit (looked up with `git -C DIR` through the shell before).
if command -v git > /dev/null 2>&1; then
    for name in 'proj$(touch X)' 'q`touch X`'; do
        p="$t/$name"
        mkdir "$p" && cp r.lua "$p/r.lua"
        git -C "$p" init -q && git -C "$p" add r.lua &&
            git -C "$p" -c user.name=t -c user.email=t@example.invalid commit -q -m r
        want=$(git -C "$p" rev-parse HEAD)
        res=$("$MODLAB" run "$p/r.lua" --set epochs=1 --out "$t/git-runs" 2>&1)
        ok $? "a run of $name/r.lua"
        no_marker "git lookup of $name"
        m=$(ls -t "$t"/git-runs/r-*/meta.json | head -1)
        ok $(grep -q "\"git_commit\":\"$want\"" "$m"; echo $?) "meta.json records $name's commit"
        rm -rf "$t/git-runs"
    done
else
    ok 0 "# SKIP git is not installed"
fi

# 4. A report of a run whose path holds $(...) and a subdirectory with a newline in its name:
# the images one level below are found by name (they were `find` output split at newlines).
rdir="$runs/rep"
mkdir -p "$rdir/a
b"
cp "$dir"/*.json* "$rdir"/
printf 'P5\n2 2\n255\nabcd' > "$rdir/a
b/img.pgm"
res=$("$MODLAB" report "$rdir" 2>&1); ok $? "modlab report of $rdir"
no_marker "report"
ok $(printf '%s' "$res" | grep -q 'not shown'; [ $? -ne 0 ]; echo $?) \
   "no image was skipped as unreadable"
ok $(grep -q 'a\\nb/img.pgm' "$rdir/report.html"; echo $?) "the PGM under 'a<newline>b/' is in the report"
done_testing
