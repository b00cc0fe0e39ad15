# md2man.awk — a man page (roff, man(7) macros) from its Markdown source,
# docs/NAME.1.md; `make` writes $(BUILD)/man/man1/NAME.1 with it:
#   LC_ALL=C awk -v source="patchcast 0.1.0" -f scripts/md2man.awk docs/patchcast.1.md
# POSIX awk (Debian's mawk or gawk). It understands only the Markdown the
# pages use and stops with FILE:LINE: why on anything else, so a page never
# renders silently wrong:
#   # name(1) — what it is         the first heading: .TH and the NAME section
#   ## SECTION                      .SH
#   <!-- ... -->                    whole lines: a note for the Markdown reader, dropped
#   a paragraph                     .PP (lines joined, refilled)
#   - **term** text                 a tagged paragraph (.TP); the text's first letter
#   - `code`, `code`: text          is capitalised
#   - text                          a bullet
#   | term | text |                 a two-column table (header and --- rows dropped):
#                                   a tagged paragraph a row, its text ended with a period
#   ``` ... ```                     no-fill (.nf); in SYNOPSIS, formatted like `code`
#   `code`                          words in capitals (DIR, FILE, VERSION) are
#                                   placeholders, in italics; the rest is bold;
#                                   spaces, [ ] ( ) | and ... stay roman
#   **bold**  *italic*  \X          \X is a literal X (\* for a star)
# Non-ASCII: — – § ’ “ ” … → × only.

function die(msg) {
    printf "md2man: %s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
    failed = 1
    exit 1
}

# replace(s, from, to): every from in s replaced by to, literally.
function replace(s, from, to,   out, i) {
    out = ""
    while ((i = index(s, from)) > 0) {
        out = out substr(s, 1, i - 1) to
        s = substr(s, i + length(from))
    }
    return out s
}

# esc(t): plain text as roff text.
function esc(t) {
    t = replace(t, "\\", "\\e")
    t = replace(t, "-", "\\-")
    t = replace(t, "—", "\\(em")
    t = replace(t, "–", "\\(en")
    t = replace(t, "§", "\\(sc")
    t = replace(t, "’", "\\(cq")
    t = replace(t, "“", "\\(lq")
    t = replace(t, "”", "\\(rq")
    t = replace(t, "…", "\\&...")
    t = replace(t, "→", "\\(->")
    t = replace(t, "×", "\\(mu")
    if (t ~ /[\200-\377]/)
        die("a character md2man.awk does not know (add it to esc()): " t)
    return t
}

# put(t, f, whole): t in font f (R, B, I), switching only when the font
# changes; whole: t starts a word that must not be hyphenated (\%).
function put(t, f, whole,   r) {
    if (t == "")
        return ""
    r = (f != font) ? "\\f" f : ""
    font = f
    return r (whole ? "\\%" : "") esc(t)
}

# endfont(): back to roman at the end of a line or a macro's argument.
function endfont(   r) {
    r = (font != "R") ? "\\fR" : ""
    font = "R"
    return r
}

# code(s, whole, nf): the text of a `code` span or (nf) a SYNOPSIS line;
# whole: s starts a word. Words of code are not hyphenated (a path, an option).
function code(s, whole, nf,   out, n, i, c, w) {
    out = ""
    n = length(s)
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (c ~ /[A-Za-z0-9_-]/) {
            w = c
            while (i < n && substr(s, i + 1, 1) ~ /[A-Za-z0-9_-]/)
                w = w substr(s, ++i, 1)
            out = out put(w, w ~ /^[A-Z][A-Z0-9]*$/ ? "I" : "B", whole)
        } else if (substr(s, i, 3) == "...") {
            out = out put("...", "R", whole)
            i += 2
        } else if (c ~ /[][()| ]/) {
            out = out put(c, "R", whole && c != " ")
        } else {
            out = out put(c, "B", whole)
        }
        whole = (c == " " && !nf)
    }
    return out
}

# inline(s): a line of Markdown text as roff text, fonts closed at the end.
function inline(s,   out, lit, n, i, c, j, w, bold, ital, base) {
    out = lit = ""
    bold = ital = 0
    base = "R"
    n = length(s)
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (c == "\\" && i < n) {
            lit = lit substr(s, ++i, 1)
        } else if (c == "`") {
            j = index(substr(s, i + 1), "`")
            if (j == 0)
                die("a ` with no closing `: " s)
            # Does the span start a word, alone or after a "("?
            w = (lit != "") ? lit : out
            if (w ~ /(^| )\($/) {
                out = out put(substr(lit, 1, length(lit) - 1), base) put("(", base, 1)
                out = out code(substr(s, i + 1, j - 1), 0, 0)
            } else {
                out = out put(lit, base) code(substr(s, i + 1, j - 1), w == "" || w ~ / $/, 0)
            }
            lit = ""
            i += j
        } else if (c == "*") {
            out = out put(lit, base)
            lit = ""
            if (substr(s, i + 1, 1) == "*") {
                bold = !bold
                i++
            } else {
                ital = !ital
            }
            base = bold ? "B" : ital ? "I" : "R"
        } else if (c == "<" && substr(s, i + 1, 1) ~ /[A-Za-z\/!]/) {
            die("HTML is not supported (a placeholder is `NAME`): " s)
        } else if (c == "[" && substr(s, i) ~ /^\[[^]]*\]\(/) {
            die("links are not supported: " s)
        } else {
            lit = lit c
        }
    }
    if (bold || ital)
        die("a ** or * with no closing one (\\* is a star): " s)
    return out put(lit, base) endfont()
}

# line(t): an output line; one starting with . or ' would be a request.
function line(t) {
    if (t ~ /^[.']/)
        t = "\\&" t
    print t
}

# fill(t): roff text refilled to lines of about 78 characters.
function fill(t,   n, w, i, cur) {
    n = split(t, w, / +/)
    cur = ""
    for (i = 1; i <= n; i++) {
        if (w[i] == "")
            continue
        # No break after an abbreviation: roff takes a line's end for a sentence's.
        if (cur != "" && length(cur) + 1 + length(w[i]) > 78 && cur !~ /(e\.g|i\.e)\.$/) {
            line(cur)
            cur = w[i]
        } else {
            cur = (cur == "") ? w[i] : cur " " w[i]
        }
    }
    if (cur != "")
        line(cur)
}

function cap(s) {
    return (s ~ /^[a-z]/) ? toupper(substr(s, 1, 1)) substr(s, 2) : s
}

# A paragraph starts with .PP, except the first of a section.
function para_start() {
    if (!at_sh)
        print ".PP"
    at_sh = 0
}

# tagged(term, text, stop): a .TP paragraph; stop ends a table cell's text
# with a period, as a man page's sentences do.
function tagged(term, text, stop) {
    if (stop && text !~ /[.!?]$/)
        text = text "."
    print ".TP"
    line(inline(term))
    fill(inline(cap(text)))
    at_sh = 0
}

# flush(): write the paragraph or list item being collected.
function flush(   m) {
    if (state == "para") {
        para_start()
        fill(inline(buf))
    } else if (state == "item") {
        if (match(buf, /^\*\*[^*]+\*\*:? /) || match(buf, /^`[^`]+`(, `[^`]+`)*: /)) {
            m = substr(buf, 1, RLENGTH - 1)
            sub(/:$/, "", m)
            tagged(m, substr(buf, RLENGTH + 1), 0)
        } else {
            print ".IP \\(bu 2"
            fill(inline(buf))
            at_sh = 0
        }
    }
    state = ""
    buf = ""
}

function title(s,   name, sec, desc, i) {
    if (!match(s, /^# [^ ()]+\([0-9][a-z]*\) — /))
        die("the first heading must be '# name(section) — what it is'")
    desc = substr(s, RLENGTH + 1)
    s = substr(s, 3, RLENGTH - 2 - length(" — "))
    i = index(s, "(")
    name = substr(s, 1, i - 1)
    sec = substr(s, i + 1, length(s) - i - 1)
    printf ".\\\" %s(%s): generated from %s by scripts/md2man.awk; edit that file.\n", name, sec, FILENAME
    printf ".TH %s %s \"\" \"%s\" \"User Commands\"\n", esc(toupper(name)), sec, source
    print ".SH NAME"
    line(esc(name) " \\- " inline(desc))
    titled = 1
}

function table_row(s,   n, cell) {
    rows++
    if (rows == 2) {
        if (s !~ /^\|( *:?-+:? *\|)+ *$/)
            die("a table's second row must be | --- | --- |")
        return
    }
    if (s !~ /^\| .* \|[ \t]*$/)
        die("a table row is | term | text |")
    sub(/^\| /, "", s)
    sub(/ \|[ \t]*$/, "", s)
    n = split(s, cell, / \| /)
    if (n != 2)
        die("only two-column tables are supported (a | in a cell is \\|)")
    if (rows > 2)
        tagged(cell[1], cell[2], 1)
}

BEGIN {
    if (source == "") {
        print "usage: LC_ALL=C awk -v source='patchcast X.Y.Z' -f md2man.awk PAGE.md" > "/dev/stderr"
        failed = 1
        exit 2
    }
    font = "R"
    state = ""
    at_sh = 0
}

state == "comment" {
    if ($0 ~ /-->[ \t]*$/)
        state = ""
    next
}

state == "code" {
    if ($0 ~ /^```[ \t]*$/) {
        print ".fi"
        state = ""
    } else if (section == "SYNOPSIS") {
        line(code($0, 0, 1) endfont())
    } else {
        line(esc($0))
    }
    next
}

/^\|/ {
    if (state != "table") {
        flush()
        rows = 0
    }
    state = "table"
    table_row($0)
    next
}

state == "table" { state = "" }

/^<!--/ {
    flush()
    if ($0 !~ /-->[ \t]*$/)
        state = "comment"
    next
}

/^[ \t]*$/ { flush(); next }

!titled { title($0); next }

/^## / {
    flush()
    section = substr($0, 4)
    print ".SH " esc(section)
    at_sh = 1
    next
}

/^#/ { die("only '# name(1) — ...' (first) and '## SECTION' headings are supported") }

/^```/ {
    flush()
    if ($0 !~ /^```[a-z]*[ \t]*$/)
        die("a code block starts with ``` alone")
    para_start()
    print ".nf"
    state = "code"
    next
}

/^- / {
    flush()
    state = "item"
    buf = substr($0, 3)
    next
}

/^[ \t]*([0-9]+[.)]|[>*+]) / { die("numbered lists, quotes and * or + bullets are not supported") }

{
    s = $0
    sub(/^[ \t]+/, "", s)
    if (state == "item" || state == "para") {
        buf = buf " " s
    } else {
        state = "para"
        buf = s
    }
}

END {
    if (failed)
        exit 1
    if (state == "code")
        die("a ``` block is not closed")
    if (state == "comment")
        die("a <!-- comment is not closed")
    flush()
    if (!titled)
        die("no '# name(1) — ...' heading")
}
