# plots/memory.gp: resident memory per live task with N tasks alive and
# blocked at once (spawn-alive), log-log, one line per implementation;
# error bars: the interval of the median (coverage in the title).
# Blocks come threads first, then green threads, then peers (open points,
# drawn last, so that one that lies on the threads' line stays visible).
# Data memory.dat: one block per implementation, first line its title, then
# rows: N  median_bytes_per_task  ci_low  ci_high
name = "memory"
load "style.gp"
set title "Memory per live task against N (spawn-alive)\n".interval_note."\n".subtitle
set xlabel "N tasks alive at once (log scale)"
set ylabel "resident bytes per task (log scale)"
stats "memory.dat" using 3 nooutput
ylo = STATS_min
stats "memory.dat" using 4 nooutput
yhi = STATS_max
eval x_axis(x_values)
eval log_axis("y", ylo, yhi)
set key outside right top
plot for [i=0:*] "memory.dat" index i using (xdodge($1, i)):2:3:4 with yerrorlines lt lt_of(i) title columnheader(1)
