#!/bin/sh
# Instruction counts against their budgets: fails when a count is more than
# 2% over its budget. Instructions, unlike time, do not depend on what else
# the machine is doing, so a small margin catches a real regression.
#
# usage: tests/perf/check_instruction_budgets.sh BIN_DIR BUDGETS [--update] [BACKEND...]
#
# BIN_DIR holds the cell programs (build/bin); BUDGETS is
# tests/perf/instruction-budgets.txt. The counts come from
# tests/perf/count_instructions.sh, for the BACKENDs named or else for every
# one built (a budgeted backend that is not built is skipped, with a note).
# Prints a table of budget and count per metric, then exits 1 if a count is
# over budget + 2%, or a budgeted metric of a built backend has no budget.
# A count more than 2% under its budget passes, with a note: lower the
# budget. --update writes the counts as the budgets of the backends counted
# (the file's header and other backends' lines stay) and exits 0.
set -eu
me=check_instruction_budgets
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
tolerance=2                             # percent
budgeted="switch switch-code yield spawn"   # floor is a reference: printed, never budgeted

usage() {
    echo "usage: $0 BIN_DIR BUDGETS [--update] [BACKEND...]" >&2
    exit 2
}

[ $# -ge 2 ] || usage
bin=$1 budgets=$2
shift 2
update=false
if [ "${1:-}" = --update ]; then
    update=true
    shift
fi
for b in "$@"; do
    case "$b" in -*) usage ;; esac
done
[ -f "$budgets" ] || { echo "$me: no budget file $budgets" >&2; exit 1; }
[ -d "$bin" ] || { echo "$me: no such directory: $bin (build first: ./greenbench setup)" >&2; exit 1; }

# The backends to count: those named, or every budgeted or built one; a
# budgeted backend whose cell program is missing is only noted.
if [ $# -eq 0 ]; then
    all=$( {
        awk '!/^#/ && NF { print $1 }' "$budgets"
        for prog in "$bin"/greenbench-cell-*-libev; do
            [ -x "$prog" ] || continue
            name=${prog##*/greenbench-cell-}
            echo "${name%-libev}"
        done
    } | sort -u)
    for b in $all; do
        if [ -x "$bin/greenbench-cell-$b-libev" ]; then
            set -- "$@" "$b"
        else
            echo "note: $b has budgets but is not built here ($bin/greenbench-cell-$b-libev): skipped"
        fi
    done
    [ $# -gt 0 ] || { echo "$me: no greenbench-cell-*-libev program in $bin" >&2; exit 1; }
fi

counts=$(mktemp)
trap 'rm -f "$counts" "$counts.new"' EXIT
sh "$here/count_instructions.sh" "$bin" "$@" >"$counts"

if $update; then
    # Header (the leading comment block), then the budget lines of the other
    # backends as they were, and the new counts, sorted by backend.
    {
        awk '!/^#/ && NF { exit } { print }' "$budgets"
        {
            awk -v counted=" $* " '!/^#/ && NF && index(counted, " " $1 " ") == 0' "$budgets"
            awk -v budgeted=" $budgeted " 'index(budgeted, " " $2 " ") > 0' "$counts"
        } | sort -s -k1,1
    } >"$counts.new"
    cat "$counts.new" >"$budgets"
    echo "$me: wrote the budgets of $* to $budgets:"
    awk -v counted=" $* " 'index(counted, " " $1 " ") > 0' "$budgets"
    exit 0
fi

# The table, then a line per failure and note. Budgets are read for the
# backends counted only; a budget line for a metric the counter no longer
# prints fails too (a budget nobody checks would claim what is not true).
awk -v tol="$tolerance" -v budgeted=" $budgeted " -v counted=" $* " -v file="$budgets" '
    FNR == NR {
        if ($0 ~ /^#/ || NF == 0) next
        if (NF != 3 || $3 !~ /^[0-9]+(\.[0-9]+)?$/) { bad[++nbad] = FNR ": " $0; next }
        if (index(counted, " " $1 " ") == 0) next
        budget[$1 " " $2] = $3
        order[++nb] = $1 " " $2
        next
    }
    {
        key = $1 " " $2
        seen[key] = 1
        if (!header++) printf "%-10s %-12s %8s %8s %8s\n", "backend", "metric", "budget", "now", "change"
        if (index(budgeted, " " $2 " ") == 0) {
            printf "%-10s %-12s %8s %8s   (reference, not budgeted)\n", $1, $2, "-", $3
            next
        }
        if (!(key in budget)) {
            printf "%-10s %-12s %8s %8s\n", $1, $2, "-", $3
            fail[++nf] = sprintf("no budget for %s %s (now %s): add one to %s (or run with --update)", $1, $2, $3, file)
            next
        }
        b = budget[key]; now = $3 + 0
        change = b > 0 ? sprintf("%+.1f%%", (now - b) / b * 100) : "n/a"
        printf "%-10s %-12s %8s %8s %8s\n", $1, $2, b, $3, change
        if (now > b * (1 + tol / 100))
            fail[++nf] = sprintf("%s %s is now %s instructions, %.1f%% over its budget of %s (the limit is +%d%%). If the change is worth them, raise the budget in %s and say why in the commit", $1, $2, $3, (now - b) / b * 100, b, tol, file)
        else if (now < b * (1 - tol / 100))
            note[++nn] = sprintf("%s %s is now %s instructions, %.1f%% under its budget of %s: the budget can go down (run with --update)", $1, $2, $3, (b - now) / b * 100, b)
    }
    END {
        for (i = 1; i <= nbad; i++)
            fail[++nf] = sprintf("%s:%s: not \"<backend> <metric> <budget>\"", file, bad[i])
        for (i = 1; i <= nb; i++)
            if (!(order[i] in seen))
                fail[++nf] = sprintf("budget for %s, which count_instructions.sh does not count: remove the line from %s", order[i], file)
        for (i = 1; i <= nn; i++) print "note: " note[i]
        for (i = 1; i <= nf; i++) print "FAIL: " fail[i]
        if (nf == 0) printf "ok: every count is within %d%% of its budget or under it\n", tol
        exit (nf > 0)
    }
' "$budgets" "$counts"
