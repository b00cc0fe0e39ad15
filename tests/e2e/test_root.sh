#!/usr/bin/env bash
# test_root.sh — the root of trust (issue 15): root metadata rotated through
# versions 1 to 5 on a site, clients walking the chain, and each attack on it
# mounted over file:// — a revoked repository key, roots signed below a
# threshold, skipped or replayed versions, an expired root, new metadata with
# an old root, a fast-forwarded serial and its recovery, key holders signing
# different contents — each refused with a clear error and the installed
# version left intact. Then the generator's refusals, minisign interop, and
# `patchcast mirror` / `patchcast-gen verify` over roots/.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT
MAXSER=9007199254740991 # 2^53-1, the largest serial repo.json may carry

# --- helpers -----------------------------------------------------------------
# (Python starts slowly here: one run per crafted document, none per check.)
cat >u.py <<'PY'
import hashlib, json, os, sys
site, code = sys.argv[1], sys.argv[2]
rp = os.path.join(site, "repo.json")
r = json.load(open(rp))
def name_root(path):  # repo.json names this root file (as the generator does)
    text = open(path, "rb").read()
    r["root"] = {"version": json.loads(text)["version"],
                 "sha256": hashlib.sha256(text).hexdigest(), "size": len(text)}
exec(code)
open(rp, "w").write(json.dumps(r, indent="\t") + "\n")
print("patchcast-repo serial:%d product:%s expires:%s" % (r["serial"], r["product"], r["expires"]))
PY
# craft SITE PY KEY...: edit SITE's repo.json by the Python statement PY (the
# document is `r`; name_root(FILE) names a root) and sign it again, one block
# per KEY: a publisher holding those keys, or an attacker who stole them.
craft() {
    local site=$1 code=$2 tc k; shift 2
    tc=$(python3 "$TMP/u.py" "$site" "$code") || return 1
    : >"$site/repo.json.minisig.new"
    for k; do
        "$PCGEN" sign -s "$k.key" -m "$site/repo.json" -x blk.minisig -t "$tc" >/dev/null &&
            cat blk.minisig >>"$site/repo.json.minisig.new"
    done
    mv "$site/repo.json.minisig.new" "$site/repo.json.minisig"
}
# mkroot OUT VERSION "ROOT KEYS" THRESHOLD "REPO KEYS" [init options...]
mkroot() {
    local out=$1 v=$2 rk=$3 t=$4 pk=$5 k; shift 5
    local a=(--root-key) b=(--repo-key)
    for k in $rk; do a+=("$k.pub"); done
    for k in $pk; do b+=("$k.pub"); done
    "$PCGEN" root init -o "$out" --version "$v" "${a[@]}" --threshold "$t" "${b[@]}" --force "$@" >/dev/null
}
# signroot FILE KEY...: each key holder signs in turn.
signroot() {
    local f=$1 k; shift
    for k; do "$PCGEN" root sign "$f" -s "$k.key" >/dev/null || return 1; done
}
json_num() { grep -o "\"$1\":[[:space:]]*[0-9]*" | head -n 1 | grep -o '[0-9]*$'; }
# put_root SITE FILE [SIGFILE]: serve FILE as the site's root of its version.
put_root() {
    local v; v=$(json_num version <"$2")
    mkdir -p "$1/roots"
    cp "$2" "$1/roots/$v.root.json"
    cp "${3:-$2.minisig}" "$1/roots/$v.root.json.minisig"
}
# keyid KEY: the key id as patchcast prints it (16 hex digits; minisign's
# .pub comment drops leading zeros), from the key itself.
keyid() { tail -n 1 "$1.pub" | base64 -d | od -An -tx1 -j2 -N8 | tr -d ' \n' | fold -w2 | tac | tr -d '\n' | tr a-f A-F; }
build() { # SITE TRUST KEY...: publish rel/ with these signing keys
    local site=$1 trust=$2 k a=(); shift 2
    for k; do a+=(-s "$k.key"); done
    "$PCGEN" build -q rel -o "$site" "${a[@]}" --trust "$trust" --config cfg.json
}
release() { # VERSION: a new release, bin/app one line longer than the last
    mkdir -p "rel/$1/bin"
    { cat rel/1.0.0/bin/app; echo "$1"; } >"rel/$1/bin/app"
    echo "notes of $1" >"rel/$1/NOTES"
}
rootv() { "$PC" status --root "$1" --json 2>/dev/null | json_num root_version; }
serial() { "$PC" status --root "$1" --json 2>/dev/null | json_num last_serial; }
# intact ROOT VERSION: ROOT/current is VERSION, its files as released.
intact() { [ "$(readlink "$1/current")" = "versions/$2" ] && diff -r "rel/$2" "$1/current" >/dev/null; }
# clone FROM NAME SITE: a copy of client FROM (its state, its install) whose
# repository is SITE.
clone() {
    rm -rf "w/$2" && cp -a "w/$1" "w/$2" && point "w/$2" "$3" && grep -q "\"repos\": \[\"$3\"\]" "w/$2/config.json" ||
        fail "clone_$2" "w/$2 not set up for $3"
}
point() { sed -i "s|\"repos\":[^]]*]|\"repos\": [\"$2\"]|" "$1/config.json"; } # CLIENT SITE
# refused NAME CLIENT RC PATTERN: `update` fails with exit RC and a message
# matching PATTERN; the client's installed version, its files, its root
# version and its serial are what they were.
refused() {
    local name=$1 root=$2 want=$3 pat=$4 out rc
    local cur rv0 s0
    cur=$(readlink "$root/current"); cur=${cur#versions/}
    rv0=$(rootv "$root"); s0=$(serial "$root")
    out=$("$PC" update --root "$root" 2>&1); rc=$?
    if [ "$rc" = "$want" ] && echo "$out" | grep -Eq -- "$pat" && intact "$root" "$cur" && [ -n "$rv0" ] &&
       [ "$(rootv "$root")" = "$rv0" ] && [ "$(serial "$root")" = "$s0" ]; then
        pass "$name"
    else
        fail "$name" "exit $rc (want $want), current $(readlink "$root/current") (was $cur), root version $(rootv "$root") (was $rv0), serial $(serial "$root") (was $s0): $(echo "$out" | grep -v '^\[' | tail -n 2 | tr '\n' ' ')"
    fi
}
# accepted NAME CLIENT VERSION ROOTV: `update` succeeds, installs VERSION and
# ends at root version ROOTV.
accepted() {
    local name=$1 root=$2 ver=$3 rv=$4 out rc
    out=$("$PC" update --root "$root" 2>&1); rc=$?
    if [ "$rc" = 0 ] && intact "$root" "$ver" && [ "$(rootv "$root")" = "$rv" ]; then
        pass "$name"
    else
        fail "$name" "exit $rc, current $(readlink "$root/current") (want $ver), root version $(rootv "$root") (want $rv): $(echo "$out" | grep -v '^\[' | tail -n 2 | tr '\n' ' ')"
    fi
}
# gen_refused NAME RC PATTERN CMD...: a generator command fails so.
gen_refused() {
    local name=$1 want=$2 pat=$3 out rc; shift 3
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" = "$want" ] && echo "$out" | grep -Eq -- "$pat"; then pass "$name"
    else fail "$name" "exit $rc (want $want): $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}
# exit_is NAME RC CMD...: CMD exits with RC.
exit_is() {
    local name=$1 want=$2 out rc; shift 2
    out=$("$@" 2>&1); rc=$?
    [ "$rc" = "$want" ] && pass "$name" || fail "$name" "exit $rc (want $want): $(echo "$out" | tail -n 3 | tr '\n' ' ')"
}

# --- setup: root 1 (r1 r2 r3, threshold 2; repository key k1), 1.0.0 ---------
for k in r1 r2 r3 r4 k1 k2 k3 kx; do
    "$PCGEN" keygen -W -p $k.pub -s $k.key >/dev/null || { fail setup "keygen $k"; finish; }
done
mkdir -p rel/1.0.0/bin w
head -c 20000 /dev/urandom >rel/1.0.0/bin/app
echo "notes of 1.0.0" >rel/1.0.0/NOTES
echo '{"product": "demo"}' >cfg.json
mkroot root1.json 1 "r1 r2 r3" 2 k1 && signroot root1.json r1 r2 &&
    build site root1.json k1 >setup.out 2>&1 &&
    "$PC" init --root w/base --repo "$TMP/site" --trust root1.json >>setup.out 2>&1 &&
    "$PC" update --root w/base >>setup.out 2>&1 ||
    { fail setup "$(tail -n 3 setup.out)"; finish; }
cp -a site site1
if intact w/base 1.0.0 && [ "$(rootv w/base)" = 1 ] && [ -f site/roots/1.root.json ] &&
   cmp -s site/roots/1.root.json root1.json && cmp -s site/roots/1.root.json.minisig root1.json.minisig &&
   [ "$(json_num version <site/repo.json)" = 1 ] && grep -q '"root":' site/repo.json; then
    pass setup_root1_installed
else fail setup_root1_installed "current $(readlink w/base/current), root version $(rootv w/base)"; fi

# --- rotation: 1 -> 2 -> 3 -> 4 ----------------------------------------------
# 2 adds repository key k2; 3 revokes k1; 4 replaces root key r1 by r4 and
# raises the threshold to 3 (signed by 2 of 3's keys and 3 of its own).
mkroot root2.json 2 "r1 r2 r3" 2 "k1 k2" && signroot root2.json r2 r3 &&
    release 1.1.0 && build site root2.json k2 >b2.out 2>&1 && cp -a site site2 &&
    mkroot root3.json 3 "r1 r2 r3" 2 k2 && signroot root3.json r1 r3 &&
    build site root3.json k2 >b3.out 2>&1 && cp -a site site3 &&
    mkroot root4.json 4 "r2 r3 r4" 3 k2 && signroot root4.json r2 r3 r4 &&
    release 1.2.0 && build site root4.json k2 >b4.out 2>&1 && cp -a site site4 ||
    { fail rotation_setup "$(tail -n 3 b2.out b3.out b4.out 2>/dev/null)"; finish; }
ls site/roots | tr '\n' ' ' | grep -q "^1.root.json 1.root.json.minisig 2.root.json 2.root.json.minisig 3.root.json 3.root.json.minisig 4.root.json 4.root.json.minisig $" &&
    grep -A1 '"root":' site/repo.json | grep -q '"version":.4,' && pass site_publishes_each_root ||
    fail site_publishes_each_root "roots/: $(ls site/roots | tr '\n' ' ')"

# A client offline through all of them walks the chain in one update.
clone base offline "$TMP/site"
accepted offline_client_walks_1_to_4 w/offline 1.2.0 4
python3 - w/offline/state.json >st.out 2>&1 <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["root"]["version"] == 4, s["root"]
assert s["root"]["json"] == open("root4.json").read(), "state keeps another root text"
assert s["root"]["signatures"] == open("root4.json.minisig").read()
rot = [(x["from"], x["to"]) for x in s["rotations"]]
assert rot == [(0, 1), (1, 4)], rot
PY
[ $? = 0 ] && pass state_records_rotation || fail state_records_rotation "$(tail -n 2 st.out)"
out=$("$PC" status --root w/offline --json 2>&1)
echo "$out" | grep -q '"root_version": 4' && pass status_json_root_version_4 || fail status_json_root_version_4 "$out"
out=$("$PC" status --root w/offline 2>&1)
echo "$out" | grep -q "root of trust: version 4" && pass status_text_root_version || fail status_text_root_version "$out"

# A client online through each step records each rotation.
clone base step "$TMP/site2"
accepted step_to_root2 w/step 1.1.0 2
cp -a w/step w/at2   # kept: a client at root 2 (the replay tests)
point w/step "$TMP/site3"
accepted step_to_root3 w/step 1.1.0 3
point w/step "$TMP/site4"
accepted step_to_root4 w/step 1.2.0 4
python3 -c "
import json; s = json.load(open('w/step/state.json'))
rot = [(x['from'], x['to'], x['reset_serial']) for x in s['rotations']]
assert rot == [(0, 1, False), (1, 2, False), (2, 3, False), (3, 4, False)], rot" 2>st.out &&
    pass state_records_each_rotation || fail state_records_each_rotation "$(tail -n 1 st.out)"
# The next update with nothing new changes nothing and still verifies.
out=$("$PC" update --root w/step 2>&1) && intact w/step 1.2.0 && [ "$(rootv w/step)" = 4 ] &&
    pass update_at_newest_root || fail update_at_newest_root "$out"

# --- generator refusals ------------------------------------------------------
# build --trust publishes a root only when it follows the site's newest, and
# signs repo.json only with keys the root lists, enough of them. Nothing of
# the site changes when it refuses.
unchanged() { cmp -s "$1/repo.json" "$2/repo.json" && diff -r "$1/roots" "$2/roots" >/dev/null; }
KX=$(keyid kx)
rm -rf g1 && cp -a site1 g1
gen_refused build_refuses_unlisted_signing_key 1 "signing key $KX \(-s, number 1\) is not a repository key of root version 2" \
    build g1 root2.json kx
gen_refused build_refuses_second_unlisted_key 1 "signing key $KX \(-s, number 2\) is not a repository key" \
    build g1 root2.json k1 kx
gen_refused build_refuses_skipped_root 1 "root version 3, but the site's newest root is version 1: publish version 2 first" \
    build g1 root3.json k2
unchanged g1 site1 && pass refused_builds_leave_site_unchanged || fail refused_builds_leave_site_unchanged "$(diff -r site1 g1 | head -3)"
rm -rf g2 && cp -a site2 g2
gen_refused build_refuses_older_root 1 "root version 1, but the site already has version 2" build g2 root1.json k1
mkroot root2b.json 2 "r1 r2 r3" 2 "k1 k2" --reset-serial && signroot root2b.json r1 r2
gen_refused build_refuses_changed_published_root 1 "differs from the one the site has: a published root version never changes" \
    build g2 root2b.json k2
unchanged g2 site2 && pass refused_builds_leave_site2_unchanged || fail refused_builds_leave_site2_unchanged "$(diff -r site2 g2 | head -3)"
gen_refused build_refuses_first_root_not_1 1 "root version 2, but the site has no root metadata yet: its first root must be version 1" \
    build g0 root2.json k1
[ ! -e g0/repo.json ] && pass refused_first_build_writes_nothing || fail refused_first_build_writes_nothing "g0/repo.json written"
mkroot unsigned.json 2 "r1 r2 r3" 2 k1
gen_refused build_refuses_unsigned_root 1 "unsigned.json.minisig: not found: sign the root first" build g1 unsigned.json k1
# Repository threshold 2: one -s key is too few; two sign, and a client
# needs both blocks.
mkroot rt2.json 2 "r1 r2 r3" 2 "k1 k2" --repo-threshold 2 && signroot rt2.json r1 r2
gen_refused build_refuses_too_few_repo_signers 1 "root version 2 needs 2 repository keys to sign repo.json; 1 given" \
    build g1 rt2.json k1
gen_refused build_counts_a_key_given_twice_once 1 "needs 2 repository keys to sign repo.json; 1 given" \
    build g1 rt2.json k1 k1
unchanged g1 site1 && pass refused_builds_leave_site_unchanged_2 || fail refused_builds_leave_site_unchanged_2 "$(diff -r site1 g1 | head -3)"
if build g1 rt2.json k1 k2 >g1.out 2>&1 && [ "$(grep -c '^untrusted comment' g1/repo.json.minisig)" = 2 ]; then
    pass build_signs_with_repo_threshold_keys
else fail build_signs_with_repo_threshold_keys "$(tail -n 2 g1.out)"; fi
clone base g1c "$TMP/g1"
accepted repo_threshold_2_met w/g1c 1.2.0 2
rm -rf g1b && cp -a g1 g1b && craft g1b 'r["serial"] += 10' k1
clone base g1bc "$TMP/g1b"
refused repo_threshold_2_one_signer w/g1bc 3 "repo.json: signed by 1 of the 2 repository keys, but 2 must sign"

# root init: thresholds must fit the keys; nothing written when refused.
gen_refused init_threshold_above_keys 1 "root_keys.threshold: 3, but must be 1 to 2" \
    "$PCGEN" root init -o bad.json --root-key r1.pub r2.pub --threshold 3 --repo-key k1.pub
gen_refused init_repo_threshold_above_keys 1 "repo_keys.threshold: 2, but must be 1 to 1" \
    "$PCGEN" root init -o bad.json --root-key r1.pub --threshold 1 --repo-key k1.pub --repo-threshold 2
gen_refused init_key_listed_twice 1 "root_keys.keys: key id $(keyid r1) listed twice" \
    "$PCGEN" root init -o bad.json --root-key r1.pub r1.pub --threshold 1 --repo-key k1.pub
gen_refused init_threshold_zero 2 "--threshold: expected a number from 1 to 16" \
    "$PCGEN" root init -o bad.json --root-key r1.pub --threshold 0 --repo-key k1.pub
gen_refused init_threshold_required 2 "--threshold and --repo-key are required" \
    "$PCGEN" root init -o bad.json --root-key r1.pub --repo-key k1.pub
gen_refused init_bad_key 1 "nokey.pub: neither a public key file nor a base64 key" \
    "$PCGEN" root init -o bad.json --root-key nokey.pub --threshold 1 --repo-key k1.pub
gen_refused init_bad_expires 2 "--expires: expected a duration" \
    "$PCGEN" root init -o bad.json --root-key r1.pub --threshold 1 --repo-key k1.pub --expires soon
# An expiry no reader parses (after the year 9999): refused, not written
# for root sign and every client to refuse later.
gen_refused init_expires_past_9999 1 "expires: after 9999-12-31T23:59:59Z" \
    "$PCGEN" root init -o bad.json --root-key r1.pub --threshold 1 --repo-key k1.pub --expires 3000000d
gen_refused init_expires_overflow 1 "expires: after 9999-12-31T23:59:59Z" \
    "$PCGEN" root init -o bad.json --root-key r1.pub --threshold 1 --repo-key k1.pub --expires 106751991167300d
[ ! -e bad.json ] && pass init_refused_writes_nothing || fail init_refused_writes_nothing "bad.json written"
gen_refused init_keeps_existing_file 1 "root1.json exists \(--force to replace it\)" \
    "$PCGEN" root init -o root1.json --root-key r1.pub --threshold 1 --repo-key k1.pub
"$PCGEN" root verify root1.json >/dev/null 2>&1 && pass init_refusal_keeps_signed_root || fail init_refusal_keeps_signed_root "root1.json changed"

# root sign: exit codes; a key signing again replaces its block.
cp root1.json rs.json && cp root1.json.minisig rs.json.minisig
exit_is root_sign_again_exit_0 0 "$PCGEN" root sign rs.json -s r1.key
[ "$(grep -c '^untrusted comment' rs.json.minisig)" = 2 ] && cmp -s rs.json root1.json &&
    pass root_sign_again_replaces_block || fail root_sign_again_replaces_block "$(grep -c '^untrusted' rs.json.minisig) blocks"
gen_refused root_sign_missing_key 1 "nokey.key" "$PCGEN" root sign rs.json -s nokey.key
gen_refused root_sign_needs_key 2 "expected ROOT.json and -s SECKEY" "$PCGEN" root sign rs.json
echo '{"format": 1, "type": "patchcast-repo"}' >notroot.json
gen_refused root_sign_refuses_non_root 1 "notroot.json: root metadata: type: 'patchcast-repo'" "$PCGEN" root sign notroot.json -s r1.key
[ ! -e notroot.json.minisig ] && pass root_sign_refused_writes_nothing || fail root_sign_refused_writes_nothing "signature written"
out=$("$PCGEN" root sign rs.json -s kx.key 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "note: this key is not a root key of this version" &&
    "$PCGEN" root verify rs.json >/dev/null 2>&1 && pass root_sign_by_other_key_noted ||
    fail root_sign_by_other_key_noted "exit $rc: $out"

# root verify: 0 thresholds hold, 3 not, 4 expired; --previous checks the step.
mkroot one.json 2 "r1 r2 r3" 2 kx && signroot one.json r1   # 1 of 2
mkroot rv4.json 4 "r3 r4" 2 k2 && signroot rv4.json r3 r4    # its own 2 of 2; 1 of root 3's
exit_is root_verify_ok 0 "$PCGEN" root verify root1.json
exit_is root_verify_step_ok 0 "$PCGEN" root verify root4.json --previous root3.json
gen_refused root_verify_unsigned 3 "no signatures" "$PCGEN" root verify unsigned.json
gen_refused root_verify_below_threshold 3 "signed by 1 of the 3 root keys, but 2 must sign" "$PCGEN" root verify one.json
gen_refused root_verify_previous_threshold 3 "after version 3 \(root3.json\): root version 4: signed by 1 of the 3 root \(of root version 3\) keys, but 2 must sign" \
    "$PCGEN" root verify rv4.json --previous root3.json
gen_refused root_verify_previous_skipped 3 "the file says version 3: versions may not be skipped" \
    "$PCGEN" root verify root3.json --previous root1.json
gen_refused root_verify_previous_replayed 4 "the file says version 1: an older root replayed" \
    "$PCGEN" root verify root1.json --previous root2.json

# --- attack: repo.json signed by a revoked key -------------------------------
# k1, dropped by root 3, signs a newer repo.json for the site at root 4.
K1=$(keyid k1) K2=$(keyid k2)
rm -rf ra && cp -a site4 ra && craft ra 'r["serial"] += 10' k1
clone offline ra4 "$TMP/ra"
refused revoked_key_refused w/ra4 3 "repo.json: .*signed with key id $K1, but the trusted key is $K2"
clone base ra1 "$TMP/ra"    # at root 1, where k1 is trusted: walks to 4 first
refused revoked_key_refused_after_walk w/ra1 3 "signed with key id $K1, but the trusted key is $K2"
# The control: the same document signed by k2 is taken.
rm -rf rac && cp -a site4 rac && craft rac 'r["serial"] += 10' k2
clone base rac1 "$TMP/rac"
accepted revoked_key_control_k2_accepted w/rac1 1.2.0 4
# Old roots only (roots/3 and 4 withheld), so that k1 would count again: a
# client that knows root 3 or 4 still judges by it.
rm -rf rt && cp -a site2 rt && craft rt 'r["serial"] += 10' k1
clone offline rt4 "$TMP/rt"
refused withheld_roots_revoked_key_refused w/rt4 3 "signed with key id $K1, but the trusted key is $K2"

# --- attack: a root signed below a threshold ---------------------------------
# An attacker holding r1 (one of root 1's three keys, threshold 2) makes
# root 2 naming their own repository key kx.
mkroot evil2.json 2 "r1 r2 r3" 2 kx && signroot evil2.json r1
rm -rf sb && cp -a site1 sb && put_root sb evil2.json && craft sb 'name_root("evil2.json"); r["serial"] += 10' kx
clone base sb1 "$TMP/sb"
refused root_below_old_threshold w/sb1 3 \
    "roots/2.root.json on .*: root version 2: signed by 1 of the 3 root \(of root version 1\) keys, but 2 must sign"
# r1's block twice counts once.
sed -n 1,4p evil2.json.minisig >r1.blk && cat r1.blk r1.blk >sb/roots/2.root.json.minisig
clone base sb3 "$TMP/sb"
refused root_same_key_twice_counted_once w/sb3 3 "root version 2: signed by 1 of the 3 root \(of root version 1\) keys, but 2 must sign"
put_root sb evil2.json
# A new root that adds r4 and raises the threshold to 3, signed by 2: enough
# for root 1, not for itself.
mkroot evil3.json 2 "r1 r2 r3 r4" 3 kx && signroot evil3.json r1 r2
rm -rf sn && cp -a site1 sn && put_root sn evil3.json && craft sn 'name_root("evil3.json"); r["serial"] += 10' kx
clone base sn1 "$TMP/sn"
refused root_below_new_threshold w/sn1 3 "roots/2.root.json on .*: root version 2: signed by 2 of the 4 root keys, but 3 must sign"
# The controls: one signature more and the same sites are taken (so it was
# the count that refused them).
signroot evil2.json r2 && put_root sb evil2.json && clone base sb2 "$TMP/sb"
accepted root_old_threshold_control w/sb2 1.0.0 2
signroot evil3.json r4 && put_root sn evil3.json && clone base sn2 "$TMP/sn"
accepted root_new_threshold_control w/sn2 1.0.0 2

# --- attack: a skipped root version ------------------------------------------
# repo.json (signed by k1, trusted by root 1) names root 3; roots/3 is
# served, roots/2 is not: the client walks no further than 1.
rm -rf sk && cp -a site1 sk && put_root sk root3.json && craft sk 'name_root("root3.json"); r["serial"] += 10' k1
clone base sk1 "$TMP/sk"
refused skipped_root_version w/sk1 3 \
    "repo.json was published under root version 3, but the newest root the mirrors serve is version 1 \(roots/2.root.json is missing\)"
# Root 3 served as roots/2 (root 1's keys signed it): the file says 3.
rm -rf sk2 && cp -a sk sk2 && rm sk2/roots/3.root.json* &&
    cp root3.json sk2/roots/2.root.json && cp root3.json.minisig sk2/roots/2.root.json.minisig
clone base sk21 "$TMP/sk2"
refused skipped_version_in_file w/sk21 3 "roots/2.root.json on .*: root version 2: the file says version 3: versions may not be skipped"
# A root file without its signatures.
rm -rf sk3 && cp -a site2 sk3 && rm sk3/roots/2.root.json.minisig
clone base sk31 "$TMP/sk3"
refused root_without_signatures w/sk31 3 "roots/2.root.json on .*: root version 2 has no signatures"
# A hostile first mirror serving a tampered roots/2 does not stop the walk:
# the next mirror serves the real one, and the client moves to root 2.
rm -rf sk4 && cp -a site2 sk4 && sed -i 's/"threshold":\t2/"threshold":\t1/' sk4/roots/2.root.json
clone base sk41 "$TMP/sk4" && sed -i "s|\"repos\": \[\"$TMP/sk4\"\]|\"repos\": [\"$TMP/sk4\", \"$TMP/site2\"]|" w/sk41/config.json
accepted tampered_root_on_first_mirror_fails_over w/sk41 1.1.0 2

# --- attack: an expired root -------------------------------------------------
# Root 5, valid in December 2019 only (init makes roots valid from now:
# the dates are edited before the key holders sign).
mkroot exp5.json 5 "r2 r3 r4" 3 k2 &&
    sed -i 's/"created":\t"[^"]*"/"created":\t"2019-12-01T00:00:00Z"/; s/"expires":\t"[^"]*"/"expires":\t"2020-01-01T00:00:00Z"/' exp5.json &&
    signroot exp5.json r2 r3 r4
gen_refused root_verify_expired 4 "EXPIRED at 2020-01-01T00:00:00Z" "$PCGEN" root verify exp5.json --previous root4.json
rm -rf se && cp -a site4 se
gen_refused build_refuses_expired_root 4 "root version 5 expired at 2020-01-01T00:00:00Z" build se exp5.json k2
unchanged se site4 && pass build_expired_leaves_site || fail build_expired_leaves_site "$(diff -r se site4 | head -3)"
put_root se exp5.json && craft se 'name_root("exp5.json"); r["serial"] += 10' k2
clone offline se4 "$TMP/se"
refused expired_root_refused w/se4 4 "root version 5 expired at 2020-01-01T00:00:00Z: its key holders must sign a new root version"
clone base se1 "$TMP/se"
refused expired_root_refused_after_walk w/se1 4 "root version 5 expired at 2020-01-01T00:00:00Z"
# Only the newest root must be unexpired: root 6 published after it, the
# walk goes through the expired 5.
mkroot root6e.json 6 "r2 r3 r4" 3 k2 && signroot root6e.json r2 r3 r4 && build se root6e.json k2 >se.out 2>&1 ||
    fail expired_root_setup "$(tail -n 2 se.out)"
accepted expired_intermediate_root_walked w/se4 1.2.0 6
accepted expired_intermediate_root_walked_from_1 w/se1 1.2.0 6
# An install pinning the expired root 5 itself walks on to 6.
"$PC" init --root w/se5 --repo "$TMP/se" --trust exp5.json >/dev/null 2>&1
accepted expired_pinned_root_walks_on w/se5 1.2.0 6

# --- attack: roots replayed --------------------------------------------------
# A client at root 2 (serial 2) offered the site as it was at root 1.
clone at2 rb "$TMP/site1"
refused old_site_replayed w/rb 4 "repo.json has serial 1, older than serial 2 seen before"
# An older root served as the next version.
rm -rf rp && cp -a site2 rp && cp root2.json rp/roots/3.root.json && cp root2.json.minisig rp/roots/3.root.json.minisig
clone at2 rp2 "$TMP/rp"
refused older_root_replayed_as_next w/rp2 4 "roots/3.root.json on .*: root version 3: the file says version 2: an older root replayed"
rm -rf rp1 && cp -a site1 rp1 && cp root1.json rp1/roots/2.root.json && cp root1.json.minisig rp1/roots/2.root.json.minisig
clone base rp11 "$TMP/rp1"
refused same_root_replayed_as_next w/rp11 4 "roots/2.root.json on .*: root version 2: the file says version 1: an older root replayed"

# --- attack: new metadata with another root ----------------------------------
# Root 2b: version 2 too, as validly signed (r1 r2), other content (it
# resets the serial). The mirror serves it; repo.json names root 2's.
rm -rf mx && cp -a site2 mx && put_root mx root2b.json
clone base mx1 "$TMP/mx"
refused repo_names_other_root_content w/mx1 3 "repo.json names other content for root version 2 than the mirrors serve"
# And the other way round: root 2 served, repo.json naming root 2b's.
rm -rf mx2 && cp -a site2 mx2 && craft mx2 'name_root("root2b.json"); r["serial"] += 10' k2
clone base mx21 "$TMP/mx2"
refused repo_names_other_root_content_2 w/mx21 3 "repo.json names other content for root version 2 than the mirrors serve"
# The site at root 2 with its roots/ withheld, repo.json signed by k1
# (which root 1 trusts): it names a root the client cannot walk to.
rm -rf mx3 && cp -a site2 mx3 && rm -r mx3/roots && craft mx3 'r["serial"] += 10' k1
clone base mx31 "$TMP/mx3"
refused repo_names_root_not_served w/mx31 3 \
    "published under root version 2, but the newest root the mirrors serve is version 1 \(roots/2.root.json is missing\)"
# A repo.json naming no root at all, for a client that follows one.
rm -rf mx4 && cp -a site1 mx4 && craft mx4 'del r["root"]; r["serial"] += 10' k1
clone base mx41 "$TMP/mx4"
refused repo_names_no_root w/mx41 3 "repo.json names no root of trust, but this install follows one \(root version 1\)"

# --- attack: key holders signing different contents --------------------------
# r1 signs one root 2, r2 another; their blocks put together make one
# signature file for either content: each content has 1 signature of 2.
mkroot root2x.json 2 "r1 r2 r3" 2 "k1 k3" && mkroot root2y.json 2 "r1 r2 r3" 2 "k1 kx" &&
    signroot root2x.json r1 && signroot root2y.json r2 &&
    cat root2x.json.minisig root2y.json.minisig >both.minisig &&
    cp both.minisig root2x.json.minisig && cp both.minisig root2y.json.minisig
for x in x y; do
    out=$("$PCGEN" root verify root2$x.json 2>&1); rc=$?
    if [ $rc = 3 ] && echo "$out" | grep -q "signed by 1 of the 3 root keys, but 2 must sign" &&
       echo "$out" | grep -q "INVALID (other content, or altered)"; then pass split_signers_root_verify_$x
    else fail split_signers_root_verify_$x "exit $rc: $out"; fi
done
gen_refused split_signers_root_verify_previous 3 "after version 1 \(root1.json\): root version 2: signed by 1 of the 3 root \(of root version 1\) keys" \
    "$PCGEN" root verify root2x.json --previous root1.json
rm -rf sp && cp -a site1 sp
gen_refused split_signers_build_refused 3 "--trust root2x.json: root version 2: signed by 1 of the 3 root keys, but 2 must sign" \
    build sp root2x.json k1
unchanged sp site1 && pass split_signers_build_writes_nothing || fail split_signers_build_writes_nothing "$(diff -r sp site1 | head -3)"
put_root sp root2x.json && craft sp 'name_root("root2x.json"); r["serial"] += 10' k3
clone base sp1 "$TMP/sp"
refused split_signers_client_refused w/sp1 3 "roots/2.root.json on .*: root version 2: signed by 1 of the 3 root \(of root version 1\) keys, but 2 must sign"

# --- attack: a fast-forwarded serial, and the recovery -----------------------
# k2 stolen: its thief publishes serial 2^53-1, which a client at root 4
# takes (validly signed); the publishers' next site (serial 5) is then
# refused as a rollback, until root 5 resets the serial and replaces k2.
rm -rf ff && cp -a site4 ff && craft ff "r['serial'] = $MAXSER" k2
clone offline ffc "$TMP/ff"
out=$("$PC" update --root w/ffc 2>&1); rc=$?
[ $rc = 0 ] && [ "$(serial w/ffc)" = $MAXSER ] && intact w/ffc 1.2.0 && pass fast_forwarded_serial_taken ||
    fail fast_forwarded_serial_taken "exit $rc, serial $(serial w/ffc): $out"
release 1.3.0 && build site root4.json k2 >b5.out 2>&1 || fail fast_forward_setup "$(tail -n 2 b5.out)"
point w/ffc "$TMP/site"
refused fast_forward_blocks_publisher w/ffc 4 "repo.json has serial 5, older than serial $MAXSER seen before"
mkroot root5.json 5 "r2 r3 r4" 3 k3 --reset-serial && signroot root5.json r2 r3 r4 &&
    build site root5.json k3 >b6.out 2>&1 && cp -a site site5 || fail fast_forward_setup "$(tail -n 2 b6.out)"
accepted reset_serial_root_recovers w/ffc 1.3.0 5
[ "$(serial w/ffc)" = 6 ] && grep -A4 '"to":.5,' w/ffc/state.json | grep -q '"reset_serial":.true' &&
    pass reset_serial_recorded || fail reset_serial_recorded "serial $(serial w/ffc); $(grep -A4 '"to":.5,' w/ffc/state.json | tr '\n' ' ')"
# The thief replays the fast-forwarded site: k2 is no longer trusted.
point w/ffc "$TMP/ff"
refused fast_forward_replay_refused w/ffc 3 "signed with key id $K2, but the trusted key is $(keyid k3)"
# ... nor a new one signed by k2.
rm -rf ff2 && cp -a site5 ff2 && craft ff2 "r['serial'] = $MAXSER" k2
point w/ffc "$TMP/ff2"
refused fast_forward_again_refused w/ffc 3 "signed with key id $K2"
# The ratchet holds again after the reset (crossing root 5 resets it, not
# being at it): the site of serial 6 replayed once 7 was seen.
release 1.4.0 && build site root5.json k3 >b7.out 2>&1 || fail fast_forward_setup "$(tail -n 2 b7.out)"
point w/ffc "$TMP/site"
accepted after_reset_update w/ffc 1.4.0 5
point w/ffc "$TMP/site5"
refused after_reset_ratchet_holds w/ffc 4 "repo.json has serial 6, older than serial 7 seen before"
# A client that was offline through the attack and the recovery walks 1 to 5.
clone base ffo "$TMP/site"
accepted offline_through_recovery w/ffo 1.4.0 5
[ "$(serial w/ffo)" = 7 ] && pass offline_through_recovery_serial || fail offline_through_recovery_serial "serial $(serial w/ffo)"
# A reset root that keeps the repository key (root 2r: k1 stays), served
# while the mirror still has repo.json of root 1 (a publish under way, or a
# mirror replaying it on purpose): the reset holds for a repo.json
# published under root 2r only, so it is not spent on the old document, nor
# does it let an older serial in.
mkroot root2r.json 2 "r1 r2 r3" 2 k1 --reset-serial && signroot root2r.json r1 r2 &&
    rm -rf rw && cp -a site1 rw && craft rw "r['serial'] = $MAXSER" k1 && clone base rwc "$TMP/rw" &&
    "$PC" update --root w/rwc >/dev/null 2>&1 && [ "$(serial w/rwc)" = $MAXSER ] || fail reset_window_setup "serial $(serial w/rwc)"
rm -rf rw0 && cp -a site1 rw0 && put_root rw0 root2r.json
point w/rwc "$TMP/rw0"
refused reset_root_with_old_repo_replayed w/rwc 4 "repo.json has serial 1, older than serial $MAXSER seen before"
put_root rw root2r.json
point w/rwc "$TMP/rw"
out=$("$PC" update --root w/rwc 2>&1); rc=$?
[ $rc = 0 ] && [ "$(rootv w/rwc)" = 1 ] && [ "$(serial w/rwc)" = $MAXSER ] && pass reset_not_spent_on_old_repo ||
    fail reset_not_spent_on_old_repo "exit $rc, root version $(rootv w/rwc), serial $(serial w/rwc): $out"
rm -rf rw2 && cp -a site1 rw2 && build rw2 root2r.json k1 >rw.out 2>&1 || fail reset_window_setup "$(tail -n 2 rw.out)"
point w/rwc "$TMP/rw2"
accepted reset_taken_once_published w/rwc 1.4.0 2
[ "$(serial w/rwc)" = 2 ] && pass reset_taken_serial || fail reset_taken_serial "serial $(serial w/rwc)"

# --- minisign interop --------------------------------------------------------
if command -v minisign >/dev/null; then
    # Each block of a root's signature file is an ordinary minisign signature.
    sed -n 1,4p root1.json.minisig >b1.minisig && sed -n 5,8p root1.json.minisig >b2.minisig
    check minisign_verifies_root_block_r1 minisign -V -p r1.pub -m root1.json -x b1.minisig
    check minisign_verifies_root_block_r2 minisign -V -p r2.pub -m root1.json -x b2.minisig
    check_fails minisign_refuses_block_of_other_root "verification failed" minisign -V -p r1.pub -m root2x.json -x b1.minisig
    # A root key made by minisign, its block made by minisign -S (with the
    # trusted comment patchcast-gen gives root signatures).
    minisign -G -W -p m.pub -s m.key >/dev/null 2>&1 || fail minisign_setup "minisign -G"
    mkroot mroot.json 1 "r1 m" 2 k1 && signroot mroot.json r1 &&
        minisign -S -s m.key -m mroot.json -x m.minisig -t "patchcast-root version:1" >/dev/null 2>&1 &&
        cat m.minisig >>mroot.json.minisig || fail minisign_setup "mroot.json"
    out=$("$PCGEN" root verify mroot.json 2>&1); rc=$?
    [ $rc = 0 ] && echo "$out" | grep -q "key $(keyid m), a root key: valid" && pass root_verify_accepts_minisign_block ||
        fail root_verify_accepts_minisign_block "exit $rc: $out"
    # ... pinned by a client: the site built with it verifies.
    rm -rf ms && build ms mroot.json k1 >ms.out 2>&1 && "$PC" init --root w/ms --repo "$TMP/ms" --trust mroot.json >/dev/null 2>&1 &&
        accepted minisign_signed_root_pinned w/ms 1.4.0 1 || fail minisign_signed_root_pinned "$(tail -n 2 ms.out)"
    # patchcast-gen root sign with the key minisign made (-W: no checksum).
    mkroot mroot2.json 2 "r1 m" 2 k1 && signroot mroot2.json r1 m &&
        exit_is root_sign_with_minisign_key 0 "$PCGEN" root verify mroot2.json --previous mroot.json
    # Only minisign's block, with its default trusted comment.
    mkroot m1.json 1 "m r1" 1 k1 && minisign -S -s m.key -m m1.json >/dev/null 2>&1 &&
        exit_is root_verify_minisign_default_comment 0 "$PCGEN" root verify m1.json
    # A holder signing with plain minisign -S (its default trusted comment)
    # beside a block of root sign: the comment is not read, both count.
    mkroot mix.json 1 "r1 m" 2 k1 && signroot mix.json r1 && minisign -S -s m.key -m mix.json -x mm.minisig >/dev/null 2>&1 &&
        cat mm.minisig >>mix.json.minisig && ! grep -q "patchcast-root" mm.minisig &&
        exit_is root_threshold_met_with_mixed_comments 0 "$PCGEN" root verify mix.json
else
    fail minisign_interop "minisign is not installed (make deps)"
fi

# --- mirror and site verify over roots/ --------------------------------------
out=$("$PC" mirror "file://$TMP/site" usb --trust root1.json 2>&1); rc=$?
[ $rc = 0 ] && diff -r site/roots usb/roots >/dev/null && pass mirror_copies_roots || fail mirror_copies_roots "exit $rc: $out"
"$PC" init --root w/usb --repo "$TMP/usb" --trust root1.json >/dev/null 2>&1
accepted client_walks_mirror w/usb 1.4.0 5
check site_verify_trust_root1 "$PCGEN" verify site --trust root1.json
check site_verify_trust_root3 "$PCGEN" verify site --trust root3.json
gen_refused site_verify_other_pinned_root 1 "PROBLEM evil2.json: differs from the site's root of the same version" \
    "$PCGEN" verify site --trust evil2.json
rm -rf vt && cp -a site vt && sed -i 's/"reset_serial":\tfalse/"reset_serial":\ttrue/' vt/roots/2.root.json
gen_refused site_verify_tampered_root 1 "PROBLEM roots/2.root.json: root version 2: signed by 0 of the 3 root \(of root version 1\) keys" \
    "$PCGEN" verify vt --trust root1.json
out=$("$PC" mirror "file://$TMP/vt" usb2 --trust root1.json 2>&1); rc=$?
[ $rc = 3 ] && echo "$out" | grep -q "roots/2.root.json" && [ ! -e usb2/repo.json ] && pass mirror_refuses_tampered_root ||
    fail mirror_refuses_tampered_root "exit $rc: $out"
clone base vtc "$TMP/vt"
refused tampered_root_refused w/vtc 3 "roots/2.root.json on .*: root version 2: signed by 0 of the 3 root \(of root version 1\) keys"

# --- from bare keys to a root of trust ---------------------------------------
# A site built before it had root metadata: an install pinning the root and
# the bare key takes it until the site names a root; then never again.
mkdir -p rel0/1.0.0 && cp -a rel/1.0.0/. rel0/1.0.0/
"$PCGEN" build -q rel0 -o bare -s k1.key --config cfg.json >bare.out 2>&1 || fail bare_setup "$(tail -n 2 bare.out)"
"$PC" init --root w/bare --repo "$TMP/bare" --trust root1.json -p k1.pub >/dev/null 2>&1
"$PC" init --root w/rootonly --repo "$TMP/bare" --trust root1.json >/dev/null 2>&1
out=$("$PC" update --root w/rootonly 2>&1); rc=$?
[ $rc = 3 ] && echo "$out" | grep -q "repo.json names no root of trust, but this install follows one (root version 1)" &&
    [ ! -e w/rootonly/current ] && pass bare_site_refused_without_bare_key || fail bare_site_refused_without_bare_key "exit $rc: $out"
out=$("$PC" update --root w/bare 2>&1); rc=$?
[ $rc = 0 ] && intact w/bare 1.0.0 && ! grep -q '"rotations"' w/bare/state.json && pass bare_key_takes_site_without_root ||
    fail bare_key_takes_site_without_root "exit $rc: $out"
cp -a bare bare0
"$PCGEN" build -q rel0 -o bare -s k1.key --trust root1.json --config cfg.json >bare.out 2>&1 || fail bare_setup "$(tail -n 2 bare.out)"
accepted bare_to_root_site w/bare 1.0.0 1
grep -q '"from":.0,' w/bare/state.json && pass bare_to_root_recorded || fail bare_to_root_recorded "$(grep -A3 rotations w/bare/state.json)"
craft bare0 'r["serial"] += 10' k1
point w/bare "$TMP/bare0"
refused bare_site_refused_after_root w/bare 3 "repo.json names no root of trust, but this install follows one \(root version 1\)"

# --- init --trust ------------------------------------------------------------
# A root is pinned only with its own threshold of signatures.
gen_refused init_refuses_root_below_threshold 3 "init: one.json: root version 2: signed by 1 of the 3 root keys, but 2 must sign" \
    "$PC" init --root w/i1 --repo "$TMP/site" --trust one.json
gen_refused init_refuses_unsigned_root 1 "unsigned.json.minisig: not found: root metadata is trusted only with its signatures" \
    "$PC" init --root w/i2 --repo "$TMP/site" --trust unsigned.json
[ ! -e w/i1 ] && [ ! -e w/i2 ] && pass init_refused_creates_nothing || fail init_refused_creates_nothing "$(ls w/i1 w/i2 2>&1)"

# --- check, mirror and the generator's warning -------------------------------
# `check` refuses as `update` does (and changes nothing).
out=$("$PC" check --root w/ra4 2>&1); rc=$?
[ $rc = 3 ] && echo "$out" | grep -q "signed with key id $K1" && pass check_refuses_revoked_key || fail check_refuses_revoked_key "exit $rc: $out"
out=$("$PC" check --root w/se4 2>&1); rc=$?   # now at root 6; the site still serves 5 and 6
[ $rc = 0 ] && pass check_after_expired_walk || fail check_after_expired_walk "exit $rc: $out"
# `patchcast mirror` refuses a site naming a root it does not serve.
out=$("$PC" mirror "file://$TMP/sk" usb3 --trust root1.json 2>&1); rc=$?
[ $rc = 3 ] && echo "$out" | grep -q "published under root version 3" && [ ! -e usb3/repo.json ] &&
    pass mirror_refuses_skipped_root || fail mirror_refuses_skipped_root "exit $rc: $out"
# A root that expires within 30 days: build warns.
mkroot soon.json 1 r1 1 k1 --expires 10d && signroot soon.json r1
out=$("$PCGEN" build rel0 -o soon -s k1.key --trust soon.json --config cfg.json 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "warning: root version 1 expires at .*: sign version 2 before then" &&
    pass build_warns_root_expiring || fail build_warns_root_expiring "exit $rc: $out"

# --- an install re-pinned to another root of trust: the application ships
# a new chain (root 1 again, new root keys: the old ones were lost or stolen).
# What grew from the old pin (root 2, kept in state.json) no longer counts.
for k in q1 q2 kq; do "$PCGEN" keygen -W -p $k.pub -s $k.key >/dev/null; done
mkroot qroot1.json 1 "q1 q2" 2 kq && signroot qroot1.json q1 q2
rm -rf qsite && cp -a site2 qsite && rm -rf qsite/roots && build qsite qroot1.json kq >q.out 2>&1 ||
    fail repin_setup "$(tail -n 2 q.out)"
qver=$(ls -d rel/*/ | xargs -n1 basename | sort -V | tail -n 1)
clone at2 q1c "$TMP/qsite"
refused repin_old_pin_refuses_new_chain w/q1c 3 "repo.json"
"$PC" init --root w/q1c --repo "$TMP/qsite" --trust qroot1.json >/dev/null 2>&1 || fail repin_init "init --trust"
accepted repin_new_chain_followed w/q1c "$qver" 1
grep -q "\"pin\":[[:space:]]*\"$(sha256sum qroot1.json | cut -d' ' -f1)\"" w/q1c/state.json &&
    pass repin_recorded || fail repin_recorded "$(grep -A3 '"root"' w/q1c/state.json | head -5)"

finish
