#!/usr/bin/env bash
# The real kubectl against floodgate-apisim (client certificate): get nodes,
# get pods -A (paginated), get pods -w (watch events from churn), create and
# delete a configmap, get --raw /apis, auth whoami; then the identities the
# simulator serves: front proxy (X-Remote-*), client certificate, bearer
# service-account token (RS256 minted here with openssl), anonymous, and
# the 401s kube-apiserver gives. Bounded: about 15 s.
set -euo pipefail

: "${FG_BIN_DIR:?} ${FG_SRC_DIR:?} ${FG_BUILD_DIR:?}"
mkdir -p "$FG_BUILD_DIR/it-tmp"
tmp=$(mktemp -d "$FG_BUILD_DIR/it-tmp/sim_kubectl.XXXXXX")
pki=$tmp/pki
sim_pid=""
failed=1

cleanup() {
    if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -KILL "$sim_pid" 2>/dev/null || true
    fi
    if [ "$failed" -eq 0 ]; then
        rm -rf "$tmp"
    else
        echo "sim_kubectl: FAILED; kept $tmp" >&2
        tail -20 "$tmp/sim.log" >&2 || true
    fi
}
trap cleanup EXIT

fail() {
    echo "sim_kubectl: $*" >&2
    exit 1
}

# expect WHAT PATTERN TEXT: TEXT matches the extended regex PATTERN
expect() {
    if ! grep -Eq -- "$2" <<<"$3"; then
        printf 'sim_kubectl: %s: expected /%s/ in:\n%s\n' "$1" "$2" "$(head -c 2000 <<<"$3")" >&2
        exit 1
    fi
    echo "ok - $1"
}

bash "$FG_SRC_DIR/deploy/pki.sh" --test "$pki" >/dev/null

"$FG_BIN_DIR/floodgate-apisim" --listen 127.0.0.1:0 --ready-file "$tmp/ready" \
    --cert "$pki/apiserver.crt" --key "$pki/apiserver.key" --client-ca "$pki/ca.crt" \
    --requestheader-client-ca "$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --service-account-key-file "$pki/sa.pub" --service-account-issuer https://kubernetes.default.svc \
    --nodes 100 --pods-per-node 10 --churn-per-s 100 >"$tmp/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
    [ -s "$tmp/ready" ] && break
    kill -0 "$sim_pid" 2>/dev/null || fail "floodgate-apisim exited: $(cat "$tmp/sim.log")"
    sleep 0.1
done
addr=$(sed -n 's/^listen=//p' "$tmp/ready")
[ -n "$addr" ] || fail "no ready file"

bash "$FG_SRC_DIR/deploy/pki.sh" --dir "$pki" kubeconfig --server "https://$addr" --user admin \
    --out "$tmp/kubeconfig" >/dev/null
export KUBECONFIG=$tmp/kubeconfig HOME=$tmp/home
mkdir -p "$HOME"
kc() { timeout 20 kubectl --request-timeout=15s "$@" 2>&1; }

out=$(kc get nodes)
expect "get nodes lists 100 nodes" "^node-00099 " "$out"
[ "$(wc -l <<<"$out")" -eq 101 ] || fail "get nodes: $(wc -l <<<"$out") lines, want 101"

out=$(kc get pods -A -v=6)
expect "get pods -A pages with continue" "pods\\?continue=[^ ]*limit=500[^ ]* 200 OK" "$out"
[ "$(grep -c '^team-\|^kube-system' <<<"$out")" -eq 1000 ] || fail "get pods -A: not 1000 pods"
echo "ok - get pods -A lists all 1000 pods"

out=$(timeout 5 kubectl get pods -n kube-system -w 2>&1 || true)
[ "$(wc -l <<<"$out")" -ge 104 ] || fail "get pods -w: $(wc -l <<<"$out") lines, want the 100 pods and watch events"
echo "ok - get pods -w prints watch events ($(($(wc -l <<<"$out") - 101)) in 5 s)"

expect "create configmap" "^configmap/x created" "$(kc create configmap x --from-literal=k=v)"
expect "the configmap is stored" "^v$" "$(kc get configmap x -o 'jsonpath={.data.k}{"\n"}')"
expect "delete configmap" "configmap \"x\" deleted" "$(kc delete configmap x)"
expect "the configmap is gone" "NotFound.*configmaps \"x\" not found" "$(kc get configmap x || true)"
expect "get --raw /apis" "\"name\":\"coordination.k8s.io\"" "$(kc get --raw /apis)"
expect "auth whoami" "Username +admin" "$(kc auth whoami)"
expect "get leases" "node-00000" "$(kc get leases -n kube-node-lease)"

# --- identities, asserted through /debug/whoami ---
c() { curl -sS --max-time 10 --cacert "$pki/ca.crt" "$@" | tr -d '\n'; }
proxy=(--cert "$pki/front-proxy-client.crt" --key "$pki/front-proxy-client.key")

out=$(c "${proxy[@]}" -H 'X-Remote-User: alice' -H 'X-Remote-Group: dev' \
    -H 'X-Remote-Group: a,b' -H 'X-Remote-Extra-Scopes: view' "https://$addr/debug/whoami")
expect "front proxy asserts the user" '"user":"alice"' "$out"
expect "front proxy groups: repeated headers, not split" '"groups":\["dev","a,b","system:authenticated"\]' "$out"
expect "front proxy extras" '"extra":\{"scopes":\["view"\]\}' "$out"
expect "authenticated by requestheader" '"authenticatedBy":"requestheader"' "$out"

out=$(c -w ' %{http_code}' "${proxy[@]}" "https://$addr/debug/whoami")
expect "front proxy without X-Remote-User and no token: 401" '"reason":"Unauthorized".* 401$' "$out"

out=$(c --cert "$pki/alice.crt" --key "$pki/alice.key" -H 'X-Remote-User: mallory' \
    "https://$addr/debug/whoami")
expect "a client certificate ignores X-Remote-User" '"user":"alice","groups":\["developers","system:authenticated"\]' "$out"
expect "authenticated by x509" '"authenticatedBy":"x509"' "$out"

out=$(c -w ' %{http_code}' --cert "$pki/rogue.crt" --key "$pki/rogue.key" "https://$addr/debug/whoami")
expect "a certificate from another CA: 401" ' 401$' "$out"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
payload=$(printf '{"iss":"https://kubernetes.default.svc","aud":["https://kubernetes.default.svc"],"sub":"system:serviceaccount:monitoring:agent","iat":%d,"nbf":%d,"exp":%d,"kubernetes.io":{"namespace":"monitoring","serviceaccount":{"name":"agent","uid":"u-1"},"node":{"name":"node-00007","uid":"n-7"}}}' \
    "$now" "$now" $((now + 600)) | b64url)
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$pki/sa.key" | b64url)
token=$header.$payload.$sig

out=$(c "${proxy[@]}" -H "Authorization: Bearer $token" "https://$addr/debug/whoami")
expect "front proxy without X-Remote-User falls through to the token" \
    '"user":"system:serviceaccount:monitoring:agent".*"authenticatedBy":"token"' "$out"
expect "token groups" '"groups":\["system:serviceaccounts","system:serviceaccounts:monitoring","system:authenticated"\]' "$out"
expect "token node claim" '"authentication.kubernetes.io/node-name":\["node-00007"\]' "$out"

out=$(c -w ' %{http_code}' -H "Authorization: Bearer ${token}x" "https://$addr/api/v1/pods?limit=1")
expect "a tampered token: 401 Status" '"message":"Unauthorized","reason":"Unauthorized".* 401$' "$out"

out=$(c "https://$addr/debug/whoami")
expect "no credential: anonymous" '"user":"system:anonymous","groups":\["system:unauthenticated"\].*"authenticatedBy":"anonymous"' "$out"
out=$(c -w ' %{http_code}' "https://$addr/api/v1/pods")
expect "anonymous may not list pods: 403" 'cannot list resource \\"pods\\".* 403$' "$out"
expect "anonymous may read /version" '"gitVersion"' "$(c "https://$addr/version")"

out=$(c "https://$addr/debug/requests?last=200")
expect "the request log names who asked" '"user":"admin","groups":\["system:masters","system:authenticated"\],"authenticatedBy":"x509","code":201' "$out"

out=$(c "https://$addr/metrics")
expect "metrics count requests by verb and code" 'apisim_requests_total\{verb="list",code="200"\} [1-9]' "$out"
expect "metrics report the storage slots" 'apisim_storage_slots 2' "$out"
expect "metrics report open watches" 'apisim_watches_open [0-9]+' "$out"
if command -v promtool >/dev/null; then
    curl -sS --max-time 10 --cacert "$pki/ca.crt" "https://$addr/metrics" | promtool check metrics ||
        fail "promtool check metrics"
    echo "ok - promtool check metrics"
fi

kill -TERM "$sim_pid"
rc=0
wait "$sim_pid" || rc=$?
sim_pid=""
[ "$rc" -eq 0 ] || fail "floodgate-apisim exited $rc on SIGTERM"
echo "ok - SIGTERM stops it with exit 0"
failed=0
