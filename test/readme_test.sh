#!/usr/bin/env bash
# The README's quick start and .ci/run must run the same test command, and
# the Dockerfile must install the same package list.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
readme_cmd=$(grep -m1 '^cmake -S . -B build && cmake --build build' "$root/README.md" | grep ctest)
ci_cmd=$(grep -A1 '^# README test command:' "$root/.ci/run" | tail -n1)
if [ "$readme_cmd" != "$ci_cmd" ]; then
  echo "README test command:  $readme_cmd"
  echo ".ci/run test command: $ci_cmd"
  exit 1
fi
grep -q 'deploy/debian-packages.txt' "$root/Dockerfile" || { echo "Dockerfile does not read deploy/debian-packages.txt"; exit 1; }
grep -q 'deploy/debian-packages.txt' "$root/README.md" || { echo "README does not read deploy/debian-packages.txt"; exit 1; }
echo "README, .ci/run and Dockerfile agree"
