#!/usr/bin/env bash
# test_lifecycle.sh — the release lifecycle (issue 17) end to end over
# file://: staged rollout (buckets from the install id, a ramp judged at the
# real clock), withdrawn and critical versions, minimum versions, skip,
# release notes between versions, no silent downgrade, apply at next start
# (update --stage, apply-staged, run), and the launcher's health account:
# a version whose program fails N starts rolled back and never installed
# again, one that marks itself good kept, SIGKILL during run's switch.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT PATCHCAST_VERSION

"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null || { fail setup keygen; finish; }
# Releases: bin/run prints its version and exits with the code in
# share/exit (0 for 1.0.0, 1 for 1.1.0: a release that cannot start).
release() { # VERSION EXIT NOTES
    mkdir -p "rel/$1/bin" "rel/$1/share"
    printf '#!/bin/sh\necho "running %s"\n[ -n "$MARK_GOOD" ] && "$PC" mark-good\nexit $(cat "$PATCHCAST_VERSION_DIR/share/exit")\n' "$1" >"rel/$1/bin/run"
    chmod 755 "rel/$1/bin/run"
    echo "$2" >"rel/$1/share/exit"
    seq 1 3000 >"rel/$1/share/data.txt"
    echo "$1" >>"rel/$1/share/data.txt"
    [ -z "$3" ] || printf '%s\n' "$3" >"rel/$1.md"
}
release 1.0.0 0 "First."
release 1.1.0 1 "Faster start."
release 1.2.0 0 "New look."
export PC
# build CONFIG-JSON: publish rel/ with these settings (repo.json serial grows).
build() {
    printf '%s\n' "$1" >cfg.json
    "$PCGEN" build -q rel -o site -s k.key --config cfg.json >build.out 2>&1 ||
        { echo "build failed: $(cat build.out)"; return 1; }
}
# client ROOT [VERSION]: a new install, at VERSION when given.
client() {
    rm -rf "$1"
    "$PC" init --root "$1" --repo "file://$TMP/site" -p k.pub >/dev/null || return 1
    [ -z "${2:-}" ] || "$PC" update --root "$1" --to "$2" >/dev/null 2>&1
}
cur() { readlink "$1/current" | sed 's|^versions/||'; }
# field ROOT CMD KEY: a key of CMD's --json document (Python repr; None for null).
field() { "$PC" "$2" --root "$1" --json 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)$3)"; }
intact() { [ "$(cur "$1")" = "$2" ] && diff -r "rel/$2" "$1/current" >/dev/null; }
# set_id ROOT ID: this install's id (what init drew at random), for a known bucket.
set_id() { python3 -c "
import json,sys; p=sys.argv[1]+'/state.json'; s=json.load(open(p)); s['install_id']=sys.argv[2]
json.dump(s, open(p,'w'))" "$1" "$2"; }
# An independent oracle of the bucket (docs/format.md: SHA-256 of
# "patchcast-rollout:" + id, first 8 bytes big-endian, mod 10000, / 100) and
# ids whose buckets lie below 20 and above 80.
cat >bucket.py <<'PY'
import hashlib, sys
def bucket(i): return int.from_bytes(hashlib.sha256(b"patchcast-rollout:" + i.encode()).digest()[:8], "big") % 10000 / 100
if sys.argv[1] == "of": print("%.2f" % bucket(sys.argv[2]))
else:
    lo, hi = float(sys.argv[2]), float(sys.argv[3])
    print(next("id%d" % n for n in range(100000) if lo <= bucket("id%d" % n) < hi))
PY
LOW=$(python3 bucket.py find 0 20)     # admitted at 20 % and more
HIGH=$(python3 bucket.py find 80 100)  # admitted only past 80 %

# --- the issue's scenario ---------------------------------------------------
build '{"versions": {"1.1.0": {"rollout": {"percent": 0}},
                     "1.2.0": {"withdrawn": true, "withdrawn_reason": "corrupts saved files"}}}' ||
    { fail setup "$(cat build.out)"; finish; }
if python3 -c "
import json; r = json.load(open('site/repo.json')); v = {x['name']: x for x in r['versions']}
assert v['1.1.0']['rollout'] == {'percent': 0}, v['1.1.0']
assert v['1.2.0']['withdrawn'] is True and v['1.2.0']['withdrawn_reason'] == 'corrupts saved files'
assert 'rollout' not in v['1.0.0'] and 'withdrawn' not in v['1.0.0']
assert r['channels']['stable'] == '1.2.0'"; then pass repo_json_carries_settings
else fail repo_json_carries_settings "$(python3 -m json.tool site/repo.json | head -40)"; fi

client c 1.0.0
"$PC" update --root c >up.out 2>&1
if intact c 1.0.0 && grep -q "1.0.0 is up to date" up.out && grep -q "1.1.0 is being rolled out" up.out
then pass rollout_zero_and_withdrawn_keep_1_0_0
else fail rollout_zero_and_withdrawn_keep_1_0_0 "on $(cur c): $(cat up.out)"; fi
[ "$(field c check "['held_back']")" = 1.1.0 ] && pass check_reports_held_back ||
    fail check_reports_held_back "$("$PC" check --root c --json)"

build '{"versions": {"1.1.0": {"rollout": {"percent": 100}},
                     "1.2.0": {"withdrawn": true, "withdrawn_reason": "corrupts saved files"}}}'
"$PC" update --root c >up.out 2>&1
if intact c 1.1.0 && [ "$(field c status "['pending']")" = 1.1.0 ]; then pass full_rollout_updates_to_1_1_0_not_withdrawn
else fail full_rollout_updates_to_1_1_0_not_withdrawn "on $(cur c): $(cat up.out)"; fi

# 1.1.0's program exits 1 on every start: three failed starts roll it back.
: >runs.out
for i in 1 2 3 4; do
    "$PC" run --root c -- bin/run >>runs.out 2>&1
    echo "rc=$?" >>runs.out
done
if intact c 1.0.0 && [ "$(grep -c 'running 1.1.0' runs.out)" = 3 ] &&
    [ "$(tail -n 2 runs.out)" = "$(printf 'running 1.0.0\nrc=0')" ] &&
    grep -q "1.1.0 failed 3 starts: rolled back" runs.out; then pass four_runs_bring_back_1_0_0
else fail four_runs_bring_back_1_0_0 "on $(cur c): $(cat runs.out)"; fi
[ "$(field c status "['bad']")" = "['1.1.0']" ] && [ "$(field c status "['last_good']")" = 1.0.0 ] &&
    pass failed_version_recorded_bad || fail failed_version_recorded_bad "$("$PC" status --root c --json)"
"$PC" update --root c >up.out 2>&1
intact c 1.0.0 && grep -q "up to date" up.out && pass bad_version_not_reinstalled ||
    fail bad_version_not_reinstalled "on $(cur c): $(cat up.out)"
# Named, it installs (the user's choice), and a newer good version is offered as usual.
"$PC" update --root c --to 1.1.0 >/dev/null 2>&1 && intact c 1.1.0 &&
    pass bad_version_installs_when_named || fail bad_version_installs_when_named "on $(cur c)"
# ... and once it proves good there, it is no longer kept from updates.
"$PC" mark-good --root c >/dev/null 2>&1
[ "$(field c status "['bad']")" = "[]" ] && [ "$(field c status "['last_good']")" = 1.1.0 ] &&
    pass bad_version_marked_good_not_bad || fail bad_version_marked_good_not_bad "$("$PC" status --root c --json)"
"$PC" rollback --root c >/dev/null 2>&1
release 1.3.0 0 "Fixed."
build '{"versions": {"1.1.0": {"rollout": {"percent": 100}}, "1.2.0": {"withdrawn": true}}}'
"$PC" update --root c >/dev/null 2>&1
intact c 1.3.0 && pass newer_version_offered_after_bad || fail newer_version_offered_after_bad "on $(cur c)"
rm -rf rel/1.3.0 rel/1.3.0.md

# --- rollout buckets ----------------------------------------------------------
client b
set_id b "$LOW"
[ "$(field b status "['rollout_bucket']")" = "$(python3 bucket.py of "$LOW")" ] &&
    pass bucket_matches_oracle || fail bucket_matches_oracle "$(field b status "['rollout_bucket']") vs $(python3 bucket.py of "$LOW")"
build '{"versions": {"1.2.0": {"rollout": {"percent": 50}}}}'
[ "$(field b check "['to']")" = 1.2.0 ] && pass low_bucket_admitted_at_50 ||
    fail low_bucket_admitted_at_50 "$("$PC" check --root b --json)"
set_id b "$HIGH"
[ "$(field b check "['to']")" = 1.1.0 ] && [ "$(field b check "['held_back']")" = 1.2.0 ] &&
    pass high_bucket_falls_back_to_admitted || fail high_bucket_falls_back_to_admitted "$("$PC" check --root b --json)"
[ "$("$PC" check --root b --json --ignore-rollout | python3 -c 'import json,sys; print(json.load(sys.stdin)["to"])')" = 1.2.0 ] &&
    pass ignore_rollout || fail ignore_rollout "$("$PC" check --root b --json --ignore-rollout)"
[ "$("$PC" check --root b --json --to 1.2.0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["to"])')" = 1.2.0 ] &&
    pass named_version_bypasses_rollout || fail named_version_bypasses_rollout "$("$PC" check --root b --json --to 1.2.0)"
# A ramp from 0 % over 7 days, started 3.5 days ago: at about 50 % now.
start=$(date -u -d '-84 hours' +%Y-%m-%dT%H:%M:%SZ)
build "{\"versions\": {\"1.2.0\": {\"rollout\": {\"percent\": 0, \"start\": \"$start\", \"ramp\": \"7d\"}}}}"
set_id b "$LOW";  low=$(field b check "['to']")
set_id b "$HIGH"; high=$(field b check "['to']")
[ "$low" = 1.2.0 ] && [ "$high" = 1.1.0 ] && pass ramp_halfway || fail ramp_halfway "low $low high $high"
# Not started yet: nobody, whatever the percentage.
build "{\"versions\": {\"1.2.0\": {\"rollout\": {\"percent\": 100, \"start\": \"$(date -u -d '+1 day' +%Y-%m-%d)\"}}}}"
set_id b "$LOW"
[ "$(field b check "['to']")" = 1.1.0 ] && pass rollout_waits_for_start || fail rollout_waits_for_start "$("$PC" check --root b --json)"
# Critical: past the rollout (and reported).
build '{"versions": {"1.2.0": {"rollout": {"percent": 0}, "critical": true}}}'
"$PC" update --root b --to 1.0.0 >/dev/null 2>&1
"$PC" check --root b >chk.out 2>&1
[ "$(field b check "['to']")" = 1.2.0 ] && [ "$(field b check "['critical']")" = True ] &&
    grep -q "critical update" chk.out && pass critical_bypasses_rollout ||
    fail critical_bypasses_rollout "$(cat chk.out)"
# The id is made once by init, random, and kept.
client b2; client b3
i2=$(python3 -c "import json; print(json.load(open('b2/state.json'))['install_id'])")
i3=$(python3 -c "import json; print(json.load(open('b3/state.json'))['install_id'])")
"$PC" update --root b2 >/dev/null 2>&1
[[ "$i2" =~ ^[0-9a-f]{32}$ ]] && [ "$i2" != "$i3" ] &&
    [ "$(python3 -c "import json; print(json.load(open('b2/state.json'))['install_id'])")" = "$i2" ] &&
    pass install_id_random_and_kept || fail install_id_random_and_kept "$i2 / $i3"

# --- withdrawn moves an install down; named withdrawn refused ----------------
build '{}'
client w 1.2.0
build '{"versions": {"1.2.0": {"withdrawn": true, "withdrawn_reason": "corrupts saved files"}}}'
"$PC" update --root w >up.out 2>&1
if intact w 1.1.0 && grep -q "1.2.0 was withdrawn: corrupts saved files" up.out; then pass withdrawn_moves_install_down
else fail withdrawn_moves_install_down "on $(cur w): $(cat up.out)"; fi
check_fails withdrawn_named_refused "1.2.0 was withdrawn: corrupts saved files" "$PC" update --root w --to 1.2.0
intact w 1.1.0 && pass withdrawn_refusal_changes_nothing || fail withdrawn_refusal_changes_nothing "on $(cur w)"

# --- minimum version ------------------------------------------------------------
build '{"versions": {"1.1.0": {"rollout": {"percent": 0}}, "1.2.0": {"minimum_version": "1.1.0"}}}'
client m 1.0.0
"$PC" update --root m >up.out 2>&1
if intact m 1.0.0 && [ "$(field m check "['manual_update_required']")" = True ] &&
    [ "$(field m check "['manual_version']")" = 1.2.0 ] && grep -q "1.2.0 needs a manual update" up.out
then pass minimum_version_needs_user; else fail minimum_version_needs_user "on $(cur m): $(cat up.out)"; fi
build '{"versions": {"1.2.0": {"minimum_version": "1.1.0"}}}'
"$PC" update --root m >/dev/null 2>&1
[ "$(cur m)" = 1.1.0 ] && [ "$(field m check "['to']")" = 1.2.0 ] &&
    [ "$(field m check "['manual_update_required']")" = False ] &&
    pass minimum_version_stepping_stone || fail minimum_version_stepping_stone "on $(cur m)"

# --- skip, notes between versions ----------------------------------------------
build '{}'
client s 1.0.0
"$PC" skip --root s 1.2.0 >/dev/null
[ "$(field s check "['to']")" = 1.1.0 ] && [ "$(field s check "['skipped']")" = "['1.2.0']" ] &&
    pass skip_hides_version || fail skip_hides_version "$("$PC" check --root s --json)"
"$PC" skip --root s --undo 1.2.0 >/dev/null
[ "$(field s check "['to']")" = 1.2.0 ] && pass skip_undo || fail skip_undo "$("$PC" check --root s --json)"
[ "$(field s check "['notes']")" = "[{'version': '1.2.0', 'notes': 'New look.\\n'}, {'version': '1.1.0', 'notes': 'Faster start.\\n'}]" ] &&
    pass notes_between_versions_newest_first || fail notes_between_versions_newest_first "$(field s check "['notes']")"
check_fails skip_bad_name "not a version name" "$PC" skip --root s "../x"

# --- no silent downgrade ---------------------------------------------------------
build '{"versions": {"1.2.0": {"channels": ["beta"]}}}'
client d
"$PC" init --root d --repo "file://$TMP/site" -p k.pub --channel beta >/dev/null
"$PC" update --root d >/dev/null 2>&1
"$PC" init --root d --repo "file://$TMP/site" -p k.pub --channel stable >/dev/null
"$PC" update --root d >up.out 2>&1
intact d 1.2.0 && grep -q "older than the installed 1.2.0: not downgrading" up.out &&
    pass channel_change_no_silent_downgrade || fail channel_change_no_silent_downgrade "on $(cur d): $(cat up.out)"
"$PC" update --root d --allow-downgrade >/dev/null 2>&1
intact d 1.1.0 && pass allow_downgrade || fail allow_downgrade "on $(cur d)"

# --- apply at next start ------------------------------------------------------------
build '{}'
client g 1.0.0
"$PC" update --root g --stage --to 1.1.0 >/dev/null 2>&1
if intact g 1.0.0 && [ "$(field g status "['staged']")" = 1.1.0 ] && diff -r rel/1.1.0 g/versions/1.1.0 >/dev/null
then pass stage_prepares_without_switch; else fail stage_prepares_without_switch "on $(cur g), staged $(field g status "['staged']")"; fi
"$PC" update --root g --stage >/dev/null 2>&1
[ "$(field g status "['staged']")" = 1.2.0 ] && [ ! -e g/versions/1.1.0 ] && intact g 1.0.0 &&
    pass newer_stage_discards_older || fail newer_stage_discards_older "$(ls g/versions)"
# A new process (a restart): the staged version is still there; run switches.
MARK_GOOD=1 "$PC" run --root g -- bin/run >run.out 2>&1
if intact g 1.2.0 && grep -q "running 1.2.0" run.out && [ "$(field g status "['staged']")" = None ] &&
    [ "$(field g status "['pending']")" = None ]; then pass run_switches_to_staged_and_program_marks_good
else fail run_switches_to_staged_and_program_marks_good "on $(cur g): $(cat run.out)"; fi
"$PC" update --root g --stage --to 1.1.0 >/dev/null 2>&1
"$PC" apply-staged --root g >ap.out 2>&1 && intact g 1.1.0 &&
    [ "$(field g status "['pending']")" = 1.1.0 ] && pass apply_staged || fail apply_staged "$(cat ap.out)"
check_fails apply_staged_nothing "nothing is staged" "$PC" apply-staged --root g
# 1.1.0 fails its starts, but its program marks itself good first: kept.
for i in 1 2 3 4; do MARK_GOOD=1 "$PC" run --root g -- bin/run >/dev/null 2>&1; done
intact g 1.1.0 && [ "$(field g status "['pending']")" = None ] && [ "$(field g status "['bad']")" = "[]" ] &&
    pass marked_good_version_kept || fail marked_good_version_kept "on $(cur g)"
# --healthy-after: a pending version that runs long enough is good, whatever its exit.
"$PC" update --root g --to 1.0.0 >/dev/null 2>&1
"$PC" update --root g --to 1.1.0 >/dev/null 2>&1
printf '#!/bin/sh\nsleep 2\nexit 1\n' >g/versions/1.1.0/bin/slow; chmod 755 g/versions/1.1.0/bin/slow
"$PC" run --root g --healthy-after 1 -- bin/slow >/dev/null 2>&1
[ "$(field g status "['pending']")" = None ] && [ "$(field g status "['last_good']")" = 1.1.0 ] &&
    pass healthy_after_marks_good || fail healthy_after_marks_good "$("$PC" status --root g --json)"
rm g/versions/1.1.0/bin/slow
# An exit by a signal is a failed start, reported as 128+N.
"$PC" update --root g --to 1.2.0 >/dev/null 2>&1
printf '#!/bin/sh\nkill -TERM $$\n' >g/versions/1.2.0/bin/die; chmod 755 g/versions/1.2.0/bin/die
"$PC" run --root g --attempts 5 -- bin/die >/dev/null 2>&1; rc=$?
[ "$rc" = 143 ] && [ "$(field g status "['failed_starts']")" = 1 ] && pass signal_is_failed_start ||
    fail signal_is_failed_start "rc $rc, $("$PC" status --root g --json)"
rm g/versions/1.2.0/bin/die

# --- SIGKILL during run's switch ------------------------------------------------------
client k 1.0.0
ok=1
for d in 0 0.002 0.004 0.006 0.008 0.01 0.015 0.02 0.03 0.05; do
    "$PC" update --root k --stage --to 1.1.0 >/dev/null 2>&1 || "$PC" update --root k --stage --to 1.2.0 >/dev/null 2>&1
    "$PC" run --root k -- bin/run >/dev/null 2>&1 &
    pid=$!
    sleep "$d"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    v=$(cur k)
    if ! diff -r "rel/$v" k/current >/dev/null || ! "$PC" status --root k >/dev/null 2>&1; then
        ok=0; echo "after $d s: current $v incomplete" >>kill.out
    fi
    "$PC" update --root k --to 1.0.0 >/dev/null 2>&1
done
[ "$ok" = 1 ] && pass sigkill_during_run_switch_leaves_whole_version || fail sigkill_during_run_switch_leaves_whole_version "$(cat kill.out)"

# --- a staged version withdrawn or skipped since: not switched to ----------------------
build '{}'
client sw 1.1.0
"$PC" update --root sw --stage >/dev/null 2>&1
build '{"versions": {"1.2.0": {"withdrawn": true, "withdrawn_reason": "corrupts saved files"}}}'
"$PC" update --root sw --stage >/dev/null 2>&1
"$PC" run --root sw -- bin/run >run.out 2>&1
[ "$(cur sw)" = 1.1.0 ] && grep -q "running 1.1.0" run.out && [ "$(field sw status "['staged']")" = None ] &&
    [ ! -e sw/versions/1.2.0 ] && pass staged_then_withdrawn_not_applied ||
    fail staged_then_withdrawn_not_applied "on $(cur sw): $(cat run.out)"
build '{}'
"$PC" update --root sw --stage >/dev/null 2>&1
"$PC" skip --root sw 1.2.0 >/dev/null
"$PC" run --root sw -- bin/run >run.out 2>&1
[ "$(cur sw)" = 1.1.0 ] && grep -q "running 1.1.0" run.out && [ "$(field sw status "['staged']")" = None ] &&
    pass staged_then_skipped_not_applied || fail staged_then_skipped_not_applied "on $(cur sw): $(cat run.out)"
rm -rf sw

# --- the launcher under a service manager ----------------------------------------------
build '{}'
# pending ROOT: a new install updated to 1.2.0, pending.
pending() { client "$1" 1.0.0 && "$PC" update --root "$1" --to 1.2.0 >/dev/null 2>&1; }
pending t
# lock ROOT FLAG [SECONDS]: hold ROOT's lock (as an update does), FLAG made once held.
lock() { exec python3 -c 'import fcntl, sys, time
f = open(sys.argv[1] + "/.lock", "a"); fcntl.flock(f, fcntl.LOCK_EX); open(sys.argv[2], "w")
time.sleep(float(sys.argv[3]))' "$1" "$2" "${3:-30}"; }
# A server: runs until stopped. A service stopped (SIGTERM to patchcast, passed
# on) is not a failed start, however often: no rollback of a version that works.
printf '#!/bin/sh\ntouch "$PATCHCAST_ROOT/up"\nexec sleep 30\n' >t/versions/1.2.0/bin/serve
chmod 755 t/versions/1.2.0/bin/serve
rcs=
for i in 1 2 3 4; do
    rm -f t/up
    "$PC" run --root t -- bin/serve >/dev/null 2>&1 &
    pid=$!
    wait_for 5 test -e t/up
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    rcs="$rcs $?"
done
[ "$rcs" = " 143 143 143 143" ] && [ "$(cur t)" = 1.2.0 ] && [ "$(field t status "['pending']")" = 1.2.0 ] &&
    [ "$(field t status "['failed_starts']")" = 0 ] && [ "$(field t status "['bad']")" = "[]" ] &&
    pass stopped_service_is_not_a_failed_start ||
    fail stopped_service_is_not_a_failed_start "exits$rcs, on $(cur t): $("$PC" status --root t --json)"
# A SIGHUP it handles (a reload) does not make a later crash a stop: counted.
printf '#!/bin/sh\ntrap "touch \\"$PATCHCAST_ROOT/reloaded\\"" HUP\ntouch "$PATCHCAST_ROOT/up"\nwhile [ ! -e "$PATCHCAST_ROOT/crash" ]; do sleep 0.05; done\nexit 1\n' >t/versions/1.2.0/bin/reload
chmod 755 t/versions/1.2.0/bin/reload
rm -f t/up
"$PC" run --root t -- bin/reload >/dev/null 2>&1 &
pid=$!
wait_for 5 test -e t/up
kill -HUP "$pid"
wait_for 5 test -e t/reloaded
touch t/crash
wait "$pid"
rc=$?
rm -f t/crash
[ "$rc" = 1 ] && [ "$(field t status "['failed_starts']")" = 1 ] && pass crash_after_reload_counted ||
    fail crash_after_reload_counted "exit $rc, $("$PC" status --root t --json)"
# The program has ended and patchcast waits for an update's lock to record it:
# a signal ends patchcast then (nothing left to pass it to), not after 600 s.
printf '#!/bin/sh\ntouch "$PATCHCAST_ROOT/ended"\nexit 1\n' >t/versions/1.2.0/bin/end
chmod 755 t/versions/1.2.0/bin/end
rm -f t/locked t/ended
lock t t/locked &
locker=$!
wait_for 5 test -e t/locked
"$PC" run --root t -- bin/end >/dev/null 2>&1 &
pid=$!
wait_for 5 test -e t/ended
if wait_for 5 sh -c "kill -TERM $pid 2>/dev/null; ! kill -0 $pid 2>/dev/null"; then
    pass signal_ends_run_waiting_for_lock
else
    fail signal_ends_run_waiting_for_lock "patchcast run still waits after SIGTERM"
fi
{ kill -KILL "$pid" "$locker"; wait "$pid" "$locker"; } 2>/dev/null
# --healthy-after while an update holds the lock: marked good once it is free.
pending t2
printf '#!/bin/sh\nsleep 3\nexit 1\n' >t2/versions/1.2.0/bin/slow
chmod 755 t2/versions/1.2.0/bin/slow
lock t2 t2/locked 2 &
locker=$!
wait_for 5 test -e t2/locked
"$PC" run --root t2 --healthy-after 1 -- bin/slow >run.out 2>&1
wait "$locker"
[ "$(field t2 status "['pending']")" = None ] && [ "$(field t2 status "['last_good']")" = 1.2.0 ] &&
    pass healthy_after_waits_for_lock || fail healthy_after_waits_for_lock "$(cat run.out) $("$PC" status --root t2 --json)"
# Started ignoring SIGHUP (nohup): the program ignores it too.
printf '#!/bin/sh\nkill -HUP $$\necho survived\n' >t2/versions/1.2.0/bin/hup
chmod 755 t2/versions/1.2.0/bin/hup
out=$(bash -c 'trap "" HUP; exec "$0" run --root "$1" -- bin/hup' "$PC" t2 2>&1)
[ "$out" = survived ] && pass nohup_kept || fail nohup_kept "$out"
rm -rf t t2

# --- nothing to roll back to: starts go on, counted within bounds -----------------------
client u 1.0.0
"$PC" update --root u --to 1.1.0 >/dev/null 2>&1
rm u/versions/1.0.0/share/data.txt # the way back damaged, and the repository away
mv site site.off
python3 -c "
import json; p = 'u/state.json'; s = json.load(open(p)); s['pending']['attempts'] = 999999
json.dump(s, open(p, 'w'))"
"$PC" run --root u -- bin/run >/dev/null 2>&1
"$PC" run --root u -- bin/run >run.out 2>&1
mv site.off site
[ "$(cur u)" = 1.1.0 ] && [ "$(field u status "['failed_starts']")" = 1000000 ] &&
    [ "$(field u status "['bad']")" = "[]" ] && grep -q "running 1.1.0" run.out &&
    pass failed_rollback_bounded_and_not_bad ||
    fail failed_rollback_bounded_and_not_bad "on $(cur u): $(cat run.out) $("$PC" status --root u --json 2>&1)"

# --- killed right after a switch (gdb stops patchcast as pc_layout_switch returns) -------
# after_switch CMD...: run CMD, killed once it has switched and before it records it.
after_switch() { gdb -q -batch -ex 'break pc_layout_switch' -ex run -ex finish -ex kill --args "$@" >/dev/null 2>&1; }
if command -v gdb >/dev/null && nm "$PC" 2>/dev/null | grep -qw pc_layout_switch; then
    client x 1.0.0
    after_switch "$PC" update --root x --to 1.1.0
    [ "$(cur x)" = 1.1.0 ] && [ "$(field x status "['pending']")" = 1.1.0 ] &&
        [ "$(field x status "['last_good']")" = 1.0.0 ] && pass killed_after_update_switch_pending ||
        fail killed_after_update_switch_pending "on $(cur x): $("$PC" status --root x --json)"
    "$PC" run --root x --attempts 2 -- bin/run >/dev/null 2>&1
    after_switch "$PC" run --root x --attempts 2 -- bin/run
    [ "$(cur x)" = 1.0.0 ] && intact x 1.0.0 && [ "$(field x status "['pending']")" = None ] &&
        [ "$(field x status "['bad']")" = "['1.1.0']" ] && pass killed_after_auto_rollback_switch_bad ||
        fail killed_after_auto_rollback_switch_bad "on $(cur x): $("$PC" status --root x --json)"
fi

# --- a root this user cannot write: run still runs, without accounting ---------------
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
    chmod -R a+rX "$TMP"
    out=$(runuser -u nobody -- "$PC" run --root k -- bin/run 2>&1)
    [ "$out" = "running 1.0.0" ] && pass run_by_other_user || fail run_by_other_user "$out"
fi
finish
