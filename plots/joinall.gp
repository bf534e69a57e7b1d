# plots/joinall.gp: N HTTP fetches started at once and joined: requests per
# second against N, one line per implementation; error bars: the interval
# of the median (coverage in the title); dotted: the ideal N/D (every
# request in flight at once, each taking the server's delay D), left out of
# the y range when it runs above the data.
# Blocks come threads first, then green threads, then peers.
# Data joinall.dat: one block per implementation, first line its title, then
# rows: N  median_req_per_s  ci_low  ci_high  server_bound (1: a red ring: the
# local server was late, results.h). joinall_ideal.dat: blocks of N  N/D.
name = "joinall"
load "style.gp"
set title "joinall: requests per second against N\n".interval_note."\n".subtitle
set xlabel "N requests at once (log scale)"
set ylabel "requests per second (log scale)"
stats "joinall.dat" using 3 nooutput
ylo = STATS_min
stats "joinall.dat" using 4 nooutput
yhi = STATS_max
stats "joinall.dat" using 5 nooutput
bound_title = STATS_max > 0 ? "server-bound" : ""
eval x_axis(x_values)
eval log_axis("y", ylo, yhi)
set key outside right top
plot for [i=0:*] "joinall_ideal.dat" index i using 1:2 with lines dt 3 lw 1.5 lc rgb "#8a8a8a" title columnheader(1), \
     for [i=0:*] "joinall.dat" index i using (xdodge($1, i)):2:3:4 with yerrorlines lt lt_of(i) title columnheader(1), \
     for [i=0:nseries-1] "joinall.dat" index i using (xdodge($1, i)):($5 > 0 ? $2 : NaN) with points pt 6 ps 3 lw 1.5 lc rgb "#c00000" notitle, \
     keyentry with points pt 6 ps 2 lw 1.5 lc rgb "#c00000" title bound_title
