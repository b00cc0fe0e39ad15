#!/usr/bin/env bash
# demo-qt.sh — `make demo-qt`: the PyQt5 example (examples/qt) updated while
# it runs, under Xvfb, on file://. The publisher releases 1.0.0 and 1.1.0
# (a hot module and a data file change); the app, installed at 1.0.0, finds
# 1.1.0, shows the notification, updates with the progress dialog and
# reloads its hot module live (its click count survives). Then 1.2.0 is
# published (a core change): the app updates and asks for a restart.
# Screenshots: $BUILD/screenshots/demo-*.png. Exit status 0 when the story
# happened as told (checked from the app's output).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
PC=$BUILD/patchcast PCGEN=$BUILD/patchcast-gen
OUT=$BUILD/demo-qt SHOTS=$BUILD/screenshots
rm -rf "$OUT" "$SHOTS"/demo-*.png
mkdir -p "$OUT/rel" "$SHOTS"
unset PATCHCAST_ROOT PATCHCAST_PASSWORD
export PYTHONPATH=$TOP/python PATCHCAST_LIBRARY=$BUILD/libpatchcast.so PYTHONDONTWRITEBYTECODE=1

release() { # VERSION: a copy of the example's app/ and data/
    mkdir -p "$OUT/rel/$1"
    cp -a examples/qt/app examples/qt/data "$OUT/rel/$1/"
}
release 1.0.0
release 1.1.0
sed -i 's/^TEXT = .*/TEXT = "Hello from 1.1.0, reloaded live"/' "$OUT/rel/1.1.0/app/greeting.py"
echo "Data file of 1.1.0: changed by the update." >"$OUT/rel/1.1.0/data/message.txt"
printf '# 1.1.0\n\nA **new greeting**, swapped in while the app runs.\n' >"$OUT/rel/1.1.0.md"
"$PCGEN" keygen -W -p "$OUT/k.pub" -s "$OUT/k.key" >/dev/null
echo '{"product": "qt-example", "critical_files": ["app/main.py"], "hot_swap_modules": ["app/greeting.py"]}' >"$OUT/cfg.json"
publish() { "$PCGEN" build -q "$OUT/rel" -o "$OUT/site" -s "$OUT/k.key" --config "$OUT/cfg.json" >"$OUT/build.log"; }
publish
"$PC" init --root "$OUT/root" --repo "file://$OUT/site" -p "$OUT/k.pub" >/dev/null
"$PC" update --root "$OUT/root" --to 1.0.0 >/dev/null
echo "demo-qt: installed 1.0.0 in $OUT/root; starting the app under Xvfb"

: >"$OUT/app.log"
xvfb-run -a -s "-screen 0 1280x800x24" /usr/bin/python3 "$OUT/root/current/app/main.py" \
    --root "$OUT/root" --demo "$SHOTS" >"$OUT/app.log" 2>&1 &
app=$!
# The publisher's next release, once the app has taken 1.1.0.
for _ in $(seq 1 600); do
    grep -q "update completed: True Updated to 1.1.0" "$OUT/app.log" && break
    kill -0 "$app" 2>/dev/null || break
    sleep 0.1
done
release 1.2.0
cp "$OUT/rel/1.1.0/app/greeting.py" "$OUT/rel/1.2.0/app/"
cp "$OUT/rel/1.1.0/data/message.txt" "$OUT/rel/1.2.0/data/"
sed -i 's/^CORE = .*/CORE = "core 2"/' "$OUT/rel/1.2.0/app/main.py"
publish
echo "demo-qt: published 1.2.0 (a core change)"
rc=0
wait "$app" || rc=$?
cat "$OUT/app.log"

fail=0
expect() { grep -qF -- "$1" "$OUT/app.log" || { echo "demo-qt: missing: $1" >&2; fail=1; }; }
[ "$rc" -eq 0 ] || { echo "demo-qt: the app exited $rc" >&2; fail=1; }
expect "update available: 1.0.0 -> 1.1.0"
expect "update completed: True Updated to 1.1.0"
expect "reloaded live: greeting"
expect "greeting now: Hello from 1.1.0, reloaded live (clicked 2 times)"
expect "update available: 1.1.0 -> 1.2.0"
expect "restart required for 1.2.0"
expect "update completed: True Updated to 1.2.0"
for s in demo-window-before demo-notification-1.1.0 demo-progress-1 demo-window-after-update-1 \
    demo-notification-1.2.0 demo-window-after-update-2; do
    [ -s "$SHOTS/$s.png" ] || { echo "demo-qt: no screenshot $s.png" >&2; fail=1; }
done
[ "$(readlink "$OUT/root/current")" = versions/1.2.0 ] || { echo "demo-qt: current is $(readlink "$OUT/root/current")" >&2; fail=1; }
[ "$fail" -eq 0 ] && echo "demo-qt: the story ran; screenshots in $SHOTS/demo-*.png"
exit "$fail"
