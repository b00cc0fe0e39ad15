#!/usr/bin/env bash
# test_sig_valgrind.sh — keygen, sign and verify (good and bad) leak nothing
# and touch no invalid memory, under valgrind. In an ASan build (where
# valgrind cannot run) LeakSanitizer checks the same commands instead.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD
if [[ $BUILD == *asan* ]]; then
    VG=()
    how=asan
else
    command -v valgrind >/dev/null || { fail setup "valgrind is not installed (make deps)"; finish; }
    VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
        --show-leak-kinds=definite,indirect --error-exitcode=99)
    how=valgrind
fi
head -c 100000 /dev/urandom >f.bin

run() { # name expected-exit cmd...
    local name=$1 want=$2; shift 2
    local out rc
    out=$("${VG[@]}" "$@" 2>&1); rc=$?
    if [ "$rc" -eq "$want" ]; then pass "${how}_$name"
    elif [ "$rc" -eq 99 ]; then fail "${how}_$name" "memory errors or leaks: $(echo "$out" | grep -m3 -E '==[0-9]+==' | tr '\n' ' ')"
    else fail "${how}_$name" "exit $rc, wanted $want: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

run keygen 0 "$PCGEN" keygen -W -p k.pub -s k.key
run sign 0 "$PCGEN" sign -s k.key -m f.bin -t "valgrind"
run verify_good 0 "$PC" verify -p k.pub -m f.bin
echo x >>f.bin
run verify_bad_content 3 "$PC" verify -p k.pub -m f.bin
"$PCGEN" keygen -W -p k2.pub -s k2.key >/dev/null
run verify_wrong_key 3 "$PC" verify -p k2.pub -m f.bin
head -n 2 f.bin.minisig >t.minisig
run verify_truncated_sig 1 "$PC" verify -p k.pub -m f.bin -x t.minisig
run verify_missing_file 1 "$PC" verify -p k.pub -m nothing.bin
run usage_error 2 "$PC" verify -m f.bin
finish
