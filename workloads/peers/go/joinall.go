// workloads/peers/go/joinall.go: the joinall workload of the Go peer (ours
// is in workloads/joinall/): --n goroutines each GET --url once over a new
// connection, then one sync.WaitGroup waits for all. With --keepalive=1 each
// goroutine asks "Connection: keep-alive" on a client of its own
// (keptClient) and leaves the connection open; they are closed after the
// timed part, as ours. ns_per_op is wall / N, so that 1e9 / ns_per_op is
// requests per second.
package main

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// runAll returns the tasks' kept clients (--keepalive=1), for closeKept.
func runAll(s *fetchSetup, tasks []fetchTask, g *gauge) []*http.Client {
	var kept []*http.Client
	if s.keepalive {
		kept = make([]*http.Client, len(tasks))
	}
	var wg sync.WaitGroup
	wg.Add(len(tasks))
	for i := range tasks {
		go func(i int) {
			defer wg.Done()
			c := s.client
			if kept != nil {
				c = keptClient(s)
				kept[i] = c
			}
			g.enter()
			fetchOne(s, c, &tasks[i])
			g.leave()
		}(i)
	}
	wg.Wait()
	return kept
}

func joinallGo(p *params, r *result) error {
	var s fetchSetup
	if err := fetchSetupInit(&s, p, r, false); err != nil {
		return err
	}
	defer fetchSetupClose(&s)
	fetchNote(&s, r)

	// Warm-up: a few requests the same way, untimed; the connections it kept closed.
	warm := s.n
	if warm > fetchWarm {
		warm = fetchWarm
	}
	warmTasks := make([]fetchTask, warm)
	closeKept(runAll(&s, warmTasks, &gauge{}))
	if err := fetchTally(&s, warmTasks, r); err != nil {
		return err
	}

	tasks := make([]fetchTask, s.n)
	var g gauge
	atomic.StoreInt64(&s.conns, 0)
	r.measureBegin()
	kept := runAll(&s, tasks, &g)
	r.measureEnd()
	r.connections = atomic.LoadInt64(&s.conns)
	closeKept(kept)
	r.ops = s.n
	if err := fetchTally(&s, tasks, r); err != nil {
		return err
	}
	return checkInFlight(&s, r, g.peak)
}
