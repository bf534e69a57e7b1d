#!/bin/sh
# The workload targets' figures, side by side in one run (benchmarks, not
# tests): joinall and pool against the local server, spawn green vs pthreads.
#
# usage: workloads/targets.sh [BIN_DIR] [REPS]   (default: build/bin, 3)
#
#   joinall N=10000 D=10ms    green (asm + libev) vs one thread per request
#   pool    N=10000 K=100     green vs a pool of 100 threads, vs the ideal K/D
#   spawn   N=1000000 green   vs pthread create + join (THREAD_SPAWN_N, default
#                             100000: a million threads take minutes here)
# Each line is one cell's req/s or ns/task; REPS repetitions each, so the
# spread shows. The machine should be otherwise idle.
set -eu
bin=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}
reps=${2:-3}
thread_spawn_n=${THREAD_SPAWN_N:-100000}
green=$bin/greenbench-cell-asm-libev
threads=$bin/greenbench-cell-threads
for p in "$green" "$threads" "$bin/greenbench-server"; do
    [ -x "$p" ] || { echo "targets: $p is missing (build first)" >&2; exit 1; }
done
tmp=$(mktemp -d)
"$bin/greenbench-server" --delay-ms 10 --size 1024 --cpu last >"$tmp/url" 2>"$tmp/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/url" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
url=$(head -n 1 "$tmp/url")
[ -n "$url" ] || { echo "targets: the server printed no URL" >&2; exit 1; }

# field NAME: the number after "NAME": in the JSON line on stdin.
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

# run LABEL PROGRAM ARGS...: one cell; prints req/s (fetches) or ns/task.
run() {
    label=$1
    shift
    line=$("$@" 2>/dev/null | tail -n 1)
    case "$line" in
        *'"ok":true'*) ;;
        *) echo "$label: FAILED: $line"; return ;;
    esac
    ns=$(echo "$line" | field ns_per_op)
    cpu=$(echo "$line" | field cpu_ns)
    wall=$(echo "$line" | field wall_ns)
    case "$label" in
        spawn*) awk -v l="$label" -v ns="$ns" 'BEGIN { printf "%-34s %12.1f ns/task\n", l, ns }' ;;
        *) awk -v l="$label" -v ns="$ns" -v c="$cpu" -v w="$wall" -v m="$(echo "$line" | field max_in_flight)" \
               'BEGIN { printf "%-34s %8.0f req/s  (cpu %.2f s of %.2f s wall, max in flight %s)\n", l, 1e9 / ns, c / 1e9, w / 1e9, m }' ;;
    esac
}

echo "server: $url (10 ms, 1024 bytes); $(nproc) CPUs"
r=1
while [ $r -le "$reps" ]; do
    run "joinall N=10000 green asm+libev" "$green" joinall --impl=green --n=10000 --url="$url" --delay-ms=10 --size=1024
    run "joinall N=10000 threads" "$threads" joinall --impl=threads --n=10000 --url="$url" --delay-ms=10 --size=1024
    run "pool N=10000 K=100 green" "$green" pool --impl=green --n=10000 --concurrency=100 --url="$url" --delay-ms=10 --size=1024
    run "pool N=10000 K=100 threads" "$threads" pool --impl=threads --n=10000 --concurrency=100 --url="$url" --delay-ms=10 --size=1024
    run "spawn N=1000000 green" "$green" spawn --impl=green --n=1000000
    run "spawn N=$thread_spawn_n threads" "$threads" spawn --impl=threads --n="$thread_spawn_n"
    r=$((r + 1))
done
echo "pool ideal: K/D = 100 / 10 ms = 10000 req/s"
