# plots/spawn.gp: spawn N trivial tasks and join them: ns per task against N,
# log-log, one line per implementation; error bars: the distribution-free
# interval of the median (its coverage depends on the repetitions: the
# title says it, summary.csv has it as ci_level).
# Blocks come threads first, then green threads, then peers; each drawn a
# little beside its x (xdodge, style.gp) so that error bars at one N stay apart.
# Data spawn.dat: one block per implementation (blocks separated by two blank
# lines), first line its title, then rows: N  median_ns  ci_low  ci_high
name = "spawn"
load "style.gp"
set title "Spawn + join: cost per task against N\n".interval_note."\n".subtitle
set xlabel "N tasks (log scale)"
set ylabel "ns per task (log scale)"
stats "spawn.dat" using 3 nooutput
ylo = STATS_min
stats "spawn.dat" using 4 nooutput
yhi = STATS_max
eval x_axis(x_values)
eval log_axis("y", ylo, yhi)
set key outside right top
plot for [i=0:*] "spawn.dat" index i using (xdodge($1, i)):2:3:4 with yerrorlines lt lt_of(i) title columnheader(1)
