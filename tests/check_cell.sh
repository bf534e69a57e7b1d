#!/bin/sh
# tests/check_cell.sh MODE GREENBENCH ARGS...: `greenbench check-cell` end to
# end (ctest entries check-cell-*).
#   fault GREENBENCH BROKEN FAULT TEXT [ALSO]  check-cell on
#       tests/fake_cells/broken_cell.c with --fault=FAULT must exit 1 and
#       print a FAIL line containing TEXT (the fault named), and ALSO on any
#       line when given (the program's stderr below the FAIL line). FAULT
#       no-impl is no --fault but no --impl: the program's file name is
#       refused, and check-cell must say which --impl to give; no-impl-listed
#       the same with --workload given;
#   pass GREENBENCH TARGET [OPTIONS...]  check-cell TARGET must exit 0 with
#       no FAIL line;
#   peer GREENBENCH NAME                 as pass, for a built-in peer: skipped
#       (77) when its program is not built (its toolchain is missing).
set -u
mode=$1
gb=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

case "$mode" in
fault)
    broken=$1 fault=$2 text=$3 also=${4:-}
    if [ "$fault" = no-impl ]; then
        "$gb" check-cell "$broken" --timeout=2 >"$out" 2>&1 </dev/null
    elif [ "$fault" = no-impl-listed ]; then # the same with the workloads named: they must run
        "$gb" check-cell "$broken" --workload=switch,spawn --timeout=2 >"$out" 2>&1 </dev/null
    elif [ "$fault" = impl-first ]; then # no --impl either: its refusal names the asked one first
        "$gb" check-cell "$broken --fault=$fault" --timeout=2 >"$out" 2>&1 </dev/null
    else
        "$gb" check-cell "$broken --fault=$fault" --impl=broken --timeout=2 >"$out" 2>&1 </dev/null
    fi
    rc=$?
    if [ "$rc" != 1 ] || ! grep -F -- "FAIL " "$out" | grep -qF -- "$text"; then
        echo "FAILED: check-cell --fault=$fault: exit $rc (want 1), want a FAIL line with: $text" >&2
        sed 's/^/    /' "$out" >&2
        exit 1
    fi
    if [ -n "$also" ] && ! grep -qF -- "$also" "$out"; then
        echo "FAILED: check-cell --fault=$fault: want a line with: $also" >&2
        sed 's/^/    /' "$out" >&2
        exit 1
    fi
    # A usage check that passes although every workload was refused passes
    # for the wrong reason.
    if [ "${fault#no-impl}" != "$fault" ] && grep -q "^ok   usage" "$out"; then
        echo "FAILED: check-cell without --impl: usage checks passed although every workload was refused" >&2
        sed 's/^/    /' "$out" >&2
        exit 1
    fi
    # The fault is the only thing wrong: every other FAIL line comes from it.
    grep -F "FAIL " "$out"
    ;;
pass | peer)
    target=$1
    shift
    if [ "$mode" = peer ] && ! "$gb" list 2>/dev/null | grep -qE "^  $target +found:"; then
        echo "peer $target: not built (its toolchain is missing): skipped"
        exit 77
    fi
    "$gb" check-cell "$target" "$@" >"$out" 2>&1 </dev/null
    rc=$?
    cat "$out"
    if [ "$rc" != 0 ] || grep -q "^FAIL" "$out"; then
        echo "FAILED: check-cell $target $*: exit $rc (want 0 and no FAIL line)" >&2
        exit 1
    fi
    ;;
*)
    echo "check_cell.sh: unknown mode '$mode'" >&2
    exit 2
    ;;
esac
