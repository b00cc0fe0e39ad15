#!/usr/bin/env bash
# test_hotswap_app.sh — the demo story (scripts/demo.sh) as a test: the
# example app, installed from a file:// site, is updated while it runs; the
# module updates are hot-swapped in the same process (no restart, greeting
# count carried over), the data file is reloaded, and the core update ends
# with a relaunch into the new core.
source "$(dirname "$0")/../lib.sh"
LIBS="$(pkg-config --libs libsodium libcjson libcurl libzstd liblzma) -lmbedcrypto -lbz2 -lpthread -ldl -lm"
[[ $BUILD == *asan* ]] && LIBS="$LIBS -fsanitize=address,undefined"
out=$(cd "$TOP" && DEMO_DIR=$TMP/demo PC_LIBS="$LIBS" BUILD=$BUILD scripts/demo.sh 2>&1)
rc=$?
log=$TMP/demo/app.log
[ "$rc" -eq 0 ] && pass demo_exits_0 || fail demo_exits_0 "exit $rc: $(echo "$out" | tail -n 5 | tr '\n' ' ')"
[ -f "$log" ] || { fail app_log "no app log"; finish; }

# One process until the relaunch: "started" twice, the second after the core update.
starts=$(grep -c '^== core . started' "$log")
[ "$starts" -eq 2 ] && grep -q '^== core 2 started, version 2.0.0, relaunched after 1.2.0' "$log" &&
    pass core_update_relaunches || fail core_update_relaunches "$(grep '^== core' "$log" | tr '\n' ' ')"
before_relaunch=$(sed '/^== core 2 started/,$d' "$log")
# 1.1.0 changed only the greeter: swapped in the running process, its count goes on.
echo "$before_relaunch" | sed -n '/-> 1.1.0/,/^SUMMARY/p' | grep -q '^== hot-swapped modules/greeter.so' &&
    ! echo "$before_relaunch" | sed -n '/-> 1.1.0/,/^SUMMARY/p' | grep -q '^== hot-swapped modules/util.so' &&
    pass greeter_hot_swapped || fail greeter_hot_swapped "no swap line"
last_old=$(echo "$before_relaunch" | grep -o 'Hello, world! Greeting #[0-9]*' | tail -1 | grep -o '[0-9]*$')
first_new=$(echo "$before_relaunch" | grep -o 'Hello again, world! Greeting #[0-9]*' | head -1 | grep -o '[0-9]*$')
[ -n "$last_old" ] && [ -n "$first_new" ] && [ "$first_new" -eq $((last_old + 1)) ] &&
    pass greeter_state_migrated || fail greeter_state_migrated "last old #$last_old, first new #$first_new"
# 1.2.0 changed util (greeter's dependency) and the data file: greeter not swapped again.
echo "$before_relaunch" | grep -q '(greeter 2, util 2) motd: The message of the day changed too' &&
    echo "$before_relaunch" | grep -q '^== reloaded share/motd.txt' &&
    [ "$(echo "$before_relaunch" | grep -c '^== hot-swapped modules/greeter.so')" -eq 1 ] &&
    pass dependency_and_data_swapped || fail dependency_and_data_swapped "$(grep '^==' "$log" | tr '\n' ' ')"
# stats never changed: never swapped, its line count runs on across swaps.
! grep -q 'hot-swapped modules/stats.so' "$log" &&
    echo "$before_relaunch" | grep -o 'line [0-9]*\]' | awk -F'[ \\]]' '$2 != NR { bad=1 } END { exit bad }' &&
    pass unchanged_module_keeps_serving || fail unchanged_module_keeps_serving "stats swapped or count broken"
# Each step's download is a small fraction of the full download.
awk '/^SUMMARY/ { n++; if ($4 * 10 > $5) bad=1 } END { exit !(n == 3 && !bad) }' "$log" &&
    pass downloads_under_10_percent || fail downloads_under_10_percent "$(grep '^SUMMARY' "$log" | tr '\n' ' ')"
# The install is a verified 2.0.0 before the demo's final rollback to 1.2.0.
echo "$out" | grep -q 'rolled back from 2.0.0 to 1.2.0' && pass rollback_after_story || fail rollback_after_story "no rollback"
finish
