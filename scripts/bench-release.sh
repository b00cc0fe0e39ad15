#!/usr/bin/env bash
# bench-release.sh — whole-release patches (docs/format.md §5) on the corpus
# pairs, every figure measured side by side in one run:
#   sizes   the edge's per-file download, the release patch, what the client
#           chose, and the peers on the release tarballs: zstd -19 --long=31
#           --patch-from, xdelta3 -9 -S djw, Debian bsdiff;
#   cost    the generator's time and peak RSS with release patches and
#           without; the client's update (file://) taking what its planner
#           chose and taking per-file patches only (a site built with
#           "release_patches": false): wall time, peak RSS, peak heap;
#   link    updates through nginx on loopback with its replies shaped to
#           RATES Mbit/s in total (tc: an HTB class for the nginx port's
#           packets; the client downloading one file at a time,
#           PATCHCAST_TRANSFERS=1) against the full download and unpack of
#           the package (curl | tar xz of the NEW tree as a gzip -9 .tgz,
#           like npm's) and a patchcast install of NEW into an empty root.
#           nginx's own limit_rate is no total limit: it lets every reply
#           send a second's worth at once, so small files pass unlimited.
#           Shaping needs root (CAP_NET_ADMIN) and tc (iproute2).
# Times are medians of BENCH_RUNS runs (default 3). Every update is checked
# against the release tree. Writes build/bench/release.md.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
RUNS=${BENCH_RUNS:-3}
RATES=${RELEASE_RATES:-10 100}
PAIRS=${RELEASE_PAIRS:-"typescript 5.4.5 5.5.2
typescript 5.5.2 5.5.3
typescript 5.5.3 5.5.4
typescript 5.5.4 5.6.2
typescript 5.6.2 5.6.3
typescript 5.5.3 5.6.2
esbuild 0.24.0 0.24.1
esbuild 0.24.1 0.24.2
esbuild 0.24.2 0.25.0"}
S=$W/rel
PC=$B/patchcast
GEN=$B/patchcast-gen
export PATCHCAST_TRANSFERS=1
mkdir -p "$S/web/full"
"$GEN" keygen -W -p "$S/k.pub" -s "$S/k.key" >/dev/null

# One nginx a rate; the packets from its port go through an HTB class of
# that rate on lo (other packets are not classified: HTB sends them
# unshaped, so nothing else on the machine is slowed). lo's packets are of
# up to 64 KiB, each sent at once, which would let every reply's first
# 64 KiB pass unlimited: lo's MTU is 1500 while this runs (as on an
# Ethernet link), and the bucket one packet.
declare -A URL
LO_MTU=$(cat /sys/class/net/lo/mtu)
unshape() {
    tc qdisc del dev lo root 2>/dev/null || true
    ip link set dev lo mtu "$LO_MTU" 2>/dev/null || true
}
tc qdisc add dev lo root handle 1: htb && ip link set dev lo mtu 1500 || {
    unshape
    echo "bench-release: cannot shape lo (tc and ip, as root, are needed for the link figures)" >&2
    exit 1
}
trap 'unshape; for r in $RATES; do "$TOP/tests/nginx.sh" stop "$W/ng$r"; done; rm -rf "$W"' EXIT
class=1
for r in $RATES; do
    mkdir -p "$W/ng$r"
    URL[$r]=$("$TOP/tests/nginx.sh" start "$S/web" "$W/ng$r")
    class=$((class + 1))
    tc class add dev lo parent 1: classid "1:$class" htb rate "${r}mbit" ceil "${r}mbit" \
        burst 1600 cburst 1600
    tc filter add dev lo protocol ip parent 1:0 prio 1 u32 match ip sport "$(cat "$W/ng$r/port")" \
        0xffff flowid "1:$class"
done

reltar() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$2" .; }
yesno() { sed 's/True/yes/; s/False/no/'; }
adjacent() { [ "$(ls "$CORPUS/$1" | sort -V | grep -F -x -A1 "$2" | tail -1)" = "$3" ]; }

# base ROOT REPO VERSION: an install of VERSION from REPO at ROOT.
base() {
    rm -rf "$1"
    "$PC" init --root "$1" --repo "$2" -p "$S/k.pub" >/dev/null
    "$PC" update --root "$1" --to "$3" >/dev/null 2>&1 || {
        echo "bench-release: install of $3 from $2 failed" >&2
        return 1
    }
}

# updates BASE NEW TREE: RUNS timed updates of copies of BASE to NEW, each
# checked against TREE; UP_S (median), UP_KB (largest peak RSS), and the
# last run's --json in $S/up.json.
updates() {
    local t=() kb=0 i
    for ((i = 0; i < RUNS; i++)); do
        rm -rf "$S/r" && cp -a "$1" "$S/r"
        MEASURE_OUT=$S/up.json measure "$PC" update --root "$S/r" --to "$2" --json
        t+=("$SECS")
        [ "$KB" -gt "$kb" ] && kb=$KB
        diff -r "$S/r/current/" "$3/" >/dev/null ||
            { echo "bench-release: update of $1 to $2: the tree differs" >&2; exit 1; }
    done
    UP_S=$(printf '%s\n' "${t[@]}" | median)
    UP_KB=$kb
}

# runs_median CMD...: the median wall time of RUNS runs of CMD (a fresh
# folder $S/x before each).
runs_median() {
    local t=() i
    for ((i = 0; i < RUNS; i++)); do
        rm -rf "$S/x" && mkdir "$S/x"
        measure "$@"
        t+=("$SECS")
    done
    printf '%s\n' "${t[@]}" | median
}

# install_median REPO NEW: the median wall time of RUNS installs of NEW
# into an empty root.
install_median() {
    local t=() i
    for ((i = 0; i < RUNS; i++)); do
        rm -rf "$S/f"
        "$PC" init --root "$S/f" --repo "$1" -p "$S/k.pub" >/dev/null
        measure "$PC" update --root "$S/f" --to "$2"
        t+=("$SECS")
    done
    printf '%s\n' "${t[@]}" | median
}

{
    echo "| pair | per-file | release patch | chosen | took release | zstd of the tars | xdelta3 of the tars | bsdiff of the tars | chosen / zstd | chosen / per-file |"
    echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
} >"$W/sizes.md"
{
    echo "| pair | build s | build peak RSS | build s, no release patches | its peak RSS | update s | peak RSS | peak heap | update s, per-file only | peak RSS | peak heap |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$W/cost.md"
{
    echo "| pair | link | update s | update s, per-file only | full .tgz bytes | curl + tar xz s | patchcast install s | full / update |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$W/link.md"
: >"$W/targets"

while read -r series old new; do
    echo "bench-release: $series $old -> $new" >&2
    R=$S/releases rel=$S/web/rel pf=$S/web/pf tree=$CORPUS/$series/$new
    rm -rf "$R" "$rel" "$pf" && mkdir -p "$R"
    cp -al "$CORPUS/$series/$old" "$CORPUS/$series/$new" "$R/"
    echo "{\"product\": \"$series\"}" >"$S/cfg.json"
    echo "{\"product\": \"$series\", \"release_patches\": false}" >"$S/cfg-pf.json"
    MEASURE_OUT=$S/summary measure "$GEN" build -q "$R" -o "$rel" -s "$S/k.key" --config "$S/cfg.json"
    gen_s=$SECS gen_kb=$KB
    measure "$GEN" build -q "$R" -o "$pf" -s "$S/k.key" --config "$S/cfg-pf.json"
    genpf_s=$SECS genpf_kb=$KB
    perfile=$(awk 'NR == 4 { print $3 }' "$S/summary")
    "$GEN" diff --release "$R/$old" "$R/$new" "$S/rel.pcz" 2>/dev/null
    relb=$(stat -c %s "$S/rel.pcz")

    reltar "$R/$old" "$S/old.tar" && reltar "$R/$new" "$S/new.tar"
    zstd -q -f -19 --long=31 --patch-from="$S/old.tar" "$S/new.tar" -o "$S/tar.zst" 2>/dev/null
    xdelta3 -9 -S djw -e -f -s "$S/old.tar" "$S/new.tar" "$S/tar.xd3"
    bsdiff "$S/old.tar" "$S/new.tar" "$S/tar.bsdiff"
    zb=$(stat -c %s "$S/tar.zst") xb=$(stat -c %s "$S/tar.xd3") bb=$(stat -c %s "$S/tar.bsdiff")
    rm -f "$S/old.tar" "$S/new.tar" "$S/tar.zst" "$S/tar.xd3" "$S/tar.bsdiff" "$S/rel.pcz"

    # The client on file://: what its planner chose, and per-file only.
    base "$S/b-rel" "$rel" "$old"
    base "$S/b-pf" "$pf" "$old"
    updates "$S/b-rel" "$new" "$tree"
    up_s=$UP_S up_kb=$UP_KB
    dl=$(jfield "$S/up.json" downloaded_bytes)
    took=$(jfield "$S/up.json" release_patch | yesno)
    rm -rf "$S/r" && cp -a "$S/b-rel" "$S/r" && heap "$PC" update --root "$S/r" --to "$new"
    heap_rel=$HEAP_KB
    updates "$S/b-pf" "$new" "$tree"
    uppf_s=$UP_S uppf_kb=$UP_KB
    rm -rf "$S/r" && cp -a "$S/b-pf" "$S/r" && heap "$PC" update --root "$S/r" --to "$new"
    heap_pf=$HEAP_KB

    pair="$series $old -> $new"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$pair" "$perfile" "$relb" "$dl" \
        "$took" "$zb" "$xb" "$bb" "$(ratio "$dl" "$zb")" "$(ratio "$dl" "$perfile")" >>"$W/sizes.md"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$pair" "$gen_s" \
        "$(fmt_kb "$gen_kb")" "$genpf_s" "$(fmt_kb "$genpf_kb")" "$up_s" "$(fmt_kb "$up_kb")" \
        "$(fmt_kb "$heap_rel")" "$uppf_s" "$(fmt_kb "$uppf_kb")" "$(fmt_kb "$heap_pf")" >>"$W/cost.md"
    {
        [ "$series" = typescript ] &&
            echo "zstd|$pair|$dl|$zb|$(awk -v a="$dl" -v b="$zb" 'BEGIN { print (a <= b) ? (a <= 0.9 * b ? "met, 0.9x aim met" : "met, 0.9x aim missed") : "NOT met" }')"
        echo "perfile|$pair|$dl|$perfile|$(awk -v a="$dl" -v b="$perfile" 'BEGIN { print (a <= b) ? "met" : "NOT met" }')"
        echo "heap|$pair|$(fmt_kb "$heap_rel")|$(awk -v k="$heap_rel" 'BEGIN { print (k < 16384) ? "met" : "NOT met" }')"
        echo "wall|$pair|$up_s|$uppf_s|$(awk -v a="$up_s" -v b="$uppf_s" 'BEGIN { print (a <= b) ? "met" : "NOT met" }')"
    } >>"$W/targets"

    # Over a limited link.
    tgz=$S/web/full/$series-$new.tgz
    tar -C "$CORPUS/$series" -cf - --transform "s,^$new,package," "$new" | gzip -9 >"$tgz"
    tgzb=$(stat -c %s "$tgz")
    for r in $RATES; do
        u=${URL[$r]}
        base "$S/l-rel" "$u/rel" "$old"
        base "$S/l-pf" "$u/pf" "$old"
        updates "$S/l-rel" "$new" "$tree"
        lup=$UP_S
        updates "$S/l-pf" "$new" "$tree"
        lpf=$UP_S
        full=$(runs_median bash -c "curl -sf '$u/full/$series-$new.tgz' | tar xz -C '$S/x'")
        inst=$(install_median "$u/rel" "$new")
        speed=$(ratio "$full" "$lup")
        printf '| %s | %s Mbit/s | %s | %s | %s | %s | %s | %s |\n' "$pair" "$r" "$lup" "$lpf" "$tgzb" \
            "$full" "$inst" "$speed" >>"$W/link.md"
        if [ "$series" = typescript ] && adjacent "$series" "$old" "$new"; then
            need=4
            [ "$r" -le 10 ] && need=12
            echo "link|$pair|$r|$speed|$need|$(awk -v s="$speed" -v n="$need" 'BEGIN { print (s >= n) ? "met" : "NOT met" }')" >>"$W/targets"
        fi
    done
    rm -f "$tgz"
done <<<"$PAIRS"

{
    echo "## Whole-release patches (\`make bench-release\`)"
    echo
    echo "Produced by \`scripts/bench-release.sh\` on $(nproc) cores, $(date -u +%Y-%m-%d), load average"
    echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end. Per pair: a site built from the two versions"
    echo "alone, with release patches (the default) and without (\`\"release_patches\": false\`)."
    echo "Bytes: \"per-file\" is the edge's download with per-file patches and objects, \"release"
    echo "patch\" the whole-release patch (\`patchcast-gen diff --release\`, the bytes \`build\`"
    echo "writes), \"chosen\" what \`patchcast update\` downloaded from the default site (it"
    echo "takes the release patch when the delta names it, which the generator does only when"
    echo "it is the smaller). The peers on the tars of the two trees (sorted, owner 0, mtime 0):"
    echo "\`zstd -19 --long=31 --patch-from\`, \`xdelta3 -9 -S djw\`, Debian \`bsdiff\`."
    echo
    cat "$W/sizes.md"
    echo
    echo "Cost. The generator: \`patchcast-gen build\` of the two versions, wall time and peak RSS."
    echo "The client: \`patchcast update --to NEW\` on file:// from an install of OLD, medians of"
    echo "$RUNS runs; peak RSS includes the mapped old files, peak heap (valgrind massif) does not."
    echo "\"per-file only\" updates through the site built without release patches."
    echo
    cat "$W/cost.md"
    echo
    echo "Over a link limited in total: nginx on loopback, its replies shaped by \`tc\` (an HTB"
    echo "class of the rate for the packets from its port, lo's MTU 1500 and the bucket one packet"
    echo "while it runs, so no reply passes a burst unlimited), the client downloading"
    echo "one file at a time (\`PATCHCAST_TRANSFERS=1\`). (nginx's own \`limit_rate\` is no total"
    echo "limit: each reply may send a second's worth at once.) Against the full download and unpack of the package"
    echo "(\`curl URL/NEW.tgz | tar xz\`; the NEW tree as a \`gzip -9\` .tgz, like npm's) and a"
    echo "patchcast install of NEW into an empty root through the same link. Medians of $RUNS runs."
    echo "\"full / update\" is the curl + tar time divided by the update's."
    echo
    cat "$W/link.md"
    echo
    echo "Targets of the whole-release issue, as measured in this run:"
    echo
    awk -F'|' '$1 == "zstd" { printf "- %s: downloaded %s bytes, zstd of the tars %s: at most zstd %s (%.2fx)\n", $2, $3, $4, $5, $3 / $4 }' "$W/targets"
    awk -F'|' '$1 == "perfile" { printf "- %s: downloaded %s, per-file alone %s: no larger %s\n", $2, $3, $4, $5 }' "$W/targets"
    awk -F'|' '$1 == "heap" { printf "- %s: peak heap applying %s, under 16 MiB %s\n", $2, $3, $4 }' "$W/targets"
    awk -F'|' '$1 == "wall" { printf "- %s: update %s s, per-file update %s s: not above it %s\n", $2, $3, $4, $5 }' "$W/targets"
    awk -F'|' '$1 == "link" { printf "- %s at %s Mbit/s: %sx faster than the full download and unpack (target %sx): %s\n", $2, $3, $4, $5, $6 }' "$W/targets"
} >"$OUT/release.md"
cat "$OUT/release.md"
