#!/usr/bin/env bash
# demo.sh — `make demo`: the whole story on file://, no server.
#   four releases of examples/hello (a core and three modules) are built from
#   source; each is published in turn to a signed static site with
#   patchcast-gen, while the app, installed from the first, keeps running:
#   module updates are hot-swapped in place, the core update relaunches it.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
B=${BUILD:-build}
case $B in /*) ;; *) B=$TOP/$B ;; esac
D=${DEMO_DIR:-$B/demo}
rm -rf "$D"
mkdir -p "$D/published"
T0=$(date +%s)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A signing key pair (minisign format)"
# -W: unencrypted, for the demo's pace (each build would spend seconds in
# scrypt). A publisher keeps the key encrypted: see docs/guide.md.
"$B/patchcast-gen" keygen -W -p "$D/demo.pub" -s "$D/demo.key" | head -2

step "2. Four releases of examples/hello built from source (core + util, greeter, stats modules)"
make --no-print-directory -s -C examples/hello releases OUT="$D/releases" \
    PATCHCAST_CFLAGS="-I$TOP/include" PATCHCAST_LIBS="$B/libpatchcast.a ${PC_LIBS:-}" >/dev/null
sed -n '/^#  /,/^REV_2/p' examples/hello/Makefile | sed 's/^#//'

cat >"$D/patchcast.json" <<'EOF'
{
  "product": "hello",
  "critical_files": ["bin/hello"],
  "hot_swap_modules": ["modules/*.so", "share/motd.txt"],
  "modules": {"modules/greeter.so": {"depends": ["modules/util.so"]}}
}
EOF
publish() { # version: add a release to the site (what CI does after each release)
    cp -a "$D/releases/$1" "$D/releases/$1.md" "$D/published/"
    "$B/patchcast-gen" build -q "$D/published" -o "$D/site" -s "$D/demo.key" \
        --config "$D/patchcast.json" >>"$D/build.log" 2>&1 || { cat "$D/build.log"; return 1; }
    echo "published $1: $(python3 -c "import json; r=json.load(open('$D/site/repo.json')); print('serial', r['serial'], '-', len(r['versions']), 'versions')")"
}

step "3. Publish 1.0.0 to a signed static site, install it from file:// into an empty root"
publish 1.0.0
minisign -Vq -p "$D/demo.pub" -m "$D/site/repo.json" && echo "repo.json signature verified with minisign"
"$B/patchcast" init --root "$D/root" --repo "file://$D/site" -p "$D/demo.pub"
"$B/patchcast" update --root "$D/root" 2>/dev/null

step "4. Start the app; publish 1.1.0, 1.2.0 and 2.0.0 while it runs"
"$D/root/current/bin/hello" --root "$D/root" --every 300 --check 300 --stop-at 2.0.0 \
    --max-seconds 50 >"$D/app.log" 2>&1 &
app=$!
tail -n +1 -f "$D/app.log" --pid=$app | sed 's/^/    app| /' &
shower=$!
wait_for() { # pattern: until the app logs it
    for _ in $(seq 1 150); do grep -q -- "$1" "$D/app.log" && return 0; kill -0 $app 2>/dev/null || break; sleep 0.1; done
    echo "demo: the app never printed '$1'" >&2; return 1
}
wait_for "line 3]"
for v in 1.1.0 1.2.0 2.0.0; do
    case $v in
    1.1.0) what="only the greeter module changed" ;;
    1.2.0) what="util (greeter's dependency) and the motd data file changed" ;;
    2.0.0) what="the core executable changed" ;;
    esac
    echo "    ---- publishing $v: $what"
    publish "$v" | sed 's/^/    ---- /'
    wait_for "^SUMMARY [^ ]* $v "
    wait_for "| $v | line " # the app has run on $v's code
done
rc=0
wait $app || rc=$?
wait $shower || true # tail --pid ends once the app has, after its last lines
[ "$rc" -eq 0 ] || { echo "demo: the app exited with $rc" >&2; exit 1; }
grep -q "relaunched after 1.2.0" "$D/app.log" || { echo "demo: no relaunch seen" >&2; exit 1; }

step "5. Roll back with the CLI, and see the status"
"$B/patchcast" rollback --root "$D/root"
"$B/patchcast" status --root "$D/root"

step "Summary: what each update downloaded against a full download"
awk '/^SUMMARY/ { printf "  %-6s -> %-6s %8d of %8d bytes (%5.1f%%)  %s\n", $2, $3, $4, $5, 100*$4/$5, ($6 == "relaunch" ? "core changed: relaunched" : "hot-swapped, no restart") }' "$D/app.log"
echo "  finished in $(($(date +%s) - T0)) s. Site: $D/site (open index.html); install root: $D/root"
