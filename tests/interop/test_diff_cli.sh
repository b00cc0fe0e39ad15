#!/usr/bin/env bash
# test_diff_cli.sh — `patchcast-gen diff` as a command: its patches apply
# with Debian's bspatch (BSDIFF40) and `patchcast apply` (pcz); progress
# with --progress (each phase as it starts, in order, the scan counted to
# 100 %; on a terminal one redrawn line, cleared at the end; plain lines
# where TERM is dumb), none with -q; bad usage exits 2, a
# missing input names it and leaves no patch.
source "$(dirname "$0")/../lib.sh"

head -c 400000 /dev/urandom >"$TMP/old"
{ head -c 150000 "$TMP/old"; head -c 3000 /dev/urandom; tail -c +150001 "$TMP/old"; } >"$TMP/new"
for i in $(seq 4000); do echo "function f$i(a, b) { return a + b * $i; }"; done >"$TMP/old.js"
sed '0~50s/return a + b/return b + a/; 2000,2100d' "$TMP/old.js" >"$TMP/new.js"

"$PCGEN" diff --format bsdiff40 "$TMP/old" "$TMP/new" "$TMP/p.bsdiff" 2>/dev/null &&
    bspatch "$TMP/old" "$TMP/out" "$TMP/p.bsdiff" && cmp -s "$TMP/out" "$TMP/new" &&
    pass bsdiff40_applies_with_bspatch || fail bsdiff40_applies_with_bspatch "bspatch's result differs"
rm -f "$TMP/out"
"$PCGEN" diff "$TMP/old" "$TMP/new" "$TMP/p.pcz" 2>/dev/null &&
    "$PC" apply "$TMP/old" "$TMP/p.pcz" "$TMP/out" && cmp -s "$TMP/out" "$TMP/new" &&
    pass pcz_applies || fail pcz_applies "patchcast apply's result differs"

# phases PROGRESS_OUTPUT: the phases named in its "diff: <phase>" lines.
phases() { sed -n 's/^diff: \([a-z ]*[a-z]\).*/\1/p' "$1" | uniq | paste -sd, -; }

"$PCGEN" diff --progress --format bsdiff40 "$TMP/old" "$TMP/new" "$TMP/p2" 2>"$TMP/err"
got=$(phases "$TMP/err")
[ "$got" = "reading,sorting,scanning,writing" ] && tail -1 "$TMP/err" | grep -q "p2: [0-9]* bytes" &&
    pass progress_lines_in_order || fail progress_lines_in_order "phases: '$got'; output: $(tr '\n' '|' <"$TMP/err")"
"$PCGEN" diff --progress "$TMP/old.js" "$TMP/new.js" "$TMP/p3" 2>"$TMP/err"
got=$(phases "$TMP/err")
[ "$got" = "reading,sorting,scanning,parsing text,writing" ] &&
    pass progress_names_text_parse || fail progress_names_text_parse "phases: '$got'"
# The scan's count reaches its total, said before the next phase.
grep -A1 "^diff: scanning 100% (" "$TMP/err" | grep -q "^diff: parsing text" &&
    pass progress_scan_counts_to_100 || fail progress_scan_counts_to_100 "$(tr '\n' '|' <"$TMP/err")"

"$PCGEN" diff -q "$TMP/old" "$TMP/new" "$TMP/p4" 2>"$TMP/err"
[ "$(wc -l <"$TMP/err")" = 1 ] && ! grep -q "^diff:" "$TMP/err" &&
    pass quiet_prints_only_the_result || fail quiet_prints_only_the_result "$(tr '\n' '|' <"$TMP/err")"

# On a terminal (script(1) gives it one): one line redrawn, cleared before the result.
TERM=xterm script -qec "'$PCGEN' diff --progress '$TMP/old' '$TMP/new' '$TMP/p5'" /dev/null >"$TMP/tty" 2>&1
if grep -q $'\r\e\\[Kdiff: scanning' "$TMP/tty" && ! grep -q "^diff:" "$TMP/tty" &&
    grep -q $'\r\e\\[K'"$TMP/p5: [0-9]* bytes" "$TMP/tty"; then
    pass terminal_line_redrawn
else
    fail terminal_line_redrawn "$(od -c "$TMP/tty" | head -5 | tr '\n' ' ')"
fi

# A terminal that cannot redraw (TERM=dumb) gets plain lines.
TERM=dumb script -qec "'$PCGEN' diff --progress '$TMP/old' '$TMP/new' '$TMP/p5'" /dev/null >"$TMP/tty" 2>&1
grep -q "^diff: scanning" "$TMP/tty" && ! grep -q $'\e' "$TMP/tty" &&
    pass dumb_terminal_gets_plain_lines || fail dumb_terminal_gets_plain_lines "$(od -c "$TMP/tty" | head -3 | tr '\n' ' ')"

"$PCGEN" diff --format zip "$TMP/old" "$TMP/new" "$TMP/p6" 2>"$TMP/err"
rc=$?
[ "$rc" = 2 ] && grep -q "zip" "$TMP/err" && pass unknown_format_is_usage || fail unknown_format_is_usage "exit $rc"
"$PCGEN" diff --progress "$TMP/nothere" "$TMP/new" "$TMP/p7" 2>"$TMP/err"
rc=$?
[ "$rc" = 1 ] && grep -q "nothere" "$TMP/err" && [ ! -e "$TMP/p7" ] && ! grep -q "writing" "$TMP/err" &&
    pass missing_old_named || fail missing_old_named "exit $rc: $(tr '\n' '|' <"$TMP/err")"
"$PCGEN" diff --help | grep -q -- "--progress" && "$PCGEN" diff --help | grep -q -- "-q, --quiet" &&
    pass help_names_progress_options || fail help_names_progress_options "--help lacks them"
finish
