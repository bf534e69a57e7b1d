// workloads/peers/go/joinall.go: the joinall workload of the Go peer (ours
// is in workloads/joinall/): --n goroutines each GET --url once over a new
// connection, then one sync.WaitGroup waits for all. ns_per_op is wall / N,
// so that 1e9 / ns_per_op is requests per second.
package main

import "sync"

func runAll(s *fetchSetup, tasks []fetchTask, g *gauge) {
	var wg sync.WaitGroup
	wg.Add(len(tasks))
	for i := range tasks {
		go func(t *fetchTask) {
			defer wg.Done()
			g.enter()
			fetchOne(s, t)
			g.leave()
		}(&tasks[i])
	}
	wg.Wait()
}

func joinallGo(p *params, r *result) error {
	var s fetchSetup
	if err := fetchSetupInit(&s, p, r, false); err != nil {
		return err
	}
	defer fetchSetupClose(&s)
	fetchNote(r)

	// Warm-up: a few requests the same way, untimed.
	warm := s.n
	if warm > fetchWarm {
		warm = fetchWarm
	}
	warmTasks := make([]fetchTask, warm)
	runAll(&s, warmTasks, &gauge{})
	if err := fetchTally(&s, warmTasks, r); err != nil {
		return err
	}

	tasks := make([]fetchTask, s.n)
	var g gauge
	r.measureBegin()
	runAll(&s, tasks, &g)
	r.measureEnd()
	r.ops = s.n
	if err := fetchTally(&s, tasks, r); err != nil {
		return err
	}
	return checkInFlight(&s, r, g.peak)
}
