#!/bin/sh
# Replays a fuzz target's checked-in corpus, then fuzzes it for
# $KSCOPE_FUZZ_SECONDS, else <seconds>. Fails on any crash, sanitizer report,
# leak, timeout (10 s for one input) or out-of-memory (2 GiB), and prints
# the input that did it, for a regression test and the corpus:
#   run_fuzzer.sh <fuzzer> <corpus dir> <work dir> <seconds>
# New inputs it finds go to <work dir>/new, never into the source tree.
set -u
fuzzer=$1 corpus=$2 work=$3
seconds=${KSCOPE_FUZZ_SECONDS:-$4}
name=$(basename "$fuzzer")
rm -rf "$work"
mkdir -p "$work/new"

show_findings() {
  for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$work"/slow-unit-*; do
    [ -e "$f" ] || continue
    echo "=== $f (od -c):"
    od -c "$f" | head -n 40
  done
}

if ! "$fuzzer" -timeout=10 -artifact_prefix="$work/" "$corpus"/* >"$work/replay.log" 2>&1; then
  tail -n 80 "$work/replay.log"
  show_findings
  echo "$name: an input of $corpus fails"
  exit 1
fi
# A fixed seed (KSCOPE_FUZZ_SEED, default 1) makes a CI run repeat the
# same mutations: it checks the code, not luck. Explore with other seeds
# and longer runs locally, and add what they find to the corpus.
"$fuzzer" -seed="${KSCOPE_FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/new" "$corpus" >"$work/fuzz.log" 2>&1
status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log")
echo "$name: replayed $(find "$corpus" -type f | wc -l) inputs; fuzzed ${seconds} s: ${runs:-?} runs" \
  "(${rate:-?}/s), $(find "$work/new" -type f | wc -l) new inputs in $work/new"
if [ "$status" -ne 0 ]; then
  tail -n 80 "$work/fuzz.log"
  show_findings
  echo "$name: finding above (exit status $status)"
  exit 1
fi
