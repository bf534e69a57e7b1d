// workloads/peers/go/fetch.go: what joinall.go and pool.go share, as
// workloads/common/fetch.c does for ours: the defaults, the server (--url, or a
// greenbench-server this program starts beside itself), the limit checks,
// one fetch, the in-flight gauge and the tally of checks into the result.
//
// The client is net/http with keep-alives off: every request is a new
// connection with "Connection: close", like our C client; no proxy, no
// compression, no HTTP/2. With --keepalive=1 each task (joinall) or worker
// (pool) has a client of its own, keep-alives on and at most one connection
// (keptClient): the same net/http code, the connection reused.
//
// With --tls=1 the same transports speak HTTPS through crypto/tls, always
// verifying the chain (against --cacert, or the system's roots) and the
// URL's host; HTTP/1.1 only (no ALPN "h2", as ForceAttemptHTTP2 is off) and
// no session cache, so every new connection is a full handshake.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	fetchDefaultN       = 100
	fetchDefaultK       = 10
	fetchDefaultDelayMs = 10
	fetchDefaultSize    = 1024
	fetchWarm           = 16
	fetchTimeoutS       = 30.0
	fdReserve           = 64
)

type fetchTask struct {
	err    error
	status int
	bytes  int64
}

type fetchSetup struct {
	url        string
	n, k       int64
	expectSize int64 // -1: the Content-Length of each response.
	timeout    time.Duration
	client     *http.Client // --keepalive=0: one for all; 1: each task or worker makes its own.
	server     *exec.Cmd
	keepalive  bool
	dial       func(ctx context.Context, network, addr string) (net.Conn, error) // Counts into conns.
	conns      int64                                                             // Connections opened (atomic); the workload zeroes it.
	// --tls=1: shared by every transport (each clones it); nil: plain HTTP.
	tls *tls.Config
}

// gauge counts the requests in flight now and at most.
type gauge struct{ now, peak int64 }

func (g *gauge) enter() {
	v := atomic.AddInt64(&g.now, 1)
	for {
		peak := atomic.LoadInt64(&g.peak)
		if v <= peak || atomic.CompareAndSwapInt64(&g.peak, peak, v) {
			return
		}
	}
}

func (g *gauge) leave() { atomic.AddInt64(&g.now, -1) }

// checkConnections fails when k connections at once cannot fit RLIMIT_NOFILE
// or the ephemeral port range (the same check as sysinfo.c).
func checkConnections(k int64) error {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur != ^uint64(0) && k+fdReserve > int64(rl.Cur) {
		return fmt.Errorf("%d connections at once need about %d open files, but RLIMIT_NOFILE is %d "+
			"(hard limit %d): raise it (ulimit -n, limits.conf) or lower --n / --concurrency",
			k, k+fdReserve, rl.Cur, rl.Max)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			lo, e1 := strconv.ParseInt(f[0], 10, 64)
			hi, e2 := strconv.ParseInt(f[1], 10, 64)
			if e1 == nil && e2 == nil && k > hi-lo+1 {
				return fmt.Errorf("%d connections at once need as many local ports, but net.ipv4.ip_local_port_range "+
					"is %d-%d (%d ports): widen it or lower --n / --concurrency", k, lo, hi, hi-lo+1)
			}
		}
	}
	return nil
}

// startServer runs the greenbench-server beside this program and reads the
// URL from its first line of output (within 10 s). With https it runs the
// server with --tls and returns the path of its throwaway CA, the second
// line ("ca: PATH"); the server removes it when it exits.
func startServer(s *fetchSetup, delayMs, size int64, https bool) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(self), "greenbench-server")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no --url given and no greenbench-server beside this program to start")
	}
	args := []string{"--delay-ms", strconv.FormatInt(delayMs, 10), "--size", strconv.FormatInt(size, 10),
		"--port", "0", "--cpu", "last"}
	scheme, lines := "http://", 1
	if https {
		args = append(args, "--tls")
		scheme, lines = "https://", 2
	}
	cmd := exec.Command(path, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("no --url given, and starting our own server failed: %v", err)
	}
	got := make(chan []string, 1)
	go func() {
		rd := bufio.NewReader(out)
		var ls []string
		for len(ls) < lines {
			l, err := rd.ReadString('\n')
			ls = append(ls, strings.TrimSpace(l))
			if err != nil {
				break
			}
		}
		got <- ls
		io.Copy(io.Discard, out)
	}()
	select {
	case ls := <-got:
		if !strings.HasPrefix(ls[0], scheme) {
			stopServer(cmd)
			return "", fmt.Errorf("no --url given, and our own server printed %q instead of its URL", ls[0])
		}
		var ca string
		if https {
			if len(ls) < 2 || !strings.HasPrefix(ls[1], "ca: ") {
				stopServer(cmd)
				return "", fmt.Errorf("no --url given, and our own TLS server printed no 'ca: PATH' line")
			}
			ca = strings.TrimPrefix(ls[1], "ca: ")
		}
		s.url, s.server = ls[0], cmd
		return ca, nil
	case <-time.After(10 * time.Second):
		stopServer(cmd)
		return "", fmt.Errorf("no --url given, and our own server printed no URL within 10 s")
	}
}

// tlsConfig verifies the server with the CAs in the PEM file cacert (not
// given: the system's roots) and checks the certificate against the URL's
// host: crypto/tls matches an IP literal against the IP addresses and a
// name against the DNS names, and sends a name (not an IP) as SNI.
func tlsConfig(cacert string, given bool, rawURL string) (*tls.Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--url=%s: %v", rawURL, err)
	}
	c := &tls.Config{ServerName: u.Hostname()} // RootCAs nil: the system's roots.
	if given {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // The path is in our words already.
			}
			return nil, fmt.Errorf("--cacert=%s: cannot read it: %v", cacert, err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert=%s: no PEM certificate in it", cacert)
		}
	}
	return c, nil
}

func stopServer(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// fetchSetupInit fills in the defaults, checks them, finds or starts the
// server and makes the client. pool: --concurrency applies.
func fetchSetupInit(s *fetchSetup, p *params, r *result, pool bool) error {
	if p.n < 0 {
		p.n = fetchDefaultN
	}
	if p.n == 0 {
		return r.fail("--n=0: %s needs at least one request", p.workload)
	}
	s.n = p.n
	if pool {
		if p.concurrency < 0 {
			p.concurrency = fetchDefaultK
		}
		if p.concurrency == 0 {
			return r.fail("--concurrency=0: a pool needs room for at least one task")
		}
		s.k = p.concurrency
		if s.k > p.n {
			s.k = p.n
		}
	} else {
		s.k = p.n
	}
	if err := checkConnections(s.k); err != nil {
		return r.fail("%v", err)
	}
	if p.tls < 0 {
		p.tls = 0
	}
	if p.hasURL {
		// Refused before any connection, as a usage error (exit 2), as ours (http.c) do.
		https := strings.HasPrefix(p.url, "https://")
		switch {
		case p.tls == 1 && !https:
			return r.usageError("--tls=1 needs an https:// --url")
		case p.tls == 0 && https:
			return r.usageError("--url=%s: an https:// URL needs --tls=1", p.url)
		case p.tls == 0 && !strings.HasPrefix(p.url, "http://"):
			return r.usageError("--url=%s: only http:// URLs are supported", p.url)
		}
		if why := urlPortError(p.url); why != "" {
			return r.usageError("--url=%s: %s", p.url, why)
		}
	}
	cacert, hasCACert := p.cacert, p.hasCACert
	if !p.hasURL {
		if p.delayMs < 0 {
			p.delayMs = fetchDefaultDelayMs
		}
		if p.size < 0 {
			p.size = fetchDefaultSize
		}
		ca, err := startServer(s, p.delayMs, p.size, p.tls == 1)
		if err != nil {
			return r.fail("%v", err)
		}
		if !hasCACert {
			cacert, hasCACert = ca, true
		}
		r.addNote("No --url: the cell ran its own greenbench-server (%d ms, %d bytes).", p.delayMs, p.size)
	} else {
		s.url = p.url
	}
	if p.tls == 1 {
		var err error
		if s.tls, err = tlsConfig(cacert, hasCACert, s.url); err != nil {
			fetchSetupClose(s) // Our caller defers it only once we return nil.
			return r.fail("%v", err)
		}
	}
	s.expectSize = p.size
	delay := p.delayMs
	if delay < 0 {
		delay = 0
	}
	s.timeout = time.Duration(fetchTimeoutS*float64(time.Second)) + time.Duration(delay)*time.Millisecond
	if p.keepalive < 0 {
		p.keepalive = 0
	}
	s.keepalive = p.keepalive == 1
	dialer := &net.Dialer{Timeout: s.timeout}
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			atomic.AddInt64(&s.conns, 1)
		}
		return c, err
	}
	if !s.keepalive {
		transport := &http.Transport{
			Proxy:               nil, // Direct, whatever http_proxy says, like ours.
			DialContext:         s.dial,
			TLSClientConfig:     s.tls,
			DisableKeepAlives:   true, // A new connection per request, "Connection: close".
			DisableCompression:  true, // No "Accept-Encoding: gzip": the same request as ours.
			ForceAttemptHTTP2:   false,
			MaxIdleConnsPerHost: -1,
		}
		s.client = &http.Client{Transport: transport, Timeout: s.timeout}
	}
	return nil
}

// keptClient is the client of one task (joinall) or worker (pool) with
// --keepalive=1: the transport above with keep-alives on and one connection
// at most (MaxConnsPerHost 1: a request waits for the connection the last
// one gives back, rather than dialling a second), kept idle for as long as
// the owner lives; net/http dials again when the server closed it (and
// resends a GET that met a connection closed while idle). One shared
// transport with MaxIdleConnsPerHost K would dial an extra connection
// whenever a worker asks before the last body's end has put its connection
// back, and in joinall would hand a finished task's connection to another.
// closeKept closes them after the timed part.
func keptClient(s *fetchSetup) *http.Client {
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         s.dial,
		TLSClientConfig:     s.tls, // The connection kept keeps its TLS session: one handshake.
		DisableKeepAlives:   false,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		IdleConnTimeout:     0, // No limit: the server decides.
	}
	return &http.Client{Transport: transport, Timeout: s.timeout}
}

func closeKept(kept []*http.Client) {
	for _, c := range kept {
		if c != nil {
			c.CloseIdleConnections()
		}
	}
}

func fetchSetupClose(s *fetchSetup) {
	if s.server != nil {
		stopServer(s.server)
		s.server = nil
	}
}

// fetchOne makes one GET with client c, reads the whole body and checks
// status and length. io.Discard reads the body itself (it is an
// io.ReaderFrom), without a buffer of ours; with keep-alive, net/http reads
// exactly Content-Length and gives the connection back at its end.
func fetchOne(s *fetchSetup, c *http.Client, t *fetchTask) {
	var resp *http.Response
	var err error
	if s.keepalive {
		var req *http.Request
		if req, err = http.NewRequest(http.MethodGet, s.url, nil); err == nil {
			req.Header.Set("Connection", "keep-alive")
			resp, err = c.Do(req)
		}
	} else {
		resp, err = c.Get(s.url)
	}
	if err != nil {
		t.err = err
		return
	}
	t.status = resp.StatusCode
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.bytes = n
	switch {
	case err != nil:
		t.err = err
	case resp.StatusCode != http.StatusOK:
		t.err = errStatus
	case s.expectSize >= 0 && n != s.expectSize:
		t.err = errSize
	case s.expectSize < 0 && resp.ContentLength >= 0 && n != resp.ContentLength:
		t.err = errSize
	}
}

var (
	errStatus = errors.New("HTTP status other than 200")
	errSize   = errors.New("body length differs from --size")
)

// fetchTally sums the tasks into the result's checks and fails it with the
// first error, worded for a person, if any request failed.
func fetchTally(s *fetchSetup, tasks []fetchTask, r *result) error {
	var ok, bytes, failed int64
	var first *fetchTask
	for i := range tasks {
		bytes += tasks[i].bytes
		if tasks[i].err == nil {
			ok++
		} else {
			failed++
			if first == nil {
				first = &tasks[i]
			}
		}
	}
	r.tasksCompleted, r.bytesReceived, r.errors = ok, bytes, failed
	if first == nil {
		return nil
	}
	n := int64(len(tasks))
	switch {
	case first.err == errStatus:
		return r.fail("%d of %d requests failed; first: GET %s: HTTP status %d", failed, n, s.url, first.status)
	case first.err == errSize:
		return r.fail("%d of %d requests failed; first: GET %s: body of %d bytes, --size=%d",
			failed, n, s.url, first.bytes, s.expectSize)
	case tlsVerifyError(first.err) != nil:
		return r.fail("%d of %d requests failed; first: GET %s: TLS verification: %v",
			failed, n, s.url, tlsVerifyError(first.err))
	case errors.Is(first.err, syscall.ECONNREFUSED):
		return r.fail("%d of %d requests failed; first: GET %s: connection refused (is the server running there?)",
			failed, n, s.url)
	case errors.Is(first.err, context.DeadlineExceeded) || os.IsTimeout(first.err):
		return r.fail("%d of %d requests failed; first: GET %s: no complete response within %.0f s",
			failed, n, s.url, s.timeout.Seconds())
	case errors.Is(first.err, syscall.EMFILE) || errors.Is(first.err, syscall.ENFILE):
		return r.fail("%d of %d requests failed; first: GET %s: %v (RLIMIT_NOFILE / fs.file-max)",
			failed, n, s.url, first.err)
	case errors.Is(first.err, syscall.EADDRNOTAVAIL):
		return r.fail("%d of %d requests failed; first: GET %s: %v (ephemeral ports used up: "+
			"net.ipv4.ip_local_port_range, or connections in TIME_WAIT)", failed, n, s.url, first.err)
	default:
		return r.fail("%d of %d requests failed; first: GET %s: %v", failed, n, s.url, first.err)
	}
}

// tlsVerifyError is the x509 error inside err when the server's certificate
// failed verification (its chain, its name or its dates), else nil: the
// reason in Go's words, without net/http's "Get URL:" around it.
func tlsVerifyError(err error) error {
	var unknownCA x509.UnknownAuthorityError
	var badName x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownCA):
		return unknownCA
	case errors.As(err, &badName):
		return badName
	case errors.As(err, &invalid):
		return invalid
	}
	return nil
}

// checkInFlight records the most requests in flight at once: more than k
// fails the cell, fewer goes into the note.
func checkInFlight(s *fetchSetup, r *result, peak int64) error {
	r.maxInFlight = peak
	if peak > s.k {
		return r.fail("%d requests were in flight at once, more than the %d allowed", peak, s.k)
	}
	if peak < s.k {
		r.addNote("At most %d of the %d allowed requests were in flight at once.", peak, s.k)
	}
	return nil
}

// fetchNote says what the figure includes that ours does not.
func fetchNote(s *fetchSetup, r *result) {
	r.loopUsed = "netpoll"
	r.switchUsed = "goroutine"
	if s.keepalive {
		r.addNote("net/http client, \"Connection: keep-alive\": each goroutine (joinall) or each of the K " +
			"pool workers has its own http.Transport with one connection, kept to the end of the timed part " +
			"(net/http reconnects when the server closed it, without telling), no proxy, no gzip; waits in Go's netpoller (epoll); " +
			"the figure includes net/http's own goroutines per connection and a Transport per task or worker.")
	} else {
		r.addNote("net/http client with keep-alives off (a new connection per request), no proxy, no gzip; " +
			"waits in Go's netpoller (epoll); the figure includes net/http's own goroutines per connection.")
	}
	if s.tls != nil {
		r.addNote("HTTPS with crypto/tls (TLS 1.3 where the server offers it), chain and name verified, " +
			"no session resumption: each new connection is a full handshake.")
	}
}
