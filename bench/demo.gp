# demo.png, drawn by bench/demo.sh: the simulator's in-flight requests and
# the critical clients' p99, second by second, direct and through floodgate.
#   gnuplot -e "dir='RUN_DIR'; out='demo.png'; calm=10; storm=40; poll=15" bench/demo.gp
# The data files are floodgate-demo report's (--plot-dir): t = 0 is the
# start of the storm (the fleet's rollout); t < 0 is the calm run (critical
# clients only); from t = poll the nodes poll their pods.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,860 font "sans,10"
} else {
    set terminal png size 1200,860
}
set output out
set multiplot layout 2,1 title "bench/scenarios/storm.json, the same offered load twice: direct, then through floodgate (conf/examples/sidecar.json)"
set grid
set key top left opaque
set xlabel "seconds since the fleet started rolling out"
set xrange [-calm:storm]
set logscale y
set style line 1 lc rgb "#d62728" lw 2
set style line 2 lc rgb "#1f77b4" lw 2
set object 1 rect from first -calm, graph 0 to first 0, graph 1 fc rgb "#eeeeee" fs solid 0.6 behind
set label 1 "calm" at first -calm/2.0, graph 0.92 center
set label 2 "watches roll out" at first poll/2.0, graph 0.92 center
set label 3 "nodes poll their pods" at first (poll + storm)/2.0, graph 0.92 center
set arrow 1 from first poll, graph 0 to first poll, graph 1 nohead dt 2 lc rgb "#888888"

set title "simulator in-flight requests (queued + running, sampled every 0.5 s)"
set ylabel "requests in flight"
set yrange [0.8:2000]
plot dir."/plot-direct-sim.dat" using 1:($2 >= 1 ? $2 : 1) with steps ls 1 title "direct", \
     dir."/plot-floodgate-sim.dat" using 1:($2 >= 1 ? $2 : 1) with steps ls 2 title "through floodgate"

set title "critical clients (the controllers and an operator): p99 latency, second by second"
set ylabel "p99 (ms)"
set yrange [1:100000]
plot dir."/plot-direct-p99.dat" using 1:2 with linespoints ls 1 pt 7 ps 0.5 title "direct", \
     dir."/plot-floodgate-p99.dat" using 1:2 with linespoints ls 2 pt 7 ps 0.5 title "through floodgate"
unset multiplot
