#!/usr/bin/env bash
# deploy/RUNBOOK.md promises its commands are copy-pasteable as written: run
# every ```sh block, in order, against a live floodgate in front of the
# simulator (the ```text blocks name files of a real cluster and are not run).
set -euo pipefail
src=${FG_SRC_DIR:?}
bin=${FG_BIN_DIR:?}
build=${FG_BUILD_DIR:?}
tmp=$(mktemp -d "$build/runbook.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "runbook: $*" >&2
    for log in "$tmp"/*.log; do
        [ -e "$log" ] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
    done
    exit 1
}
ready() {
    for _ in $(seq 100); do
        if [ -s "$1" ] && grep -q "^$2=" "$1"; then
            sed -n "s/^$2=//p" "$1"
            return
        fi
        sleep 0.1
    done
    fail "no $2 in $1"
}

pki=$tmp/pki
"$src/deploy/pki.sh" --test "$pki" >/dev/null
"$bin/floodgate-apisim" --listen 127.0.0.1:0 --ready-file "$tmp/sim.ready" \
    --cert "$pki/apiserver.crt" --key "$pki/apiserver.key" --client-ca "$pki/ca.crt" \
    --requestheader-client-ca "$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client --nodes 5 --pods-per-node 2 \
    >"$tmp/sim.log" 2>&1 &
pids+=($!)
sim=$(ready "$tmp/sim.ready" listen)
cp "$src/conf/examples/sidecar.json" "$tmp/floodgate.json"
FLOODGATE_PKI=$pki FLOODGATE_UPSTREAM=$sim FLOODGATE_LISTEN=127.0.0.1:0 FLOODGATE_ADMIN=127.0.0.1:0 \
    "$bin/floodgate" run --config "$tmp/floodgate.json" --workers 1 --ready-file "$tmp/fg.ready" \
    >"$tmp/fg.log" 2>&1 &
pids+=($!)
fg=$(ready "$tmp/fg.ready" listen)
admin=$(ready "$tmp/fg.ready" admin)
"$src/deploy/pki.sh" --dir "$pki" client breakglass system:masters >/dev/null
"$src/deploy/pki.sh" --dir "$pki" kubeconfig --server "https://$fg" --user breakglass \
    --out "$tmp/breakglass.kubeconfig" >/dev/null

# Extract the sh blocks, numbered, with the heading they sit under.
awk -v dir="$tmp" '
    /^## / { heading = substr($0, 4) }
    /^```sh$/ { n++; file = sprintf("%s/block-%02d.sh", dir, n); print "# " heading > file; inblock = 1; next }
    /^```/ && inblock { inblock = 0; close(file); next }
    inblock { print > file }
' "$src/deploy/RUNBOOK.md"
blocks=$(ls "$tmp"/block-*.sh 2>/dev/null | wc -l)
[ "$blocks" -ge 10 ] || fail "only $blocks sh blocks found in deploy/RUNBOOK.md"

for block in "$tmp"/block-*.sh; do
    echo "== $(head -1 "$block")" >&2
    if ! env FLOODGATE_ADMIN="$admin" FLOODGATE_CONFIG="$tmp/floodgate.json" \
        FLOODGATE_PKI="$pki" FLOODGATE_UPSTREAM="$sim" \
        KUBECONFIG="$tmp/breakglass.kubeconfig" PATH="$bin:$PATH" \
        bash -euo pipefail "$block" >"$tmp/out" 2>&1; then
        fail "$(head -1 "$block" | cut -c3-): block failed:
$(tail -n +2 "$block")
--- output:
$(cat "$tmp/out")"
    fi
done
echo "runbook: $blocks blocks ran"
