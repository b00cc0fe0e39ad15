#!/usr/bin/env bash
# test_site_headers.sh — the cache rules every site ships (_headers for
# Netlify and Cloudflare Pages, nginx-patchcast.conf, cache-rules.json):
# a real nginx with the generated snippet included sends the right
# Cache-Control and Content-Type for each kind of file, at the site root and
# under a path prefix; _headers and cache-rules.json say the same; verify,
# gc and mirror leave the new files alone.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD

make_releases rel
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
echo '{"product": "demo"}' >cfg.json
"$PCGEN" build -q rel -o site -s k.key --config cfg.json >build.out 2>&1 ||
    { fail setup "build: $(tail -3 build.out)"; finish; }
for f in _headers nginx-patchcast.conf cache-rules.json index.html style.css; do
    [ -s "site/$f" ] || fail "site_has_$f" "site/$f missing or empty"
done

# The expected rules, written out here independently of site-template/
# (ROOT: the site's own URL, served from index.html).
SHORT="public, max-age=60, must-revalidate"
LONG="public, max-age=31536000, immutable"
obj=$(cd site && find objects -type f | head -1)
pat=$(cd site && find patches -type f | head -1)
man=$(cd site && find manifests -type f | head -1)
del=$(cd site && find deltas -type f | head -1)
cat >expected.tsv <<EOF
repo.json	$SHORT	application/json
repo.json.minisig	$SHORT	text/plain
index.html	$SHORT	text/html
ROOT	$SHORT	text/html
style.css	$SHORT	text/css
$man	$LONG	application/json
$del	$LONG	application/json
$obj	$LONG	application/octet-stream
$pat	$LONG	application/octet-stream
EOF

# nginx serving the site with the snippet included (tests/nginx.sh includes
# STATEDIR/extra.conf in its server block); once at the root, once with the
# site under /updates/demo/.
STATE=$TMP/nginx STATE2=$TMP/nginx2
mkdir -p "$STATE" "$STATE2" web/updates
cp -a site web/updates/demo
echo "include $TMP/site/nginx-patchcast.conf;" >"$STATE/extra.conf"
echo "include $TMP/web/updates/demo/nginx-patchcast.conf;" >"$STATE2/extra.conf"
trap '"$TOP/tests/nginx.sh" stop "$STATE"; "$TOP/tests/nginx.sh" stop "$STATE2"; rm -rf "$TMP"' EXIT
BASE=$("$TOP/tests/nginx.sh" start site "$STATE") ||
    { fail nginx_accepts_snippet "$(cat "$STATE/error.log" "$STATE/start.err" 2>/dev/null | tail -2)"; finish; }
pass nginx_accepts_snippet
BASE2=$("$TOP/tests/nginx.sh" start web "$STATE2") ||
    { fail nginx_accepts_snippet_prefix "$(tail -2 "$STATE2/error.log")"; finish; }

# head_check NAME URL CACHE TYPE: curl -sI URL has exactly that Cache-Control
# and a Content-Type of that media type.
head_check() {
    local name=$1 url=$2 cc=$3 ct=$4 h
    h=$(curl -sI "$url" | tr -d '\r')
    local got_cc got_ct status
    status=$(echo "$h" | head -1)
    got_cc=$(echo "$h" | sed -n 's/^[Cc]ache-[Cc]ontrol: //p')
    got_ct=$(echo "$h" | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
    if [[ $status == *" 200"* ]] && [ "$got_cc" = "$cc" ] && [[ $got_ct == "$ct" || $got_ct == "$ct;"* ]]; then
        pass "$name"
    else
        fail "$name" "$url: '$status' Cache-Control '$got_cc' (want '$cc'), Content-Type '$got_ct' (want '$ct')"
    fi
}
while IFS=$'\t' read -r path cc ct; do
    label=${path%%/*}
    [ "$path" = ROOT ] && path="" label=root
    head_check "nginx_$label" "$BASE/$path" "$cc" "$ct"
    head_check "nginx_prefix_$label" "$BASE2/updates/demo/$path" "$cc" "$ct"
done <expected.tsv
# A missing object is not cached for a year (a CDN would pin the 404).
h=$(curl -sI "$BASE/objects/00/nope" | tr -d '\r')
echo "$h" | grep -q '^HTTP/1.1 404' && ! echo "$h" | grep -qi '^cache-control: .*immutable' &&
    pass nginx_missing_file_not_immutable || fail nginx_missing_file_not_immutable "$(echo "$h" | head -3 | tr '\n' ' ')"

# _headers in Netlify's syntax, and _headers and cache-rules.json give every
# expected path the same headers as above.
python3 - site expected.tsv >rules.out 2>&1 <<'PYEOF'
import fnmatch, json, os, re, sys
site, exp = sys.argv[1], sys.argv[2]
errors = []
blocks, cur = [], None
for n, line in enumerate(open(os.path.join(site, "_headers")).read().split("\n"), 1):
    if line.strip() == "" or line.startswith("#"):
        continue
    if line.startswith("/"):
        if " " in line or "\t" in line:
            errors.append("_headers:%d: path line with spaces: %r" % (n, line))
        cur = (line, {})
        blocks.append(cur)
    elif re.fullmatch(r"  [A-Za-z][A-Za-z0-9-]*: \S.*", line) and cur is not None:
        k, v = line.strip().split(": ", 1)
        if k.lower() in cur[1]:
            errors.append("_headers:%d: %s repeated" % (n, k))
        cur[1][k.lower()] = v
    else:
        errors.append("_headers:%d: neither a path nor an indented header: %r" % (n, line))
for path, hdrs in blocks:
    if not hdrs:
        errors.append("_headers: %s has no header" % path)
def netlify(url):
    """Netlify/Cloudflare: every matching block applies; * is a splat."""
    out = {}
    for path, hdrs in blocks:
        if path == url or (path.endswith("*") and url.startswith(path[:-1])):
            for k, v in hdrs.items():
                if k in out and out[k] != v:
                    errors.append("%s: %s from two rules" % (url, k))
                out[k] = v
    return out
rules = json.load(open(os.path.join(site, "cache-rules.json")))["rules"]
def s3(rel):
    for r in rules:
        g = r["glob"]
        if rel == g or (g.endswith("*") and rel.startswith(g[:-1])):
            return r
for line in open(exp).read().splitlines():
    path, cc, ct = line.split("\t")
    path = "" if path == "ROOT" else path
    h = netlify("/" + path)
    if h.get("cache-control") != cc or not h.get("content-type", "").startswith(ct):
        errors.append("_headers for /%s: %s" % (path, h))
    if path:
        r = s3(path)
        if not r or r["cache_control"] != cc or not r["content_type"].startswith(ct):
            errors.append("cache-rules.json for %s: %s" % (path, r))
# Every file a client reads has a rule for an upload recipe.
for root, _, files in os.walk(site):
    for f in files:
        rel = os.path.relpath(os.path.join(root, f), site)
        if rel in ("_headers", "nginx-patchcast.conf", "cache-rules.json") or rel.startswith("."):
            continue
        if not s3(rel):
            errors.append("no cache rule for %s" % rel)
for e in errors: print("ERROR", e)
print("rules ok" if not errors else "rules bad")
PYEOF
grep -q "^rules ok" rules.out && pass headers_and_json_rules_agree ||
    fail headers_and_json_rules_agree "$(grep -m3 ERROR rules.out | tr '\n' ' ')"

# The new files are no business of verify, gc or mirror.
check site_verify_ignores_them "$PCGEN" verify site -p k.pub
cp site/_headers headers.before
"$PCGEN" build -q rel -o site -s k.key --config cfg.json >/dev/null 2>&1
cmp -s site/_headers headers.before && pass rebuild_keeps_headers_identical ||
    fail rebuild_keeps_headers_identical "_headers changed between builds"
echo '{"product": "demo", "patch_retention_days": 0}' >cfg0.json
"$PCGEN" gc site --config cfg0.json >gc.out 2>&1
kept=1
for f in _headers nginx-patchcast.conf cache-rules.json index.html style.css; do [ -f "site/$f" ] || kept=0; done
[ $kept = 1 ] && ! grep -qE '_headers|nginx-patchcast|cache-rules|index.html|style.css' gc.out &&
    "$PCGEN" verify site -p k.pub >/dev/null 2>&1 && pass gc_keeps_them ||
    fail gc_keeps_them "$(tail -2 gc.out | tr '\n' ' ')"
if "$PC" mirror "$BASE" usb -p k.pub >mirror.out 2>&1 && [ -f usb/repo.json ]; then
    pass mirror_of_site_with_them
else fail mirror_of_site_with_them "$(tail -2 mirror.out | tr '\n' ' ')"; fi
finish
