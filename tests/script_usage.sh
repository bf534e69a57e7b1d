#!/bin/sh
# tests/script_usage.sh GREENBENCH: the entry script's own command line
# (ctest entry script-usage). Every case is refused or answered before
# anything is installed or built, so it runs in a second:
#   setup and test take no arguments: one line naming it, exit 2;
#   test --help, setup -h, fuzz --help print help, exit 0, and run nothing;
#   fuzz with a bad target or SECONDS: exit 2;
#   an unknown command, or none: exit 2.
set -u
gb=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failures=0

# expect CODE TEXT ARGS...: greenbench ARGS exits CODE and says TEXT.
expect() {
    code=$1
    text=$2
    shift 2
    "$gb" "$@" >"$out" 2>&1 </dev/null
    rc=$?
    if [ "$rc" != "$code" ] || ! grep -qF -- "$text" "$out"; then
        echo "FAILED: greenbench $*: exit $rc (want $code), output:" >&2
        sed 's/^/    /' "$out" >&2
        echo "    (want it to contain: $text)" >&2
        failures=$((failures + 1))
    fi
}

expect 2 "setup: unexpected argument 'extra'" setup extra
expect 2 "setup: unknown option '--verbose'" setup --verbose
expect 2 "test: unexpected argument 'foo'" test foo
expect 0 "usage: ./greenbench test" test --help
expect 0 "usage: ./greenbench setup" setup -h
expect 0 "usage: ./greenbench fuzz" fuzz --help
expect 2 "fuzz: unknown target 'bogus'" fuzz bogus
expect 2 "fuzz: SECONDS must be a whole number, not 'soon'" fuzz all soon
expect 2 "fuzz: SECONDS must be from 1 to 2147483647, not '0'" fuzz all 0
expect 2 "fuzz: SECONDS must be from 1 to 2147483647, not '99999999999'" fuzz all 99999999999
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "give a command: ./greenbench run" 
expect 0 "usage: ./greenbench COMMAND" help
# test --help ran no test: nothing but its help was printed.
"$gb" test --help >"$out" 2>&1
if grep -q "tests:" "$out"; then
    echo "FAILED: greenbench test --help ran tests" >&2
    failures=$((failures + 1))
fi
[ "$failures" = 0 ] && echo "script-usage: every case as expected"
exit $((failures > 0))
