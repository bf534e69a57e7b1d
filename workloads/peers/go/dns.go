// workloads/peers/go/dns.go: the dns workload of the Go peer: --n distinct
// names n<i>.test, each looked up once for IPv4 (LookupIP "ip4": one A
// query) by --concurrency goroutines that take the next name from a shared
// counter; with K >= N one goroutine per name, all at once, as joinall.
//
// The resolver is Go's own (net.Resolver with PreferGo; built without cgo it
// is the only one Go has), so --ares=1 (c-ares) is a usage error. Its Dial
// hook sends every query to the --url's greenbench-dns, over the network Go
// asks for (UDP; TCP after a truncated answer), so any port works, where
// getaddrinfo needs the server on port 53. Each lookup has a deadline, so
// that a server that never answers fails the cell instead of hanging it.
//
// rss_per_task_bytes is what the timed part added to resident memory at its
// peak (VmHWM, reset through /proc/self/clear_refs just before it) over the
// lookups in flight at once, min(N, K).
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	dnsDefaultN = 1000
	dnsWarm     = 10
	// Far above a lookup's time here (the server's delay plus microseconds),
	// far below a harness's patience.
	dnsTimeout = 5 * time.Second
)

type dnsSetup struct {
	server   string // IPv4:PORT of the --url.
	k        int64  // Lookups in flight at once: min(N, K).
	resolver *net.Resolver
}

// dnsNames are the names n<first>.test ... rooted ("n0.test."): Go then asks
// for exactly that name, whatever search list and ndots /etc/resolv.conf
// has, so that every lookup is one query, as with the harness's resolv.conf.
func dnsNames(count int64) []string {
	names := make([]string, count)
	for i := range names {
		names[i] = "n" + strconv.Itoa(i) + ".test."
	}
	return names
}

// dnsLookupOne resolves name and checks the answer: at least one address,
// every one in 127.0.0.0/8, as greenbench-dns gives.
func dnsLookupOne(s *dnsSetup, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), dnsTimeout)
	defer cancel()
	ips, err := s.resolver.LookupIP(ctx, "ip4", name)
	if err != nil {
		return dnsReason(s, err)
	}
	if len(ips) == 0 {
		return errors.New("no address in the answer")
	}
	for _, ip := range ips {
		if ip4 := ip.To4(); ip4 == nil || ip4[0] != 127 {
			return fmt.Errorf("answer %s is not in 127.0.0.0/8", ip)
		}
	}
	return nil
}

// dnsReason words a failed lookup without the name and server that
// net.DNSError repeats: the caller names the name.
func dnsReason(s *dnsSetup, err error) error {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsTimeout, errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer within %.0f s (is greenbench-dns answering at %s?)", dnsTimeout.Seconds(), s.server)
	case errors.As(err, &de) && strings.HasSuffix(de.Err, "connection refused"):
		// DNSError keeps the reason as text only: ICMP port unreachable, read back.
		return fmt.Errorf("connection refused (is greenbench-dns running at %s?)", s.server)
	case errors.As(err, &de):
		return errors.New(de.Err)
	}
	return err
}

// dnsRun looks up every name with k goroutines and leaves each lookup's
// outcome in errs (nil: a good answer).
func dnsRun(s *dnsSetup, names []string, errs []error, k int64, g *gauge) {
	one := func(i int) {
		g.enter()
		errs[i] = dnsLookupOne(s, names[i])
		g.leave()
	}
	var wg sync.WaitGroup
	if k >= int64(len(names)) {
		// One goroutine per name: with a shared counter a fast one could take two.
		wg.Add(len(names))
		for i := range names {
			go func(i int) {
				defer wg.Done()
				one(i)
			}(i)
		}
		wg.Wait()
		return
	}
	next := int64(-1)
	wg.Add(int(k))
	for w := int64(0); w < k; w++ {
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(len(names)) {
					return
				}
				one(int(i))
			}
		}()
	}
	wg.Wait()
}

// dnsTally counts the lookups into the result and fails it with the first
// failed one (in name order, so the same one every run), naming its name.
func dnsTally(names []string, errs []error, r *result) error {
	var ok, failed int64
	first := -1
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		failed++
		if first < 0 {
			first = i
		}
	}
	r.tasksCompleted, r.errors = ok, failed
	if first < 0 {
		return nil
	}
	return r.fail("%d of %d lookups failed; the first: %s: %v", failed, len(errs),
		strings.TrimSuffix(names[first], "."), errs[first])
}

// procStatusBytes is a "Key:  N kB" line of /proc/self/status in bytes, or -1.
func procStatusBytes(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == key+":" && fields[2] == "kB" {
			if v, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				return v * 1024
			}
		}
	}
	return -1
}

// resetPeakRSS makes VmHWM the resident memory now ("5" to clear_refs) and
// returns that, or -1 when the kernel does not let us.
func resetPeakRSS() int64 {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return -1
	}
	_, err = f.WriteString("5")
	if f.Close() != nil || err != nil {
		return -1
	}
	return procStatusBytes("VmRSS")
}

// dnsSetupInit fills in the defaults (first, so that even a usage error's
// line records them), checks the options and makes the resolver. Every
// mistake in them is a usage error (exit 2), as in the other
// implementations' dns (the fetches of this peer exit 1 for --n=0).
func dnsSetupInit(s *dnsSetup, p *params, r *result) error {
	if p.n < 0 {
		p.n = dnsDefaultN
	}
	if p.n == 0 {
		return r.usageError("--n=0: dns needs at least one name")
	}
	if p.concurrency < 0 {
		p.concurrency = p.n
	}
	if p.concurrency == 0 {
		return r.usageError("--concurrency=0: dns needs at least one task")
	}
	if p.ares < 0 {
		p.ares = 0
	}
	if p.ares == 1 {
		return r.usageError("--ares=1: go resolves with its pure-Go resolver only")
	}
	if !p.hasURL {
		return r.usageError("dns needs --url=dns://HOST:PORT, a greenbench-dns server (the harness starts one)")
	}
	server, why := dnsURLAddr(p.url)
	if why != "" {
		return r.usageError("--url=%s: %s", p.url, why)
	}
	s.server, s.k = server, p.concurrency
	if s.k > p.n {
		s.k = p.n
	}
	// A lookup in flight holds a socket of its own (Go dials one per query).
	if err := checkConnections(s.k); err != nil {
		return r.fail("%v", err)
	}
	dialer := &net.Dialer{}
	s.resolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, server) // Whatever /etc/resolv.conf names.
		},
	}
	return nil
}

// dnsCheckInFlight checks the most lookups in flight at once: more than k
// fails the cell, fewer goes into the note.
func dnsCheckInFlight(s *dnsSetup, r *result, peak int64) error {
	if peak > s.k {
		return r.fail("%d lookups were in flight at once, more than the %d allowed", peak, s.k)
	}
	if peak < s.k {
		r.addNote("At most %d of the %d allowed lookups were in flight at once.", peak, s.k)
	}
	return nil
}

func dnsGo(p *params, r *result) error {
	var s dnsSetup
	if err := dnsSetupInit(&s, p, r); err != nil {
		return err
	}
	r.loopUsed, r.switchUsed = "netpoll", "goroutine"
	r.rssPerTaskMax = true
	r.addNote("resolver: Go pure-Go resolver via Dial to %s (net.Resolver PreferGo, LookupIP ip4, "+
		"rooted names: one A query each, a UDP socket per query); waits in Go's netpoller (epoll).", s.server)

	// Warm-up: the first names the same way, untimed; checked the same way.
	warm := p.n
	if warm > dnsWarm {
		warm = dnsWarm
	}
	wk := s.k
	if wk > warm {
		wk = warm
	}
	warmNames := dnsNames(warm)
	warmErrs := make([]error, warm)
	dnsRun(&s, warmNames, warmErrs, wk, &gauge{})
	if err := dnsTally(warmNames, warmErrs, r); err != nil {
		return err
	}

	names := dnsNames(p.n)
	errs := make([]error, p.n)
	var g gauge
	rss0 := resetPeakRSS()
	r.measureBegin()
	dnsRun(&s, names, errs, s.k, &g)
	r.measureEnd()
	peak := procStatusBytes("VmHWM")
	r.ops = p.n
	r.maxInFlight = g.peak // Before the tally, which may fail the cell.
	if rss0 >= 0 && peak >= 0 {
		grown := peak - rss0
		if grown < 0 {
			grown = 0
		}
		r.rssPerTaskBytes = grown / s.k
	} else {
		r.addNote("No rss_per_task_bytes: /proc/self/clear_refs or VmHWM could not be used.")
	}
	if err := dnsTally(names, errs, r); err != nil {
		return err
	}
	return dnsCheckInFlight(&s, r, g.peak)
}
