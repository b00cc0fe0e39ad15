#!/usr/bin/env bash
# test_pcz_programs.sh — patches between two real programs (the CLI and
# the generator, built here): pcz picks mode 2 for x86-64 ELF files (mode
# 0 elsewhere), the CLI applies it byte for byte, and it is smaller than
# BSDIFF40, which stays byte-compatible (Debian's bspatch applies it); a
# damaged mode-2 patch is refused and leaves no output.
source "$(dirname "$0")/../lib.sh"

old="$TMP/old" new="$TMP/new"
cp "$PC" "$old"
cp "$PCGEN" "$new"
machine=$(od -An -tx1 -j18 -N2 "$old" | tr -d ' ')
want=0
[ "$machine" = "3e00" ] && want=2

check diff_pcz "$PCGEN" diff "$old" "$new" "$TMP/p.pcz"
mode=$(od -An -tu1 -j4 -N1 "$TMP/p.pcz" | tr -d ' ')
if [ "$mode" = "$want" ]; then pass mode_for_machine; else fail mode_for_machine "machine $machine gave mode $mode, want $want"; fi
check apply_pcz "$PC" apply "$old" "$TMP/p.pcz" "$TMP/out"
check same_bytes cmp "$TMP/out" "$new"

check diff_bsdiff40 "$PCGEN" diff "$old" "$new" "$TMP/p.bsdiff" --format bsdiff40
if [ "$(head -c 8 "$TMP/p.bsdiff")" = BSDIFF40 ]; then pass bsdiff40_magic; else fail bsdiff40_magic "no BSDIFF40 magic"; fi
pcz=$(stat -c %s "$TMP/p.pcz") bsd=$(stat -c %s "$TMP/p.bsdiff")
if [ "$pcz" -lt "$bsd" ]; then pass pcz_smaller; else fail pcz_smaller "pcz $pcz bytes, bsdiff40 $bsd"; fi
if command -v bspatch >/dev/null; then
    check debian_bspatch bspatch "$old" "$TMP/out2" "$TMP/p.bsdiff"
    check debian_same_bytes cmp "$TMP/out2" "$new"
fi

# One byte of the diff stream changed (just past the 208-byte header and
# the three control streams): refused, no output file.
size() { od -An -tu8 -j"$1" -N8 "$TMP/p.pcz" | tr -d ' '; }
at=$((208 + $(size 96) + $(size 120) + $(size 144) + 40))
cp "$TMP/p.pcz" "$TMP/bad.pcz"
printf '\x5a' | dd of="$TMP/bad.pcz" bs=1 seek="$at" conv=notrunc status=none
rm -f "$TMP/out3"
check_fails damaged_refused 'patch|SHA-256|xz|diff' "$PC" apply "$old" "$TMP/bad.pcz" "$TMP/out3"
if [ ! -e "$TMP/out3" ]; then pass damaged_no_output; else fail damaged_no_output "output left behind"; fi
finish
