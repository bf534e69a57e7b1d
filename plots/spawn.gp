# plots/spawn.gp: spawn N trivial tasks and join them: ns per task against N,
# log-log, one line per implementation, error bars = 95% CI of the median.
# Blocks come threads first, then green threads, then peers.
# Data spawn.dat: one block per implementation (blocks separated by two blank
# lines), first line its title, then rows: N  median_ns  ci_low  ci_high
name = "spawn"
load "style.gp"
set title "Spawn + join: cost per task against N\n".subtitle
set xlabel "N tasks (log scale)"
set ylabel "ns per task (log scale)"
set logscale xy
set key outside right top
plot for [i=0:*] "spawn.dat" index i using 1:2:3:4 with yerrorlines lt lt_of(i) title columnheader(1)
