#!/usr/bin/env bash
# bench-shard.sh — a sharded build against a one-machine build of the same
# generated series: SHARD_VERSIONS (4) versions of one SHARD_MIB (512) MiB
# file, each made from the one before by blocks moved, inserted and
# deleted and bytes changed, and the default config (objects at zstd level
# 19; skip edges: every older version to the newest). One machine:
# `patchcast-gen build`. Sharded: `plan --max-jobs SHARD_JOBS` (4), those
# jobs one at a time (each alone, as on a runner of its own: the wall time
# of a CI matrix is the plan's, the slowest job's and the assemble's), then
# as processes all at once on this machine into a second store, and
# `build --assemble` from it. Wall times, and each job's peak RSS
# (/usr/bin/time) against the plan's estimate; the sites are compared
# (tests/e2e/same_site.py). Writes build/bench/shard.md. Memory: SHARD_JOBS
# diffs at once, about 7x SHARD_MIB each; disk: about 20x SHARD_MIB in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
B=$TOP/${BUILD:-build}
G=$B/patchcast-gen
OUT=$B/bench
mkdir -p "$OUT"
MIB=${SHARD_MIB:-512}
NV=${SHARD_VERSIONS:-4}
NJ=${SHARD_JOBS:-4}
W=$(mktemp -d "${TMPDIR:-/tmp}/pc-bench-shard.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }

# timed OUTFILE CMD...: run CMD under /usr/bin/time; "SECONDS KB" in OUTFILE.
timed() {
    local o=$1
    shift
    /usr/bin/time -f "%e %M" -o "$o" "$@" || {
        echo "bench-shard: failed: $*" >&2
        return 1
    }
}

echo "bench-shard: generating $NV versions of $MIB MiB" >&2
python3 - rel "$MIB" "$NV" <<'PY'
import os, random, sys
root, mib, nv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(2026)
M = 1 << 20
cur = bytearray()
for i in range(mib):
    cur += r.randbytes(M)
for v in range(nv):
    if v:
        old, new, i, nb = bytes(cur), bytearray(), 0, len(cur) // M
        while i < nb:
            k = r.randrange(100)
            if k < 3:    # a block from anywhere in old
                j = r.randrange(max(1, nb - 8))
                new += old[j * M:(j + r.randrange(1, 8)) * M]
            elif k < 5:  # new bytes
                new += r.randbytes(r.randrange(4096, 256 << 10))
            elif k < 7:  # a deletion
                i += r.randrange(1, 4)
                continue
            b = bytearray(old[i * M:(i + 1) * M])
            for _ in range(r.randrange(0, 40)):  # changed bytes
                b[r.randrange(len(b))] ^= 1 + r.randrange(255)
            new += b
            i += 1
        cur = new
    d = os.path.join(root, "1.%d.0" % v)
    os.makedirs(os.path.join(d, "bin"))
    open(os.path.join(d, "bin", "data.pak"), "wb").write(cur)
    open(os.path.join(d, "VERSION"), "w").write("1.%d.0\n" % v)
PY
"$G" keygen -W -p k.pub -s k.key >/dev/null
echo '{"product": "bench"}' >cfg.json
sizes=$(for v in rel/*/bin/data.pak; do stat -c %s "$v"; done | paste -sd, | sed 's/,/, /g')

echo "bench-shard: one machine" >&2
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t=$(now)
timed one.time "$G" build -q rel -o site1 -s k.key --config cfg.json >one.out
one_wall=$(since "$t")
read -r _ one_kb <one.time

echo "bench-shard: sharded" >&2
t=$(now)
timed plan.time "$G" plan -q rel --config cfg.json -o jobs.json --max-jobs "$NJ" >/dev/null
plan_wall=$(since "$t")
n=$(python3 -c "import json; print(len(json.load(open('jobs.json'))['jobs']))")
slowest=0
for ((j = 0; j < n; j++)); do
    echo "bench-shard: job $j alone" >&2
    timed "alone$j.time" "$G" build -q --job "$j" jobs.json --store store1 >"alone$j.out"
    read -r secs _ <"alone$j.time"
    slowest=$(awk -v a="$slowest" -v b="$secs" 'BEGIN { print (b > a ? b : a) }')
done
echo "bench-shard: $n jobs at once" >&2
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t=$(now)
pids=()
for ((j = 0; j < n; j++)); do
    timed "job$j.time" "$G" build -q --job "$j" jobs.json --store store >"job$j.out" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
jobs_wall=$(since "$t")
t=$(now)
timed asm.time "$G" build -q --assemble jobs.json --store store -o site2 -s k.key >asm.out
asm_wall=$(since "$t")
same=$(python3 "$TOP/tests/e2e/same_site.py" site1 site2) || {
    echo "bench-shard: the sites differ: $same" >&2
    exit 1
}
cmp -s <(cd store1 && find . -type f -exec sha256sum {} + | sort) \
    <(cd store && find . -type f -exec sha256sum {} + | sort) || {
    echo "bench-shard: the two stores differ" >&2
    exit 1
}
runners=$(awk -v a="$plan_wall" -v b="$slowest" -v c="$asm_wall" 'BEGIN { printf "%.1f", a + b + c }')
total=$(awk -v a="$plan_wall" -v b="$jobs_wall" -v c="$asm_wall" 'BEGIN { printf "%.1f", a + b + c }')

{
    echo "## Sharded builds (\`make bench-shard\`)"
    echo
    echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(date -u +%Y-%m-%d); the cores shared with other work"
    echo "(load average $load_start when the run began, $load0 before the jobs ran at once)."
    echo "A generated series (scripts/bench-shard.sh, SHARD_MIB=$MIB): $NV versions of one file"
    echo "of $sizes bytes, each made from the one before by 1 MiB blocks moved,"
    echo "inserted and deleted and bytes changed (random data: the objects do not shrink)."
    echo "The default config: objects at zstd level 19, skip edges from every older"
    echo "version to the newest ($(python3 -c "import json; print(len(json.load(open('site1/repo.json'))['edges']))") edges). One machine: \`patchcast-gen build\` (patches on both cores"
    echo "under its memory budget, objects one after the other). Sharded: \`plan --max-jobs"
    echo "$NJ\`, its $n jobs run one at a time, each alone as on a runner of its own (a CI"
    echo "matrix of $n runners takes the plan, the slowest job and the assemble), then all"
    echo "at once on this machine into a second store (the same bytes), then \`build"
    echo "--assemble\`; the sites are the $same but for the build times. Peak RSS by"
    echo "\`/usr/bin/time\` (mapped files included)."
    echo
    echo '| build | wall s | peak RSS |'
    echo '| --- | ---: | ---: |'
    echo "| one machine (\`build\`) | $one_wall | $(mib "$one_kb") |"
    read -r _ kb <plan.time
    echo "| sharded: \`plan\` | $plan_wall | $(mib "$kb") |"
    echo "| sharded: the slowest job alone | $slowest | (below) |"
    read -r _ kb <asm.time
    echo "| sharded: \`build --assemble\` | $asm_wall | $(mib "$kb") |"
    echo "| **sharded on $n runners** (plan + slowest job + assemble) | **$runners** | |"
    echo "| sharded on this machine, the $n jobs at once | $jobs_wall | (below) |"
    echo "| sharded on this machine, in all | $total | |"
    echo
    echo "Each job: alone, and with the others at once; estimates from the plan."
    echo
    echo '| job | work | wall s alone | at once | estimate s | peak RSS alone | at once | estimate |'
    echo '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |'
    for ((j = 0; j < n; j++)); do
        read -r secs kb <"alone$j.time"
        read -r secs2 kb2 <"job$j.time"
        python3 - jobs.json "$j" "$secs" "$kb" "$secs2" "$kb2" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
j = p["jobs"][int(sys.argv[2])]
kinds = {}
for t in j["tasks"]:
    k = "release patches" if "release" in t else "patches" if "from" in t else "objects"
    kinds[k] = kinds.get(k, 0) + 1
work = ", ".join("%d %s" % (v, k) for k, v in sorted(kinds.items()))
print("| %s | %s (%s) | %s | %s | %d | %.0f MiB | %.0f MiB | %.0f MiB |" % (
    sys.argv[2], j["title"], work, sys.argv[3], sys.argv[5], j["seconds"],
    int(sys.argv[4]) / 1024, int(sys.argv[6]) / 1024, j["memory"] / 1048576))
PY
    done
} >"$OUT/shard.md"
cat "$OUT/shard.md"
