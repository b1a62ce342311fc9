#!/bin/bash
# make-initramfs.sh OUT BINARY... [-- NAME=VALUE...]: write OUT, an
# uncompressed newc cpio for the test VM holding busybox (static), /init
# (init.sh), the BINARYs under /opt/kscope with every shared library they need
# (ldd, the dynamic loader included) at the paths the loader looks for them,
# and /vm.env with the NAME=VALUE lines that init.sh reads.
# Uncompressed: the kernel unpacks it faster under TCG than it inflates gzip.
set -euo pipefail

out=${1:?usage: make-initramfs.sh OUT BINARY... [-- NAME=VALUE...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "make-initramfs.sh: $*" >&2; exit 1; }

busybox=/bin/busybox
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static: install busybox-static"
command -v cpio >/dev/null || die "cpio not installed"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,opt/kscope}
cp "$busybox" "$root/bin/busybox"
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
# The console /init starts on, before devtmpfs is mounted.
mknod -m 600 "$root/dev/console" c 5 1 || die "mknod dev/console: needs root"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"

# Binaries, debug info stripped (smaller image, faster to unpack), and their
# libraries at the paths ldd resolves them to.
while [[ $# -gt 0 && $1 != -- ]]; do
  bin=$1
  shift
  [[ -x $bin ]] || die "no executable $bin"
  strip --strip-debug -o "$root/opt/kscope/$(basename "$bin")" "$bin"
  libs=$(ldd "$bin") || die "ldd $bin failed"
  grep -q 'not found' <<<"$libs" && die "ldd $bin: $(grep 'not found' <<<"$libs")"
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$libs" |
    while read -r lib; do
      [[ -e $root$lib ]] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
done
[[ ${1-} == -- ]] && shift
for var in "$@"; do printf "%s='%s'\n" "${var%%=*}" "${var#*=}"; done >"$root/vm.env"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$out.part"
mv "$out.part" "$out"
