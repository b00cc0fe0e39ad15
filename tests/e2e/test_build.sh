#!/usr/bin/env bash
# test_build.sh — patchcast-gen build on a generated release history: format
# conformance, minisign verification, verify (damage, wrong key, expiry),
# incremental reuse, interrupted builds, and bad inputs each refused with a
# clear error.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
source "$(dirname "$0")/signed.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD

make_releases rel
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
"$PCGEN" keygen -W -p other.pub -s other.key >/dev/null
cat >cfg.json <<'EOF'
{"product": "demo", "critical_files": ["bin/app"], "hot_swap_modules": ["lib/*.so"],
 "skip_edges": 2, "workers": 2}
EOF

if "$PCGEN" build rel -o site -s k.key --config cfg.json >build1.out 2>build1.err; then
    pass build_succeeds
else
    fail build_succeeds "$(tail -3 build1.err)"
    finish
fi
check repo_json_verifies_with_minisign minisign -V -p k.pub -m site/repo.json
tc=$(sed -n 3p site/repo.json.minisig)
[[ $tc =~ ^trusted\ comment:\ patchcast-repo\ serial:1\ product:demo\ expires:20[0-9-]+T ]] &&
    pass trusted_comment_names_serial || fail trusted_comment_names_serial "$tc"

# Conformance: every referenced file exists with the hash/size repo.json says.
python3 - site >conformance.out 2>&1 <<'EOF'
import hashlib, json, os, sys
site = sys.argv[1]
repo = json.load(open(os.path.join(site, "repo.json")))
assert repo["format"] == 1 and repo["serial"] == 1 and repo["product"] == "demo"
names = [v["name"] for v in repo["versions"]]
assert names == ["1.0.0", "1.1.0", "1.2.0-rc.1", "1.2.0", "1.10.0"], names
assert repo["channels"] == {"stable": "1.10.0", "beta": "1.10.0"}, repo["channels"]
parents = {v["name"]: v["parent"] for v in repo["versions"]}
assert parents["1.10.0"] == "1.2.0" and parents["1.0.0"] is None, parents
notes = {v["name"]: v.get("notes") for v in repo["versions"]}
assert notes["1.0.0"] == "First release.\n", notes
def check(rel, ref):
    data = open(os.path.join(site, rel), "rb").read()
    assert len(data) == ref["size"], rel
    assert hashlib.sha256(data).hexdigest() == ref["sha256"], rel
    return data
for v in repo["versions"]:
    m = json.loads(check("manifests/%s.json" % v["manifest"]["sha256"], v["manifest"]))
    assert m["version"] == v["name"]
    paths = [f["path"] for f in m["files"]]
    assert paths == sorted(paths, key=lambda p: p.encode()), paths
    full = 0
    for f in m["files"]:
        if f["type"] == "file":
            o = os.path.join(site, "objects", f["sha256"][:2], f["sha256"])
            assert os.path.getsize(o) == f["object_size"], f["path"]
            full += f["object_size"]
    assert full == v["full_bytes"], v["name"]
    byp = {f["path"]: f for f in m["files"]}
    assert byp["bin/app"]["flags"] == ["critical"] and byp["bin/app"]["mode"] == "755"
    assert byp["lib/module.so"]["flags"] == ["hot"]
    assert byp["share/link-to-big"] == {"path": "share/link-to-big", "type": "symlink", "target": "../lib/big.txt"}
    assert byp["share/empty-dir"]["type"] == "dir"
    assert byp["share/empty.txt"]["size"] == 0
    assert "share/caf\u00e9.txt" in byp
edges = {(e["from"], e["to"]) for e in repo["edges"]}
want = {("1.0.0", "1.1.0"), ("1.1.0", "1.2.0-rc.1"), ("1.2.0-rc.1", "1.2.0"), ("1.2.0", "1.10.0"),
        ("1.2.0-rc.1", "1.10.0"), ("1.1.0", "1.10.0")}
assert want <= edges, edges - want
for e in repo["edges"]:
    d = json.loads(check("deltas/%s.json" % e["delta"]["sha256"], e["delta"]))
    assert d["from"] == e["from"] and d["to"] == e["to"]
    total = 0
    for p in d["patches"]:
        f = os.path.join(site, "patches", p["from_sha256"][:2], p["from_sha256"] + "-" + p["to_sha256"])
        assert os.path.getsize(f) == p["size"], f
        total += p["size"]
    assert total <= e["bytes"]
# The rename 1.0.0 -> 1.1.0 is served as a patch from the old name's content.
e = [e for e in repo["edges"] if e["from"] == "1.0.0" and e["to"] == "1.1.0"][0]
d = json.load(open(os.path.join(site, "deltas", e["delta"]["sha256"] + ".json")))
assert any(p["path"] == "data/new-name.bin" for p in d["patches"]) or e["bytes"] < 10000, d
print("conformance ok")
EOF
grep -q "conformance ok" conformance.out && pass format_conformance ||
    fail format_conformance "$(tail -3 conformance.out | tr '\n' ' ')"
grep -q "index.html" <(ls site) && grep -q "1.10.0" site/index.html && pass index_page ||
    fail index_page "index.html missing or lacks versions"

check site_verify_passes "$PCGEN" verify site -p k.pub
cp -a site vsite
for p in $(find vsite/patches -type f | head -2); do printf 'xx' | dd of="$p" bs=1 seek=50 conv=notrunc status=none; done
printf 'junk' >>"$(find vsite/objects -type f | head -1)"
out=$("$PCGEN" verify vsite -p k.pub 2>&1); rc=$?
n=$(echo "$out" | grep -c '^PROBLEM')
[ "$rc" = 1 ] && [ "$n" -ge 2 ] && echo "$out" | grep -q "^PROBLEM patches/" && echo "$out" | grep -q "^PROBLEM objects/" &&
    pass site_verify_reports_by_file || fail site_verify_reports_by_file "exit $rc, $n problems: $out"
check_fails site_verify_wrong_key "signed with key id" "$PCGEN" verify site -p other.pub

# Expiry: clients refuse an expired repo.json, so verify fails on one, and
# warns (exit 0) when one expires within 7 days. The expired site is the
# site re-signed with dates in the past; the soon-expiring one is the site
# rebuilt (re-signed, everything reused) with --expires 3d.
expires_of() { python3 -c "import json; print(json.load(open('$1/repo.json'))['expires'])"; }
rm -rf xsite && cp -a site xsite
python3 - xsite/repo.json <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
r["created"], r["expires"] = "2019-12-01T00:00:00Z", "2020-01-01T00:00:00Z"
open(p, "w").write(json.dumps(r, indent="\t") + "\n")
PY
resign xsite
out=$("$PCGEN" verify xsite -p k.pub 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q '^PROBLEM repo.json: expired at 2020-01-01T00:00:00Z.*patchcast-gen build' &&
    echo "$out" | grep -q ': 1 problem$' && pass site_verify_fails_when_expired ||
    fail site_verify_fails_when_expired "exit $rc: $out"
# The fix it names: a rebuild re-signs with a new expiry, and the site verifies.
"$PCGEN" build -q rel -o xsite -s k.key --config cfg.json >/dev/null 2>&1
out=$("$PCGEN" verify xsite -p k.pub 2>&1); rc=$?
[ "$rc" = 0 ] && [ "$(expires_of xsite)" != 2020-01-01T00:00:00Z ] && pass site_rebuild_renews_expired ||
    fail site_rebuild_renews_expired "exit $rc, expires $(expires_of xsite): $out"
rm -rf ssite && cp -a site ssite
"$PCGEN" build -q rel -o ssite -s k.key --config cfg.json --expires 3d >/dev/null 2>&1
"$PCGEN" verify ssite -p k.pub >v3.out 2>v3.err; rc=$?
exp=$(expires_of ssite)
[ "$rc" = 0 ] && grep -q "^WARNING repo.json: expires at $exp (in [23] days" v3.err && ! grep -q '^PROBLEM' v3.out &&
    pass site_verify_warns_expiring_in_3_days ||
    fail site_verify_warns_expiring_in_3_days "exit $rc, expires $exp: $(cat v3.out v3.err | tr '\n' ' ')"
"$PCGEN" verify site -p k.pub >v30.out 2>v30.err; rc=$?
[ "$rc" = 0 ] && [ ! -s v30.err ] && ! grep -q 'WARNING\|PROBLEM' v30.out && pass site_verify_quiet_expiring_in_30_days ||
    fail site_verify_quiet_expiring_in_30_days "exit $rc: $(cat v30.out v30.err | tr '\n' ' ')"

# Incremental: a rebuild reuses everything and bumps the serial.
# The page shows repo.json's serial and dates: those may change, nothing else.
snapshot() {
    (cd site && find . -type f ! -name repo.json ! -name repo.json.minisig ! -name index.html -print0 |
        sort -z | xargs -0 sha256sum)
    # (its times are "2026-11-26 00:59 UTC": two builds may straddle a minute)
    sed -E 's/serial:? *[0-9]+/serial N/g; s/[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:]{8}Z| [0-9]{2}:[0-9]{2} UTC)?/DATE/g' site/index.html | sha256sum
}
snapshot >site.before
cp site/repo.json repo.json.before
"$PCGEN" build rel -o site -s k.key --config cfg.json >build2.out 2>&1
# ...and leaves the site byte-identical but for what the format requires to
# change: repo.json's serial, creation and expiry times (and so its signature).
snapshot >site.after
if diff -q site.before site.after >/dev/null && python3 - repo.json.before site/repo.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert b["serial"] == a["serial"] + 1, (a["serial"], b["serial"])
for d in (a, b):
    d.pop("serial"); d.pop("created"); d.pop("expires")
assert a == b, "repo.json differs beyond serial, created and expires"
PY
then pass rebuild_without_change_is_byte_identical
else fail rebuild_without_change_is_byte_identical "$(diff site.before site.after | head -3 | tr '\n' ' ')"; fi
if grep -q "serial 2" build2.out && grep -q "objects: 0 written" build2.out &&
    grep -q "patches: 0 computed" build2.out; then pass rebuild_reuses_everything
else fail rebuild_reuses_everything "$(head -2 build2.out | tr '\n' ' ')"; fi
ls site/manifests >m2.list
# A new release: only its edges are computed.
cp -a rel/1.10.0 rel/1.11.0
printf 'x' >>rel/1.11.0/lib/big.txt
"$PCGEN" build rel -o site -s k.key --config cfg.json >build3.out 2>&1
computed=$(sed -n 's/.*patches: \([0-9]*\) computed.*/\1/p' build3.out)
[ -n "$computed" ] && [ "$computed" -le 3 ] && grep -q "serial 3" build3.out &&
    pass new_release_computes_only_new_edges || fail new_release_computes_only_new_edges "$(head -2 build3.out)"

# A corrupted object in the site is detected and rewritten, not trusted.
obj=$(find site/objects -type f | head -1)
printf 'junk' >"$obj"
"$PCGEN" build rel -o site -s k.key --config cfg.json >build4.out 2>&1
if grep -q "objects: 1 written" build4.out; then pass corrupt_object_rewritten
else fail corrupt_object_rewritten "$(sed -n 2p build4.out)"; fi

# Interrupted build: killed at a known point, after it has written new files
# and before repo.json. 1.12.0 brings a new 2 MB bin/app; 1.13.0's release
# notes are a FIFO that nobody writes to, so the build blocks opening them,
# right after it printed "scanning rel/1.13.0", i.e. after it wrote 1.12.0's
# objects (versions are scanned in order) and before any patch or repo.json.
# The kill must land there (exit 137); the previous repo.json stays,
# byte for byte, and the site still verifies; a re-run completes.
cp site/repo.json repo.before
cp -a rel/1.11.0 rel/1.12.0
head -c 2000000 /dev/urandom >rel/1.12.0/bin/app
cp -a rel/1.12.0 rel/1.13.0
mkfifo rel/1.13.0.md
app=$(sha256sum rel/1.12.0/bin/app | cut -c1-64)
"$PCGEN" build rel -o site -s k.key --config cfg.json >build5.out 2>build5.err &
pid=$!
blocked() { grep -q "^scanning rel/1.13.0$" build5.err || ! kill -0 "$pid" 2>/dev/null; }
why=""
wait_for 60 blocked || why="; no \"scanning rel/1.13.0\" in 60 s"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null # (its "Killed" notice)
rc=$?
[ "$rc" -eq 137 ] || why="$why; build exit $rc, not killed (137): $(tail -2 build5.err | tr '\n' ' ')"
[ -f "site/objects/${app:0:2}/$app" ] || why="$why; 1.12.0's new object was not written before the kill"
cmp -s site/repo.json repo.before && ! grep -q '"1.12.0"' site/repo.json || why="$why; repo.json changed"
minisign -Vq -p k.pub -m site/repo.json || why="$why; repo.json does not verify with minisign"
out=$("$PCGEN" verify site -p k.pub 2>&1) || why="$why; verify: $(echo "$out" | tail -2 | tr '\n' ' ')"
[ -z "$why" ] && pass interrupted_build_leaves_valid_site || fail interrupted_build_leaves_valid_site "${why#; }"
# The re-run (notes now a plain file) completes: both versions in, one serial on.
rm rel/1.13.0.md && printf 'Release 1.13.0.\n' >rel/1.13.0.md
serial=$(python3 -c "import json; print(json.load(open('repo.before'))['serial'])")
if "$PCGEN" build rel -o site -s k.key --config cfg.json >build6.out 2>&1 &&
    python3 - site/repo.json "$serial" <<'PY' && "$PCGEN" verify site -p k.pub >/dev/null
import json, sys
r = json.load(open(sys.argv[1]))
names = [v["name"] for v in r["versions"]]
assert names[-2:] == ["1.12.0", "1.13.0"] and r["serial"] == int(sys.argv[2]) + 1, (names, r["serial"])
PY
then pass rerun_after_interrupted_build
else fail rerun_after_interrupted_build "$(tail -2 build6.out | tr '\n' ' ')"; fi
rm -rf rel/1.12.0 rel/1.13.0 rel/1.13.0.md

# gc: remove 1.0.0 from the releases; its files are kept for the retention
# period, and removed with a retention of 0 days; the site still verifies.
mv rel/1.0.0 removed-1.0.0
"$PCGEN" build -q rel -o site -s k.key --config cfg.json >/dev/null 2>&1
"$PCGEN" gc site --config cfg.json >gc1.out
echo '{"product": "demo", "critical_files": ["bin/app"], "hot_swap_modules": ["lib/*.so"], "patch_retention_days": 0}' >cfg0.json
before=$(find site -type f | wc -l)
"$PCGEN" gc site --config cfg0.json >gc2.out
after=$(find site -type f | wc -l)
if grep -q " 0 files removed" gc1.out && grep -q "unreferenced kept" gc1.out && [ "$after" -lt "$before" ] &&
    "$PCGEN" verify site -p k.pub >/dev/null; then pass gc_honours_retention
else fail gc_honours_retention "$(tail -1 gc1.out) / $(tail -1 gc2.out) / $before -> $after"; fi
empty=$(find site -mindepth 2 -type d -empty)
[ -z "$empty" ] && [ -d site/objects ] && [ -d site/patches ] && pass gc_leaves_no_empty_folder ||
    fail gc_leaves_no_empty_folder "left: $empty"
mv removed-1.0.0 rel/1.0.0

# Bad inputs.
check_fails missing_releases "releases folder nope: No such file" "$PCGEN" build nope -o s2 -s k.key
mkdir -p badrel/1.0.0 && mkdir -p "badrel/not a version"
check_fails non_version_folder "'not a version' is not a version name" "$PCGEN" build badrel -o s2 -s k.key
rm -rf badrel && mkdir -p badrel/1.0.0 && printf x >badrel/1.0.0/secret && chmod 000 badrel/1.0.0/secret
if [ "$(id -u)" -ne 0 ]; then
    check_fails unreadable_file "secret: cannot read" "$PCGEN" build badrel -o s2 -s k.key
else
    mkfifo badrel/1.0.0/fifo
    check_fails special_file_refused "fifo: is a FIFO" "$PCGEN" build badrel -o s2 -s k.key
fi
rm -rf badrel && mkdir -p badrel/1.0.0 && ln -s /etc/passwd badrel/1.0.0/esc
check_fails escaping_symlink "esc: symlink to '/etc/passwd'" "$PCGEN" build badrel -o s2 -s k.key
echo '{"skip_edge": 2}' >bad.json
check_fails bad_config "bad.json: unknown key 'skip_edge'" "$PCGEN" build rel -o s2 -s k.key --config bad.json
echo "pw1" >pw1 && echo "pw2" >pw2
"$PCGEN" keygen -p e.pub -s e.key --password-file pw1 >/dev/null 2>&1
check_fails wrong_key_password "wrong password for secret key e.key" \
    "$PCGEN" build rel -o s2 -s e.key --password-file pw2
check_fails usage_no_key "-s SECKEY are required" "$PCGEN" build rel -o s2
[ ! -e s2/repo.json ] && pass failed_builds_write_no_repo || fail failed_builds_write_no_repo "s2/repo.json exists"
# -o names a folder whose parents do not exist yet: they are made (mkdir -p)
check build_into_new_nested_folder "$PCGEN" build -q rel -o new/a/b/site -s k.key --config cfg.json
check nested_site_verifies "$PCGEN" verify new/a/b/site -p k.pub
touch afile
check_fails build_under_a_file_refused "afile/site: cannot create: Not a directory" "$PCGEN" build -q rel -o afile/site -s k.key --config cfg.json
finish
