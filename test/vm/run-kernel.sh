#!/bin/bash
# run-kernel.sh LABEL SUITE WORK_DIR KSCOPE_BPF_TESTS KSCOPE:
# boot Debian SUITE's current kernel under QEMU (TCG) with these freshly
# built binaries inside, run init.sh's checks once per attach mode, and pass
# only if the kernel is LABEL (5.10, 6.1, 6.12, 7.x: its release must start
# with it), has BTF, and every expected result line came back passing. A
# missing line fails, so does a VM that dies early. The kernel console
# (ttyS0) goes to WORK_DIR/console.log, the checks' output (ttyS1) to
# WORK_DIR/output.log; a failure prints both.
#
# A kernel that cannot be fetched (the suite or its archive unreachable from
# this machine) is a loud skip, exit 77: the reason is printed and ctest
# lists the test as not run. A VM run that fails is run once more, and both
# runs' problems are printed: TCG guests have been seen dying of emulation
# faults (see the thread=single note below), and one bad run must not hide
# behind a pass nor fail CI alone. The last lines of a failure are its
# reasons, one a line.
#
# Environment: KSCOPE_VM_MODES (default fentry,kprobe,tracepoint,auto),
# KSCOPE_VM_GTEST_FILTER (every mode), KSCOPE_VM_GTEST_FILTER_AUTO (added
# under auto: the per-cgroup suites), KSCOPE_VM_TIMEOUT (s, default 600),
# KSCOPE_VM_SMP (vCPUs, default 2), KSCOPE_VM_BENCH (after the checks, time
# this many 1-byte read+write pairs untraced and in each mode; default none).
set -uo pipefail

if [[ $# != 5 ]]; then
  echo "usage: run-kernel.sh LABEL SUITE WORK_DIR KSCOPE_BPF_TESTS KSCOPE" >&2
  exit 2
fi
label=$1 suite=$2 work=$3 bins=("$4" "$5")
here=$(cd "$(dirname "$0")" && pwd)
modes=${KSCOPE_VM_MODES:-fentry,kprobe,tracepoint,auto}
filter=${KSCOPE_VM_GTEST_FILTER:-FdProbe.*:VfsProbe.*:ProcessProbe.*:*PercpuReaderTest.*:*CgroupIdSource.*}
filter_auto=${KSCOPE_VM_GTEST_FILTER_AUTO-CgroupAttributionTest.*:*CgroupRemoval*}
timeout_s=${KSCOPE_VM_TIMEOUT:-600}
fail() { echo "vm_$label: FAIL: $*" >&2; exit 1; }

t_start=$(date +%s.%N)
mkdir -p "$work"
rm -f "$work"/{console,output}.log

vmlinuz=$("$here/fetch-kernel.sh" "$suite") || {
  echo "vm_$label: SKIPPED: no kernel from suite $suite could be fetched (above), so nothing ran" >&2
  exit 77
}

"$here/make-initramfs.sh" "$work/initramfs.cpio" "${bins[@]}" -- \
  KSCOPE_MODES="$modes" KSCOPE_GTEST_FILTER="$filter" KSCOPE_GTEST_FILTER_AUTO="$filter_auto" \
  KSCOPE_BENCH="${KSCOPE_VM_BENCH:-}" ||
  fail "cannot build the initramfs"

# One boot and its checks; on failure, their reasons go to failures[].
failures=()
boot_and_check() {
  local run=$1 t_boot qemu_rc t_end out release prefix mode check result boot finished
  local problems=()
  t_boot=$(date +%s.%N)
  # thread=single: with multi-threaded TCG a boot here oopsed on an int3 of the
  # kernel's live code patching (text_poke_bp, in sched_clock_cpu).
  timeout "$timeout_s" qemu-system-x86_64 -accel tcg,thread=single -cpu max -m 1G \
    -smp "${KSCOPE_VM_SMP:-2}" \
    -nodefaults -display none -no-reboot -nic none \
    -kernel "$vmlinuz" -initrd "$work/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 rdinit=/init" \
    -serial file:"$work/console.log" -serial file:"$work/output.log"
  qemu_rc=$?
  t_end=$(date +%s.%N)

  out=$work/output.log
  # The result lines starting with $1, without the "KSCOPE-VM " prefix.
  line() { grep -a "^KSCOPE-VM $1" "$out" 2>/dev/null | tr -d '\r' | sed 's/^KSCOPE-VM //'; }
  problems=()
  [[ $qemu_rc == 0 ]] || problems+=("qemu exited $qemu_rc$([[ $qemu_rc == 124 ]] && echo " (timeout ${timeout_s}s)")")
  release=$(line kernel | awk '{ print $2 }')
  prefix=${label%.x}.
  [[ $release == "$prefix"* ]] || problems+=("kernel release '${release:-none}' is not $label")
  [[ $(line btf) == "btf yes" ]] || problems+=("no /sys/kernel/btf/vmlinux")
  for mode in ${modes//,/ }; do
    for check in gtest kscope; do
      result=$(line "result $mode $check ")
      result=${result:-result $mode $check: no result line}
      [[ $result == *" PASS "* ]] || problems+=("${result#result }")
    done
  done
  [[ -n $(line finished) ]] || problems+=("the VM did not finish its checks")

  # Figures for the report: boot = kernel start to /init, run = the checks.
  boot=$(line boot | awk '{ print $2 }')
  finished=$(line finished | awk '{ print $2 }')
  awk -v l="$label" -v r="${release:-?}" -v s="$suite" -v b="${boot:-0}" -v d="${finished:-0}" \
    -v t0="$t_start" -v t1="$t_boot" -v t2="$t_end" 'BEGIN {
    printf "vm_%s: %s (%s): boot %.1f s, checks %.1f s, qemu %.1f s, total %.1f s\n",
           l, r, s, b, d - b, t2 - t1, t2 - t0 }'
  line result | sed 's/^result /  /'
  line bench | sed 's/^/  /'
  grep -a 'NOTE:' "$out" >/dev/null 2>&1 && echo "vm_$label: NOTE: kscope smoke runs used no attach config (see above)"

  if [[ ${#problems[@]} -gt 0 ]]; then
    echo "---- kernel console (tail of $work/console.log)"
    tail -n 60 "$work/console.log" 2>/dev/null
    echo "---- test output ($out)"
    cat "$out" 2>/dev/null
    for p in "${problems[@]}"; do failures+=("run $run: $p"); done
    return 1
  fi
  return 0
}

for run in 1 2; do
  if boot_and_check "$run"; then
    if [[ $run == 2 ]]; then
      echo "vm_$label: PASS on the second run; the first failed:" >&2
      printf 'vm_%s:   %s\n' "$label" "${failures[@]}" >&2
    fi
    echo "vm_$label: PASS"
    exit 0
  fi
  [[ $run == 1 ]] && echo "vm_$label: the first run failed (above): running it once more"
done
for f in "${failures[@]}"; do echo "vm_$label: FAIL: $f" >&2; done
exit 1
