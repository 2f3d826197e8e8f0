#!/bin/bash
# make demo: the storm of the incident (a DaemonSet rolled out to every node,
# each node watching and polling at a cost that grows with the cluster)
# replayed twice at the same offered load on loopback: directly against
# floodgate-apisim, then through floodgate with conf/examples/sidecar.json.
# Ends with a side-by-side table, bench/results/demo.json and demo.png.
#
#   bench/demo.sh [BUILD_DIR] [options]
#
#   --storm D       length of each storm run (default 40s)
#   --calm D        length of each calm run, critical clients only (10s)
#   --fleet N       nodes in the fleet (default: bench/scenarios/storm.json's)
#   --ramp D        the fleet's rollout ramp (default: the scenario's)
#   --poll-start D  when the nodes start polling (default: the scenario's)
#   --slots N       the simulated control plane's storage slots (16)
#   --out DIR       where demo.json and demo.png go (bench/results)
#   --check         exit 1 unless direct saturates and floodgate protects
#   --waive C       with --check: report check C (demo.json's name), do not fail on it
#   --no-plot       skip gnuplot
#   --keep          keep the run directory (logs, PKI, raw data) and print its path
#   --only M        run only M (direct or floodgate), keep its files, no table
#
# Loopback only; every process it starts is killed on exit; bounded in time.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$(cd "$1" && pwd)
    shift
fi
storm=40s
calm=10s
fleet=""
ramp=""
poll_start=""
sim_slots=16
out=$src/bench/results
check=0
plot=1
keep=0
only=""
waive=()
while [ $# -gt 0 ]; do
    case $1 in
    --storm) storm=$2; shift 2 ;;
    --calm) calm=$2; shift 2 ;;
    --fleet) fleet=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    --poll-start) poll_start=$2; shift 2 ;;
    --slots) sim_slots=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --check) check=1; shift ;;
    --no-plot) plot=0; shift ;;
    --keep) keep=1; shift ;;
    --only) only=$2; shift 2 ;;
    --waive) waive+=(--waive "$2"); shift 2 ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

bin=$build/bin
for b in floodgate floodgate-apisim floodgate-load floodgate-demo; do
    [ -x "$bin/$b" ] || { echo "demo.sh: $bin/$b not built (make build)" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "demo.sh: curl is needed" >&2; exit 1; }

# --- the simulated control plane ---------------------------------------------
# 400 nodes with 12 pods each (4,800 pods). The simulator's per-object costs
# are its defaults (kube-apiserver 1.28 as measured in the design notes: a
# LIST of 2,000 pods is ~0.2 CPU-seconds); only its size is chosen here:
# 16 storage slots, the CPU of a production control plane such as
# sidecar.json's budgets are written for (400 read-only seats; a fleet class
# of 500 tokens/s, about 50 MB/s of LISTs). The storm is the etcd-read kind:
# each node LISTs its own pods without a resourceVersion, which etcd serves
# by reading every pod of the cluster: heavy in storage time, light on the
# wire, so that a 2-core box can drive what a 16-core apiserver would serve.
sim_nodes=400
sim_ppn=12
sim_args=(--nodes "$sim_nodes" --pods-per-node "$sim_ppn" --slots "$sim_slots" --seed 1
    --churn-per-s 20 --log-level warn)

# sim_default KEY: the simulator's default for --KEY, from its --help
sim_default() {
    "$bin/floodgate-apisim" --help 2>&1 | awk -v k="--$1" '$1 == k { gsub(/.*\[|\].*/, ""); print }'
}
# to_us 60us|2ms|1s: microseconds
to_us() {
    case $1 in
    *us) echo "${1%us}" ;;
    *ms) awk -v v="${1%ms}" 'BEGIN { print v * 1000 }' ;;
    *s) awk -v v="${1%s}" 'BEGIN { print v * 1000000 }' ;;
    esac
}

run=$(mktemp -d "${TMPDIR:-/tmp}/floodgate-demo.XXXXXX")
pids=()
cleanup() {
    local rc=$? p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "$keep" = 1 ] || [ "$rc" -ne 0 ]; then
        echo "run directory kept: $run" >&2
    else
        rm -rf "$run"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(date +%s.%N)
# secs 40s|2m|1.5s: seconds, for the report
secs() {
    case $1 in
    *ms) awk -v v="${1%ms}" 'BEGIN { print v / 1000 }' ;;
    *s) echo "${1%s}" ;;
    *m) awk -v v="${1%m}" 'BEGIN { print v * 60 }' ;;
    *) echo "$1" ;;
    esac
}
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%5.1fs", b - a }'; }
say() { printf '\033[1m[%s] %s\033[0m\n' "$(elapsed)" "$*"; }
[ -t 1 ] || say() { printf '[%s] %s\n' "$(elapsed)" "$*"; }

# wait_ready FILE KEY PID: prints the address once FILE has KEY=
wait_ready() {
    local i
    for i in $(seq 1 300); do
        if [ -s "$1" ] && grep -q "^$2=" "$1"; then
            sed -n "s/^$2=//p" "$1"
            return 0
        fi
        kill -0 "$3" 2>/dev/null || { echo "demo.sh: process $3 exited; see $run" >&2; return 1; }
        sleep 0.1
    done
    echo "demo.sh: $1 never had $2=" >&2
    return 1
}

# scrape SIM_ADDR CSV: the simulator's gauges twice a second until killed.
scrape() {
    echo "epoch inflight_readonly inflight_mutating queue busy_slots watches_open rejected_inflight timeouts" >"$2"
    while :; do
        curl -s --max-time 1 --cacert "$run/pki/ca.crt" "https://$1/metrics" 2>/dev/null |
            awk -v now="$(date +%s.%N)" '
                /^apisim_inflight\{kind="readonly"\}/ { r = $2 }
                /^apisim_inflight\{kind="mutating"\}/ { m = $2 }
                /^apisim_queue_depth / { q = $2 }
                /^apisim_storage_busy_slots / { b = $2 }
                /^apisim_watches_open / { w = $2 }
                /^apisim_rejected_total\{reason="inflight"\}/ { ri = $2 }
                /^apisim_rejected_total\{reason="queue_timeout"\}/ { rt = $2 }
                END { if (r != "") printf "%s %d %d %d %d %d %d %d\n", now, r, m, q, b, w, ri, rt }' \
                >>"$2" || true
        sleep 0.5
    done
}

# wait_watches SIM_ADDR N: until the simulator holds N open watches (20 s).
wait_watches() {
    local i n
    for i in $(seq 1 200); do
        n=$(curl -s --max-time 1 --cacert "$run/pki/ca.crt" "https://$1/metrics" |
            awk '/^apisim_watches_open / { print $2 }')
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# cpu_ticks PID: user + system CPU of PID so far, in clock ticks
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# progress LABEL EVERY: floodgate-load's per-second lines (stdin), one in EVERY.
progress() {
    awk -v label="$1" -v every="$2" '
        /^ *[0-9]+s / { n = $1 + 0; if (n % every == 0) { printf "  %s|%s\n", label, $0; fflush() } }'
}

# kubectl_timed KUBECONFIG LABEL OUT LIMIT_S: the break-glass commands,
# timed, each given at most LIMIT_S seconds.
kubectl_timed() {
    local kc=$1 label=$2 outf=$3 limit=$4 cache t0 t1 rc lines
    cache=$(mktemp -d "$run/kcache.XXXXXX") # discovery included every time
    t0=$(date +%s%N)
    rc=0
    lines=$(KUBECONFIG=$kc timeout "$limit" kubectl --cache-dir "$cache" \
        --request-timeout="$((limit - 1))s" \
        get pods -n kube-system --no-headers 2>>"$run/kubectl.err" | wc -l) || rc=$?
    t1=$(date +%s%N)
    echo "$label get_pods $(((t1 - t0) / 1000000)) $rc $lines" >>"$outf"
    t0=$(date +%s%N)
    rc=0
    KUBECONFIG=$kc timeout "$limit" kubectl --cache-dir "$cache" --request-timeout="$((limit - 1))s" \
        get --raw /version >/dev/null 2>>"$run/kubectl.err" || rc=$?
    t1=$(date +%s%N)
    echo "$label version $(((t1 - t0) / 1000000)) $rc 1" >>"$outf"
}

say "floodgate demo: the incident's storm, direct and through floodgate"
"$src/deploy/pki.sh" --test "$run/pki" >/dev/null
overrides=()
if [ -n "$fleet" ]; then
    overrides+=(--count "fleet=$fleet" --count "fleet-poll=$fleet")
fi
if [ -n "$ramp" ]; then
    overrides+=(--ramp "fleet=$ramp" --ramp "fleet-poll=$ramp")
fi
[ -n "$poll_start" ] && overrides+=(--start "fleet-poll=$poll_start")
"$bin/floodgate-demo" split "$src/bench/scenarios/storm.json" "$run" "${overrides[@]}"
# when the nodes start polling: the start of the fleet's population that polls
poll_at=$(awk -F'"' '/"start"/ { v = $4 } END { print v == "" ? "0s" : v }' "$run/fleet.json")
for f in fleet critical informers; do
    [ -e "$run/$f.json" ] && "$bin/floodgate-load" --scenario "$run/$f.json" --check >/dev/null
done
poll_ms=$(awk -v b="$(to_us "$(sim_default cost-list)")" -v o="$(to_us "$(sim_default cost-list-etcd-per-object)")" \
    -v n=$((sim_nodes * sim_ppn)) 'BEGIN { printf "%.0f", (b + o * n) / 1000 }')
echo "  simulating a control plane with capacity $sim_slots storage slots (a ${sim_slots}-core" \
    "apiserver and etcd at kube-apiserver 1.28's measured costs): $sim_nodes nodes," \
    "$((sim_nodes * sim_ppn)) pods; one node's pod LIST from etcd holds a slot ${poll_ms} ms"
echo "  bench/scenarios/storm.json: $(grep -c '"name"' "$run/fleet.json") fleet population(s) and" \
    "the critical clients, each in its own floodgate-load; storm $storm after a calm $calm"

# Break-glass two thirds into the storm, while the polls pile up; the two
# commands share what is left of the storm (at least 3 s each).
kubectl_at=$(($(secs "$storm") * 2 / 3))
kubectl_limit=$((($(secs "$storm") - kubectl_at) / 2))
[ "$kubectl_limit" -ge 3 ] || kubectl_limit=3

# one_run MODE: calm then storm against a fresh simulator (and floodgate).
one_run() {
    local mode=$1 dir=$run/$1 sim_pid fg_pid="" scrape_pid addr target admin="" bg_pid crit_pid
    local inf_pid="" sim_cpu0 fg_cpu0
    local rc=0
    mkdir -p "$dir"
    "$bin/floodgate-apisim" --listen 127.0.0.1:0 --ready-file "$dir/sim.ready" \
        --cert "$run/pki/apiserver.crt" --key "$run/pki/apiserver.key" \
        --client-ca "$run/pki/ca.crt" --requestheader-client-ca "$run/pki/front-proxy-ca.crt" \
        --service-account-key-file "$run/pki/sa.pub" "${sim_args[@]}" >"$dir/sim.log" 2>&1 &
    sim_pid=$!
    pids+=("$sim_pid")
    addr=$(wait_ready "$dir/sim.ready" listen "$sim_pid")
    target=$addr
    if [ "$mode" = floodgate ]; then
        FLOODGATE_PKI=$run/pki FLOODGATE_LISTEN=127.0.0.1:0 FLOODGATE_UPSTREAM=$addr \
            FLOODGATE_ADMIN=127.0.0.1:0 \
            "$bin/floodgate" run --config "$src/conf/examples/sidecar.json" \
            --ready-file "$dir/fg.ready" >"$dir/floodgate.log" 2>&1 &
        fg_pid=$!
        pids+=("$fg_pid")
        target=$(wait_ready "$dir/fg.ready" listen "$fg_pid")
        admin=$(sed -n 's/^admin=//p' "$dir/fg.ready")
    fi
    "$src/deploy/pki.sh" --dir "$run/pki" --force kubeconfig --server "https://$target" \
        --user admin --out "$dir/admin.kubeconfig" >/dev/null
    {
        echo "mode=$mode"
        echo "slots=$sim_slots"
        echo "storm_s=$(secs "$storm")"
        echo "calm_s=$(secs "$calm")"
        [ "$mode" = floodgate ] && echo "config=$src/conf/examples/sidecar.json"
        [ -n "$admin" ] && echo "admin=$admin"
    } >"$dir/meta.txt"

    scrape "$addr" "$dir/sim.csv" &
    scrape_pid=$!
    pids+=("$scrape_pid")

    # The controllers' informers sync first and watch through everything.
    if [ -e "$run/informers.json" ]; then
        timeout 400 "$bin/floodgate-load" -q -t 1 --scenario "$run/informers.json" \
            --target "https://$target" -d "$(($(secs "$calm") + $(secs "$storm") + 60))s" \
            --json "$dir/load-informers.json" >"$dir/load-informers.txt" 2>&1 &
        inf_pid=$!
        pids+=("$inf_pid")
        wait_watches "$addr" "$(grep -c '"path"' "$run/informers.json")" ||
            { echo "demo.sh: the informers' watches did not open; see $dir" >&2; return 1; }
    fi

    say "$mode: calm for $calm (critical clients only)"
    echo "calm_t0=$(date +%s.%N)" >>"$dir/meta.txt"
    "$bin/floodgate-load" -q -t 1 --scenario "$run/critical.json" --target "https://$target" \
        -d "$calm" --json "$dir/load-calm.json" 2>"$dir/load-calm.txt" || rc=$?
    kubectl_timed "$dir/admin.kubeconfig" calm "$dir/kubectl.txt" 15

    say "$mode: storm for $storm (the fleet rolls out; system:masters runs kubectl at ${kubectl_at}s)"
    echo "storm_t0=$(date +%s.%N)" >>"$dir/meta.txt"
    sim_cpu0=$(cpu_ticks "$sim_pid")
    fg_cpu0=$([ -n "$fg_pid" ] && cpu_ticks "$fg_pid" || echo 0)
    # progress: the critical clients every second, the fleet every 5 s
    (timeout 300 "$bin/floodgate-load" -t 1 --scenario "$run/critical.json" \
        --target "https://$target" -d "$storm" --json "$dir/load-critical.json" 2>&1 >/dev/null |
        tee "$dir/load-critical.txt" | progress critical 1) &
    crit_pid=$!
    pids+=("$crit_pid")
    (sleep "$kubectl_at" && kubectl_timed "$dir/admin.kubeconfig" storm "$dir/kubectl.txt" \
        "$kubectl_limit") &
    bg_pid=$!
    pids+=("$bg_pid")
    # The fleet is 400 other machines: on this one box its generator yields
    # the CPU to the control plane (the simulator, floodgate) and to the
    # critical clients' generator, which measures.
    timeout 300 nice -n 10 "$bin/floodgate-load" -t 1 --scenario "$run/fleet.json" \
        --target "https://$target" \
        -d "$storm" --json "$dir/load-fleet.json" 2>&1 >/dev/null |
        tee "$dir/load-fleet.txt" | progress "fleet   " 5 || rc=$?
    wait "$crit_pid" || rc=$?
    wait "$bg_pid" || true
    if [ -n "$inf_pid" ]; then
        kill -INT "$inf_pid" 2>/dev/null || true
        wait "$inf_pid" || rc=$?
    fi
    kill "$scrape_pid" 2>/dev/null || true
    wait "$scrape_pid" 2>/dev/null || true
    {
        echo "clk_tck=$(getconf CLK_TCK)"
        echo "sim_cpu_ticks=$(($(cpu_ticks "$sim_pid") - sim_cpu0))"
        if [ -n "$fg_pid" ]; then
            echo "floodgate_cpu_ticks=$(($(cpu_ticks "$fg_pid") - fg_cpu0))"
            echo "floodgate_rss_peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$fg_pid/status")"
            echo "floodgate_rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$fg_pid/status")"
        fi
    } >>"$dir/meta.txt"
    if [ -n "$admin" ]; then
        curl -s --max-time 2 "http://$admin/metrics" >"$dir/floodgate.metrics" || true
    fi
    curl -s --max-time 2 --cacert "$run/pki/ca.crt" "https://$addr/metrics" >"$dir/sim.metrics" ||
        true
    [ -n "$fg_pid" ] && kill "$fg_pid" 2>/dev/null
    kill "$sim_pid" 2>/dev/null
    wait "$sim_pid" 2>/dev/null || true
    [ -n "$fg_pid" ] && { wait "$fg_pid" 2>/dev/null || true; }
    return "$rc"
}

if [ -n "$only" ]; then # a single run, for experiments: no table
    one_run "$only"
    exit 0
fi
one_run direct
one_run floodgate

mkdir -p "$out"
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "loadavg_at_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "git=$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "simulator=floodgate-apisim ${sim_args[*]}"
    echo "floodgate=floodgate run --config conf/examples/sidecar.json"
    echo "scenario=bench/scenarios/storm.json storm=$storm calm=$calm${fleet:+ fleet=$fleet}${ramp:+ ramp=$ramp}"
    echo "wall_s=$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
} >"$run/info.txt"
rc=0
report_args=(--json "$out/demo.json" --plot-dir "$run" --info "$run/info.txt")
[ "$check" = 1 ] && report_args+=(--check)
report_args+=("${waive[@]}")
"$bin/floodgate-demo" report "${report_args[@]}" "$run/direct" "$run/floodgate" || rc=$?
if [ "$plot" = 1 ]; then
    if command -v gnuplot >/dev/null; then
        gnuplot -e "dir='$run'; out='$out/demo.png'; calm=$(secs "$calm");" \
            -e "storm=$(secs "$storm"); poll=$(secs "$poll_at")" "$src/bench/demo.gp" &&
            echo "  plot: $out/demo.png"
    else
        echo "  plot: gnuplot is not installed (apt-get install gnuplot-nox)"
    fi
fi
say "done: $out/demo.json"
exit "$rc"
