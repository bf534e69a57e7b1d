#!/bin/sh
# tests/fetch_https.sh BIN_DIR: the seed program fetches https:// through
# libgreen's green_tls from a real openssl s_server (a CA and a leaf for
# localhost and 127.0.0.1 made here with the openssl tool), verifying it
# against --cacert; against a CA that did not sign the leaf that URL fails
# with the reason and an http:// URL beside it still succeeds; a --cacert
# that cannot be read is a usage error.
set -u
bin=${1:?usage: fetch_https.sh BIN_DIR}
bin=$(cd "$bin" && pwd) || exit 1
fetch=$bin/greenbench-fetch
server=$bin/greenbench-server
for p in "$fetch" "$server"; do [ -x "$p" ] || { echo "no $p"; exit 1; }; done
command -v openssl >/dev/null 2>&1 || { echo "no openssl tool (Debian package openssl)"; exit 1; }
tmp=$(mktemp -d /tmp/greenbench-https-XXXXXX)
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
failed=0
fail() { echo "FAILED: $*"; failed=1; }

cd "$tmp" || exit 1
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj "/CN=greenbench test CA" 2>/dev/null &&
    openssl req -x509 $ec -keyout other.key -out other.pem -days 2 -subj "/CN=another CA" 2>/dev/null &&
    openssl req $ec -keyout leaf.key -out leaf.csr -subj "/CN=localhost" 2>/dev/null &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext &&
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 1 \
        -extfile ext 2>/dev/null || { echo "openssl could not make the certificates"; exit 1; }

openssl s_server -accept 127.0.0.1:0 -www -cert leaf.pem -key leaf.key >tls.out 2>&1 &
pids="$pids $!"
"$server" --delay-ms 0 --size 1000 >plain.out 2>plain.log &
pids="$pids $!"
i=0
while { ! grep -q '^ACCEPT' tls.out || [ ! -s plain.out ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\).*/\1/p' tls.out)
plain=$(head -n 1 plain.out)
[ -n "$port" ] && [ -n "$plain" ] || { echo "a server did not start: $(cat tls.out plain.log)"; exit 1; }

# 1. Verified by name and by address: each URL twice (joinall, then the pool).
"$fetch" --cacert ca.pem "https://localhost:$port/" "https://127.0.0.1:$port/" >ok.out 2>&1
status=$?
[ "$status" -eq 0 ] || fail "verified fetches: exit $status"
for u in "https://localhost:$port/" "https://127.0.0.1:$port/"; do
    n=$(grep -c "bytes received from $u\.\$" ok.out)
    [ "$n" -eq 2 ] || fail "$u: $n answers, expected 2"
done

# 2. The wrong CA: that URL fails with the reason, the http one beside it goes on.
"$fetch" --cacert other.pem "https://localhost:$port/" "$plain" >bad.out 2>&1
status=$?
[ "$status" -eq 1 ] || fail "unknown CA: exit $status, expected 1"
n=$(grep -c "https://localhost:$port/ failed: .*unknown certificate authority" bad.out)
[ "$n" -eq 2 ] || fail "unknown CA: $n failures said, expected 2"
n=$(grep -c "1000 bytes received from $plain\.\$" bad.out)
[ "$n" -eq 2 ] || fail "the http URL beside it: $n answers, expected 2"

# 3. A CA file that cannot be used: a usage error, nothing fetched.
"$fetch" --cacert "$tmp/none.pem" "https://localhost:$port/" >none.out 2>&1
status=$?
[ "$status" -eq 2 ] || fail "unreadable --cacert: exit $status, expected 2"
grep -q -- "--cacert=$tmp/none.pem: No such file or directory" none.out || fail "unreadable --cacert: $(cat none.out)"
grep -q "visit" none.out && fail "unreadable --cacert: it fetched anyway"

[ "$failed" -eq 0 ] || { echo "--- outputs:"; cat ok.out bad.out none.out; exit 1; }
echo "fetch_https: ok"
