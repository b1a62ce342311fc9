#!/bin/busybox sh
# /init of the test VM (busybox sh). Mounts what kscope needs, runs the checks
# once per attach mode and writes one result line per check to the second
# serial port (/dev/ttyS1), which the host parses (run-kernel.sh); the test
# output goes there too, the kernel console stays on ttyS0. Then powers off.
#
# /vm.env (written by make-initramfs.sh) sets KSCOPE_MODES, KSCOPE_GTEST_FILTER
# and KSCOPE_BENCH. Result lines:
#   KSCOPE-VM kernel <release>        KSCOPE-VM btf yes|no
#   KSCOPE-VM boot <s>                (uptime when /init starts)
#   KSCOPE-VM result <mode> <check> PASS|FAIL <s> <detail>
#   KSCOPE-VM bench <mode> <ns per read>
#   KSCOPE-VM finished <s>
/bin/busybox --install -s /bin
export PATH=/bin:/opt/kscope
. /vm.env

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /sys/fs/cgroup /sys/fs/bpf /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs tmpfs /tmp
ip link set lo up

exec >/dev/ttyS1 2>&1
uptime_s() { cut -d' ' -f1 /proc/uptime; }
say() { echo "KSCOPE-VM $*"; }
since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }

say kernel "$(uname -r)"
say btf "$([ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
say boot "$(uptime_s)"

# The known-count BPF tests with every module's attach mode set to $1. A run
# that skips a test or runs none fails: in this VM everything must run.
check_gtest() {
  t0=$(uptime_s)
  echo "=== $1: kscope_bpf_tests --gtest_filter=$KSCOPE_GTEST_FILTER"
  KSCOPE_TEST_ATTACH=$1 kscope_bpf_tests --gtest_filter="$KSCOPE_GTEST_FILTER" \
    >/tmp/gtest.out 2>&1
  rc=$?
  cat /tmp/gtest.out
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' /tmp/gtest.out)
  if [ "$rc" = 0 ] && [ "${passed:-0}" -gt 0 ] && ! grep -q '^\[  SKIPPED \]' /tmp/gtest.out; then
    say result "$1" gtest PASS "$(since "$t0")" "$passed tests"
  else
    say result "$1" gtest FAIL "$(since "$t0")" "exit $rc, ${passed:-0} passed (or skipped)"
  fi
}

# Starts kscope with flags $2... on 127.0.0.1:$1, saves in /tmp/metrics its
# first /metrics that has kscope_probe_up for fd, vfs and process (each
# probe's start has ended, attached or not), stops it. Fails, with
# /tmp/metrics empty, when no such scrape came (kscope exited or a minute
# passed).
serve_metrics() {
  port=$1
  shift
  : >/tmp/metrics
  kscope "$@" --web.listen-address=127.0.0.1:"$port" >/tmp/kscope.log 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if wget -q -O /tmp/scrape "http://127.0.0.1:$port/metrics" 2>/dev/null &&
      [ "$(grep -Ec '^kscope_probe_up\{probe="(fd|vfs|process)"\}' /tmp/scrape)" = 3 ]; then
      mv /tmp/scrape /tmp/metrics
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null
  wait "$pid"
  [ -s /tmp/metrics ]
}

# The kscope binary with fd, vfs and process in mode $1 on port $2: every
# probe up, fd's attach kind is $1 (any kind for auto).
check_kscope() {
  t0=$(uptime_s)
  mode=$1 port=$2
  echo "=== $mode: kscope on 127.0.0.1:$port"
  printf 'modules: {fd: {attach: %s}, vfs: {attach: %s}, process: {attach: %s}}\n' \
    "$mode" "$mode" "$mode" >/tmp/kscope.yaml
  note=
  if ! serve_metrics "$port" --config.file=/tmp/kscope.yaml &&
    grep -q 'modules.fd.attach: unknown key' /tmp/kscope.log; then
    # This kscope predates modules.<m>.attach: check it with its defaults.
    cat /tmp/kscope.log
    note="; NOTE: this kscope has no modules.<m>.attach, ran without config"
    serve_metrics "$port"
  fi
  cat /tmp/kscope.log
  grep '^kscope_probe' /tmp/metrics 2>/dev/null
  want=$mode
  [ "$mode" = auto ] && want='[a-z_]*'
  detail=
  [ -s /tmp/metrics ] || detail="no /metrics with kscope_probe_up for fd, vfs and process;"
  for probe in fd vfs process; do
    grep -q "^kscope_probe_up{probe=\"$probe\"} 1\$" /tmp/metrics 2>/dev/null ||
      detail="$detail probe_up{$probe} not 1;"
  done
  grep -Eq "^kscope_probe_attach_info\{(attach=\"$want\",probe=\"fd\"|probe=\"fd\",attach=\"$want\")\} 1\$" \
    /tmp/metrics 2>/dev/null || detail="$detail no probe_attach_info{probe=fd,attach=$mode} 1;"
  if [ -z "$detail" ]; then
    say result "$mode" kscope PASS "$(since "$t0")" "$(grep '^kscope_probe_attach_info' /tmp/metrics |
      sed -n 's/.*attach="\([^"]*\)".*probe="\([^"]*\)".*/\2=\1/p' | tr '\n' ' ')$note"
  else
    say result "$mode" kscope FAIL "$(since "$t0")" "$detail$note"
  fi
}

port=9822
for mode in $(echo "$KSCOPE_MODES" | tr , ' '); do
  check_gtest "$mode"
  check_kscope "$mode" "$port"
  port=$((port + 1))
done

if [ -n "$KSCOPE_BENCH" ] && [ -x /opt/kscope/kscope_bench ]; then
  echo "=== bench: $KSCOPE_BENCH"
  # shellcheck disable=SC2086 # KSCOPE_BENCH holds several flags
  kscope_bench $KSCOPE_BENCH 2>&1
fi

say finished "$(uptime_s)"
sync
poweroff -f
