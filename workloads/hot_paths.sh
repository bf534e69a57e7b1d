#!/bin/sh
# The hot paths' targets, side by side in one run (benchmarks, not tests):
# each context backend against its floor, the hub's yield against the raw
# switch, and spawn + join of a million, warm and in a fresh process.
#
# usage: workloads/hot_paths.sh [BIN_DIR] [REPS]   (default: build/bin, 5)
#
#   switch  N=2000000  ns per one-way switch and its multiple of the floor
#                      measured beside it in the same process (workloads/switch/floor.h)
#   yield   N=2000000  ns per hub-level yield, and its multiple of the raw
#                      switch of the run just before it
#   spawn   N=1000000  ns per spawn + join: warm (the second million of the
#                      process) and cold (the first, page faults included)
# Every figure is the median of REPS processes, with the lowest and highest
# beside it; the backends alternate within each repetition, so that a slow
# spell of the machine falls on all of them. The machine should be otherwise idle.
set -eu
case "${1:-}" in
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
[ $# -le 2 ] || { echo "hot_paths: too many arguments (usage: workloads/hot_paths.sh [BIN_DIR] [REPS])" >&2; exit 2; }
bin=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}
reps=${2:-5}
case "$reps" in
    '' | *[!0-9]* | 0*) echo "hot_paths: REPS must be a whole number from 1, not '$reps'" >&2; exit 2 ;;
esac
loop=libev
[ -d "$bin" ] || { echo "hot_paths: no such directory: $bin (build first: ./greenbench setup)" >&2; exit 1; }
backends=$(for p in "$bin"/greenbench-cell-*-$loop; do
    [ -x "$p" ] || continue
    n=${p##*/greenbench-cell-}
    echo "${n%-"$loop"}"
done)
[ -n "$backends" ] || { echo "hot_paths: no greenbench-cell-*-$loop in $bin" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# field NAME: the number after "NAME": in the JSON line on stdin.
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

# cell BACKEND ARGS...: one cell's JSON line; exits on a failed cell.
cell() {
    b=$1
    shift
    line=$("$bin/greenbench-cell-$b-$loop" "$@" --impl=green 2>"$tmp/err" | tail -n 1)
    case "$line" in
        *'"ok":true'*) printf '%s\n' "$line" ;;
        *) echo "hot_paths: $b $*: failed: $line $(tail -n 3 "$tmp/err")" >&2; exit 1 ;;
    esac
}

r=1
while [ "$r" -le "$reps" ]; do
    for b in $backends; do
        s=$(cell "$b" switch --n=2000000)
        y=$(cell "$b" yield --n=2000000)
        p=$(cell "$b" spawn --n=1000000)
        sw=$(echo "$s" | field ns_per_op)
        fl=$(echo "$s" | field floor_ns_per_op)
        yi=$(echo "$y" | field ns_per_op)
        {
            echo "$b switch $sw"
            [ -n "$fl" ] && echo "$b of-floor $(awk -v a="$sw" -v b="$fl" 'BEGIN { print a / b }')"
            echo "$b yield $yi"
            echo "$b yield-of-switch $(awk -v a="$yi" -v b="$sw" 'BEGIN { print a / b }')"
            echo "$b spawn-warm $(echo "$p" | field ns_per_op)"
            echo "$b spawn-cold $(echo "$p" | field cold_ns_per_op)"
        } >>"$tmp/figures"
        floor_name=$(echo "$s" | sed -n 's/.*"floor":"\([^"]*\)".*/\1/p')
        echo "$b ${floor_name:--}" >>"$tmp/floors"
    done
    echo "hot_paths: repetition $r of $reps done" >&2
    r=$((r + 1))
done

printf '%-10s %-16s %10s %10s %10s\n' backend figure median lowest highest
for b in $backends; do
    for f in switch of-floor yield yield-of-switch spawn-warm spawn-cold; do
        awk -v b="$b" -v f="$f" '$1 == b && $2 == f { print $3 }' "$tmp/figures" | sort -g >"$tmp/v"
        n=$(wc -l <"$tmp/v")
        [ "$n" -gt 0 ] || continue
        awk -v b="$b" -v f="$f" -v n="$n" '
            { v[NR] = $1 }
            END {
                med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
                unit = f ~ /of-/ ? "x" : " ns"
                printf "%-10s %-16s %9.3f%s %9.3f%s %9.3f%s\n", b, f, med, unit, v[1], unit, v[n], unit
            }' "$tmp/v"
    done
    echo "$b floor: $(awk -v b="$b" '$1 == b { print $2; exit }' "$tmp/floors")"
done
