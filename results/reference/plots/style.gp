# plots/style.gp: the shared look of every greenbench chart. Each chart script
# sets `name`, loads this file and plots; run it where its data files are:
#   gnuplot spawn.gp                   draws spawn.svg
#   gnuplot -e "term='png'" spawn.gp   draws spawn.png
if (!exists("term")) term = "svg"
if (!exists("name")) name = "chart"
if (!exists("subtitle")) subtitle = ""
# What the error bars are (the harness writes it with the coverage of this
# run's intervals, which depends on the number of repetitions).
if (!exists("interval_note")) interval_note = "error bars: interval of the median"
# series_lt: the line style of each series of a chart, in order (the harness
# writes it into each chart's script); lt_of(i) for iteration index i from 0.
if (!exists("series_lt")) series_lt = ""
lt_of(i) = (i < words(series_lt)) ? int(word(series_lt, i + 1)) : i + 1
nseries = words(series_lt)
# A legend taller than the chart wraps into columns that squeeze the plot
# (two flag axes, keep-alive and TLS, quadruple the series): the chart grows
# with the number of series instead.
png_h = 150 + 24 * nseries > 650 ? 150 + 24 * nseries : 650
svg_h = 150 + 22 * nseries > 520 ? 150 + 22 * nseries : 520
if (term eq "png") {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1100,png_h font "sans,11" background rgb "white"
    } else {
        set terminal png size 1100,png_h background rgb "white"
    }
    set output name.".png"
} else {
    set terminal svg size 880,svg_h dynamic font "sans,12" background rgb "white"
    set output name.".svg"
}
# gnuplot's SVG points come out larger than its PNG ones next to the text.
ps_scale = term eq "png" ? 1.0 : 0.7
set encoding utf8
set termoption noenhanced
set border 3 lc rgb "#444444"
set tics nomirror
set grid ytics lc rgb "#e4e4e4" lw 1
set key noenhanced box lc rgb "#cccccc" opaque
set style fill solid 0.85 border lc rgb "#333333"
set errorbars small
set format x "%g"
set format y "%g"

# Line and bar styles: the harness gives every series of a run its own, the
# same in every chart of the run (series_lt), from three families:
#   1-4    OS threads, the baseline: black and greys, squares and diamonds,
#          thin lines, drawn first
#   11-22  green threads: six hues, a dark and a light shade each (the two
#          loops of one switch backend share a hue when the run has two
#          loops), solid lines, filled points
#   23-34  the same twelve colours dotted, open points: green series past
#          the twelfth, or a series drawn twice in one chart (two delays)
#   41-52  peers: dashed lines, large open points, drawn last so that they
#          stay visible over the others; 53-64 the same colours dash-dotted
#          (twelve: a run's peers with keep-alive and the preload are nine,
#          and with eight colours gevent and threads-preload looked alike)
# Bar charts fill each bar with its series' colour (lc variable).
set linetype 1 lc rgb "#000000" lw 1.5 pt 5 ps 0.9 * ps_scale dt 1
set linetype 2 lc rgb "#666666" lw 1.5 pt 4 ps 1.0 * ps_scale dt (8, 4)
set linetype 3 lc rgb "#999999" lw 1.5 pt 13 ps 1.0 * ps_scale dt 1
set linetype 4 lc rgb "#333333" lw 1.5 pt 12 ps 1.1 * ps_scale dt (2, 3)
array green_rgb[12] = ["#1f4e9c", "#6a9ee0", "#1a7f37", "#7cc46b", "#c4470b", "#f5a04a", \
                       "#a50f2b", "#ef6f7d", "#00838f", "#4fc3c9", "#806600", "#d9b825"]
array green_pt[12] = [7, 9, 13, 11, 5, 15, 9, 7, 11, 13, 15, 5]
array green_opt[12] = [6, 8, 12, 10, 4, 14, 8, 6, 10, 12, 14, 4]
do for [i = 1:12] {
    set linetype (10 + i) lc rgb green_rgb[i] lw 2 pt green_pt[i] ps 0.9 * ps_scale dt 1
    set linetype (22 + i) lc rgb green_rgb[i] lw 2 pt green_opt[i] ps 1.0 * ps_scale dt (2, 3)
}
array peer_rgb[12] = ["#6a3d9a", "#d6217f", "#8c510a", "#9e8fd6", "#e889c0", "#c08a4a", \
                      "#3f4f7f", "#8f8f00", "#17becf", "#b15928", "#1b9e77", "#4d4d9f"]
array peer_pt[12] = [14, 12, 10, 8, 6, 4, 12, 14, 10, 8, 6, 4]
do for [i = 1:12] {
    set linetype (40 + i) lc rgb peer_rgb[i] lw 2 pt peer_pt[i] ps 1.4 * ps_scale dt (10, 5)
    set linetype (52 + i) lc rgb peer_rgb[i] lw 2 pt peer_pt[i] ps 1.4 * ps_scale dt (10, 4, 2, 4)
}
set linetype cycle 64

# Numbers in labels: 3 significant digits, no exponent, thousands grouped
# with spaces: 1 810, 5.30, 0.0123, 172 000 000.
num_exp(x) = floor(log10(abs(x)) + 1e-9)
num_round(x) = floor(abs(x) / 10.0**(num_exp(x) - 2) + 0.5) * 10.0**(num_exp(x) - 2)
num_group(s) = strlen(s) <= 3 ? s : num_group(s[1:strlen(s) - 3])." ".s[strlen(s) - 2:]
num_abs(r) = r >= 100 ? num_group(sprintf("%.0f", r)) : sprintf(sprintf("%%.%df", 2 - num_exp(r)), r)
num(x) = x != x ? "" : x == 0 ? "0" : (x < 0 ? "-" : "").num_abs(num_round(x))

# Axes near the data. log_axis(a, lo, hi): the commands (for eval) that put
# axis a ("x" or "y") on a log scale over [lo:hi] widened by a few percent,
# with labelled tics at 1-2-5 steps (finer when the range is short, decades
# only when it is long), so that no empty decade is drawn and a range within
# one decade still has labels.
log_pad(lo, hi) = (hi > lo ? hi / lo : 4.0) ** 0.05
log_steps(lo, hi) = log10(hi / lo) < 0.4 ? "1 1.2 1.5 2 2.5 3 4 5 6 7 8 9" : \
                    log10(hi / lo) < 1.0 ? "1 1.5 2 3 4 5 6 7 8" : \
                    log10(hi / lo) < 1.5 ? "1 2 3 5" : \
                    log10(hi / lo) < 2.5 ? "1 2 5" : log10(hi / lo) < 3.5 ? "1 3" : "1"
# A tic's label: as short as it can be, no exponent (0.00001, 2.5, 20 000).
tic_strip(s) = s[strlen(s):] eq "0" ? tic_strip(s[1:strlen(s) - 1]) : \
               s[strlen(s):] eq "." ? s[1:strlen(s) - 1] : s
tic_label(v) = v >= 1000 ? num_group(sprintf("%.0f", v)) : tic_strip(sprintf("%.12f", v))
# The tic list "(...)" of [lo:hi]: i counts the steps from 10^e0 upwards.
tic_v(i, ms, e0) = word(ms, i % words(ms) + 1) * 10.0**(e0 + int(i / words(ms)))
tic_s(i, ms, e0, lo, hi) = tic_v(i, ms, e0) > hi ? "" : \
    (tic_v(i, ms, e0) >= lo ? sprintf(", \"%s\" %.10g", tic_label(tic_v(i, ms, e0)), tic_v(i, ms, e0)) : ""). \
    tic_s(i + 1, ms, e0, lo, hi)
tic_cut(s) = "(".s[3:].")"
tic_list(lo, hi) = tic_cut(tic_s(0, log_steps(lo, hi), floor(log10(lo)), lo, hi))
log_lo(lo, hi) = (hi > lo ? lo : lo / 2.0) / log_pad(lo, hi)
log_hi(lo, hi) = (hi > lo ? hi : hi * 2.0) * log_pad(lo, hi)
log_axis(a, lo, hi) = sprintf("set logscale %s; set %srange [%.10g : %.10g]; set %stics %s", a, a, \
    log_lo(lo, hi), log_hi(lo, hi), a, tic_list(log_lo(lo, hi), log_hi(lo, hi)))
# lin_axis(a, hi): the commands that put axis a on a linear scale from 0 to
# hi, tics at 1-2-5 steps (about five), labelled as tic_label writes them.
lin_unit(hi) = 10.0 ** floor(log10(hi / 5.0))
lin_step(hi) = hi / lin_unit(hi) > 25 ? 5 * lin_unit(hi) : hi / lin_unit(hi) > 10 ? 2 * lin_unit(hi) : lin_unit(hi)
lin_s(i, step, hi) = i * step > hi ? "" : \
    sprintf(", \"%s\" %.10g", tic_label(i * step), i * step).lin_s(i + 1, step, hi)
lin_axis(a, hi) = sprintf("set %srange [0 : %.10g]; set %stics %s", a, hi, a, tic_cut(lin_s(0, lin_step(hi), hi)))
# x_values (the harness writes it for a line chart): the x of its points,
# increasing. x_axis(v): the commands that put x on a log scale just beyond
# the first and the last of them, with a tic at each.
if (!exists("x_values")) x_values = ""
val_tics(v, i) = i > words(v) ? "" : \
    sprintf(", \"%s\" %s", tic_label(word(v, i) + 0.0), word(v, i)).val_tics(v, i + 1)
val_first(v) = word(v, 1) + 0.0
val_last(v) = word(v, words(v)) + 0.0
x_axis(v) = words(v) == 0 ? "set logscale x" : \
    sprintf("set logscale x; set xrange [%.10g : %.10g]; set xtics %s", \
            val_first(v) / x_pad, val_last(v) * x_pad, \
            tic_cut(val_tics(v, 1)))
# Series i of n is drawn a little beside its x, so that points and error
# bars at one x stay apart: neighbours dodge (a fraction of the x range's
# decades) apart, but all of them within 3% of x either side: spread by
# the number of series alone, pool's 26 drew K=300 from 220 to 400, and
# points above the ideal K/D line they never reached. dodge = 0 turns it off.
if (!exists("dodge")) dodge = 0.007
x_decades = 1.0
if (words(x_values) > 1) { x_decades = log10(val_last(x_values) / val_first(x_values)) }
if (x_decades < 0.5) { x_decades = 0.5 }
x_step = dodge * x_decades
x_most = log10(1.03)
if (nseries > 1 && x_step * (nseries - 1) / 2.0 > x_most) { x_step = 2 * x_most / (nseries - 1) }
x_spread = x_step * (nseries > 1 ? nseries - 1 : 0) / 2.0
x_pad = 10 ** (x_decades * 0.05 + x_spread)
xdodge(x, i) = x * 10 ** (x_step * (i - (nseries - 1) / 2.0))
