#!/bin/sh
# tests/preload/preload_test.sh: the ctest entries of libgreen-preload.so.
# Usage: preload_test.sh TEST PRELOAD_SO PROGRAM_DIR SERVER
#   startup    a bad GREEN_RESOLVER, GREEN_DNS_SERVERS, GREEN_PRELOAD_STACK_KIB
#              or GREEN_STACKS: the program runs unpatched and the message
#              names that variable; good GREEN_STACKS spellings run patched
#   sleepers   50 threads sleeping 1 s: ~1 s, one OS thread, stats shown
#   timeout, refused, flags, echo, sndtimeo, waitall, unixbacklog, pollhup,
#   pollforever, badtimeout, negtimeo, dgramfull
#              sockets.c, unpatched, patched and thread-patched
#   closewake  sockets.c closewake, patched with thread patching only
#   sync       sync.c, unpatched then with GREEN_PRELOAD=threads
#   edges      edges.c (glibc's answers at the API's edges): unpatched, patched, thread-patched
#   pipe, socketpair, bigwrite, sendfile, splice, mmsg, dup, stdio, epoll,
#   kill, cancel, signals, inherit
#              pipes.c, unpatched, patched and thread-patched: the same
#              lines (but ticks and threads), one OS thread under thread
#              patching
#   dup64      pipes.c dup built with _FILE_OFFSET_BITS=64 (fcntl64), as pipe
#   dup2wake   pipes.c dup2wake, patched with thread patching only
#   pipes-stats  pipes.c all, thread-patched: the new calls in the stats
#   python     python3's handlers that raise end a blocked accept, select,
#              sleep and lock acquire, unpatched, patched and thread-patched
#              alike; threading thread-patched answers as unpatched
#   curl, wget the Debian programs fetch from greenbench-server: same bytes
#   valgrind   small patched programs under valgrind (sleepers, pipes cancel,
#              dup and mmsg, thread-patched): no errors
#   names      names.c: getaddrinfo's entries for localhost and address
#              literals, patched with either resolver: the same as unpatched
#   python-ares  Python's create_connection and getaddrinfo's first entry,
#              patched with GREEN_RESOLVER=ares, connect to a local port
#   overflow   overflow.c, thread-patched: a green thread's stack overflow
#              is reported naming GREEN_PRELOAD_STACK_KIB, and its size
# Exit 77 (skipped) when a Debian program the test needs is missing.
set -u
test=$1 so=$2 dir=$3 server=$4
tmp=$(mktemp -d) || exit 1
trap 'kill $srv_pid 2>/dev/null; rm -rf "$tmp"' EXIT
srv_pid=

fail() { echo "preload-$test: FAIL: $*"; exit 1; }
skip() { echo "preload-$test: skipped: $*"; exit 77; }

# An AddressSanitizer build of the preload needs the ASan runtime first in
# LD_PRELOAD; programs not built with ASan (curl, wget) leak as they please.
# ASan's own pthread_create interceptor then comes before the preload's and
# starts its thread bookkeeping on a green stack, which it refuses: thread
# patching is tested in plain builds only.
asan=$(ldd "$so" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*libasan[^ ]*\).*/\1/p' | head -n 1)
preload=$so
[ -n "$asan" ] && preload="$asan:$so" && export ASAN_OPTIONS=detect_leaks=0
no_threads_asan() {
    [ -z "$asan" ] || skip "thread patching under AddressSanitizer (its pthread_create comes first)"
}
patched() { LD_PRELOAD=$preload "$@"; }

# Both runs must pass: the same program, OS threads then green threads.
both() {
    "$dir/preload-sockets" "$1" || fail "unpatched: $1"
    patched "$dir/preload-sockets" "$1" || fail "patched: $1"
    [ -n "$asan" ] && return
    GREEN_PRELOAD=threads patched "$dir/preload-sockets" "$1" || fail "thread-patched: $1"
}

# pipes.c TEST in every mode: each run passes and prints the same lines
# but for ticks and threads; under thread patching "threads" lines say 1.
pipes_prog=$dir/preload-pipes
pipes() {
    "$pipes_prog" "$1" >"$tmp/plain" || { cat "$tmp/plain"; fail "unpatched: $1"; }
    patched "$pipes_prog" "$1" >"$tmp/patched" || { cat "$tmp/patched"; fail "patched: $1"; }
    modes="plain patched"
    if [ -z "$asan" ]; then
        GREEN_PRELOAD=threads patched "$pipes_prog" "$1" >"$tmp/threads" ||
            { cat "$tmp/threads"; fail "thread-patched: $1"; }
        modes="$modes threads"
        if grep "^threads " "$tmp/threads" | grep -qv ": 1$"; then
            cat "$tmp/threads"
            fail "thread-patched: more than one OS thread"
        fi
    fi
    for m in $modes; do
        echo "-- $m"
        cat "$tmp/$m"
        grep -v "^ticks \|^threads " "$tmp/$m" >"$tmp/$m.same"
    done
    for m in $modes; do
        cmp -s "$tmp/plain.same" "$tmp/$m.same" || fail "$m: other lines than unpatched"
    done
}

start_server() {
    "$server" --size "$1" >"$tmp/url" </dev/null 2>"$tmp/server.err" &
    srv_pid=$!
    for _ in $(seq 50); do
        [ -s "$tmp/url" ] && break
        sleep 0.1
    done
    url=$(head -n 1 "$tmp/url")
    [ -n "$url" ] || fail "greenbench-server printed no URL"
}

case $test in
startup)
    # A variable the hub cannot start with: the program runs unpatched, and
    # the message names that variable, not another.
    for bad in GREEN_RESOLVER=bogus "GREEN_RESOLVER=ares GREEN_DNS_SERVERS=notanip" GREEN_PRELOAD_STACK_KIB=2 \
               GREEN_STACKS=bogus GREEN_STACKS=copy:0; do
        out=$(env $bad LD_PRELOAD=$preload /bin/echo ran 2>"$tmp/err") || fail "$bad: exit status"
        [ "$out" = ran ] || fail "$bad: the program did not run"
        name=${bad##* }
        grep -q "libgreen-preload: .*$name.*running unpatched" "$tmp/err" || { cat "$tmp/err"; fail "$bad: not named"; }
        case $bad in
            GREEN_PRELOAD_STACK_KIB=*) ;;
            *) ! grep -q STACK_KIB "$tmp/err" || { cat "$tmp/err"; fail "$bad: blamed GREEN_PRELOAD_STACK_KIB"; } ;;
        esac
        case $bad in
            GREEN_STACKS=*) grep -q '"private", "copy" or "copy:K"' "$tmp/err" ||
                { cat "$tmp/err"; fail "$bad: the message does not give the spellings"; } ;;
        esac
    done
    # The spellings green_init takes: patched (the stacks stay private, and
    # a copy mode asked for is said to be ignored).
    for good in GREEN_STACKS=private GREEN_STACKS=copy GREEN_STACKS=copy:2 GREEN_STACKS=; do
        out=$(env $good GREEN_PRELOAD_STATS=1 LD_PRELOAD=$preload /bin/echo ran 2>"$tmp/err") ||
            fail "$good: exit status"
        [ "$out" = ran ] || fail "$good: the program did not run"
        grep -q "^libgreen-preload: spawned" "$tmp/err" && ! grep -q "running unpatched" "$tmp/err" ||
            { cat "$tmp/err"; fail "$good: not patched"; }
        case $good in
            GREEN_STACKS=copy*) grep -q "^libgreen-preload: $good ignored: stacks stay private" "$tmp/err" ||
                { cat "$tmp/err"; fail "$good: not said to be ignored"; } ;;
            *) ! grep -q "ignored" "$tmp/err" || { cat "$tmp/err"; fail "$good: said to be ignored"; } ;;
        esac
    done
    ;;
sleepers)
    no_threads_asan
    GREEN_PRELOAD=threads GREEN_PRELOAD_STATS=1 patched "$dir/preload-sleepers" 50 1 \
        >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "exit status"; }
    cat "$tmp/out" "$tmp/err"
    read -r _ wall _ threads <"$tmp/out"
    awk -v w="$wall" 'BEGIN { exit !(w >= 0.95 && w < 1.8) }' || fail "wall time $wall s"
    [ "$threads" = 1 ] || fail "$threads OS threads, expected 1"
    for f in "pthread_create 50" "pthread_join 50" "nanosleep 25" "sleep 25" "__read_chk 1" \
             "__recv_chk 1" "usleep 1"; do
        grep -q " $f\b" "$tmp/err" || fail "stats line lacks '$f'"
    done
    ;;
timeout|refused|flags|echo|sndtimeo|waitall|unixbacklog|pollhup|pollforever|badtimeout|negtimeo|dgramfull)
    both "$test"
    ;;
closewake)
    no_threads_asan
    GREEN_PRELOAD=threads patched "$dir/preload-sockets" closewake || fail "patched"
    ;;
edges)
    no_threads_asan
    "$dir/preload-edges" || fail "unpatched"
    patched "$dir/preload-edges" || fail "patched"
    "$dir/preload-edges" mainexit || fail "unpatched: main's pthread_exit"
    GREEN_PRELOAD=threads patched "$dir/preload-edges" mainexit || fail "thread-patched: main's pthread_exit"
    GREEN_PRELOAD=threads GREEN_PRELOAD_STATS=1 patched "$dir/preload-edges" 2>"$tmp/err" ||
        { cat "$tmp/err"; fail "thread-patched"; }
    for f in pthread_mutex_clocklock pthread_mutex_init pthread_rwlock_init pthread_barrier_init waitpid system pthread_mutex_consistent pthread_sigqueue timer_create; do
        grep -q "$f" "$tmp/err" || fail "no $f in the stats"
    done
    ;;
sync)
    no_threads_asan
    "$dir/preload-sync" || fail "unpatched"
    GREEN_PRELOAD=threads GREEN_PRELOAD_STATS=1 patched "$dir/preload-sync" 2>"$tmp/err" ||
        { cat "$tmp/err"; fail "thread-patched"; }
    cat "$tmp/err"
    grep -q "pthread_cond_wait" "$tmp/err" || fail "no pthread_cond_wait in the stats"
    for f in pthread_clockjoin_np pthread_cond_clockwait sem_clockwait pthread_rwlock_wrlock \
        pthread_rwlock_clockrdlock pthread_barrier_wait pthread_setspecific pthread_getspecific \
        pthread_once pthread_spin_lock; do
        grep -q "$f" "$tmp/err" || fail "no $f in the stats"
    done
    ;;
pipe|socketpair|bigwrite|sendfile|splice|mmsg|dup|stdio|epoll|kill|signals|inherit)
    pipes "$test"
    ;;
dup64)
    # pipes.c built with _FILE_OFFSET_BITS=64, as Debian's python3, wget and
    # git are: its fcntl calls are glibc's other name, fcntl64.
    pipes_prog=$dir/preload-pipes64
    nm -D "$pipes_prog" | grep -q " U fcntl64" || fail "$pipes_prog does not call fcntl64"
    pipes dup
    ;;
cancel)
    # glibc's own cancellation, which the unpatched run is, leaves stack
    # poisoned behind it that ASan trips over when the thread ends.
    [ -z "$asan" ] || skip "pthread_cancel under AddressSanitizer fails unpatched already"
    pipes "$test"
    ;;
dup2wake)
    no_threads_asan
    GREEN_PRELOAD=threads patched "$dir/preload-pipes" dup2wake || fail "thread-patched"
    ;;
pipes-stats)
    no_threads_asan
    GREEN_PRELOAD=threads GREEN_PRELOAD_STATS=1 patched "$dir/preload-pipes" all \
        >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "thread-patched"; }
    cat "$tmp/err"
    for f in pipe pipe2 socketpair sendfile splice tee sendmmsg recvmmsg dup dup2 dup3 fdopen posix_spawn_file_actions_adddup2 epoll_wait epoll_pwait epoll_pwait2 pthread_kill \
             pthread_cancel pthread_testcancel pthread_setcancelstate; do
        grep -q " $f [1-9]" "$tmp/err" || fail "stats line lacks $f"
    done
    ;;
python)
    # Python's signal handlers run where the kernel would interrupt the
    # call: a handler that raises ends a blocked accept, select, sleep and
    # lock acquire (a semaphore's wait, under thread patching the preload's;
    # PEP 475 retries only when the handler returns), thread-patched too.
    command -v python3 >/dev/null || skip "python3 not installed (Debian: apt-get install python3)"
    cat >"$tmp/sig.py" <<'EOF'
import select, signal, socket, threading, time
class Alarm(Exception):
    pass
def on_alarm(sig, frame):
    raise Alarm()
signal.signal(signal.SIGALRM, on_alarm)
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
lock = threading.Lock()
lock.acquire()
for what, call in (("accept", s.accept), ("select", lambda: select.select([s], [], [], 5)),
                   ("sleep", lambda: time.sleep(5)), ("lock", lock.acquire)):
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        call()
        print(what, "returned")
    except Alarm:
        print(what, "interrupted", "in time" if time.monotonic() - start < 2 else "late")
EOF
    python3 "$tmp/sig.py" >"$tmp/plain" || fail "unpatched python3"
    cat "$tmp/plain"
    for mode in "" threads; do
        [ -n "$mode" ] && [ -n "$asan" ] && continue
        GREEN_PRELOAD=$mode GREEN_PRELOAD_STATS=1 patched timeout 20 python3 "$tmp/sig.py" >"$tmp/patched" 2>"$tmp/err" ||
            { cat "$tmp/patched" "$tmp/err"; fail "patched python3 (GREEN_PRELOAD=$mode)"; }
        diff "$tmp/plain" "$tmp/patched" || fail "patched python3 (GREEN_PRELOAD=$mode) differs"
        grep -q "libgreen-preload: spawned" "$tmp/err" || fail "no stats: preload not loaded?"
    done
    # Python's threading under thread patching: each thread knows itself
    # (current_thread, get_ident: pthread_self), its threading.local, a
    # join while the thread runs; nothing on stderr at exit.
    cat >"$tmp/threads.py" <<'EOF'
import threading, time
local = threading.local()
seen = {}
def work(i):
    local.v = i
    time.sleep(0.02 * (4 - i))
    me = threading.current_thread()
    seen[i] = (me.name, local.v, me.ident == threading.get_ident() != threading.main_thread().ident)
threads = [threading.Thread(target=work, args=(i,), name="t%d" % i) for i in range(4)]
for t in threads:
    t.start()
threads[0].join()
for t in threads:
    t.join()
print([seen[i] for i in range(4)], threading.current_thread() is threading.main_thread(),
      threading.active_count())
EOF
    python3 "$tmp/threads.py" >"$tmp/plain" || fail "unpatched python3 threads"
    cat "$tmp/plain"
    if [ -z "$asan" ]; then
        GREEN_PRELOAD=threads GREEN_PRELOAD_STACK_KIB=1024 GREEN_PRELOAD_STATS=1 patched timeout 20 \
            python3 "$tmp/threads.py" >"$tmp/patched" 2>"$tmp/err" ||
            { cat "$tmp/patched" "$tmp/err"; fail "thread-patched python3 threads"; }
        diff "$tmp/plain" "$tmp/patched" || fail "thread-patched python3 threads differ"
        ! grep -v "^libgreen-preload: " "$tmp/err" || fail "thread-patched python3 threads wrote to stderr"
        grep -q "pthread_create 4" "$tmp/err" || { cat "$tmp/err"; fail "threads not green"; }
    fi
    # multiprocessing with each start method: a child takes a Lock the
    # parent releases later (a process-shared semaphore) and answers through
    # a Queue; spawn and forkserver hand their pipes to new programs by
    # number (pass_fds).
    cat >"$tmp/mp.py" <<'EOF'
import multiprocessing as mp, sys, time
def child(q, lock):
    with lock:
        q.put("hello")
if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    q, lock = ctx.Queue(), ctx.Lock()
    lock.acquire()
    p = ctx.Process(target=child, args=(q, lock))
    p.start()
    time.sleep(0.2)
    lock.release()
    print(sys.argv[1], q.get(timeout=10), end=" ")
    p.join(10)
    print(p.exitcode)
EOF
    for method in fork spawn forkserver; do
        python3 "$tmp/mp.py" $method >>"$tmp/mp.plain" || fail "unpatched multiprocessing $method"
        for mode in "" threads; do
            [ -n "$mode" ] && [ -n "$asan" ] && continue
            GREEN_PRELOAD=$mode GREEN_PRELOAD_STACK_KIB=1024 patched timeout 30 python3 "$tmp/mp.py" $method \
                >>"$tmp/mp.patched$mode" 2>"$tmp/err" ||
                { cat "$tmp/mp.patched$mode" "$tmp/err"; fail "multiprocessing $method (GREEN_PRELOAD=$mode)"; }
        done
    done
    cat "$tmp/mp.plain"
    for f in "$tmp"/mp.patched*; do
        diff "$tmp/mp.plain" "$f" || fail "multiprocessing: ${f##*.} differs"
    done
    ;;
curl|wget)


    command -v "$test" >/dev/null || skip "$test not installed (Debian: apt-get install $test)"
    # Debian 12's curl hangs in setlocale with libasan preloaded, preload or not.
    [ "$test" = curl ] && [ -n "$asan" ] && skip "curl hangs under a preloaded libasan alone"
    start_server 300000
    if [ "$test" = curl ]; then get() { curl -sS -o "$1" "$url"; }
    else get() { wget -q -O "$1" "$url"; }; fi
    get "$tmp/plain" || fail "unpatched $test failed"
    GREEN_PRELOAD_STATS=1 patched sh -c "$(command -v "$test") $( [ "$test" = curl ] &&
        echo "-sS -o $tmp/patched" || echo "-q -O $tmp/patched") $url" 2>"$tmp/err" ||
        { cat "$tmp/err"; fail "patched $test failed"; }
    cat "$tmp/err"
    [ -s "$tmp/plain" ] || fail "empty answer"
    cmp "$tmp/plain" "$tmp/patched" || fail "patched $test got other bytes"
    grep -q "libgreen-preload: spawned" "$tmp/err" || fail "no stats: preload not loaded?"
    echo "preload-$test: $(wc -c <"$tmp/plain") bytes, same with and without the preload"
    ;;
valgrind)
    command -v valgrind >/dev/null || skip "valgrind not installed"
    [ -n "$asan" ] && skip "an AddressSanitizer build cannot run under valgrind"
    GREEN_PRELOAD=threads LD_PRELOAD=$so valgrind -q --error-exitcode=3 \
        "$dir/preload-sleepers" 5 0.2 >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cat "$tmp/out" "$tmp/err"
    [ $rc = 0 ] || fail "valgrind exit status $rc"
    grep -q "threads 1" "$tmp/out" || fail "not patched under valgrind"
    # Cancellation and cleanup handlers jump across green stacks; dups and
    # the fd ring; recvmmsg and sendmmsg filling the program's arrays;
    # handlers through the preload's trampoline: the same, error-free.
    for t in cancel dup mmsg signals; do
        GREEN_PRELOAD=threads LD_PRELOAD=$so valgrind -q --error-exitcode=3 \
            "$dir/preload-pipes" $t >"$tmp/out" 2>"$tmp/err"
        rc=$?
        cat "$tmp/out" "$tmp/err"
        [ $rc = 0 ] || fail "valgrind pipes $t: exit status $rc"
    done
    # Mutexes, conditions, rwlocks, barriers and semaphores in the side table.
    GREEN_PRELOAD=threads LD_PRELOAD=$so valgrind -q --error-exitcode=3 "$dir/preload-sync" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cat "$tmp/out" "$tmp/err"
    [ $rc = 0 ] || fail "valgrind sync: exit status $rc"
    ;;
names)
    # c-ares answers one entry per address; the C library one per socket
    # type when the hints name none, each with its protocol.
    nodes="localhost 127.0.0.1 ::1 -"
    "$dir/preload-names" 80 $nodes >"$tmp/plain" || { cat "$tmp/plain"; fail "unpatched"; }
    cat "$tmp/plain"
    grep -q "^  2 127.0.0.1 80 2 17$" "$tmp/plain" || fail "unpatched: no UDP entry for 127.0.0.1"
    for resolver in ares thread; do
        GREEN_RESOLVER=$resolver patched "$dir/preload-names" 80 $nodes >"$tmp/$resolver" ||
            { cat "$tmp/$resolver"; fail "patched, $resolver: a lookup failed"; }
        cmp -s "$tmp/plain" "$tmp/$resolver" ||
            { diff "$tmp/plain" "$tmp/$resolver"; fail "patched, $resolver: other entries than unpatched"; }
    done
    ;;
python-ares)
    command -v python3 >/dev/null || skip "python3 not installed (Debian: apt-get install python3)"
    start_server 1000
    port=${url#*127.0.0.1:}
    port=${port%%/*}
    # The classic client: the first entry of getaddrinfo(host, port), as it
    # is, to socket() and connect().
    cat >"$tmp/connect.py" <<EOF
import socket
s = socket.create_connection(("localhost", $port))
print("create_connection", s.getpeername()[0])
s.close()
af, st, pr, _, sa = socket.getaddrinfo("localhost", $port)[0]
s = socket.socket(af, st, pr)
s.connect(sa)
print("first entry", st == socket.SOCK_STREAM, pr == socket.IPPROTO_TCP, s.getpeername()[0])
s.close()
EOF
    python3 "$tmp/connect.py" >"$tmp/plain" || fail "unpatched"
    GREEN_RESOLVER=ares GREEN_PRELOAD_STATS=1 patched python3 "$tmp/connect.py" >"$tmp/patched" 2>"$tmp/err" ||
        { cat "$tmp/patched" "$tmp/err"; fail "patched, GREEN_RESOLVER=ares"; }
    cat "$tmp/patched" "$tmp/err"
    grep -q " getaddrinfo [1-9]" "$tmp/err" || fail "the lookups did not go through the preload"
    cmp -s "$tmp/plain" "$tmp/patched" || { cat "$tmp/plain"; fail "other lines than unpatched"; }
    ;;
overflow)
    # The user of an unmodified program sets the green stacks' size with
    # GREEN_PRELOAD_STACK_KIB, not green_options.stack_size.
    no_threads_asan
    ulimit -c 0
    for kib in "" 16; do
        GREEN_PRELOAD_STACK_KIB=$kib GREEN_PRELOAD=threads patched "$dir/preload-overflow" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        cat "$tmp/out" "$tmp/err"
        [ $rc -ge 128 ] || fail "GREEN_PRELOAD_STACK_KIB=$kib: exit status $rc, not a signal"
        grep -q "^green: a green thread overflowed its ${kib:-64} KiB stack .*(GREEN_PRELOAD_STACK_KIB)$" "$tmp/err" ||
            fail "GREEN_PRELOAD_STACK_KIB=$kib: no message naming GREEN_PRELOAD_STACK_KIB and ${kib:-64} KiB"
        ! grep -q "green_options" "$tmp/err" || fail "GREEN_PRELOAD_STACK_KIB=$kib: the message names green_options"
    done
    ;;
*)
    fail "unknown test"
    ;;
esac
echo "preload-$test: ok"
