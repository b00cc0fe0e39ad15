#!/usr/bin/env bash
# test_fuzz_seeds.sh — build every libFuzzer harness (clang) and run each
# briefly: its seed corpus, then a bounded number of mutations. `make fuzz`
# runs them for longer.
source "$(dirname "$0")/../lib.sh"
cd "$TOP" || exit 1

if ! out=$(make --no-print-directory fuzz-build 2>&1); then
    fail build "make fuzz-build failed: $(echo "$out" | grep -m3 -E 'error|Error' | tr '\n' ' ')"
    finish
fi
found=0
for f in build-fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    found=1
    n=$(basename "$f")
    seeds="tests/fuzz/seeds/${n#fuzz_}"
    work="$TMP/$n"
    mkdir -p "$work"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
    nseeds=$(find "$work" -type f | wc -l)
    if [ "$nseeds" -eq 0 ]; then
        fail "$n" "no seed corpus in $seeds"
        continue
    fi
    if out=$("$f" -runs=20000 -max_total_time=30 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$TMP/" "$work" 2>&1); then
        pass "$n"
    else
        fail "$n" "fuzzer found a problem: $(echo "$out" | grep -m2 -E 'ERROR|SUMMARY|Test unit' | tr '\n' ' ')"
    fi
done
[ "$found" -eq 1 ] || fail harnesses "no fuzz harness was built"
finish
