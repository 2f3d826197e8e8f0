#!/usr/bin/env bash
# deploy/pki.sh: makes what floodgate needs, reuses what exists, refuses to
# overwrite without --force, and floodgate starts with what it produced and
# serves a client certificate it made.
set -euo pipefail
src=${FG_SRC_DIR:?}
bin=${FG_BIN_DIR:?}
build=${FG_BUILD_DIR:?}
pki=$src/deploy/pki.sh
tmp=$(mktemp -d "$build/deploy-pki.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "deploy_pki: $*" >&2
    for log in "$tmp"/*.log; do
        [ -e "$log" ] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
    done
    exit 1
}
ready() { # ready FILE KEY: waits for KEY=VALUE in FILE, prints VALUE
    for _ in $(seq 100); do
        if [ -s "$1" ] && grep -q "^$2=" "$1"; then
            sed -n "s/^$2=//p" "$1"
            return
        fi
        sleep 0.1
    done
    fail "no $2 in $1"
}

# A kubeadm-like directory: the cluster CA exists, floodgate's pieces do not.
dir=$tmp/pki
"$pki" --test "$tmp/src" >/dev/null
mkdir -p "$dir"
cp "$tmp/src/ca.crt" "$tmp/src/ca.key" "$dir/"

"$pki" --dir "$dir" serving --names kubernetes,localhost --ips 127.0.0.1,::1 >"$tmp/out"
grep -q "created $dir/floodgate.crt" "$tmp/out" || fail "serving: $(cat "$tmp/out")"
openssl verify -CAfile "$dir/ca.crt" -purpose sslserver "$dir/floodgate.crt" >/dev/null ||
    fail "serving certificate does not verify for TLS servers"
openssl x509 -in "$dir/floodgate.crt" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' ||
    fail "serving certificate lacks 127.0.0.1"

"$pki" --dir "$dir" front-proxy >"$tmp/out"
openssl x509 -in "$dir/front-proxy-client.crt" -noout -subject | grep -q 'CN = front-proxy-client' ||
    fail "front-proxy client CN"
openssl verify -CAfile "$dir/front-proxy-ca.crt" -purpose sslclient "$dir/front-proxy-client.crt" \
    >/dev/null || fail "front-proxy client does not verify for TLS clients"

"$pki" --dir "$dir" client breakglass system:masters >/dev/null
openssl x509 -in "$dir/breakglass.crt" -noout -subject | grep -q 'O = system:masters' ||
    fail "client certificate groups"

# Idempotent: a second run reuses; a partial set or an existing file is
# never overwritten without --force.
sum=$(sha256sum "$dir/floodgate.crt")
"$pki" --dir "$dir" serving >"$tmp/out"
grep -q "reusing $dir/floodgate.crt" "$tmp/out" || fail "second run did not reuse"
[ "$(sha256sum "$dir/floodgate.crt")" = "$sum" ] || fail "second run changed floodgate.crt"
rm "$dir/floodgate.key"
if "$pki" --dir "$dir" serving >"$tmp/out" 2>&1; then fail "partial set accepted"; fi
grep -q "refusing to overwrite without --force" "$tmp/out" || fail "partial: $(cat "$tmp/out")"
"$pki" --dir "$dir" --force serving >/dev/null
[ "$(sha256sum "$dir/floodgate.crt")" != "$sum" ] || fail "--force did not renew"

# A kubeconfig written with a relative --dir names its files absolutely:
# kubectl would resolve them against the kubeconfig's own directory.
(cd "$tmp" && "$pki" --dir pki kubeconfig --server https://127.0.0.1:1 --user breakglass \
    --out "$tmp/rel.kubeconfig" >/dev/null)
grep -q "client-certificate: $dir/breakglass.crt\$" "$tmp/rel.kubeconfig" ||
    fail "relative --dir: $(grep client-certificate "$tmp/rel.kubeconfig")"

# floodgate runs with what pki.sh made, in front of the simulator, and a
# kubeconfig pki.sh wrote works through it.
cp "$tmp/src/apiserver.crt" "$tmp/src/apiserver.key" "$tmp/src/sa.pub" "$dir/"
"$bin/floodgate-apisim" --listen 127.0.0.1:0 --ready-file "$tmp/sim.ready" \
    --cert "$dir/apiserver.crt" --key "$dir/apiserver.key" --client-ca "$dir/ca.crt" \
    --requestheader-client-ca "$dir/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client --nodes 3 --pods-per-node 2 \
    >"$tmp/sim.log" 2>&1 &
pids+=($!)
sim=$(ready "$tmp/sim.ready" listen)
cat >"$tmp/floodgate.json" <<JSON
{"listen": {"address": "127.0.0.1:0", "cert": "$dir/floodgate.crt", "key": "$dir/floodgate.key",
            "client_ca": "$dir/ca.crt", "workers": 1},
 "upstream": {"servers": ["$sim"], "ca": "$dir/ca.crt",
              "client_cert": "$dir/front-proxy-client.crt", "client_key": "$dir/front-proxy-client.key"},
 "auth": {"keys": ["$dir/sa.pub"], "issuers": ["https://kubernetes.default.svc.cluster.local"]},
 "admin": {"address": "127.0.0.1:0"}}
JSON
"$bin/floodgate" run --config "$tmp/floodgate.json" --ready-file "$tmp/fg.ready" >"$tmp/fg.log" 2>&1 &
pids+=($!)
fg=$(ready "$tmp/fg.ready" listen)
"$pki" --dir "$dir" kubeconfig --server "https://$fg" --user breakglass --out "$tmp/kc" >/dev/null
out=$(kubectl --kubeconfig "$tmp/kc" get --raw /debug/whoami 2>&1) || fail "kubectl: $out"
echo "$out" | grep -q '"user":"breakglass"' || fail "identity: $out"
echo "$out" | grep -q '"system:masters"' || fail "groups: $out"
echo "$out" | grep -q '"authenticatedBy":"requestheader"' || fail "not asserted by floodgate: $out"
echo "deploy_pki: ok"
