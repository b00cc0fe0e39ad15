#!/usr/bin/env bash
# test_publish_s3_real.sh — ci/publish-s3 with the real AWS CLI (Debian's
# awscli) and the real rclone against a real S3-compatible server (the npm
# package s3rver, tests/ci/s3rver/, installed by `make deps`) on a free
# loopback port, started here and stopped at exit. For each tool, two
# generations of a site under a root of trust (the second adds root version
# 2; its gc drops what only two dropped versions needed), then a prune:
# - the upload order as the server stored the keys (its own log of stores
#   and deletes): objects, patches, deltas, manifests, roots (each signature
#   before its root), other files, repo.json, then its signature, then any
#   deletes; and the site's consistency after every single store or delete;
# - each file's Cache-Control and Content-Type by real HEAD requests, as the
#   site's cache-rules.json says; large objects sent in parts keep theirs;
# - the store equals the site; a second generation uploads only new content
#   and deletes nothing; --dry-run stores and deletes nothing; --prune,
#   listing the store page by page, deletes exactly what the site no longer
#   has: nothing a listed version needs, nothing outside the prefix;
# - an unknown access key stores nothing;
# - SITE changing under a publish: a symlink switched to another site
#   once objects/ is up (the store still gets one site), the folder
#   deleted before --prune (it deletes only what SITE lacked at the start);
# - the client installs and updates over HTTP from the bucket, walking the
#   roots.
# tests/ci/test_publish_s3.sh keeps the checks that need a store
# snapshotted after every write (each moment's pair verifies) and the
# refusals.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/e2e/fixtures.sh"
cd "$TMP" || exit 1
PUBLISH=$TOP/ci/publish-s3
# Debian's python3 (a pyenv or venv python3 first on PATH can take far longer to start).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
CHECK=("$PY" "$TOP/tests/ci/s3check.py")
unset PATCHCAST_PASSWORD PUBLISH_TOOL PUBLISH_OPTS S3_ENDPOINT_URL

# Only this test's settings reach the tools: no AWS_* or RCLONE_* variable
# of the machine (a CA bundle, a profile, an endpoint), no ~/.aws or
# rclone.conf. Debian's binaries, whatever else is first on PATH (a pip aws).
for v in $(env | sed -n 's/^\(\(AWS\|RCLONE\)_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export HOME=$TMP/home
mkdir -p "$HOME" bin s3 s3data
for x in /usr/bin/aws /usr/bin/rclone; do
    [ -x "$x" ] || { fail tools_installed "$x is missing (make deps: awscli, rclone)"; finish; }
    ln -s "$x" "bin/${x##*/}"
done
export PATH="$TMP/bin:$PATH"
S3RVER=$TOP/tests/ci/s3rver
[ -f "$S3RVER/node_modules/s3rver/package.json" ] && command -v node >/dev/null ||
    { fail tools_installed "node or $S3RVER/node_modules/s3rver is missing (make deps)"; finish; }
pass tools_installed

# The server: buckets pc-aws and pc-rclone; s3/port, s3/events, s3/log.
node --openssl-legacy-provider "$S3RVER/serve.js" s3data s3 pc-aws pc-rclone >s3/log 2>&1 &
S3PID=$!
trap 'kill "$S3PID" 2>/dev/null; wait "$S3PID" 2>/dev/null; rm -rf "$TMP"' EXIT
wait_for 30 test -s s3/port ||
    { fail s3rver_starts "no port after 30 s: $(tail -3 s3/log | tr '\n' ' ')"; finish; }
EP=http://127.0.0.1:$(cat s3/port)
touch s3/events
pass s3rver_starts

# s3rver's one account; parts from 100 KiB (the releases' bin/app objects
# are about 300 KB), so that multipart uploads happen.
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$TMP/aws.conf AWS_SHARED_CREDENTIALS_FILE=$TMP/aws.credentials
printf '[default]\ns3 =\n    multipart_threshold = 100KB\n' >"$AWS_CONFIG_FILE"
export RCLONE_CONFIG=$TMP/rclone.conf
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other RCLONE_CONFIG_S3_ENDPOINT=$EP \
    RCLONE_CONFIG_S3_ACCESS_KEY_ID=S3RVER RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=S3RVER \
    RCLONE_CONFIG_S3_UPLOAD_CUTOFF=100k

# Sites: generation 1 lists 1.0.0, 1.1.0, 1.2.0-rc.1 under root version 1;
# generation 2 lists 1.1.0, 1.2.0, 1.10.0 under root version 2, and its gc
# (retention 0 days) removes what only the dropped versions needed.
make_releases all
mkdir rel1 rel2
cp -a all/1.0.0 all/1.1.0 all/1.2.0-rc.1 all/1.0.0.md rel1/
cp -a all/1.1.0 all/1.2.0 all/1.10.0 rel2/
echo '{"product": "demo", "patch_retention_days": 0}' >cfg.json
{
    "$PCGEN" keygen -W -p k.pub -s k.key && "$PCGEN" keygen -W -p rk.pub -s rk.key &&
        for v in 1 2; do
            "$PCGEN" root init -o root$v.json --version $v --root-key rk.pub --threshold 1 --repo-key k.pub &&
                "$PCGEN" root sign root$v.json -s rk.key || exit 1
        done &&
        "$PCGEN" build -q rel1 -o site1 -s k.key --trust root1.json --config cfg.json &&
        cp -a site1 site2 &&
        "$PCGEN" build -q rel2 -o site2 -s k.key --trust root2.json --config cfg.json &&
        "$PCGEN" gc site2 --config cfg.json
} >setup.out 2>&1 || { fail build_sites "$(tail -3 setup.out | tr '\n' ' ')"; finish; }
gone=$(cd site1 && find . -type f | while read -r f; do [ -e "../site2/$f" ] || echo "$f"; done | grep -c .)
[ "$gone" -gt 0 ] && [ -f site2/roots/2.root.json ] && pass build_sites ||
    fail build_sites "gc removed nothing or no root 2: the prune checks would prove nothing"

# run NAME TOOL ARGS...: publish-s3 with TOOL, its events (keys under the
# run's prefix, "KIND key") in NAME.events and its server log in NAME.log.
# Status: publish-s3's.
run() {
    local name=$1 tool=$2 e l rc
    shift 2
    e=$(wc -l <s3/events) l=$(wc -l <s3/log)
    PUBLISH_TOOL=$tool "$PUBLISH" "$@" >"$name.out" 2>&1
    rc=$?
    tail -n +$((e + 1)) s3/events | sed -n "s|^\([A-Z]*\) $BUCKET $PREFIX/|\1 |p" >"$name.events"
    tail -n +$((l + 1)) s3/log >"$name.log"
    return $rc
}

# same_value NAME WANT GOT: pass if equal.
same_value() {
    [ "$2" = "$3" ] && pass "$1" || fail "$1" "want '$2', got '$3'"
}

# empty_output NAME CMD...: pass if CMD succeeds and prints nothing (the
# s3check.py commands print what is wrong).
empty_output() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1) && [ -z "$out" ]; then pass "$name"; else fail "$name" "$(echo "$out" | head -3 | tr '\n' ' ')"; fi
}

# client NAME ROOT VERSION ROOTVERSION: update the install at ROOT over HTTP
# from the bucket; it must then hold VERSION exactly and have walked the
# roots up to ROOTVERSION.
client() {
    local name=$1 root=$2 version=$3 rv=$4
    if "$PC" update --root "$root" >"$name.out" 2>&1 && same_tree "$root/current/" "all/$version/" &&
        "$PC" status --root "$root" --json | grep -q "\"root_version\":[[:space:]]*${rv}[,}]"; then
        pass "$name"
    else
        fail "$name" "$(tail -2 "$name.out" | tr '\n' ' ') current: $(readlink "$root/current")"
    fi
}

ALL="objects patches deltas manifests roots other repo.json repo.json.minisig"

# publish_checks TOOL DEST URL: the whole story for one tool (BUCKET and
# PREFIX: where DEST points).
publish_checks() {
    local tool=$1 dest=$2 url=$3 t=$1 opts

    # Generation 1 into an empty prefix.
    run "$t-1" "$tool" site1 "$dest" && pass "${t}_publish_first_generation" ||
        { fail "${t}_publish_first_generation" "$(tail -3 "$t-1.out" | tr '\n' ' ')"; return; }
    empty_output "${t}_store_equals_site" "${CHECK[@]}" same "$url" site1
    empty_output "${t}_cache_control_and_content_type_by_cache_rules" "${CHECK[@]}" headers "$url" site1
    same_value "${t}_upload_order" "$ALL" "$("${CHECK[@]}" classes "$t-1.events")"
    : >empty.keys
    empty_output "${t}_first_upload_consistent_after_every_store" "${CHECK[@]}" moments "$t-1.events" empty.keys - site1
    grep -q '^POST objects/' "$t-1.events" && pass "${t}_large_objects_sent_in_parts" ||
        fail "${t}_large_objects_sent_in_parts" "no multipart upload completed"

    "$PC" init --root "inst-$t" --repo "$url" --trust root1.json >"$t-init.out" 2>&1 ||
        fail "${t}_client_init" "$(tail -2 "$t-init.out")"
    client "${t}_client_installs_over_http" "inst-$t" 1.1.0 1

    # Generation 2: new content only, nothing deleted.
    "${CHECK[@]}" keys "$url" >"$t-gen1.keys"
    run "$t-2" "$tool" site2 "$dest" && pass "${t}_publish_second_generation" ||
        fail "${t}_publish_second_generation" "$(tail -3 "$t-2.out" | tr '\n' ' ')"
    same_value "${t}_second_upload_order" "$ALL" "$("${CHECK[@]}" classes "$t-2.events")"
    empty_output "${t}_second_upload_consistent_after_every_store" \
        "${CHECK[@]}" moments "$t-2.events" "$t-gen1.keys" site1 site2
    local new uploaded
    new=$(cd site2 && find objects patches deltas manifests -type f | LC_ALL=C sort | LC_ALL=C comm -23 - "../$t-gen1.keys")
    uploaded=$(sed -nE 's@^(PUT|POST) ((objects|patches|deltas|manifests)/.*)@\2@p' "$t-2.events" | LC_ALL=C sort)
    [ -n "$new" ] && [ "$new" = "$uploaded" ] && pass "${t}_only_new_content_uploaded" ||
        fail "${t}_only_new_content_uploaded" "uploaded $(echo "$uploaded" | grep -c .), new $(echo "$new" | grep -c .)"
    same_value "${t}_nothing_deleted_without_prune" 0 "$(grep -c '^DELETE' "$t-2.events")"
    same_value "${t}_old_files_kept" "" "$("${CHECK[@]}" keys "$url" | LC_ALL=C comm -13 - "$t-gen1.keys")"
    empty_output "${t}_second_headers" "${CHECK[@]}" headers "$url" site2
    client "${t}_client_updates_over_http" "inst-$t" 1.10.0 2

    # --prune, listing 4 keys a page. A stray key under the prefix goes; a
    # key of a sibling prefix (same leading characters) stays. But first
    # --dry-run --prune: it stores and deletes nothing.
    echo stray >stray.txt
    if [ "$tool" = aws ]; then
        opts="--page-size 4"
        aws s3 cp stray.txt "$dest/objects/zz/stray" --endpoint-url "$EP" --only-show-errors &&
            aws s3 cp stray.txt "$dest-old/keep" --endpoint-url "$EP" --only-show-errors
    else
        opts="--s3-list-chunk 4"
        rclone copyto stray.txt "$dest/objects/zz/stray" && rclone copyto stray.txt "$dest-old/keep"
    fi || fail "${t}_stray_keys" "could not store the stray keys"
    "${CHECK[@]}" keys "$url" >"$t-gen2.keys"
    run "$t-dry" "$tool" --dry-run --prune site2 "$dest" && [ ! -s "$t-dry.events" ] &&
        grep -q "would delete objects/zz/stray" "$t-dry.out" && pass "${t}_dry_run_stores_and_deletes_nothing" ||
        fail "${t}_dry_run_stores_and_deletes_nothing" "$(head -1 "$t-dry.events") $(tail -1 "$t-dry.out")"
    PUBLISH_OPTS=$opts run "$t-prune" "$tool" --prune site2 "$dest" &&
        pass "${t}_prune_runs" || fail "${t}_prune_runs" "$(tail -3 "$t-prune.out" | tr '\n' ' ')"
    grep -q "Fetched bucket \"$BUCKET\" with options {.*\"maxKeys\":4,.*\"startAfter\":\"" "$t-prune.log" && pass "${t}_prune_lists_page_by_page" ||
        fail "${t}_prune_lists_page_by_page" "no listing continued after a page of 4 keys"
    empty_output "${t}_prune_makes_store_equal_site" "${CHECK[@]}" same "$url" site2
    local want_deleted deleted
    want_deleted=$(cd site2 && find . -type f ! -name .gc-state | sed 's|^\./||' | LC_ALL=C sort |
        LC_ALL=C comm -13 - "../$t-gen2.keys")
    deleted=$(sed -n 's/^DELETE //p' "$t-prune.events" | LC_ALL=C sort)
    if [ "$(echo "$want_deleted" | grep -c .)" -gt 1 ]; then
        same_value "${t}_prune_deletes_what_the_site_lacks" "$want_deleted" "$deleted"
    else
        fail "${t}_prune_deletes_what_the_site_lacks" "nothing to delete: the check proves nothing"
    fi
    same_value "${t}_prune_deletes_nothing_listed_versions_need" "" \
        "$("${CHECK[@]}" refs site2 | LC_ALL=C comm -12 - <(echo "$deleted"))"
    same_value "${t}_prune_after_publish" "roots other repo.json repo.json.minisig delete" \
        "$("${CHECK[@]}" classes "$t-prune.events")"
    empty_output "${t}_prune_consistent_after_every_delete" \
        "${CHECK[@]}" moments "$t-prune.events" "$t-gen2.keys" site2 site2
    "${CHECK[@]}" keys "$url-old" | grep -qx keep && pass "${t}_prune_keeps_other_prefixes" ||
        fail "${t}_prune_keeps_other_prefixes" "$dest-old/keep is gone"
    "$PC" init --root "inst-$t-new" --repo "$url" --trust root1.json >/dev/null 2>&1
    client "${t}_client_installs_after_prune" "inst-$t-new" 1.10.0 2
}

BUCKET=pc-aws PREFIX=updates/demo
export S3_ENDPOINT_URL=$EP
publish_checks aws "s3://$BUCKET/$PREFIX" "$EP/$BUCKET/$PREFIX"
unset S3_ENDPOINT_URL
BUCKET=pc-rclone PREFIX=site
publish_checks rclone "s3:$BUCKET/$PREFIX" "$EP/$BUCKET/$PREFIX"

# The credentials reach the server: an unknown access key stores nothing
# (s3rver checks the key id; it does not check SigV4 signatures).
BUCKET=pc-aws PREFIX=wrong
AWS_ACCESS_KEY_ID=WRONG S3_ENDPOINT_URL=$EP run wrong aws site1 "s3://$BUCKET/$PREFIX"
rc=$?
[ "$rc" -ne 0 ] && [ ! -s wrong.events ] && grep -q InvalidAccessKeyId wrong.out &&
    pass unknown_access_key_stores_nothing ||
    fail unknown_access_key_stores_nothing "exit $rc, $(grep -c . wrong.events) keys stored: $(tail -1 wrong.out)"

# SITE changing under a publish (aws): bin-swap/aws runs the real one, then
# $SWAP after the call whose arguments match the pattern $SWAP_AT.
mkdir bin-swap
cat >bin-swap/aws <<'EOF'
#!/bin/sh
/usr/bin/aws "$@" || exit
case "$*" in $SWAP_AT) sh -c "$SWAP" ;; esac
EOF
chmod +x bin-swap/aws
export S3_ENDPOINT_URL=$EP
BUCKET=pc-aws PREFIX=swap
# SITE a symlink switched to the next build once objects/ is up: the rest
# still comes from the folder it named at the start, or repo.json would
# name objects never uploaded.
cp -a site1 gen-a && ln -s gen-a live
PATH="$TMP/bin-swap:$PATH" SWAP_AT="s3 sync */objects *" SWAP="ln -sfn site2 '$TMP/live'" \
    run swap-link aws live "s3://$BUCKET/$PREFIX" && [ "$(readlink live)" = site2 ] &&
    out=$("${CHECK[@]}" same "$EP/$BUCKET/$PREFIX" site1) && [ -z "$out" ] &&
    pass site_symlink_switched_during_publish_uploads_one_site ||
    fail site_symlink_switched_during_publish_uploads_one_site "link $(readlink live): $(tail -1 swap-link.out) $out"
# SITE deleted once repo.json.minisig is up (a workspace cleaned): --prune
# deletes only what SITE lacked when the publish began, not everything.
cp -a site2 doomed
PATH="$TMP/bin-swap:$PATH" SWAP_AT="s3 cp */repo.json.minisig *" SWAP="rm -rf '$TMP/doomed'" \
    run swap-gone aws --prune doomed "s3://$BUCKET/$PREFIX" && [ ! -e doomed ] &&
    out=$("${CHECK[@]}" same "$EP/$BUCKET/$PREFIX" site2) && [ -z "$out" ] &&
    pass prune_keeps_the_site_listed_at_start ||
    fail prune_keeps_the_site_listed_at_start "$(tail -1 swap-gone.out) $(grep -c '^DELETE' swap-gone.events) deleted; $(echo "$out" | head -2 | tr '\n' ' ')"

finish
