# workloads/dns/gevent.py: the dns workload of the gevent peer (loaded by
# workloads/peers/gevent_cell.py after monkey.patch_all(); not a script,
# never on sys.path): --n distinct names n0.test ... n<N-1>.test, each
# resolved once by gevent.socket.getaddrinfo(name, None, AF_INET,
# SOCK_STREAM) against the greenbench-dns server of --url, by K =
# --concurrency greenlets at once: gevent.pool.Pool(K).map, or one greenlet
# per name and gevent.joinall when K >= N.
#
# The resolver is the hub's, set on it by this workload rather than left to
# gevent.config (which GEVENT_RESOLVER in the environment could change):
#   --ares=0  gevent.resolver.thread.Resolver: glibc's getaddrinfo(3) in the
#             hub's thread pool, asking the servers of /etc/resolv.conf on
#             port 53 (the harness runs the cell in a network namespace where
#             127.0.0.1:53 is the server);
#   --ares=1  gevent.resolver.ares.Resolver: c-ares in the hub's event loop,
#             given the --url's address and port as its only server.
#
# A lookup waits as long as its resolver does (glibc: resolv.conf's timeout
# and attempts, 5 s x 2 by default; c-ares: 5 s doubling over 4 tries), as
# the C cells' do: no deadline of this workload's own.
#
# rss_per_task_bytes is the memory per lookup in flight: the peak of resident
# memory in the timed part (VmHWM, reset by writing 5 to /proc/self/clear_refs
# just before it) less the resident memory right after the reset, over
# min(N, K).
import ctypes
import ctypes.util
import gc
import ipaddress

import gevent
import gevent.socket
from gevent.pool import Pool
from gevent.socket import AF_INET, SOCK_STREAM

import gevent_cell as cell
from gevent_fetch import Gauge  # in flight now and at most, as the fetches count them

DEFAULT_N = 1000
WARMUP = 10
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
URL_FORM = "dns://HOST:PORT"

NEEDS_URL = "dns needs --url=dns://HOST:PORT, a greenbench-dns server (the harness starts one)"


def parse_url(url, r):
    """(host, port) of a dns://IPv4:PORT URL; anything else is a usage error,
    refused before any lookup, as the C cells refuse it."""
    if not url.startswith("dns://"):
        r.usage_fail("--url=%s: the dns workload needs a %s URL (a greenbench-dns server)" % (url, URL_FORM))
    authority = url[len("dns://"):]
    if authority.endswith("/"):
        authority = authority[:-1]
    host, colon, port = authority.rpartition(":")
    if not colon:
        r.usage_fail("--url=%s: no port; the dns workload needs %s, the port %s" % (url, URL_FORM, cell.PORT_RANGE))
    try:
        # Strict dotted quad: no names (they would need a resolver to find the
        # resolver), no IPv6, no "127.1".
        ipaddress.IPv4Address(host)
    except ValueError:
        r.usage_fail("--url=%s: the host '%s' is not an IPv4 address (%s)" % (url, host, URL_FORM))
    if port == "":
        r.usage_fail("--url=%s: empty port after ':' %s" % (url, cell.PORT_RANGE))
    if not (port.isdigit() and port.isascii()):
        r.usage_fail("--url=%s: port '%s' is not a number %s" % (url, port, cell.PORT_RANGE))
    if not 1 <= int(port) <= 65535:
        r.usage_fail("--url=%s: port %s is out of range %s" % (url, port, cell.PORT_RANGE))
    return host, int(port)


def check_params(p, r):
    """Defaults and usage errors; the defaults filled in first, so that the
    line of a cell refused here says them too."""
    if p.ares is None:
        p.ares = 0
    if p.n is None:
        p.n = DEFAULT_N
    if p.concurrency is None:
        p.concurrency = p.n          # Default: one greenlet per name, all at once.
    r.switch_used = "greenlet"
    r.loop_used = cell.loop_name()
    if p.n == 0:
        r.usage_fail("--n=0: dns needs at least one name to resolve")
    if p.concurrency == 0:
        r.usage_fail("--concurrency=0: dns needs at least one task resolving")
    if p.url is None:
        r.usage_fail(NEEDS_URL)
    host, port = parse_url(p.url, r)
    if p.ares == 0 and port != 53:
        r.usage_fail("--url=%s with --ares=0: getaddrinfo asks /etc/resolv.conf's servers on port 53; "
                     "run the cell where %s:53 is that server (the harness gives it a private network "
                     "namespace)" % (p.url, host))
    return host, port


def resolv_conf_servers():
    """The nameservers of /etc/resolv.conf, for the note (glibc asks these)."""
    servers = []
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    servers.append(words[1])
    except OSError:
        pass
    return servers


def cares_version():
    """The version of the libcares gevent's cares module is linked with (the
    system's, on Debian); None when it cannot be asked."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("cares") or "libcares.so.2")
        lib.ares_version.restype = ctypes.c_char_p
        lib.ares_version.argtypes = [ctypes.c_void_p]
        return lib.ares_version(None).decode("ascii")
    except (OSError, AttributeError, UnicodeDecodeError):
        return None


def set_resolver(ares, host, port):
    """Put the resolver asked for on the hub, in place of whatever it has (the
    one gevent.config chose, or the previous round's); the new one. A c-ares
    one ignores gevent's GEVENTARES_* / GEVENT_RESOLVER_* settings
    (use_environ=False): it asks host:port only, over UDP (TCP when an
    answer comes truncated) on the same port."""
    hub = gevent.get_hub()
    old = hub._resolver             # Not hub.resolver: that would make one to throw away.
    if ares:
        from gevent.resolver.ares import Resolver
        resolver = Resolver(hub=hub, use_environ=False, servers=[host], udp_port=port, tcp_port=port)
    else:
        from gevent.resolver.thread import Resolver
        resolver = Resolver(hub=hub)
    hub.resolver = resolver
    if old is not None:
        old.close()
    return resolver


def drop_resolver(resolver):
    """Close a round's resolver (c-ares: its channel and sockets) and take it
    off the hub, so that the next round starts as this one did."""
    hub = gevent.get_hub()
    if hub._resolver is resolver:
        del hub.resolver
    resolver.close()


def resolver_note(ares, host, port):
    # The hub's, read back: the one gevent.socket.getaddrinfo will call.
    resolver = gevent.get_hub().resolver
    kind = "%s.%s" % (type(resolver).__module__, type(resolver).__qualname__)
    if ares:
        version = cares_version()
        return ("resolver: %s (c-ares%s in the hub's event loop), asking %s port %d only."
                % (kind, " " + version if version else "", host, port))
    servers = resolv_conf_servers()
    return ("resolver: %s (glibc getaddrinfo(3) in the hub's pool of at most %d threads, so at most that "
            "many lookups reach the server at once), asking /etc/resolv.conf's servers (%s) on port 53."
            % (kind, gevent.get_hub().threadpool.maxsize, ", ".join(servers) or "none"))


def check_answer(name, infos):
    """None, or what is wrong with getaddrinfo's answer for name."""
    if not infos:
        return "%s: no address in the answer" % name
    for info in infos:
        address = info[4][0]
        try:
            if ipaddress.IPv4Address(address) not in LOOPBACK:
                return "%s: answered %s, not an address in 127.0.0.0/8" % (name, address)
        except ValueError:
            return "%s: answered '%s', not an IPv4 address" % (name, address)
    return None


def describe(name, e):
    """A failed lookup for a person: "n17.test: Name or service not known"."""
    why = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
    return "%s: %s" % (name, why)


def resolve_all(names, k, gauge):
    """Resolve every name, k greenlets at once; each name's error (None when
    its answer was good), in the names' order."""
    getaddrinfo = gevent.socket.getaddrinfo

    def lookup(name):
        gauge.enter()
        try:
            infos = getaddrinfo(name, None, AF_INET, SOCK_STREAM)
        except Exception as e:  # gaierror, herror, timeouts: counted, the first one reported.
            return describe(name, e)
        finally:
            gauge.leave()
        return check_answer(name, infos)

    if k >= len(names):
        jobs = [gevent.spawn(lookup, name) for name in names]
        gevent.joinall(jobs)
        return [job.value if job.successful() else describe(name, job.exception)
                for name, job in zip(names, jobs)]
    return Pool(k).map(lookup, names)


def tally(errors, r, what=""):
    """The pass's checks; the cell fails with the first failed lookup's
    message (in name order, the same one every run), what before it."""
    failed = [e for e in errors if e is not None]
    r.tasks_completed, r.errors = len(errors) - len(failed), len(failed)
    if failed:
        r.fail("%s%d of %d lookups failed; the first: %s" % (what, len(failed), len(errors), failed[0]))


def proc_status_kib(key):
    """A "VmRSS:     1234 kB" line of /proc/self/status, in KiB; None if absent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def reset_peak_rss():
    """Write 5 to /proc/self/clear_refs, which sets VmHWM to the resident
    memory now; that memory (VmRSS), in KiB, or None if the kernel refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return proc_status_kib("VmRSS")


def run_dns(p, r):
    r.rss_per_task_max = True         # With --rounds, the largest round's memory per lookup.
    host, port = check_params(p, r)
    n, k = p.n, min(p.concurrency, p.n)
    resolver = set_resolver(p.ares, host, port)
    try:
        r.add_note(resolver_note(p.ares, host, port))
        # Warm-up: the first names, the same way, untimed; the thread pool's
        # threads (ares=0) or c-ares' socket (ares=1) made, the answers checked.
        warm = ["n%d.test" % i for i in range(min(n, WARMUP))]
        tally(resolve_all(warm, min(k, len(warm)), Gauge()), r, "warm-up: ")

        names = ["n%d.test" % i for i in range(n)]
        gauge = Gauge()
        gc.collect()                  # Garbage of the set-up is not the lookups'.
        rss_start = reset_peak_rss()
        r.measure_begin()
        errors = resolve_all(names, k, gauge)
        r.measure_end()
        peak = proc_status_kib("VmHWM")
        r.ops = n
        r.max_in_flight = gauge.peak
        if rss_start is not None and peak is not None:
            r.rss_per_task_bytes = max(peak - rss_start, 0) * 1024 // k
        else:
            r.add_note("/proc/self/clear_refs could not be written: no rss_per_task_bytes.")
        tally(errors, r)
        if gauge.peak > k:
            r.fail("%d lookups were in flight at once, more than the %d allowed" % (gauge.peak, k))
        if gauge.peak < k:
            r.add_note("At most %d of the %d allowed lookups were in flight at once." % (gauge.peak, k))
    finally:
        drop_resolver(resolver)
