#!/usr/bin/env bash
# test_sha256sum.sh — `patchcast sha256` agrees with coreutils sha256sum on
# generated files: empty, small, block-boundary sizes, random MiBs, and a
# sparse file larger than 4 GiB (exercises 64-bit lengths).
source "$(dirname "$0")/../lib.sh"

same_as_sha256sum() { # name file
    local a b
    a=$("$PC" sha256 "$2" | cut -d' ' -f1)
    b=$(sha256sum "$2" | cut -d' ' -f1)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then pass "$1"; else fail "$1" "patchcast '$a' vs sha256sum '$b'"; fi
}

: >"$TMP/empty"
same_as_sha256sum empty "$TMP/empty"
printf 'abc' >"$TMP/abc"
same_as_sha256sum abc "$TMP/abc"
for n in 55 56 63 64 65 65535 65536 65537; do
    head -c "$n" /dev/urandom >"$TMP/f$n"
    same_as_sha256sum "size_$n" "$TMP/f$n"
done
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$TMP/random"
same_as_sha256sum random_3MiB "$TMP/random"

# > 4 GiB sparse file with data at both ends.
big="$TMP/sparse"
printf 'head' >"$big"
truncate -s $((4 * 1024 * 1024 * 1024 + 4096 + 3)) "$big"
printf 'tail' >>"$big"
same_as_sha256sum sparse_over_4GiB "$big"
rm -f "$big"

check_fails missing_file "No such file" "$PC" sha256 "$TMP/does-not-exist"
finish
