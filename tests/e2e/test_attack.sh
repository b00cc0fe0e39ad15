#!/usr/bin/env bash
# test_attack.sh — attacks from the security review of 2026-12-03 (branch
# h-attack). Each test mounts one attack and passes when the product resists
# it; on the code of that day each of them FAILS (they are the findings).
#   1. cross_product_repo_refused / cross_product_serial_no_freeze: a mirror
#      serves another product's site signed with the same key.
#   2. mirror_of_midpublish_source_keeps_valid_pair: `patchcast mirror` of a
#      source caught between steps 2 and 3 of its publish writes a
#      12-line signature file at its own step 1 (killed there: broken site).
#   3. switch_then_fsync_error_reports_success,
#      rollback_then_state_error_reports_success: `current` switched, the
#      operation still reports failure.
#   4. cached_manifest_read_is_the_hashed_one: a cached manifest is hashed,
#      then read again by name; swapped in between, its new bytes are parsed
#      and installed (a local user with a symlink planted in ROOT/cache).
#      cache_entry_symlink_not_followed: the same plant, without the race.
#   5. linkcheck_work_bounded: symlink resolution per link is not bounded
#      per manifest (a signed manifest costs minutes of CPU to parse).
#   6. gc_does_not_follow_symlinked_folders: `patchcast-gen gc` deletes files
#      outside the site through a symlinked objects/ or patches/ folder.
#   (7., ci/publish-rsync uploading repo.json and then a one-block signature,
#   is left to the publish scripts' own tests: not yet fixed, see the note.)
#   7. was: ci/publish-rsync uploads
#      repo.json then the single-block signature: a torn pair at every
#      publish (and for good, if the upload is killed in between).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/signed.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT

small_signed_site || { fail setup "build: $(cat build.out)"; finish; }

setrepo() { python3 - "$1/config.json" "$2" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c["repos"] = [sys.argv[2]]; json.dump(c, open(p, "w"))
PY
}

# --- 1. another product's site, same signing key ------------------------------
# A publisher signing two products with one key (nothing in the docs says
# not to): a hostile mirror of "demo" serves the site of "other", whose
# serial is higher. Nothing pins the product: the client installs "other"
# and records its serial, after which demo's own site is refused as a
# rollback until demo's serial catches up.
mkdir -p relB/1.0.0/bin relB/5.0.0/bin
echo 'product other 1.0.0' >relB/1.0.0/bin/app
echo 'product other 5.0.0' >relB/5.0.0/bin/app
echo '{"product": "other"}' >cfgB.json
for i in 1 2 3 4 5; do "$PCGEN" build -q relB -o siteB -s k.key --config cfgB.json >/dev/null 2>&1; done
newroot w/x1
"$PC" update --root w/x1 --to 1.0.0 >/dev/null 2>&1
setrepo w/x1 "$TMP/siteB"                      # the hostile mirror
out=$("$PC" update --root w/x1 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$(readlink w/x1/current)" = versions/1.0.0 ]; then
    pass cross_product_repo_refused
else fail cross_product_repo_refused "exit $rc, current -> $(readlink w/x1/current) ($(head -c 40 w/x1/current/bin/app)): another product's repo.json was accepted"; fi
setrepo w/x1 "$TMP/site"                       # the real mirror again
out=$("$PC" update --root w/x1 --to 1.1.0 2>&1); rc=$?
[ $rc = 0 ] && [ "$(readlink w/x1/current)" = versions/1.1.0 ] && pass cross_product_serial_no_freeze ||
    fail cross_product_serial_no_freeze "exit $rc: $(echo "$out" | tail -1)"

# --- 2. mirroring a source caught mid-publish ---------------------------------
# Source p is between steps 2 and 3 of its own publish: the new repo.json,
# a signature file of two blocks. `patchcast mirror` takes those 8 lines
# as "the new signature" and, at its step 1, writes them plus the old
# block: 12 lines, which no reader accepts. Killed right there, the folder
# stays broken for every client.
cp -a rel rel2 && mkdir -p rel2/1.2.0/bin && head -c 3000 /dev/urandom >rel2/1.2.0/bin/app
cp -a site s2 && "$PCGEN" build -q rel2 -o s2 -s k.key --config cfg.json >/dev/null 2>&1
rm -rf p && cp -a s2 p && cat s2/repo.json.minisig site/repo.json.minisig >p/repo.json.minisig
"$PC" mirror "file://$TMP/site" usb0 -p k.pub >/dev/null 2>&1 || fail mirror_setup "mirror of the old site failed"
rm -rf u && cp -a usb0 u
strace -f -qq -e trace=rename,renameat,renameat2 -o ren.txt "$PC" mirror "file://$TMP/p" u -p k.pub >/dev/null 2>&1
# The rename that puts repo.json in place: kill the mirror there, after step 1.
k=$(grep 'rename' ren.txt | grep -n '"u/repo.json")' | cut -d: -f1)
rm -rf u && cp -a usb0 u
strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
    -e inject=rename,renameat,renameat2:signal=KILL:when=${k:-1} "$PC" mirror "file://$TMP/p" u -p k.pub >/dev/null 2>&1
out=$("$PCGEN" verify u -p k.pub 2>&1); rc=$?
if [ -n "$k" ] && [ $rc = 0 ]; then
    pass mirror_of_midpublish_source_keeps_valid_pair
else fail mirror_of_midpublish_source_keeps_valid_pair "killed at rename ${k:-?} (repo.json): $(wc -l <u/repo.json.minisig) signature lines; verify: $(echo "$out" | grep PROBLEM | head -1)"; fi

# --- 3. `current` has switched, the operation reports failure -----------------
# An I/O error on the fsync of ROOT that follows the rename of `current`:
# the new version is current, but the update exits non-zero and the state
# still names the old version.
newroot "$TMP/w/x3"
"$PC" update --root "$TMP/w/x3" --to 1.0.0 >/dev/null 2>&1
out=$(strace -f -qq -o /dev/null -P "$TMP/w/x3" -e trace=fsync -e inject=fsync:error=EIO:when=1 \
        "$PC" update --root "$TMP/w/x3" 2>&1); rc=$?
if [ "$(readlink w/x3/current)" != versions/1.1.0 ]; then
    fail switch_then_fsync_error_reports_success "the fault did not hit after the switch: current -> $(readlink w/x3/current), exit $rc: $out"
elif [ $rc = 0 ]; then
    pass switch_then_fsync_error_reports_success
else fail switch_then_fsync_error_reports_success "current -> versions/1.1.0, yet exit $rc: $(echo "$out" | tail -1)"; fi
# Rollback: ENOSPC on the state write after its switch.
newroot w/x4
"$PC" update --root w/x4 --to 1.0.0 >/dev/null 2>&1 && "$PC" update --root w/x4 >/dev/null 2>&1
out=$(strace -f -qq -o /dev/null -e trace=rename -e inject=rename:error=ENOSPC:when=2 "$PC" rollback --root w/x4 2>&1); rc=$?
if [ "$(readlink w/x4/current)" = versions/1.0.0 ] && [ $rc = 0 ]; then
    pass rollback_then_state_error_reports_success
else fail rollback_then_state_error_reports_success "current -> $(readlink w/x4/current), exit $rc: $out"; fi

# --- 4. a cached file is hashed, then read again by its name ------------------
# A local user planted ROOT/cache/meta/<sha of 1.1.0's manifest> as a
# symlink to a file of theirs holding the genuine manifest. The client
# hashes it (it matches), then opens it again to parse it; the user swaps
# the content in between (made deterministic by strace delaying that second
# open) for a manifest naming their own content, whose object they also
# placed in the cache. The client installs it as 1.1.0.
R5=$TMP/w/x5
newroot "$R5"
"$PC" update --root "$R5" --to 1.0.0 >/dev/null 2>&1
mkdir -p evil
h=$(python3 - "$R5" <<'PY'
import json, hashlib, subprocess, os, sys
root = sys.argv[1]
r = json.load(open('site/repo.json'))
v = [v for v in r['versions'] if v['name'] == '1.1.0'][0]
h = v['manifest']['sha256']
text = open('site/manifests/%s.json' % h, 'rb').read()
m = json.loads(text)
evil = b'#!/bin/sh\necho pwned by a local user\n'
obj = subprocess.run(['zstd', '-19', '-q', '-c'], input=evil, stdout=subprocess.PIPE, check=True).stdout
es = hashlib.sha256(evil).hexdigest()
f = [f for f in m['files'] if f['path'] == 'bin/app'][0]
f.update(size=len(evil), sha256=es, object_size=len(obj), object_sha256=hashlib.sha256(obj).hexdigest())
t2 = json.dumps(m, separators=(',', ':')).encode() + b'\n'
assert len(t2) <= len(text)
os.makedirs(root + '/cache/meta', exist_ok=True)
os.makedirs(root + '/cache/objects', exist_ok=True)
open('evil/m', 'wb').write(text)
open('evil/m.next', 'wb').write(t2)
open(root + '/cache/objects/' + es, 'wb').write(obj)
os.symlink(os.path.abspath('evil/m'), root + '/cache/meta/' + h)
print(h)
PY
)
( strace -f -qq -o race.log -P "$R5/cache/meta/$h" -e trace=openat \
    -e inject=openat:delay_enter=3000000:when=2 "$PC" update --root "$R5" >race.out 2>&1
  echo "rc $?" >>race.out ) &
racer=$!
wait_for 10 grep -q openat race.log && mv evil/m.next evil/m
wait $racer
if [ "$(readlink "$R5/current")" = versions/1.1.0 ] && grep -q pwned "$R5/current/bin/app"; then
    fail cached_manifest_read_is_the_hashed_one "a manifest swapped after its hash check was installed: current/bin/app = $(head -2 "$R5/current/bin/app" | tail -1)"
elif [ "$(readlink "$R5/current")" = versions/1.1.0 ] && cmp -s "$R5/current/bin/app" rel/1.1.0/bin/app; then
    pass cached_manifest_read_is_the_hashed_one
else fail cached_manifest_read_is_the_hashed_one "current -> $(readlink "$R5/current"): $(tail -2 race.out | tr '\n' ' ')"; fi

# The plant alone: a cache entry that is a symlink to a file outside the
# root is followed (hashed and then unpacked from there), whatever it holds.
newroot w/x6
mkdir -p w/x6/cache/objects outside
obj_sha=$(python3 -c "
import json; r=json.load(open('site/repo.json')); v=[v for v in r['versions'] if v['name']=='1.0.0'][0]
m=json.load(open('site/manifests/%s.json' % v['manifest']['sha256'])); f=[f for f in m['files'] if f['path']=='bin/app'][0]
print(f['sha256'])")
cp "site/objects/${obj_sha:0:2}/$obj_sha" outside/obj
ln -s "$TMP/outside/obj" "w/x6/cache/objects/$obj_sha"
strace -f -qq -e trace=open,openat -o x6.log "$PC" update --root w/x6 --to 1.0.0 >/dev/null 2>&1
# Opened through the link: an open of the entry without O_NOFOLLOW that succeeded.
followed=$(grep "cache/objects/$obj_sha\"" x6.log | grep -v O_NOFOLLOW | grep -E '= [0-9]+$')
if [ "$(readlink w/x6/current)" = versions/1.0.0 ] && [ -z "$followed" ] &&
   [ ! -L "w/x6/cache/objects/$obj_sha" ]; then
    pass cache_entry_symlink_not_followed
else fail cache_entry_symlink_not_followed "current -> $(readlink w/x6/current); opened through the link: $followed; still a link: $( [ -L "w/x6/cache/objects/$obj_sha" ] && echo yes || echo no)"; fi

# --- 5. symlink resolution costs per link, not per manifest -------------------
# 38 links of ~4 KB targets ("a/../" repeated, then the next link) and
# 3000 small links to the first: each small link walks 38 x 800 components.
# A 64 MiB manifest holds over a million such links: about half an hour of
# CPU on every parse (and the client parses installed manifests on every
# update). A bounded resolver (each link resolved once, or a work budget
# per manifest, as patchcast has) takes milliseconds.
rm -rf s5 && cp -a site s5
craft s5 1.1.0 "
H = 38
for i in range(H):
    t = 'a/../' * 798 + ('B%02d' % (i + 1) if i + 1 < H else '.')
    files.append({'path': 'B%02d' % i, 'type': 'symlink', 'target': t})
for k in range(3000):
    files.append({'path': 'L%07d' % k, 'type': 'symlink', 'target': 'B00'})
"
start=$(date +%s%N)
timeout 60 "$PCGEN" verify s5 -p k.pub >v5.out 2>&1; rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
# Bounded: accepted quickly, or refused quickly as too much work (a budget
# per manifest), never hours.
{ [ $rc = 0 ] || grep -q "take too much work to check" v5.out; } && [ $ms -lt 2000 ] &&
    pass linkcheck_work_bounded ||
    fail linkcheck_work_bounded "verify of a manifest with 3038 symlinks took ${ms} ms (exit $rc: $(tail -1 v5.out))"

# --- 6. gc through a symlinked folder of the site -----------------------------
# A site restored from hostile storage (rsync -a keeps symlinks) whose
# patches/ is a symlink, with a .gc-state that dates a file in it from 1970:
# gc deletes the files of the folder the link names, outside the site.
rm -rf sg victim && cp -a site sg && mkdir victim
echo precious >victim/important.txt
echo keep >victim/report.tmp-1 && touch -d '3 days ago' victim/report.tmp-1
mv sg/patches sg/patches.real && ln -s "$TMP/victim" sg/patches
printf '0 patches/important.txt\n' >sg/.gc-state
"$PCGEN" gc sg >gc.out 2>&1
left=$(ls victim | tr '\n' ' ')
[ -e victim/important.txt ] && [ -e victim/report.tmp-1 ] && pass gc_does_not_follow_symlinked_folders ||
    fail gc_does_not_follow_symlinked_folders "files outside the site removed, left: '$left': $(head -2 gc.out | tr '\n' ' ')"

finish
