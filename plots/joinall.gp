# plots/joinall.gp: N HTTP fetches started at once and joined: requests per
# second against N, one line per implementation; dashed: the ideal N/D (every
# request in flight at once, each taking the server's delay D).
# Blocks come threads first, then green threads, then peers.
# Data joinall.dat: one block per implementation, first line its title, then
# rows: N  median_req_per_s  ci_low  ci_high. joinall_ideal.dat: blocks of N  N/D.
name = "joinall"
load "style.gp"
set title "joinall: requests per second against N\n".subtitle
set xlabel "N requests at once (log scale)"
set ylabel "requests per second (log scale)"
set logscale xy
set key outside right top
plot for [i=0:*] "joinall.dat" index i using 1:2:3:4 with yerrorlines lt lt_of(i) title columnheader(1), \
     for [i=0:*] "joinall_ideal.dat" index i using 1:2 with lines dt 2 lw 1.5 lc rgb "#888888" title columnheader(1)
