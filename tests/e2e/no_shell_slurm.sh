# SPDX-License-Identifier: MIT
# The Slurm launcher with user text (issue 18, item 2), against fake sbatch, squeue and
# scontrol that record what they were given: every value written into the batch script is
# checked (no newline or control character, names from a safe set) and single-quoted, and a
# path holding $(...) or a quote reaches sbatch as one argument, never through a shell.
# tests/e2e/sweep_slurm.sh runs the same launcher against a real Slurm.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
cd "$t" || exit 1
cp "$top_srcdir/tests/fixtures/sweep/recipe.lua" "$t/recipe.lua"
mkdir bin
cat > bin/sbatch <<EOF
#!/bin/sh
# fake sbatch: record the arguments and the script, print a job id as --parsable does
n=\$(ls "$t"/submitted-*.sh 2>/dev/null | wc -l)
printf '%s\n' "\$@" > "$t/sbatch-\$n.args"
for a; do last=\$a; done
cp "\$last" "$t/submitted-\$n.sh"
echo "\$((4200 + n));modlabtest"
EOF
cat > bin/squeue <<EOF
#!/bin/sh
printf '%s\n' "\$@" > "$t/squeue.args"
EOF
cat > bin/scontrol <<'EOF'
#!/bin/sh
printf 'Configuration data as of now\nMaxArraySize            = 2\nMaxJobCount = 10000\n'
EOF
chmod +x bin/*
PATH="$t/bin:$PATH"; export PATH
no_marker() { ok $([ ! -e "$t/X" ]; echo $?) "$1: no command ran (no marker file)"; rm -f "$t/X"; }
nsub() { ls "$t"/submitted-*.sh 2>/dev/null | wc -l | tr -d ' '; }
sweep() { # NAME SLURM-SETTINGS: write s.yaml
    cat > s.yaml <<EOF
name: $1
program: recipe.lua
method: grid
parameters:
  epochs: {value: 1}
  size: {values: [40, 60, 80]}
modlab:
  launcher: slurm
  slurm: $2
EOF
}

# 1. A path with $(...), a quote and a space: the submission works, the script is quoted.
out="$t/o\$(touch X) 'q'"
sweep fake '{partition: debug, time: "00:10:00", mem: 1G, cpus_per_task: 1}'
res=$("$MODLAB" sweep s.yaml --out "$out" --wait 2>&1); rc=$?
is "$rc" 1 "submitted, waited (the fake jobs ran nothing, so the trials are unfinished)"
no_marker "sbatch, squeue and scontrol of $out"
is "$(nsub)" 2 "MaxArraySize 2 from scontrol: two arrays submitted"
s0="$t/submitted-0.sh"
is "$(sed -n 2p "$t/sbatch-0.args")" "$(ls "$out"/slurm/array-*-1.sh)" \
   "sbatch got the script's path as one argument"
like "$(grep -- '--partition' "$s0")" "^#SBATCH --partition='debug'$" "partition single-quoted"
like "$(grep -- '--time' "$s0")" "^#SBATCH --time='00:10:00'$" "time single-quoted"
like "$(grep -- '--mem' "$s0")" "^#SBATCH --mem='1G'$" "mem single-quoted"
like "$(grep -- '--job-name' "$s0")" "^#SBATCH --job-name='modlab-fake'$" "job name single-quoted"
is "$(grep -- '--output' "$s0")" "#SBATCH --output='$t/o\$(touch X) '\\''q'\\''/slurm/%A_%a.out'" \
   "the output path single-quoted, its quote escaped"
is "$(grep -c "" "$t/squeue.args")" 6 "--wait asked squeue, one argument each"
like "$(sed -n 6p "$t/squeue.args")" '^4200,4201$' "... for both job ids"
# The script runs the trial it names, however odd the path.
# (An uninstalled modlab finds libmodlab through the libtool wrapper's LD_LIBRARY_PATH, which
# sbatch would pass on to the job.)
LD_LIBRARY_PATH="$top_builddir/core/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    SLURM_ARRAY_TASK_ID=1 sh "$s0" > task.log 2>&1
ok $? "array task 1 of the first script runs"
no_marker "the batch script"
is "$(grep -c '"event":"finished"' "$out/journal.jsonl")" 1 "... and trial 1 finished"

# 2. Values that would add lines to the script: refused before anything is submitted.
refused() { # DESCRIPTION PATTERN [sweep directory]: into $t/p<N> unless given
    what=$1 pat=$2 p=${3:-$t/p$tap_n}
    rm -f "$t"/submitted-*.sh
    res=$("$MODLAB" sweep s.yaml --out "$p" 2>&1); rc=$?
    is "$rc" 2 "$what: the sweep fails as bad usage (exit 2)"
    like "$res" "$pat" "$what: the message names it"
    is "$(nsub)" 0 "$what: nothing submitted"
    no_marker "$what"
    ok $([ -z "$(ls "$p/slurm" 2>/dev/null)" ]; echo $?) "$what: no script was written"
}
sweep nl '{partition: "debug\n#SBATCH --wrap=touch X\ntouch X"}'
refused "a newline in slurm.partition" "modlab.slurm.partition"
sweep nl '{time: "1:00 --wrap=x"}'
refused "a space in slurm.time" "modlab.slurm.time"
sweep nl '{job_name: "a;touch X"}'
refused "a ; in slurm.job_name" "modlab.slurm.job_name"
sweep nl '{mem: "1G\rx"}'
refused "a carriage return in slurm.mem" "modlab.slurm.mem"
sweep nl '{extra: ["--exclusive\ntouch X"]}'
refused "a newline in an slurm.extra directive" "modlab.slurm.extra"
sweep '"nl\ntouch X"' '{partition: debug}'
refused "a newline in the sweep name" "name"
sweep ok '{partition: debug}'
refused "a newline in the sweep directory" "control character" "$t/p
touch X"
# slurm.setup lines are shell the sweep's author writes for the cluster: raw by design.
sweep setup '{setup: ["echo set up", "export A=1"]}'
rm -f "$t"/submitted-*.sh
"$MODLAB" sweep s.yaml --out "$t/setup" > /dev/null 2>&1
like "$(cat "$t/submitted-0.sh")" "echo set up" "slurm.setup lines are written as they are"
done_testing
