#!/bin/sh
# tests/many_machines.sh SUITE GREENBENCH FAKE_BIN GOLDEN_DIR: a campaign over
# many machines without a cluster (ctest entries many-<suite>), on the fake
# cell programs of tests/fake_cells (GREENBENCH_BIN_DIR=FAKE_BIN):
#   parallel: `run --emit parallel`, then run-parallel.sh with `-S :` (this
#     machine as the host) twice, as hosts alpha and beta (GREENBENCH_HOST_ID),
#     then merge: two hosts never pooled, one folder each, per-host ratios for
#     every comparison group, the cross-host table; a failed job read from the
#     joblog. --runs and --joblog relative to where they are typed, greenbench
#     at a path with a space and a quote. Two campaigns of one plan on a
#     remote host (a fake ssh, with rsync): each shard's folder comes back,
#     none stays on the host, the second campaign resumes nothing; a host
#     whose folders cannot come back: exit 1, the folders kept there, and
#     run again, the shards rerun, resuming them; a host that runs nothing
#     (no $SHELL there): the preflight stops the campaign.
#     SKIPPED (exit 77) without GNU parallel (Debian: parallel).
#   slurm: `run --emit slurm`: run-slurm.sbatch passes `bash -n` and equals
#     GOLDEN_DIR/run-slurm.sbatch (the binary's path written @GREENBENCH@);
#     its array tasks, run by hand with Slurm's variables, then merged.
#   merge: shards run with `run --shard`; a folder of another plan refused
#     (and merged with --force), and one in a campaign's runs folder refused
#     against its plan.json; a duplicate shard and a missing one reported,
#     --shard into its own folder resumes; report and compare on the merge.
#     Refused: one run given twice (its path, another spelling, a link, a
#     copy), plan.json as a shard, a plain run and a shard of one host with
#     a cell in common, plain runs of other plans; a run without cells.jsonl,
#     a torn line, a corrupt meta.json and a missing folder are said. A
#     campaign folder's gaps, each said, in report.md and exit 1: a shard cut
#     short (with the command that finishes it), a runs folder (one launch)
#     lacking a shard the others have, a folder that is not a run; the merged
#     host's report names the folder to finish, and run --resume (or --shard
#     --out) refuses the merged host's folder; a shard run twice keeps its
#     complete run.
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

# merge_refused OUT TEXT DIR...: merge into $tmp/OUT exits 2, says TEXT and
# writes nothing.
merge_refused() {
    out=$1 text=$2
    shift 2
    "$gb" merge --no-plots "$tmp/$out" "$@" >"$tmp/$out.log" 2>&1
    rc=$?
    [ $rc = 2 ] || fail "merge $out $*: exit 2 expected, got $rc: $(cat "$tmp/$out.log")"
    has "$tmp/$out.log" "$text"
    [ ! -e "$tmp/$out" ] || fail "merge $out: a refused merge writes nothing"
}

# plain_run DIR HOST OPTIONS...: a run of no campaign, switch's cells.
plain_run() {
    dir=$1 host=$2
    shift 2
    GREENBENCH_HOST_ID=$host "$gb" run --workload switch --n 1000 --impl green,threads --switch asm \
        --no-plots --out "$tmp/$dir" "$@" >/dev/null 2>&1 || fail "plain run $dir"
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
    # greenbench's path with a space and a quote, which parallel's command line
    # takes as it is.
    mkdir "$tmp/it's here" && ln -s "$gb" "$tmp/it's here/greenbench"
    GREENBENCH="$tmp/it's here/greenbench" GREENBENCH_HOST_ID=alpha "$tmp/C/run-parallel.sh" -S : \
        >"$tmp/alpha.log" 2>&1 ||
        fail "run-parallel.sh as alpha: $(tail -5 "$tmp/alpha.log")"
    # --runs and --joblog are relative to where they are typed, not to C.
    (cd "$tmp" && GREENBENCH_HOST_ID=beta C/run-parallel.sh --runs C/runs-beta --joblog C/joblog-beta -S :) \
        >"$tmp/beta.log" 2>&1 || fail "run-parallel.sh as beta: $(tail -5 "$tmp/beta.log")"
    [ -f "$tmp/C/runs-beta/002/meta.json" ] && [ -f "$tmp/C/joblog-beta" ] ||
        fail "run-parallel.sh --runs C/runs-beta --joblog C/joblog-beta, typed in $tmp: not in $tmp/C"
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
    has "$tmp/M/report.md" "Every shard of the plan is here, once on each host (alpha, beta); no job failed."
    [ "$(grep -c '"host": *"alpha"\|"host":"alpha"' "$tmp/M/cells.jsonl")" -gt 0 ] || fail "records carry their host"
    # A job that failed: read from the joblog, the merge says so and exits 1.
    printf '9\t:\t0\t0\t0\t0\t1\t0\tgreenbench run --shard shards/001.json\n' >>"$tmp/C/joblog"
    "$gb" merge --no-plots "$tmp/M2" "$tmp/C" >"$tmp/merge2.log" 2>&1
    [ $? = 1 ] || fail "merge with a failed job: exit 1 expected"
    has "$tmp/merge2.log" "job failed (exit 1)"
    parallel_remote
}

# A fake ssh: `ssh [OPTIONS] [USER@]HOST COMMAND...` runs COMMAND with sh in
# $tmp/homes/HOST (that host's home) as GREENBENCH_HOST_ID=HOST, for GNU
# parallel and its rsync: remote hosts without a network. SHELL is the login
# shell, as sshd sets it (parallel's remote worker runs the job with $SHELL),
# whatever the test's own environment has; with FAKE_SSH_NO_SHELL set there
# is none, and parallel's worker runs nothing there (and says 0). With
# FAKE_SSH_NO_RETURN set, the rsync that sends a folder back fails, as on a
# host with a full disk.
fake_ssh() {
    mkdir -p "$tmp/bin" "$tmp/homes"
    cat >"$tmp/bin/ssh" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do
    case $1 in
    -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
    esac
done
host=${1#*@}
shift
[ "${1:-}" != -- ] || shift
mkdir -p "$FAKE_HOMES/$host" && cd "$FAKE_HOMES/$host" || exit 255
case "$*" in *"rsync --server --sender"*) [ -z "${FAKE_SSH_NO_RETURN:-}" ] || exit 12 ;; esac
export SHELL=/bin/sh
[ -z "${FAKE_SSH_NO_SHELL:-}" ] || unset SHELL
HOME=$FAKE_HOMES/$host GREENBENCH_HOST_ID=$host exec sh -c "$*"
EOF
    chmod +x "$tmp/bin/ssh"
    export FAKE_HOMES="$tmp/homes"
}

# run-parallel.sh with a remote host (the fake ssh), the second time with
# greenbench's path with a space and a quote: each shard's folder comes back
# and none stays on the host, so that a second campaign of the same plan runs
# afresh there rather than resuming the first one's folders.
parallel_remote() {
    if ! command -v rsync >/dev/null 2>&1; then
        echo "many-parallel: rsync is not installed: the remote host part skipped"
        return
    fi
    fake_ssh
    for c in R1 R2; do
        emit $c parallel
        [ $c = R1 ] && path=$gb || path="$tmp/it's here/greenbench"
        PATH="$tmp/bin:$PATH" GREENBENCH=$path "$tmp/$c/run-parallel.sh" -S gamma >"$tmp/$c.log" 2>&1 ||
            fail "run-parallel.sh $c -S gamma: $(tail -5 "$tmp/$c.log")"
        for s in 000 001 002; do
            has "$tmp/$c/runs/$s/meta.json" '"id": "gamma"'
            ! grep -q '"resumed"' "$tmp/$c/runs/$s/meta.json" 2>/dev/null ||
                fail "$c/runs/$s resumed a folder an earlier campaign left on gamma"
        done
        left=$(cd "$tmp/homes/gamma" && find . -mindepth 1 | head -3)
        [ -z "$left" ] || fail "campaign $c left on gamma: $left"
        ! ls -d "$tmp/$c"/greenbench-campaign-* >/dev/null 2>&1 || fail "campaign $c left its links in $tmp/$c"
    done
    # A host that runs nothing: the preflight has no fingerprint, stops.
    emit R4 parallel
    PATH="$tmp/bin:$PATH" FAKE_SSH_NO_SHELL=1 GREENBENCH=$gb "$tmp/R4/run-parallel.sh" -S gamma >"$tmp/R4.log" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "run-parallel.sh on a host without a shell: exit 1 expected, got $rc"
    has "$tmp/R4.log" "no host answered \`greenbench host\` (logs/preflight-hosts.txt is empty)"
    [ ! -e "$tmp/R4/joblog" ] || fail "R4: shards ran after a preflight without fingerprints"
    # Folders that cannot come back: parallel says the jobs succeeded, the
    # script says no folder came back, exits 1 and keeps them on the host;
    # run again, it reruns those shards there, which resume their folders.
    emit R3 parallel
    PATH="$tmp/bin:$PATH" FAKE_SSH_NO_RETURN=1 GREENBENCH=$gb "$tmp/R3/run-parallel.sh" -S gamma >"$tmp/R3.log" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "run-parallel.sh with no folder back: exit 1 expected, got $rc: $(tail -3 "$tmp/R3.log")"
    has "$tmp/R3.log" "no run folder came back for shard(s) 000 001 002 (into $tmp/R3/runs)"
    ls "$tmp/homes/gamma"/greenbench-campaign-*/runs/002/meta.json >/dev/null 2>&1 ||
        fail "R3: the host's campaign folder was removed"
    PATH="$tmp/bin:$PATH" GREENBENCH=$gb "$tmp/R3/run-parallel.sh" -S gamma >"$tmp/R3b.log" 2>&1 ||
        fail "run-parallel.sh R3 again: $(tail -5 "$tmp/R3b.log")"
    for s in 000 001 002; do
        has "$tmp/R3/runs/$s/meta.json" '"id": "gamma"'
        has "$tmp/R3/runs/$s/meta.json" '"resumed"'
    done
    [ ! -e "$tmp/homes/gamma"/greenbench-campaign-* ] || fail "R3: the campaign's folder stays on the host"
    [ "$(grep -c 'run --shard' "$tmp/R3/joblog")" = 3 ] || fail "R3: the joblog has not one line per shard: $(cat "$tmp/R3/joblog")"
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
    # A shard run twice on one host (two runs, not a copy: merge refuses a copy).
    GREENBENCH_HOST_ID=alpha "$gb" run --shard "$tmp/C/shards/001.json" --out "$tmp/r1-again" --no-plots \
        >/dev/null 2>&1 || fail "run --shard 001 again"
    "$gb" merge --no-plots "$tmp/M" "$tmp/C" "$tmp/r0" "$tmp/r1" "$tmp/r1-again" \
        >"$tmp/merge.log" 2>&1
    [ $? = 1 ] || fail "merge with a missing shard: exit 1 expected"
    has "$tmp/merge.log" "shard 1 ran twice on alpha"
    has "$tmp/merge.log" "merged 2 folders of 1 host into $tmp/M (report.md); 1 duplicate skipped"
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
    # A run of another plan in a campaign's runs folder (as an old campaign's
    # folder sent back): refused as given directly, against plan.json.
    mkdir -p "$tmp/D/runs" && cp -r "$tmp/r0" "$tmp/D/runs/000"
    merge_refused D1 "'$tmp/D/runs/000' is a run of the plan" "$tmp/D"
    has "$tmp/D1.log" "not of the campaign's plan $(sed -n 's/.*"plan_hash": "\([0-9a-f]*\)".*/\1/p' "$tmp/D/plan.json")"
    rm -r "$tmp/D/runs/000"
    # report and compare on a merged folder.
    "$gb" report --no-plots "$tmp/M" >/dev/null 2>&1 || fail "report on a merged folder"
    "$gb" compare "$tmp/X" "$tmp/r0" >"$tmp/c.log" 2>&1
    [ $? = 2 ] || fail "compare of a two-host merge: exit 2 expected"
    has "$tmp/c.log" "merges 2 hosts"
    "$gb" compare "$tmp/r0" "$tmp/X/hosts/beta" >"$tmp/c.log" 2>&1
    has "$tmp/c.log" "ran on host alpha and B"
    merge_refusals
    merge_records
    merge_campaign_gaps
    merge_memory_ratio
    shard_external_peer
    compare_merged_csv
    merge_host_id_dots
    merge_summary_newline
    merge_options_anywhere
}

# merge takes its options anywhere, as run, compare and report do (after
# OUT, --no-plots was taken for a folder), and names an unknown short
# option itself, not the command.
merge_options_anywhere() {
    plain_run oa alpha --reps=2
    "$gb" merge "$tmp/OA" "$tmp/oa" --no-plots >"$tmp/OA.log" 2>&1 || fail "merge OUT DIR --no-plots: $(cat "$tmp/OA.log")"
    [ -f "$tmp/OA/merge.json" ] || fail "merge OUT DIR --no-plots merged nothing"
    merge_refused OB "unknown option '-f' (see greenbench merge --help)" -fz "$tmp/oa"
}

# merge's summary.csv keeps a quoted field that holds a newline (a cell's
# error message in first_error) whole: split at newlines, "vm," was put
# into its text.
merge_summary_newline() {
    mkdir "$tmp/nl"
    cat >"$tmp/nl/peer.sh" <<'EOF'
#!/bin/sh
case "$*" in *--help*) echo usage; exit 0 ;; esac
printf '{"ok": false, "workload": "switch", "impl": "nl", "error": "first line\\nsecond, with a comma"}\n'
exit 1
EOF
    chmod +x "$tmp/nl/peer.sh"
    GREENBENCH_HOST_ID=vm "$gb" run --workload=switch --n=1000 --impl=threads,nl --peer "nl=$tmp/nl/peer.sh" \
        --reps=2 --no-plots --out "$tmp/nlR" >/dev/null 2>&1
    "$gb" merge --no-plots "$tmp/nlM" "$tmp/nlR" >/dev/null 2>&1
    row=$(grep -c '' "$tmp/nlR/summary.csv")
    [ "$(grep -c '' "$tmp/nlM/summary.csv")" = "$row" ] || fail "merge's summary.csv has other lines than its host's"
    has "$tmp/nlR/summary.csv" "second, with a comma"
    grep -q '^second, with a comma' "$tmp/nlM/summary.csv" ||
        fail "merge's summary.csv changed the text of a field holding a newline: $(grep 'second' "$tmp/nlM/summary.csv")"
}

# A host id of dots alone names no folder of its own: GREENBENCH_HOST_ID=..
# is recorded as __, and merge refuses a meta.json whose id is '..' (its
# hosts/.. was OUT itself, the host's files written over OUT's).
merge_host_id_dots() {
    plain_run hd .. --reps=2
    has "$tmp/hd/meta.json" '"id": "__"'
    "$gb" merge --no-plots "$tmp/HD" "$tmp/hd" >/dev/null 2>&1 || fail "merge of host __"
    [ -d "$tmp/HD/hosts/__" ] || fail "merge: no hosts/__ for GREENBENCH_HOST_ID=.."
    cp -r "$tmp/hd" "$tmp/hd2"
    sed -i 's/"id": "__"/"id": ".."/' "$tmp/hd2/meta.json"
    merge_refused HD2 "$tmp/hd2/meta.json: its host id '..' cannot name a folder" "$tmp/hd2"
}

# compare of merged folders names its CSV after the folders given, in
# DIR_A: named after their host (compare-vm-vs-vm.csv in MA/hosts/vm/),
# compare MA MC replaced compare MA MB's.
compare_merged_csv() {
    for r in A B C; do
        plain_run "cm$r" vm --reps=3
        "$gb" merge --no-plots "$tmp/M$r" "$tmp/cm$r" >/dev/null 2>&1 || fail "merge of cm$r"
    done
    (cd "$tmp" && "$gb" compare MA MB >/dev/null 2>&1 && "$gb" compare MA MC >/dev/null 2>&1) ||
        fail "compare of merged folders"
    [ -s "$tmp/MA/compare-MA-vs-MB.csv" ] || fail "compare MA MB wrote no MA/compare-MA-vs-MB.csv"
    [ -s "$tmp/MA/compare-MA-vs-MC.csv" ] || fail "compare MA MC wrote no MA/compare-MA-vs-MC.csv"
    [ -z "$(find "$tmp/MA/hosts" -name 'compare-*')" ] || fail "compare wrote into MA/hosts/"
}

# A peer given to --emit with --peer NAME=COMMAND travels in the shards,
# and a shard runs it (every repetition was "unknown implementation");
# run --shard takes --peers-dir (docs/peers.md: a shard registers its
# host's peers files).
shard_external_peer() {
    mkdir "$tmp/pe"
    cat >"$tmp/pe/peer.sh" <<EOF
#!/bin/sh
case "\$*" in *--help*) echo usage; exit 0 ;; esac
touch "$tmp/pe/ran"
echo '{"ok": false, "workload": "switch", "impl": "ext", "error": "a peer that fails"}'
exit 1
EOF
    chmod +x "$tmp/pe/peer.sh"
    "$gb" run --workload=switch --n=1000 --impl=threads,ext --reps=1 --peer "ext=$tmp/pe/peer.sh" \
        --emit parallel --out "$tmp/PE" >"$tmp/pe.log" 2>&1 || fail "run --emit --peer: $(cat "$tmp/pe.log")"
    has "$tmp/PE/shards/000.json" '"external_peers"'
    "$gb" run --shard "$tmp/PE/shards/000.json" --out "$tmp/pe-run" --peers-dir "$tmp/pe" --no-plots \
        >"$tmp/pe.log" 2>&1
    [ $? = 1 ] || fail "run --shard of a failing peer: exit 1 expected: $(cat "$tmp/pe.log")"
    [ -e "$tmp/pe/ran" ] || fail "run --shard did not run the peer given to --emit"
    if grep -q "unknown implementation" "$tmp/pe-run/cells.jsonl"; then
        fail "run --shard: the peer given to --emit is an unknown implementation"
    fi
    has "$tmp/pe-run/meta.json" '"external_peers"'
}

# spawn-alive's headline figure is memory per task: ratios.csv gives the
# memory ratio (the fake cells: 8 KiB per green task, 20 KiB per thread),
# not the time ratio worded as memory.
merge_memory_ratio() {
    "$gb" run --workload=spawn-alive --impl=green,threads --switch=asm --loop=libev --stacks=private --n=100 \
        --reps=6 --no-plots --out "$tmp/mem" >/dev/null 2>&1 || fail "run spawn-alive"
    "$gb" merge --no-plots "$tmp/memM" "$tmp/mem" >/dev/null 2>&1 || fail "merge of the spawn-alive run"
    ratio=$(awk -F, '$3 == "spawn-alive green asm/libev n=100" { print $5 }' "$tmp/memM/ratios.csv")
    awk -v r="$ratio" 'BEGIN { exit !(r > 0.35 && r < 0.45) }' ||
        fail "ratios.csv: spawn-alive green's memory ratio is '$ratio', not about 8 KiB / 20 KiB"
    has "$tmp/memM/ratios.csv" "× less memory ("
}

# cut_short SRC DST: a copy of run SRC as if killed half-way (meta.json
# written at its start says running; half its records).
cut_short() {
    cp -r "$1" "$2"
    sed -i 's/"status": "complete"/"status": "running"/' "$2/meta.json"
    n=$(wc -l <"$1/cells.jsonl")
    head -n $((n / 2)) "$1/cells.jsonl" >"$2/cells.jsonl"
}

# as_host HOST SRC DST: a copy of run SRC as if host HOST had run it.
as_host() {
    cp -r "$2" "$3"
    sed -i "s/\"id\": \"[^\"]*\"/\"id\": \"$1\"/" "$3/meta.json"
}

# What a campaign folder's runs lack: a shard cut short, a launch (runs
# folder) without one of the shards, a folder that is not a run; a shard run
# twice, one of them cut short.
merge_campaign_gaps() {
    mkdir -p "$tmp/E/runs" "$tmp/E/runs-beta"
    cp -r "$tmp/C/plan.json" "$tmp/C/shards" "$tmp/E/"
    cp -r "$tmp/r0" "$tmp/E/runs/000"
    cut_short "$tmp/r1" "$tmp/E/runs/001"
    GREENBENCH_HOST_ID=alpha "$gb" run --shard "$tmp/E/shards/002.json" --out "$tmp/E/runs/002" --no-plots \
        >/dev/null 2>&1 || fail "run --shard 002 into E"
    as_host beta "$tmp/r0" "$tmp/E/runs-beta/000"
    as_host beta "$tmp/E/runs/002" "$tmp/E/runs-beta/002"
    mkdir "$tmp/E/runs-beta/001" && printf '{"plan": ' >"$tmp/E/runs-beta/001/meta.json"
    "$gb" merge --no-plots "$tmp/EM" "$tmp/E" >"$tmp/EM.log" 2>&1
    [ $? = 1 ] || fail "merge of a campaign with a shard cut short: exit 1 expected: $(cat "$tmp/EM.log")"
    has "$tmp/EM.log" "$tmp/E/runs/001: its run is running (cut short"
    has "$tmp/EM.log" "finish it on alpha with greenbench run --shard $tmp/E/shards/001.json --out $tmp/E/runs/001"
    has "$tmp/EM/report.md" "- incomplete: $tmp/E/runs/001 (on alpha): its run is running, 3 repetitions recorded"
    has "$tmp/EM/merge.json" '"incomplete"'
    has "$tmp/EM.log" "shard 1 (spawn n=1000) is missing from $tmp/E/runs-beta, which has the other shards"
    has "$tmp/EM/report.md" "- missing: shard 1 (spawn n=1000) in $tmp/E/runs-beta,"
    has "$tmp/EM.log" "$tmp/E/runs-beta/001/meta.json is not valid JSON"
    has "$tmp/EM/report.md" "- not a run: $tmp/E/runs-beta/001/meta.json is not valid JSON"
    has "$tmp/EM/merge.json" "\"dir\": \"$tmp/E/runs-beta/001\""
    ! grep -q "Every shard" "$tmp/EM/report.md" || fail "report.md of a campaign with gaps says every shard is here"
    # The merged host's folder is no run to resume: its report names the
    # folder to finish, and run refuses it.
    has "$tmp/EM/hosts/alpha/report.md" "merge again into a new folder: greenbench run --shard $tmp/E/shards/001.json --out $tmp/E/runs/001 (running)"
    ! grep -q "run --resume $tmp/EM/hosts/alpha" "$tmp/EM/hosts/alpha/report.md" ||
        fail "the merged host's report says to resume it"
    for how in "--resume $tmp/EM/hosts/alpha" "--shard $tmp/E/shards/000.json --out $tmp/EM/hosts/alpha"; do
        "$gb" run $how >"$tmp/EMres.log" 2>&1
        [ $? = 2 ] || fail "run $how: exit 2 expected: $(tail -3 "$tmp/EMres.log")"
        has "$tmp/EMres.log" "'$tmp/EM/hosts/alpha' is a host's folder of a merged run (greenbench merge)"
    done
    # Without the gaps: the hosts ran different shards, and report.md says so.
    rm -r "$tmp/E/runs-beta" "$tmp/E/runs/001"
    as_host beta "$tmp/r1" "$tmp/E/runs/001"
    "$gb" merge --no-plots "$tmp/EM2" "$tmp/E" >"$tmp/EM2.log" 2>&1 || fail "merge E: $(cat "$tmp/EM2.log")"
    has "$tmp/EM2/report.md" "each on one host or more (alpha: 2 of 3 shards, beta: 1 of 3 shards)"
    # A shard twice on one host, the first found cut short: the complete one is kept.
    cut_short "$tmp/r1" "$tmp/r1-cut"
    "$gb" merge --no-plots "$tmp/K" "$tmp/r1-cut" "$tmp/r1-again" >"$tmp/K.log" 2>&1 ||
        fail "merge of a shard twice: $(cat "$tmp/K.log")"
    has "$tmp/K.log" "$tmp/r1-again kept (complete; the other is running with 3 repetitions), $tmp/r1-cut skipped"
    has "$tmp/K/report.md" "- duplicate: shard 1 ran twice on alpha: $tmp/r1-again kept (complete;"
}

# What merge refuses: a run pooled with itself, or with another plan's.
merge_refusals() {
    # One run given twice: by its path, another spelling, a link, a copy.
    merge_refused R1 "'$tmp/r0' and '$tmp/r0' are the same folder" "$tmp/r0" "$tmp/r0"
    merge_refused R2 "are the same folder ($tmp/r0)" "$tmp/r0" "$tmp/./r0"
    ln -s r0 "$tmp/r0-link"
    merge_refused R3 "'$tmp/r0' and '$tmp/r0-link' are the same folder" "$tmp/r0" "$tmp/r0-link"
    cp -r "$tmp/r0" "$tmp/r0-copy"
    merge_refused R4 "'$tmp/r0' and '$tmp/r0-copy' hold the same run (host alpha" "$tmp/r0" "$tmp/r0-copy"
    # plan.json is not a shard: run as one, it would run every shard's cells.
    "$gb" run --shard "$tmp/C/plan.json" --out "$tmp/whole" --no-plots >"$tmp/whole.log" 2>&1
    [ $? = 2 ] || fail "run --shard plan.json: exit 2 expected"
    has "$tmp/whole.log" "the campaign's plan, not one of its shards"
    [ ! -e "$tmp/whole/cells.jsonl" ] || fail "run --shard plan.json ran"
    # A plain run with shard 0's cells, on its host: pooled, the cells would
    # count both runs' repetitions; refused, with --force too.
    plain_run p0 alpha --reps 3 --seed 7
    merge_refused R5 "different plans or builds" "$tmp/r0" "$tmp/p0"
    "$gb" merge --force --no-plots "$tmp/R6" "$tmp/r0" "$tmp/p0" >"$tmp/R6.log" 2>&1
    [ $? = 2 ] || fail "merge --force of a shard and a plain run of its cells: exit 2 expected"
    has "$tmp/R6.log" "'$tmp/r0' and '$tmp/p0' both ran 'switch green asm n=1000' on host alpha"
    # Plain runs of different plans (repetitions, seed) on two hosts.
    plain_run p1 alpha --reps 2 --seed 1
    plain_run p2 beta --reps 3 --seed 2
    merge_refused R7 "differs from the first in min_reps 3 (not 2), max_reps 3 (not 2), seed \"2\" (not \"1\")" \
        "$tmp/p1" "$tmp/p2"
    "$gb" merge --force --no-plots "$tmp/R8" "$tmp/p1" "$tmp/p2" >"$tmp/R8.log" 2>&1 || fail "merge --force p1 p2"
    # Folders that are not runs: said as what they are.
    mkdir "$tmp/garb" && printf '{"plan": ' >"$tmp/garb/meta.json"
    merge_refused R9 "$tmp/garb/meta.json is not valid JSON: offset 9:" "$tmp/garb"
    merge_refused R10 "'$tmp/nodir' does not exist" "$tmp/nodir"
}

# Records merge cannot take: said, and a missing cell makes exit 1.
merge_records() {
    cp -r "$tmp/p1" "$tmp/nocells"
    rm "$tmp/nocells/cells.jsonl"
    "$gb" merge --no-plots "$tmp/N" "$tmp/nocells" >"$tmp/N.log" 2>&1
    [ $? = 1 ] || fail "merge of a run without cells.jsonl: exit 1 expected"
    has "$tmp/N.log" "$tmp/nocells has no cells.jsonl: none of its 3 cells was measured"
    has "$tmp/N/report.md" "- missing: $tmp/nocells (on alpha): 3 cells with no counted repetition"
    ! grep -q "Every shard" "$tmp/N/report.md" || fail "a merge without records says every shard is here"
    has "$tmp/N/merge.json" '"missing_cells"'
    has "$tmp/N/merge.json" '"campaign": null'
    # An OUT that cannot be made: why.
    : >"$tmp/afile"
    "$gb" merge --no-plots "$tmp/afile/out" "$tmp/p1" >"$tmp/afile.log" 2>&1
    [ $? = 2 ] || fail "merge into a file's folder: exit 2 expected"
    has "$tmp/afile.log" "cannot create '$tmp/afile/out': Not a directory"
    # A line cut mid-way: said as `report` says it, the rest merged.
    cp -r "$tmp/p1" "$tmp/torn"
    awk 'NR == 3 { print substr($0, 1, 40); next } { print }' "$tmp/p1/cells.jsonl" >"$tmp/torn/cells.jsonl"
    "$gb" merge --no-plots "$tmp/T" "$tmp/torn" >"$tmp/T.log" 2>&1 || fail "merge of a torn line: $(cat "$tmp/T.log")"
    has "$tmp/T.log" "$tmp/torn/cells.jsonl: line 3 is not a record (skipped)"
    has "$tmp/T/report.md" "- skipped: $tmp/torn/cells.jsonl: line 3 is not a record"
    [ "$(wc -l <"$tmp/T/cells.jsonl")" = "$(($(wc -l <"$tmp/p1/cells.jsonl") - 1))" ] ||
        fail "every other record of the torn run merged"
}

case $suite in
parallel) suite_parallel ;;
slurm) suite_slurm ;;
merge) suite_merge ;;
*) echo "usage: many_machines.sh parallel|slurm|merge GREENBENCH FAKE_BIN GOLDEN_DIR" >&2; exit 2 ;;
esac
[ "$failures" = 0 ] || exit 1
echo "many-$suite: ok"
