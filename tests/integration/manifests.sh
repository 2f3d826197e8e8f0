#!/usr/bin/env bash
# deploy/kubernetes/*.yaml validate with kubectl's client-side dry run (the
# REST mapping comes from floodgate-apisim's discovery), and the simulator
# stores the workload kinds they use.
set -euo pipefail
src=${FG_SRC_DIR:?}
bin=${FG_BIN_DIR:?}
build=${FG_BUILD_DIR:?}
tmp=$(mktemp -d "$build/manifests.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "manifests: $*" >&2
    [ -e "$tmp/sim.log" ] && tail -20 "$tmp/sim.log" >&2
    exit 1
}

"$src/deploy/pki.sh" --test "$tmp/pki" >/dev/null
"$bin/floodgate-apisim" --listen 127.0.0.1:0 --ready-file "$tmp/sim.ready" \
    --cert "$tmp/pki/apiserver.crt" --key "$tmp/pki/apiserver.key" --client-ca "$tmp/pki/ca.crt" \
    --nodes 2 --pods-per-node 1 >"$tmp/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/sim.ready" ] && break; sleep 0.1; done
sim=$(sed -n 's/^listen=//p' "$tmp/sim.ready")
[ -n "$sim" ] || fail "simulator did not start"
"$src/deploy/pki.sh" --dir "$tmp/pki" kubeconfig --server "https://$sim" --user admin \
    --out "$tmp/kc" >/dev/null
export KUBECONFIG=$tmp/kc

n=0
for f in "$src"/deploy/kubernetes/*.yaml; do
    out=$(kubectl apply --dry-run=client --validate=false -f "$f" 2>&1) ||
        fail "$(basename "$f"): $out"
    echo "$out" | grep -q "(dry run)" || fail "$(basename "$f"): $out"
    n=$((n + $(echo "$out" | grep -c "(dry run)")))
done
[ "$n" -ge 6 ] || fail "only $n objects validated"

# The kinds are served for real, not only mapped.
# (kubectl apply sends JSON; the simulator decodes protobuf for a few kinds only)
kubectl apply --validate=false -f - >/dev/null <<'YAML' || fail "apply deployment"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example/web:1}]}
YAML
kubectl get deployments web -o jsonpath='{.kind}{.metadata.name}' | grep -qx 'Deploymentweb' ||
    fail "deployment not stored"
echo "manifests: $n objects validated"
