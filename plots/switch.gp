# plots/switch.gp: the cost of one context switch per backend, with the OS
# thread handoff and the peers beside it. Bars: median ns per switch, log y,
# each series in its colour of the run; error bars: the distribution-free
# interval of the median (coverage in the title; summary.csv's ci_level).
# Data switch.dat, one row per series, threads first, then green threads,
# then peers: label  median_ns  ci_low  ci_high
name = "switch"
load "style.gp"
stats "switch.dat" using 3 nooutput
ylo = STATS_min
n = STATS_records
stats "switch.dat" using 4 nooutput
yhi = STATS_max
set title "One context switch: median ns per switch\n".interval_note."\n".subtitle
set ylabel "ns per switch (log scale)"
# Room above the highest error bar for its label.
eval log_axis("y", ylo, yhi * 1.6)
set xrange [-0.6 : n - 0.4]
set xtics rotate by -25 scale 0
set boxwidth 0.6
set style fill solid 0.6 border lc rgb "#333333"
set key off
plot "switch.dat" using 0:2:(lt_of(int($0))):xtic(1) with boxes lc variable dt solid, \
     "" using 0:3:(0):($4 - $3) with vectors heads size screen 0.008,90 lc rgb "#1a1a1a" dt solid lw 1.5, \
     "" using 0:($4 * 1.2):(num($2)) with labels font ",9"
