#!/bin/sh
# Runs a sanitized program and fails if it fails or if a sanitizer reported
# anything, in it or in a process it started (the e2e tests' kscope):
#   run_sanitized.sh <report dir> <program> [args...]
# Reports go to files in <report dir>, printed here; the first one stops the
# process (halt_on_error; the build has -fno-sanitize-recover=all).
set -u
reports=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:check_initialization_order=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tsan.supp:log_path=$reports/tsan"
start=$(date +%s)
"$@"
status=$?
echo "$(basename "$1"): exit status $status in $(($(date +%s) - start)) s"
if [ -n "$(ls "$reports")" ]; then
  for report in "$reports"/*; do
    echo "=== $report"
    cat "$report"
  done
  echo "sanitizer reports above"
  exit 1
fi
exit "$status"
