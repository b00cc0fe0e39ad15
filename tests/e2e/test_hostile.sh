#!/usr/bin/env bash
# test_hostile.sh — the client against a hostile server (tests/hostile/server.py,
# one instance a test, 127.0.0.1 only): truncated bodies, lying
# Content-Length, flipped bytes, 5xx, redirects (chains, loops, file://,
# another port), endless bodies, a gzip bomb, stalls, drips, huge headers and
# broken Range answers. A site of 3 versions is built here; every test starts
# from a root at 1.1.0 and updates to 1.2.0 through the faulty server.
#
# A refused fault passes when: the update fails with the expected exit code
# and a message naming the URL or file; `current` still points at 1.1.0 and
# its tree is byte-identical; the run ended before its bound (the timeout did
# not fire); the server log shows the fault was applied; and a second run
# against a good server (nginx) completes the update to 1.2.0.
# A tolerated fault (one hop of redirect, 5xx then success, ...) passes when
# the update succeeds in bounded time with the tree of 1.2.0.
# At the end: what were the client's holes (failover on corrupt or stale
# content, a server that ignores Range, a poisoned cache), each a test.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT PATCHCAST_LOW_SPEED_LIMIT PATCHCAST_LOW_SPEED_TIME
HOSTILE=$TOP/tests/hostile/server.py
# Debian's python3 when there is one: a version manager's shim can cost a
# second a start, and the server is meant for the system's Python 3.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
BOUND=30      # seconds a refused fault may take (4 attempts, backoff ~2.6 s)
SLOW_BOUND=40 # with a stall or a drip (4 x the 2 s low-speed limit + backoff)
mkdir -p srv

SLOW_PIDS=()
cleanup() {
    local f p
    for p in "${SLOW_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for f in "$TMP"/srv/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
    "$TOP/tests/nginx.sh" stop "$TMP/nginx"
    "$TOP/tests/nginx.sh" stop "$TMP/nginx2"
    rm -rf "$TMP"
}
trap cleanup EXIT

# --- the site: 3 versions, files of 20-300 KB, so that 1.1.0 -> 1.2.0 takes
# patches (bin/app, share/notes.txt) and objects (lib/module.so replaced,
# lib/new.bin added, share/version.txt) ----------------------------------------
make_small_releases() {
    local R=$1 v=$1/1.0.0
    mkdir -p "$v/bin" "$v/lib" "$v/share"
    head -c 300000 /dev/urandom >"$v/bin/app"
    chmod 755 "$v/bin/app"
    head -c 60000 /dev/urandom >"$v/lib/module.so"
    seq 1 8000 >"$v/share/notes.txt"
    printf 'v1\n' >"$v/share/version.txt"
    cp -a "$v" "$R/1.1.0"
    v=$R/1.1.0
    printf 'patch1' | dd of="$v/bin/app" bs=1 seek=1000 conv=notrunc status=none
    sed -i 's/^1234$/x/' "$v/share/notes.txt"
    printf 'v1.1\n' >"$v/share/version.txt"
    head -c 20000 /dev/urandom >"$v/lib/extra.bin"
    cp -a "$v" "$R/1.2.0"
    v=$R/1.2.0
    printf 'patch2' | dd of="$v/bin/app" bs=1 seek=150000 conv=notrunc status=none
    head -c 60000 /dev/urandom >"$v/lib/module.so"
    head -c 30000 /dev/urandom >"$v/lib/new.bin"
    seq 1 100 >>"$v/share/notes.txt"
    printf 'v1.2\n' >"$v/share/version.txt"
}
make_small_releases rel
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
# Per-file patches and objects only: the faults are aimed at an update of
# several files (a whole-release patch would make it one download; the
# transport treats it like any patch).
echo '{"product": "demo", "release_patches": false}' >cfg.json
"$PCGEN" build -q rel -o site -s k.key --config cfg.json >build.out 2>&1 || { fail setup "build: $(cat build.out)"; finish; }
GOOD=$(mkdir -p nginx && "$TOP/tests/nginx.sh" start site nginx) || { fail setup "nginx did not start"; finish; }

setrepos() { # root url...
    local root=$1; shift
    "$PY" - "$root/config.json" "$@" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p)); c["repos"] = sys.argv[2:]; json.dump(c, open(p, "w"))
EOF
}
installed_at() { # root version
    [ "$(readlink "$1/current")" = "versions/$2" ] && same_tree "$1/current/" "rel/$2/"
}
# The root every test copies: 1.1.0 installed from the good server.
"$PC" init --root base --repo "$GOOD" -p k.pub >/dev/null &&
    "$PC" update --root base --to 1.1.0 >/dev/null 2>&1 && installed_at base 1.1.0 ||
    { fail setup "install of 1.1.0 failed"; finish; }
newroot() { # name url...
    local r=$1; shift
    rm -rf "$r" && cp -a base "$r" && setrepos "$r" "$@"
}

# serve NAME [--root DIR] [server.py options]: a hostile server on a free
# port; sets URL. Its log is srv/NAME.log, its pid srv/NAME.pid.
serve() {
    local name=$1; shift
    local root=site
    if [ "${1:-}" = --root ]; then root=$2; shift 2; fi
    rm -f "srv/$name.port" "srv/$name.log"
    "$PY" "$HOSTILE" --root "$root" --port-file "srv/$name.port" --log "srv/$name.log" \
        --lifetime 120 "$@" >/dev/null 2>"srv/$name.err" &
    echo $! >"srv/$name.pid"
    for _ in $(seq 1 100); do
        [ -s "srv/$name.port" ] && { URL=http://127.0.0.1:$(cat "srv/$name.port"); return 0; }
        kill -0 "$(cat "srv/$name.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "server $name: $(cat "srv/$name.err")"
    return 1
}
unserve() { # name
    [ -f "srv/$1.pid" ] || return 0
    kill "$(cat "srv/$1.pid")" 2>/dev/null
    wait "$(cat "srv/$1.pid")" 2>/dev/null
    rm -f "srv/$1.pid"
}
# bounded SECS OUT CMD...: CMD under timeout, output to file OUT; its pid
# is in srv/ while it runs (the EXIT trap ends it), its exit status returned.
bounded() {
    local secs=$1 out=$2 pid rc
    shift 2
    timeout -k 2 "$secs" "$@" >"$out" 2>&1 &
    pid=$!
    echo "$pid" >"srv/client-$pid.pid"
    wait "$pid"
    rc=$?
    rm -f "srv/client-$pid.pid"
    return "$rc"
}
# run ROOT [BOUND]: `patchcast update` under timeout; sets OUT, RC, MS and
# RSS (peak KiB, when /usr/bin/time exists).
run() {
    local root=$1 bound=${2:-$BOUND} t0 t1
    local timer=()
    [ -x /usr/bin/time ] && timer=(/usr/bin/time -o "$root.rss" -f %M)
    rm -f "$root.rss"
    t0=$(date +%s%N)
    bounded $((bound + 5)) "$root.out" "${timer[@]}" "$PC" update --root "$root"
    RC=$?
    t1=$(date +%s%N)
    MS=$(((t1 - t0) / 1000000))
    RSS=$(tail -n 1 "$root.rss" 2>/dev/null)
    OUT=$(grep -v '^\[[0-9]/[0-9]\]\|^Command exited' "$root.out")
}
# recovers ROOT: a later run against the good server completes the update.
recovers() {
    setrepos "$1" "$GOOD"
    bounded 60 "$1.recovery" "$PC" update --root "$1" && installed_at "$1" 1.2.0
}
fault_applied() { # name: the server log shows a request that got a fault
    grep -q ' fault=[^-]' "srv/$1.log" 2>/dev/null
}
verdict() { # name why
    if [ -z "$2" ]; then pass "$1"; else fail "$1" "$2 [exit $RC after ${MS} ms: $(echo "$OUT" | tail -n 1 | cut -c1-300)]"; fi
}

# refused NAME EXITS WHAT [-s] -- SERVER_OPTIONS...: the standard check of a
# fault the client must refuse. EXITS: allowed exit codes (regex, "1|3");
# WHAT: grep -E pattern the message must match — it includes the URL or file
# name. -s: a stall or drip test (low-speed limit 2 s, the longer bound).
refused() {
    local name=$1 exits=$2 what=$3 bound=$BOUND why=""
    shift 3
    if [ "$1" = -s ]; then bound=$SLOW_BOUND; shift; fi
    shift # --
    serve "$name" "$@" || { fail "$name" "server did not start"; return; }
    newroot "r-$name" "$URL"
    if [ "$bound" = "$SLOW_BOUND" ]; then
        PATCHCAST_LOW_SPEED_TIME=2 run "r-$name" "$bound"
    else run "r-$name" "$bound"; fi
    unserve "$name"
    [[ $RC =~ ^($exits)$ ]] || why+="exit $RC, expected $exits; "
    echo "$OUT" | grep -Eq -- "$what" || why+="message does not match /$what/; "
    [ "$RC" != 124 ] && [ "$MS" -le $((bound * 1000)) ] || why+="not finished within ${bound}s; "
    installed_at "r-$name" 1.1.0 || why+="installed 1.1.0 not intact; "
    fault_applied "$name" || why+="the server applied no fault; "
    recovers "r-$name" || why+="no recovery from the good server; "
    verdict "$name" "$why"
}
# tolerated NAME -- SERVER_OPTIONS...: the update succeeds despite the fault.
tolerated() {
    local name=$1 why=""
    shift 2
    serve "$name" "$@" || { fail "$name" "server did not start"; return; }
    newroot "r-$name" "$URL"
    run "r-$name"
    unserve "$name"
    [ "$RC" = 0 ] || why+="exit $RC; "
    [ "$MS" -le $((BOUND * 1000)) ] || why+="not finished within ${BOUND}s; "
    installed_at "r-$name" 1.2.0 || why+="1.2.0 not installed; "
    fault_applied "$name" || why+="the server applied no fault; "
    verdict "$name" "$why"
}
# count NAME PATTERN: how many log lines of server NAME match PATTERN.
count() { grep -c -- "$2" "srv/$1.log" 2>/dev/null; }

# --- baseline: the server without faults; its log names the files an update
# from 1.1.0 to 1.2.0 fetches ----------------------------------------------------
serve clean || { fail setup "server.py did not start"; finish; }
newroot r-clean "$URL"
run r-clean
unserve clean
paths() { grep -o "^GET /$1/[^ ]*" srv/clean.log | cut -c5- | sort -u; }
MAN=$(paths manifests | head -n 1)
DELTA=$(paths deltas | head -n 1)
PATCH=$(paths patches | head -n 1)
OBJ=$(for p in $(paths objects); do echo "$(stat -c %s "site$p") $p"; done | sort -n | tail -n 1 | cut -d' ' -f2)
if [ "$RC" = 0 ] && installed_at r-clean 1.2.0 && [ -n "$MAN" ] && [ -n "$DELTA" ] &&
    [ -n "$PATCH" ] && [ -n "$OBJ" ] && grep -q '^GET /repo.json.minisig ' srv/clean.log; then
    pass clean_server_baseline
else fail clean_server_baseline "exit $RC: $OUT; log: $(tr '\n' ' ' <srv/clean.log)"; finish; fi
OBJSHA=${OBJ##*/}
OBJSIZE=$(stat -c %s "site$OBJ")
PATCHNAME=${PATCH##*/}

# --- stall and drip: the low-speed limit (2 s here) ends them. They take ~11 s
# each, mostly waiting: they run in the background, beside the other tests,
# with their own good server, and report at the end. -------------------------
GOOD2=$(mkdir -p nginx2 && "$TOP/tests/nginx.sh" start site nginx2) || { fail setup "nginx2 did not start"; finish; }
slow() { # name args of refused
    (GOOD=$GOOD2; refused "$@") >"srv/$1.result" 2>&1 &
    SLOW_PIDS+=("$!")
}
slow stall_object 1 "$OBJ: timed out: Operation too slow" -s -- --fault "$OBJ=stall"
slow stall_repo_json 1 "/repo.json: timed out: Operation too slow" -s -- --fault '/repo.json=stall'
slow drip_patch 1 "/patches/.*: timed out: Operation too slow" -s -- --fault '/patches/*=drip,ms=200'

# --- truncated bodies and lying Content-Length --------------------------------------
refused truncate_object 1 "$OBJ: transfer closed with [0-9]+ bytes remaining" -- --fault "$OBJ=truncate"
refused truncate_repo_json 1 "/repo.json: transfer closed" -- --fault '/repo.json=truncate,at=100'
refused length_too_big_repo_json 1 "/repo.json: transfer closed with 1000 bytes remaining" -- \
    --fault '/repo.json=lie-length,by=1000'
# (The rest of the body then pollutes the connection: curl may read it as
# the next answer, an HTTP/0.9 one.)
refused length_too_small_object 1 "$OBJ: (got [0-9]+ bytes, expected $OBJSIZE|Received HTTP/0.9)" -- \
    --fault "$OBJ=lie-length,by=-1000"
# A Content-Length too big, but every expected byte sent: the object is whole
# (checked by hash when applied), so the update goes on.
tolerated length_too_big_object_whole_body -- --fault "$OBJ=lie-length,by=5000"

# --- flipped bytes: signature, hash of metadata, hash of content -----------------
refused flipped_repo_json 3 "/repo.json: .*signature verification failed" -- --fault '/repo.json=flip'
# serial:1 -> serial:0 in the signed trusted comment
off=$(grep -bo 'serial:' site/repo.json.minisig | head -n 1 | cut -d: -f1)
refused flipped_signature_comment 3 "/repo.json: .*trusted comment does not match its signature" -- \
    --fault "/repo.json.minisig=flip,at=$((off + 7)),xor=1"
refused flipped_manifest 3 "$MAN: content has SHA-256 [0-9a-f]{64}, not the one in the metadata" -- \
    --fault "$MAN=flip"
refused flipped_delta 3 "$DELTA: content has SHA-256 [0-9a-f]{64}, not the one in the metadata" -- \
    --fault "$DELTA=flip"
# Objects and patches are checked when applied (exit 3 for an object; a
# patch fails its format check, exit 1); the cached copy is thrown away, so
# the good server's run fetches it again.
# Checked against the hash in the signed documents before a decoder reads them.
refused flipped_object 3 "$OBJSHA: content has SHA-256 [0-9a-f]{64}, not the one in the metadata" -- --fault "$OBJ=flip"
refused flipped_patch 3 "$PATCHNAME: content has SHA-256 [0-9a-f]{64}, not the one in the metadata" -- --fault "$PATCH=flip"

# --- 5xx -----------------------------------------------------------------------------
refused status_503_repo_json 1 "/repo.json: The requested URL returned error: 503" -- \
    --fault '/repo.json=status'
refused status_500_signature 1 "/repo.json.minisig: The requested URL returned error: 500" -- \
    --fault '/repo.json.minisig=status,code=500'
# 3 failures then success: the 3 retries of a mirror are enough.
tolerated status_503_three_times_then_ok -- --fault "$OBJ=status,code=503,times=3"
n503=$(count status_503_three_times_then_ok "^GET $OBJ .*status=503")
n200=$(count status_503_three_times_then_ok "^GET $OBJ .*fault=- status=200")
[ "$n503" = 3 ] && [ "$n200" = 1 ] && pass status_503_retried_on_same_mirror ||
    fail status_503_retried_on_same_mirror "503 answers $n503, 200 answers $n200 (wanted 3 and 1)"

# --- redirects -------------------------------------------------------------------------
tolerated redirect_one_hop -- --fault '/objects/*=redirect'
tolerated redirect_chain_of_5 -- --fault "$OBJ=redirect,hops=5,code=307"
refused redirect_chain_of_6 1 "$OBJ: Maximum \(5\) redirects followed" -- --fault "$OBJ=redirect,hops=6"
refused redirect_loop 1 "/repo.json: Maximum \(5\) redirects followed" -- --fault '/repo.json=redirect,loop=1'
# file:// would give the right bytes (it is the site): it must still be refused.
refused redirect_to_file_url 1 "$OBJ: Protocol \"?file\"? not supported" -- \
    --fault "$OBJ=redirect,to=file://$TMP/site{path}"
: >nginx/access.log
tolerated redirect_to_other_port -- --fault "/objects/*=redirect,to=$GOOD{path}"
grep -q "GET $OBJ HTTP/1.1 200" nginx/access.log && pass redirect_followed_to_other_port ||
    fail redirect_followed_to_other_port "the other server saw no GET $OBJ"

# --- endless bodies and a gzip bomb -------------------------------------------------------
refused endless_repo_json 1 "/repo.json: response larger than the limit of 16777216 bytes" -- \
    --fault '/repo.json=endless'
grep -q "^end /repo.json fault=endless sent=[0-9]* client hung up" srv/endless_repo_json.log &&
    pass endless_client_hung_up || fail endless_client_hung_up "$(grep '^end' srv/endless_repo_json.log)"
refused endless_object 1 "$OBJ: more than the $OBJSIZE bytes expected" -- --fault "$OBJ=endless"
# 1 GiB of zeros as ~1 MB of gzip: the client must not inflate it.
refused gzip_bomb_repo_json 3 "/repo.json: .*signature verification failed" -- \
    --fault '/repo.json=gzip-bomb,mib=1024'
rss_bomb=$RSS
refused gzip_bomb_object 1 "$OBJ: more than the $OBJSIZE bytes expected" -- \
    --fault "$OBJ=gzip-bomb,mib=1024"
if [ -z "$rss_bomb$RSS" ]; then echo "# gzip_bomb_memory_bounded skipped: no /usr/bin/time"
elif [ "${rss_bomb:-0}" -lt 102400 ] && [ "${RSS:-0}" -lt 102400 ] &&
    fault_applied gzip_bomb_repo_json && fault_applied gzip_bomb_object; then pass gzip_bomb_memory_bounded
else fail gzip_bomb_memory_bounded "peak memory ${rss_bomb} KiB and ${RSS} KiB (limit 100 MiB)"; fi

# --- huge headers ----------------------------------------------------------------------
refused huge_headers_repo_json 1 "/repo.json: Too large response headers|/repo.json: .*header" -- \
    --fault '/repo.json=huge-headers,size=1048576'

# --- Range answered wrongly: a partial object is in the cache --------------------------
partial() { mkdir -p "$1/cache/objects" && head -c 20000 "site$OBJ" >"$1/cache/objects/$OBJSHA.part"; }
# A 206 with bytes from offset 0: appended to the part they would corrupt
# the object. They overflow its signed size (or fail its hash): the part is
# dropped and the object fetched whole, so the update still ends right.
serve wrong_range --fault "$OBJ=wrong-range" && newroot r-wrong_range "$URL" && partial r-wrong_range
run r-wrong_range
unserve wrong_range
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
[ "$MS" -le $((BOUND * 1000)) ] || why+="not finished within ${BOUND}s; "
installed_at r-wrong_range 1.2.0 || why+="1.2.0 not installed; "
grep -q "^GET $OBJ range=bytes=20000- fault=wrong-range" srv/wrong_range.log ||
    why+="no Range request got the fault; "
verdict wrong_range_never_corrupts "$why"

# --- failover: the faulty server first, the good one second ------------------------------
failover() { # name -- server options: the update succeeds from the second mirror
    local name=$1 why=""
    shift 2
    serve "$name" "$@" || { fail "$name" "server did not start"; return; }
    newroot "r-$name" "$URL" "$GOOD"
    : >nginx/access.log
    run "r-$name"
    unserve "$name"
    [ "$RC" = 0 ] || why+="exit $RC; "
    [ "$MS" -le $((BOUND * 1000)) ] || why+="not finished within ${BOUND}s; "
    installed_at "r-$name" 1.2.0 || why+="1.2.0 not installed; "
    [[ " $* " != *" --fault "* ]] || fault_applied "$name" || why+="the server applied no fault; "
    grep -q "GET /" nginx/access.log || why+="the second mirror was not asked; "
    verdict "$name" "$why"
}
failover failover_truncated_content -- --fault '/objects/*=truncate' --fault '/patches/*=truncate'
failover failover_flipped_repo_json -- --fault '/repo.json=flip'
failover failover_endless_repo_json -- --fault '/repo.json=endless'
failover failover_flipped_metadata -- --fault '/manifests/*=flip' --fault '/deltas/*=flip'
failover failover_503_everything -- --fault '/*=status'

# --- the stall and drip results -----------------------------------------------------------
wait "${SLOW_PIDS[@]}"
for n in stall_object stall_repo_json drip_patch; do
    while IFS= read -r line; do
        echo "$line"
        [[ $line == FAIL* ]] && T_FAILED=1
    done <"srv/$n.result"
done

# --- what were holes of the client (security issue), each a test now ------------------
# A corrupt object or patch of the right size is refused by its hash at
# download and fetched from the next mirror.
failover failover_flipped_object -- --fault "$OBJ=flip"
failover failover_flipped_patch -- --fault '/patches/*=flip'
# A mirror with stale metadata — validly signed but expired, or older than
# what the client saw — is passed over like a down one.
cp -a site site-exp
"$PCGEN" build -q rel -o site-exp -s k.key --config cfg.json --expires 1s >/dev/null 2>&1
exp=$(python3 -c "import calendar, json, time; e = json.load(open('site-exp/repo.json'))['expires']
print(calendar.timegm(time.strptime(e, '%Y-%m-%dT%H:%M:%SZ')))")
expired() { [ "$(date +%s)" -ge "$exp" ]; }
if wait_for 10 expired; then
    failover failover_expired_repo_json -- --root site-exp
else fail failover_expired_repo_json "the clock did not reach the expiry ($exp) in 10 s"; fi
cp -a site site-new
"$PCGEN" build -q rel -o site-new -s k.key --config cfg.json >/dev/null 2>&1
serve newer --root site-new
NEWER=$URL
newroot r-older "$NEWER"
"$PC" check --root r-older >/dev/null 2>&1 # the client sees serial 2
serve older # site/: serial 1
setrepos r-older "$URL" "$NEWER"
run r-older
unserve older
unserve newer
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
installed_at r-older 1.2.0 || why+="1.2.0 not installed; "
verdict failover_older_repo_json "$why"
# A server that ignores Range answers 200 with the whole file: the client
# starts the file over (it resumes with a Range header of its own, not
# libcurl's resume, which refuses the 200).
serve ignore_range --fault "$OBJ=ignore-range" && newroot r-irp "$URL" && partial r-irp
run r-irp
unserve ignore_range
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
installed_at r-irp 1.2.0 || why+="1.2.0 not installed; "
fault_applied ignore_range || why+="the server applied no fault; "
grep -q "^GET $OBJ range=bytes=20000- fault=ignore-range" srv/ignore_range.log ||
    why+="no Range request got the fault; "
verdict ignore_range_restarts_download "$why"
# Every object and patch corrupt on one mirror: none is kept in the cache,
# so the next run from a good mirror succeeds at once.
serve corrupt_all --fault '/objects/*=flip' --fault '/patches/*=flip' && newroot r-cc "$URL"
run r-cc
unserve corrupt_all
setrepos r-cc "$GOOD"
run r-cc
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
installed_at r-cc 1.2.0 || why+="1.2.0 not installed; "
verdict corrupt_cache_discarded_in_one_run "$why"
finish
