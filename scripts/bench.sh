#!/usr/bin/env bash
# bench.sh — benchmarks on real release series (../shared/corpus/fetch),
# every figure measured side by side with the peers in the same run.
#   scripts/bench.sh diff     patch engine vs bsdiff, xdelta3, zstd --patch-from
#   scripts/bench.sh gen      site builds of the esbuild and typescript series
#   scripts/bench.sh client   updates over nginx on loopback vs a full download,
#                             then the scale section below
#   scripts/bench.sh scale    check and up-to-date update on generated sites of
#                             100 to 10,000 versions and a tree of 100,000 files
#   scripts/bench.sh big      the diff engine on a generated pair over 2 GiB
# (Whole-release patches: scripts/bench-release.sh.)
# Results go to build/bench/<name>.md; `make bench` gathers them into
# docs/benchmarks.md.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"

# --- diff ---------------------------------------------------------------------
DIFF_RUNS=${DIFF_RUNS:-3}
APPLY_RUNS=${APPLY_RUNS:-5}

# diff_cmd / apply_cmd: set CMD to the tool's command line.
diff_cmd() { # tool old new patch
    case $1 in
    bsdiff) CMD=(bsdiff "$2" "$3" "$4") ;;
    patchcast-bsdiff40) CMD=("$B/patchcast-gen" diff --format bsdiff40 "$2" "$3" "$4") ;;
    patchcast-pcz) CMD=("$B/patchcast-gen" diff --format pcz "$2" "$3" "$4") ;;
    xdelta3) CMD=(xdelta3 -9 -S djw -f -e -s "$2" "$3" "$4") ;;
    zstd) CMD=(zstd -q -f -19 --long=31 --patch-from="$2" "$3" -o "$4") ;;
    esac
}

apply_cmd() { # tool old patch out
    case $1 in
    bsdiff) CMD=(bspatch "$2" "$4" "$3") ;;
    patchcast-*) CMD=("$B/patchcast" apply --no-sync "$2" "$3" "$4") ;; # bspatch does not sync either
    xdelta3) CMD=(xdelta3 -f -d -s "$2" "$3" "$4") ;;
    zstd) CMD=(zstd -q -f -d --long=31 --patch-from="$2" "$3" -o "$4") ;;
    esac
}

# One pair with every tool: bytes, diff time/RSS, apply time/RSS/heap, and a
# check that the output is right. Times are medians of DIFF_RUNS and
# APPLY_RUNS runs; ratios are to Debian's bsdiff and bspatch in this run.
diff_pair() { # label old new
    local label=$1 old=$2 new=$3
    local osz
    osz=$(stat -c %s "$old")
    printf '\n### %s\n\nold %s bytes, new %s bytes\n\n' "$label" "$osz" "$(stat -c %s "$new")"
    printf '| tool | patch bytes | vs bsdiff | diff s | vs bsdiff | diff RSS / old | apply s | vs bspatch | apply RSS | apply heap |\n'
    printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
    local bs_bytes=0 bs_diff=0 bs_apply=0
    for tool in bsdiff patchcast-bsdiff40 patchcast-pcz xdelta3 zstd; do
        local p=$W/patch.$tool out=$W/out.$tool
        diff_cmd "$tool" "$old" "$new" "$p"
        timed "$DIFF_RUNS" "${CMD[@]}"
        local ds=$SECS dk=$KB bytes
        bytes=$(stat -c %s "$p")
        apply_cmd "$tool" "$old" "$p" "$out"
        timed "$APPLY_RUNS" "${CMD[@]}"
        cmp -s "$out" "$new" || { echo "bench: $tool produced a wrong file for $label" >&2; exit 1; }
        heap "${CMD[@]}"
        if [ "$tool" = bsdiff ]; then bs_bytes=$bytes bs_diff=$ds bs_apply=$SECS; fi
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$tool" "$bytes" \
            "$(awk -v a="$bytes" -v b="$bs_bytes" 'BEGIN { printf "%.3f", a / b }')" \
            "$ds" "$(ratio "$ds" "$bs_diff")x" \
            "$(awk -v k="$dk" -v o="$osz" 'BEGIN { printf "%.1fx", k * 1024 / o }')" \
            "$SECS" "$(ratio "$SECS" "$bs_apply")x" "$(fmt_kb "$KB")" "$(fmt_kb "$HEAP_KB")"
        rm -f "$p" "$out"
    done
}

# The whole typescript package, file by file: sums per tool.
diff_tree() { # label olddir newdir
    local label=$1 od=$2 nd=$3
    printf '\n### %s (every changed file)\n\n' "$label"
    printf '| tool | patch bytes | vs bsdiff | diff s (sum) | apply s (sum) | peak RSS |\n'
    printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
    local files bs_total=0
    files=$(cd "$nd" && find . -type f | sort)
    for tool in bsdiff patchcast-bsdiff40 patchcast-pcz xdelta3 zstd; do
        local total=0 dsum=0 asum=0 peak=0 n=0
        while read -r f; do
            [ -f "$od/$f" ] || continue
            cmp -s "$od/$f" "$nd/$f" && continue
            local p=$W/p out=$W/o
            diff_cmd "$tool" "$od/$f" "$nd/$f" "$p"
            timed 1 "${CMD[@]}"
            dsum=$(awk -v a="$dsum" -v b="$SECS" 'BEGIN { print a + b }')
            [ "$KB" -gt "$peak" ] && peak=$KB
            total=$((total + $(stat -c %s "$p")))
            apply_cmd "$tool" "$od/$f" "$p" "$out"
            timed 1 "${CMD[@]}"
            asum=$(awk -v a="$asum" -v b="$SECS" 'BEGIN { print a + b }')
            [ "$KB" -gt "$peak" ] && peak=$KB
            cmp -s "$out" "$nd/$f" || { echo "bench: $tool wrong output for $f" >&2; exit 1; }
            n=$((n + 1))
        done <<<"$files"
        [ "$tool" = bsdiff ] && bs_total=$total
        printf '| %s | %s | %s | %s | %s | %s |\n' "$tool" "$total" \
            "$(awk -v a="$total" -v b="$bs_total" 'BEGIN { printf "%.3f", a / b }')" "$dsum" "$asum" "$(fmt_kb "$peak")"
    done
}

bench_diff() {
    {
        echo "## Patch engine (\`make bench-diff\`)"
        echo
        echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), shared with other work; $(date -u +%Y-%m-%d)."
        echo "patchcast is measured in both of its formats: BSDIFF40 and the pcz container."
        echo "Peers: Debian bsdiff/bspatch, \`xdelta3 -9 -S djw\`, \`zstd -19 --long=31 --patch-from\`."
        echo "Times are wall-clock medians of $DIFF_RUNS diffs and $APPLY_RUNS applies, side by side in"
        echo "one run; \"vs bsdiff\" / \"vs bspatch\" divide by Debian's figure of the same run."
        echo "RSS is the peak resident size (mapped files included); apply heap is the"
        echo "peak of malloc'd memory under valgrind's massif (mapped files excluded)."
        echo "\`patchcast apply\` runs with \`--no-sync\` here, as bspatch does not fsync either"
        echo "(by default it fsyncs the result and its folder)."
        diff_pair "esbuild 0.24.0 -> 0.24.1 (bin/esbuild)" "$CORPUS/esbuild/0.24.0/bin/esbuild" "$CORPUS/esbuild/0.24.1/bin/esbuild"
        diff_pair "esbuild 0.24.0 -> 0.25.0 (bin/esbuild)" "$CORPUS/esbuild/0.24.0/bin/esbuild" "$CORPUS/esbuild/0.25.0/bin/esbuild"
        diff_pair "typescript 5.5.3 -> 5.6.2 (lib/typescript.js)" "$CORPUS/typescript/5.5.3/lib/typescript.js" "$CORPUS/typescript/5.6.2/lib/typescript.js"
        diff_tree "typescript 5.5.3 -> 5.6.2" "$CORPUS/typescript/5.5.3" "$CORPUS/typescript/5.6.2"
    } >"$OUT/diff.md"
    cat "$OUT/diff.md"
}

# --- gen ------------------------------------------------------------------------
bench_gen() {
    "$B/patchcast-gen" keygen -W -p "$W/k.pub" -s "$W/k.key" >/dev/null
    {
        echo "## Site generator (\`make bench-gen\`)"
        echo
        echo "$(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at the start (the machine is shared: build times"
        echo "grow with its load), $(date -u +%Y-%m-%d)."
        echo
        for series in esbuild typescript; do
            echo "### $series: $(ls "$CORPUS/$series" | sort -V | tr '\n' ' ')"
            echo
            echo "{\"product\": \"$series\"}" >"$W/cfg.json"
            measure "$B/patchcast-gen" build -q "$CORPUS/$series" -o "$W/site-$series" -s "$W/k.key" --config "$W/cfg.json"
            "$B/patchcast-gen" build -q "$CORPUS/$series" -o "$W/site-$series" -s "$W/k.key" --config "$W/cfg.json" >"$W/summary"
            local first_s=$SECS first_kb=$KB
            measure "$B/patchcast-gen" build -q "$CORPUS/$series" -o "$W/site-$series" -s "$W/k.key" --config "$W/cfg.json"
            echo "first build: $first_s s, peak RSS $(fmt_kb "$first_kb"); rebuild with nothing new: $SECS s;"
            echo "site size: $(du -sb "$W/site-$series" | cut -f1) bytes; \`patchcast-gen verify\`: $("$B/patchcast-gen" verify "$W/site-$series" -p "$W/k.pub" | tail -1 | sed 's/.*: //')"
            echo
            echo "| from | to | download (per-file patches) | full download | saving | release patch | saving with it |"
            echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
            awk 'NR > 3 { best = ($6 != "-" && $6 + 0 < $3 + 0) ? $6 : $3
                          printf "| %s | %s | %s | %s | %s | %s | %.1f%% |\n", $1, $2, $3, $4, $5, $6, 100 * (1 - best / $4) }' "$W/summary"
            local med
            med=$(awk 'NR > 3 { print $5 }' "$W/summary" | tr -d '%' | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
            # Adjacent versions: the parent edges (consecutive in version order).
            local adj
            adj=$(ls "$CORPUS/$series" | sort -V | awk 'NR > 1 { print prev " " $0 } { prev = $0 }' >"$W/pairs";
                  awk 'NR == FNR { want[$1 " " $2] = 1; next } FNR > 3 && ($1 " " $2) in want { print $5 }' "$W/pairs" "$W/summary" |
                  tr -d '%' | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
            echo
            echo "Median saving: $adj % over the edges between adjacent versions, $med % over all edges."
            echo "A client that has the edge's \`from\` version installed downloads the release patch"
            echo "where there is one (the generator names it only when it is the smaller)."
            echo
        done
    } >"$OUT/gen.md"
    cat "$OUT/gen.md"
}

# --- client -------------------------------------------------------------------
# Updates over a real nginx on loopback, side by side in the same run with
# the full download of the package (the corpus keeps unpacked trees only, so
# the package is the NEW tree as a .tgz, gzip -9, like npm's) and with a
# patchcast install of NEW into an empty root. Each figure is the median of
# BENCH_RUNS runs (default 5), the three taken in turn in every run.
CLIENT_PAIRS="esbuild 0.24.0 0.24.1
esbuild 0.24.0 0.25.0
typescript 5.5.4 5.6.2
typescript 5.5.3 5.6.2
typescript 5.5.3 5.6.3"


bench_client() {
    local S=$OUT/client-site runs=${BENCH_RUNS:-5} pc=$B/patchcast
    # The site is kept between runs: rebuilding it with nothing new takes a second.
    mkdir -p "$S/full"
    [ -f "$S/k.key" ] || "$B/patchcast-gen" keygen -W -p "$S/k.pub" -s "$S/k.key" >/dev/null
    for series in esbuild typescript; do
        echo "{\"product\": \"$series\"}" >"$W/cfg.json"
        "$B/patchcast-gen" build -q "$CORPUS/$series" -o "$S/$series" -s "$S/k.key" --config "$W/cfg.json" >/dev/null
    done
    local series old new
    while read -r series old new; do
        local tgz=$S/full/$series-$new.tgz
        [ -f "$tgz" ] || tar -C "$CORPUS/$series" -cf - --transform "s,^$new,package," "$new" | gzip -9 >"$tgz"
    done <<<"$CLIENT_PAIRS"
    local url
    url=$(mkdir -p "$W/nginx" && "$TOP/tests/nginx.sh" start "$S" "$W/nginx")
    trap '"$TOP/tests/nginx.sh" stop "$W/nginx"; rm -rf "$W"' EXIT

    {
        echo "## Client updates over HTTP (\`make bench-client\`)"
        echo
        echo "Produced by \`make bench-client\` (\`scripts/bench.sh client\`, BENCH_RUNS=$runs) on"
        echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(date -u +%Y-%m-%d): nginx on loopback serves"
        echo "the sites \`patchcast-gen build\` makes of the corpus series. Per pair: \`patchcast"
        echo "init\` + \`patchcast update --to OLD\` (untimed), then the timed \`patchcast update --to"
        echo "NEW --json\`; in the same run, the full download and unpack of the package"
        echo "(\`curl -s URL/NEW.tgz | tar xz\`; the .tgz is the NEW tree, \`gzip -9\`), the same"
        echo "followed by \`sync\` of every unpacked file (the durability patchcast gives), and"
        echo "\`patchcast update --to NEW\` into an empty root (full install). Times are medians"
        echo "of $runs runs; peak RSS from \`/usr/bin/time -f %M\`, the largest of the runs."
        echo "Every update is checked against the release tree (\`diff -r\`)."
        echo
        echo "| update | adjacent | release patch | downloaded bytes | full .tgz bytes | downloaded / .tgz | patchcast full bytes | update s | curl + tar s | update / full | curl + tar + sync s | install s | update peak RSS | install peak RSS |"
        echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    } >"$OUT/client.md"
    local targets_dl="" targets_time="" targets_rss=""
    while read -r series old new; do
        local tgz=$S/full/$series-$new.tgz repo=$url/$series
        local adj=no
        [ "$(ls "$CORPUS/$series" | sort -V | grep -F -x -A1 "$old" | tail -1)" = "$new" ] && adj=yes
        : >"$W/t.up"; : >"$W/t.full"; : >"$W/t.sync"; : >"$W/t.inst"
        local up_kb=0 inst_kb=0
        for _ in $(seq 1 "$runs"); do
            rm -rf "$W/r" "$W/f" "$W/x"
            "$pc" init --root "$W/r" --repo "$repo" -p "$S/k.pub" >/dev/null
            "$pc" update --root "$W/r" --to "$old" >/dev/null 2>&1
            MEASURE_OUT=$W/up.json measure "$pc" update --root "$W/r" --to "$new" --json
            echo "$SECS" >>"$W/t.up"
            [ "$KB" -gt "$up_kb" ] && up_kb=$KB
            diff -r "$W/r/current/" "$CORPUS/$series/$new/" >/dev/null ||
                { echo "bench: $series $old -> $new: the updated tree differs" >&2; exit 1; }
            mkdir "$W/x"
            measure bash -c "curl -sf '$url/full/$series-$new.tgz' | tar xz -C '$W/x'"
            echo "$SECS" >>"$W/t.full"
            rm -rf "$W/x" && mkdir "$W/x"
            measure bash -c "curl -sf '$url/full/$series-$new.tgz' | tar xz -C '$W/x' && find '$W/x' -type f -exec sync {} +"
            echo "$SECS" >>"$W/t.sync"
            "$pc" init --root "$W/f" --repo "$repo" -p "$S/k.pub" >/dev/null
            measure "$pc" update --root "$W/f" --to "$new" --json
            echo "$SECS" >>"$W/t.inst"
            [ "$KB" -gt "$inst_kb" ] && inst_kb=$KB
        done
        local dl full tgzb up fl sy inst relp
        dl=$(jfield "$W/up.json" downloaded_bytes)
        relp=$(jfield "$W/up.json" release_patch | sed 's/True/yes/; s/False/no/')
        full=$(jfield "$W/up.json" full_bytes)
        tgzb=$(stat -c %s "$tgz")
        up=$(median <"$W/t.up"); fl=$(median <"$W/t.full"); sy=$(median <"$W/t.sync"); inst=$(median <"$W/t.inst")
        local pct ratio
        pct=$(awk -v a="$dl" -v b="$tgzb" 'BEGIN { printf "%.1f %%", 100 * a / b }')
        ratio=$(awk -v a="$up" -v b="$fl" 'BEGIN { printf "%.2f", a / b }')
        printf '| %s %s -> %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "$series" "$old" "$new" "$adj" "$relp" "$dl" "$tgzb" "$pct" "$full" "$up" "$fl" "$ratio" "$sy" \
            "$inst" "$(fmt_kb "$up_kb")" "$(fmt_kb "$inst_kb")" >>"$OUT/client.md"
        [ "$adj" = yes ] && targets_dl="$targets_dl $series $old -> $new: $pct $(awk -v a="$dl" -v b="$tgzb" 'BEGIN { print (a <= 0.1 * b) ? "(met)" : "(NOT met)" }');"
        targets_time="$targets_time $series $old -> $new: $(awk -v a="$up" -v b="$fl" 'BEGIN { print (a < b) ? "met" : "NOT met" }');"
        [ "$series" = esbuild ] && targets_rss="$targets_rss $series $old -> $new: $(fmt_kb "$up_kb") $(awk -v k="$up_kb" 'BEGIN { print (k < 32768) ? "(met)" : "(NOT met)" }');"
    done <<<"$CLIENT_PAIRS"
    local so so_b cli_b
    so=$(ls "$B"/libpatchcast.so.*.*.* | head -1)
    so_b=$(stripped "$so")
    cli_b=$(stripped "$B/patchcast")
    {
        echo
        echo "Stripped sizes (\`strip -o\`): $(basename "$so") $so_b bytes, patchcast $cli_b bytes"
        echo "(the CLI links the static library)."
        echo
        echo "Targets of the client issue:"
        echo
        echo "- downloaded bytes ≤ 10 % of the full download, adjacent versions:$targets_dl"
        echo "- update wall time below the full download and unpack:$targets_time"
        echo "- peak RSS < 32 MiB while updating the 10 MB esbuild binary:$targets_rss"
        echo "- libpatchcast.so < 200 KB stripped: $so_b bytes $(awk -v b="$so_b" 'BEGIN { print (b < 200 * 1024) ? "(met)" : "(NOT met)" }')."
        echo
        echo "What an update does that \`curl | tar xz\` does not: it checks the signature of"
        echo "the metadata, hashes (SHA-256: the CPU's SHA extensions where it has them, else"
        echo "mbedTLS) the old file a patch applies to, every file it writes and every"
        echo "unchanged file it links, writes into a staging folder,"
        echo "fsyncs every download and every staged file (in parallel batches) and switches"
        echo "\`current\` atomically. On loopback the network costs nothing, so the comparison"
        echo "is of local work: with many megabytes of changed files (typescript: 38 files,"
        echo "22 MB, changed between minor versions) the patch route does more CPU work"
        echo "(patch apply plus hashing old and new) than gunzip does."
    } >>"$OUT/client.md"
    bench_scale
    { echo; cat "$OUT/scale.md"; } >>"$OUT/client.md"
    cat "$OUT/client.md"
}

# --- scale --------------------------------------------------------------------
# The client's own work on metadata of many versions and on trees of many
# files: `patchcast check` and an up-to-date `patchcast update` on generated,
# signed sites read from their folder (no server). SCALE_VERSIONS and
# SCALE_FILES choose the sizes, SCALE_PC another client to measure (a build
# from before, say); SCALE_RUNS runs each (median).
SCALE_VERSIONS=${SCALE_VERSIONS:-100 1000 10000}
SCALE_FILES=${SCALE_FILES:-10000 100000}

# scale_site DIR N: a site of N versions of one small release, each the
# parent of the next; edges from each version to the next and skips of 10,
# 100 and 1000 versions that cost less per version skipped, each with its
# delta document (no file changes); max_patch_chain_length 64, so a chain
# from the first version to the last exists (36 hops at 10,000). Signed
# with $S/k.key.
scale_site() {
    local dir=$1 n=$2 S=$OUT/scale-site
    rm -rf "$dir" "$W/rel"
    mkdir -p "$W/rel/1.0.0/bin" "$W/rel/1.0.0/share"
    head -c 30000 /dev/urandom >"$W/rel/1.0.0/bin/app"
    echo "release notes" >"$W/rel/1.0.0/share/notes.txt"
    echo '{"product": "demo"}' >"$W/cfg.json"
    "$B/patchcast-gen" build -q "$W/rel" -o "$dir" -s "$S/k.key" --config "$W/cfg.json" >/dev/null
    python3 - "$dir" "$n" <<'PY'
import datetime, hashlib, json, os, sys
site, n = sys.argv[1], int(sys.argv[2])
repo = json.load(open(os.path.join(site, "repo.json")))
tmpl = repo["versions"][0]
man = json.load(open(os.path.join(site, "manifests", tmpl["manifest"]["sha256"] + ".json")))
def doc(folder, obj):
    text = json.dumps(obj, separators=(",", ":")).encode()
    h = hashlib.sha256(text).hexdigest()
    with open(os.path.join(site, folder, h + ".json"), "wb") as f:
        f.write(text)
    return {"sha256": h, "size": len(text)}
os.makedirs(os.path.join(site, "deltas"), exist_ok=True)
name = lambda i: "1.%d.%d" % (i // 100, i % 100)
versions, edges = [], []
for i in range(n):
    man["version"] = name(i)
    versions.append({"name": name(i), "parent": name(i - 1) if i else None,
                     "released": tmpl["released"], "manifest": doc("manifests", man),
                     "full_bytes": tmpl["full_bytes"], "files": tmpl["files"]})
    for step, cost in ((1, 100), (10, 900), (100, 8000), (1000, 70000)):
        if i >= step and i % step == 0:
            d = doc("deltas", {"format": 1, "from": name(i - step), "to": name(i), "patches": []})
            edges.append({"from": name(i - step), "to": name(i), "bytes": cost, "delta": d})
repo["versions"], repo["edges"] = versions, edges
repo["channels"] = {"stable": name(n - 1)}
repo["settings"]["max_patch_chain_length"] = 64
with open(os.path.join(site, "repo.json"), "w") as f:
    json.dump(repo, f, indent="\t")
PY
    scale_sign "$dir"
}

scale_sign() {
    local serial expires
    read -r serial expires < <(python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print(r['serial'], r['expires'])" "$1/repo.json")
    "$B/patchcast-gen" sign -s "$OUT/scale-site/k.key" -m "$1/repo.json" \
        -t "patchcast-repo serial:$serial product:demo expires:$expires" >/dev/null
}

# scale_tree DIR N: a site of one release of N files of a few bytes, 100 to a
# folder, written directly (patchcast-gen would spend minutes on fsync): the
# objects are zstd frames of one raw block, the manifest and repo.json as
# the generator writes them, repo.json signed with $OUT/scale-site/k.key.
scale_tree() {
    local dir=$1 n=$2
    scale_site "$dir" 1
    python3 - "$dir" "$n" <<'PY'
import hashlib, json, os, struct, sys
site, n = sys.argv[1], int(sys.argv[2])
repo = json.load(open(os.path.join(site, "repo.json")))
v = repo["versions"][0]
files, full = [], 0
for i in range(n):
    if i % 100 == 0:
        files.append({"path": "d%04d" % (i // 100), "type": "dir"})
    data = b"file %d\n" % i
    # Single segment, content size in one byte, one last raw block.
    obj = struct.pack("<IBB", 0xFD2FB528, 0x20, len(data)) + (1 | len(data) << 3).to_bytes(3, "little") + data
    sha, osha = hashlib.sha256(data).hexdigest(), hashlib.sha256(obj).hexdigest()
    d = os.path.join(site, "objects", sha[:2])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, sha), "wb") as f:
        f.write(obj)
    files.append({"path": "d%04d/f%03d.txt" % (i // 100, i % 100), "type": "file", "size": len(data),
                  "mode": "644", "sha256": sha, "object_size": len(obj), "object_sha256": osha})
    full += len(obj)
man = {"format": 1, "product": repo["product"], "version": v["name"], "files": files}
text = json.dumps(man, separators=(",", ":")).encode()
h = hashlib.sha256(text).hexdigest()
with open(os.path.join(site, "manifests", h + ".json"), "wb") as f:
    f.write(text)
v["manifest"], v["full_bytes"], v["files"] = {"sha256": h, "size": len(text)}, full, n
with open(os.path.join(site, "repo.json"), "w") as f:
    json.dump(repo, f, indent="\t")
PY
    scale_sign "$dir"
}

# scale_row LABEL SITE: an install root at the first version (for check: a
# route from there to the last) and one at the last (up to date), both
# untimed; then the timed `patchcast check` from the first and `patchcast
# update` on the up-to-date root. Sets CHECK_S, HOPS, UPDATE_S, RSS_KB.
scale_row() {
    local site=$2 pc=${SCALE_PC:-$B/patchcast} runs=${SCALE_RUNS:-3} first
    first=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['versions'][0]['name'])" "$site/repo.json")
    rm -rf "$W/r1" "$W/r2"
    "$B/patchcast" init --root "$W/r1" --repo "$site" -p "$OUT/scale-site/k.pub" >/dev/null
    "$B/patchcast" update --root "$W/r1" --to "$first" >/dev/null 2>&1
    "$B/patchcast" init --root "$W/r2" --repo "$site" -p "$OUT/scale-site/k.pub" >/dev/null
    "$B/patchcast" update --root "$W/r2" >/dev/null 2>&1
    MEASURE_OUT=$W/check.json timed "$runs" "$pc" check --root "$W/r1" --json
    CHECK_S=$SECS RSS_KB=$KB
    HOPS=$(jfield "$W/check.json" hops)
    MEASURE_OUT=$W/update.json timed "$runs" "$pc" update --root "$W/r2" --json
    UPDATE_S=$SECS
    [ "$KB" -gt "$RSS_KB" ] && RSS_KB=$KB
    [ "$(jfield "$W/update.json" up_to_date)" = True ] ||
        { echo "bench: $1: the second root is not up to date" >&2; exit 1; }
    rm -rf "$W/r1" "$W/r2"
}

bench_scale() {
    local S=$OUT/scale-site
    mkdir -p "$S"
    [ -f "$S/k.key" ] || "$B/patchcast-gen" keygen -W -p "$S/k.pub" -s "$S/k.key" >/dev/null
    {
        echo "### Many versions, many files (\`make bench-client\`, scale)"
        echo
        echo "The client's own work on big metadata: generated sites signed like any other,"
        echo "read from their folder (no server). Versions: one small release repeated,"
        echo "each version the parent of the next, edges to the next version and skips of"
        echo "10, 100 and 1000 versions (about 1.1 edges a version), chains up to 64 hops."
        echo "\`check\` runs on a root at the first version (the route to the last is"
        echo "planned: its delta documents are fetched); \`update\` on a root at the last"
        echo "(up to date: repo.json verified and validated, the installed manifest read"
        echo "and hashed, every file found in place). Files: one release of N files of a"
        echo "few bytes, 100 to a folder; check and update on a root holding it. Medians of"
        echo "${SCALE_RUNS:-3} runs; $(nproc) cores, $(date -u +%Y-%m-%d)."
        echo
        echo "| site | repo.json bytes | manifest bytes | check s | hops | up-to-date update s | peak RSS |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    } >"$OUT/scale.md"
    local n prev_n="" prev_c="" prev_u="" ratios="" c10k="" u10k=""
    for n in $SCALE_VERSIONS; do
        scale_site "$W/sv" "$n"
        scale_row "$n versions" "$W/sv"
        printf '| %s versions | %s | %s | %s | %s | %s | %s |\n' "$n" "$(stat -c %s "$W/sv/repo.json")" \
            "$(ls -l "$W/sv/manifests" | awk 'NR == 2 { print $5 }')" "$CHECK_S" "$HOPS" "$UPDATE_S" \
            "$(fmt_kb "$RSS_KB")" >>"$OUT/scale.md"
        [ -n "$prev_c" ] && ratios="$ratios $n/$prev_n versions: check $(ratio "$CHECK_S" "$prev_c")x, update $(ratio "$UPDATE_S" "$prev_u")x;"
        prev_c=$CHECK_S prev_u=$UPDATE_S prev_n=$n
        [ "$n" = 10000 ] && c10k=$CHECK_S u10k=$UPDATE_S
        rm -rf "$W/sv"
    done
    local f t_check="" t_update="" prev_f=""
    for f in $SCALE_FILES; do
        scale_tree "$W/st" "$f"
        local man
        man=$(ls -S "$W/st/manifests" | head -1)
        # The files tree has one version: check is up to date as well.
        rm -rf "$W/r3"
        "$B/patchcast" init --root "$W/r3" --repo "$W/st" -p "$S/k.pub" >/dev/null
        "$B/patchcast" update --root "$W/r3" >/dev/null 2>&1
        MEASURE_OUT=$W/check.json timed "${SCALE_RUNS:-3}" "${SCALE_PC:-$B/patchcast}" check --root "$W/r3" --json
        local cs=$SECS kb=$KB
        MEASURE_OUT=$W/update.json timed "${SCALE_RUNS:-3}" "${SCALE_PC:-$B/patchcast}" update --root "$W/r3" --json
        [ "$KB" -gt "$kb" ] && kb=$KB
        printf '| %s files | %s | %s | %s | 0 | %s | %s |\n' "$f" "$(stat -c %s "$W/st/repo.json")" \
            "$(stat -c %s "$W/st/manifests/$man")" "$cs" "$SECS" "$(fmt_kb "$kb")" >>"$OUT/scale.md"
        [ -n "$prev_f" ] && ratios="$ratios $f/$prev_f files: check $(ratio "$cs" "$prev_c")x, update $(ratio "$SECS" "$prev_u")x;"
        prev_c=$cs prev_u=$SECS prev_f=$f
        [ "$f" = 100000 ] && t_check=$cs t_update=$SECS
        rm -rf "$W/r3" "$W/st"
    done
    {
        echo
        echo "Growth (time ratios; 10x the size taking 10x the time is linear):${ratios:- (one size only)}"
        echo
        echo "Targets of the scale issue:"
        echo
        [ -n "$c10k" ] && echo "- 10,000 versions under 1 s: check $c10k s, update $u10k s $(awk -v a="$c10k" -v b="$u10k" 'BEGIN { print (a < 1 && b < 1) ? "(met)" : "(NOT met)" }')."
        [ -n "$t_check" ] && echo "- an up-to-date check of 100,000 files under 2 s: check $t_check s, update $t_update s $(awk -v a="$t_check" -v b="$t_update" 'BEGIN { print (a < 2 && b < 2) ? "(met)" : "(NOT met)" }')."
        true
    } >>"$OUT/scale.md"
}

# --- big ----------------------------------------------------------------------
# A generated pair over 2 GiB (BIG_MIB, default 2560): old is random 1 MiB
# blocks; new moves blocks across the whole file (so across the suffix
# array's segments), inserts, deletes and changes bytes here and there.
# Debian's bsdiff is not run: at ~9x the old file it would need more memory
# than this machine has; zstd --patch-from refuses files over 2 GB.
bench_big() {
    local mib=${BIG_MIB:-2560} old=$W/big.old new=$W/big.new
    python3 - "$old" "$new" "$mib" <<'PY'
import random, sys
old_path, new_path, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = random.Random(2026)
M = 1 << 20
with open(old_path, "wb") as f:
    for i in range(mib):
        f.write(r.randbytes(M))
old = open(old_path, "rb").read()
with open(new_path, "wb") as f:
    i = 0
    while i < mib:
        k = r.randrange(100)
        if k < 3:    # a block from anywhere in old
            j = r.randrange(mib - 8)
            f.write(old[j * M:(j + r.randrange(1, 8)) * M])
        elif k < 5:  # new bytes
            f.write(r.randbytes(r.randrange(4096, 256 << 10)))
        elif k < 7:  # a deletion
            i += r.randrange(1, 4)
            continue
        b = bytearray(old[i * M:(i + 1) * M])
        for _ in range(r.randrange(0, 40)):  # changed bytes
            b[r.randrange(M)] ^= 1 + r.randrange(255)
        f.write(b)
        i += 1
PY
    local osz nsz
    osz=$(stat -c %s "$old")
    nsz=$(stat -c %s "$new")
    {
        echo "## Inputs over 2 GiB (\`make bench-big\`)"
        echo
        echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(date -u +%Y-%m-%d). A generated pair (scripts/bench.sh big): old $osz bytes"
        echo "of random 1 MiB blocks, new $nsz bytes: blocks moved across the file, inserted,"
        echo "deleted, bytes changed. Over 512 MiB the old file's suffix array is cut into"
        echo "segments of 512 MiB on huge pages, sorted on both cores, each 4 bytes an entry (a"
        echo "single 64-bit array would take 8: ~9x the old file with it). BSDIFF40 is not run"
        echo "again: the same diff, another writer. One run each; RSS includes the mapped files."
        echo "Debian bsdiff is not run (about 9x the old file: more than this machine's memory);"
        echo "\`zstd --patch-from\` refuses: $(zstd -q -f -19 --long=31 --patch-from="$old" "$new" -o "$W/big.zst" 2>&1 | tail -1 | sed 's/^zstd: //')."
        echo
        echo '| tool | patch bytes | diff s | diff RSS / old | apply s | apply RSS |'
        echo '| --- | ---: | ---: | ---: | ---: | ---: |'
        for tool in patchcast-pcz xdelta3; do
            local p=$W/big.$tool out=$W/big.out
            diff_cmd "$tool" "$old" "$new" "$p"
            measure "${CMD[@]}"
            local ds=$SECS dk=$KB
            apply_cmd "$tool" "$old" "$p" "$out"
            measure "${CMD[@]}"
            cmp -s "$out" "$new" || { echo "bench: $tool produced a wrong file for the big pair" >&2; exit 1; }
            printf '| %s | %s | %s | %s | %s | %s |\n' "$tool" "$(stat -c %s "$p")" "$ds" \
                "$(awk -v k="$dk" -v o="$osz" 'BEGIN { printf "%.2fx", k * 1024 / o }')" \
                "$SECS" "$(fmt_kb "$KB")"
            rm -f "$p" "$out"
        done
    } >"$OUT/big.md"
    rm -f "$old" "$new"
    cat "$OUT/big.md"
}


case ${1:-all} in
diff) bench_diff ;;
gen) bench_gen ;;
client) bench_client ;;
scale) bench_scale; cat "$OUT/scale.md" ;;
big) bench_big ;;
all) bench_diff; bench_gen; bench_client; bench_big ;;
*) echo "usage: $0 diff|gen|client|scale|big|all" >&2; exit 2 ;;
esac
