# plots/overview.gp: every implementation relative to OS threads, workload by
# workload: time per op divided by the threads' (threads = 1; below 1 is
# faster), log y; error bars: the 95% interval of the ratio (Moses).
# Data overview.dat: a header row (workload, then three columns per
# implementation: its name, low, high), then one row per workload:
#   workload  ratio  low  high  ratio  low  high ...   (NaN where missing)
name = "overview"
load "style.gp"
set title "Time per operation relative to OS threads (threads = 1, lower is faster)\n".subtitle
set ylabel "time per op / threads' (log scale)"
set logscale y
set style data histograms
set style histogram errorbars gap 1 lw 1
set boxwidth 0.9 relative
set xtics rotate by -20
set key outside right top vertical
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#444444" front
plot for [i=2:*:3] "overview.dat" using i:i+1:i+2:xtic(1) title columnheader(i) lt lt_of((i - 2) / 3)
