#!/usr/bin/env bash
# test_man.sh — the man pages. docs/NAME.1.md is their one source; make
# writes $BUILD/man/man1/NAME.1 from it with scripts/md2man.awk. Here: the
# converter on every construct it knows and its refusals; the Makefile's
# MANPAGES (what `make install` installs) is exactly the generated pages; and
# each generated page is current, renders with man and groff without a
# warning, carries the program's version, and names every subcommand and
# every option that `--help` prints, and the exit codes.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1

md2man() { LC_ALL=C awk -v source="$1" -f "$TOP/scripts/md2man.awk" "$2"; }

# --- The converter: each construct, compared with the roff expected.
cat >demo.1.md <<'EOF'
# demo(1) — a demo — with `code`

<!-- a note for the Markdown reader,
over two lines -->

## SYNOPSIS

```
demo run FILE... [--out DIR] (-k KEY | -K)
```

## DESCRIPTION

A paragraph with **bold**, *italic*, `--opt ARG`, `RELEASES/VERSION.md`
and (`docs/x.md` §9), a backslash \\ and a \* star, e.g. a long line
to fill.

'quoted' first.

- **verb** does a thing.
- `A_VAR`, `b_var`: the variables.
- a plain bullet

| option | meaning |
| --- | --- |
| `-q`, `--quiet` | say nothing |
| `0` | success. |

```
.hidden --flag \n
```
EOF
cat >demo.1.want <<'EOF'
.\" demo(1): generated from demo.1.md by scripts/md2man.awk; edit that file.
.TH DEMO 1 "" "demo 1.2.3" "User Commands"
.SH NAME
demo \- a demo \(em with \fB\%code\fR
.SH SYNOPSIS
.nf
\fBdemo\fR \fBrun\fR \fIFILE\fR... [\fB\-\-out\fR \fIDIR\fR] (\fB\-k\fR \fIKEY\fR | \fB\-K\fR)
.fi
.SH DESCRIPTION
A paragraph with \fBbold\fR, \fIitalic\fR, \fB\%\-\-opt\fR \fI\%ARG\fR,
\fI\%RELEASES\fB/\fIVERSION\fB.md\fR and \%(\fBdocs/x.md\fR \(sc9), a
backslash \e and a * star, e.g. a long line to fill.
.PP
\&'quoted' first.
.TP
\fBverb\fR
Does a thing.
.TP
\fB\%A_VAR\fR, \fB\%b_var\fR
The variables.
.IP \(bu 2
a plain bullet
.TP
\fB\%\-q\fR, \fB\%\-\-quiet\fR
Say nothing.
.TP
\fB\%0\fR
Success.
.PP
.nf
\&.hidden \-\-flag \en
.fi
EOF
if md2man "demo 1.2.3" demo.1.md >demo.1 2>demo.err && cmp -s demo.1 demo.1.want; then
    pass md2man_writes_each_construct
else
    fail md2man_writes_each_construct "$(cat demo.err; diff demo.1.want demo.1 | head -6 | tr '\n' ' ')"
fi
warn=$(groff -man -Tutf8 -ww -z demo.1 2>&1)
[ -z "$warn" ] && pass md2man_output_renders_without_warnings ||
    fail md2man_output_renders_without_warnings "$warn"

# Markdown it does not know stops it, naming the file and line.
refused=""
while IFS='|' read -r what text; do
    printf '# x(1) — y\n\n## S\n\n%b\n' "$text" >bad.md
    if md2man s bad.md >/dev/null 2>bad.err || ! grep -q '^md2man: bad.md:5: ' bad.err; then
        refused="$refused [$what: $(cat bad.err)]"
    fi
done <<'EOF'
heading3|### x
numbered list|1. item
quote|> quote
star bullet|* item
link|a [link](x)
html|a <b>tag</b>
open code|a `code
open bold|a **bold
unknown character|a ☃
three columns|\x7c a \x7c b \x7c c \x7c
EOF
printf '## S\n' >bad.md
md2man s bad.md >/dev/null 2>bad.err && refused="$refused [no title]"
printf '# x(1) — y\n```\nx\n' >bad.md
md2man s bad.md >/dev/null 2>bad.err && refused="$refused [open block]"
[ -z "$refused" ] && pass md2man_refuses_what_it_does_not_know || fail md2man_refuses_what_it_does_not_know "$refused"

# --- The Makefile installs the generated pages, one per docs/*.1.md, and no
# roff page is kept in docs/.
# (The Makefile spells a build folder inside the tree relative to it.)
want=$(for f in "$TOP"/docs/*.1.md; do n=$(basename "$f" .md); echo "${BUILD#"$TOP"/}/man/man1/$n"; done | LC_ALL=C sort)
got=$(echo 'print-manpages: ; @echo $(MANPAGES)' |
    make -s --no-print-directory -C "$TOP" -f Makefile -f - BUILD="$BUILD" print-manpages 2>&1 | tr ' ' '\n' | LC_ALL=C sort)
[ -n "$want" ] && [ "$got" = "$want" ] && pass makefile_manpages_are_the_generated_pages ||
    fail makefile_manpages_are_the_generated_pages "MANPAGES '$(echo $got)', want '$(echo $want)'"
roff=$(cd "$TOP/docs" && ls ./*.1 ./*.[1-8] 2>/dev/null)
[ -z "$roff" ] && pass no_roff_source_in_docs || fail no_roff_source_in_docs "$roff"

# options TEXT: the distinct -x / --long options a help text names.
options() {
    grep -oE '(^|[^A-Za-z0-9_$-])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[^-]*//' | LC_ALL=C sort -u
}

for prog in patchcast patchcast-gen; do
    bin=$BUILD/$prog
    page=$BUILD/man/man1/$prog.1
    version=$("$bin" --version | cut -d' ' -f2)
    if [ ! -f "$page" ]; then
        fail "${prog}_page_generated" "$page is missing (make builds it)"
        continue
    fi
    (cd "$TOP" && md2man "patchcast $version" "docs/$prog.1.md") >"$prog.fresh" 2>&1 && cmp -s "$prog.fresh" "$page" &&
        pass "${prog}_page_is_current" || fail "${prog}_page_is_current" "$page differs from docs/$prog.1.md's"

    out=$(MANWIDTH=80 man -l "$page" 2>&1)
    missing=""
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" "SEE ALSO"; do
        echo "$out" | grep -q "^$s\$" || missing="$missing '$s'"
    done
    echo "$out" | grep -q "^ *$prog - " || missing="$missing 'NAME line'"
    [ -z "$missing" ] && pass "${prog}_man_renders" || fail "${prog}_man_renders" "missing:$missing"
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warn" ] && pass "${prog}_roff_renders_without_warnings" ||
        fail "${prog}_roff_renders_without_warnings" "$warn"

    grep -q "^\.TH .*\"patchcast $version\"" "$page" && pass "${prog}_man_version_is_programs" ||
        fail "${prog}_man_version_is_programs" "$(grep '^\.TH' "$page") vs $version"

    # Rendered without hyphenation on very long lines, so words stay whole.
    groff -man -Tascii -rHY=0 -rLL=400n -P-cbou "$page" >"$prog.txt" 2>/dev/null
    subs=$("$bin" --help | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 && $1 != "commands:" {print $1}')
    [ "$(echo "$subs" | grep -c .)" -ge 5 ] || fail "${prog}_help_lists_commands" "$subs"
    missing=""
    for s in $subs; do
        grep -qE "(^| )$prog $s( |$)" "$prog.txt" || missing="$missing $s"
        for o in $("$bin" "$s" --help 2>&1 | options); do
            grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|$)" "$prog.txt" || missing="$missing $s:$o"
        done
    done
    [ -z "$missing" ] && pass "${prog}_man_page_names_every_command_and_option" ||
        fail "${prog}_man_page_names_every_command_and_option" "missing:$missing"

    # The exit codes of --help are documented.
    codes=$("$bin" --help | sed -n 's/.*exit codes: *//p;s/^ \{6,\}\([0-9]\)/\1/p' | grep -oE '(^|, )[0-9]' | tr -dc '0-9\n')
    missing=""
    for c in $codes; do
        grep -qE "^ +$c\b|^$c\b" "$prog.txt" || missing="$missing $c"
    done
    [ -n "$codes" ] && [ -z "$missing" ] && pass "${prog}_exit_codes_documented" ||
        fail "${prog}_exit_codes_documented" "codes '$(echo $codes)'; missing:$missing"
done

finish
