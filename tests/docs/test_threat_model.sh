#!/usr/bin/env bash
# test_threat_model.sh — docs/threat-model.md cites only tests that exist:
# every file it names is there, and every test name in its "tests" column
# is in the sources under tests/ (literally, or — for a name a test builds
# from a prefix, such as "${name}_serial_continues_across_runs" — the part
# after the first "_", ending a word).
source "$(dirname "$0")/../lib.sh"
DOC=$TOP/docs/threat-model.md
cd "$TOP" || exit 1

# The last column of each table row (not the header or the rule).
col=$(grep '^| ' "$DOC" | grep -v '^| ---' | grep -v '^| attack' | awk -F'|' '{print $(NF-1)}')
[ "$(echo "$col" | grep -c .)" -ge 20 ] && pass rows_found || fail rows_found "$(echo "$col" | grep -c .) rows"

missing_files=""
for f in $(echo "$col" | grep -oE '`tests/[^`]+`' | tr -d '`'); do
    [ -e "$f" ] || missing_files="$missing_files $f"
done
for f in $(echo "$col" | grep -oE '(^|[ ;(])test_[a-z_]+\.(sh|c)' | sed 's/^[ ;(]//' | sort -u); do
    [ -n "$(find tests -name "$f")" ] || missing_files="$missing_files $f"
done
[ -z "$missing_files" ] && pass cited_files_exist || fail cited_files_exist "missing:$missing_files"

names=$(echo "$col" | sed 's/`[^`]*`//g' | grep -oE '\b[a-z][a-z0-9]*(_[a-z0-9]+)+\b' |
    grep -vE '^test_' | sort -u)
missing=""
n=0
for t in $names; do
    n=$((n + 1))
    grep -rqF -- "$t" tests/ && continue
    grep -rqE -- "${t#*_}([^a-z0-9_]|$)" tests/ && continue # built as ${prefix}_rest
    missing="$missing $t"
done
[ "$n" -ge 40 ] && [ -z "$missing" ] && pass cited_tests_exist ||
    fail cited_tests_exist "$n names; not found:$missing"

finish
