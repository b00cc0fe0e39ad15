# tests/e2e/signed.sh — sourced by the end-to-end tests that mount attacks
# with validly signed but hostile metadata (test_trust.sh, test_attack.sh):
# a compromised publisher, or a bug in the generator, re-signing what it
# likes with the site's key k.key (in the test's folder). test_build.sh
# uses resign to date a site in the past.

# small_signed_site: a key k.key/k.pub, releases rel/1.0.0 and rel/1.1.0
# (bin/app, one byte apart: an edge with a patch) and their site in site/.
small_signed_site() {
    "$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
    mkdir -p rel/1.0.0/bin rel/1.1.0/bin
    head -c 20000 /dev/urandom >rel/1.0.0/bin/app
    cp rel/1.0.0/bin/app rel/1.1.0/bin/app
    printf 'x' >>rel/1.1.0/bin/app
    echo '{"product": "demo"}' >cfg.json
    "$PCGEN" build -q rel -o site -s k.key --config cfg.json >build.out 2>&1
}

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

serial_of() { python3 -c "import json; print(json.load(open('$1/repo.json'))['serial'])"; }
