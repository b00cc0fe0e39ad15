#!/usr/bin/env bash
# demo.sh — `make demo`: the whole story on file://, no server.
#   releases of examples/hello -> patchcast-gen build -> signed site ->
#   patchcast install -> run -> update through patches -> run -> rollback.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(pwd)/${BUILD:-build}
D=$B/demo
rm -rf "$D"
mkdir -p "$D/releases"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A signing key (minisign format; the secret key encrypted with a password)"
export PATCHCAST_PASSWORD=demo-password
"$B/patchcast-gen" keygen -p "$D/demo.pub" -s "$D/demo.key" | head -2

step "2. Three releases of examples/hello, built from source"
seq 1 4000 | sed 's/.*/"entry &",/' >"$D/table.inc"
for v in 1.0.0 1.1.0 1.2.0; do
    r=$D/releases/$v
    mkdir -p "$r/bin" "$r/share"
    case $v in
    1.0.0) greeting=Hello ;;
    1.1.0) greeting="Hello again" ;;
    1.2.0) greeting="Greetings"; seq 4001 4100 | sed 's/.*/"entry &",/' >>"$D/table.inc" ;;
    esac
    cc -O2 -I"$D" -DVERSION="\"$v\"" -DGREETING="\"$greeting\"" -o "$r/bin/hello" examples/hello/hello.c
    printf 'release %s of the demo data\n' "$v" >"$r/share/data.txt"
    seq 1 30000 >"$r/share/numbers.txt"
    [ "$v" = 1.2.0 ] && sed -i 's/^777$/seven-seven-seven/' "$r/share/numbers.txt"
    printf 'Release %s.\n' "$v" >"$D/releases/$v.md"
    echo "built $r"
done

step "3. The update site: patchcast-gen build (signed repo.json, objects, patches)"
echo '{"product": "hello", "critical_files": ["bin/hello"]}' >"$D/patchcast.json"
"$B/patchcast-gen" build -q "$D/releases" -o "$D/site" -s "$D/demo.key" --config "$D/patchcast.json"
minisign -V -p "$D/demo.pub" -m "$D/site/repo.json"

step "4. Install 1.0.0 from file:// into an empty root, and run it"
"$B/patchcast" init --root "$D/root" --repo "file://$D/site" -p "$D/demo.pub"
"$B/patchcast" update --root "$D/root" --to 1.0.0 2>/dev/null
"$D/root/current/bin/hello" "$D/root/current/share/data.txt"

summary=()
for v in 1.1.0 1.2.0; do
    step "5. Update to $v through patches, and run it"
    out=$("$B/patchcast" update --root "$D/root" --to "$v" --json 2>/dev/null)
    echo "$out"
    "$D/root/current/bin/hello" "$D/root/current/share/data.txt"
    summary+=("$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print('%-7s -> %-7s downloaded %7d bytes of %7d full (%.1f%%)%s' % (d['from'], d['to'], d['downloaded_bytes'], d['full_bytes'], 100.0*d['downloaded_bytes']/d['full_bytes'], ', restart required' if d['restart_required'] else ''))" "$out")")
done

step "6. Roll back, and see the status"
"$B/patchcast" rollback --root "$D/root"
"$D/root/current/bin/hello"
"$B/patchcast" status --root "$D/root"

step "Summary"
printf '%s\n' "${summary[@]}"
echo "Site: $D/site (open index.html); install root: $D/root"
