#!/bin/busybox sh
# /init of the test VM (busybox sh). Mounts what kscope needs, runs the checks
# once per attach mode and writes one result line per check to the second
# serial port (/dev/ttyS1), which the host parses (run-kernel.sh); the test
# output goes there too, the kernel console stays on ttyS0. Then powers off.
#
# /vm.env (written by make-initramfs.sh) sets KSCOPE_MODES, KSCOPE_GTEST_FILTER,
# KSCOPE_GTEST_FILTER_AUTO and KSCOPE_BENCH. Result lines:
#   KSCOPE-VM kernel <release>        KSCOPE-VM btf yes|no
#   KSCOPE-VM boot <s>                (uptime when /init starts)
#   KSCOPE-VM result <mode> <check> PASS|FAIL <s> <detail>
#   KSCOPE-VM bench <mode> <ns per 1-byte read+write>
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
while_up= # a command serve_metrics runs while kscope is up
uptime_s() { cut -d' ' -f1 /proc/uptime; }
say() { echo "KSCOPE-VM $*"; }
since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }

say kernel "$(uname -r)"
say btf "$([ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
say boot "$(uptime_s)"

# KSCOPE_RUN (test/vm/bench-in-vm.sh): run this command line instead of the
# checks, with bpftrace where kscope_bench looks for it, then power off.
if [ -n "${KSCOPE_RUN:-}" ]; then
  mkdir -p /usr/bin /sys/kernel/debug
  [ -x /opt/kscope/bpftrace ] && ln -sf /opt/kscope/bpftrace /usr/bin/bpftrace
  mount -t debugfs debugfs /sys/kernel/debug
  mount -t tracefs tracefs /sys/kernel/tracing
  $KSCOPE_RUN
  say finished "$(uptime_s)"
  sync
  poweroff -f
fi

# The known-count BPF tests with every module's attach mode set to $1. A run
# that skips a test or runs none fails: in this VM everything must run.
check_gtest() {
  t0=$(uptime_s)
  filter=$KSCOPE_GTEST_FILTER
  # Under auto (the family kscope itself picks) also KSCOPE_GTEST_FILTER_AUTO:
  # per-cgroup attribution in full, once per kernel.
  [ "$1" = auto ] && [ -n "${KSCOPE_GTEST_FILTER_AUTO:-}" ] && filter=$filter:$KSCOPE_GTEST_FILTER_AUTO
  echo "=== $1: kscope_bpf_tests --gtest_filter=$filter"
  KSCOPE_TEST_ATTACH=$1 kscope_bpf_tests --gtest_filter="$filter" \
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
# probe's start has ended, attached or not), runs $while_up if set, stops
# it. Fails, with /tmp/metrics empty, when no such scrape came (kscope
# exited or a minute passed).
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
      $while_up
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
# probe up and attached by family $1 (any family for auto). prometheus-cpp
# writes labels in name order: attach before probe.
check_kscope() {
  t0=$(uptime_s)
  mode=$1 port=$2
  echo "=== $mode: kscope on 127.0.0.1:$port"
  printf 'modules: {fd: {attach: %s}, vfs: {attach: %s}, process: {attach: %s}}\n' \
    "$mode" "$mode" "$mode" >/tmp/kscope.yaml
  note='' config=--config.file=/tmp/kscope.yaml
  if ! serve_metrics "$port" $config &&
    grep -q 'modules.fd.attach: unknown key' /tmp/kscope.log; then
    # This kscope predates modules.<m>.attach: check it with its defaults.
    cat /tmp/kscope.log
    note="; NOTE: this kscope has no modules.<m>.attach, ran without config"
    config=
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
    grep -Eq "^kscope_probe_attach_info\{attach=\"$want\",probe=\"$probe\"\} 1\$" \
      /tmp/metrics 2>/dev/null || detail="$detail no probe_attach_info{probe=$probe,attach=$mode} 1;"
  done
  if [ -z "$detail" ]; then
    say result "$mode" kscope PASS "$(since "$t0")" "$(grep '^kscope_probe_attach_info' /tmp/metrics |
      sed -n 's/.*attach="\([^"]*\)".*probe="\([^"]*\)".*/\2=\1/p' | tr '\n' ' ')$note"
  else
    say result "$mode" kscope FAIL "$(since "$t0")" "$detail$note"
    # Again at debug level, for libbpf's reasons (the verifier's log).
    echo "=== $mode: kscope --log.level=debug, libbpf's failures"
    serve_metrics "$port" $config --log.level=debug
    grep -E 'level=(error|warn)|LOAD LOG|failed' /tmp/kscope.log | head -n 40
  fi
}

port=9822
for mode in $(echo "$KSCOPE_MODES" | tr , ' '); do
  check_gtest "$mode"
  check_kscope "$mode" "$port"
  port=$((port + 1))
done

# Cost: ns per 1-byte read(2) + write(2) pair (busybox dd bs=1), best of 3,
# untraced and with kscope attached in each mode: "bench <mode> <ns>".
# KSCOPE_BENCH is the number of pairs per measurement; empty: no benchmark.
bench_dd() {
  best=
  for _ in 1 2 3; do
    t0=$(uptime_s)
    dd if=/dev/zero of=/dev/null bs=1 count="$KSCOPE_BENCH" 2>/dev/null
    ns=$(awk -v a="$t0" -v b="$(uptime_s)" -v n="$KSCOPE_BENCH" 'BEGIN { printf "%.0f", (b - a) * 1e9 / n }')
    [ -z "$best" ] || [ "$ns" -lt "$best" ] && best=$ns
  done
  say bench "$1" "$best"
}
if [ -n "$KSCOPE_BENCH" ]; then
  bench_dd untraced
  for mode in $(echo "$KSCOPE_MODES" | tr , ' '); do
    printf 'modules: {fd: {attach: %s}, vfs: {attach: %s}, process: {attach: %s}}\n' \
      "$mode" "$mode" "$mode" >/tmp/kscope.yaml
    while_up="bench_dd $mode"
    serve_metrics "$port" --config.file=/tmp/kscope.yaml ||
      say bench "$mode" "kscope did not come up: $(tail -n 3 /tmp/kscope.log)"
    while_up=
    port=$((port + 1))
  done
fi

say finished "$(uptime_s)"
sync
poweroff -f
