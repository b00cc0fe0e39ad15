#!/usr/bin/env bash
# test_slow.sh — a slow-retrieval attack: mirrors (real nginx, limit_rate)
# that trickle a few bytes a second must not stall an update. The low-speed
# timeout (PATCHCAST_LOW_SPEED_TIME) aborts it with a clear error in bounded
# time, the installed version stays intact, and a good mirror — later, or as
# the next --repo — completes the update.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT PATCHCAST_LOW_SPEED_LIMIT PATCHCAST_LOW_SPEED_TIME

make_releases rel
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
echo '{"product": "demo"}' >cfg.json
"$PCGEN" build -q rel -o site -s k.key --config cfg.json >build.out 2>&1 || { fail setup "build: $(cat build.out)"; finish; }

# good: plain. slow: metadata at full speed, objects and patches at 8 bytes/s.
# stall: everything at 8 bytes/s, repo.json included.
mkdir -p ng-good ng-slow ng-stall
echo 'location /objects/ { limit_rate 8; } location /patches/ { limit_rate 8; }' >ng-slow/extra.conf
echo 'limit_rate 8;' >ng-stall/extra.conf
trap 'for s in ng-good ng-slow ng-stall; do "$TOP/tests/nginx.sh" stop "$TMP/$s"; done; rm -rf "$TMP"' EXIT
GOOD=$("$TOP/tests/nginx.sh" start site ng-good) &&
    SLOW=$("$TOP/tests/nginx.sh" start site ng-slow) &&
    STALL=$("$TOP/tests/nginx.sh" start site ng-stall) || { fail setup "nginx did not start"; finish; }

# A transfer below 1 KiB/s for 2 s is aborted; with 4 attempts per mirror
# (3 retries, backoff 0.25 + 0.5 + 1 s plus jitter) a stalled mirror is given
# up after about 11 s. The default (30 s) would take over two minutes.
export PATCHCAST_LOW_SPEED_TIME=2
BOUND=40

setrepos() { # root url...
    local root=$1; shift
    python3 - "$root/config.json" "$@" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p)); c["repos"] = sys.argv[2:]; json.dump(c, open(p, "w"))
EOF
}
# The slow cases run two at a time, each timed on its own.
# started TAG CMD...: runs CMD in the background; finished TAG then sets
# OUT, RC and SECS (whole seconds the command took).
started() {
    local tag=$1; shift
    (t0=$SECONDS; "$@" >"$tag.out" 2>&1; echo "$? $((SECONDS - t0))" >"$tag.rc") &
}
finished() {
    wait
    OUT=$(cat "$1.out")
    read -r RC SECS <"$1.rc"
    echo "($1: exit $RC after $SECS s)"
}
installed_at() { # root version
    same_tree "$1/current/" "rel/$2/" && [ "$(readlink "$1/current")" = "versions/$2" ]
}
timed_out_in_bound() { # name pattern
    if [ "$RC" = 1 ] && echo "$OUT" | grep -q "$2" && [ "$SECS" -ge 2 ] && [ "$SECS" -le "$BOUND" ]; then
        pass "$1"
    else fail "$1" "exit $RC after ${SECS}s: $(echo "$OUT" | tail -1)"; fi
}

for r in rs rf; do
    "$PC" init --root $r --repo "$GOOD" -p k.pub >/dev/null
    "$PC" update --root $r --to 1.0.0 >/dev/null 2>&1 || { fail setup "install of 1.0.0 failed"; finish; }
done
"$PC" init --root rm --repo "$STALL" -p k.pub >/dev/null

# --- a mirror that trickles objects and patches; one that trickles metadata too --------
setrepos rs "$SLOW"
started slow "$PC" update --root rs
started stall "$PC" check --root rm
finished slow
timed_out_in_bound slow_content_times_out "timed out: Operation too slow"
finished stall
timed_out_in_bound stalled_metadata_times_out "repo.json: timed out: Operation too slow"
grep -Eq "GET /(objects|patches)/" ng-slow/access.log && pass slow_mirror_was_asked ||
    fail slow_mirror_was_asked "no object or patch request reached the slow mirror"
installed_at rs 1.0.0 && [ -z "$(ls -A rs/staging 2>/dev/null)" ] &&
    [ "$("$PC" status --root rs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["current"])')" = 1.0.0 ] &&
    pass installed_version_intact_after_timeout ||
    fail installed_version_intact_after_timeout "$("$PC" status --root rs)"
setrepos rs "$GOOD"
"$PC" update --root rs >/dev/null 2>&1 && installed_at rs 1.10.0 &&
    pass later_update_from_good_mirror || fail later_update_from_good_mirror "$("$PC" status --root rs)"

# --- failover: the slow (or stalled) mirror first, a good one second ------------------
setrepos rf "$SLOW" "$GOOD"
setrepos rm "$STALL" "$GOOD"
: >ng-good/access.log
started slow2 "$PC" update --root rf
started stall2 "$PC" update --root rm --to 1.2.0
finished slow2
if [ "$RC" = 0 ] && installed_at rf 1.10.0 && [ "$SECS" -le "$BOUND" ] &&
    grep -Eq "GET /(objects|patches)/.* 20[06]" ng-good/access.log; then
    pass failover_from_slow_to_good_mirror
else fail failover_from_slow_to_good_mirror "exit $RC after ${SECS}s: $(echo "$OUT" | tail -1)"; fi
finished stall2
[ "$RC" = 0 ] && installed_at rm 1.2.0 && [ "$SECS" -le "$BOUND" ] &&
    pass stalled_metadata_fails_over || fail stalled_metadata_fails_over "exit $RC after ${SECS}s: $(echo "$OUT" | tail -1)"

# --- the setting itself ------------------------------------------------------------------
PATCHCAST_LOW_SPEED_TIME=soon check_fails low_speed_time_must_be_a_number \
    "PATCHCAST_LOW_SPEED_TIME='soon'" "$PC" check --root rm
finish
