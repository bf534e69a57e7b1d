#!/bin/sh
# tests/preload/siege.sh BIN_DIR PRELOAD_LIBRARY: a program no one here
# wrote that makes a thread per connection, run under libgreen-preload.so
# with thread patching. siege (Debian's) simulates C users, each a pthread
# with blocking sockets, mutexes and condition variables; here 50 users make
# 4 requests each to greenbench-server (20 ms, 1000 bytes), once as it is
# and once patched. Both runs must give the same counts (200 transactions,
# none failed, the same bytes), and the patched run's statistics must show
# its 50 threads made green threads. Exit 77 (skipped) without siege.
set -eu
bin=$1
lib=$2
command -v siege >/dev/null 2>&1 || { echo "siege is not installed (Debian package siege): skipped"; exit 77; }
[ -f "$lib" ] || { echo "no $lib"; exit 1; }
# Thread patching cannot work in an AddressSanitizer build: the sanitizer's
# runtime must be loaded first, and its pthread_create then runs before ours.
if ldd "$lib" 2>/dev/null | grep -q libasan; then
    echo "thread patching under AddressSanitizer (its pthread_create comes first): skipped"
    exit 77
fi

tmp=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

"$bin/greenbench-server" --delay-ms 20 --size 1000 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
tries=0
while ! head -n 1 "$tmp/server.out" 2>/dev/null | grep -q '^http://'; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || { echo "greenbench-server printed no URL"; cat "$tmp/server.err"; exit 1; }
    sleep 0.05
done
url=$(head -n 1 "$tmp/server.out")

# siege keeps its configuration in $HOME/.siege: a home of its own.
run_siege() { # OUT [ENV...]: siege's JSON summary into OUT, its stderr into OUT.err
    out=$1
    shift
    env HOME="$tmp" "$@" siege --concurrent=50 --reps=4 --benchmark --json-output --no-parser "$url" \
        >"$out" 2>"$out.err"
}
field() { # FILE NAME: a number from siege's JSON summary (tabs between key and value)
    tr -d ' \t' <"$1" | sed -n "s/.*\"$2\":\\([0-9.]*\\).*/\\1/p" | head -n 1
}

run_siege "$tmp/plain"
# siege's threads keep large buffers on their stacks: 1 MiB green stacks
# (64 KiB, libgreen's default, overflows).
run_siege "$tmp/patched" LD_PRELOAD="$lib" GREEN_PRELOAD=threads GREEN_PRELOAD_STATS=1 GREEN_PRELOAD_STACK_KIB=1024

status=0
for name in transactions successful_transactions failed_transactions data_transferred; do
    a=$(field "$tmp/plain" "$name")
    b=$(field "$tmp/patched" "$name")
    echo "$name: unpatched $a, patched $b"
    if [ -z "$a" ] || [ "$a" != "$b" ]; then
        echo "FAIL: $name differs"
        status=1
    fi
done
[ "$(field "$tmp/plain" transactions)" = 200 ] || { echo "FAIL: the unpatched run did not make 200 transactions"; status=1; }
[ "$(field "$tmp/plain" failed_transactions)" = 0 ] || { echo "FAIL: failed transactions"; status=1; }
echo "elapsed: unpatched $(field "$tmp/plain" elapsed_time) s, patched $(field "$tmp/patched" elapsed_time) s"
echo "--- the preload's statistics (patched run's stderr):"
cat "$tmp/patched.err"
# Its users were green threads: the statistics count the pthread_create calls.
if ! grep -Eq 'pthread_create[^0-9]*([5-9][0-9]|[0-9]{3,})' "$tmp/patched.err"; then
    echo "FAIL: the statistics show no 50 pthread_create calls made green"
    status=1
fi
exit $status
