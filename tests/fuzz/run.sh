#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets (clang, ASan+UBSan, build-fuzz/)
# and runs each for a bounded time on a copy of its seed corpus
# (tests/fuzz/corpus/<target>/; the copy grows in build-fuzz/corpus/, the
# committed seeds stay small). Prints executions and findings per target
# and exits non-zero when any target crashed, leaked or tripped UBSan.
#
#   FUZZ_SECONDS=60     seconds per target (default 60)
#   FUZZ_RUNS=N         also stop after N executions (whichever comes first)
#   FUZZ_TARGETS="a b"  only these targets (names without fuzz_)
#   FUZZ_JOBS=1         parallel fuzzing processes per target
#   FUZZ_NICE=0         nice level (long runs: 19, to leave the CPU to others)
#   FUZZ_BUILD=0        run what build-fuzz holds (several run.sh at once)
#   BUILD_DIR=build-fuzz
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
build=${BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-}
jobs=${FUZZ_JOBS:-1}
nicelvl=${FUZZ_NICE:-0}

if [ "${FUZZ_BUILD:-1}" != 0 ]; then
    CC=clang cmake -S . -B "$build" -DFG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_COMPILER=clang >/dev/null
    cmake --build "$build" --target fuzz_targets -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    targets=$FUZZ_TARGETS
else
    targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi

# Whichever bound comes first: FUZZ_RUNS=10000000 FUZZ_SECONDS=1800 is
# "ten million executions or half an hour".
limit=(-max_total_time="$seconds")
[ -n "$runs" ] && limit+=(-runs="$runs")
mkdir -p "$build/fuzz-out"
failed=0
summary=()
for t in $targets; do
    bin=$build/bin/fuzz_$t
    seeds=$src/tests/fuzz/corpus/$t
    work=$build/corpus/$t
    out=$build/fuzz-out/$t
    if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
        echo "fuzz_$t: no binary or no corpus/$t" >&2
        failed=1
        continue
    fi
    mkdir -p "$work" "$out"
    cp -n "$seeds"/* "$work"/ 2>/dev/null || true
    rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* "$out"/log
    echo "== fuzz_$t (${runs:+$runs runs or }$seconds s)"
    rc=0
    # -jobs runs that many fuzzers, each logging to fuzz-<n>.log in the
    # current directory: run from the target's output directory.
    (cd "$out" && nice -n "$nicelvl" "$src/$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$src/$out/" \
        $([ "$jobs" -gt 1 ] && echo "-jobs=$jobs -workers=$jobs") \
        "$src/$work" >"$src/$out/log" 2>&1) || rc=$?
    execs=$(cat "$out"/log "$out"/fuzz-*.log 2>/dev/null |
        awk '/stat::number_of_executed_units:/ {s += $2} END {print s + 0}' || true)
    findings=$(ls "$out" | grep -cE '^(crash|leak|timeout|oom)-' || true)
    cov=$(grep -ohE 'cov: [0-9]+' "$out"/log "$out"/fuzz-*.log 2>/dev/null | tail -1 |
        awk '{print $2}' || true)
    if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
        failed=1
        echo "fuzz_$t: FAILED (exit $rc); the log: $out/log"
        grep -E 'ERROR: |runtime error|SUMMARY' "$out"/log | head -5 || true
        ls "$out" | grep -E '^(crash|leak|timeout|oom)-' | sed "s|^|  $out/|" || true
    fi
    summary+=("$(printf '%-22s %12s execs  %3s findings  cov %s' "fuzz_$t" "$execs" "$findings" "${cov:-?}")")
done
echo
echo "target                        executions      findings"
printf '%s\n' "${summary[@]}"
# The plain closing line CI reads.
total=$(echo "$targets" | wc -w)
bad=$(printf '%s\n' "${summary[@]}" | awk '$4 != 0' | wc -l)
[ "$failed" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
echo "fuzz: $((total - bad)) passed, $bad failed"
exit $failed
