#!/bin/sh
# tests/fuzz/run.sh [--fresh] PROGRAM SEEDS WORKDIR SECONDS: run one fuzz
# target for SECONDS, as ctest (-L fuzz) and `./greenbench fuzz` do.
# libFuzzer reads the seed corpus SEEDS (in the repository, never written)
# and keeps what it finds in WORKDIR/corpus, so that a later run starts from
# there; --fresh empties that first (ctest's short runs: each starts from the
# seeds alone, and the directory does not grow run after run). A crashing
# input goes to WORKDIR/crash-*, and the exit status is then not 0.
set -eu
fresh=false
if [ "${1:-}" = --fresh ]; then
    fresh=true
    shift
fi
[ $# -eq 4 ] || { echo "usage: $0 [--fresh] PROGRAM SEEDS WORKDIR SECONDS" >&2; exit 2; }
program=$1 seeds=$2 work=$3 seconds=$4
if $fresh; then
    rm -rf "$work/corpus"
fi
mkdir -p "$work/corpus"
exec "$program" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="$(dirname "$0")/http.dict" -artifact_prefix="$work/" "$work/corpus" "$seeds"
