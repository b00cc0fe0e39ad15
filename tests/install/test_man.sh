#!/usr/bin/env bash
# test_man.sh — the man pages (docs/*.1, roff) and their Markdown twins
# (docs/*.1.md) stay in step with the commands: every subcommand and every
# option that `--help` prints is in both, the version in .TH is the
# program's, and groff renders the pages without a warning.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1

# options TEXT: the distinct -x / --long options a help text names.
options() {
    grep -oE '(^|[^A-Za-z0-9_$-])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[^-]*//' | LC_ALL=C sort -u
}

for prog in patchcast patchcast-gen; do
    bin=$BUILD/$prog
    roff=$TOP/docs/$prog.1
    md=$TOP/docs/$prog.1.md
    # Rendered without hyphenation on very long lines, so words stay whole.
    groff -man -Tascii -rHY=0 -rLL=400n -P-cbou "$roff" >"$prog.txt" 2>"$prog.warn"
    warn=$(groff -man -Tutf8 -ww -z "$roff" 2>&1)
    [ -z "$warn" ] && pass "${prog}_roff_renders_without_warnings" ||
        fail "${prog}_roff_renders_without_warnings" "$warn"

    version=$("$bin" --version | cut -d' ' -f2)
    grep -q "^\.TH .*\"patchcast $version\"" "$roff" && pass "${prog}_man_version_is_programs" ||
        fail "${prog}_man_version_is_programs" "$(grep '^\.TH' "$roff") vs $version"

    subs=$("$bin" --help | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 && $1 != "commands:" {print $1}')
    [ "$(echo "$subs" | grep -c .)" -ge 5 ] || fail "${prog}_help_lists_commands" "$subs"
    missing_roff="" missing_md=""
    for s in $subs; do
        grep -qE "(^| )$prog $s( |$)" "$prog.txt" || missing_roff="$missing_roff $s"
        grep -qE "$prog $s( |$)" "$md" || missing_md="$missing_md $s"
        for o in $("$bin" "$s" --help 2>&1 | options); do
            grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|$)" "$prog.txt" ||
                missing_roff="$missing_roff $s:$o"
            grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|$)" "$md" || missing_md="$missing_md $s:$o"
        done
    done
    [ -z "$missing_roff" ] && pass "${prog}_man_page_names_every_command_and_option" ||
        fail "${prog}_man_page_names_every_command_and_option" "missing:$missing_roff"
    [ -z "$missing_md" ] && pass "${prog}_markdown_names_every_command_and_option" ||
        fail "${prog}_markdown_names_every_command_and_option" "missing:$missing_md"

    # The exit codes of --help are documented in both.
    codes=$("$bin" --help | sed -n 's/.*exit codes: *//p;s/^ \{6,\}\([0-9]\)/\1/p' | grep -oE '(^|, )[0-9]' | tr -dc '0-9\n')
    for c in $codes; do
        grep -qE "^ +$c\b|^$c\b" "$prog.txt" || missing_roff="$missing_roff exit:$c"
        grep -qE "^\| $c \||(^|, )$c [a-z]" "$md" || missing_md="$missing_md exit:$c"
    done
    [ -n "$codes" ] && [[ $missing_roff != *exit:* && $missing_md != *exit:* ]] &&
        pass "${prog}_exit_codes_documented" ||
        fail "${prog}_exit_codes_documented" "codes '$(echo $codes)'; missing:$missing_roff $missing_md"
done

finish
