#!/usr/bin/env bash
# test_release_patch.sh — whole-release patches (docs/format.md §5, §7)
# end to end: a history with renamed, moved, duplicated, deleted and added
# files built into a site, updates through a real client, the planner's
# choice both ways, the fallback to per-file patches when an installed file
# is damaged or missing, a file size limit met while one is decoded, a
# tampered release patch refused before it is decoded, none made where it
# would be one file's patch, and the site check, mirror and gc that know
# the patch.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
source "$(dirname "$0")/signed.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
newroot() { rm -rf "$1"; "$PC" init --root "$1" --repo "${2:-$TMP/site}" -p k.pub >/dev/null; }
# delta FROM TO EXPR: EXPR (Python, d the delta document) of the edge's delta.
delta() {
    python3 - site "$1" "$2" "$3" <<'PY'
import json, os, sys
site, a, b, expr = sys.argv[1:]
r = json.load(open(os.path.join(site, "repo.json")))
e = [e for e in r["edges"] if e["from"] == a and e["to"] == b][0]
d = json.load(open(os.path.join(site, "deltas", e["delta"]["sha256"] + ".json")))
print(eval(expr))
PY
}
# release_path FROM TO: the site path of the edge's release patch.
release_path() {
    delta "$1" "$2" '"patches/%s/%s-%s" % (d["release"]["from_sha256"][:2], d["release"]["from_sha256"], d["release"]["to_sha256"])'
}

# --- the history ------------------------------------------------------------
# 1.0.0: text and binary files, one content at two paths, an empty file.
v=rel/1.0.0
mkdir -p "$v/src" "$v/lib" "$v/old" "$v/dir" "$v/docs"
seq 1 6000 | awk '{print "export const a" $1 " = " $1 ";"}' >"$v/src/a.js"
seq 1 5000 | awk '{print "function b" $1 "() { return " $1 " * 2; }"}' >"$v/src/b.js"
head -c 60000 /dev/urandom >"$v/lib/data.bin"
head -c 30000 /dev/urandom >"$v/lib/tool"
chmod 755 "$v/lib/tool"
seq -f 'line %g of a file that will be renamed' 1 3000 >"$v/old/name.txt"
seq -f 'line %g of a file that will move' 1 2000 >"$v/dir/moved.txt"
seq -f 'documentation %g' 1 2500 >"$v/docs/readme.txt"
cp "$v/docs/readme.txt" "$v/docs/readme-copy.txt"
printf 'deleted in 1.1.0\n' >"$v/gone.txt"
: >"$v/empty.txt"
# 1.1.0: edits; a rename with an edit; a move; a move with an edit (the
# executable lib/tool to bin/tool); a file deleted; a new file
# made of pieces of two old ones; one new content at two paths; data.bin
# replaced by other random bytes (no patch pays off for it).
cp -a "$v" rel/1.1.0
v=rel/1.1.0
sed -i 's/^export const a100 = 100;$/export const a100 = 101;/' "$v/src/a.js"
sed -i 's/return 4000 \* 2;/return 4000 * 3;/' "$v/src/b.js"
mv "$v/old/name.txt" "$v/old/new-name.txt"
sed -i 's/^line 10 of/line ten of/' "$v/old/new-name.txt"
mkdir -p "$v/elsewhere"
mv "$v/dir/moved.txt" "$v/elsewhere/moved.txt"
rm "$v/gone.txt"
mkdir -p "$v/new"
{ head -n 3000 "$v/src/b.js"; head -n 4000 "$v/src/a.js"; } >"$v/new/added.js"
printf 'both paths have this new content\n' >"$v/new/dup1.txt"
cp "$v/new/dup1.txt" "$v/new/dup2.txt"
head -c 60000 /dev/urandom >"$v/lib/data.bin"
printf 'x' | dd of="$v/lib/tool" bs=1 seek=100 conv=notrunc status=none
mkdir -p "$v/bin" && mv "$v/lib/tool" "$v/bin/tool"
# 1.2.0: data.bin back to 1.0.0's bytes, one line edited.
cp -a "$v" rel/1.2.0
v=rel/1.2.0
cp rel/1.0.0/lib/data.bin "$v/lib/data.bin"
sed -i 's/^documentation 7$/documentation seven/' "$v/docs/readme.txt"
# 1.3.0: data.bin replaced by new random bytes alone: its object costs less
# than any patch, the release patch is left out (and noted).
cp -a "$v" rel/1.3.0
head -c 60000 /dev/urandom >rel/1.3.0/lib/data.bin

"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
echo '{"product": "demo", "skip_edges": 0}' >cfg.json
if ! "$PCGEN" build rel -o site -s k.key --config cfg.json >build.out 2>&1; then
    fail setup "build: $(tail -3 build.out)"
    finish
fi

# --- the generator ---------------------------------------------------------
rp=$(release_path 1.0.0 1.1.0 2>/dev/null)
if [ -n "$rp" ] && [ -f "site/$rp" ] && [ "$(delta 1.0.0 1.1.0 'd["release"]["size"]')" = "$(stat -c %s "site/$rp")" ]; then
    pass release_patch_named_in_delta
else fail release_patch_named_in_delta "no release patch for 1.0.0 -> 1.1.0: $(grep -i release build.out)"; fi
# It makes every content 1.1.0 adds, each once (dup1 and dup2 are one), and
# is smaller than the per-file download of the edge.
out=$(delta 1.0.0 1.1.0 '(len(d["release"]["files"]), d["release"]["size"] < [e for e in __import__("json").load(open("site/repo.json"))["edges"] if e["from"] == "1.0.0" and e["to"] == "1.1.0"][0]["bytes"])' 2>&1)
[ "$out" = "(7, True)" ] && pass release_lists_new_contents_once ||
    fail release_lists_new_contents_once "$out"
# Per-file patches stay beside it; the renamed file is patched from its old
# path's content (a rename is found without the release patch too).
old_sha=$(sha256sum rel/1.0.0/old/name.txt | cut -d' ' -f1)
out=$(delta 1.0.0 1.1.0 '[p["from_sha256"] for p in d["patches"] if p["path"] == "old/new-name.txt"]')
[ "$out" = "['$old_sha']" ] && pass rename_patched_from_old_path || fail rename_patched_from_old_path "$out"
old_sha=$(sha256sum rel/1.0.0/lib/tool | cut -d' ' -f1)
out=$(delta 1.0.0 1.1.0 '[p["from_sha256"] for p in d["patches"] if p["path"] == "bin/tool"]')
[ "$out" = "['$old_sha']" ] && pass move_patched_from_old_path || fail move_patched_from_old_path "$out"
out=$("$PCGEN" verify site -p k.pub 2>&1) && pass site_verifies || fail site_verifies "$out"
# `patchcast-gen diff --release` makes the same patch from the two folders.
out=$("$PCGEN" diff --release rel/1.0.0 rel/1.1.0 cli.pcz 2>&1)
cmp -s cli.pcz "site/$rp" && echo "$out" | grep -q "7 new contents" && pass diff_release_cli ||
    fail diff_release_cli "$out"
# Left out where it is no smaller than the per-file download, and noted.
out=$(delta 1.2.0 1.3.0 '("release" in d, d.get("x-release-size", 0) > 0)' 2>&1)
[ "$out" = "(False, True)" ] && pass release_left_out_and_noted || fail release_left_out_and_noted "$out"
# A second build takes the previous delta's release patches (checked by
# their hash) and notes, computing none again.
"$PCGEN" build rel -o site -s k.key --config cfg.json >build2.out 2>&1
grep -q "release patch 1.0.0 -> 1.1.0: .*(reused)" build2.out && [ -f "site/$rp" ] &&
    ! grep -q "release patches\]" build2.out && "$PCGEN" verify site -p k.pub >/dev/null 2>&1 &&
    pass release_patch_reused || fail release_patch_reused "$(grep -i release build2.out)"

# --- round trip: the client takes the release patch ---------------------------
newroot r1
"$PC" update --root r1 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" check --root r1 --to 1.1.0 --json 2>&1)
[ "$(echo "$out" | json '["release_patch"]')" = True ] &&
    [ "$(echo "$out" | json '["downloaded_bytes"]')" = "$(stat -c %s "site/$rp")" ] &&
    pass check_prices_release_patch || fail check_prices_release_patch "$out"
out=$("$PC" update --root r1 --to 1.1.0 --json 2>&1)
if [ "$(echo "$out" | json '["release_patch"]')" = True ] && same_tree r1/current/ rel/1.1.0/ &&
    [ "$(echo "$out" | json '["downloaded_bytes"]')" = "$(stat -c %s "site/$rp")" ]; then
    pass update_by_release_patch
else fail update_by_release_patch "$out"; fi
# No scratch left behind, and the cache is emptied as after any update.
left=$(find r1/staging r1/cache -type f 2>/dev/null | wc -l)
[ "$left" = 0 ] && pass no_leftovers || fail no_leftovers "$left files in staging or cache"

# --- the planner, both ways ----------------------------------------------------
# 1.1.0 -> 1.2.0 brings back 1.0.0's data.bin. An install holding only 1.1.0
# downloads the release patch; one that still has 1.0.0 (the previous
# version, kept) copies data.bin from it and needs only a small per-file patch.
rp2=$(release_path 1.1.0 1.2.0 2>/dev/null)
if [ -z "$rp2" ]; then
    fail planner_takes_release_when_cheaper "no release patch for 1.1.0 -> 1.2.0: $(grep -i 'release\|edge' build.out)"
    fail planner_takes_per_file_when_cheaper "no release patch for 1.1.0 -> 1.2.0"
else
    newroot r2
    "$PC" update --root r2 --to 1.1.0 >/dev/null 2>&1
    out=$("$PC" update --root r2 --to 1.2.0 --json 2>&1)
    [ "$(echo "$out" | json '["release_patch"]')" = True ] && same_tree r2/current/ rel/1.2.0/ &&
        pass planner_takes_release_when_cheaper || fail planner_takes_release_when_cheaper "$out"
    out=$("$PC" update --root r1 --to 1.2.0 --json 2>&1)
    dl=$(echo "$out" | json '["downloaded_bytes"]')
    if [ "$(echo "$out" | json '["release_patch"]')" = False ] && same_tree r1/current/ rel/1.2.0/ &&
        [ "$dl" -lt "$(stat -c %s "site/$rp2")" ]; then
        pass planner_takes_per_file_when_cheaper
    else fail planner_takes_per_file_when_cheaper "$out"; fi
fi

# --- damage: per-file patches instead, what builds on the damaged file
# (src/b.js, and new/added.js patched from it) fetched whole ----------------
# (src/b.js is the reference's only copy of its content; a damaged second
# copy of a content, like docs/readme.txt beside docs/readme-copy.txt, is
# not part of the reference.)
newroot r3
"$PC" update --root r3 --to 1.0.0 >/dev/null 2>&1
sed -i "s/return 7 \\* 2;/return 7 * 3;/" r3/versions/1.0.0/src/b.js
out=$("$PC" update --root r3 --to 1.1.0 --json 2>&1)
if [ "$(echo "$out" | json '["release_patch"]')" = False ] && same_tree r3/current/ rel/1.1.0/ &&
    [ "$(echo "$out" | python3 -c "import json,sys; print('src/b.js' in json.load(sys.stdin)['refetched'])")" = True ]; then
    pass damaged_reference_falls_back_per_file
else fail damaged_reference_falls_back_per_file "$out"; fi
newroot r4
"$PC" update --root r4 --to 1.0.0 >/dev/null 2>&1
rm r4/versions/1.0.0/src/a.js
out=$("$PC" update --root r4 --to 1.1.0 --json 2>&1)
[ "$(echo "$out" | json '["release_patch"]')" = False ] && same_tree r4/current/ rel/1.1.0/ &&
    pass missing_reference_falls_back_per_file || fail missing_reference_falls_back_per_file "$out"
# A link planted in place of a reference file is not followed.
newroot r5
"$PC" update --root r5 --to 1.0.0 >/dev/null 2>&1
cp r5/versions/1.0.0/lib/tool tool && rm r5/versions/1.0.0/lib/tool && ln -s "$TMP/tool" r5/versions/1.0.0/lib/tool
out=$("$PC" update --root r5 --to 1.1.0 --json 2>&1)
[ "$(echo "$out" | json '["release_patch"]')" = False ] && same_tree r5/current/ rel/1.1.0/ &&
    pass linked_reference_falls_back_per_file || fail linked_reference_falls_back_per_file "$out"
# A FIFO in place of a reference file (nobody writes to it) is refused at
# once, not waited on.
newroot r5f
"$PC" update --root r5f --to 1.0.0 >/dev/null 2>&1
rm r5f/versions/1.0.0/src/b.js && mkfifo r5f/versions/1.0.0/src/b.js
out=$(timeout -s KILL 120 "$PC" update --root r5f --to 1.1.0 --json 2>&1); rc=$?
[ "$rc" = 0 ] && [ "$(echo "$out" | json '["release_patch"]')" = False ] && same_tree r5f/current/ rel/1.1.0/ &&
    pass fifo_reference_falls_back_per_file || fail fifo_reference_falls_back_per_file "exit $rc: $out"

# --- a file size limit (ulimit -f) while the release patch is decoded -------
# A write past it fails and says so (not SIGXFSZ killing the update without
# a word); the installed version stays, and the next update completes.
newroot r5x
"$PC" update --root r5x --to 1.0.0 >/dev/null 2>&1
out=$( (ulimit -f 200; "$PC" update --root r5x --to 1.1.0) 2>&1); rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q "patch: write: File too large" &&
    same_tree r5x/current/ rel/1.0.0/ && [ -z "$(ls r5x/staging)" ] &&
    "$PC" update --root r5x --to 1.1.0 >/dev/null 2>&1 && same_tree r5x/current/ rel/1.1.0/; then
    pass file_size_limit_fails_cleanly
else fail file_size_limit_fails_cleanly "exit $rc: $(echo "$out" | tail -1)"; fi

# --- a mirror without the release patch (half synced, pruned by hand): the
# update takes per-file patches --------------------------------------------------
rm -rf msite && cp -a site msite && rm "msite/$rp"
newroot r6m "$TMP/msite"
"$PC" update --root r6m --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root r6m --to 1.1.0 --json 2>r6m.err); rc=$?
if [ "$rc" = 0 ] && [ "$(echo "$out" | json '["release_patch"]')" = False ] &&
    same_tree r6m/current/ rel/1.1.0/; then
    pass missing_release_patch_falls_back_per_file
else fail missing_release_patch_falls_back_per_file "exit $rc: $out $(tail -2 r6m.err)"; fi

# --- a tampered release patch is refused before it is decoded ----------------
rm -rf asite && cp -a site asite
printf 'evil' | dd of="asite/$rp" bs=1 seek=300 conv=notrunc status=none
newroot r6 "$TMP/asite"
"$PC" update --root r6 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root r6 --to 1.1.0 2>&1); rc=$?
if [ "$rc" = 3 ] && echo "$out" | grep -Eq "patches/.*: content has SHA-256 [0-9a-f]{64}, not the one in the metadata" &&
    same_tree r6/current/ rel/1.0.0/ && [ "$(readlink r6/current)" = versions/1.0.0 ]; then
    pass tampered_release_patch_refused
else fail tampered_release_patch_refused "exit $rc: $(echo "$out" | tail -1)"; fi
out=$("$PCGEN" verify asite -p k.pub 2>&1) && fail verify_finds_tampered_release "verify passed" ||
    { echo "$out" | grep -q "$rp" && pass verify_finds_tampered_release ||
        fail verify_finds_tampered_release "$out"; }

# A release patch that does not apply though its hash is the signed one (a
# bug in the generator, or a publisher's key misused): the update takes the
# per-file patches instead, after downloading it.
rm -rf bsite && cp -a site bsite
python3 - bsite "$rp" <<'PY'
import hashlib, json, os, sys
site, rp = sys.argv[1:]
p = os.path.join(site, rp)
b = bytearray(open(p, "rb").read())
for i in range(220, len(b), 7):  # the stream, not the header
    b[i] ^= 0x55
open(p, "wb").write(b)
r = json.load(open(os.path.join(site, "repo.json")))
e = [e for e in r["edges"] if e["from"] == "1.0.0" and e["to"] == "1.1.0"][0]
d = json.load(open(os.path.join(site, "deltas", e["delta"]["sha256"] + ".json")))
d["release"]["sha256"] = hashlib.sha256(b).hexdigest()
text = json.dumps(d, separators=(",", ":")).encode() + b"\n"
h = hashlib.sha256(text).hexdigest()
open(os.path.join(site, "deltas", h + ".json"), "wb").write(text)
e["delta"] = {"sha256": h, "size": len(text)}
r["serial"] += 1
open(os.path.join(site, "repo.json"), "w").write(json.dumps(r, indent="\t") + "\n")
PY
resign bsite
newroot r7 "$TMP/bsite"
"$PC" update --root r7 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root r7 --to 1.1.0 --json 2>&1)
[ "$(echo "$out" | json '["release_patch"]')" = False ] && same_tree r7/current/ rel/1.1.0/ &&
    [ "$(echo "$out" | json '["downloaded_bytes"]')" -gt "$(stat -c %s "bsite/$rp")" ] &&
    pass broken_release_patch_falls_back_per_file ||
    fail broken_release_patch_falls_back_per_file "$out"

# --- an edge that is one file's patch ------------------------------------------
# A version of one file whose size is a whole number of pages is its own
# reference; with one new content, the release patch would be that file's
# patch, at the per-file patch's site path. None is made: a bsdiff40
# per-file patch there is neither replaced nor deleted.
mkdir -p one/rel/1.0.0 one/rel/1.1.0
seq 1 100000 | head -c 16384 >one/rel/1.0.0/a.txt
sed 's/^500$/five hundred/' one/rel/1.0.0/a.txt >one/rel/1.1.0/a.txt
echo '{"product": "demo", "skip_edges": 0, "patch_format": "bsdiff40"}' >one/cfg.json
"$PCGEN" build one/rel -o one/site -s k.key --config one/cfg.json >one/build.out 2>&1
out=$("$PCGEN" verify one/site -p k.pub 2>&1) && grep -q "no release patch 1.0.0 -> 1.1.0 (one file's patch)" one/build.out &&
    pass one_file_edge_keeps_its_patch || fail one_file_edge_keeps_its_patch "$out"
newroot r8 "$TMP/one/site"
"$PC" update --root r8 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root r8 --to 1.1.0 --json 2>&1)
[ "$(echo "$out" | json '["release_patch"]')" = False ] && same_tree r8/current/ one/rel/1.1.0/ &&
    [ "$(echo "$out" | json '["downloaded_bytes"]')" -lt 1000 ] &&
    pass one_file_edge_updates_by_patch || fail one_file_edge_updates_by_patch "$out"

# --- mirror copies it; gc keeps it ---------------------------------------------
out=$("$PC" mirror "$TMP/site" mir -p k.pub 2>&1)
[ -f "mir/$rp" ] && pass mirror_copies_release_patch || fail mirror_copies_release_patch "$out"
echo '{"product": "demo", "skip_edges": 0, "patch_retention_days": 0}' >cfg0.json
"$PCGEN" gc site --config cfg0.json >gc.out 2>&1
[ -f "site/$rp" ] && "$PCGEN" verify site -p k.pub >/dev/null 2>&1 && pass gc_keeps_release_patch ||
    fail gc_keeps_release_patch "$(tail -1 gc.out)"
finish
