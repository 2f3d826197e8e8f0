#!/usr/bin/env bash
# floodgate --check-config on every shipped example (exit 0, the policy
# summary on stdout) and on broken files (exit 1, the path-precise message on
# stderr, nothing on stdout), with a throwaway PKI from deploy/pki.sh.
set -euo pipefail

bin=${FG_BIN_DIR:?}/floodgate
src=${FG_SRC_DIR:?}
tmp=$(mktemp -d "${FG_BUILD_DIR:-/tmp}/check-config.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "check_config: $*" >&2
    exit 1
}

bash "$src/deploy/pki.sh" --test "$tmp/pki" >/dev/null
export FLOODGATE_PKI=$tmp/pki
unset FLOODGATE_LISTEN FLOODGATE_UPSTREAM FLOODGATE_ADMIN FLOODGATE_SA_ISSUER

for example in sidecar incident-shed dry-run; do
    file=$src/conf/examples/$example.json
    "$bin" --check-config "$file" >"$tmp/out" 2>"$tmp/err" || fail "$example: exit $?: $(cat "$tmp/err")"
    [ ! -s "$tmp/err" ] || fail "$example: stderr: $(cat "$tmp/err")"
    grep -q "^$file: valid (sha256 [0-9a-f]\{16\}), 8 classes, 9 rules$" "$tmp/out" ||
        fail "$example: no header line in: $(head -3 "$tmp/out")"
    grep -q '^  1 exempt ' "$tmp/out" || fail "$example: exempt is not first"
    grep -q '^  8 catch-all ' "$tmp/out" || fail "$example: catch-all is not last"
    grep -q '<- rules\[8\] everything else$' "$tmp/out" || fail "$example: no catch-all rule"
    lines=$(wc -l <"$tmp/out")
    [ "$lines" -le 40 ] || fail "$example: summary is $lines lines, more than a screen"
    # The subcommand spelling prints the same.
    "$bin" check-config "$file" | cmp -s - "$tmp/out" || fail "$example: check-config differs"
done
# The header line names the file on one line, however long its path.
deep=$tmp/a-directory-with-a-long-name-to-push-the-header-past-one-hundred-columns/and-deeper
mkdir -p "$deep"
cp "$src/conf/examples/sidecar.json" "$deep/sidecar.json"
"$bin" --check-config "$deep/sidecar.json" >"$tmp/out" || fail "long path: exit $?"
grep -q "^$deep/sidecar.json: valid (sha256 [0-9a-f]\{16\}), 8 classes, 9 rules\$" "$tmp/out" ||
    fail "long path: header line wrapped: $(head -2 "$tmp/out")"

grep -q '^  3 nodes *dry-run ' <("$bin" --check-config "$src/conf/examples/dry-run.json") ||
    fail "dry-run.json: nodes is not in dry-run"

# A broken file: exit 1, one line naming the file, the JSON path and the value.
sed 's/"burst": 100,/"burst": -4,/' "$src/conf/examples/sidecar.json" >"$tmp/broken.json"
set +e
"$bin" --check-config "$tmp/broken.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "broken.json: exit $rc, want 1"
[ ! -s "$tmp/out" ] || fail "broken.json: printed a summary"
want="floodgate: $tmp/broken.json: limits.classes[2].burst: expected an integer >= 1, got -4"
[ "$(cat "$tmp/err")" = "$want" ] || fail "broken.json: got '$(cat "$tmp/err")', want '$want'"

# A missing PEM file is caught before anything would start.
FLOODGATE_PKI=$tmp/nowhere "$bin" --check-config "$src/conf/examples/sidecar.json" \
    >/dev/null 2>"$tmp/err" && fail "missing PKI accepted"
grep -q "listen.cert: expected a readable PEM file with a certificate, got \"$tmp/nowhere/apiserver.crt\" (No such file or directory)" "$tmp/err" ||
    fail "missing PKI: $(cat "$tmp/err")"

# Usage errors exit 2; --version and --help exit 0.
set +e
"$bin" --check-config >/dev/null 2>&1
[ $? -eq 2 ] || fail "--check-config without FILE: want exit 2"
"$bin" frobnicate >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown command: want exit 2"
set -e
"$bin" --version | grep -q '^floodgate [0-9]' || fail "--version"
"$bin" --help | grep -q 'check-config FILE' || fail "--help"
echo "check_config: ok"
