#!/usr/bin/env bash
# floodgate-load next to wrk on one floodgate-apisim (GET /version, the same
# threads and connections), then the stall that open loop reports and closed
# loop hides: the simulator is stopped (SIGSTOP) for a moment mid-run.
# Loopback only, bounded in time, and everything it starts is stopped.
#
#   bench/load/compare.sh [--build DIR] [-t THREADS] [-c CONNECTIONS] [-d SECONDS]
#                         [-n PAIRS] [-r RATE] [--stall-at SECONDS] [--stall-for SECONDS]
#
# Defaults: build, 2 threads, 50 connections, 10 s runs, 5 alternating
# wrk / floodgate-load --closed pairs (the median ratio is the result), an
# open-loop rate of 2000/s, a 1 s stall 4 s into each stall run.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
threads=2 conns=50 secs=10 pairs=5 rate=2000 stall_at=4 stall_for=1

die() {
    echo "compare.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -c) conns=$2; shift 2 ;;
    -d) secs=$2; shift 2 ;;
    -n) pairs=$2; shift 2 ;;
    -r) rate=$2; shift 2 ;;
    --stall-at) stall_at=$2; shift 2 ;;
    --stall-for) stall_for=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
    esac
done
bin=$build/bin
[ -x "$bin/floodgate-load" ] && [ -x "$bin/floodgate-apisim" ] || die "build first: $bin"
command -v wrk >/dev/null || die "wrk is needed (apt-get install -y wrk)"

tmp=$(mktemp -d /tmp/fg-compare.XXXXXX)
sim=""
stopper=""
cleanup() {
    [ -n "$stopper" ] && kill "$stopper" 2>/dev/null || true
    if [ -n "$sim" ]; then
        kill -CONT "$sim" 2>/dev/null || true
        kill "$sim" 2>/dev/null || true
        wait "$sim" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

"$src/deploy/pki.sh" --test "$tmp/pki" >/dev/null
"$bin/floodgate-apisim" --listen 127.0.0.1:0 --ready-file "$tmp/ready" \
    --cert "$tmp/pki/apiserver.crt" --key "$tmp/pki/apiserver.key" --log-level warn \
    >"$tmp/apisim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do
    [ -s "$tmp/ready" ] && break
    sleep 0.1
done
addr=$(sed -n 's/^listen=//p' "$tmp/ready")
[ -n "$addr" ] || die "floodgate-apisim did not start: $(cat "$tmp/apisim.log")"
url="https://$addr/version"
load=("$bin/floodgate-load" -q --ca "$tmp/pki/ca.crt" -t "$threads" -c "$conns" -d "${secs}s")

echo "target: floodgate-apisim GET $url; $threads threads, $conns connections, ${secs}s runs"
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "throughput, closed loop (alternating pairs; CPU per request from getrusage):"
ratios=()
# cpu_us FILE REQUESTS: user+sys microseconds per request, from time -f "%U %S".
cpu_us() { awk -v n="$2" 'END {printf "%.1f", ($1 + $2) * 1e6 / n}' "$1"; }
for i in $(seq "$pairs"); do
    /usr/bin/time -f "%U %S" -o "$tmp/wrk.cpu" wrk -t"$threads" -c"$conns" -d"${secs}s" "$url" \
        >"$tmp/wrk.out"
    w=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.out")
    wn=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
    /usr/bin/time -f "%U %S" -o "$tmp/fl.cpu" "${load[@]}" --closed "$url" >"$tmp/fl.out"
    f=$(awk '/^  requests/ {print $6}' "$tmp/fl.out")
    fn=$(awk '/^  requests/ {print $2}' "$tmp/fl.out")
    r=$(awk -v f="$f" -v w="$w" 'BEGIN {printf "%.3f", f / w}')
    ratios+=("$r")
    printf '  pair %d: wrk %8.1f req/s (%s us cpu/req)   floodgate-load --closed %8.1f req/s (%s us cpu/req)   ratio %s\n' \
        "$i" "$w" "$(cpu_us "$tmp/wrk.cpu" "$wn")" "$f" "$(cpu_us "$tmp/fl.cpu" "$fn")" "$r"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
echo "  median ratio floodgate-load / wrk: $median (target >= 0.95)"

# Stops the simulator for stall_for seconds, stall_at seconds from now.
stall() {
    (sleep "$stall_at"; kill -STOP "$sim"; sleep "$stall_for"; kill -CONT "$sim") &
    stopper=$!
}

echo
echo "a ${stall_for}s stall ${stall_at}s into a ${secs}s run:"
stall
"${load[@]}" -r "$rate" "$url" >"$tmp/open.txt"
wait "$stopper"
echo "  floodgate-load -r $rate (open loop):"
grep -E '^  (requests|latency|behind)' "$tmp/open.txt" | sed 's/^/  /'
stall
"${load[@]}" --closed "$url" >"$tmp/closed.txt"
wait "$stopper"
echo "  floodgate-load --closed:"
grep -E '^  (requests|latency)' "$tmp/closed.txt" | sed 's/^/  /'
stall
wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$url" >"$tmp/wrk.txt"
wait "$stopper"
stopper=""
echo "  wrk --latency:"
awk '/^  Latency Distribution/ {on = 1; next} on && /%/ {printf "      %s %s\n", $1, $2} /^Requests\/sec/ {print "      " $0}' "$tmp/wrk.txt"
