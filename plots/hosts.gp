# plots/hosts.gp: a merged campaign's ratios, one bar per host: each cell's
# median time per op over its thread baseline's on that host (below 1:
# faster than OS threads), never a pool of two machines' repetitions. Data
# hosts.dat: a header row ("cell" and the host ids), then one row per cell:
# its key, then its ratio on each host (NaN where the host has none).
# Drawn by `greenbench merge` into OUT/plots/ (nhosts: the hosts).
name = "hosts"
load "style.gp"
if (!exists("nhosts")) nhosts = 1
set title "Each cell against OS threads, one bar per host (below 1: faster)\n".subtitle
set ylabel "time per op / threads' (log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set boxwidth 0.9
# One bar per cell and host: the chart widens with them, labels upright.
stats "hosts.dat" skip 1 using 0 nooutput
nbars = STATS_records * nhosts
chart_w = 200 + 16 * nbars > 1100 ? 200 + 16 * nbars : 1100
if (term eq "png") {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size chart_w,860 font "sans,11" background rgb "white"
    } else {
        set terminal png size chart_w,860 background rgb "white"
    }
} else {
    set terminal svg size chart_w * 0.8,700 dynamic font "sans,12" background rgb "white"
}
set output name.".".term
set xtics rotate by 90 right font ",8"
set bmargin 24
set key outside right top
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#555555"
hostcolors = "#3b6fb6 #d9822b #2e9d5b #c23b3b #7b5ea7 #8c6d31 #d062a8 #2aa7b8"
hostcolor(i) = word(hostcolors, (i - 2) % words(hostcolors) + 1)
plot for [i=2:nhosts+1] "hosts.dat" using i:xtic(1) title columnheader(i) lc rgb hostcolor(i)
