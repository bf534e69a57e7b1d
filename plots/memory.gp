# plots/memory.gp: resident memory per live task with N tasks alive and
# blocked at once (spawn-alive), log-log, one line per implementation.
# Blocks come threads first, then green threads, then peers.
# Data memory.dat: one block per implementation, first line its title, then
# rows: N  median_bytes_per_task  ci_low  ci_high
name = "memory"
load "style.gp"
set title "Memory per live task against N (spawn-alive)\n".subtitle
set xlabel "N tasks alive at once (log scale)"
set ylabel "resident bytes per task (log scale)"
set logscale xy
set key outside right top
plot for [i=0:*] "memory.dat" index i using 1:2:3:4 with yerrorlines lt lt_of(i) title columnheader(1)
