# plots/overview.gp: every implementation relative to OS threads, workload by
# workload: its time per op divided by the threads' (threads = 1; below 1 is
# faster), log y. Each bar starts at 1, so its length is the factor; error
# bars: the distribution-free interval of the ratio (Moses; coverage in the
# title). A group has the series measured for that workload only.
# Data overview.dat: block 0, the x of the middle of each workload's group
# and its label; then one block per series (threads, green threads, peers),
# first line its title, then rows: x  ratio  low  high  workload
name = "overview"
load "style.gp"
stats "overview.dat" using 1 nooutput
xmax = STATS_max
stats "overview.dat" using 3 nooutput
ylo = STATS_min < 1 ? STATS_min : 1
stats "overview.dat" using 4 nooutput
yhi = STATS_max > 1 ? STATS_max : 1
set title "Time per operation relative to OS threads (threads = 1; bars below 1 are faster)\n".interval_note."\n".subtitle
set ylabel "time per op / threads' (log scale)"
eval log_axis("y", ylo, yhi)
set xrange [-0.8 : xmax + 0.8]
set xtics rotate by 20 right scale 0
set style fill solid 0.6 border lc rgb "#333333"
set key outside right top vertical
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#444444" front
plot "overview.dat" index 0 using 1:(NaN):xtic(2) notitle, \
     for [i=1:*] "overview.dat" index i using 1:(sqrt($2)):($1 - 0.42):($1 + 0.42):($2 < 1 ? $2 : 1):($2 < 1 ? 1 : $2) \
         with boxxyerror lt lt_of(i - 1) dt solid title columnheader(1), \
     for [i=1:*] "overview.dat" index i using 1:3:(0):($4 - $3) \
         with vectors heads size screen 0.005,90 lc rgb "#1a1a1a" dt solid lw 1.2 notitle
