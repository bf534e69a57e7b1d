#!/bin/sh
# Instructions per one-way switch, per context backend, counted by
# valgrind --tool=callgrind: deterministic, unlike time on shared machines.
#
# usage: workloads/switch/count_instructions.sh [BIN_DIR]   (default: build/bin)
#
# Each backend's raw switch workload runs twice, with N1 and N2 round trips;
# the difference cancels start-up and the checked warm-up, leaving exactly
# 2*(N2-N1) one-way switches. Two figures per backend:
#   loop     every instruction executed per switch, the benchmark loop included
#            (the call, loading the arguments, the loop counter)
#   switch   the instructions inside the switch code alone, counted by address:
#            green__ctx_jump, plus jump_fcontext (boost) or swapcontext (ucontext)
set -eu
bin=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
n1=20000
n2=120000
command -v valgrind >/dev/null || { echo "count_instructions: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[ -d "$bin" ] || { echo "count_instructions: no such directory: $bin (build first: ./greenbench setup)" >&2; exit 1; }
bin=$(cd "$bin" && pwd)     # callgrind names objects by absolute path
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ranges PROG: "object-path start end" for each function that is switch code.
ranges() {
    prog=$1
    nm -S "$prog" | awk -v ob="$prog" '$4 == "green__ctx_jump" { print ob, $1, $2 }'
    ldd "$prog" | awk '$3 ~ /^\// { print $3 }' | xargs -r readlink -f | while read -r lib; do
        nm -D -S --defined-only "$lib" 2>/dev/null |
            awk -v ob="$lib" '$4 == "jump_fcontext" || $4 ~ /^swapcontext(@|$)/ { print ob, $1, $2 }'
    done
}

# count PROG N: total Ir of the run, and Ir at the addresses of the switch code.
count() {
    prog=$1 n=$2 out=$tmp/cg.$2
    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$out" \
        "$prog" switch --impl=green --n="$n" >/dev/null 2>&1 ||
        { echo "count_instructions: $prog failed under callgrind" >&2; exit 1; }
    ranges "$prog" > "$tmp/ranges"
    awk '
        function num(s,    v, i, c) {   # hex (with or without 0x) or decimal, POSIX awk
            if (s ~ /^0x/) { s = substr(s, 3); hexa = 1 } else hexa = hex_default
            v = 0
            for (i = 1; i <= length(s); i++) {
                c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
                v = v * (hexa ? 16 : 10) + c
            }
            return v
        }
        FNR == NR { hex_default = 1; lo[$1] = lo[$1] " " num($2); len[$1] = len[$1] " " num($3); hex_default = 0; next }
        /^(summary|totals):/ { total = $2 }
        /^c?ob=/ {      # "(id) path" names an object once; later just "(id)"
            id = $1; sub(/^c?ob=/, "", id)
            if (NF > 1) { name[id] = $2 }
            if ($0 ~ /^ob=/) ob = name[id]
        }
        /^calls=/ { skip = 1; next }
        /^(0x|\+|-|\*)/ {
            a = $1
            if (a ~ /^0x/) addr = num(a)
            else if (a ~ /^\+/) addr += num(substr(a, 2))
            else if (a ~ /^-/) addr -= num(substr(a, 2))
            if (skip) { skip = 0; next }
            if (ob in lo) {
                n = split(lo[ob], l, " "); split(len[ob], s, " ")
                for (i = 1; i <= n; i++) if (addr >= l[i] && addr < l[i] + s[i]) inside += $3
            }
        }
        END { printf "%d %d\n", total, inside }
    ' "$tmp/ranges" "$out"
}

printf '%-10s %8s %8s\n' backend loop switch
seen=" "
for prog in "$bin"/greenbench-cell-*-*; do
    name=${prog##*/greenbench-cell-}
    ctx=${name%-*}
    case "$seen" in *" $ctx "*) continue ;; esac
    seen="$seen$ctx "
    set -- $(count "$prog" $n1)
    t1=$1 s1=$2
    set -- $(count "$prog" $n2)
    t2=$1 s2=$2
    awk -v c="$ctx" -v t1="$t1" -v t2="$t2" -v s1="$s1" -v s2="$s2" -v d=$((2 * (n2 - n1))) \
        'BEGIN { printf "%-10s %8.1f %8.1f\n", c, (t2 - t1) / d, (s2 - s1) / d }'
done
