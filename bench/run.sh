#!/bin/bash
# make bench: floodgate side by side with nginx 1.22 and HAProxy 2.6, in one
# run, as ratios; then the rejection path, memory per idle watch, the
# limiter's decision cost and floodgate-load next to wrk. Writes
# bench/results/{machine,proxy,rejection,watch-memory,load-vs-wrk}.json,
# limiter.json (bench/limiter/bench.sh) and summary.md with every ratio
# and the exact commands.
#
#   bench/run.sh [BUILD_DIR] [--quick] [--no-limiter] [--no-load] [--out DIR]
#
#   --quick       5 s wrk runs, one round, 2,000 and 5,000 watches, no limiter bench
#   --no-limiter  skip bench/limiter/bench.sh (about 4 minutes)
#   --no-load     skip bench/load/compare.sh (about 2 minutes)
#   --out DIR     results directory (bench/results)
#
# Loopback only; everything it starts is stopped on exit. As root it raises
# the open-file limit for the 20,000 watches (40,000 sockets per proxy).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$(cd "$1" && pwd)
    shift
fi
out=$src/bench/results
quick=0
limiter=1
loadcmp=1
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1; shift ;;
    --no-limiter) limiter=0; shift ;;
    --no-load) loadcmp=0; shift ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
bin=$build/bin
for b in floodgate floodgate-apisim floodgate-load; do
    [ -x "$bin/$b" ] || { echo "run.sh: $bin/$b not built (make build)" >&2; exit 1; }
done
for c in wrk nginx haproxy curl taskset; do
    command -v "$c" >/dev/null || { echo "run.sh: $c is needed (make deps-bench)" >&2; exit 1; }
done

if [ "$quick" = 1 ]; then
    dur=5s rounds=1 watch_ns=(2000 5000) limiter=0
else
    dur=10s rounds=3 watch_ns=(5000 20000)
fi
conns=50

run=$(mktemp -d "${TMPDIR:-/tmp}/floodgate-bench.XXXXXX")
pids=()
cleanup() {
    local rc=$? p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ]; then
        echo "run directory kept: $run" >&2
    else
        rm -rf "$run"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(date +%s)
say() { printf '\n[%4ss] %s\n' "$(($(date +%s) - t_start))" "$*"; }

# A watch holds 2 sockets in a proxy: raise the open-file limit as far as
# this machine allows (root without CAP_SYS_RESOURCE, as in a container,
# stays at the hard limit), and measure at most what fits.
ulimit -n 250000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
max_watches=$(((nofile - 1000) / 2 / 1000 * 1000))

mkdir -p "$out" "$run/logs"
"$src/deploy/pki.sh" --test "$run/pki" >/dev/null
pki=$run/pki
cat "$pki/floodgate.crt" "$pki/floodgate.key" >"$run/haproxy-server.pem"
cat "$pki/front-proxy-client.crt" "$pki/front-proxy-client.key" >"$run/haproxy-client.pem"

# --- helpers -----------------------------------------------------------------

# free_port: a loopback port nobody listens on now, below the kernel's
# ephemeral range (the watches use tens of thousands of those)
free_port() {
    local p lo
    lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range)
    while :; do
        p=$((10000 + RANDOM % (lo > 12000 ? lo - 11000 : 20000)))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s)
wait_port() {
    local i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "run.sh: nothing listens on 127.0.0.1:$1; see $run/logs" >&2
    return 1
}

# wait_ready FILE: the listen= address of a ready file (30 s)
wait_ready() {
    local i
    for i in $(seq 1 300); do
        if [ -s "$1" ] && grep -q '^listen=' "$1"; then
            sed -n 's/^listen=//p' "$1"
            return 0
        fi
        sleep 0.1
    done
    echo "run.sh: $1 never got ready; see $run/logs" >&2
    return 1
}

# fill TEMPLATE OUT KEY=VALUE...: a peer template with its @KEY@s replaced
fill() {
    local tpl=$1 dst=$2 kv
    shift 2
    cp "$tpl" "$dst"
    for kv in "$@"; do
        sed -i "s|@${kv%%=*}@|${kv#*=}|g" "$dst"
    done
    if grep -v '^ *#' "$dst" | grep -q '@[A-Z]*@'; then
        echo "run.sh: $dst: unfilled $(grep -v '^ *#' "$dst" | grep -o '@[A-Z]*@' | sort -u |
            tr '\n' ' ')" >&2
        return 1
    fi
}

# rss_kb PID...: resident memory of the processes, summed (KiB)
rss_kb() {
    local p s=0 v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        s=$((s + ${v:-0}))
    done
    echo "$s"
}

# cpu_ticks PID...: user + system CPU so far, summed, in clock ticks
cpu_ticks() {
    local p s=0 v
    for p in "$@"; do
        v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        s=$((s + v))
    done
    echo "$s"
}
tck=$(getconf CLK_TCK)

# children PID: PID and its children (nginx's workers)
with_children() {
    echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"
}

# median of the arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# wrk_run LABEL URL CPU_PIDS...: one wrk run on CPU 0; prints
# "req_per_s p50_ms p99_ms non2xx cpu_us_per_req" and keeps wrk's output
wrk_run() {
    local label=$1 url=$2 c0 c1 o n
    shift 2
    c0=$(cpu_ticks "$@")
    o=$run/logs/wrk-$label-$(date +%s%N).txt
    taskset -c 0 wrk -t1 -c"$conns" -d"$dur" --latency "$url" >"$o" 2>&1
    c1=$(cpu_ticks "$@")
    awk -v c=$((c1 - c0)) -v tck="$tck" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                         if (v ~ /s$/) return v * 1000; return v }
        /requests in/ { n = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $5 }
        END { printf "%.1f %.3f %.3f %d %.1f\n", rps, p50, p99, bad + 0,
              (n > 0 ? c / tck * 1e6 / n : 0) }' "$o"
}

machine_json() {
    printf '{"date": "%s", "nproc": %d, "cpu": "%s", "kernel": "%s", "loadavg_at_start": "%s", "git": "%s", "wrk": "%s", "nginx": "%s", "haproxy": "%s", "openssl": "%s"}\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(uname -r)" \
        "$load_start" "$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)" \
        "$(wrk -v 2>&1 | head -1 | awk '{ print $2 }')" \
        "$(nginx -v 2>&1 | sed 's|.*nginx/||')" "$(haproxy -v | awk 'NR == 1 { print $3 }')" \
        "$(openssl version | awk '{ print $2 }')"
}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
machine_json >"$out/machine.json"
echo "floodgate bench: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load average $load_start"

# --- upstreams -------------------------------------------------------------------

# floodgate-apisim with its capacity model out of the way: it answers as
# fast as it can (and serves the watches of the memory test).
start_sim() { # start_sim NAME EXTRA_ARGS...: prints HOST:PORT; pid in sim_pid
    local name=$1
    shift
    "$bin/floodgate-apisim" --listen 127.0.0.1:0 --ready-file "$run/$name.ready" \
        --cert "$pki/apiserver.crt" --key "$pki/apiserver.key" --client-ca "$pki/ca.crt" \
        --requestheader-client-ca "$pki/front-proxy-ca.crt" \
        --service-account-key-file "$pki/sa.pub" --service-account-key-file "$pki/sa-ec.pub" \
        --nodes 1 --pods-per-node 1 --churn-per-s 0 --slots 1024 --max-inflight 0 \
        --max-mutating-inflight 0 --cost-get 0s --cost-list 0s --cost-watch 0s \
        --cost-discovery 0s --cost-list-cache-per-object 0s --cost-list-etcd-per-object 0s \
        --log-level warn "$@" >"$run/logs/$name.log" 2>&1 &
    sim_pid=$!
    pids+=("$sim_pid")
}

say "upstream: floodgate-apisim (capacity model off) or a static nginx, whichever is faster"
start_sim apisim
sim=$(wait_ready "$run/apisim.ready")
up_port=$(free_port)
fill "$src/bench/peers/upstream-nginx.conf.in" "$run/upstream-nginx.conf" \
    "LISTEN=127.0.0.1:$up_port" "PKI=$pki" "RUN=$run"
taskset -c 0 nginx -c "$run/upstream-nginx.conf" -e "$run/logs/upstream-nginx.err" \
    >"$run/logs/upstream-nginx.log" 2>&1 &
pids+=($!)
wait_port "$up_port"
# anonymous GET /version is what RBAC lets an anonymous client have
read -r sim_rps _ <<<"$(wrk_run apisim "https://$sim/version" "$sim_pid")"
read -r static_rps _ <<<"$(wrk_run static "https://127.0.0.1:$up_port/api/v1/namespaces/default")"
echo "  wrk -t1 -c$conns -d$dur: floodgate-apisim GET /version $sim_rps req/s," \
    "static nginx GET /api/v1/namespaces/default $static_rps req/s"
if awk -v a="$static_rps" -v b="$sim_rps" 'BEGIN { exit !(a >= b) }'; then
    upstream=127.0.0.1:$up_port upstream_name="static nginx (bench/peers/upstream-nginx.conf.in)"
else
    upstream=$sim upstream_name="floodgate-apisim (capacity model off)"
fi
echo "  the proxies' upstream: $upstream_name"
path=/api/v1/namespaces/default
[ "$upstream" = "$sim" ] && path=/version

# --- the proxies -------------------------------------------------------------------

# Each proxy on CPU 1 with one worker; wrk and the upstream on CPU 0.
fill "$src/bench/peers/floodgate.json.in" "$run/floodgate.json" "LISTEN=127.0.0.1:0" \
    "UPSTREAM=$upstream" "PKI=$pki" "RATE=1000000/s" "BURST=1000000"
fill "$src/bench/peers/floodgate.json.in" "$run/floodgate-reject.json" \
    "LISTEN=127.0.0.1:0" "UPSTREAM=$upstream" "PKI=$pki" "RATE=0.001/s" "BURST=1"
ng_port=$(free_port)
fill "$src/bench/peers/nginx.conf.in" "$run/nginx.conf" "LISTEN=127.0.0.1:$ng_port" \
    "UPSTREAM=$upstream" "PKI=$pki" "RUN=$run"
ha_port=$(free_port)
fill "$src/bench/peers/haproxy.cfg.in" "$run/haproxy.cfg" "LISTEN=127.0.0.1:$ha_port" \
    "UPSTREAM=$upstream" "PKI=$pki" "RUN=$run"
# HAProxy refuses to start when it cannot get 2 descriptors per maxconn
if [ "$nofile" -lt 400100 ]; then
    sed -i "s/^\( *maxconn\) [0-9]*/\1 $(((nofile - 100) / 2))/" "$run/haproxy.cfg"
fi

start_floodgate() { # start_floodgate CONFIG NAME: pid in fg_pid, address in fg_addr
    taskset -c 1 "$bin/floodgate" run --config "$1" --ready-file "$run/$2.ready" \
        >"$run/logs/$2.log" 2>&1 &
    fg_pid=$!
    pids+=("$fg_pid")
    fg_addr=$(wait_ready "$run/$2.ready")
}
start_nginx() { # pid (master) in ng_pid
    taskset -c 1 nginx -c "$run/nginx.conf" -e "$run/logs/nginx.err" >"$run/logs/nginx.log" 2>&1 &
    ng_pid=$!
    pids+=("$ng_pid")
    wait_port "$ng_port"
}
start_haproxy() { # pid in ha_pid
    taskset -c 1 haproxy -db -f "$run/haproxy.cfg" >"$run/logs/haproxy.log" 2>&1 &
    ha_pid=$!
    pids+=("$ha_pid")
    wait_port "$ha_port"
}
stop() { # stop PID: SIGTERM, wait
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

say "proxy throughput: small GETs, TLS both sides, keep-alive, 1 worker each"
start_floodgate "$run/floodgate.json" floodgate
start_nginx
start_haproxy
declare -A urls=([floodgate]="https://$fg_addr$path" [nginx]="https://127.0.0.1:$ng_port$path"
    [haproxy]="https://127.0.0.1:$ha_port$path")
declare -A cpupids=([floodgate]="$fg_pid" [nginx]="$(with_children "$ng_pid")"
    [haproxy]="$ha_pid")
for p in floodgate nginx haproxy; do # each answers, and warms up
    curl -sf -k "${urls[$p]}" -o /dev/null || { echo "run.sh: $p: GET ${urls[$p]} failed" >&2; exit 1; }
    taskset -c 0 wrk -t1 -c"$conns" -d2s "${urls[$p]}" >/dev/null 2>&1
done
declare -A rps p50 p99 bad cpu
for r in $(seq 1 "$rounds"); do
    for p in floodgate nginx haproxy; do
        # shellcheck disable=SC2086
        read -r a b c d e <<<"$(wrk_run "$p" "${urls[$p]}" ${cpupids[$p]})"
        rps[$p]="${rps[$p]:-} $a" p50[$p]="${p50[$p]:-} $b" p99[$p]="${p99[$p]:-} $c"
        bad[$p]=$((${bad[$p]:-0} + d)) cpu[$p]="${cpu[$p]:-} $e"
        printf '  round %d %-9s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %5.1f us CPU/req  non-2xx %d\n' \
            "$r" "$p" "$a" "$b" "$c" "$e" "$d"
    done
done
declare -A m_rps m_p50 m_p99 m_cpu
for p in floodgate nginx haproxy; do
    # shellcheck disable=SC2086
    m_rps[$p]=$(median ${rps[$p]}) m_p50[$p]=$(median ${p50[$p]})
    # shellcheck disable=SC2086
    m_p99[$p]=$(median ${p99[$p]}) m_cpu[$p]=$(median ${cpu[$p]})
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
r_ng=$(ratio "${m_rps[floodgate]}" "${m_rps[nginx]}")
r_ha=$(ratio "${m_rps[floodgate]}" "${m_rps[haproxy]}")
# CPU per request is steadier than req/s on a shared machine, and tells
# what one core of each proxy can do when the proxy, not wrk or the
# upstream, is the bottleneck: capacity ratio = their CPU / floodgate's.
c_ng=$(ratio "${m_cpu[nginx]}" "${m_cpu[floodgate]}")
c_ha=$(ratio "${m_cpu[haproxy]}" "${m_cpu[floodgate]}")
echo "  median: floodgate ${m_rps[floodgate]}, nginx ${m_rps[nginx]}, haproxy ${m_rps[haproxy]}" \
    "req/s; floodgate / nginx $r_ng, floodgate / haproxy $r_ha; per core (CPU per request):" \
    "$c_ng and $c_ha"
stop "$ng_pid"
stop "$ha_pid"
stop "${cpupids[floodgate]}"

# --- the rejection path --------------------------------------------------------------

say "rejection path: every request answered 429 by floodgate"
start_floodgate "$run/floodgate-reject.json" floodgate-reject
fgr_pid=$fg_pid fgr_addr=$fg_addr
code=$(curl -s -k -o /dev/null -w '%{http_code}' "https://$fgr_addr$path")
curl -s -k -o /dev/null "https://$fgr_addr$path"
code=$(curl -s -k -o /dev/null -w '%{http_code}' "https://$fgr_addr$path")
[ "$code" = 429 ] || { echo "run.sh: the rejecting floodgate answered $code, not 429" >&2; exit 1; }
taskset -c 0 wrk -t1 -c"$conns" -d2s "https://$fgr_addr$path" >/dev/null 2>&1
rej=()
rej_cpu=()
rej_bad=0
for r in $(seq 1 "$rounds"); do
    read -r a b c d e <<<"$(wrk_run reject "https://$fgr_addr$path" "$fgr_pid")"
    rej+=("$a")
    rej_cpu+=("$e")
    rej_bad=$((rej_bad + d))
    printf '  round %d 429s     %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %5.1f us CPU/req  non-2xx %d\n' \
        "$r" "$a" "$b" "$c" "$e" "$d"
done
m_rej=$(median "${rej[@]}")
m_rej_cpu=$(median "${rej_cpu[@]}")
r_rej=$(ratio "$m_rej" "${m_rps[floodgate]}")
c_rej=$(ratio "${m_cpu[floodgate]}" "$m_rej_cpu")
echo "  429s $m_rej req/s vs admitted ${m_rps[floodgate]} req/s: $r_rej x; per core" \
    "(CPU per request ${m_cpu[floodgate]} vs $m_rej_cpu us): $c_rej x"
stop "$fgr_pid"

# --- memory per idle watch -----------------------------------------------------------

say "memory per idle watch: RSS growth / N through floodgate and nginx"
# The simulator serves the watches (the static upstream cannot).
start_sim watchsim --max-connections 120000 --watch-bookmark-interval 3600s
wsim=$(wait_ready "$run/watchsim.ready")
wsim_pid=$sim_pid
fill "$src/bench/peers/floodgate.json.in" "$run/floodgate-watch.json" \
    "LISTEN=127.0.0.1:0" "UPSTREAM=$wsim" "PKI=$pki" "RATE=1000000/s" "BURST=1000000"
ngw_port=$(free_port)
fill "$src/bench/peers/nginx.conf.in" "$run/nginx-watch.conf" "LISTEN=127.0.0.1:$ngw_port" \
    "UPSTREAM=$wsim" "PKI=$pki" "RUN=$run"

# watch_scenario N FILE: N idle watches, 10 per member, bound tokens (ES256)
watch_scenario() {
    local members=$(($1 / 10))
    cat >"$2" <<EOF
{
  "ca": "pki/ca.crt", "duration": "10m", "sa_key": "pki/sa-ec.key",
  "sa_issuer": "https://kubernetes.default.svc.cluster.local",
  "populations": [{
    "name": "watchers", "count": $members, "ramp": "$((members / 100 + 1))s",
    "identity": {"kind": "token", "namespace": "telemetry", "serviceaccount": "agent",
                 "node": "node-{i:05}", "pod": "agent-{i:05}"},
    "watches": [
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false},
      {"path": "/api/v1/namespaces/kube-public/configmaps?watch=true", "relist": false}
    ]
  }]
}
EOF
}

# sim_watches: watches open at the simulator now
sim_watches() {
    local n
    n=$(curl -s --max-time 2 --cacert "$pki/ca.crt" "https://$wsim/metrics" |
        awk '/^apisim_watches_open / { print $2 }')
    echo "${n:-0}"
}

# watch_memory PROXY N TARGET PIDS...: sets wm_result to
# "rss0_kb rss1_kb per_watch_bytes open" (no subshell: its generator is ours to stop)
watch_memory() {
    local proxy=$1 n=$2 target=$3 lp base i open=0 r0 r1
    wm_result=""
    shift 3
    watch_scenario "$n" "$run/watch-$n.json"
    base=$(sim_watches)
    sleep 1
    r0=$(rss_kb "$@")
    "$bin/floodgate-load" -q -t 1 --scenario "$run/watch-$n.json" --target "https://$target" \
        --json "$run/logs/watch-$proxy-$n.json" >"$run/logs/watch-$proxy-$n.txt" 2>&1 &
    lp=$!
    pids+=("$lp")
    for i in $(seq 1 600); do # up to 2 minutes to open them
        open=$(($(sim_watches) - base))
        [ "$open" -ge "$n" ] && break
        kill -0 "$lp" 2>/dev/null || break
        sleep 0.2
    done
    sleep 3 # idle: the initial events are long sent
    r1=$(rss_kb "$@")
    kill -INT "$lp" 2>/dev/null || true
    wait "$lp" 2>/dev/null || true
    for i in $(seq 1 100); do # until the simulator has let them go
        [ "$(($(sim_watches) - base))" -le 0 ] && break
        sleep 0.1
    done
    wm_result="$r0 $r1 $(((r1 - r0) * 1024 / n)) $open"
}

declare -A wm
measured_ns=()
for n in "${watch_ns[@]}"; do
    if [ "$n" -gt "$max_watches" ]; then
        echo "  $n watches need $((2 * n)) sockets in the proxy; the open-file limit here is" \
            "$nofile (not raisable): measuring $max_watches instead"
        n=$max_watches
    fi
    measured_ns+=("$n")
    start_floodgate "$run/floodgate-watch.json" "floodgate-watch-$n"
    watch_memory floodgate "$n" "$fg_addr" "$fg_pid"
    read -r a b c d <<<"$wm_result"
    wm[floodgate-$n]="$a $b $c $d"
    stop "$fg_pid"
    printf '  floodgate %6d watches (%d open): RSS %d -> %d KiB, %d bytes (%.1f KiB) per watch\n' \
        "$n" "$d" "$a" "$b" "$c" "$(awk -v c="$c" 'BEGIN { print c / 1024 }')"
    sed -i "s|listen 127.0.0.1:[0-9]* ssl;|listen 127.0.0.1:$ngw_port ssl;|" "$run/nginx-watch.conf"
    taskset -c 1 nginx -c "$run/nginx-watch.conf" -e "$run/logs/nginx-watch.err" \
        >"$run/logs/nginx-watch.log" 2>&1 &
    ngw_pid=$!
    pids+=("$ngw_pid")
    wait_port "$ngw_port"
    # shellcheck disable=SC2046
    watch_memory nginx "$n" "127.0.0.1:$ngw_port" $(with_children "$ngw_pid")
    read -r a b c d <<<"$wm_result"
    wm[nginx-$n]="$a $b $c $d"
    stop "$ngw_pid"
    printf '  nginx     %6d watches (%d open): RSS %d -> %d KiB, %d bytes (%.1f KiB) per watch\n' \
        "$n" "$d" "$a" "$b" "$c" "$(awk -v c="$c" 'BEGIN { print c / 1024 }')"
    ngw_port=$(free_port)
done
stop "$wsim_pid"

# --- the limiter and the load generator ---------------------------------------------

if [ "$limiter" = 1 ]; then
    say "limiter decision cost: bench/limiter/bench.sh"
    "$src/bench/limiter/bench.sh" "$build" "$out/limiter.json" | sed 's/^/  /'
fi
if [ "$loadcmp" = 1 ]; then
    say "floodgate-load next to wrk: bench/load/compare.sh"
    "$src/bench/load/compare.sh" --build "$build" -t 1 -c "$conns" -d "${dur%s}" -n "$rounds" |
        tee "$run/load-vs-wrk.txt" | sed 's/^/  /'
fi

# --- results --------------------------------------------------------------------------

jnum() { awk -v v="$1" 'BEGIN { if (v == "") printf "null"; else printf "%s", v + 0 }'; }
{
    printf '{\n  "what": "small GETs over TLS both sides with keep-alive, one worker each",\n'
    printf '  "load": "taskset -c 0 wrk -t1 -c%d -d%s --latency URL, %d rounds, medians",\n' \
        "$conns" "$dur" "$rounds"
    printf '  "clients": "anonymous (wrk presents no client certificate): every proxy keys its limiter by the client address or user the same way",\n'
    printf '  "upstream": "%s", "upstream_direct_rps": {"floodgate-apisim /version": %s, "static nginx": %s},\n' \
        "$upstream_name" "$(jnum "$sim_rps")" "$(jnum "$static_rps")"
    printf '  "path": "%s",\n  "proxies": {\n' "$path"
    for p in floodgate nginx haproxy; do
        printf '    "%s": {"rps": %s, "p50_ms": %s, "p99_ms": %s, "cpu_us_per_request": %s, "non_2xx": %d, "runs_rps": [%s]}%s\n' \
            "$p" "$(jnum "${m_rps[$p]}")" "$(jnum "${m_p50[$p]}")" "$(jnum "${m_p99[$p]}")" \
            "$(jnum "${m_cpu[$p]}")" "${bad[$p]}" "$(echo ${rps[$p]} | tr ' ' ',')" \
            "$([ "$p" = haproxy ] || echo ,)"
    done
    printf '  },\n  "ratios": {"floodgate_over_nginx": %s, "floodgate_over_haproxy": %s,\n' "$r_ng" "$r_ha"
    printf '    "per_core_floodgate_over_nginx": %s, "per_core_floodgate_over_haproxy": %s},\n' \
        "$c_ng" "$c_ha"
    printf '  "per_core": "requests one core of the proxy serves: the inverse of its CPU per request (getrusage of the proxy over the run / requests); the req/s ratio is the bottleneck of the whole box",\n'
    printf '  "loadavg_at_start": "%s",\n' "$load_start"
    printf '  "target": "floodgate >= 1.2x nginx req/s"\n}\n'
} >"$out/proxy.json"
{
    printf '{\n  "what": "floodgate answering 429 to every request (a class of 0.001/s burst 1) vs admitting them",\n'
    printf '  "load": "taskset -c 0 wrk -t1 -c%d -d%s --latency URL, %d rounds, medians",\n' \
        "$conns" "$dur" "$rounds"
    printf '  "rejected_rps": %s, "admitted_rps": %s, "cpu_us_per_rejection": %s,\n' \
        "$(jnum "$m_rej")" "$(jnum "${m_rps[floodgate]}")" "$(jnum "$m_rej_cpu")"
    printf '  "cpu_us_per_admitted": %s, "runs_rps": [%s],\n' "$(jnum "${m_cpu[floodgate]}")" \
        "$(IFS=,; echo "${rej[*]}")"
    printf '  "ratio_rejected_over_admitted": %s,\n' "$r_rej"
    printf '  "per_core_ratio_rejected_over_admitted": %s,\n' "$c_rej"
    printf '  "target": ">= 3x"\n}\n'
} >"$out/rejection.json"
{
    printf '{\n  "what": "RSS growth of the proxy process (nginx: master and worker) per idle watch",\n'
    printf '  "watch": "GET /api/v1/namespaces/kube-public/configmaps?watch=true, a bound service-account token (ES256), TLS both sides, upstream floodgate-apisim",\n'
    printf '  "load": "floodgate-load --scenario (10 watches per member, tokens per member); RSS from /proc/PID/status before and 3 s after the last watch opened",\n'
    printf '  "open_file_limit": %d,\n  "results": [' "$nofile"
    sep=""
    for n in "${measured_ns[@]}"; do
        for p in floodgate nginx; do
            [ -n "${wm[$p-$n]:-}" ] || continue
            read -r a b c d <<<"${wm[$p-$n]}"
            printf '%s\n    {"proxy": "%s", "watches": %d, "open": %d, "rss_before_kib": %d, "rss_after_kib": %d, "bytes_per_watch": %d}' \
                "$sep" "$p" "$n" "$d" "$a" "$b" "$c"
            sep=,
        done
    done
    printf '\n  ],\n  "target": "<= 24 KiB per idle watch and below nginx"\n}\n'
} >"$out/watch-memory.json"
if [ "$loadcmp" = 1 ]; then
    lr=$(awk '/median ratio/ { print $NF == "0.95)" ? $(NF - 3) : $NF }' "$run/load-vs-wrk.txt" |
        sed 's/[^0-9.]//g')
    {
        printf '{\n  "what": "floodgate-load --closed vs wrk, GET /version on floodgate-apisim, alternating pairs",\n'
        printf '  "command": "bench/load/compare.sh --build BUILD -t 1 -c %d -d %s -n %d",\n' \
            "$conns" "${dur%s}" "$rounds"
        printf '  "median_ratio_floodgate_load_over_wrk": %s,\n  "output": [\n' "$(jnum "$lr")"
        sed 's/\\/\\\\/g; s/"/\\"/g; s/^/    "/; s/$/",/' "$run/load-vs-wrk.txt" | sed '$ s/,$//'
        printf '  ]\n}\n'
    } >"$out/load-vs-wrk.json"
fi

# --- summary.md ------------------------------------------------------------------------

kib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
met() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=" ? v >= t : v <= t); print (ok ? "met" : "**not met**") }'; }
{
    echo "# floodgate benchmarks"
    echo
    echo "\`make bench\` (bench/run.sh), $(date -u +%Y-%m-%d), $(nproc) cores"
    echo "($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load average $load_start at the"
    echo "start (the machine may be shared with other work); medians of $rounds rounds."
    echo "nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'), wrk, OpenSSL $(openssl version | awk '{ print $2 }'); raw numbers in \`bench/results/*.json\`."
    echo
    echo "| what | result | target |"
    echo "|---|---|---|"
    echo "| proxy throughput, floodgate / nginx | **$r_ng** req/s (${m_rps[floodgate]} vs ${m_rps[nginx]}); per core **$c_ng** (${m_cpu[floodgate]} vs ${m_cpu[nginx]} us CPU per request) | >= 1.2: req/s $(met "$r_ng" 1.2 ">="), per core $(met "$c_ng" 1.2 ">=") |"
    echo "| proxy throughput, floodgate / HAProxy | **$r_ha** req/s (${m_rps[floodgate]} vs ${m_rps[haproxy]}); per core **$c_ha** (${m_cpu[floodgate]} vs ${m_cpu[haproxy]} us) | |"
    echo "| rejection path, 429s / admitted | **$r_rej** req/s ($m_rej vs ${m_rps[floodgate]}); per core **$c_rej** ($m_rej_cpu vs ${m_cpu[floodgate]} us CPU per request) | >= 3: req/s $(met "$r_rej" 3 ">="), per core $(met "$c_rej" 3 ">=") |"
    for n in "${measured_ns[@]}"; do
        [ -n "${wm[floodgate-$n]:-}" ] && [ -n "${wm[nginx-$n]:-}" ] || continue
        read -r _ _ fc _ <<<"${wm[floodgate-$n]}"
        read -r _ _ nc _ <<<"${wm[nginx-$n]}"
        below=$(awk -v a="$fc" -v b="$nc" 'BEGIN { print (a < b ? "below nginx" : "**not below nginx**") }')
        echo "| memory per idle watch, $n watches | **$(kib "$fc") KiB** floodgate, $(kib "$nc") KiB nginx | <= 24 KiB: $(met "$(kib "$fc")" 24 "<="), $below |"
    done
    if [ -s "$out/limiter.json" ]; then
        ns=$(awk -F'"ns_per_decision": ' '/"clients": 1000000, "threads": 1, "mix": "get"/ { split($2, a, ","); print a[1]; exit }' "$out/limiter.json")
        ins=$(awk -F'"limiter": ' '/"clients": 1000, "mix": "get"/ { split($2, a, "}"); print a[1]; exit }' "$out/limiter.json")
        echo "| limiter decision (decide + release), 1M clients, 1 thread | ${ns:-?} ns; ${ins:-?} instructions at 1k clients | sub-microsecond |"
    fi
    if [ "$loadcmp" = 1 ]; then
        echo "| floodgate-load --closed / wrk | ${lr:-?} | >= 0.95 |"
    fi
    echo
    echo "## Proxy throughput"
    echo
    echo "Small GETs (\`GET $path\`, a $(curl -s -k "https://127.0.0.1:$up_port$path" | wc -c)-byte"
    echo "JSON answer) over TLS on both sides with keep-alive, one worker each (floodgate"
    echo "\`listen.workers: 1\`, nginx \`worker_processes 1\`, HAProxy \`nbthread 1\`), each"
    echo "pinned to CPU 1 with \`taskset -c 1\`; wrk and the upstream on CPU 0. Upstream:"
    echo "$upstream_name; measured directly first: floodgate-apisim \`/version\` $sim_rps"
    echo "req/s, the static nginx $static_rps req/s (the faster one serves). wrk presents no client"
    echo "certificate, so all three see anonymous clients and key their limiter the same"
    echo "way (floodgate: a class keyed by user, 1,000,000/s burst 1,000,000; nginx:"
    echo "\`limit_req\` keyed by the address when there is no certificate, 1000000r/s"
    echo "burst 1000000; HAProxy: a stick table tracking the address, deny above 1,000,000/s);"
    echo "none of the budgets triggers. Configs: \`bench/peers/\`."
    echo
    echo "| proxy | req/s (median of $rounds) | p50 | p99 | CPU per request | runs |"
    echo "|---|---|---|---|---|---|"
    for p in floodgate nginx haproxy; do
        echo "| $p | ${m_rps[$p]} | ${m_p50[$p]} ms | ${m_p99[$p]} ms | ${m_cpu[$p]} us | $(echo "${rps[$p]}" | sed 's/^ //; s/ /, /g') |"
    done
    echo
    echo "    taskset -c 0 wrk -t1 -c$conns -d$dur --latency https://127.0.0.1:PORT$path"
    echo
    echo "req/s is what the whole box did: on two cores shared with other work, wrk and"
    echo "the upstream on CPU 0 can be the bottleneck as well as the proxy (a proxy"
    echo "whose core is not full at the end of a run was not the limit). CPU per request"
    echo "(the proxy's user + system time over the run, from /proc, ÷ requests) does not"
    echo "depend on who the bottleneck was: per core, floodgate serves **$c_ng x** what"
    echo "nginx does and **$c_ha x** what HAProxy does."
    echo
    echo "## Rejection path"
    echo
    echo "floodgate with one class of 0.001/s burst 1 (\`bench/peers/floodgate.json.in\`,"
    echo "RATE=0.001/s BURST=1): every request is answered 429 with kube's body and an"
    echo "integer Retry-After, on the same keep-alive connection, never reaching the upstream."
    echo "$m_rej 429s/s ($m_rej_cpu us CPU each) against ${m_rps[floodgate]} admitted"
    echo "requests/s (${m_cpu[floodgate]} us CPU each): **$r_rej x** in req/s, **$c_rej x** per"
    echo "core (the req/s ratio is capped by wrk itself when floodgate's core is not full),"
    echo "same wrk command."
    echo
    echo "## Memory per idle watch"
    echo
    echo "N watches (\`GET /api/v1/namespaces/kube-public/configmaps?watch=true\`, a bound"
    echo "service-account token, TLS both sides, floodgate-apisim upstream) opened with"
    echo "floodgate-load (10 per member) through a fresh proxy; the proxy's RSS"
    echo "(\`VmRSS\`; nginx: master and worker) before, and 3 s after the last one opened; ÷ N."
    echo
    if [ "$nofile" -lt 41000 ]; then
        echo "The open-file limit here is $nofile and cannot be raised (a container"
        echo "without CAP_SYS_RESOURCE): at most $max_watches watches (2 sockets each in the"
        echo "proxy) were measured where 20,000 were asked for."
        echo
    fi
    echo "| proxy | watches | open | RSS before | RSS after | per watch |"
    echo "|---|---|---|---|---|---|"
    for n in "${measured_ns[@]}"; do
        for p in floodgate nginx; do
            [ -n "${wm[$p-$n]:-}" ] || continue
            read -r a b c d <<<"${wm[$p-$n]}"
            echo "| $p | $n | $d | $a KiB | $b KiB | $(kib "$c") KiB |"
        done
    done
    if [ -s "$out/limiter.json" ]; then
        echo
        echo "## Limiter decision cost"
        echo
        echo "\`bench/limiter/bench.sh $build $out/limiter.json\` (lim_decide + lim_release,"
        echo "uniform random clients; callgrind for instructions): see \`bench/results/limiter.json\`."
        echo
        echo "| clients | threads | mix | ns per decision | decisions/s |"
        echo "|---|---|---|---|---|"
        grep -o '{"clients": [0-9]*, "threads": [0-9]*, "mix": "[a-z]*", "ns_per_decision": [0-9.]*, "decisions_per_s": [0-9]*' "$out/limiter.json" |
            awk -F'[:,]' '{ gsub(/[" ]/, ""); printf "| %s | %s | %s | %s | %s |\n", $2, $4, $6, $8, $10 }'
    fi
    if [ "$loadcmp" = 1 ]; then
        echo
        echo "## floodgate-load next to wrk"
        echo
        echo "    bench/load/compare.sh --build $build -t 1 -c $conns -d ${dur%s} -n $rounds"
        echo
        sed 's/^/    /' "$run/load-vs-wrk.txt"
    fi
    echo
    echo "## Exact commands"
    echo
    echo "    make bench        # = bench/run.sh $build"
    echo "    floodgate run --config floodgate.json        # bench/peers/floodgate.json.in, workers 1"
    echo "    nginx -c nginx.conf                           # bench/peers/nginx.conf.in"
    echo "    haproxy -db -f haproxy.cfg                    # bench/peers/haproxy.cfg.in"
    echo "    nginx -c upstream-nginx.conf                  # bench/peers/upstream-nginx.conf.in"
    echo "    floodgate-apisim --slots 1024 --max-inflight 0 --cost-get 0s ... (capacity model off)"
} >"$out/summary.md"
say "done: $out/summary.md"
sed -n '/^| what/,/^$/p' "$out/summary.md"
