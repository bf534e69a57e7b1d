# plots/pool.gp: N HTTP fetches through a pool of K: requests per second
# against K, one line per implementation; error bars: the interval of the
# median (coverage in the title); dotted: the ideal K/D (K in flight, each
# taking the server's delay D), left out of the y range when it runs above
# the data.
# Blocks come threads first, then green threads, then peers.
# Data pool.dat: one block per implementation, first line its title, then
# rows: K  median_req_per_s  ci_low  ci_high  server_bound (1: a red ring: the
# local server was late, results.h). pool_ideal.dat: blocks of K  K/D.
name = "pool"
load "style.gp"
set title "pool: requests per second against the pool size K\n".interval_note."\n".subtitle
set xlabel "K, the pool size (log scale)"
set ylabel "requests per second (log scale)"
stats "pool.dat" using 3 nooutput
ylo = STATS_min
stats "pool.dat" using 4 nooutput
yhi = STATS_max
stats "pool.dat" using 5 nooutput
bound_title = STATS_max > 0 ? "server-bound" : ""
eval x_axis(x_values)
eval log_axis("y", ylo, yhi)
set key outside right top
plot for [i=0:*] "pool_ideal.dat" index i using 1:2 with lines dt 3 lw 1.5 lc rgb "#8a8a8a" title columnheader(1), \
     for [i=0:*] "pool.dat" index i using (xdodge($1, i)):2:3:4 with yerrorlines lt lt_of(i) title columnheader(1), \
     for [i=0:nseries-1] "pool.dat" index i using (xdodge($1, i)):($5 > 0 ? $2 : NaN) with points pt 6 ps 3 lw 1.5 lc rgb "#c00000" notitle, \
     keyentry with points pt 6 ps 2 lw 1.5 lc rgb "#c00000" title bound_title
