# plots/dns.gp: N names resolved at once (K >= N): lookups per second
# against N, one line per implementation and resolver; error bars: the
# interval of the median (coverage in the title); dotted: the ideal N/D
# (every lookup in flight at once, each taking the server's delay D), left
# out of the y range when it runs above the data.
# Blocks come threads first, then green threads, then peers.
# Data dns.dat: one block per implementation, first line its title, then
# rows: N  median_lookups_per_s  ci_low  ci_high  server_bound (1: a red ring: the
# local server was late, results.h). dns_ideal.dat: blocks of N  N/D.
name = "dns"
load "style.gp"
set title "dns: lookups per second against N, all at once\n".interval_note."\n".subtitle
set xlabel "N lookups at once (log scale)"
set ylabel "lookups per second (log scale)"
stats "dns.dat" using 3 nooutput
ylo = STATS_min
stats "dns.dat" using 4 nooutput
yhi = STATS_max
stats "dns.dat" using 5 nooutput
bound_title = STATS_max > 0 ? "server-bound" : ""
eval x_axis(x_values)
eval log_axis("y", ylo, yhi)
set key outside right top
plot for [i=0:*] "dns_ideal.dat" index i using 1:2 with lines dt 3 lw 1.5 lc rgb "#8a8a8a" title columnheader(1), \
     for [i=0:*] "dns.dat" index i using (xdodge($1, i)):2:3:4 with yerrorlines lt lt_of(i) title columnheader(1), \
     for [i=0:nseries-1] "dns.dat" index i using (xdodge($1, i)):($5 > 0 ? $2 : NaN) with points pt 6 ps 3 lw 1.5 lc rgb "#c00000" notitle, \
     keyentry with points pt 6 ps 2 lw 1.5 lc rgb "#c00000" title bound_title
