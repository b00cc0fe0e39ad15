# tests/lib.sh — sourced by shell tests. Same output protocol as the C tests:
# "PASS suite/name" or "FAIL suite/name: reason". Exit status: 1 if any failed.
set -u
: "${BUILD:=build}"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
PC="$BUILD/patchcast"
PCGEN="$BUILD/patchcast-gen"
SUITE=${SUITE:-$(basename "$0" .sh)}
T_FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pctest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $SUITE/$1"; }
fail() { echo "FAIL $SUITE/$1: $2"; T_FAILED=1; }

# check NAME CMD...: pass if CMD succeeds.
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "command failed: $* :: $(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
}

# check_fails NAME PATTERN CMD...: pass if CMD fails and its output matches PATTERN (grep -E).
check_fails() {
    local name=$1 pattern=$2; shift 2
    local out
    if out=$("$@" 2>&1); then
        fail "$name" "expected failure, command succeeded: $*"
    elif ! echo "$out" | grep -Eq -- "$pattern"; then
        fail "$name" "expected message /$pattern/, got: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
    else
        pass "$name"
    fi
}

# wait_for SECONDS CMD...: run CMD every 0.05 s until it succeeds (status 0);
# status 1 if it has not after about SECONDS. Wait for an event this way (a
# file appears, a line is printed, the clock passes a time), never with a bare
# sleep that hopes the event has happened.
wait_for() {
    local i n=$(($1 * 20)); shift
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    "$@"
}

finish() { exit "$T_FAILED"; }
