#!/bin/sh
# tests/many_machines.sh SUITE GREENBENCH FAKE_BIN GOLDEN_DIR: a campaign over
# many machines without a cluster (ctest entries many-<suite>), on the fake
# cell programs of tests/fake_cells (GREENBENCH_BIN_DIR=FAKE_BIN):
#   parallel: `run --emit parallel`, then run-parallel.sh with `-S :` (this
#     machine as the host) twice, as hosts alpha and beta (GREENBENCH_HOST_ID),
#     then merge: two hosts never pooled, one folder each, per-host ratios for
#     every comparison group, the cross-host table; a failed job read from the
#     joblog. SKIPPED (exit 77) without GNU parallel (Debian: parallel).
#   slurm: `run --emit slurm`: run-slurm.sbatch passes `bash -n` and equals
#     GOLDEN_DIR/run-slurm.sbatch (the binary's path written @GREENBENCH@);
#     its array tasks, run by hand with Slurm's variables, then merged.
#   merge: shards run with `run --shard`; a folder of another plan refused
#     (and merged with --force), a duplicate shard and a missing one reported,
#     --shard into its own folder resumes; report and compare on the merge.
set -u
suite=$1 gb=$2 fake=$3 golden=$4
export GREENBENCH_BIN_DIR=$fake
unset GREENBENCH_HOST_ID
tmp=$(mktemp -d /tmp/gb-test-many-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAILED: $*" >&2
    failures=$((failures + 1))
}

# has FILE TEXT: FILE holds TEXT.
has() {
    grep -qF -- "$2" "$1" 2>/dev/null || fail "$1 lacks: $2"
}

# A small campaign in $tmp/$1 for engine $2: switch (one group) and spawn at
# two sizes (two groups), 3 repetitions each (or ${3:-} more options).
emit() {
    "$gb" run --workload switch,spawn --n 1000,10000 --impl green,threads --switch asm \
        --reps 3 --seed 7 ${3:-} --emit "$2" --out "$tmp/$1" >"$tmp/$1.emit" 2>&1 ||
        fail "run --emit $2: exit $?: $(cat "$tmp/$1.emit")"
}

suite_parallel() {
    if ! command -v parallel >/dev/null 2>&1; then
        echo "many-parallel: GNU parallel is not installed: skipped (Debian package: parallel)"
        exit 77
    fi
    emit C parallel
    has "$tmp/C.emit" "run-parallel.sh -S :"
    n=$(ls "$tmp/C/shards" | wc -l)
    [ "$n" = 3 ] || fail "3 shards (switch; spawn n=1000; spawn n=10000) expected, got $n"
    GREENBENCH_HOST_ID=alpha "$tmp/C/run-parallel.sh" -S : >"$tmp/alpha.log" 2>&1 ||
        fail "run-parallel.sh as alpha: $(tail -5 "$tmp/alpha.log")"
    GREENBENCH_HOST_ID=beta "$tmp/C/run-parallel.sh" --runs runs-beta --joblog joblog-beta -S : \
        >"$tmp/beta.log" 2>&1 || fail "run-parallel.sh as beta: $(tail -5 "$tmp/beta.log")"
    has "$tmp/C/joblog" "--shard shards/002.json"
    has "$tmp/C/logs/preflight-hosts.txt" '"id":"beta"'
    "$gb" merge "$tmp/M" "$tmp/C" >"$tmp/merge.log" 2>&1 || fail "merge: $(cat "$tmp/merge.log")"
    # The plot of one ratio per host: a column per host, drawn when gnuplot is there.
    has "$tmp/M/plots/hosts.dat" 'cell "alpha" "beta"'
    has "$tmp/M/plots/hosts.dat" '"spawn green asm/libev n=1000" '
    if command -v gnuplot >/dev/null 2>&1; then
        [ -s "$tmp/M/plots/hosts.svg" ] || fail "hosts.svg not drawn"
        has "$tmp/M/report.md" "(plots/hosts.svg)"
    fi
    [ -d "$tmp/M/hosts/alpha" ] && [ -d "$tmp/M/hosts/beta" ] || fail "one folder per host"
    # Never pooled: each host's cell has its own 3 repetitions.
    has "$tmp/M/summary.csv" "alpha,spawn green asm/libev n=1000,spawn,green,asm,libev,1000,,,,,,,0,,,,3,3,"
    has "$tmp/M/summary.csv" "beta,spawn green asm/libev n=1000,spawn,green,asm,libev,1000,,,,,,,0,,,,3,3,"
    has "$tmp/M/ratios.csv" "alpha,spawn n=10000,spawn green asm/libev n=10000,spawn threads n=10000,"
    has "$tmp/M/ratios.csv" "beta,switch,switch green asm n=1000,switch threads cpus=1 n="
    has "$tmp/M/cross-host.csv" "spawn n=1000,spawn green asm/libev n=1000,2,"
    has "$tmp/M/report.md" "| alpha | "
    has "$tmp/M/report.md" "Every shard of the plan is here"
    [ "$(grep -c '"host": *"alpha"\|"host":"alpha"' "$tmp/M/cells.jsonl")" -gt 0 ] || fail "records carry their host"
    # A job that failed: read from the joblog, the merge says so and exits 1.
    printf '9\t:\t0\t0\t0\t0\t1\t0\tgreenbench run --shard shards/001.json\n' >>"$tmp/C/joblog"
    "$gb" merge --no-plots "$tmp/M2" "$tmp/C" >"$tmp/merge2.log" 2>&1
    [ $? = 1 ] || fail "merge with a failed job: exit 1 expected"
    has "$tmp/merge2.log" "job failed (exit 1)"
}

suite_slurm() {
    emit S slurm
    bash -n "$tmp/S/run-slurm.sbatch" || fail "run-slurm.sbatch: bash -n"
    sed "s|GREENBENCH:-$gb}|GREENBENCH:-@GREENBENCH@}|" "$tmp/S/run-slurm.sbatch" >"$tmp/sbatch"
    diff -u "$golden/run-slurm.sbatch" "$tmp/sbatch" || fail "run-slurm.sbatch differs from the golden file"
    # The array's tasks, as Slurm would start them (two nodes).
    for i in 0 1 2; do
        node=n$((i % 2))
        (cd "$tmp/S" && SLURM_ARRAY_TASK_ID=$i SLURM_JOB_ID=4$i SLURMD_NODENAME=$node \
            bash run-slurm.sbatch >"$tmp/task$i.log" 2>&1) || fail "array task $i: $(tail -3 "$tmp/task$i.log")"
    done
    [ -f "$tmp/S/runs/001@n1/meta.json" ] || fail "task 1 ran into runs/001@n1"
    has "$tmp/S/runs/001@n1/meta.json" '"slurm_array_task_id": "1"'
    "$gb" merge --no-plots "$tmp/SM" "$tmp/S" >"$tmp/smerge.log" 2>&1 || fail "merge: $(cat "$tmp/smerge.log")"
    has "$tmp/SM/report.md" "merged run of 1 host"
}

suite_merge() {
    emit C parallel
    for s in 0 1; do
        GREENBENCH_HOST_ID=alpha "$gb" run --shard "$tmp/C/shards/00$s.json" --out "$tmp/r$s" --no-plots \
            >/dev/null 2>&1 || fail "run --shard 00$s"
    done
    has "$tmp/r0/meta.json" '"plan_hash"'
    has "$tmp/r0/meta.json" '"virtualization_source"'
    # The same shard into its own folder again: it resumes, runs nothing new.
    GREENBENCH_HOST_ID=alpha "$gb" run --shard "$tmp/C/shards/000.json" --out "$tmp/r0" --no-plots \
        >"$tmp/resume.log" 2>&1 || fail "run --shard into its folder"
    has "$tmp/resume.log" "resuming it"
    cp -r "$tmp/r1" "$tmp/r1-again"
    "$gb" merge --no-plots "$tmp/M" "$tmp/C" "$tmp/r0" "$tmp/r1" "$tmp/r1-again" \
        >"$tmp/merge.log" 2>&1
    [ $? = 1 ] || fail "merge with a missing shard: exit 1 expected"
    has "$tmp/merge.log" "shard 1 ran twice on alpha"
    has "$tmp/merge.log" "shard 2 (spawn n=10000)"
    has "$tmp/M/report.md" "- missing: shard 2 (spawn n=10000)"
    has "$tmp/M/report.md" "- duplicate: shard 1"
    # A run of another plan (another timeout): refused, then merged with --force.
    emit D parallel --timeout=15
    GREENBENCH_HOST_ID=beta "$gb" run --shard "$tmp/D/shards/002.json" --out "$tmp/d2" --no-plots \
        >/dev/null 2>&1 || fail "run --shard of plan D"
    "$gb" merge "$tmp/X" "$tmp/r0" "$tmp/d2" >"$tmp/x.log" 2>&1
    [ $? = 2 ] || fail "mixed plans: exit 2 expected"
    has "$tmp/x.log" "refused: the folders come from different plans or builds"
    [ ! -e "$tmp/X" ] || fail "a refused merge writes nothing"
    "$gb" merge --force --no-plots "$tmp/X" "$tmp/r0" "$tmp/d2" >"$tmp/x.log" 2>&1 || fail "merge --force"
    # report and compare on a merged folder.
    "$gb" report --no-plots "$tmp/M" >/dev/null 2>&1 || fail "report on a merged folder"
    "$gb" compare "$tmp/X" "$tmp/r0" >"$tmp/c.log" 2>&1
    [ $? = 2 ] || fail "compare of a two-host merge: exit 2 expected"
    has "$tmp/c.log" "merges 2 hosts"
    "$gb" compare "$tmp/r0" "$tmp/X/hosts/beta" >"$tmp/c.log" 2>&1
    has "$tmp/c.log" "ran on host alpha and B"
}

case $suite in
parallel) suite_parallel ;;
slurm) suite_slurm ;;
merge) suite_merge ;;
*) echo "usage: many_machines.sh parallel|slurm|merge GREENBENCH FAKE_BIN GOLDEN_DIR" >&2; exit 2 ;;
esac
[ "$failures" = 0 ] || exit 1
echo "many-$suite: ok"
