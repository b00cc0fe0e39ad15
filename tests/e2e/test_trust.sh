#!/usr/bin/env bash
# test_trust.sh — the security review's holes (docs/threat-model.md), each
# mounted as an attack: a hostile release tree given to the generator, and
# validly signed but hostile metadata given to the client over file://. The
# installed version stays intact and nothing is written outside the root.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/signed.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT

small_signed_site || { fail setup "build: $(cat build.out)"; finish; }

# --- hole 1: writes escaping the root through symlinks ----------------------
# (a) A release tree whose links each stay inside, but chained leave it.
mkdir -p evil/1.0.0/d/e
ln -s ../.. evil/1.0.0/d/e/l
ln -s d/e/l/../../.. evil/1.0.0/esc
out=$("$PCGEN" build -q evil -o esite -s k.key --config cfg.json 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "leaves the tree" && [ ! -e esite/repo.json ]; then
    pass release_tree_symlink_chain_refused
else fail release_tree_symlink_chain_refused "exit $rc, repo.json $( [ -e esite/repo.json ] && echo written || echo absent): $out"; fi

# The same tree in a validly signed manifest: `patchcast-gen verify` and the
# client both refuse it.
rm -rf s1 && cp -a site s1
craft s1 1.1.0 'files += [{"path": "d", "type": "dir"}, {"path": "d/e", "type": "dir"},
    {"path": "d/e/l", "type": "symlink", "target": "../.."},
    {"path": "esc", "type": "symlink", "target": "d/e/l/../../.."}]'
out=$("$PCGEN" verify s1 -p k.pub 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "leaves the tree" && pass verify_reports_symlink_chain ||
    fail verify_reports_symlink_chain "exit $rc: $(echo "$out" | tail -2)"
newroot w/r1 "$TMP/s1"
"$PC" update --root w/r1 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root w/r1 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "esc.*leaves the tree\|leaves the tree" && [ ! -e w/r1/current/esc ] &&
   [ "$(readlink w/r1/current)" = versions/1.0.0 ]; then
    pass signed_symlink_chain_refused
else fail signed_symlink_chain_refused "exit $rc, current -> $(readlink w/r1/current): $out"; fi

# (b) a -> . makes a/a/a/a the version's folder; x climbs four folders from
# there; a file below x lands above the root unless refused.
rm -rf s2 && cp -a site s2
craft s2 1.1.0 'files += [{"path": "a", "type": "symlink", "target": "."},
    {"path": "a/a/a/a/x", "type": "symlink", "target": "../../../.."},
    dict(app, path="a/a/a/a/x/outside/pwned")]'
newroot w/w2/w3/r2 "$TMP/s2"
"$PC" update --root w/w2/w3/r2 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root w/w2/w3/r2 2>&1); rc=$?
found=$(find "$TMP" -name pwned)
if [ $rc -ne 0 ] && echo "$out" | grep -q "lies below the symlink a" && [ -z "$found" ] &&
   [ "$(readlink w/w2/w3/r2/current)" = versions/1.0.0 ]; then
    pass signed_write_below_symlink_refused
else fail signed_write_below_symlink_refused "exit $rc, written: '$found': $out"; fi

# --- hole 2: patch and object bytes are checked before a decoder reads them -
# A patch replaced by other bytes of the same size, crafted so that a pcz
# reader would fail on its header ("made for another file"): the client
# refuses it by its hash from the delta document, before decoding.
patch_of() { # SITE: the patch of bin/app from 1.0.0 to 1.1.0
    python3 -c "
import json; r=json.load(open('$1/repo.json'))
e=[e for e in r['edges'] if e['from']=='1.0.0' and e['to']=='1.1.0'][0]
d=json.load(open('$1/deltas/%s.json' % e['delta']['sha256']))
p=d['patches'][0]; print('$1/patches/%s/%s-%s' % (p['from_sha256'][:2], p['from_sha256'], p['to_sha256']))"
}
rm -rf s6 && cp -a site s6
pf=$(patch_of s6)
python3 - "$pf" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[8] ^= 0xff  # the old file's size in a pcz header: another file's patch
open(p, "wb").write(b)
PY
newroot w/r6 "$TMP/s6"
"$PC" update --root w/r6 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root w/r6 2>&1); rc=$?
if [ $rc = 3 ] && echo "$out" | grep -q "patches/.*content has SHA-256 [0-9a-f]*, not the one in the metadata" &&
   ! echo "$out" | grep -qi "made for another\|pcz\|header" && [ "$(readlink w/r6/current)" = versions/1.0.0 ]; then
    pass patch_refused_before_decoding
else fail patch_refused_before_decoding "exit $rc: $out"; fi

# --- hole 4: corrupt files fail over and never poison the cache --------------
# s6 (its patch corrupt) first, the good site second: the update succeeds.
newroot w/r7 "$TMP/s6"
python3 - w/r7/config.json "$TMP/site" <<'PY'
import json, sys
p, good = sys.argv[1], sys.argv[2]
c = json.load(open(p)); c["repos"].append(good); json.dump(c, open(p, "w"))
PY
"$PC" update --root w/r7 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root w/r7 2>&1); rc=$?
[ $rc = 0 ] && [ "$(readlink w/r7/current)" = versions/1.1.0 ] && pass corrupt_mirror_fails_over ||
    fail corrupt_mirror_fails_over "exit $rc: $out"
# After a corrupt download from s6 alone, the good site alone updates: the
# bad file was not kept in the cache.
newroot w/r8 "$TMP/s6"
"$PC" update --root w/r8 --to 1.0.0 >/dev/null 2>&1
"$PC" update --root w/r8 >/dev/null 2>&1
sed -i "s|$TMP/s6|$TMP/site|" w/r8/config.json
out=$("$PC" update --root w/r8 2>&1); rc=$?
[ $rc = 0 ] && [ "$(readlink w/r8/current)" = versions/1.1.0 ] && pass corrupt_download_not_cached ||
    fail corrupt_download_not_cached "exit $rc: $out"
# A file planted in the cache under the patch's name, of the right size, is
# not reused on trust.
newroot w/r9 "$TMP/site"
"$PC" update --root w/r9 --to 1.0.0 >/dev/null 2>&1
mkdir -p w/r9/cache/patches
cp "$pf" "w/r9/cache/patches/$(basename "$pf")"
out=$("$PC" update --root w/r9 2>&1); rc=$?
[ $rc = 0 ] && [ "$(readlink w/r9/current)" = versions/1.1.0 ] && pass planted_cache_file_not_trusted ||
    fail planted_cache_file_not_trusted "exit $rc: $out"

# --- hole 5: a stale or expired first mirror fails over ----------------------
rm -rf s7 && cp -a site s7
python3 - s7/repo.json <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
r["created"], r["expires"] = "2019-12-01T00:00:00Z", "2020-01-01T00:00:00Z"
open(p, "w").write(json.dumps(r, indent="\t") + "\n")
PY
resign s7
newroot w/r10 "$TMP/s7"
python3 - w/r10/config.json "$TMP/site" <<'PY'
import json, sys
p, good = sys.argv[1], sys.argv[2]
c = json.load(open(p)); c["repos"].append(good); json.dump(c, open(p, "w"))
PY
out=$("$PC" update --root w/r10 --to 1.0.0 2>&1); rc=$?
[ $rc = 0 ] && [ "$(readlink w/r10/current)" = versions/1.0.0 ] && pass expired_first_mirror_fails_over ||
    fail expired_first_mirror_fails_over "exit $rc: $out"
# Every mirror stale: the error names each one and its problem.
newroot w/r11 "$TMP/s7"
python3 - w/r11/config.json "$TMP/s7" <<'PY'
import json, sys
p, m = sys.argv[1], sys.argv[2]
c = json.load(open(p)); c["repos"].append("file://" + m); json.dump(c, open(p, "w"))
PY
out=$("$PC" update --root w/r11 2>&1); rc=$?
if [ $rc = 4 ] && echo "$out" | grep -q "no mirror has usable metadata: $TMP/s7: repo.json expired at 2020-01-01T00:00:00Z.*; file://$TMP/s7: repo.json expired"; then
    pass every_stale_mirror_named
else fail every_stale_mirror_named "exit $rc: $out"; fi

# --- hole 3: scratch files never meet a release's files ----------------------
# data.bin comes through a two-hop chain (no skip edges); the release also
# holds data.bin.step0, the name the chain's scratch file once had.
mkdir -p chain/1.0.0 && head -c 40000 /dev/urandom >chain/1.0.0/data.bin
cp -a chain/1.0.0 chain/1.1.0 && printf 'one' | dd of=chain/1.1.0/data.bin bs=1 seek=100 conv=notrunc status=none
cp -a chain/1.1.0 chain/1.2.0 && printf 'two' | dd of=chain/1.2.0/data.bin bs=1 seek=200 conv=notrunc status=none
printf 'a file of the release\n' >chain/1.2.0/data.bin.step0
printf 'also one\n' >chain/1.2.0/data.bin.tmp-AAAAAA
echo '{"product": "demo", "skip_edges": 0}' >chaincfg.json
"$PCGEN" build -q chain -o csite -s k.key --config chaincfg.json >/dev/null 2>&1
newroot w/r12 "$TMP/csite"
"$PC" update --root w/r12 --to 1.0.0 >/dev/null 2>&1
out=$("$PC" update --root w/r12 --json 2>&1); rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '"hops": 2' && diff -r chain/1.2.0 w/r12/current >/dev/null &&
   [ -z "$(ls -A w/r12/staging 2>/dev/null)" ]; then
    pass scratch_names_never_meet_release_files
else fail scratch_names_never_meet_release_files "exit $rc: $out; $(diff -r chain/1.2.0 w/r12/current 2>&1 | head -3)"; fi

# --- hole 8: an update reports what happened once `current` has switched ----
# A full disk when the state is written after the switch: the update has
# happened (exit 0, current is the new version) and the next command
# rewrites the state from the link.
newroot w/r13 "$TMP/site"
"$PC" update --root w/r13 --to 1.0.0 >/dev/null 2>&1
rm -rf w/r13c && cp -a w/r13 w/r13c
strace -f -qq -e trace=rename,renameat,renameat2 -o r13.txt "$PC" update --root w/r13c >/dev/null 2>&1
# The first rename after the one that switches `current` writes state.json.
sw=$(grep 'rename' r13.txt | grep -n '/current")' | head -1 | cut -d: -f1)
next=$((sw + 1))
grep 'rename' r13.txt | sed -n "${next}p" | grep -q 'state.json' ||
    fail state_write_after_switch_fails_softly "rename $next is not state.json's: $(grep rename r13.txt | sed -n "${next}p")"
out=$(strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
        -e inject=rename,renameat,renameat2:error=ENOSPC:when=$next "$PC" update --root w/r13 2>&1); rc=$?
st=$("$PC" status --root w/r13 --json 2>&1)
if [ $rc = 0 ] && [ "$(readlink w/r13/current)" = versions/1.1.0 ] && echo "$st" | grep -q '"current": "1.1.0"'; then
    pass state_write_after_switch_fails_softly
else fail state_write_after_switch_fails_softly "exit $rc ($out), current $(readlink w/r13/current), status $st"; fi

# --- hole 7: `patchcast mirror` never leaves a stick pointing at bad files ---
"$PC" mirror "file://$TMP/site" usb -p k.pub >m.out 2>&1 || fail mirror_setup "$(cat m.out)"
s0=$(serial_of usb)
# A newer source whose object was replaced by other bytes of the same size.
rm -rf s3 && cp -a site s3 && cp -a rel rel3 && mkdir -p rel3/1.2.0/bin &&
    head -c 30000 /dev/urandom >rel3/1.2.0/bin/app
"$PCGEN" build -q rel3 -o s3 -s k.key --config cfg.json >/dev/null 2>&1
new_obj=$(python3 -c "
import json; r=json.load(open('s3/repo.json'))
v=[v for v in r['versions'] if v['name']=='1.2.0'][0]
m=json.load(open('s3/manifests/%s.json' % v['manifest']['sha256']))
f=[f for f in m['files'] if f['path']=='bin/app'][0]
print('s3/objects/%s/%s' % (f['sha256'][:2], f['sha256']))")
printf 'evil' | dd of="$new_obj" bs=1 seek=100 conv=notrunc status=none
out=$("$PC" mirror "file://$TMP/s3" usb -p k.pub 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "content has SHA-256" &&
   [ "$(serial_of usb)" = "$s0" ] && "$PCGEN" verify usb -p k.pub >/dev/null 2>&1; then
    pass mirror_bad_copy_keeps_previous_site
else fail mirror_bad_copy_keeps_previous_site "exit $rc, serial $(serial_of usb) (was $s0): $out"; fi
# A good newer source, then the older one again: a downgrade, refused unless forced.
rm -rf s4 && cp -a site s4 && "$PCGEN" build -q rel3 -o s4 -s k.key --config cfg.json >/dev/null 2>&1
"$PC" mirror "file://$TMP/s4" usb -p k.pub >/dev/null 2>&1
s1=$(serial_of usb)
out=$("$PC" mirror "file://$TMP/site" usb -p k.pub 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$s1" -gt "$s0" ] && echo "$out" | grep -q "holds serial $s1, newer than the source's $s0" &&
   [ "$(serial_of usb)" = "$s1" ]; then
    pass mirror_refuses_downgrade
else fail mirror_refuses_downgrade "exit $rc, serials $s0 $s1 $(serial_of usb): $out"; fi
"$PC" mirror "file://$TMP/site" usb -p k.pub --force >/dev/null 2>&1 && [ "$(serial_of usb)" = "$s0" ] &&
    "$PCGEN" verify usb -p k.pub >/dev/null 2>&1 && pass mirror_force_downgrades ||
    fail mirror_force_downgrades "serial $(serial_of usb)"
# An expired source (re-signed with an expiry in the past): refused unless forced.
rm -rf s5 && cp -a s4 s5
python3 - s5/repo.json <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p)); r["serial"] += 5
r["created"], r["expires"] = "2019-12-01T00:00:00Z", "2020-01-01T00:00:00Z"
open(p, "w").write(json.dumps(r, indent="\t") + "\n")
PY
resign s5
check_fails mirror_refuses_expired_source "expired at 2020-01-01T00:00:00Z" "$PC" mirror "file://$TMP/s5" usb -p k.pub
"$PC" mirror "file://$TMP/s5" usb -p k.pub --force >/dev/null 2>&1 && [ "$(serial_of usb)" -gt "$s1" ] &&
    pass mirror_force_copies_expired || fail mirror_force_copies_expired "serial $(serial_of usb)"

# --- hole 6: repo.json and its signature are replaced in three atomic steps --
# Each intermediate pair the publisher leaves (format.md §2) verifies.
# p1: the new version's files uploaded, the old pair still in place.
rm -rf p1 && cp -a s4 p1 && cp site/repo.json site/repo.json.minisig p1/
sig_old=$(cat p1/repo.json.minisig)
cp -a s4/repo.json new.json && cp s4/repo.json.minisig new.minisig
{ cat new.minisig; printf '%s\n' "$sig_old"; } >p1/repo.json.minisig   # step 1
newroot w/p1 "$TMP/p1"
out=$("$PC" update --root w/p1 2>&1) && [ "$(readlink w/p1/current)" = versions/1.1.0 ] &&
    pass two_signatures_old_document_verifies || fail two_signatures_old_document_verifies "$out"
cp new.json p1/repo.json                                               # step 2
out=$("$PC" update --root w/p1 2>&1) && [ "$(readlink w/p1/current)" = versions/1.2.0 ] &&
    pass two_signatures_new_document_verifies || fail two_signatures_new_document_verifies "$out"

# Killed (SIGKILL) or out of space (ENOSPC) at each rename it makes, in
# turn, `patchcast mirror` leaves a folder whose pair verifies: the old site
# or the new one. strace injects the fault at the K-th rename.
"$PC" mirror "file://$TMP/site" usb0 -p k.pub >/dev/null 2>&1
n=$(strace -f -qq -e trace=rename,renameat,renameat2 -o renames.txt \
      "$PC" mirror "file://$TMP/s4" "$(rm -rf u && cp -a usb0 u && echo u)" -p k.pub >/dev/null 2>&1;
    grep -c 'rename' renames.txt)
bad="" tried=0
for fault in signal=KILL error=ENOSPC; do
    for k in $(seq 1 "$n"); do
        rm -rf u && cp -a usb0 u
        strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
            -e inject=rename,renameat,renameat2:$fault:when=$k \
            "$PC" mirror "file://$TMP/s4" u -p k.pub >/dev/null 2>&1
        tried=$((tried + 1))
        s=$(serial_of u 2>/dev/null)
        if ! "$PCGEN" verify u -p k.pub >/dev/null 2>&1 || { [ "$s" != "$s0" ] && [ "$s" != "$s1" ]; }; then
            bad="$bad $fault@$k(serial $s)"
        fi
    done
done
[ "$n" -ge 5 ] && [ -z "$bad" ] && pass mirror_killed_at_every_rename_leaves_valid_pair ||
    fail mirror_killed_at_every_rename_leaves_valid_pair "$n renames, $tried runs; broken:$bad"

# The same for `patchcast-gen build` adding 1.2.0 to a site: killed or out
# of space at each of its renames, the site's pair verifies (old or new).
rm -rf b0 && cp -a site b0
n=$(rm -rf b && cp -a b0 b && strace -f -qq -e trace=rename,renameat,renameat2 -o brenames.txt \
      "$PCGEN" build -q rel3 -o b -s k.key --config cfg.json >/dev/null 2>&1; grep -c 'rename' brenames.txt)
bad="" tried=0
for fault in signal=KILL error=ENOSPC; do
    for k in $(seq 1 "$n"); do
        rm -rf b && cp -a b0 b
        strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
            -e inject=rename,renameat,renameat2:$fault:when=$k \
            "$PCGEN" build -q rel3 -o b -s k.key --config cfg.json >/dev/null 2>&1
        tried=$((tried + 1))
        "$PCGEN" verify b -p k.pub >/dev/null 2>&1 || bad="$bad $fault@$k"
    done
done
[ "$n" -ge 5 ] && [ -z "$bad" ] && pass build_killed_at_every_rename_leaves_valid_pair ||
    fail build_killed_at_every_rename_leaves_valid_pair "$n renames, $tried runs; broken:$bad"

finish
