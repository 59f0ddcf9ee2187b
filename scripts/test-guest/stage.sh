#!/bin/bash
# Build (or reuse) the test guest and copy its small outputs (ISO, SSH keys)
# into the checkout's .cache/test-guest, which the VirtualBox sandbox can see
# (it binds the checkout and /tmp, not /var/cache).
#
#   scripts/test-guest/stage.sh        (as root)
# Environment: HOSTED_TEST_GUEST_BUILD (build dir, default /var/cache/hosted-test-guest)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/../.." && pwd)"
build="${HOSTED_TEST_GUEST_BUILD:-/var/cache/hosted-test-guest}"
"$here/build.sh" "$build" >/dev/null
dest="$project/.cache/test-guest"
mkdir -p "$dest"
cp -u "$build/test-guest.iso" "$dest/"
rm -rf "$dest/ssh" && cp -r "$build/ssh" "$dest/ssh"
chmod 600 "$dest/ssh/test_key"
echo "$dest"
