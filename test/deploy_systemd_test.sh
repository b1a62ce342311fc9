#!/usr/bin/env bash
# deploy/systemd/kscope.service, checked by systemd's own tools and by running
# kscope the way the unit would:
#  1. systemd-analyze verify, on a copy whose ExecStart is the built binary
#     (verify wants it to exist); any finding about the unit fails;
#  2. the hardening the unit promises is there, and systemd-analyze security
#     rates its exposure at most 3.5 (threshold 35 on its 0-100 scale) ("OK");
#  3. kscope runs as the unit runs it: a user that is not root (nobody),
#     holding exactly the unit's AmbientCapabilities, with NoNewPrivileges
#     (setpriv), under strace: every probe attaches, it exits 0 on SIGTERM,
#     and every system call it made is in the unit's SystemCallFilter allow
#     list as systemd expands it.
# Usage: deploy_systemd_test.sh UNIT KSCOPE_BINARY. Needs root.
set -euo pipefail
unit=$1
binary=$(realpath "$2")
fail() {
  printf 'FAIL: %b\n' "$*"
  exit 1
}
for tool in systemd-analyze strace setpriv; do
  command -v "$tool" >/dev/null ||
    fail "$tool is not installed (apt-get install systemd strace util-linux; see deploy/debian-packages.txt)"
done
[ "$(id -u)" = 0 ] || fail "needs root: kscope loads BPF programs"
[ -x "$binary" ] || fail "$binary: not built"

tmp=$(mktemp -d /tmp/kscope-systemd-test-XXXXXX)
spid=
cleanup() {
  if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
    kill -KILL "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The unit's value(s) of a setting, one per line.
setting() { sed -n "s/^$1=//p" "$unit"; }

# 1. systemd-analyze verify.
grep -q '^ExecStart=/usr/local/bin/kscope\( \|$\)' "$unit" || fail "ExecStart is not /usr/local/bin/kscope"
sed "s|^ExecStart=/usr/local/bin/kscope|ExecStart=$binary|" "$unit" >"$tmp/kscope.service"
verify_status=0
verify=$(systemd-analyze verify "$tmp/kscope.service" 2>&1) || verify_status=$?
findings=$(printf '%s\n' "$verify" | grep 'kscope\.service' || true)
[ "$verify_status" = 0 ] && [ -z "$findings" ] ||
  fail "systemd-analyze verify (status $verify_status):\n$verify"
echo "systemd-analyze verify: clean"

# 2. Hardening.
for want in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
  Restart=on-failure DynamicUser=yes LimitMEMLOCK=infinity; do
  grep -qx "$want" "$unit" || fail "missing $want"
done
caps=$(setting CapabilityBoundingSet)
[ "$caps" = "CAP_BPF CAP_PERFMON CAP_DAC_READ_SEARCH" ] ||
  fail "CapabilityBoundingSet=$caps"
[ "$(setting AmbientCapabilities)" = "$caps" ] || fail "AmbientCapabilities differs from the bounding set"
security_status=0
security=$(systemd-analyze security --offline=true --threshold=35 "$tmp/kscope.service" 2>&1) ||
  security_status=$?
printf '%s\n' "$security" | tail -n 1
[ "$security_status" = 0 ] || fail "systemd-analyze security: exposure above 3.5:\n$security"

# 3. Run kscope as the unit would, under strace.
bounding=-all
for c in $caps; do
  c=${c#CAP_}
  bounding+=",+${c,,}"
done
printf 'sample_interval: 100ms\n' >"$tmp/kscope.yml"
chmod 0755 "$tmp"
chmod 0644 "$tmp/kscope.yml"
install -o 65534 -m 0600 /dev/null "$tmp/trace" # strace writes it as nobody
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$bounding" \
  --ambient-caps="$bounding" --bounding-set="$bounding" --no-new-privs -- \
  strace -f -qq -o "$tmp/trace" "$binary" --web.listen-address=127.0.0.1:0 \
  --config.file="$tmp/kscope.yml" >"$tmp/log" 2>&1 &
spid=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$tmp/log")
  [ -n "$port" ] && break
  kill -0 "$spid" 2>/dev/null || fail "kscope exited:\n$(cat "$tmp/log")"
  sleep 0.1
done
[ -n "$port" ] || fail "kscope did not start:\n$(cat "$tmp/log")"
scrape() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}
metrics=
for _ in $(seq 100); do
  metrics=$(scrape)
  samples=$(printf '%s\n' "$metrics" | sed -n 's/^kscope_samples_total \([0-9]*\).*/\1/p')
  [ "${samples:-0}" -ge 3 ] && break
  sleep 0.1
done
probes=$(printf '%s\n' "$metrics" | grep '^kscope_probe_up{' || true)
printf '%s\n' "$probes"
[ "$(printf '%s\n' "$probes" | grep -c ' 1$')" = 3 ] ||
  fail "not every probe attached with $bounding:\n$probes\n$(cat "$tmp/log")"
kpid=$(awk 'NR == 1 { print $1 }' "$tmp/trace")
kill -TERM "$kpid"
status=0
wait "$spid" || status=$?
spid=
[ "$status" = 0 ] || fail "kscope exited with status $status after SIGTERM:\n$(cat "$tmp/log")"

expand() {
  local g
  for g in "$@"; do
    case $g in
      @*) expand $(systemd-analyze syscall-filter "$g" | sed -n 's/^ \+\([@a-z0-9_-]\+\)$/\1/p') ;;
      *) echo "$g" ;;
    esac
  done
}
filter=$(setting SystemCallFilter)
[ -n "$filter" ] && [ "${filter#\~}" = "$filter" ] || fail "expected an allow-list SystemCallFilter="
expand $filter | sort -u >"$tmp/allowed"
sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' "$tmp/trace" | sort -u >"$tmp/used"
[ -s "$tmp/used" ] || fail "strace recorded no system call"
denied=$(comm -23 "$tmp/used" "$tmp/allowed")
[ -z "$denied" ] || fail "system calls kscope made that SystemCallFilter=$filter denies:\n$denied"
echo "kscope made $(wc -l <"$tmp/used") distinct system calls, all allowed by SystemCallFilter=$filter"
echo "PASS"
