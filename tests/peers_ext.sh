#!/bin/sh
# tests/peers_ext.sh MODE GREENBENCH BIN_DIR SOURCE_DIR: external peers end to end (ctest
# entries peers-ext-*), with the minimal example peer (examples/peers/minimal)
# from BIN_DIR:
#   run     a tiny matrix with --peer minimal=COMMAND (relative to the
#           directory it is typed in): the peer is in summary.csv, in
#           report.html's Peers section with what its figures include, in
#           meta.json, and again after `greenbench report DIR` (a new process);
#           --resume refuses a run whose peer's program is gone;
#   list    a peers file in --peers-dir and in GREENBENCH_PEERS_DIR is
#           listed beside the built-in peers, its workloads and includes;
#   errors  bad peers files and --peer values: exit 2, naming file, line and
#           fault (unknown key, no command, command not found, not
#           executable, a built-in's name, unknown workload); a setup
#           command that fails skips the peer and the run goes on; a broken
#           file in the default peers folder (examples/peers/minimal's
#           minimal.conf copied as it is) stops only what asks for it;
#   boost-fiber  a real runtime no one here wrote, through that door: the
#           Boost.Fiber peer (examples/peers/boost-fiber, under SOURCE_DIR),
#           built by its own setup outside the main build, passes check-cell
#           and runs switch and spawn beside green in a matrix (skipped, 77,
#           without g++ or Boost.Fiber's headers).
set -u
mode=$1
gb=$2
bin=$3
src=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAILED: $*" >&2
    failures=$((failures + 1))
}

# expect CODE TEXT ARGS...: greenbench ARGS exits CODE and says TEXT.
expect() {
    code=$1 text=$2
    shift 2
    "$gb" "$@" >"$tmp/out" 2>&1 </dev/null
    rc=$?
    if [ "$rc" != "$code" ] || ! grep -qF -- "$text" "$tmp/out"; then
        fail "greenbench $*: exit $rc (want $code), want: $text"
        sed 's/^/    /' "$tmp/out" >&2
    fi
}

# conf FILE LINES...: a peers file.
conf() {
    f=$1
    shift
    printf '%s\n' "$@" >"$f"
}

case "$mode" in
run)
    mkdir "$tmp/elsewhere"
    ln -s "$bin/greenbench-peer-minimal" "$tmp/elsewhere/my-cell"
    # A relative command, from another directory than the repository's.
    (cd "$tmp/elsewhere" && "$gb" run --quick --workload=spawn,switch --impl=threads,minimal \
        --peer minimal=./my-cell --n=100 --reps=1 --no-plots --out "$tmp/run") >"$tmp/log" 2>&1
    rc=$?
    [ "$rc" = 0 ] || { fail "run --peer: exit $rc"; cat "$tmp/log" >&2; }
    grep -q '^spawn minimal n=100,spawn,minimal,' "$tmp/run/summary.csv" || fail "summary.csv has no spawn minimal row"
    grep -q '^switch minimal n=100,switch,minimal,' "$tmp/run/summary.csv" || fail "summary.csv has no switch minimal row"
    grep -q 'minimal (external peer, --peer): its figures include' "$tmp/run/report.html" ||
        fail "report.html's Peers section does not name minimal"
    grep -q '"external_peers"' "$tmp/run/meta.json" || fail "meta.json has no external_peers"
    # A peer that ran has no note: meta.json says why a peer was skipped only
    # when it was.
    if grep -q '"note": ' "$tmp/run/meta.json"; then
        fail "meta.json gives minimal, which ran, a note: $(grep '"note": ' "$tmp/run/meta.json")"
    fi
    # --peer gives no version command: versions.peers says null (as
    # results-format.md has it), the report why.
    grep -q '^      "minimal": null' "$tmp/run/meta.json" ||
        fail "meta.json's versions.peers.minimal is not null: $(grep '"minimal"' "$tmp/run/meta.json")"
    grep -q 'peers minimal.*not known: no version command was given' "$tmp/run/report.md" ||
        fail "report.md does not say that minimal has no version command: $(grep 'peers minimal' "$tmp/run/report.md")"
    rm "$tmp/run/report.html"
    "$gb" report "$tmp/run" >/dev/null 2>&1 || fail "greenbench report: exit $?"
    grep -q 'minimal (external peer, --peer): its figures include' "$tmp/run/report.html" ||
        fail "report.html rebuilt by greenbench report lost minimal's Peers paragraph"
    # --resume after the peer's program is gone refuses up front (exit 2), as
    # a fresh run does, instead of running what is left as failures.
    mkdir "$tmp/gone"
    cp "$bin/greenbench-peer-minimal" "$tmp/gone/my-cell"
    "$gb" run --quick --workload=spawn --impl=threads,minimal --peer "minimal=$tmp/gone/my-cell" --n=100 \
        --reps=1 --no-plots --out "$tmp/run3" >"$tmp/log" 2>&1 || { fail "run --peer (to resume): exit $?"; cat "$tmp/log" >&2; }
    grep -v '"cell":"spawn minimal' "$tmp/run3/cells.jsonl" >"$tmp/cells" && mv "$tmp/cells" "$tmp/run3/cells.jsonl"
    rm "$tmp/gone/my-cell"
    expect 2 "--resume $tmp/run3: peer 'minimal' (--peer): its program $tmp/gone/my-cell is missing or not executable, and the plan has 1 cell of it" \
        run --resume "$tmp/run3"
    # Registered, but --impl leaves it out: the report says so, not that its
    # program is missing.
    (cd "$tmp/elsewhere" && "$gb" run --quick --workload=spawn --impl=threads --peer minimal=./my-cell \
        --n=100 --reps=1 --no-plots --out "$tmp/run2") >"$tmp/log" 2>&1 || { fail "run --impl=threads: exit $?"; cat "$tmp/log" >&2; }
    grep -q 'minimal (external peer, --peer): registered, but the run planned no cell of it' "$tmp/run2/report.md" ||
        fail "report.md does not say that the run planned no cell of minimal: $(grep 'minimal (external' "$tmp/run2/report.md")"
    if grep -q '"note": ' "$tmp/run2/meta.json"; then
        fail "meta.json gives minimal, which was not asked for, a note: $(grep '"note": ' "$tmp/run2/meta.json")"
    fi
    # A version command that fails: the peer ran, so its version is not
    # known, not "not found"; the run says so on stderr.
    mkdir "$tmp/vfail"
    conf "$tmp/vfail/minimal.conf" "command = $bin/greenbench-peer-minimal" "workloads = spawn" "version = exit 3"
    "$gb" run --quick --workload=spawn --impl=minimal --peers-dir "$tmp/vfail" --n=100 --reps=1 --no-plots \
        --out "$tmp/run4" >"$tmp/log" 2>&1 || { fail "run with a failing version command: exit $?"; cat "$tmp/log" >&2; }
    grep -q "peer minimal: its version command printed nothing or failed: .*exit 3" "$tmp/log" ||
        fail "the run did not say that minimal's version command failed"
    grep -q 'peers minimal.*not known: its version command printed nothing or failed' "$tmp/run4/report.md" ||
        fail "report.md does not say that minimal's version command failed: $(grep 'peers minimal' "$tmp/run4/report.md")"
    ;;
list)
    mkdir "$tmp/peers.d"
    conf "$tmp/peers.d/minimal.conf" "# the minimal example" "command = $bin/greenbench-peer-minimal" \
        "workloads = switch, spawn" "includes = nothing but pthreads" "version = echo mini 1.0"
    expect 0 "minimal  external ($tmp/peers.d/minimal.conf): $bin/greenbench-peer-minimal; workloads: switch,spawn" \
        list --peers-dir "$tmp/peers.d"
    expect 0 "its figures include: nothing but pthreads" list --peers-dir "$tmp/peers.d"
    GREENBENCH_PEERS_DIR=$tmp/peers.d expect 0 "Implementations (--impl): green, threads" list
    GREENBENCH_PEERS_DIR=$tmp/peers.d "$gb" list | grep -q "^Implementations.*, minimal$" ||
        fail "GREENBENCH_PEERS_DIR: minimal is not among the implementations"
    # check-cell knows a registered peer by its name.
    expect 0 "it obeys the cell protocol" check-cell minimal --peers-dir "$tmp/peers.d"
    # Up to GB_MAX_PEERS (64) peers, built-in ones included (docs/peers.md):
    # 40 files are registered, 70 are refused with the limit named.
    mkdir "$tmp/many"
    i=1
    while [ $i -le 70 ]; do
        conf "$tmp/many/p$i.conf" "command = $bin/greenbench-peer-minimal" "workloads = spawn"
        if [ $i = 40 ]; then
            expect 0 "  p9       external ($tmp/many/p9.conf)" list --peers-dir "$tmp/many"
            # The last in name order, past the 32 names of an option's list.
            expect 0 "  spawn p9 n=1000" run --dry-run --quick --workload=spawn --impl=p9 --peers-dir "$tmp/many"
        fi
        i=$((i + 1))
    done
    expect 2 "at most 64 peers, the" list --peers-dir "$tmp/many"
    ;;
errors)
    d=$tmp/p
    mkdir "$d"
    conf "$d/a.conf" "command = $bin/greenbench-peer-minimal" "workloads = spawn" "colour = blue"
    expect 2 "peers file $d/a.conf, line 3: unknown key 'colour' (valid: command, workloads" list --peers-dir "$d"
    conf "$d/a.conf" "workloads = spawn"
    expect 2 "peers file $d/a.conf: no 'command = ...' line" list --peers-dir "$d"
    conf "$d/a.conf" "command = ./no-such-cell" "workloads = spawn"
    expect 2 "peer 'a' ($d/a.conf): command $d/no-such-cell not found" list --peers-dir "$d"
    conf "$d/a.conf" "command = no-such-program-anywhere" "workloads = spawn"
    expect 2 "command 'no-such-program-anywhere' not found in PATH" list --peers-dir "$d"
    # A file here, named without its ./, is no command (as in a shell): said so.
    printf 'x' >"$d/here-cell"
    cd "$d" || exit 1
    expect 2 "command 'here-cell' not found in PATH, and ./here-cell is not executable" check-cell here-cell
    chmod +x here-cell
    expect 2 "command 'here-cell' not found in PATH: give ./here-cell for the file here" check-cell here-cell
    cd - >/dev/null || exit 1
    rm "$d/here-cell"
    conf "$d/a.conf" "command = $d/a.conf" "workloads = spawn"
    expect 2 "is not an executable file" list --peers-dir "$d"
    conf "$d/a.conf" "command = $bin/greenbench-peer-minimal" "workloads = spawn, fly"
    expect 2 "line 2: unknown workload 'fly'" list --peers-dir "$d"
    conf "$d/a.conf" "command $bin/greenbench-peer-minimal"
    expect 2 "line 1: expected 'key = value'" list --peers-dir "$d"
    conf "$d/a.conf" "command = $bin/greenbench-peer-minimal" "workloads = spawn" "multicore = yes" "multicore = no"
    expect 2 "line 4: key 'multicore' given twice" list --peers-dir "$d"
    conf "$d/a.conf" "command = $bin/greenbench-peer-minimal" "workloads = spawn" "version ="
    expect 2 "line 3: key 'version' has no value" list --peers-dir "$d"
    # list takes no --workload: its --peer COMMAND error does not offer it.
    expect 2 "Give them in a peers file: --peer x=FILE.conf" list --peer x=$bin/greenbench-peer-minimal
    # check-cell takes --peer as run does (getopt read it as --peers-dir).
    expect 0 "it obeys the cell protocol" check-cell --peer minimal=$bin/greenbench-peer-minimal --workload=spawn
    rm "$d/a.conf"
    conf "$d/gevent.conf" "command = $bin/greenbench-peer-minimal" "workloads = spawn"
    expect 2 "peer 'gevent' clashes with the built-in implementation of that name" list --peers-dir "$d"
    rm "$d/gevent.conf"
    expect 2 "peer 'threads' clashes with the built-in" run --peer threads=/bin/true --workload=spawn --dry-run --peers-dir "$d"
    expect 2 "--peer x=$bin/greenbench-peer-minimal: which workloads does it run?" \
        run --peer x=$bin/greenbench-peer-minimal --dry-run --peers-dir "$d"
    expect 2 "peers directory $tmp/none:" list --peers-dir "$tmp/none"
    # The default folder: minimal.conf copied there as it is (its command
    # relative, so not found) is skipped with a warning, listed as broken,
    # and stops only the commands that ask for it; the same file named by
    # --peers-dir or GREENBENCH_PEERS_DIR stops every command.
    xdg=$tmp/xdg
    mkdir -p "$xdg/greenbench/peers.d"
    cp "$src/examples/peers/minimal/minimal.conf" "$xdg/greenbench/peers.d/"
    bad="peer 'minimal' ($xdg/greenbench/peers.d/minimal.conf): command $xdg/greenbench/peers.d/../../../build/bin/greenbench-peer-minimal not found"
    (
        unset GREENBENCH_PEERS_DIR
        export XDG_CONFIG_HOME=$xdg
        expect 0 "minimal  broken, not registered: $bad" list
        expect 0 "greenbench: warning: $bad: skipped" list
        expect 0 "  spawn threads" run --dry-run --quick --workload=spawn --impl=threads
        expect 2 "--impl: peer 'minimal' is not registered: $bad" run --dry-run --quick --workload=spawn --impl=minimal
        expect 2 "check-cell: peer minimal is not registered: $bad" check-cell minimal
        expect 2 "greenbench list: $bad" list --peers-dir "$xdg/greenbench/peers.d"
        GREENBENCH_PEERS_DIR=$xdg/greenbench/peers.d expect 2 "greenbench list: $bad" list
        # As its comment says: with command made absolute it is registered.
        sed "s|^command = .*|command = $bin/greenbench-peer-minimal|" "$src/examples/peers/minimal/minimal.conf" \
            >"$xdg/greenbench/peers.d/minimal.conf"
        expect 0 "minimal  external ($xdg/greenbench/peers.d/minimal.conf): $bin/greenbench-peer-minimal" list
        exit "$failures"
    ) || failures=$((failures + 1))
    expect 2 "check-cell: which program?" check-cell
    expect 2 "check-cell: unknown option '--frob'" check-cell x --frob
    # A setup command that fails: the peer is skipped, with its reason in
    # the report; the run goes on.
    conf "$d/later.conf" "command = ./not-built-yet" "workloads = spawn" "setup = echo building; exit 3"
    "$gb" run --quick --workload=spawn --impl=threads,later --n=100 --reps=1 --no-plots --peers-dir "$d" \
        --out "$tmp/run" >"$tmp/log" 2>&1
    rc=$?
    [ "$rc" = 0 ] || { fail "run with a failing setup: exit $rc"; cat "$tmp/log" >&2; }
    grep -q "peer later skipped: its setup command failed (exit 3): building" "$tmp/log" ||
        { fail "no 'peer later skipped' line"; cat "$tmp/log" >&2; }
    grep -q "later (external peer, $d/later.conf): not run: its setup command failed" "$tmp/run/report.md" ||
        fail "report.md does not say why later did not run"
    grep -q '"note": "its setup command failed (exit 3): building"' "$tmp/run/meta.json" ||
        fail "meta.json does not say why later was skipped"
    ;;
boost-fiber)
    if ! command -v g++ >/dev/null 2>&1 || [ ! -f /usr/include/boost/fiber/all.hpp ]; then
        echo "skipped: g++ or Boost.Fiber's headers (libboost-fiber-dev) are missing" >&2
        exit 77
    fi
    peer=$src/examples/peers/boost-fiber
    "$gb" check-cell boost-fiber --peers-dir "$peer" >"$tmp/check" 2>&1 ||
        { fail "check-cell boost-fiber: exit $?"; cat "$tmp/check" >&2; }
    grep -q "0 failed: it obeys the cell protocol" "$tmp/check" || fail "check-cell did not pass boost-fiber"
    (cd "$tmp" && "$gb" run --quick --peer "boost-fiber=$peer/boost-fiber.conf" --workload=switch,spawn \
        --impl=green,boost-fiber --n=1000 --reps=1 --no-plots --out "$tmp/run") >"$tmp/log" 2>&1
    rc=$?
    [ "$rc" = 0 ] || { fail "run --peer boost-fiber=...: exit $rc"; cat "$tmp/log" >&2; }
    for w in switch spawn; do
        grep -q "^$w boost-fiber n=1000,$w,boost-fiber," "$tmp/run/summary.csv" ||
            fail "summary.csv has no $w boost-fiber row"
    done
    grep -q "boost-fiber (external peer, $peer/boost-fiber.conf): its figures include" "$tmp/run/report.html" ||
        fail "report.html's Peers section does not name boost-fiber"
    ;;
esac
exit $((failures > 0))
