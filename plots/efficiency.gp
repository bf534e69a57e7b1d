# plots/efficiency.gp: raw throughput beside what each op (a request, a
# lookup: the variable op) cost the
# client in CPU time, with the cores each implementation kept busy (its CPU
# time / wall time), for one network workload (workload_label); the CPU
# time still compares clients when the local server limits the throughput
# (a red ‡ over the bar: server-bound). Error bars: the interval of each
# median (coverage in the title; summary.csv's ci_level).
# Data efficiency.dat, one row per series, threads first, then green
# threads, then peers:
#   label  req_per_s  ci_low  ci_high  cpu_us_per_req  ci_low  ci_high  cores  server_bound
name = "efficiency"
if (!exists("workload_label")) workload_label = ""
if (!exists("op")) op = "request"
load "style.gp"
stats "efficiency.dat" using 4 nooutput
n = STATS_records
max_raw = STATS_max
stats "efficiency.dat" using 7 nooutput
max_cpu = STATS_max
set multiplot layout 1,2 title "Throughput and client CPU per ".op.": ".workload_label."\n".interval_note."\n".subtitle
set xrange [-0.6 : n - 0.4]
set xtics rotate by 30 right scale 0
set boxwidth 0.6
set style fill solid 0.6 border lc rgb "#333333"
set key off
set title "raw: ".op."s per second (labels: CPU cores used)"
eval lin_axis("y", max_raw * 1.1)
plot "efficiency.dat" using 0:2:(lt_of(int($0))):xtic(1) with boxes lc variable dt solid, \
     "" using 0:3:(0):($4 - $3) with vectors heads size screen 0.008,90 lc rgb "#1a1a1a" dt solid lw 1.2, \
     "" using 0:($4 + max_raw * 0.035):(num($8)) with labels font ",8", \
     "" using 0:($4 + max_raw * 0.075):($9 > 0 ? "‡" : "") with labels font ",12" tc rgb "#c00000"
set title "client CPU time per ".op.", µs (labels: the median)"
eval lin_axis("y", max_cpu * 1.1)
plot "efficiency.dat" using 0:5:(lt_of(int($0))):xtic(1) with boxes lc variable dt solid, \
     "" using 0:6:(0):($7 - $6) with vectors heads size screen 0.008,90 lc rgb "#1a1a1a" dt solid lw 1.2, \
     "" using 0:($7 + max_cpu * 0.035):(num($5)) with labels font ",8"
unset multiplot
