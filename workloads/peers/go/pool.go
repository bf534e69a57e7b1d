// workloads/peers/go/pool.go: the pool workload of the Go peer (ours is in
// workloads/pool/): --concurrency worker goroutines take the --n requests
// from a channel, each GET over a new connection; never more than K in
// flight. The workers' start and end are inside the timed part, as a pool's
// life is.
package main

import "sync"

func runPool(s *fetchSetup, tasks []fetchTask, k int64, g *gauge) {
	next := make(chan int, len(tasks))
	for i := range tasks {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	wg.Add(int(k))
	for w := int64(0); w < k; w++ {
		go func() {
			defer wg.Done()
			for i := range next {
				g.enter()
				fetchOne(s, &tasks[i])
				g.leave()
			}
		}()
	}
	wg.Wait()
}

func poolGo(p *params, r *result) error {
	var s fetchSetup
	if err := fetchSetupInit(&s, p, r, true); err != nil {
		return err
	}
	defer fetchSetupClose(&s)
	fetchNote(r)

	// Warm-up: a few requests through a small pool, untimed.
	warm := s.n
	if warm > fetchWarm {
		warm = fetchWarm
	}
	warmTasks := make([]fetchTask, warm)
	wk := s.k
	if wk > warm {
		wk = warm
	}
	runPool(&s, warmTasks, wk, &gauge{})
	if err := fetchTally(&s, warmTasks, r); err != nil {
		return err
	}

	tasks := make([]fetchTask, s.n)
	var g gauge
	r.measureBegin()
	runPool(&s, tasks, s.k, &g)
	r.measureEnd()
	r.ops = s.n
	if err := fetchTally(&s, tasks, r); err != nil {
		return err
	}
	return checkInFlight(&s, r, g.peak)
}
