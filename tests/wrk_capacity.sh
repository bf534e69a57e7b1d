#!/bin/sh
# tests/wrk_capacity.sh BIN_DIR: wrk against greenbench-server, one loop
# and two, with keep-alive and with "Connection: close": every run must
# complete with a rate above zero and no socket errors or non-2xx answers,
# and the server must answer its window afterwards and stop cleanly.
# Exit 77 (ctest: SKIPPED) when wrk is not installed (Debian package wrk).
set -u
bin=${1:?usage: wrk_capacity.sh BIN_DIR}
server=$bin/greenbench-server
if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk is not installed (Debian package wrk): skipped"
    exit 77
fi
[ -x "$server" ] || { echo "no $server"; exit 1; }
tmp=$(mktemp -d /tmp/greenbench-wrk-XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
# wrk on the first CPU this process may use, the server on the last (as
# the harness places them); taskset is util-linux's, always there on Debian.
first=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //; s/[-,].*//')
pin=
[ -n "$first" ] && command -v taskset >/dev/null 2>&1 && pin="taskset -c $first"
failed=0

# run THREADS: start a server with --threads THREADS, wrk it both ways.
run() {
    threads=$1
    : >"$tmp/url"
    "$server" --delay-ms 0 --size 1024 --threads "$threads" --cpu last >"$tmp/url" 2>"$tmp/server.log" &
    pid=$!
    i=0
    while [ ! -s "$tmp/url" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    url=$(head -n 1 "$tmp/url")
    case $url in
        http://127.0.0.1:*) ;;
        *) echo "threads $threads: no URL from the server"; failed=1; return ;;
    esac
    for mode in keepalive close; do
        if [ $mode = close ]; then
            timeout 20 $pin wrk -t1 -c32 -d1s --timeout 2s -H "Connection: close" "$url" >"$tmp/wrk.out" 2>&1
        else
            timeout 20 $pin wrk -t1 -c32 -d1s --timeout 2s "$url" >"$tmp/wrk.out" 2>&1
        fi
        rc=$?
        rps=$(sed -n 's/^Requests\/sec: *//p' "$tmp/wrk.out")
        echo "threads $threads, $mode: exit $rc, ${rps:-no} req/s"
        if [ $rc -ne 0 ] || [ -z "$rps" ] || grep -q -e "Socket errors" -e "Non-2xx" "$tmp/wrk.out" ||
            ! awk -v r="$rps" 'BEGIN { exit !(r > 0) }'; then
            echo "threads $threads, $mode: FAILED; wrk said:"
            cat "$tmp/wrk.out"
            failed=1
        fi
    done
    if command -v curl >/dev/null 2>&1; then
        window=$(curl -s -m 5 "${url}__greenbench/window")
        case $window in
            '{"requests":'*) echo "threads $threads, window: $window" ;;
            *) echo "threads $threads: no window: '$window'"; failed=1 ;;
        esac
    fi
    kill "$pid"
    wait "$pid"
    rc=$?
    pid=
    if [ $rc -ne 0 ] || ! grep -q "greenbench-server: stopped: " "$tmp/server.log"; then
        echo "threads $threads: the server did not stop cleanly (exit $rc):"
        cat "$tmp/server.log"
        failed=1
    fi
}

for threads in 1 2; do
    run $threads
done
exit $failed
