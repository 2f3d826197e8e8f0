#!/usr/bin/env bash
# make install DESTDIR=...: the binaries, examples, PKI script, manifests,
# systemd unit pointing at the installed binary, man page and docs land where
# an operator looks for them, and the installed binary runs.
set -euo pipefail
build=${FG_BUILD_DIR:?}
src=${FG_SRC_DIR:?}
tmp=$(mktemp -d "$build/install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "install: $*" >&2
    exit 1
}

DESTDIR=$tmp/root cmake --install "$build" >"$tmp/log" 2>&1 || fail "cmake --install: $(tail -5 "$tmp/log")"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root=$tmp/root$prefix

for f in bin/floodgate bin/floodgate-apisim bin/floodgate-load \
    share/floodgate/examples/sidecar.json share/floodgate/examples/incident-shed.json \
    share/floodgate/examples/dry-run.json share/floodgate/pki.sh \
    share/floodgate/kubernetes/floodgate-static-pod.yaml \
    share/floodgate/kubernetes/floodgate-front.yaml \
    lib/systemd/system/floodgate.service share/doc/floodgate/README.md \
    share/doc/floodgate/configuration.md; do
    [ -e "$root/$f" ] || fail "missing $prefix/$f"
done
[ -x "$root/bin/floodgate" ] || fail "floodgate is not executable"
[ -x "$root/share/floodgate/pki.sh" ] || fail "pki.sh is not executable"
if [ -e "$src/deploy/floodgate.8" ]; then
    [ -e "$root/share/man/man8/floodgate.8" ] || fail "missing the man page"
fi
for doc in SECURITY.md deploy/RUNBOOK.md deploy/HA.md; do
    if [ -e "$src/$doc" ]; then
        [ -e "$root/share/doc/floodgate/$(basename "$doc")" ] || fail "missing $doc"
    fi
done

"$root/bin/floodgate" --version | grep -q '^floodgate [0-9]' || fail "installed floodgate does not run"
grep -q "^ExecStart=$prefix/bin/floodgate run --config /etc/floodgate/floodgate.json\$" \
    "$root/lib/systemd/system/floodgate.service" || fail "unit does not start the installed binary"
grep -q "^ExecReload=/bin/kill -HUP \$MAINPID\$" "$root/lib/systemd/system/floodgate.service" ||
    fail "unit does not reload with SIGHUP"
echo "install: ok ($(find "$tmp/root" -type f | wc -l) files under $prefix)"
