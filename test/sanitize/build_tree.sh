#!/bin/sh
# Configures and builds a nested clang tree for the sanitize and fuzz tests
# (test/sanitize_tests.cmake), only the targets they run:
#   build_tree.sh <source dir> <tree dir> "<cmake options>" <target>...
# -O1 with line tables: quicker to build than RelWithDebInfo's -O2 -g, and
# enough for the sanitizers' stack traces.
set -eu
src=$1 tree=$2 options=$3
shift 3
start=$(date +%s)
mkdir -p "$tree"
# shellcheck disable=SC2086 # options is a list of -D flags
if ! cmake -S "$src" -B "$tree" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    -DKSCOPE_SANITIZE_TESTS=OFF -DKSCOPE_BUILD_BENCH=OFF -DKSCOPE_DEPLOY_TESTS=OFF \
    -DKSCOPE_VM_TESTS=OFF $options >"$tree/configure.log" 2>&1; then
  cat "$tree/configure.log"
  exit 1
fi
cmake --build "$tree" -j"$(nproc)" --target "$@"
echo "built $* in $(($(date +%s) - start)) s"
