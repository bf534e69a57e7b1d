# plots/pool.gp: N HTTP fetches through a pool of K: requests per second
# against K, one line per implementation; dashed: the ideal K/D (K in flight,
# each taking the server's delay D).
# Blocks come threads first, then green threads, then peers.
# Data pool.dat: one block per implementation, first line its title, then
# rows: K  median_req_per_s  ci_low  ci_high. pool_ideal.dat: blocks of K  K/D.
name = "pool"
load "style.gp"
set title "pool: requests per second against the pool size K\n".subtitle
set xlabel "K, the pool size (log scale)"
set ylabel "requests per second (log scale)"
set logscale xy
set key outside right top
plot for [i=0:*] "pool.dat" index i using 1:2:3:4 with yerrorlines lt lt_of(i) title columnheader(1), \
     for [i=0:*] "pool_ideal.dat" index i using 1:2 with lines dt 2 lw 1.5 lc rgb "#888888" title columnheader(1)
