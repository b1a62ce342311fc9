#!/bin/bash
# bench-in-vm.sh SUITE WORK_DIR KSCOPE_BENCH KSCOPE [BENCH_ARGS...]: run
# kscope_bench BENCH_ARGS inside Debian SUITE's current kernel under QEMU
# (TCG, one vCPU), with bpftrace inside when it is installed here, and print
# its output. For what this machine's kernel cannot show: fentry and kprobes
# work in those kernels. TCG emulates every instruction, so only the ratios
# between the columns of one run mean something. Not a test: the figures go
# to BENCHMARKS.md by hand. Example:
#   test/vm/bench-in-vm.sh trixie /tmp/vmbench build/test/bench/kscope_bench \
#     build/kscope --only=traced --quick
set -euo pipefail

[[ $# -ge 4 ]] || { echo "usage: bench-in-vm.sh SUITE WORK_DIR KSCOPE_BENCH KSCOPE [BENCH_ARGS...]" >&2; exit 2; }
suite=$1 work=$2 bench=$3 kscope=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"

vmlinuz=$("$here/fetch-kernel.sh" "$suite")
bins=("$bench" "$kscope")
[[ -x /usr/bin/bpftrace ]] && bins+=(/usr/bin/bpftrace)
"$here/make-initramfs.sh" "$work/initramfs.cpio" "${bins[@]}" -- \
  KSCOPE_RUN="kscope_bench --kscope=/opt/kscope/kscope $*" KSCOPE_MODES= KSCOPE_GTEST_FILTER= KSCOPE_BENCH=
# 3 GiB: bpftrace and its LLVM are about 200 MB in the initramfs, unpacked in RAM.
qemu-system-x86_64 -accel tcg,thread=single -cpu max -m 3G -smp 1 \
  -nodefaults -display none -no-reboot -nic none \
  -kernel "$vmlinuz" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 rdinit=/init" \
  -serial file:"$work/console.log" -serial file:"$work/output.log"
tr -d '\r' <"$work/output.log"
grep -aq '^KSCOPE-VM finished' "$work/output.log" || { echo "bench-in-vm.sh: the VM did not finish (see $work/console.log)" >&2; exit 1; }
