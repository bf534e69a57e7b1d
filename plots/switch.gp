# plots/switch.gp: the cost of one context switch per backend, with the OS
# thread handoff beside it. Bars: median ns per switch, log y; error bars: the
# distribution-free 95% CI of the median.
# Data switch.dat, one row per implementation:
#   label  median_ns  ci_low  ci_high  linetype (1 threads, 2 green, 10 peer)
name = "switch"
load "style.gp"
stats "switch.dat" using 2 nooutput
set title "One context switch (median, 95% CI)\n".subtitle
set ylabel "ns per switch (log scale)"
set logscale y
set yrange [STATS_min / 3 : STATS_max * 4]
set xrange [-0.6 : STATS_records - 0.4]
set xtics rotate by -25
set boxwidth 0.6
set key off
plot "switch.dat" using 0:2:5:xtic(1) with boxes lc variable, \
     "" using 0:2:3:4 with yerrorbars lc rgb "#222222" pt 0 lw 1.5, \
     "" using 0:($4 * 1.25):(num($2)) with labels font ",9"
