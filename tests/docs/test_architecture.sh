#!/usr/bin/env bash
# test_architecture.sh — the rules docs/architecture.md states hold in the
# tree: libpatchcast.so exports exactly what include/ declares; every code
# folder has a README and is on the page; no folder holds more than 15 .c
# files and no source file more than 700 lines; no include cycle between
# headers or modules; and an include against the folder rules does not
# compile (the Makefile gives each folder only the -I paths it may use);
# and cppcheck is clean.
source "$(dirname "$0")/../lib.sh"
cd "$TOP" || exit 1
DOC=docs/architecture.md

# ---- ABI: exported == declared --------------------------------------------
exported=$(nm -D --defined-only "$BUILD/libpatchcast.so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u)
declared=$(cat include/*.h | tr '\n' ' ' | grep -oE 'PC_API[^;{]*\(' |
    grep -oE '\bpc_[a-z0-9_]+ *\($' | tr -d ' (' | sort -u)
n_exp=$(echo "$exported" | grep -c .)
if [ "$exported" = "$declared" ] && [ "$n_exp" -ge 40 ]; then
    pass exports_exactly_the_public_api
else
    fail exports_exactly_the_public_api "$n_exp exported; only exported: $(comm -23 <(echo "$exported") <(echo "$declared") | tr '\n' ' ') only declared: $(comm -13 <(echo "$exported") <(echo "$declared") | tr '\n' ' ')"
fi
# Every function a public header declares carries PC_API (else it would be hidden).
bare=$(grep -hE '^(const )?[a-z_0-9]+ \**pc_[a-z0-9_]+\(' include/*.h)
[ -z "$bare" ] && pass public_declarations_marked || fail public_declarations_marked "$bare"

# ---- folders ----------------------------------------------------------------
dirs=$(find client generator -mindepth 1 -maxdepth 1 -type d | sort)
[ "$(echo "$dirs" | grep -c .)" -ge 10 ] && pass folders_found || fail folders_found "$dirs"
bad=""
for d in $dirs client generator; do
    [ -s "$d/README.md" ] || bad="$bad $d(no README)"
    [ "$d" = client ] || [ "$d" = generator ] || grep -qF "\`$d\`" "$DOC" || bad="$bad $d(not in $DOC)"
    n=$(find "$d" -maxdepth 1 -name '*.c' | wc -l)
    [ "$n" -le 15 ] || bad="$bad $d($n .c files)"
done
[ -z "$bad" ] && pass folders_documented_and_small || fail folders_documented_and_small "$bad"
loose=$(find client generator -maxdepth 1 -name '*.[ch]')
[ -z "$loose" ] && pass no_loose_sources || fail no_loose_sources "$loose"

long=$(find client generator include tests/unit -name '*.[ch]' -exec wc -l {} + | awk '$2 != "total" && $1 > 700' | tr -s ' \n' '  ')
[ -z "$long" ] && pass no_source_over_700_lines || fail no_source_over_700_lines "$long"

# ---- include cycles ---------------------------------------------------------
# Headers: h includes g (by name, as the folders' -I paths resolve it).
# Modules: x.c (with x.h) uses y when it includes y.h; a cycle between
# modules means two files need each other's declarations.
cycles=$(python3 - <<'PY'
import os, re, sys
files = {}
for top in ("client", "generator", "include"):
    for dp, _, fs in os.walk(top):
        for f in fs:
            if f.endswith((".c", ".h")):
                files[os.path.join(dp, f)] = [m for m in re.findall(r'^#include "([^"]+)"', open(os.path.join(dp, f)).read(), re.M)]
byname = {}
for p in files:
    if p.endswith(".h"):
        byname.setdefault(os.path.basename(p), []).append(p)
dup = [n for n, ps in byname.items() if len(ps) > 1]
if dup:
    print("header name used twice: " + " ".join(dup))
def graph(nodes_of):
    g = {}
    for p, incs in files.items():
        a = nodes_of(p)
        if a is None:
            continue
        for i in incs:
            b = os.path.basename(i)
            if b in byname:
                b = nodes_of(byname[b][0])
                if b is not None and b != a:
                    g.setdefault(a, set()).add(b)
    return g
def find_cycle(g):
    color = {}
    def dfs(u, stack):
        color[u] = 1; stack.append(u)
        for v in sorted(g.get(u, ())):
            if color.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if not color.get(v):
                c = dfs(v, stack)
                if c: return c
        color[u] = 2; stack.pop()
        return None
    for u in sorted(g):
        if not color.get(u):
            c = dfs(u, [])
            if c: return c
    return None
hg = graph(lambda p: p if p.endswith(".h") else None)
c = find_cycle(hg)
if c: print("header cycle: " + " -> ".join(c))
def module(p):
    base = p[:-2]
    return base if (os.path.exists(base + ".c") and os.path.exists(base + ".h")) else None
mg = graph(module)
c = find_cycle(mg)
if c: print("module cycle: " + " -> ".join(c))
PY
)
[ -z "$cycles" ] && pass no_include_cycles || fail no_include_cycles "$cycles"

# ---- a wrong-way include does not compile -----------------------------------
incs() { make -s --no-print-directory print-incs DIR="$1"; }
try_include() { # folder header: 0 if a file of that folder can include it
    printf '#include "%s"\nint pc_layout_probe;\n' "$2" >"$TMP/probe.c"
    # shellcheck disable=SC2046
    cc -D_GNU_SOURCE $(pkg-config --cflags libsodium libcjson libzstd liblzma libcurl) $(incs "$1") \
        -fsyntax-only "$TMP/probe.c" 2>"$TMP/probe.err"
}
ok=1 why=""
# Against the arrows: each must fail.
for pair in client/common:patch.h client/common:net.h client/common:layout.h client/common:trust.h client/apply:sig.h \
            client/apply:net.h client/apply:op.h client/net:patch.h client/install:net.h \
            client/host:op.h client/update:seckey.h client/update:sufsort.h \
            generator/diff:site.h generator/sign:patch.h generator/site:siteverify.h \
            generator/site:shardplan.h generator/diff:store.h; do
    if try_include "${pair%%:*}" "${pair#*:}"; then ok=0; why="$why ${pair} compiled;"; fi
done
[ $ok = 1 ] && pass wrong_way_includes_fail || fail wrong_way_includes_fail "$why"
ok=1 why=""
# Along the arrows: each must compile (so the failures above are the rule, not a broken probe).
for pair in client/common:meta.h client/apply:patch.h client/apply:sha256.h client/update:net.h \
            client/update:layout.h client/update:patch.h generator/diff:pcz.h generator/site:seckey.h \
            generator/cli:siteverify.h generator/cli:site.h client/cli:patch.h \
            generator/shard:build.h generator/cli:job.h; do
    if ! try_include "${pair%%:*}" "${pair#*:}"; then ok=0; why="$why ${pair}: $(head -c 300 "$TMP/probe.err");"; fi
done
[ $ok = 1 ] && pass allowed_includes_compile || fail allowed_includes_compile "$why"

# ---- cppcheck: `make lint` finds nothing (each suppression has its reason) --
if out=$(make -s --no-print-directory lint BUILD="$BUILD" 2>&1); then pass cppcheck_clean
else fail cppcheck_clean "$(echo "$out" | grep -v '^cppcheck' | head -5 | tr '\n' ' ')"; fi
finish
