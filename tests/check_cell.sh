#!/bin/sh
# tests/check_cell.sh MODE GREENBENCH ARGS...: `greenbench check-cell` end to
# end (ctest entries check-cell-*).
#   fault GREENBENCH BROKEN FAULT TEXT  check-cell on tests/fake_cells/broken_cell.c
#       with --fault=FAULT must exit 1 and print a FAIL line containing TEXT
#       (the fault named), and no line that is neither ok, FAIL nor skip;
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
    broken=$1 fault=$2 text=$3
    "$gb" check-cell "$broken --fault=$fault" --impl=broken --timeout=2 >"$out" 2>&1 </dev/null
    rc=$?
    if [ "$rc" != 1 ] || ! grep -F -- "FAIL " "$out" | grep -qF -- "$text"; then
        echo "FAILED: check-cell --fault=$fault: exit $rc (want 1), want a FAIL line with: $text" >&2
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
