#!/usr/bin/env bash
# floodgate's cost on small GETs: wrk against floodgate-apisim directly, then
# through floodgate, in one run. TLS on both sides, keep-alive, a
# service-account token (verified by floodgate once, then cached; verified
# by the simulator on every request), a GET of one object. The simulator's
# capacity model is switched off (no cost, no queue) so that it answers as
# fast as it can: the ratio is floodgate's overhead, not the model's.
#
#   bench/proxy/wrk-compare.sh [BUILD_DIR]
#
# Environment: DURATION (10s), CONNS (50), THREADS (wrk threads, 1),
# WORKERS (floodgate workers, 1), ACCEPT (reuseport | handoff), ROUNDS (1:
# direct then proxied; more alternate them), CLOSE (1: a new TLS connection
# per request, where the accept mode matters), AUTH (token | anonymous:
# anonymous GETs /version, as RBAC lets it), URL_PATH
# (/api/v1/namespaces/default, or /version when anonymous).
set -euo pipefail

build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
dur=${DURATION:-10s}
conns=${CONNS:-50}
threads=${THREADS:-1}
workers=${WORKERS:-1}
accept=${ACCEPT:-reuseport}
rounds=${ROUNDS:-1}
auth=${AUTH:-token}
if [ "$auth" = anonymous ]; then
    path=${URL_PATH:-/version}
else
    path=${URL_PATH:-/api/v1/namespaces/default}
fi
issuer=https://kubernetes.default.svc

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

wait_ready() { # wait_ready FILE: prints HOST:PORT
    for _ in $(seq 1 300); do
        if [ -s "$1" ]; then sed -n 's/^listen=//p' "$1"; return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for $1" >&2
    return 1
}

"$src/deploy/pki.sh" --test "$tmp/pki" >/dev/null
pki=$tmp/pki

cpu_ticks() { # cpu_ticks PID: user+system clock ticks so far
    awk '{print $14 + $15}' "/proc/$1/stat"
}

"$build/bin/floodgate-apisim" --listen 127.0.0.1:0 --ready-file "$tmp/sim.ready" \
    --cert "$pki/apiserver.crt" --key "$pki/apiserver.key" --client-ca "$pki/ca.crt" \
    --requestheader-client-ca "$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --service-account-key-file "$pki/sa.pub" --service-account-issuer "$issuer" \
    --nodes 1 --pods-per-node 1 --churn-per-s 0 --slots 1024 --max-inflight 0 \
    --cost-get 0s --cost-discovery 0s --log-level warn >"$tmp/sim.log" 2>&1 &
pids+=($!)
sim_pid=$!
sim=$(wait_ready "$tmp/sim.ready")

cat >"$tmp/floodgate.json" <<EOF
{
  "listen": {"address": "127.0.0.1:0", "cert": "$pki/floodgate.crt", "key": "$pki/floodgate.key",
             "client_ca": "$pki/ca.crt", "workers": $workers},
  "upstream": {"servers": ["$sim"], "ca": "$pki/ca.crt", "server_name": "localhost",
               "client_cert": "$pki/front-proxy-client.crt",
               "client_key": "$pki/front-proxy-client.key", "pool_size": 1024},
  "auth": {"issuers": ["$issuer"], "keys": ["$pki/sa.pub"]},
  "admin": {"address": ""},
  "log": {"level": "warn"},
  "limits": {
    "classes": [{"name": "bench", "distinguisher": "user", "rate": "1000000/s",
                 "burst": 1000000}],
    "rules": [{"class": "bench"}]
  }
}
EOF
"$build/bin/floodgate" run --config "$tmp/floodgate.json" --ready-file "$tmp/fg.ready" \
    --accept "$accept" >"$tmp/floodgate.log" 2>&1 &
pids+=($!)
fg_pid=$!
fg=$(wait_ready "$tmp/fg.ready")

# A bound service-account token, RS256 with the simulator's key.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
hdr=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
claims=$(printf '{"iss":"%s","sub":"system:serviceaccount:default:bench","aud":["%s"],"exp":%d,"iat":%d,"nbf":%d,"kubernetes.io":{"namespace":"default","serviceaccount":{"name":"bench","uid":"b"}}}' \
    "$issuer" "$issuer" $((now + 3600)) "$now" "$now" | b64url)
sig=$(printf '%s.%s' "$hdr" "$claims" | openssl dgst -sha256 -sign "$pki/sa.key" -binary | b64url)
if [ "$auth" = anonymous ]; then
    : >"$tmp/auth.lua"
else
    echo "wrk.headers[\"Authorization\"] = \"Bearer $hdr.$claims.$sig\"" >"$tmp/auth.lua"
fi
if [ -n "${CLOSE:-}" ]; then
    echo 'wrk.headers["Connection"] = "close"' >>"$tmp/auth.lua"
fi

check() { # check HOST:PORT: one request must succeed
    local h="Authorization: Bearer $hdr.$claims.$sig"

    [ "$auth" = anonymous ] && h="X-Anonymous: 1"
    curl -sf --cacert "$pki/ca.crt" -H "$h" "https://$1$path" -o /dev/null ||
        { echo "GET https://$1$path failed" >&2; exit 1; }
}
check "$sim"
check "$fg"

run() { # run LABEL HOST:PORT: prints "requests/s requests"
    local out
    out=$(wrk -t"$threads" -c"$conns" -d"$dur" -s "$tmp/auth.lua" "https://$2$path")
    echo "$out" | sed "s/^/  [$1] /" >&2
    echo "$out" | awk '/requests in/ {n = $1} /^Requests\/sec:/ {r = $2} END {print r, n}'
}

hz=$(getconf CLK_TCK)
echo "wrk -t$threads -c$conns -d$dur GET $path ($auth); floodgate: $workers worker(s)," \
    "accept=$accept" >&2
direct_sum=0
proxy_sum=0
sim_ticks=0
fg_ticks=0
sim_reqs=0
fg_reqs=0
for _ in $(seq 1 "$rounds"); do
    t0=$(cpu_ticks "$sim_pid")
    read -r d n < <(run direct "$sim")
    sim_ticks=$((sim_ticks + $(cpu_ticks "$sim_pid") - t0))
    sim_reqs=$((sim_reqs + n))
    t0=$(cpu_ticks "$fg_pid")
    read -r p n < <(run floodgate "$fg")
    fg_ticks=$((fg_ticks + $(cpu_ticks "$fg_pid") - t0))
    fg_reqs=$((fg_reqs + n))
    direct_sum=$(echo "$direct_sum + $d" | bc -l)
    proxy_sum=$(echo "$proxy_sum + $p" | bc -l)
done
# CPU per request is the steadier number on a shared machine: throughput
# also depends on what else the cores run.
printf 'direct    %10.0f req/s  (apisim   %5.1f us CPU per request)\n' \
    "$(echo "$direct_sum / $rounds" | bc -l)" \
    "$(echo "$sim_ticks * 1000000 / $hz / $sim_reqs" | bc -l)"
printf 'floodgate %10.0f req/s  (floodgate %5.1f us CPU per request)\n' \
    "$(echo "$proxy_sum / $rounds" | bc -l)" \
    "$(echo "$fg_ticks * 1000000 / $hz / $fg_reqs" | bc -l)"
printf 'ratio     %10.2f\n' "$(echo "$proxy_sum / $direct_sum" | bc -l)"
if grep -qiE "error|warn" "$tmp/floodgate.log"; then
    echo "floodgate log:" >&2
    tail -5 "$tmp/floodgate.log" >&2
fi
