#!/usr/bin/env bash
# demo.sh — `make demo`: what patchcast does today, end to end, with no server.
# Grows with each milestone; for now: keys, signing, verification (and
# interop with minisign), tamper detection.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
D="$B/demo"
rm -rf "$D"
mkdir -p "$D"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A signing key pair in minisign's format (secret key scrypt-encrypted)"
export PATCHCAST_PASSWORD=demo-password
"$B/patchcast-gen" keygen -p "$D/demo.pub" -s "$D/demo.key"
cat "$D/demo.pub"

step "2. A release file, its SHA-256, and a signature"
mkdir -p "$D/release"
printf 'patchcast demo release 1.0.0\n' >"$D/release/app.txt"
head -c 200000 /dev/urandom >"$D/release/app.bin"
tar -C "$D/release" -cf "$D/release-1.0.0.tar" .
"$B/patchcast" sha256 "$D/release-1.0.0.tar"
"$B/patchcast-gen" sign -s "$D/demo.key" -m "$D/release-1.0.0.tar" -t "demo release 1.0.0"
cat "$D/release-1.0.0.tar.minisig"

step "3. Verify with patchcast, and with minisign itself"
"$B/patchcast" verify -p "$D/demo.pub" -m "$D/release-1.0.0.tar"
minisign -V -p "$D/demo.pub" -m "$D/release-1.0.0.tar"

step "4. A one-byte change is caught"
cp "$D/release-1.0.0.tar" "$D/tampered.tar"
cp "$D/release-1.0.0.tar.minisig" "$D/tampered.tar.minisig"
printf 'X' | dd of="$D/tampered.tar" bs=1 seek=100 conv=notrunc status=none
if "$B/patchcast" verify -p "$D/demo.pub" -m "$D/tampered.tar"; then
    echo "demo: the tampered file verified — this is a bug" >&2
    exit 1
fi
echo "(refused, as it should be)"

step "Done"
echo "Files are in $D/. Next milestones add the site generator and the updater."
