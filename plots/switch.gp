# plots/switch.gp: the cost of one context switch per backend, with the OS
# thread handoff and the peers beside it. Bars: median ns per switch, log y,
# each series in its colour of the run; error bars: the distribution-free
# interval of the median (coverage in the title; summary.csv's ci_level).
# A green backend that measured its floor (the least switch that saves the
# same registers, or the library switch it wraps, called directly, timed in
# the same process) shares its place with it: the backend's bar at the left,
# the floor's paler one at the right, the floor's name in the tic label,
# both medians above the bars and above them the backend's multiple of its
# floor (the median of the repetitions' ratios, summary.csv's of_floor).
# Data switch.dat, one row per series, threads first, then green threads,
# then peers: label  median_ns  ci_low  ci_high  floor_ns  floor_ci_low
# floor_ci_high  of_floor  floor_name (0 and "" without a floor).
name = "switch"
load "style.gp"
stats "switch.dat" using 3 nooutput
ylo = STATS_min
n = STATS_records
stats "switch.dat" using 4 nooutput
yhi = STATS_max
# The series with a floor, and the floors' range.
stats "switch.dat" using ($5 > 0 ? 1 : 0) nooutput
floors = int(STATS_sum)
if (floors) {
    stats "switch.dat" using ($5 > 0 ? $6 : 1/0) nooutput
    ylo = ylo < STATS_min ? ylo : STATS_min
    stats "switch.dat" using ($5 > 0 ? $7 : 1/0) nooutput
    yhi = yhi > STATS_max ? yhi : STATS_max
}
set title "One context switch: median ns per switch".(floors ? " (pale: each backend's floor)" : "")."\n".interval_note."\n".subtitle
set ylabel "ns per switch (log scale)"
# Room above the highest error bar for its labels (two lines over a backend
# with a floor).
eval log_axis("y", ylo, yhi * (floors ? 3 : 1.6))
set xrange [-0.6 : n - 0.4]
set xtics rotate by 25 right scale 0
set style fill solid 0.6 border lc rgb "#333333"
set key off
# A series with a floor splits its place: the backend left, its floor right.
has_floor(f) = f > 0
half = 0.19
bar_x(f) = has_floor(f) ? -half : 0
bar_w(f) = has_floor(f) ? 0.36 : 0.6
top(a, b) = a > b ? a : b
tic(s, f) = f eq "" ? s : s." (floor: ".f.")"
# Bars, then error bars, then labels: a lone bar's median above it (with the
# tic label); a pair's two medians side by side above its higher error bar,
# the backend's ending left of the middle, the floor's (grey) starting right
# of it, and the backend's multiple of its floor above them. A label that
# does not apply is an empty one, not an undefined point: gnuplot 5.4 dies
# (SIGSEGV) on a labels plot whose every point is undefined, as in a chart
# of one series.
plot "switch.dat" using ($0 + bar_x($5)):2:(bar_w($5)):(lt_of(int($0))) \
         with boxes lc variable dt solid, \
     "" using ($0 + half):(has_floor($5) ? $5 : 1/0):(0.36):(lt_of(int($0))) \
         with boxes lc variable dt solid fs solid 0.22 border lc rgb "#777777", \
     "" using ($0 + bar_x($5)):3:(0):($4 - $3) \
         with vectors heads size screen 0.008,90 lc rgb "#1a1a1a" dt solid lw 1.5, \
     "" using ($0 + half):(has_floor($5) ? $6 : 1/0):(0):($7 - $6) \
         with vectors heads size screen 0.008,90 lc rgb "#1a1a1a" dt solid lw 1.5, \
     "" using 0:($4 * 1.2):(has_floor($5) ? "" : num($2)):xtic(tic(strcol(1), strcol(9))) \
         with labels font ",9", \
     "" using ($0 - 0.03):(top($4, $7) * 1.3):(has_floor($5) ? num($2) : "") \
         with labels right font ",9", \
     "" using ($0 + 0.03):(top($4, $7) * 1.3):(has_floor($5) ? num($5) : "") \
         with labels left font ",9" tc rgb "#555555", \
     "" using 0:(top($4, $7) * 1.9):(has_floor($5) ? num($8)."× floor" : "") \
         with labels font ",9"
