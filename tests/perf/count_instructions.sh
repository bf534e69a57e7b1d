#!/bin/sh
# Instructions per operation, per context backend, counted by
# valgrind --tool=callgrind: deterministic, unlike time on shared machines.
# tests/perf/check_instruction_budgets.sh compares them with the budgets of
# tests/perf/instruction-budgets.txt.
#
# usage: tests/perf/count_instructions.sh BIN_DIR [BACKEND...]
#
# BACKEND: a context backend whose cell program BIN_DIR/greenbench-cell-
# <BACKEND>-libev is built (default: every one that is). Prints one line per
# figure, "<backend> <metric> <instructions, one decimal>":
#   switch       one one-way switch of the raw switch workload, its timed loop
#                included (the call, the arguments, the loop counter): all
#                that runs inside backend_run (workloads/switch/green.c)
#   switch-code  of those, the instructions of the switch code alone, counted
#                by address: green__ctx_jump, plus jump_fcontext (boost) or
#                swapcontext (ucontext)
#   floor        one one-way switch of the backend's floor
#                (workloads/switch/floor.h), inside its run function; "-"
#                when the cell measures none. A reference, not budgeted
#   yield        one green_yield of two green threads through the hub
#   spawn        one spawn + join of a trivial green thread
#                Both without the loop's polls (green_loop_run and what it
#                calls): the hub polls when GREEN__POLL_INTERVAL has passed
#                (runtime/internal.h), a number of polls that follows the
#                clock, which callgrind slows fifty-fold. Left in, they made
#                yield vary by 0.5% from run to run, more on a loaded machine.
#
# Each figure comes from two runs, with N1 and N2: the difference cancels
# start-up, the warm-ups and everything else that does not grow with N, and
# is divided by the operations the extra N make (2*(N2-N1) for each: two
# switches a round trip, two threads yielding, two passes of spawn: the
# warm-up and the timed one).
set -eu
me=count_instructions
n1=20000
n2=120000

die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

[ $# -ge 1 ] || { echo "usage: $0 BIN_DIR [BACKEND...]" >&2; exit 2; }
bin=$1
shift
command -v valgrind >/dev/null 2>&1 || die "valgrind is not installed (Debian: apt-get install valgrind)"
command -v nm >/dev/null 2>&1 || die "nm is not installed (Debian: apt-get install binutils)"
[ -d "$bin" ] || die "no such directory: $bin (build first: ./greenbench setup)"
bin=$(cd "$bin" && pwd -P)     # callgrind names objects by their real absolute path

if [ $# -eq 0 ]; then
    for prog in "$bin"/greenbench-cell-*-libev; do
        [ -x "$prog" ] || continue
        name=${prog##*/greenbench-cell-}
        set -- "$@" "${name%-libev}"
    done
    [ $# -gt 0 ] || die "no greenbench-cell-*-libev program in $bin (build first: ./greenbench setup)"
fi
for backend in "$@"; do
    [ -x "$bin/greenbench-cell-$backend-libev" ] ||
        die "backend $backend: $bin/greenbench-cell-$backend-libev is not built"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# callgrind OUT PROG WORKLOAD N [VALGRIND OPTIONS]: run one cell under
# callgrind, its profile in OUT. A failure names the command and shows the
# end of its stderr (valgrind's and the cell's).
callgrind() {
    out=$1 cell=$2 workload=$3 cell_n=$4
    shift 4
    if ! valgrind -q --tool=callgrind --callgrind-out-file="$out" "$@" \
        "$cell" "$workload" --impl=green --n="$cell_n" >"$out.stdout" 2>"$out.stderr" ||
        ! grep -q '"ok":true' "$out.stdout"; then
        {
            echo "$me: this failed under callgrind:"
            echo "    valgrind -q --tool=callgrind $* $cell $workload --impl=green --n=$cell_n"
            echo "its stderr ends:"
            tail -n 15 "$out.stderr" | sed 's/^/    /'
            echo "its stdout ends:"
            tail -n 3 "$out.stdout" | sed 's/^/    /'
        } >&2
        exit 1
    fi
}

# total OUT: the instructions a profile counted.
total() {
    awk '/^summary:/ { print $2; found = 1 } END { if (!found) print 0 }' "$1"
}

# ranges PROG: "object-path start size" (hex) for each function that is
# switch code, in PROG or in a library it loads.
ranges() {
    real=$(readlink -f "$1")
    nm -S "$real" | awk -v ob="$real" '$4 == "green__ctx_jump" { print ob, $1, $2 }'
    ldd "$real" | awk '$3 ~ /^\// { print $3 }' | xargs -r readlink -f | while read -r lib; do
        nm -D -S --defined-only "$lib" 2>/dev/null |
            awk -v ob="$lib" '$4 == "jump_fcontext" || $4 ~ /^swapcontext(@|$)/ { print ob, $1, $2 }'
    done
}

# inside RANGES OUT: the instructions a profile made with --dump-instr=yes
# counted at the addresses of RANGES. Instruction lines give the address
# (absolute "0x..", or relative "+n", "-n", "*"), the source line and Ir;
# the line after "calls=" is the call's inclusive cost, not the caller's own.
inside() {
    awk '
        function num(s,    v, i, c, hexa) {   # hex (with or without 0x) or decimal, POSIX awk
            if (s ~ /^0x/) { s = substr(s, 3); hexa = 1 } else hexa = hex_default
            v = 0
            for (i = 1; i <= length(s); i++) {
                c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
                v = v * (hexa ? 16 : 10) + c
            }
            return v
        }
        FNR == NR { hex_default = 1; lo[$1] = lo[$1] " " num($2); len[$1] = len[$1] " " num($3); hex_default = 0; next }
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
                for (i = 1; i <= n; i++) if (addr >= l[i] && addr < l[i] + s[i]) in_code += $3
            }
        }
        END { printf "%d\n", in_code }
    ' "$1" "$2"
}

# polls OUT: the instructions a profile counted inside green_loop_run, over
# all its calls (the inclusive cost on each "calls=" line's next line).
# Function names are "(id) name" the first time, "(id)" after; callgrind
# appends 'N to a function it sees recursing (which the stack switches fake).
polls() {
    awk '
        /^c?fn=/ {
            id = $1; sub(/^c?fn=/, "", id)
            if (NF > 1) name[id] = $2; else if (id !~ /^\(/) name[id] = id
            if ($0 ~ /^cfn=/) callee = name[id]
            next
        }
        /^calls=/ { poll = callee ~ /^green_loop_run(\047[0-9]+)?$/; getline; if (poll) sum += $NF }
        END { printf "%d\n", sum }
    ' "$1"
}

# per A B: (B - A) / 2*(N2 - N1), one decimal.
per() {
    awk -v a="$1" -v b="$2" -v d=$((2 * (n2 - n1))) 'BEGIN { printf "%.1f\n", (b - a) / d }'
}

# floor_function PROG: the run function of the floor PROG's switch cell
# measures (the record's "floor"), or nothing when it measures none or one
# this script does not know (a warning: the floor is a reference, and a new
# one should not fail the budgets' check).
floor_function() {
    "$1" switch --impl=green --n=1000 >"$tmp/floor.stdout" 2>"$tmp/floor.stderr" ||
        { tail -n 5 "$tmp/floor.stderr" >&2; die "$1 switch --impl=green --n=1000 failed"; }
    floor=$(sed -n 's/.*"floor":"\([^"]*\)".*/\1/p' "$tmp/floor.stdout")
    case "$floor" in
        '') ;;
        regs) echo regs_run ;;
        regs+fp) echo regs_fp_run ;;
        jump_fcontext) echo fcontext_run ;;
        swapcontext) echo uc_run ;;
        *) echo "$me: warning: unknown floor '$floor' in $1's switch record: name its run function (workloads/switch/floor.c) in $0" >&2 ;;
    esac
}

for backend in "$@"; do
    prog=$bin/greenbench-cell-$backend-libev
    cg=$tmp/$backend

    # switch and switch-code: only inside the timed loop, since the cell
    # also runs the floor's switches and a checked warm-up.
    nm "$prog" | grep -q ' green__ctx_jump$' || die "no green__ctx_jump in $prog's symbols: is it stripped?"
    ranges "$prog" >"$cg.ranges"
    for n in $n1 $n2; do
        callgrind "$cg.switch.$n" "$prog" switch "$n" --toggle-collect=backend_run --dump-instr=yes
    done
    t1=$(total "$cg.switch.$n1") t2=$(total "$cg.switch.$n2")
    [ "$t2" -gt "$t1" ] ||
        die "$backend: callgrind counted nothing more inside backend_run for --n=$n2 than for --n=$n1: was backend_run (workloads/switch/green.c) renamed or inlined?"
    echo "$backend switch $(per "$t1" "$t2")"
    c1=$(inside "$cg.ranges" "$cg.switch.$n1") c2=$(inside "$cg.ranges" "$cg.switch.$n2")
    [ "$c2" -gt "$c1" ] || die "$backend: no instruction counted at the switch code's addresses ($(tr '\n' ';' <"$cg.ranges"))"
    echo "$backend switch-code $(per "$c1" "$c2")"

    fn=$(floor_function "$prog") || exit 1
    if [ -n "$fn" ]; then
        for n in $n1 $n2; do
            callgrind "$cg.floor.$n" "$prog" switch "$n" --toggle-collect="$fn"
        done
        f1=$(total "$cg.floor.$n1") f2=$(total "$cg.floor.$n2")
        [ "$f2" -gt "$f1" ] || die "$backend: callgrind counted nothing more inside $fn for --n=$n2 than for --n=$n1"
        echo "$backend floor $(per "$f1" "$f2")"
    else
        echo "$backend floor -"
    fi

    for workload in yield spawn; do
        for n in $n1 $n2; do
            callgrind "$cg.$workload.$n" "$prog" "$workload" "$n"
        done
        y1=$(($(total "$cg.$workload.$n1") - $(polls "$cg.$workload.$n1")))
        y2=$(($(total "$cg.$workload.$n2") - $(polls "$cg.$workload.$n2")))
        echo "$backend $workload $(per "$y1" "$y2")"
    done
done
