# bench-lib.sh — what the benchmark scripts share: the paths, the corpus
# (fetched when missing, unless BENCH_NO_CORPUS is set), a temporary folder
# $W removed on exit, and the measuring helpers. Sourced, not run.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
B=$TOP/${BUILD:-build}
OUT=$B/bench
mkdir -p "$OUT"
CORPUS=${PATCHCAST_CORPUS:-$HOME/.cache/patchcast-corpus}
FETCH=${PATCHCAST_FETCH:-$TOP/../shared/corpus/fetch}
case ${1:-all} in
scale | big) ;; # generated inputs only
*) [ -d "$CORPUS/esbuild/0.25.0" ] && [ -d "$CORPUS/typescript/5.6.3" ] || "$FETCH" "$CORPUS" >&2 ;;
esac
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# measure CMD...: sets SECS and KB (peak RSS) of the command. Its output
# goes to $MEASURE_OUT (default: nowhere).
measure() {
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"${MEASURE_OUT:-/dev/null}" 2>"$W/err" || {
        echo "bench: failed: $* :: $(tail -2 "$W/err")" >&2
        return 1
    }
    read -r SECS KB <"$W/time"
}

# timed N CMD...: runs CMD N times; sets SECS (median wall time, 3 decimals)
# and KB (largest peak RSS). The machine is shared: a median of a few runs
# is steadier than one.
timed() {
    local n=$1 i t0 t1
    shift
    local times=() kb=0
    for ((i = 0; i < n; i++)); do
        t0=$(date +%s%N)
        measure "$@" || return 1
        t1=$(date +%s%N)
        times+=($(( (t1 - t0) / 1000 )))
        [ "$KB" -gt "$kb" ] && kb=$KB
    done
    SECS=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] / 1e6 }')
    KB=$kb
}

# heap CMD...: sets HEAP_KB, the peak of the heap (malloc'd memory, not the
# mapped files) under valgrind's massif.
heap() {
    valgrind --tool=massif --massif-out-file="$W/massif" "$@" >/dev/null 2>&1 || {
        echo "bench: failed under massif: $*" >&2
        return 1
    }
    HEAP_KB=$(awk -F= '/^mem_heap_B=/ { h = $2 } /^mem_heap_extra_B=/ { if (h + $2 > m) m = h + $2 }
                      END { printf "%d", m / 1024 }' "$W/massif")
}

fmt_kb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
jfield() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
stripped() { strip -o "$W/stripped" "$1" && stat -c %s "$W/stripped"; }
