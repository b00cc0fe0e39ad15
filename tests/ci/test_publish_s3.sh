#!/usr/bin/env bash
# test_publish_s3.sh — ci/publish-s3 against stand-ins for `aws` and
# `rclone` (tests/ci/fake-store.sh: no network) that store objects in a
# folder with their headers, log every write and snapshot the store after
# each one. Checks, for both tools: the store equals the site; each file's
# Cache-Control and Content-Type; at every moment the repo.json present names
# only files present and the pair verifies (but right after repo.json);
# repo.json and then its signature are the last writes; a second generation
# uploads only new files and deletes nothing; --prune; refusals.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/e2e/fixtures.sh"
source "$TOP/tests/ci/moments.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD S3_ENDPOINT_URL PUBLISH_OPTS
PUBLISH=$TOP/ci/publish-s3
SHORT="public, max-age=60, must-revalidate"
IMMUTABLE="public, max-age=31536000, immutable"

mkdir bin
ln -s "$TOP/tests/ci/fake-store.sh" bin/aws
ln -s "$TOP/tests/ci/fake-store.sh" bin/rclone
export PATH="$TMP/bin:$PATH"

make_releases all
mkdir rel1 rel2
cp -a all/1.0.0 all/1.1.0 all/1.2.0-rc.1 rel1/
cp -a all/1.1.0 all/1.2.0 all/1.10.0 rel2/
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
echo '{"product": "demo", "patch_retention_days": 0}' >cfg.json
"$PCGEN" build rel1 -o site1 -s k.key --config cfg.json -q >/dev/null &&
    cp -a site1 site2 &&
    "$PCGEN" build rel2 -o site2 -s k.key --config cfg.json -q >/dev/null &&
    "$PCGEN" gc site2 --config cfg.json >/dev/null ||
    { fail build_sites "patchcast-gen failed"; finish; }

# same_files SITE DIR: the same files with the same bytes (an object store
# has no folders, so empty ones left by gc do not count; .gc-state is not
# published).
same_files() {
    local a b f
    a=$(cd "$1" && find . -type f ! -name .gc-state | LC_ALL=C sort)
    b=$(cd "$2" && find . -type f | LC_ALL=C sort)
    [ "$a" = "$b" ] || { echo "file lists differ: $(diff <(echo "$a") <(echo "$b") | grep -m2 '^[<>]' | tr '\n' ' ')"; return 1; }
    while IFS= read -r f; do cmp -s "$1/$f" "$2/$f" || { echo "$f differs"; return 1; }; done <<<"$a"
}

# publish_checks TOOL DEST BUCKETPATH: the whole story for one tool.
publish_checks() {
    local tool=$1 dest=$2 bp=$3 t=$1
    export FAKE_STORE=$TMP/store-$tool
    local store=$FAKE_STORE/$bp
    if PUBLISH_TOOL=$tool "$PUBLISH" site1 "$dest" >"$t-1.out" 2>&1; then
        pass "${t}_publish_first_generation"
    else
        fail "${t}_publish_first_generation" "$(tail -2 "$t-1.out")"
        return
    fi
    check "${t}_store_equals_site" same_files site1 "$store"
    local bad
    bad=$(headers_meta site1 "$FAKE_STORE.meta/$bp")
    [ -z "$bad" ] && pass "${t}_cache_control_and_content_type" ||
        fail "${t}_cache_control_and_content_type" "$bad"
    local puts last2 n gap
    puts=$(grep -E '^(PUT|DELETE) ' "$FAKE_STORE.log")
    last2=$(echo "$puts" | tail -2 | sed "s|^PUT $bp/||" | tr '\n' ' ')
    [ "$last2" = "repo.json repo.json.minisig " ] && pass "${t}_repo_json_then_signature_last" ||
        fail "${t}_repo_json_then_signature_last" "last writes: $last2"
    n=$(echo "$puts" | grep -n "^PUT $bp/repo.json\$" | cut -d: -f1)
    gap=$(printf %04d $((n - 1)))
    check_moments "${t}_first_upload_consistent_at_every_moment" "$FAKE_STORE.snaps" "$bp" "$gap" k.pub

    cp -a "$store" "$TMP/$t-gen1"
    rm -rf "$FAKE_STORE.snaps" "$FAKE_STORE.log"
    PUBLISH_TOOL=$tool "$PUBLISH" site2 "$dest" >"$t-2.out" 2>&1 &&
        pass "${t}_publish_second_generation" || fail "${t}_publish_second_generation" "$(tail -2 "$t-2.out")"
    puts=$(grep -E '^(PUT|DELETE) ' "$FAKE_STORE.log")
    n=$(echo "$puts" | grep -n "^PUT $bp/repo.json\$" | cut -d: -f1)
    gap=$(printf %04d $((n - 1)))
    check_moments "${t}_second_upload_consistent_at_every_moment" "$FAKE_STORE.snaps" "$bp" "$gap" k.pub
    local new_content uploaded_content
    new_content=$(cd site2 && find objects patches deltas manifests -type f |
        while read -r f; do [ -e "../$t-gen1/$f" ] || echo "$f"; done | sort)
    uploaded_content=$(echo "$puts" | sed -nE "s@^PUT $bp/((objects|patches|deltas|manifests)/.*)@\1@p" | sort)
    [ -n "$new_content" ] && [ "$new_content" = "$uploaded_content" ] &&
        pass "${t}_only_new_content_uploaded" ||
        fail "${t}_only_new_content_uploaded" "uploaded $(echo "$uploaded_content" | grep -c .), new $(echo "$new_content" | grep -c .)"
    echo "$puts" | grep -q '^DELETE' && fail "${t}_nothing_deleted" "$(echo "$puts" | grep -m1 DELETE)" ||
        pass "${t}_nothing_deleted"
    local deleted
    deleted=$(cd "$TMP/$t-gen1" && find . -type f | while read -r f; do [ -f "$store/$f" ] || echo "$f"; done)
    [ -z "$deleted" ] && pass "${t}_old_files_kept" || fail "${t}_old_files_kept" "$deleted"
    check "${t}_repo_json_updated" cmp site2/repo.json "$store/repo.json"
    check "${t}_published_site_verifies" "$PCGEN" verify "$store" -p k.pub

    rm -rf "$FAKE_STORE.snaps" "$FAKE_STORE.log"
    PUBLISH_TOOL=$tool "$PUBLISH" --prune site2 "$dest" >"$t-3.out" 2>&1 &&
        pass "${t}_prune_runs" || fail "${t}_prune_runs" "$(tail -2 "$t-3.out")"
    check "${t}_prune_makes_store_equal_site" same_files site2 "$store"
    local dels gone
    dels=$(grep -c '^DELETE ' "$FAKE_STORE.log")
    gone=$(cd site1 && find . -type f | while read -r f; do [ -e "../site2/$f" ] || echo "$f"; done | grep -c .)
    [ "$gone" -gt 0 ] && [ "$dels" -eq "$gone" ] && pass "${t}_prune_deletes_only_what_gc_removed" ||
        fail "${t}_prune_deletes_only_what_gc_removed" "$dels deletes for $gone files"
    tail -1 "$FAKE_STORE.log" | grep -q '^DELETE' && ! grep -A1000 '^DELETE' "$FAKE_STORE.log" | grep -q '^PUT' &&
        pass "${t}_prune_after_publish" || fail "${t}_prune_after_publish" "a PUT after a DELETE"

    rm -rf "$FAKE_STORE.snaps" "$FAKE_STORE.log"
    PUBLISH_TOOL=$tool "$PUBLISH" --dry-run --prune site1 "$dest" >"$t-4.out" 2>&1 &&
        ! grep -qE '^(PUT|DELETE) ' "$FAKE_STORE.log" && pass "${t}_dry_run_writes_nothing" ||
        fail "${t}_dry_run_writes_nothing" "$(grep -m1 -E '^(PUT|DELETE) ' "$FAKE_STORE.log") $(tail -1 "$t-4.out")"
}

# headers_meta SITE METADIR: the first file whose stored headers are wrong.
headers_meta() {
    local site=$1 meta=$2 f want got
    while IFS= read -r f; do
        case $f in
        objects/* | patches/*) want="$IMMUTABLE|application/octet-stream" ;;
        manifests/* | deltas/*) want="$IMMUTABLE|application/json" ;;
        repo.json) want="$SHORT|application/json" ;;
        repo.json.minisig) want="$SHORT|text/plain; charset=utf-8" ;;
        index.html) want="$SHORT|text/html; charset=utf-8" ;;
        style.css) want="$SHORT|text/css; charset=utf-8" ;;
        *) want="$SHORT|" ;;
        esac
        got="$(sed -n 's/^Cache-Control: //p' "$meta/$f" 2>/dev/null)|$(sed -n 's/^Content-Type: //p' "$meta/$f" 2>/dev/null)"
        case $want in
        *"|") [[ $got == "$want"?* && $got != *guessed* ]] || { echo "$f: $got"; return; } ;;
        *) [ "$got" = "$want" ] || { echo "$f: $got"; return; } ;;
        esac
    done < <(cd "$site" && find . -type f ! -name .gc-state | sed 's|^\./||')
}

publish_checks aws s3://bucket/updates bucket/updates
publish_checks rclone store:bucket2/site bucket2/site

# An aws bucket without prefix works too.
FAKE_STORE=$TMP/store-root "$PUBLISH" site2 s3://rootbucket >root.out 2>&1 &&
    same_files site2 "$TMP/store-root/rootbucket" >/dev/null &&
    pass aws_bucket_root || fail aws_bucket_root "$(tail -2 root.out)"

# The client installs from what was uploaded.
"$PC" init --root inst --repo "$TMP/store-aws/bucket/updates" -p k.pub >/dev/null &&
    "$PC" update --root inst >update.out 2>&1 && same_tree inst/current/ all/1.10.0/ &&
    pass client_installs_from_uploaded_site || fail client_installs_from_uploaded_site "$(tail -2 update.out)"

# Refusals: nothing is called when the site is incomplete or the usage wrong.
export FAKE_STORE=$TMP/store-refuse
cp -a site2 broken
rm "broken/$(cd broken && find patches -type f | head -1)"
check_fails incomplete_site_refused "incomplete, nothing uploaded" "$PUBLISH" broken s3://b/p
[ ! -s "$FAKE_STORE.log" ] && pass incomplete_site_uploads_nothing ||
    fail incomplete_site_uploads_nothing "$(head -1 "$FAKE_STORE.log")"
check_fails dest_must_be_s3_url "DEST must be s3://" "$PUBLISH" site2 /tmp/x
check_fails rclone_dest_must_be_remote "DEST must be remote:" env PUBLISH_TOOL=rclone "$PUBLISH" site2 /tmp/x
check_fails unknown_tool_refused "PUBLISH_TOOL must be" env PUBLISH_TOOL=scp "$PUBLISH" site2 s3://b
"$PUBLISH" site2 >/dev/null 2>&1
[ $? -eq 2 ] && pass bad_usage_exit_2 || fail bad_usage_exit_2 "exit status not 2"

finish
