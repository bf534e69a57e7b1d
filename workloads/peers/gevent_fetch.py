# workloads/peers/gevent_fetch.py: what the gevent peer's joinall and pool
# share, as workloads/common/fetch.c does for ours: the defaults, the server (--url,
# or a greenbench-server started beside the program), the limit checks, one
# fetch the seed's way (urllib.request after monkey.patch_all()), the
# in-flight gauge and the tally of checks into the result.
#
# With --keepalive=1 a task (joinall) or a pool worker keeps its connection
# (KeptConnection): http.client, the module under urllib.request, since
# urllib always sends "Connection: close".
#
# With --tls=1 both go over HTTPS: http.client.HTTPSConnection on gevent's
# cooperative ssl module, with a context that always verifies the chain (against
# --cacert, or the system's store) and the URL's host.
import errno
import http.client
import os
import resource
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import gevent
from gevent import ssl

import gevent_cell as cell

DEFAULT_N = 100
DEFAULT_K = 10
DEFAULT_DELAY_MS = 10
DEFAULT_SIZE = 1024
WARMUP = 16
TIMEOUT_S = 30.0
FD_RESERVE = 64

NOTE = ("urllib.request after monkey.patch_all(), as the seed program: a new connection per request "
        "(\"Connection: close\"), no proxy; gevent's default resolver runs getaddrinfo in its thread pool "
        "for every request, even for a numeric address, where ours resolves once.")
NOTE_KEEPALIVE = ("http.client (what urllib.request runs on; urllib always closes) after monkey.patch_all(), "
                  "\"Connection: keep-alive\": each greenlet (joinall) or each of the K pool workers keeps one "
                  "connection, reads each body to its Content-Length and reconnects when the server closed it; "
                  "no proxy; gevent's default resolver runs getaddrinfo in its thread pool for every new "
                  "connection, even for a numeric address, where ours resolves once.")
NOTE_TLS = ("HTTPS through gevent's cooperative ssl module (%s), the chain and the host name verified; "
            % ssl.OPENSSL_VERSION)


class Task:
    __slots__ = ("err", "status", "bytes", "reconnected")

    def __init__(self):
        self.err = None          # None, or the exception (or a message) of a failed fetch.
        self.status = 0
        self.bytes = 0
        self.reconnected = False  # fetch_kept: the kept connection was found closed; sent again on a new one.


class Gauge:
    """Requests in flight now and at most (one hub, one thread: plain integers)."""

    def __init__(self):
        self.now = self.peak = 0

    def enter(self):
        self.now += 1
        if self.now > self.peak:
            self.peak = self.now

    def leave(self):
        self.now -= 1


class Setup:
    def __init__(self):
        self.url = None
        self.n = self.k = 0
        self.expect_size = None   # None: each response's Content-Length.
        self.timeout = TIMEOUT_S
        self.server = None
        self.opener = None
        self.keepalive = False    # --keepalive=1: fetch_kept on a KeptConnection, not fetch_one.
        self.host = self.port = self.target = None   # --keepalive=1: where http.client connects, what it asks.
        self.headers = None
        self.connections = 0      # Connections opened (connect() returned); the workload zeroes it.
        self.context = None       # --tls=1: the verifying SSLContext every connection wraps its socket with.


def counting_connection(s):
    """http.client.HTTPConnection (HTTPSConnection on s.context with --tls=1)
    counting each connection it opens into s; with TLS, connect() returns
    after the handshake and its verification."""
    if s.context is None:
        class Counted(http.client.HTTPConnection):
            def connect(self):
                super().connect()
                s.connections += 1
    else:
        class Counted(http.client.HTTPSConnection):
            def __init__(self, host, port=None, **kwargs):
                super().__init__(host, port, context=s.context, **kwargs)

            def connect(self):
                super().connect()     # TCP, then wrap_socket(server_hostname=host): SNI and the name check.
                s.connections += 1

    return Counted


class CountingHTTPHandler(urllib.request.HTTPHandler):
    """urllib's own http:// handler, on a connection class that counts."""

    def __init__(self, connection_class):
        super().__init__()
        self.connection_class = connection_class

    def http_open(self, req):
        return self.do_open(self.connection_class, req)


class CountingHTTPSHandler(urllib.request.HTTPSHandler):
    """The same for https://, in place of urllib's own (its context is the class's)."""

    def __init__(self, connection_class):
        super().__init__()
        self.connection_class = connection_class

    def https_open(self, req):
        return self.do_open(self.connection_class, req)


class KeptConnection:
    """One task's or pool worker's connection for --keepalive=1: opened at its
    first request (and again after the server closed it), closed by close()
    after the timed part, as ours (close_kept)."""

    def __init__(self, s):
        self.conn = s.connection_class(s.host, s.port, timeout=s.timeout)

    def close(self):
        self.conn.close()


def check_connections(k):
    """The same check as sysinfo.c: RLIMIT_NOFILE and the ephemeral ports."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and k + FD_RESERVE > soft:
        return ("%d connections at once need about %d open files, but RLIMIT_NOFILE is %d "
                "(hard limit %d): raise it (ulimit -n, limits.conf) or lower --n / --concurrency"
                % (k, k + FD_RESERVE, soft, hard))
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        if k > hi - lo + 1:
            return ("%d connections at once need as many local ports, but net.ipv4.ip_local_port_range "
                    "is %d-%d (%d ports): widen it or lower --n / --concurrency" % (k, lo, hi, hi - lo + 1))
    except (OSError, ValueError):
        pass
    return None


def start_server(s, delay_ms, size, tls, r):
    """Run the greenbench-server beside this program; read its URL (within 10 s),
    and with tls its CA's path, from the 'ca: PATH' line after it."""
    folder = cell.bin_dir()
    path = os.path.join(folder, "greenbench-server") if folder else None
    if path is None or not os.access(path, os.X_OK):
        r.fail("no --url given and no greenbench-server beside this program to start")
    try:
        s.server = subprocess.Popen([path, "--delay-ms", str(delay_ms), "--size", str(size), "--port", "0",
                                     "--cpu", "last"] + (["--tls"] if tls else []),
                                    stdout=subprocess.PIPE)
    except OSError as e:
        r.fail("no --url given, and starting our own server failed: %s" % e)
    lines = [b"", b""]
    with gevent.Timeout(10, False):
        for i in range(2 if tls else 1):
            lines[i] = s.server.stdout.readline()
    s.server.stdout.close()
    url, ca = (line.decode("ascii", "replace").strip() for line in lines)
    if not url.startswith("https://" if tls else "http://"):
        stop_server(s)
        r.fail("no --url given, and our own server printed %s instead of its URL"
               % ("nothing within 10 s" if not url else repr(url)))
    if tls and not ca.startswith("ca: "):
        stop_server(s)
        r.fail("no --url given, and our own server printed %s instead of 'ca: PATH'"
               % ("nothing within 10 s" if not ca else repr(ca)))
    s.url = url
    return ca[len("ca: "):] if tls else None


def tls_context(cacert, r):
    """The context every connection verifies with: the chain against cacert
    (None: the system's store) and the name against the URL's host, as
    create_default_context sets it (CERT_REQUIRED, check_hostname). A file
    that cannot be read or holds no certificate fails the cell here, before
    any request, rather than as N failed verifications."""
    try:
        context = ssl.create_default_context(cafile=cacert)
    except ssl.SSLError as e:   # Before OSError: it is one. Not PEM, or no certificate in it.
        r.fail("--cacert=%s: no certificate could be read from it (%s)" % (cacert, e.reason or e))
    except OSError as e:
        r.fail("--cacert=%s: cannot read it: %s" % (cacert, e.strerror or e))
    if cacert is not None and context.cert_store_stats()["x509"] == 0:
        r.fail("--cacert=%s: holds no certificate" % cacert)   # CRLs only.
    return context


def stop_server(s):
    if s.server is None:
        return
    s.server.terminate()
    try:
        s.server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        s.server.kill()
        s.server.wait()
    s.server = None


def setup_init(p, r, pool):
    """Defaults, checks, the server and the client. pool: --concurrency applies."""
    s = Setup()
    # Filled in first, as fetch.c does, so that a line of a cell failed in setup says them too.
    if p.keepalive is None:
        p.keepalive = 0
    if p.tls is None:
        p.tls = 0
    if p.n is None:
        p.n = DEFAULT_N
    if p.n == 0:
        r.fail("--n=0: %s needs at least one request" % p.workload)
    s.n = p.n
    if pool:
        if p.concurrency is None:
            p.concurrency = DEFAULT_K
        if p.concurrency == 0:
            r.fail("--concurrency=0: a pool needs room for at least one task")
        s.k = min(p.concurrency, p.n)
    else:
        s.k = p.n
    msg = check_connections(s.k)
    if msg:
        r.fail(msg)
    cacert = p.cacert
    if p.url is None:
        if p.delay_ms is None:
            p.delay_ms = DEFAULT_DELAY_MS
        if p.size is None:
            p.size = DEFAULT_SIZE
        server_ca = start_server(s, p.delay_ms, p.size, p.tls == 1, r)
        cacert = cacert or server_ca
        r.add_note("No --url: the cell ran its own greenbench-server%s (%d ms, %d bytes)."
                   % (" --tls" if p.tls else "", p.delay_ms, p.size))
    else:
        # Refused before any connection, as a usage error (exit 2), as ours (http.c) do.
        if p.tls and not p.url.startswith("https://"):
            r.usage_fail("--tls=1 needs an https:// --url")
        if not p.tls and p.url.startswith("https://"):
            r.usage_fail("--url=%s: an https:// URL needs --tls=1" % p.url)
        if not p.tls and not p.url.startswith("http://"):
            r.usage_fail("--url=%s: only http:// URLs are supported" % p.url)
        why = cell.url_port_error(p.url)
        if why:
            r.usage_fail("--url=%s: %s" % (p.url, why))
        s.url = p.url
    if p.tls:
        try:
            s.context = tls_context(cacert, r)
        except cell.CellError:
            stop_server(s)      # The workload's finally does not cover setup_init.
            raise
    s.keepalive = p.keepalive == 1
    s.expect_size = p.size
    s.timeout = TIMEOUT_S + (p.delay_ms / 1000.0 if p.delay_ms else 0.0)
    s.connection_class = counting_connection(s)
    if s.keepalive:
        parts = urllib.parse.urlsplit(s.url)
        try:
            s.host, s.port = parts.hostname, parts.port or (443 if p.tls else 80)
        except ValueError as e:    # url_port_error has refused every bad port already.
            r.usage_fail("--url=%s: %s" % (s.url, e))
        if not s.host:
            r.usage_fail("--url=%s: no host" % s.url)
        s.target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        # The request urllib makes, but for the Connection header (http.client adds Host and
        # Accept-Encoding: identity itself).
        s.headers = {"User-Agent": "Python-urllib/%s" % urllib.request.__version__, "Connection": "keep-alive"}
    else:
        # urllib.request as the seed uses it, less the proxies of the environment; its
        # connections counted.
        handler = CountingHTTPSHandler if p.tls else CountingHTTPHandler
        s.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), handler(s.connection_class))
    r.switch_used = "greenlet"
    r.loop_used = cell.loop_name()
    r.add_note(NOTE_KEEPALIVE if s.keepalive else NOTE)
    if p.tls:
        r.add_note(NOTE_TLS + ("one handshake per kept connection." if s.keepalive
                               else "a full handshake on every request's new connection."))
    return s


def fetch_one(s, task):
    """One GET, the whole body read and checked; the outcome goes into task."""
    try:
        with s.opener.open(s.url, timeout=s.timeout) as resp:
            body = resp.read()
            task.status = resp.status
            task.bytes = len(body)
            length = resp.headers.get("Content-Length")
    except urllib.error.HTTPError as e:
        task.status = e.code
        task.err = "status"
        return
    except Exception as e:  # URLError, timeouts, resets: kept for the tally.
        task.err = e
        return
    _check_body(s, task, length)


def _check_body(s, task, length):
    expect = s.expect_size
    if expect is None and length is not None and length.isdigit():
        expect = int(length)
    if task.status != 200:
        task.err = "status"
    elif expect is not None and task.bytes != expect:
        task.err = "size"


# A request on a kept connection that the server had closed meanwhile fails
# before any byte of a response: these (over TLS also an EOF without the
# server's close_notify), and then it is sent once more on a new one.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError,
          ssl.SSLEOFError)


def fetch_kept(s, kept, task):
    """fetch_one for --keepalive=1: the GET on the task's or worker's kept
    connection (a new one when it has none: the first request, or the server
    closed it, which http.client notices from "Connection: close"), the body
    read to its Content-Length, the connection kept for the next request."""
    conn = kept.conn
    resp = None
    for attempt in (0, 1):
        reused = conn.sock is not None
        try:
            conn.request("GET", s.target, headers=s.headers)
            resp = conn.getresponse()
            break
        except _STALE as e:
            conn.close()
            if reused and attempt == 0:
                task.reconnected = True   # The server closed it while idle: once more on a new one.
                continue
            task.err = e
            return
        except Exception as e:  # Timeouts, refusals: kept for the tally.
            conn.close()
            task.err = e
            return
    try:
        body = resp.read()
    except Exception as e:      # A short body, a reset, a timeout: not sent again.
        conn.close()
        task.status = resp.status
        task.err = e
        return
    task.status = resp.status
    task.bytes = len(body)
    _check_body(s, task, resp.getheader("Content-Length"))


def close_kept(kept):
    for k in kept:
        k.close()


def note_reconnects(tasks, r):
    """As fetch_note_reconnects in fetch.c."""
    again = sum(1 for t in tasks if t.reconnected)
    if again:
        r.add_note("%d requests found their kept connection closed by the server and made a new one." % again)


def _os_error(e):
    """The OSError under a urllib error, if any."""
    while isinstance(e, urllib.error.URLError) and not isinstance(e.reason, str):
        e = e.reason
    return e if isinstance(e, OSError) else None


def tally(s, tasks, r):
    """Sum the tasks into the result's checks; fail with the first error, worded for a person."""
    ok = failed = nbytes = 0
    first = None
    for t in tasks:
        nbytes += t.bytes
        if t.err is None:
            ok += 1
        else:
            failed += 1
            if first is None:
                first = t
    r.tasks_completed, r.bytes_received, r.errors = ok, nbytes, failed
    if first is None:
        return
    head = "%d of %d requests failed; first: GET %s: " % (failed, len(tasks), s.url)
    if first.err == "status":
        r.fail(head + "HTTP status %d" % first.status)
    if first.err == "size":
        r.fail(head + "body of %d bytes, --size=%s" % (first.bytes, s.expect_size))
    e = _os_error(first.err)
    if isinstance(e, ssl.SSLCertVerificationError):
        r.fail(head + "TLS verification: %s" % e.verify_message)
    if isinstance(e, ConnectionRefusedError):
        r.fail(head + "connection refused (is the server running there?)")
    if isinstance(e, (socket.timeout, TimeoutError)) or isinstance(first.err, (socket.timeout, TimeoutError)):
        r.fail(head + "no complete response within %.0f s" % s.timeout)
    if e is not None and e.errno in (errno.EMFILE, errno.ENFILE):
        r.fail(head + "%s (RLIMIT_NOFILE / fs.file-max)" % e)
    if e is not None and e.errno == errno.EADDRNOTAVAIL:
        r.fail(head + "%s (ephemeral ports used up: net.ipv4.ip_local_port_range, or connections in TIME_WAIT)" % e)
    r.fail(head + "%s: %s" % (type(first.err).__name__, first.err))


def check_in_flight(s, r, peak):
    r.max_in_flight = peak
    if peak > s.k:
        r.fail("%d requests were in flight at once, more than the %d allowed" % (peak, s.k))
    if peak < s.k:
        r.add_note("At most %d of the %d allowed requests were in flight at once." % (peak, s.k))
