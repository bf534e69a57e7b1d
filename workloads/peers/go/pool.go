// workloads/peers/go/pool.go: the pool workload of the Go peer (ours is in
// workloads/pool/): --concurrency worker goroutines take the --n requests
// from a channel, each GET over a new connection; never more than K in
// flight. With --keepalive=1 each worker keeps one connection for all its
// requests (a client of its own, keptClient), closed after the timed part,
// as ours. The workers' start and end are inside the timed part, as a
// pool's life is.
package main

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// runPool returns the workers' kept clients (--keepalive=1), for closeKept.
func runPool(s *fetchSetup, tasks []fetchTask, k int64, g *gauge) []*http.Client {
	var kept []*http.Client
	if s.keepalive {
		kept = make([]*http.Client, k)
	}
	next := make(chan int, len(tasks))
	for i := range tasks {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	wg.Add(int(k))
	for w := int64(0); w < k; w++ {
		go func(w int64) {
			defer wg.Done()
			c := s.client
			if kept != nil {
				c = keptClient(s)
				kept[w] = c
			}
			for i := range next {
				g.enter()
				fetchOne(s, c, &tasks[i])
				g.leave()
			}
		}(w)
	}
	wg.Wait()
	return kept
}

func poolGo(p *params, r *result) error {
	var s fetchSetup
	if err := fetchSetupInit(&s, p, r, true); err != nil {
		return err
	}
	defer fetchSetupClose(&s)
	fetchNote(&s, r)

	// Warm-up: a few requests through a small pool, untimed; the connections it kept closed.
	warm := s.n
	if warm > fetchWarm {
		warm = fetchWarm
	}
	warmTasks := make([]fetchTask, warm)
	wk := s.k
	if wk > warm {
		wk = warm
	}
	closeKept(runPool(&s, warmTasks, wk, &gauge{}))
	if err := fetchTally(&s, warmTasks, r); err != nil {
		return err
	}

	tasks := make([]fetchTask, s.n)
	var g gauge
	atomic.StoreInt64(&s.conns, 0)
	r.measureBegin()
	kept := runPool(&s, tasks, s.k, &g)
	r.measureEnd()
	r.connections = atomic.LoadInt64(&s.conns)
	closeKept(kept)
	r.ops = s.n
	if err := fetchTally(&s, tasks, r); err != nil {
		return err
	}
	return checkInFlight(&s, r, g.peak)
}
