# plots/efficiency.gp: raw throughput beside throughput per CPU-second, with
# the cores each implementation kept busy (its CPU time / wall time), for one
# network workload (workload_label).
# Data efficiency.dat, one row per implementation:
#   label  req_per_s  req_per_cpu_s  cores  linetype (1 threads, 2 green, 10 peer)
name = "efficiency"
if (!exists("workload_label")) workload_label = ""
load "style.gp"
stats "efficiency.dat" using 2 nooutput
n = STATS_records
max_raw = STATS_max
stats "efficiency.dat" using 3 nooutput
max_cpu = STATS_max
set multiplot layout 1,2 title "Throughput and throughput per CPU-second: ".workload_label."\n".subtitle
set xrange [-0.6 : n - 0.4]
set xtics rotate by -30
set boxwidth 0.6
set key off
set title "raw: requests per second (labels: CPU cores used)"
set yrange [0 : max_raw * 1.15]
plot "efficiency.dat" using 0:2:5:xtic(1) with boxes lc variable, \
     "" using 0:2:(sprintf("%.2f", $4)) with labels offset 0,0.7 font ",9"
set title "requests per CPU-second"
set yrange [0 : max_cpu * 1.15]
plot "efficiency.dat" using 0:3:5:xtic(1) with boxes lc variable, \
     "" using 0:3:(num($3)) with labels offset 0,0.7 font ",9"
unset multiplot
