# workloads/peers/gevent_cell.py: main() of greenbench-peer-gevent, the gevent
# peer. It speaks the cell protocol of docs/cell-protocol.md exactly as
# workloads/common/cell.c does: the same options (--rounds too, added up the
# same way), human text on stderr, and one JSON object, with the same fields
# in the same order, as the last line of stdout.
#
# The workloads live beside ours, one file per workload folder
# (workloads/switch/gevent.py, workloads/spawn/gevent.py, ...); this module
# loads the one asked for by path, so that no folder holding a file named
# gevent.py is ever on sys.path (it would hide the gevent package).
#
# Run by the wrapper build/bin/greenbench-peer-gevent with the system's
# /usr/bin/python3 (Debian's python3-gevent), as `python3 -B -E -s THIS ARGS`.
import copy
import importlib.util
import os
import resource
import sys
import time

PEER = "gevent"
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (workload, folder under workloads/, function in its gevent.py, summary)
WORKLOADS = [
    ("switch", "switch", "run_switch", "two greenlets ping-pong --n round trips with greenlet.switch (no hub)"),
    ("yield", "yield", "run_yield", "two greenlets call gevent.sleep(0) --n times each, through the hub"),
    ("spawn", "spawn", "run_spawn", "--n trivial greenlets, gevent.spawn then gevent.joinall"),
    ("spawn-alive", "spawn", "run_spawn_alive", "--n greenlets alive and blocked on one Event at once: memory per greenlet"),
    ("joinall", "joinall", "run_joinall", "the seed program: --n greenlets each urlopen(--url) after monkey.patch_all(), joinall"),
    ("pool", "pool", "run_pool", "the same --n fetches through gevent.pool.Pool(--concurrency).map"),
    ("dns", "dns", "run_dns", "--n names resolved by --concurrency greenlets at once against the --url greenbench-dns"),
]

COUNT_OPTIONS = {"n": "n", "concurrency": "concurrency", "delay-ms": "delay_ms", "size": "size",
                 "stack-kib": "stack_kib", "cpus": "cpus", "rounds": "rounds", "keepalive": "keepalive",
                 "tls": "tls", "ares": "ares", "hubs": "hubs"}

# The valid range of a URL's port, as http.c's parser says it.
PORT_RANGE = "(1-65535)"


class Params:
    """cell_params: None means "not given". A workload replaces each value it
    uses but was not given with the default it chose."""

    def __init__(self):
        self.workload = None
        self.impl = None
        self.switch_name = None
        self.loop_name = None
        self.url = None
        self.n = self.concurrency = self.delay_ms = self.size = self.stack_kib = self.cpus = None
        self.rounds = 1           # --rounds: main() runs the workload this many times.
        self.keepalive = None     # --keepalive: 1, a task (joinall) or worker (pool) reuses its connection.
        self.tls = None           # --tls: 1, joinall and pool fetch https:// URLs, verified.
        self.cacert = None        # --cacert: the CA file to verify with (None: the system's store).
        self.ares = None          # --ares: 1, dns resolves with c-ares in the hub's loop, 0 gevent's thread pool.
        self.hubs = None          # --hubs: noted and ignored (one hub, one thread); always null.


class CellError(Exception):
    """Raised by Result.fail: the cell failed, with the message in Result.error."""


class Result:
    """cell_result: counters left at None are not applicable and not written."""

    def __init__(self):
        self.ok = True
        self.error = None
        self.switch_used = None
        self.loop_used = None
        self.ops = self.wall_ns = self.cpu_ns = None
        self.tasks_completed = self.bytes_received = self.errors = None
        self.max_in_flight = self.connections = self.rss_per_task_bytes = None
        # rss_per_task_bytes is the largest over the rounds (dns: each round's
        # lookups in flight start from the same memory), not the first round's.
        self.rss_per_task_max = False
        self.note = None
        self.usage_error = False  # The failure is the caller's (exit 2), not the run's (exit 1).
        self._t0_wall = self._t0_cpu = 0

    def fail(self, message):
        self.ok = False
        self.error = message
        raise CellError(message)

    def usage_fail(self, message):
        """The same for a mistake in the options (a bad --url): exit 2."""
        self.usage_error = True
        self.fail(message)

    def add_note(self, sentence):
        self.note = sentence if not self.note else self.note + " " + sentence

    def measure_begin(self):
        self._t0_cpu = cpu_time_ns()
        self._t0_wall = time.monotonic_ns()

    def measure_end(self):
        self.wall_ns = time.monotonic_ns() - self._t0_wall
        self.cpu_ns = cpu_time_ns() - self._t0_cpu


def cpu_time_ns():
    """User + system time of the whole process (its threads too), as cell.c."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int(round((ru.ru_utime + ru.ru_stime) * 1e9))


def rss_bytes():
    """Resident memory now, from /proc/self/statm (as sysinfo.c); None on error."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def loop_name():
    """The hub's event loop, by the module that implements it: libev or libuv."""
    import gevent
    module = type(gevent.get_hub().loop).__module__
    for name in ("libev", "libuv"):
        if name in module:
            return name
    return module


def bin_dir():
    """The folder of the program that was run (the wrapper in build/bin)."""
    program = os.environ.get("GREENBENCH_PEER_PROGRAM")
    return os.path.dirname(os.path.abspath(program)) if program else None


# ---- the JSON line ----

def json_string(s):
    if s is None:
        return "null"
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_count(key, v):
    return ',"%s":%s' % (key, "null" if v is None or v < 0 else "%d" % v)


def write_result(p, r):
    s = ['{"workload":', json_string(p.workload), ',"impl":', json_string(p.impl),
         ',"switch":', json_string(r.switch_used), ',"loop":', json_string(r.loop_used)]
    for key in ("n", "concurrency", "delay_ms", "size", "stack_kib", "cpus", "rounds", "keepalive", "tls", "ares",
                "hubs"):
        s.append(json_count(key, getattr(p, key)))
    s.append(',"stacks":null')  # libgreen's stack modes: none here.
    s.append(json_count("live_bytes", None))
    s.append(',"ok":%s' % ("true" if r.ok else "false"))
    if not r.ok:
        s.append(',"error":' + json_string(r.error or "failed without a message"))
    s.append(json_count("wall_ns", r.wall_ns))
    s.append(json_count("ops", r.ops))
    if r.ops is not None and r.ops > 0 and r.wall_ns is not None and r.wall_ns >= 0:
        s.append(',"ns_per_op":%.3f' % (r.wall_ns / r.ops))
    else:
        s.append(',"ns_per_op":null')
    s.append(json_count("max_rss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    s.append(json_count("cpu_ns", r.cpu_ns))
    for key in ("tasks_completed", "bytes_received", "errors", "max_in_flight", "connections",
                "rss_per_task_bytes"):
        v = getattr(r, key)
        if v is not None and v >= 0:
            s.append(json_count(key, v))
    if r.note:
        s.append(',"note":' + json_string(r.note))
    s.append("}\n")
    sys.stdout.write("".join(s))
    sys.stdout.flush()


# ---- options ----

def usage(f, program):
    f.write("usage: %s WORKLOAD --impl=%s [--n=N] [--concurrency=K]\n"
            "       [--delay-ms=D] [--size=BYTES] [--url=URL] [--stack-kib=S] [--cpus=C] [--rounds=R]\n"
            "       [--keepalive=0|1] [--tls=0|1] [--cacert=FILE] [--ares=0|1] [--hubs=H]\n"
            "The gevent peer (Python %s, /usr/bin/python3). Runs one measurement and prints\n"
            "one JSON object on the last line of stdout. --cpus=C keeps the first C allowed\n"
            "CPUs. --rounds=R runs the workload R times in this process (default 1) and adds\n"
            "them up. --keepalive=1 lets each task (joinall) or worker (pool) reuse its\n"
            "connection. --tls=1 fetches an https:// --url (none: our own server's, with\n"
            "--tls), verifying it against --cacert (default: the system's store).\n"
            "dns resolves --n names against the greenbench-dns of --url=dns://IPv4:PORT:\n"
            "--ares=0 (default) with getaddrinfo in gevent's thread pool, which asks\n"
            "/etc/resolv.conf's servers on port 53 (so the port must be 53); --ares=1 with\n"
            "gevent's c-ares resolver in the hub's loop, asking the --url's address and port.\n"
            "--switch, --loop, --stack-kib and --hubs (one hub, one thread) do not apply.\n"
            "Workloads in this program:\n" % (program, PEER, sys.version.split()[0]))
    for name, _folder, _fn, summary in WORKLOADS:
        f.write("  %-12s --impl=%-8s %s\n" % (name, PEER, summary))


def parse_count(name, text, r):
    # The whole string must be a non-negative decimal number, as strtoll in cell.c.
    t = text.strip()
    if t.startswith("+"):
        t = t[1:]
    if not t.isdigit() or not t.isascii():
        r.fail("--%s=%s: expected a non-negative integer" % (name, text))
    return int(t)


NAME_OPTIONS = ("impl", "switch", "loop", "url", "cacert")


def parse_options(args, p, r):
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            if p.workload is not None:
                r.fail("unexpected argument '%s' (the workload is '%s')" % (arg, p.workload))
            p.workload = arg
            i += 1
            continue
        name = arg[2:]
        if "=" in name:
            name, value = name.split("=", 1)
        elif name not in NAME_OPTIONS and name not in COUNT_OPTIONS:
            r.fail("unknown option '--%s'" % name)
        elif i + 1 < len(args):
            i += 1
            value = args[i]
        else:
            r.fail("option --%s needs a value" % name)
        if name == "impl":
            p.impl = value
        elif name == "switch":
            p.switch_name = value
        elif name == "loop":
            p.loop_name = value
        elif name == "url":
            p.url = value
        elif name == "cacert":
            p.cacert = value
        elif name in COUNT_OPTIONS:
            setattr(p, COUNT_OPTIONS[name], None)   # What a value that is no count leaves (null).
            setattr(p, COUNT_OPTIONS[name], parse_count(name, value, r))
        else:
            r.fail("unknown option '--%s'" % name)
        i += 1
    if p.workload is None:
        r.fail("no workload given")
    if p.impl is None:
        r.fail("--impl is required (--impl=%s)" % PEER)
    if p.impl != PEER:
        r.fail("--impl=%s: this program is the %s peer; it runs --impl=%s only" % (p.impl, PEER, PEER))
    if p.rounds == 0:
        r.fail("--rounds=0: a cell runs at least one round")
    if p.keepalive is not None and p.keepalive > 1:
        r.fail("--keepalive=%d: 0 (a new connection per request) or 1" % p.keepalive)
    if p.tls is not None and p.tls > 1:
        r.fail("--tls=%d: 0 (plain HTTP) or 1 (HTTPS)" % p.tls)
    if p.ares is not None and p.ares > 1:
        r.fail("--ares=%d: 0 (getaddrinfo, in gevent's thread pool) or 1 (c-ares)" % p.ares)
    if p.cacert is not None and p.tls != 1:
        r.fail("--cacert needs --tls=1")
    if p.hubs == 0:
        r.fail("--hubs=0: a green cell runs at least one hub")


def url_port_error(url):
    """What is wrong with the port of an http:// or https:// URL, in http.c's
    words; None when it has none (80 or 443) or one from 1 to 65535. Python's
    socket module would take 99999 modulo 65536 and connect to another
    server's port."""
    authority = url.split("://", 1)[1]
    for stop in "/?#":
        authority = authority.split(stop, 1)[0]
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0 or not authority[close + 1:].startswith(":"):
            return None              # No port; a bad host is urllib's to refuse.
        port = authority[close + 2:]
    elif ":" in authority:
        port = authority.split(":", 1)[1]
    else:
        return None
    if port == "":
        return "empty port after ':' %s" % PORT_RANGE
    if not (port.isdigit() and port.isascii()):
        return "port '%s' is not a number %s" % (port, PORT_RANGE)
    if not 1 <= int(port) <= 65535:
        return "port %s is out of range %s" % (port, PORT_RANGE)
    return None


def add_round(total, rk, k, rounds):
    """Add round k (from 1) into the cell's result, as cell.c's add_round: the
    timed parts and the checks are sums, the most in flight a maximum; the
    backends, the memory snapshot and the note are the first round's (the
    memory per lookup in flight of dns the largest, rss_per_task_max). A
    failed round's error becomes the cell's, "round K of R: " first when
    R > 1 (not for a usage error, which the first round meets)."""
    if k == 1:
        total = rk
    else:
        for key in ("wall_ns", "cpu_ns", "ops", "tasks_completed", "bytes_received", "errors", "connections"):
            a, b = getattr(total, key), getattr(rk, key)
            setattr(total, key, a if b is None or b < 0 else b if a is None or a < 0 else a + b)
        if rk.max_in_flight is not None and (total.max_in_flight is None or rk.max_in_flight > total.max_in_flight):
            total.max_in_flight = rk.max_in_flight
        if total.rss_per_task_max and rk.rss_per_task_bytes is not None and (
                total.rss_per_task_bytes is None or rk.rss_per_task_bytes > total.rss_per_task_bytes):
            total.rss_per_task_bytes = rk.rss_per_task_bytes
        total.ok, total.error, total.usage_error = rk.ok, rk.error, rk.usage_error
    if not rk.ok and not rk.usage_error and rounds > 1:
        total.error = "round %d of %d: %s" % (k, rounds, rk.error or "failed without a message")
    return total


def restrict_cpus(want):
    """Keep the first `want` allowed CPUs (None or 0: all); how many remain.
    Called before gevent starts any thread (its resolver's thread pool is
    started on first use), so every thread inherits the mask."""
    allowed = sorted(os.sched_getaffinity(0))
    if not want:
        return len(allowed)
    if want > len(allowed):
        return None
    os.sched_setaffinity(0, allowed[:want])
    return want


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def load_workload(folder, function):
    path = os.path.join(TOP, "workloads", folder, "gevent.py")
    spec = importlib.util.spec_from_file_location("greenbench_gevent_" + folder.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function)


def main(argv):
    program = os.environ.get("GREENBENCH_PEER_PROGRAM") or argv[0]
    if len(argv) > 1 and argv[1] in ("--help", "-h"):
        usage(sys.stdout, program)
        return 0
    p, r = Params(), Result()

    def bad_usage(show_usage=False):
        sys.stderr.write("%s: %s\n" % (program, r.error))
        if show_usage:
            usage(sys.stderr, program)
        write_result(p, r)
        return 2

    try:
        parse_options(argv[1:], p, r)
    except CellError:
        return bad_usage(show_usage=True)
    entry = [w for w in WORKLOADS if w[0] == p.workload]
    if not entry:
        r.ok, r.error = False, "unknown workload '%s' (see %s --help)" % (p.workload, program)
        return bad_usage()
    for option, value in (("switch", p.switch_name), ("loop", p.loop_name), ("stack-kib", p.stack_kib)):
        if value is not None:
            sys.stderr.write("%s: note: --%s=%s does not apply to --impl=%s; ignored\n" % (program, option, value, PEER))
    if p.hubs is not None:
        sys.stderr.write("%s: note: --hubs=%d does not apply to --impl=%s (one hub, one thread); ignored\n"
                         % (program, p.hubs, PEER))
    p.stack_kib = p.hubs = None
    raise_nofile()
    cpus = restrict_cpus(p.cpus)
    if cpus is None:
        r.ok, r.error = False, "--cpus=%d: more CPUs than this process may use" % p.cpus
        return bad_usage()
    p.cpus = cpus

    # The seed program's first lines, for every workload alike.
    try:
        from gevent import monkey
        monkey.patch_all()
        import gevent
        import greenlet
    except ImportError as e:
        r.ok, r.error = False, "%s cannot import gevent: %s (Debian package python3-gevent)" % (sys.executable, e)
        sys.stderr.write("%s: %s\n" % (program, r.error))
        write_result(p, r)
        return 1

    _name, folder, function, _summary = entry[0]
    run = load_workload(folder, function)
    # Each round is one run as it would be alone, from the parameters as
    # given (a workload fills in its defaults in its copy); the line records
    # the first round's.
    given = p
    for k in range(1, given.rounds + 1):
        pk, rk = copy.copy(given), Result()
        try:
            run(pk, rk)
        except CellError:
            pass
        except Exception as e:  # A bug or an unforeseen failure: still one JSON line.
            rk.ok = False
            rk.error = "%s: %s" % (type(e).__name__, e)
        if k == 1:
            p = pk
        r = add_round(r, rk, k, given.rounds)
        if not r.ok:
            break
    r.add_note("Python %s with gevent %s and greenlet %s: the figure includes the interpreter "
               "(bytecode dispatch, reference counting, its allocator and memory)."
               % (sys.version.split()[0], gevent.__version__, greenlet.__version__))
    if not r.ok:
        sys.stderr.write("%s %s: %s\n" % (p.workload, PEER, r.error))
    write_result(p, r)
    return 0 if r.ok else 2 if r.usage_error else 1


if __name__ == "__main__":
    # Import this file again under its own name, so that the workload modules'
    # `import gevent_cell` finds the same module that runs main().
    import gevent_cell
    sys.exit(gevent_cell.main(sys.argv))
