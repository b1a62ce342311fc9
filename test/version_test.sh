#!/bin/sh
# version_test.sh KSCOPE SOURCE_DIR: `kscope --version` names the commit the
# source tree is at. The revision is looked up at every build
# (cmake/revision.cmake), so a build after new commits names the newest.
set -eu
want=$(git -C "$2" rev-parse --short=12 HEAD 2>/dev/null) || {
  echo "SKIPPED: $2 is not a git checkout, so there is no commit to compare"
  exit 77
}
got=$("$1" --version)
case $got in
  *"revision $want,"*) echo "ok: $got" ;;
  *) echo "FAIL: kscope --version says '$got'; the tree is at $want (rebuild?)"; exit 1 ;;
esac
