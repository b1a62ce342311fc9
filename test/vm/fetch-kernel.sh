#!/bin/bash
# fetch-kernel.sh SUITE: print the path of a vmlinuz from Debian suite SUITE
# (bullseye, bookworm, trixie, bookworm-backports, trixie-backports, sid, ...).
#
# The suite's current kernel is resolved at run time (versions move) through a
# private apt configuration, so the system's own apt state is never touched:
# its source entry is the system's Debian entry with only the suite changed
# (no archive host is written here), and the signed-by keyring is the system's.
# Kernels are cached by package version under ~/.cache/kscope/kernels, so a
# repeated run only refreshes the suite's package list.
#
# Any failure is loud: the suite and the cause on stderr, exit status 1.
set -euo pipefail

suite=${1:?usage: fetch-kernel.sh SUITE}
cache=${KSCOPE_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kscope/kernels}
state=$cache/apt/$suite

die() { echo "fetch-kernel.sh: cannot fetch the kernel of suite '$suite': $*" >&2; exit 1; }

# The system's deb822 stanza whose Suites holds its own codename, e.g. the
# bookworm entry (not bookworm-security).
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
entry=$(awk -v RS= -v c="$codename" '
  /(^|\n)Types:[^\n]*deb([ \n]|$)/ && match($0, /(^|\n)Suites:[^\n]*/) {
    s = substr($0, RSTART, RLENGTH); if (s ~ ("[: ]" c "( |$)")) { print; exit } }
' /etc/apt/sources.list.d/*.sources 2>/dev/null) ||
  true
[[ -n $entry ]] || die "no deb822 entry for '$codename' in /etc/apt/sources.list.d/*.sources"

mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/etc"
printf '%s\n' "$entry" | sed -E "s/^Suites:.*/Suites: $suite/" > "$state/etc/kscope.sources"
: > "$state/status"
apt=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$state/etc"
     -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
     -o Dir::State::status="$state/status" -o APT::Architectures=amd64
     -o Acquire::Languages=none -o Debug::NoLocking=1 -o APT::Sandbox::User=root -q)

# Refresh the suite's list; fails loudly on a network or signature problem.
log=$(apt-get "${apt[@]}" update 2>&1) || die "apt-get update failed: $log"
grep -qE '^(W|E):' <<<"$log" && die "apt-get update: $(grep -E '^(W|E):' <<<"$log")"

# linux-image-amd64 is a metapackage; the linux-image-<abi> it depends on is
# the kernel (from 7.x it also depends on linux-base-amd64 and others).
dep() { # dep PACKAGE PREFIX: the first dependency of PACKAGE named PREFIX*
  apt-cache "${apt[@]}" depends "$1" 2>/dev/null | awk -v p="$2" '
    $1 == "Depends:" && index($2, p) == 1 { print $2; exit }'
}
image=$(dep linux-image-amd64 linux-image-)
[[ -n $image ]] || die "linux-image-amd64 depends on no linux-image-<abi> in the suite's list"
version=$(apt-cache "${apt[@]}" show "$image" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
[[ -n $version ]] || die "no version of $image"

dir=$cache/$image-$version
if [[ ! -f $dir/vmlinuz ]]; then
  work=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # From 7.x the image package is split and vmlinuz lies in linux-binary-<abi>.
  pkgs=("$image")
  binary=$(dep "$image" linux-binary-)
  [[ -n $binary ]] && pkgs+=("$binary")
  (cd "$work" && apt-get "${apt[@]}" download "${pkgs[@]}" >/dev/null 2>"$work/err") ||
    die "apt-get download ${pkgs[*]}: $(cat "$work/err")"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
  # /boot/vmlinuz-<abi> up to 6.x; /usr/lib/modules/<abi>/vmlinuz from 7.x.
  vmlinuz=$(compgen -G "$work/root/boot/vmlinuz-*" ||
            compgen -G "$work/root/usr/lib/modules/*/vmlinuz") || true
  vmlinuz=${vmlinuz%%$'\n'*}
  [[ -n $vmlinuz ]] || die "no vmlinuz in ${pkgs[*]}"
  mkdir -p "$dir"
  cp "$vmlinuz" "$dir/vmlinuz.part" && mv "$dir/vmlinuz.part" "$dir/vmlinuz"
fi
echo "$dir/vmlinuz"
