# SPDX-License-Identifier: MIT
# The Slurm launcher against a real single-node Slurm: this test starts munged, slurmctld and
# slurmd on localhost (private config, ports, sockets and spool under a temp dir), submits a
# sweep as job arrays chunked below MaxArraySize, resumes a failed index, and stops them all.
# Skipped, with the reason, where Slurm cannot run (not root, packages missing).
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
for b in munged slurmctld slurmd sbatch squeue sinfo; do
    command -v $b > /dev/null 2>&1 || [ -x /usr/sbin/$b ] ||
        skip_all "$b not installed (apt-get install slurm-wlm munge)"
done
[ "$(id -u)" = 0 ] || skip_all "slurmd must run as root to start jobs (run make check as root)"
[ -r /etc/munge/munge.key ] || skip_all "no readable /etc/munge/munge.key (reinstall munge)"
PATH=$PATH:/usr/sbin
make_tmpdir
chmod 755 "$t"
s="$t/slurm"
mkdir -p "$s/state" "$s/spool" "$s/munge" "$s/log"
chmod 700 "$s/munge"
host=$(hostname -s)
base=$((20000 + $$ % 20000))
cat > "$s/slurm.conf" <<EOF
ClusterName=modlabtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$s/munge/sock
CredType=cred/munge
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd.pid
SlurmctldLogFile=$s/log/slurmctld.log
SlurmdLogFile=$s/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
MaxArraySize=5
SchedulerParameters=sched_interval=1
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$s/slurm.conf"
cleanup() {
    for p in slurmd slurmctld; do
        [ -s "$s/$p.pid" ] && kill "$(cat "$s/$p.pid")" 2> /dev/null
    done
    [ -s "$s/munge/pid" ] && kill "$(cat "$s/munge/pid")" 2> /dev/null
    sleep 0.5
    rm -rf "$t"
}
trap cleanup EXIT
munged --socket="$s/munge/sock" --key-file=/etc/munge/munge.key --pid-file="$s/munge/pid" \
    --log-file="$s/munge/log" --seed-file="$s/munge/seed" --force > "$s/log/munged.out" 2>&1 ||
    skip_all "munged does not start: $(tail -1 "$s/munge/log" 2> /dev/null)"
slurmctld -f "$s/slurm.conf" > "$s/log/ctld.out" 2>&1 ||
    skip_all "slurmctld does not start: $(tail -1 "$s/log/slurmctld.log" 2> /dev/null)"
slurmd -f "$s/slurm.conf" > "$s/log/slurmd.out" 2>&1 ||
    skip_all "slurmd does not start: $(tail -1 "$s/log/slurmd.log" 2> /dev/null)"
i=0
until sinfo -h -o %T 2> /dev/null | grep -q idle; do
    i=$((i + 1))
    [ $i -gt 60 ] && skip_all "the Slurm node does not come up: $(tail -1 "$s/log/slurmd.log")"
    sleep 0.5
done
ok 0 "a single-node Slurm runs (slurmctld, slurmd, munged on localhost)"

cp "$top_srcdir/tests/fixtures/sweep/recipe.lua" "$t/recipe.lua"
cd "$t" || exit 1
touch "$t/marker"
grid_sweep s.yaml slurm recipe.lua valid_accuracy maximize <<EOF
  optimizer.lr: {values: [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5]}
  epochs: {value: 2}
  fail: {value: once}
  marker: {value: $t/marker}
modlab:
  launcher: slurm
  slurm: {array_parallelism: 2, time: "00:10:00"}
EOF
d="$t/runs/slurm"
out=$(MODLAB_RUNS="$t/runs" "$MODLAB" sweep s.yaml --wait 2>&1); rc=$?
is "$rc" 1 "a sweep with one failed trial exits 1 after the arrays end"
like "$out" "submitting 5 trials: .*(--array=0-4%2)" "chunked at MaxArraySize 5: first array 0-4"
like "$out" "submitting 2 trials: .*(--array=0-1%2)" "... then 0-1 shifted by an offset"
like "$(cat "$d"/slurm/array-*-2.sh)" 'trial .* --index $((SLURM_ARRAY_TASK_ID + 5))' \
     "the second script maps task ids to trial indices 5, 6"
is "$(grep -c '"event":"finished"' "$d/journal.jsonl")" 6 "6 trials finished under Slurm"
is "$(grep -c '"event":"failed"' "$d/journal.jsonl")" 1 "the failing one failed"
like "$(grep '"event":"started"' "$d/journal.jsonl" | head -1)" '"slurm_job":"[0-9]*_[0-9]"' \
     "trials record their array job and task"
n=$(ls "$d"/slurm/*_*.out | wc -l | tr -d ' ')
is "$n" 7 "one log per array task (%A_%a.out)"
failed=$("$MODLAB" sweep pending "$d")
out=$(MODLAB_RUNS="$t/runs" "$MODLAB" sweep s.yaml --resume --wait 2>&1); rc=$?
is "$rc" 0 "--resume resubmits and the sweep completes"
like "$out" "submitting 1 trial: .*(--array=$failed%2)" "--resume submits only the unfinished index $failed"
is "$(grep -c '"event":"finished"' "$d/journal.jsonl")" 7 "all 7 finished"
is "$(sed 1d "$d/results.csv" | grep -c ',finished,')" 7 "results.csv complete"
out=$(MODLAB_RUNS="$t/runs" "$MODLAB" sweep s.yaml --resume --wait 2>&1)
like "$out" "nothing to submit" "nothing left to submit"
done_testing
