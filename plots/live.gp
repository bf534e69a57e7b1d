# plots/live.gp: one yield of the yield workload against the bytes each
# green thread keeps live on its stack (--live-bytes), log-log, one line per
# series: private stacks move nothing, copy stacks (copy:1, both threads on
# one shared stack) save and restore the live part of a stack at every
# yield, so their line shows what a copy costs against its bytes (libaco's
# table: 20.8 ns a resume with nothing to copy, 92 ns at 488 B, 596 ns at
# 4072 B). Error bars: the interval of the median (coverage in the title).
# Data live.dat: one block per series, first line its title, then rows:
# live_bytes  median_ns  ci_low  ci_high
name = "live"
load "style.gp"
set title "yield: time per yield against the bytes live on each stack\n".interval_note."\n".subtitle
set xlabel "bytes live on each green thread's stack (log scale)"
set ylabel "ns per yield (log scale)"
stats "live.dat" using 3 nooutput
ylo = STATS_min
stats "live.dat" using 4 nooutput
yhi = STATS_max
eval x_axis(x_values)
eval log_axis("y", ylo, yhi)
set key outside right top
plot for [i=0:*] "live.dat" index i using (xdodge($1, i)):2:3:4 with yerrorlines lt lt_of(i) title columnheader(1)
