#!/usr/bin/env bash
# test_trust.sh — the security review's holes (docs/threat-model.md), each
# mounted as an attack: a hostile release tree given to the generator, and
# validly signed but hostile metadata given to the client over file://. The
# installed version stays intact and nothing is written outside the root.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT

"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
mkdir -p rel/1.0.0/bin rel/1.1.0/bin
head -c 20000 /dev/urandom >rel/1.0.0/bin/app
cp rel/1.0.0/bin/app rel/1.1.0/bin/app
printf 'x' >>rel/1.1.0/bin/app
echo '{"product": "demo"}' >cfg.json
"$PCGEN" build -q rel -o site -s k.key --config cfg.json >build.out 2>&1 || { fail setup "build: $(cat build.out)"; finish; }

newroot() { rm -rf "$1"; mkdir -p "$(dirname "$1")"; "$PC" init --root "$1" --repo "${2:-$TMP/site}" -p k.pub >/dev/null; }
# resign SITE: sign SITE/repo.json again after an edit, as a compromised
# publisher (or a bug in the generator) would.
resign() {
    local serial product expires
    read -r serial product expires < <(python3 -c "import json; r=json.load(open('$1/repo.json')); print(r['serial'], r['product'], r['expires'])")
    "$PCGEN" sign -s k.key -m "$1/repo.json" -t "patchcast-repo serial:$serial product:$product expires:$expires"
}
# craft SITE VERSION PY: replace VERSION's manifest with what the Python
# statement PY makes of `files` (the manifest's list; `app` is bin/app's
# entry), keep the files sorted, raise the serial and re-sign.
craft() {
    python3 - "$1" "$2" "$3" <<'PY'
import hashlib, json, os, sys
site, ver, code = sys.argv[1:]
repo = json.load(open(os.path.join(site, "repo.json")))
v = [v for v in repo["versions"] if v["name"] == ver][0]
m = json.load(open(os.path.join(site, "manifests", v["manifest"]["sha256"] + ".json")))
files = m["files"]
app = [f for f in files if f["path"] == "bin/app"][0]
exec(code)
m["files"] = sorted(files, key=lambda f: f["path"].encode())
text = json.dumps(m, separators=(",", ":")).encode() + b"\n"
h = hashlib.sha256(text).hexdigest()
open(os.path.join(site, "manifests", h + ".json"), "wb").write(text)
v["manifest"] = {"sha256": h, "size": len(text)}
repo["serial"] += 10
open(os.path.join(site, "repo.json"), "w").write(json.dumps(repo, indent="\t") + "\n")
PY
    resign "$1"
}

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

finish
