// workloads/peers/go/spawn.go: the spawn workloads of the Go peer
// (workloads/spawn/ holds ours).
//
//	spawn        --n trivial goroutines started with `go f()` and waited for
//	             with one sync.WaitGroup; ns_per_op = wall / N.
//	spawn-alive  all --n alive at once, each blocked receiving from one
//	             channel; rss_per_task_bytes is the growth of resident memory
//	             while all were alive, over N. Then the channel is closed and
//	             all are waited for.
package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	spawnDefaultN      = 10000
	spawnAliveDefaultN = 1000
	spawnWarm          = 1000
)

var spawnRan int64

func trivial(wg *sync.WaitGroup) {
	atomic.AddInt64(&spawnRan, 1)
	wg.Done()
}

func spawnJoin(n int64) {
	var wg sync.WaitGroup
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go trivial(&wg)
	}
	wg.Wait()
}

func spawnGo(p *params, r *result) error {
	if p.n < 0 {
		p.n = spawnDefaultN
	}
	if p.n == 0 {
		return r.fail("--n=0: spawn needs at least one task")
	}
	r.switchUsed = "goroutine"
	warm := p.n
	if warm > spawnWarm {
		warm = spawnWarm
	}
	spawnJoin(warm)
	atomic.StoreInt64(&spawnRan, 0)
	r.measureBegin()
	spawnJoin(p.n)
	r.measureEnd()
	r.ops = p.n
	r.tasksCompleted = atomic.LoadInt64(&spawnRan)
	r.errors = p.n - r.tasksCompleted
	if runtime.GOMAXPROCS(0) > 1 {
		r.addNote("GOMAXPROCS=%d: new goroutines start on other threads while main is still spawning.",
			runtime.GOMAXPROCS(0))
	}
	if r.tasksCompleted != p.n {
		return r.fail("%d of %d goroutines ran", r.tasksCompleted, p.n)
	}
	return nil
}

func spawnAliveGo(p *params, r *result) error {
	if p.n < 0 {
		p.n = spawnAliveDefaultN
	}
	if p.n == 0 {
		return r.fail("--n=0: spawn-alive needs at least one task")
	}
	n := p.n
	r.switchUsed = "goroutine"
	gate := make(chan struct{})
	var started, done sync.WaitGroup
	var reached int64
	started.Add(int(n))
	done.Add(int(n))
	wait := func() {
		atomic.AddInt64(&reached, 1)
		started.Done()
		<-gate
		done.Done()
	}
	// Settle the heap first, so that garbage of start-up is not counted.
	runtime.GC()
	rssBefore := rssBytes()
	var rssAlive int64 = -1
	r.measureBegin()
	for i := int64(0); i < n; i++ {
		go wait()
	}
	allStarted := make(chan struct{})
	go func() { started.Wait(); close(allStarted) }()
	select {
	case <-allStarted:
		rssAlive = rssBytes()
	case <-time.After(60 * time.Second):
	}
	close(gate)
	done.Wait()
	r.measureEnd()

	r.ops = n
	r.tasksCompleted = atomic.LoadInt64(&reached)
	r.errors = n - r.tasksCompleted
	if rssAlive < 0 {
		return r.fail("only %d of %d goroutines reached the gate within 60 s", r.tasksCompleted, n)
	}
	if rssBefore >= 0 {
		r.rssPerTaskBytes = 0
		if rssAlive > rssBefore {
			r.rssPerTaskBytes = (rssAlive - rssBefore) / n
		}
	}
	r.addNote("RSS counts each goroutine's stack (2 KiB at start, from Go's heap), its g and its channel " +
		"waiter (sudog), and whatever the Go heap grew by; Go does not return freed heap to the system at once.")
	return nil
}
