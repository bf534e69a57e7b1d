// workloads/peers/go/switch.go: the switch and yield workloads of the Go peer.
//
//	switch  the main goroutine and a partner ping-pong over two unbuffered
//	        channels, --n round trips; ns_per_op is one one-way handoff.
//	        With GOMAXPROCS=1 each handoff is a direct goroutine switch in
//	        the scheduler; with more, the partner may be woken on another P,
//	        so a handoff can cross OS threads.
//	yield   two goroutines call runtime.Gosched() --n times each (the closest
//	        analogue of gevent.sleep(0) and green_yield()); ops = 2N.
//
// The workloads of workloads/switch/ and workloads/yield/ (green.c, threads.c).
package main

import (
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	switchDefaultN      = 1000000
	switchWarmRoundTrip = 10000
	yieldDefaultN       = 100000
	yieldWarm           = 1000
)

func switchGo(p *params, r *result) error {
	if p.n < 0 {
		p.n = switchDefaultN
	}
	if p.n == 0 {
		return r.fail("--n=0: the switch workload needs at least one round trip")
	}
	n := p.n
	r.switchUsed = "goroutine-chan"
	ping, pong := make(chan int64), make(chan int64)

	// Checked pass: the partner answers v with v + 1, proving values flow both ways.
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	warm := n
	if warm > switchWarmRoundTrip {
		warm = switchWarmRoundTrip
	}
	var checked int64
	for i := int64(1); i <= warm; i++ {
		ping <- i
		if <-pong == i+1 {
			checked++
		}
	}
	close(ping)

	// Timed pass: nothing but the two channel operations per round trip.
	ping2, pong2 := make(chan struct{}), make(chan struct{})
	var partnerSeen int64
	go func() {
		for range ping2 {
			partnerSeen++
			pong2 <- struct{}{}
		}
		close(pong2)
	}()
	r.measureBegin()
	for i := int64(0); i < n; i++ {
		ping2 <- struct{}{}
		<-pong2
	}
	r.measureEnd()
	close(ping2)
	<-pong2 // The partner has ended: partnerSeen is final.

	r.ops = 2 * n
	r.tasksCompleted = partnerSeen
	r.errors = warm - checked + n - partnerSeen
	if runtime.GOMAXPROCS(0) == 1 {
		r.addNote("GOMAXPROCS=1: every handoff is a goroutine switch inside one OS thread.")
	} else {
		r.addNote("GOMAXPROCS=%d: the partner may be woken on another P, so a handoff can cross OS threads "+
			"(a futex wake-up); run with --cpus=1 for the pure goroutine switch.", runtime.GOMAXPROCS(0))
	}
	if checked != warm {
		return r.fail("%d of %d checked round trips returned a wrong value", warm-checked, warm)
	}
	if partnerSeen != n {
		return r.fail("partner took %d turns of %d", partnerSeen, n)
	}
	return nil
}

// yieldPair runs two goroutines that call runtime.Gosched() n times each and
// counts the yields after which the other goroutine had run.
func yieldPair(n int64) (switched int64) {
	var last int32
	var wg sync.WaitGroup
	var counts [2]int64
	wg.Add(2)
	for me := int32(0); me < 2; me++ {
		go func(me int32) {
			defer wg.Done()
			var s int64
			for i := int64(0); i < n; i++ {
				runtime.Gosched()
				if atomic.SwapInt32(&last, me) != me {
					s++
				}
			}
			counts[me] = s
		}(me)
	}
	wg.Wait()
	return counts[0] + counts[1]
}

func yieldGo(p *params, r *result) error {
	if p.n < 0 {
		p.n = yieldDefaultN
	}
	if p.n == 0 {
		return r.fail("--n=0: yield needs at least one yield per task")
	}
	r.switchUsed = "goroutine"
	warm := p.n
	if warm > yieldWarm {
		warm = yieldWarm
	}
	yieldPair(warm)
	r.measureBegin()
	switched := yieldPair(p.n)
	r.measureEnd()
	r.ops = 2 * p.n
	r.tasksCompleted = 2
	r.errors = 0
	r.addNote("runtime.Gosched() in two goroutines, GOMAXPROCS=%d: %d of %d yields (%.1f%%) let the other "+
		"goroutine run.", runtime.GOMAXPROCS(0), switched, 2*p.n, 100*float64(switched)/float64(2*p.n))
	if runtime.GOMAXPROCS(0) > 1 {
		r.addNote("With more than one P the two run in parallel and a yield need not switch; --cpus=1 is the comparable figure.")
	}
	return nil
}
