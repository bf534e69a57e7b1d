# plots/style.gp: the shared look of every greenbench chart. Each chart script
# sets `name`, loads this file and plots; run it where its data files are:
#   gnuplot spawn.gp                   draws spawn.svg
#   gnuplot -e "term='png'" spawn.gp   draws spawn.png
if (!exists("term")) term = "svg"
if (!exists("name")) name = "chart"
if (!exists("subtitle")) subtitle = ""
# series_lt: the line style of each series of a chart, in order (the harness
# writes it into each chart's script); lt_of(i) for iteration index i from 0.
if (!exists("series_lt")) series_lt = ""
lt_of(i) = (i < words(series_lt)) ? int(word(series_lt, i + 1)) : i + 1
if (term eq "png") {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1100,650 font "sans,11" background rgb "white"
    } else {
        set terminal png size 1100,650 background rgb "white"
    }
    set output name.".png"
} else {
    set terminal svg size 880,520 dynamic font "sans,12" background rgb "white"
    set output name.".svg"
}
set encoding utf8
set termoption noenhanced
set border 3 lc rgb "#444444"
set tics nomirror
set grid ytics lc rgb "#dddddd" lw 1
set key noenhanced box lc rgb "#cccccc" opaque
set style fill solid 0.85 border lc rgb "#333333"
set errorbars small
set format x "%g"
set format y "%g"
# Line and bar styles. 1: OS threads (the baseline, dark); 2-9: green threads
# (Dark2 and one more), one colour per backend pair, the same in every chart
# of a run; 10-12: peers. Bar charts pick 1, 2 or 10 per row.
set linetype 1 lc rgb "#333333" lw 2.5 pt 5 ps 1.0 dt 1
set linetype 2 lc rgb "#1b9e77" lw 2 pt 7 ps 0.9
set linetype 3 lc rgb "#d95f02" lw 2 pt 9 ps 1.0
set linetype 4 lc rgb "#7570b3" lw 2 pt 11 ps 1.0
set linetype 5 lc rgb "#e7298a" lw 2 pt 13 ps 1.0
set linetype 6 lc rgb "#66a61e" lw 2 pt 15 ps 1.0
set linetype 7 lc rgb "#e6ab02" lw 2 pt 4 ps 0.9
set linetype 8 lc rgb "#a6761d" lw 2 pt 6 ps 0.9
set linetype 9 lc rgb "#1f78b4" lw 2 pt 8 ps 0.9
set linetype 10 lc rgb "#6a3d9a" lw 2 pt 10 ps 1.0
set linetype 11 lc rgb "#b15928" lw 2 pt 12 ps 1.0
set linetype 12 lc rgb "#fb9a99" lw 2 pt 14 ps 1.0
set linetype cycle 12
# Number labels on bars: 3 significant digits, no exponent below 1e7.
num(x) = x >= 100 ? sprintf("%.0f", x) : sprintf("%.3g", x)
