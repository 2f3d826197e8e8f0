#!/bin/bash
# The limiter micro-benchmark: decisions per second and ns per decision
# (lim_decide + lim_release) at 1k, 100k and 1M clients, 1 and 2 threads,
# GET and LIST mix; then instructions per decision under callgrind at 1k and
# 1M clients, from the difference of two runs of N1 and N2 decisions (so
# that the setup, including inserting the clients, cancels out). Also times
# the same program over the mutex-locked build of the limiter.
#
#   bench/limiter/bench.sh [BUILD_DIR] [JSON]     (defaults: build,
#                                                  bench/results/limiter.json)
# Bounded: about a minute of timing and a few minutes of callgrind.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
json=${2:-$src/bench/results/limiter.json}
bin=$build/bin/limiter_bench
n1=100000
n2=200000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --build "$build" --target limiter_bench limiter_bench_mutex -j2 >/dev/null
mkdir -p "$(dirname "$json")"

echo "== timing (best of 5 runs each; the machine may be shared) =="
"$bin" --json "$tmp/timing.json"
echo
echo "== shard lock: spinlock (default) vs pthread mutex, 1M clients, get =="
for t in 1 2; do
    "$bin" --clients 1000000 --threads $t
    "$build/bin/limiter_bench_mutex" --clients 1000000 --threads $t | sed 's/^/mutex: /'
done | tee "$tmp/locks.txt"

summary() { awk '/^summary:/ {print $2}' "$1"; }
self() { # instructions of one function, itself only (the bench loop)
    # (awk reads to the end: an early exit would fail the pipeline)
    callgrind_annotate "$1" 2>/dev/null | awk -v f="$2" '!done && $0 ~ f { gsub(",", "", $1); print $1; done = 1 }'
}

echo
echo "== callgrind: instructions per decision (decide + release) =="
: >"$tmp/cg.txt"
for clients in 1000 1000000; do
    for mix in get list; do
        for n in $n1 $n2; do
            valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$clients.$mix.$n" \
                "$bin" --fixed $n --clients $clients --mix $mix >/dev/null 2>&1
        done
        a=$(summary "$tmp/cg.$clients.$mix.$n1")
        b=$(summary "$tmp/cg.$clients.$mix.$n2")
        la=$(self "$tmp/cg.$clients.$mix.$n1" "bn_limiter.c:run ")
        lb=$(self "$tmp/cg.$clients.$mix.$n2" "bn_limiter.c:run ")
        total=$(((b - a) / (n2 - n1)))
        loop=$(((lb - la) / (n2 - n1)))
        echo "$clients $mix $total $loop $((total - loop))" >>"$tmp/cg.txt"
        printf '%8s clients %-4s: %4d instructions per iteration, %4d of them the limiter\n' \
            "$clients" "$mix" "$total" "$((total - loop))"
    done
done

# Merge: the timing JSON with a "callgrind" section.
{
    sed '$d' "$tmp/timing.json" | sed '$s/$/,/'
    echo '  "callgrind": {'
    echo "    \"method\": \"(Ir(N2) - Ir(N1)) / (N2 - N1), N1=$n1, N2=$n2; limiter = total - the bench loop's own instructions\","
    echo '    "results": ['
    awk '{ printf "      {\"clients\": %s, \"mix\": \"%s\", \"instructions_per_decision\": %s, \"bench_loop\": %s, \"limiter\": %s}", $1, $2, $3, $4, $5; if (NR < 4) printf ","; printf "\n" }' "$tmp/cg.txt"
    echo '    ]'
    echo '  },'
    echo '  "locks": ['
    awk '{ line = $0; gsub(/"/, "", line); printf "    \"%s\"", line; if (NR < 4) printf ","; printf "\n" }' "$tmp/locks.txt"
    echo '  ]'
    echo '}'
} >"$json"
echo
echo "wrote $json"
