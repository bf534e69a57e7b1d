// workloads/peers/go/cell.go: main() of greenbench-peer-go, the Go goroutine
// peer. It speaks the cell protocol of docs/cell-protocol.md exactly as
// workloads/common/cell.c does: the same options (--rounds too, added up the
// same way, in this one process), human text on stderr, and one JSON object,
// with the same fields in the same order, as the last line of stdout.
// The workloads are one file each beside this one (switch.go, spawn.go,
// joinall.go, pool.go, dns.go); the table below lists them.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

const peerName = "go"

// params mirrors cell_params: -1 means "not given". A workload replaces each
// value it uses but was not given with the default it chose, so that the JSON
// line records what was measured.
type params struct {
	workload, impl, switchName, loopName, url string
	cacert                                    string // --cacert: PEM file of the CAs to verify with.
	hasImpl, hasURL, hasCACert                bool
	n, concurrency, delayMs, size, stackKiB   int64
	cpus                                      int64
	rounds                                    int64 // --rounds: main runs the workload this many times (default 1).
	keepalive                                 int64 // --keepalive: 1, a task (joinall) or worker (pool) reuses its connection.
	tls                                       int64 // --tls: 1, joinall and pool fetch https:// over crypto/tls.
	ares                                      int64 // --ares: 1 asks for c-ares, which Go has not: dns refuses it.
	hubs                                      int64 // --hubs: noted and ignored (--cpus sets GOMAXPROCS); always null.
}

// result mirrors cell_result: counters left at -1 are not written.
type result struct {
	ok                   bool
	err                  string
	switchUsed, loopUsed string // "" is written as null.
	ops, wallNs, cpuNs   int64
	tasksCompleted       int64
	bytesReceived        int64
	errors               int64
	maxInFlight          int64
	connections          int64 // Connections opened in the timed part (joinall, pool).
	rssPerTaskBytes      int64
	rssPerTaskMax        bool // rssPerTaskBytes is the largest over the rounds (dns), not the first round's.
	note                 string
	usage                bool // The failure is the caller's (exit 2), not the run's (exit 1).
	t0Wall, t0CPU        int64
}

type workloadFn func(p *params, r *result) error

type workload struct {
	name    string
	run     workloadFn // nil: a standard workload this peer does not implement.
	summary string
}

var workloads = []workload{
	{"switch", switchGo, "unbuffered channel ping-pong between two goroutines, --n round trips"},
	{"yield", yieldGo, "two goroutines call runtime.Gosched() --n times each"},
	{"spawn", spawnGo, "--n goroutines started (go f()) and waited for with a sync.WaitGroup"},
	{"spawn-alive", spawnAliveGo, "--n goroutines alive and blocked on one channel at once: memory per goroutine"},
	{"joinall", joinallGo, "--n goroutines each GET --url with net/http (a new connection each), then wait for all"},
	{"pool", poolGo, "the same --n GETs through --concurrency worker goroutines fed by a channel"},
	{"dns", dnsGo, "--n names resolved by --concurrency goroutines, Go's pure-Go resolver against --url's greenbench-dns"},
}

// ---- time and resources ----

var monoStart = time.Now()

func nowNs() int64 { return int64(time.Since(monoStart)) }

func cpuTimeNs() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func maxRSSKiB() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return ru.Maxrss
}

// rssBytes is the resident memory now, from /proc/self/statm (as sysinfo.c).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}

func (r *result) measureBegin() {
	r.t0CPU = cpuTimeNs()
	r.t0Wall = nowNs()
}

func (r *result) measureEnd() {
	r.wallNs = nowNs() - r.t0Wall
	r.cpuNs = cpuTimeNs() - r.t0CPU
}

// fail marks the cell failed and returns an error for `return r.fail(...)`.
func (r *result) fail(format string, a ...interface{}) error {
	r.ok = false
	r.err = fmt.Sprintf(format, a...)
	return fmt.Errorf("%s", r.err)
}

// usageError is fail for a mistake in the options (a bad --url): exit 2.
func (r *result) usageError(format string, a ...interface{}) error {
	r.usage = true
	return r.fail(format, a...)
}

// addNote appends a sentence to the note.
func (r *result) addNote(format string, a ...interface{}) {
	s := fmt.Sprintf(format, a...)
	if r.note != "" {
		r.note += " "
	}
	r.note += s
}

// ---- CPU affinity ----

type cpuMask [16]uint64 // 1024 CPUs, as glibc's cpu_set_t.

func getAffinity() (cpuMask, error) {
	var m cpuMask
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
	if e != 0 {
		return m, e
	}
	return m, nil
}

func (m *cpuMask) count() int64 {
	var c int64
	for cpu := 0; cpu < len(m)*64; cpu++ {
		if m[cpu/64]&(1<<(cpu%64)) != 0 {
			c++
		}
	}
	return c
}

// restrictCPUs keeps the first want allowed CPUs (want <= 0: all) and returns
// how many the process may use. The Go runtime has started threads before
// main() runs, and sched_setaffinity binds one thread only: so this sets the
// calling thread's mask and re-executes the program, whose runtime then
// starts with every thread on the kept CPUs and GOMAXPROCS equal to their
// number. The re-executed program finds the mask already right.
func restrictCPUs(want int64) (int64, error) {
	m, err := getAffinity()
	if err != nil {
		return -1, err
	}
	have := m.count()
	if want <= 0 || want == have {
		return have, nil
	}
	if want > have {
		return -1, syscall.ERANGE
	}
	var keep cpuMask
	var kept int64
	for cpu := 0; cpu < len(m)*64 && kept < want; cpu++ {
		if m[cpu/64]&(1<<(cpu%64)) != 0 {
			keep[cpu/64] |= 1 << (cpu % 64)
			kept++
		}
	}
	runtime.LockOSThread()
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(keep),
		uintptr(unsafe.Pointer(&keep))); e != 0 {
		return -1, e
	}
	err = syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	return -1, fmt.Errorf("re-executing with the new CPU affinity: %v", err)
}

// raiseNofile takes all the open files the kernel lets this process have, as
// cell.c does (Go 1.19's os package does it too; this keeps it explicit).
func raiseNofile() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// ---- the JSON line ----

func jsonString(b *strings.Builder, s string, null bool) {
	if null {
		b.WriteString("null")
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			fmt.Fprintf(b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

func jsonCount(b *strings.Builder, key string, v int64) {
	fmt.Fprintf(b, `,"%s":`, key)
	if v < 0 {
		b.WriteString("null")
	} else {
		fmt.Fprintf(b, "%d", v)
	}
}

func writeResult(w io.Writer, p *params, r *result) {
	var b strings.Builder
	b.WriteString(`{"workload":`)
	jsonString(&b, p.workload, p.workload == "")
	b.WriteString(`,"impl":`)
	jsonString(&b, p.impl, !p.hasImpl)
	b.WriteString(`,"switch":`)
	jsonString(&b, r.switchUsed, r.switchUsed == "")
	b.WriteString(`,"loop":`)
	jsonString(&b, r.loopUsed, r.loopUsed == "")
	jsonCount(&b, "n", p.n)
	jsonCount(&b, "concurrency", p.concurrency)
	jsonCount(&b, "delay_ms", p.delayMs)
	jsonCount(&b, "size", p.size)
	jsonCount(&b, "stack_kib", p.stackKiB)
	jsonCount(&b, "cpus", p.cpus)
	jsonCount(&b, "rounds", p.rounds)
	jsonCount(&b, "keepalive", p.keepalive)
	jsonCount(&b, "tls", p.tls)
	jsonCount(&b, "ares", p.ares)
	jsonCount(&b, "hubs", p.hubs)
	b.WriteString(`,"stacks":null`) // libgreen's stack modes: none here.
	jsonCount(&b, "live_bytes", -1)
	fmt.Fprintf(&b, `,"ok":%t`, r.ok)
	if !r.ok {
		b.WriteString(`,"error":`)
		msg := r.err
		if msg == "" {
			msg = "failed without a message"
		}
		jsonString(&b, msg, false)
	}
	jsonCount(&b, "wall_ns", r.wallNs)
	jsonCount(&b, "ops", r.ops)
	b.WriteString(`,"ns_per_op":`)
	if r.ops > 0 && r.wallNs >= 0 {
		fmt.Fprintf(&b, "%.3f", float64(r.wallNs)/float64(r.ops))
	} else {
		b.WriteString("null")
	}
	jsonCount(&b, "max_rss_kb", maxRSSKiB())
	jsonCount(&b, "cpu_ns", r.cpuNs)
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"tasks_completed", r.tasksCompleted},
		{"bytes_received", r.bytesReceived},
		{"errors", r.errors},
		{"max_in_flight", r.maxInFlight},
		{"connections", r.connections},
		{"rss_per_task_bytes", r.rssPerTaskBytes},
	} {
		if f.v >= 0 {
			jsonCount(&b, f.key, f.v)
		}
	}
	if r.note != "" {
		b.WriteString(`,"note":`)
		jsonString(&b, r.note, false)
	}
	b.WriteString("}\n")
	io.WriteString(w, b.String())
}

// ---- options ----

var program string

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s WORKLOAD --impl=%s [--n=N] [--concurrency=K]\n"+
		"       [--delay-ms=D] [--size=BYTES] [--url=URL] [--stack-kib=S] [--cpus=C] [--rounds=R]\n"+
		"       [--keepalive=0|1] [--tls=0|1] [--cacert=FILE] [--ares=0|1] [--hubs=H]\n"+
		"The Go goroutine peer (%s). Runs one measurement and prints one JSON object\n"+
		"on the last line of stdout. --cpus=C keeps the first C allowed CPUs and sets\n"+
		"GOMAXPROCS to C (default: every allowed CPU). --rounds=R runs the workload R\n"+
		"times in this process (default 1) and adds them up. --keepalive=1 lets each task\n"+
		"(joinall) or worker (pool) reuse its connection. --tls=1 fetches an https://\n"+
		"--url with crypto/tls, verified against --cacert=FILE (PEM; default: the\n"+
		"system's roots, or the CA of the server the cell starts without --url).\n"+
		"dns needs --url=dns://IPv4:PORT, a greenbench-dns server (any port: Go's resolver\n"+
		"dials it through its Dial hook); --ares=1 (c-ares) is refused: Go has its own resolver only.\n"+
		"--switch, --loop, --stack-kib and --hubs (use --cpus: GOMAXPROCS) do not apply.\n"+
		"Workloads in this program:\n", program, peerName, runtime.Version())
	for _, w2 := range workloads {
		if w2.run != nil {
			fmt.Fprintf(w, "  %-12s --impl=%-8s %s\n", w2.name, peerName, w2.summary)
		}
	}
}

// parseCount: a value that is not a count leaves *out -1 (null), as in cell.c.
func parseCount(name, text string, out *int64, r *result) error {
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v < 0 {
		*out = -1
		return r.fail("--%s=%s: expected a non-negative integer", name, text)
	}
	*out = v
	return nil
}

func parseOptions(args []string, p *params, r *result) error {
	counts := map[string]*int64{
		"n": &p.n, "concurrency": &p.concurrency, "delay-ms": &p.delayMs,
		"size": &p.size, "stack-kib": &p.stackKiB, "cpus": &p.cpus, "rounds": &p.rounds,
		"keepalive": &p.keepalive, "tls": &p.tls, "ares": &p.ares, "hubs": &p.hubs,
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "--") {
			if p.workload != "" {
				return r.fail("unexpected argument '%s' (the workload is '%s')", arg, p.workload)
			}
			p.workload = arg
			continue
		}
		name, value := arg[2:], ""
		_, isCount := counts[name]
		known := isCount || name == "impl" || name == "switch" || name == "loop" || name == "url" ||
			name == "cacert"
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, value = name[:eq], name[eq+1:]
		} else if !known {
			return r.fail("unknown option '--%s'", name)
		} else if i+1 < len(args) {
			i++
			value = args[i]
		} else {
			return r.fail("option --%s needs a value", name)
		}
		switch name {
		case "impl":
			p.impl, p.hasImpl = value, true
		case "switch":
			p.switchName = value
		case "loop":
			p.loopName = value
		case "url":
			p.url, p.hasURL = value, true
		case "cacert":
			p.cacert, p.hasCACert = value, true
		default:
			c, ok := counts[name]
			if !ok {
				return r.fail("unknown option '--%s'", name)
			}
			if err := parseCount(name, value, c, r); err != nil {
				return err
			}
		}
	}
	if p.workload == "" {
		return r.fail("no workload given")
	}
	if !p.hasImpl {
		return r.fail("--impl is required (--impl=%s)", peerName)
	}
	if p.impl != peerName {
		return r.fail("--impl=%s: this program is the %s peer; it runs --impl=%s only", p.impl, peerName, peerName)
	}
	if p.rounds == 0 {
		return r.fail("--rounds=0: a cell runs at least one round")
	}
	if p.keepalive > 1 {
		return r.fail("--keepalive=%d: 0 (a new connection per request) or 1", p.keepalive)
	}
	if p.tls > 1 {
		return r.fail("--tls=%d: 0 (plain HTTP) or 1 (HTTPS)", p.tls)
	}
	if p.ares > 1 {
		return r.fail("--ares=%d: 0 (the implementation's ordinary resolver) or 1 (c-ares)", p.ares)
	}
	if p.hasCACert && p.tls != 1 {
		return r.fail("--cacert needs --tls=1")
	}
	if p.hubs == 0 {
		return r.fail("--hubs=0: a green cell runs at least one hub")
	}
	return nil
}

// urlPortError says what is wrong with the port of an http:// or https://
// URL, in http.c's words; "" when it has none (80 or 443) or one from 1 to
// 65535. net/http would dial 99999 and fail late, or take an empty port for
// the default.
func urlPortError(url string) string {
	authority := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	if end := strings.IndexAny(authority, "/?#"); end >= 0 {
		authority = authority[:end]
	}
	var port string
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 || !strings.HasPrefix(authority[end+1:], ":") {
			return "" // No port; a bad host is net/http's to refuse.
		}
		port = authority[end+2:]
	} else if colon := strings.IndexByte(authority, ':'); colon >= 0 {
		port = authority[colon+1:]
	} else {
		return ""
	}
	if port == "" {
		return "empty port after ':' (1-65535)"
	}
	if strings.Trim(port, "0123456789") != "" {
		return fmt.Sprintf("port '%s' is not a number (1-65535)", port)
	}
	if v, err := strconv.ParseUint(port, 10, 32); err != nil || v < 1 || v > 65535 {
		return fmt.Sprintf("port %s is out of range (1-65535)", port)
	}
	return ""
}

// dnsURLAddr is the server's "IPv4:PORT" of a dns:// --url, or "" and what
// is wrong with it: dns://IPv4:PORT exactly, the port from 1 to 65535 in
// urlPortError's words. A name would need a resolver to find the resolver.
func dnsURLAddr(url string) (addr, why string) {
	rest := strings.TrimPrefix(url, "dns://")
	if rest == url {
		return "", "dns needs a dns://IPv4:PORT URL (a greenbench-dns server)"
	}
	colon := strings.LastIndexByte(rest, ':')
	if colon < 0 {
		return "", "no port: dns needs dns://IPv4:PORT"
	}
	host, port := rest[:colon], rest[colon+1:]
	if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || strings.Contains(host, ":") {
		return "", fmt.Sprintf("host '%s' is not an IPv4 address: dns needs dns://IPv4:PORT", host)
	}
	switch {
	case port == "":
		return "", "empty port after ':' (1-65535)"
	case strings.Trim(port, "0123456789") != "":
		return "", fmt.Sprintf("port '%s' is not a number (1-65535)", port)
	}
	if v, err := strconv.ParseUint(port, 10, 32); err != nil || v < 1 || v > 65535 {
		return "", fmt.Sprintf("port %s is out of range (1-65535)", port)
	}
	return rest, ""
}

// addCounts is a + b for counts where -1 is "none": none only when both are.
func addCounts(a, b int64) int64 {
	switch {
	case b < 0:
		return a
	case a < 0:
		return b
	}
	return a + b
}

// addRound adds round k (from 1) into the cell's result, as cell.c's
// add_round: the timed parts and the checks are sums, the most in flight a
// maximum; the backends, the memory snapshot and the note are the first
// round's, but dns's memory per lookup is the largest (rssPerTaskMax). A
// failed round's error becomes the cell's, "round K of R: " first when
// R > 1 (not for a usage error, which the first round meets).
func addRound(total *result, rk *result, k, rounds int64) {
	if k == 1 {
		*total = *rk
	} else {
		total.wallNs = addCounts(total.wallNs, rk.wallNs)
		total.cpuNs = addCounts(total.cpuNs, rk.cpuNs)
		total.ops = addCounts(total.ops, rk.ops)
		total.tasksCompleted = addCounts(total.tasksCompleted, rk.tasksCompleted)
		total.bytesReceived = addCounts(total.bytesReceived, rk.bytesReceived)
		total.errors = addCounts(total.errors, rk.errors)
		total.connections = addCounts(total.connections, rk.connections)
		if rk.maxInFlight > total.maxInFlight {
			total.maxInFlight = rk.maxInFlight
		}
		if rk.rssPerTaskMax && rk.rssPerTaskBytes > total.rssPerTaskBytes {
			total.rssPerTaskBytes = rk.rssPerTaskBytes
		}
		total.ok, total.err, total.usage = rk.ok, rk.err, rk.usage
	}
	if !rk.ok && !rk.usage && rounds > 1 {
		msg := rk.err
		if msg == "" {
			msg = "failed without a message"
		}
		total.err = fmt.Sprintf("round %d of %d: %s", k, rounds, msg)
	}
}

func main() {
	program = os.Args[0]
	if len(os.Args) > 1 && (os.Args[1] == "--help" || os.Args[1] == "-h") {
		usage(os.Stdout)
		return
	}
	p := params{n: -1, concurrency: -1, delayMs: -1, size: -1, stackKiB: -1, cpus: -1, rounds: 1,
		keepalive: -1, tls: -1, ares: -1, hubs: -1}
	fresh := result{ok: true, ops: -1, wallNs: -1, cpuNs: -1, tasksCompleted: -1, bytesReceived: -1,
		errors: -1, maxInFlight: -1, connections: -1, rssPerTaskBytes: -1}
	r := fresh
	badUsage := func() {
		fmt.Fprintf(os.Stderr, "%s: %s\n", program, r.err)
		writeResult(os.Stdout, &p, &r)
		os.Exit(2)
	}
	if parseOptions(os.Args[1:], &p, &r) != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", program, r.err)
		usage(os.Stderr)
		writeResult(os.Stdout, &p, &r)
		os.Exit(2)
	}
	var w *workload
	for i := range workloads {
		if workloads[i].name == p.workload {
			w = &workloads[i]
		}
	}
	if w == nil {
		r.fail("unknown workload '%s' (see %s --help)", p.workload, program)
		badUsage()
	}
	if w.run == nil {
		r.fail("workload %s is not implemented by peer %s", p.workload, peerName)
		badUsage()
	}
	raiseNofile()
	// Before the notes: restrictCPUs may run this program again, which would say them twice.
	cpus, err := restrictCPUs(p.cpus)
	if err != nil {
		if err == syscall.ERANGE {
			r.fail("--cpus=%d: more CPUs than this process may use", p.cpus)
		} else {
			r.fail("--cpus=%d: %v", p.cpus, err)
		}
		badUsage()
	}
	p.cpus = cpus
	runtime.GOMAXPROCS(int(cpus))
	for _, o := range []struct{ option, value string }{{"switch", p.switchName}, {"loop", p.loopName}} {
		if o.value != "" {
			fmt.Fprintf(os.Stderr, "%s: note: --%s=%s does not apply to --impl=%s; ignored\n",
				program, o.option, o.value, peerName)
		}
	}
	if p.hubs >= 0 {
		// The harness sweeps --cpus (GOMAXPROCS) as the Go peer's hubs.
		fmt.Fprintf(os.Stderr, "%s: note: --hubs=%d does not apply to --impl=%s (--cpus=C sets GOMAXPROCS); ignored\n",
			program, p.hubs, peerName)
		p.hubs = -1
	}
	if p.stackKiB >= 0 {
		fmt.Fprintf(os.Stderr, "%s: note: --stack-kib=%d does not apply: goroutine stacks start small and grow; ignored\n",
			program, p.stackKiB)
		p.stackKiB = -1
	}
	// Each round is one run as it would be alone, from the parameters as
	// given (a workload fills in its defaults in its copy); the line records
	// the first round's.
	given := p
	for k := int64(1); k <= given.rounds; k++ {
		pk, rk := given, fresh
		if w.run(&pk, &rk) != nil {
			rk.ok = false
		}
		if k == 1 {
			p = pk
		}
		addRound(&r, &rk, k, given.rounds)
		if !r.ok {
			break
		}
	}
	r.addNote("%s, GOMAXPROCS=%d: the figure includes the Go runtime, its scheduler, its garbage collector "+
		"(on threads of its own, in cpu_ns) and its heap (in max_rss_kb).", runtime.Version(), runtime.GOMAXPROCS(0))
	if !r.ok {
		fmt.Fprintf(os.Stderr, "%s %s: %s\n", p.workload, peerName, r.err)
	}
	writeResult(os.Stdout, &p, &r)
	if r.usage {
		os.Exit(2)
	}
	if !r.ok {
		os.Exit(1)
	}
}
