#!/usr/bin/env bash
# test_host_valgrind.sh — 100 consecutive module swaps, and swaps under
# concurrent callers, leak nothing and touch no invalid memory under valgrind
# (the test itself checks that open handles and mappings do not grow). In an
# ASan build LeakSanitizer checks the same runs instead.
source "$(dirname "$0")/../lib.sh"
cd "$TOP" || exit 1
T=$BUILD/tests/test_host
[ -x "$T" ] || { fail setup "$T is not built"; finish; }
if [[ $BUILD == *asan* ]]; then
    VG=()
    how=asan
else
    command -v valgrind >/dev/null || { fail setup "valgrind is not installed (make deps)"; finish; }
    VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
        --show-leak-kinds=definite,indirect --error-exitcode=99)
    how=valgrind
fi
for t in test_hundred_swaps test_swap_under_concurrent_calls test_rollback_failing_check; do
    out=$(TMPDIR=$TMP "${VG[@]}" "$T" "$t" 2>&1); rc=$?
    if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^PASS host/$t"; then
        pass "${how}_$t"
    elif [ "$rc" -eq 99 ]; then
        fail "${how}_$t" "memory errors or leaks: $(echo "$out" | grep -m3 -E '==[0-9]+==' | tr '\n' ' ')"
    else
        fail "${how}_$t" "exit $rc: $(echo "$out" | grep -v '^PASS' | tail -n 3 | tr '\n' ' ')"
    fi
done
finish
