#!/usr/bin/env bash
# test_publish_rsync.sh — ci/publish-rsync into a local folder: the result
# equals the site; at every moment of the upload (a snapshot after each
# rsync run) the published repo.json names only files already there and the
# pair repo.json/.minisig verifies except in the one documented gap; a second
# generation keeps every file of the first; --prune mirrors the site's gc;
# an incomplete site is refused before anything is uploaded; a client
# installs and updates from the published folder.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/e2e/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD
PUBLISH=$TOP/ci/publish-rsync

source "$TOP/tests/ci/moments.sh"

# An rsync on PATH that runs the real one, then logs its arguments and
# snapshots the destination folder with hard links (rsync replaces files by
# renaming, so a snapshot keeps the bytes of its moment).
REAL_RSYNC=$(command -v rsync) || { fail rsync_installed "rsync not found"; finish; }
mkdir -p bin snaps
cat >bin/rsync <<EOF
#!/usr/bin/env bash
"$REAL_RSYNC" "\$@" || exit \$?
n=\$(ls "$TMP/snaps" | wc -l)
echo "\$n \$*" >>"$TMP/rsync.log"
[ -d "$TMP/pub" ] && cp -al "$TMP/pub" "$TMP/snaps/\$(printf %03d "\$n")"
exit 0
EOF
chmod +x bin/rsync

# moments NAME: check_moments on the snapshots of one publish run (the gap
# is the snapshot after the run that uploaded repo.json), then clear them.
moments() {
    local gap n
    n=$(grep -- '--include=/repo\.json ' rsync.log | cut -d' ' -f1)
    gap=$(printf %03d "$n")
    [ "$(ls snaps | wc -l)" -ge 7 ] || fail "$1" "only $(ls snaps | wc -l) rsync runs seen"
    check_moments "$1" snaps . "$gap" k.pub
    rm -rf snaps/* rsync.log
}

# Generation 1: three releases.
make_releases all
mkdir rel1 rel2
cp -a all/1.0.0 all/1.1.0 all/1.2.0-rc.1 all/1.0.0.md rel1/
cp -a all/1.1.0 all/1.2.0 all/1.10.0 rel2/
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
echo '{"product": "demo", "patch_retention_days": 0}' >cfg.json
"$PCGEN" build rel1 -o site1 -s k.key --config cfg.json -q >/dev/null ||
    { fail build_site1 "patchcast-gen build failed"; finish; }

if PATH="$TMP/bin:$PATH" "$PUBLISH" site1 pub >publish1.out 2>&1; then
    pass publish_first_generation
else
    fail publish_first_generation "$(tail -2 publish1.out)"
    finish
fi
check published_equals_site diff -r site1 pub
moments first_upload_consistent_at_every_moment
order=$(grep -o 'publish-rsync: [a-z./]*' publish1.out | sed 's/publish-rsync: //' | tr '\n' ' ')
[ "$order" = "objects/ patches/ deltas/ manifests/ other repo.json repo.json.minisig done " ] &&
    pass upload_order_logged || fail upload_order_logged "$order"

cp -a pub pub-gen1
"$PC" init --root inst --repo "$TMP/pub" -p k.pub >/dev/null &&
    "$PC" update --root inst >update1.out 2>&1 && same_tree inst/current/ all/1.1.0/ &&
    pass client_installs_from_published_folder ||
    fail client_installs_from_published_folder "$(tail -2 update1.out)"

# Generation 2: 1.0.0 and 1.2.0-rc.1 dropped, 1.2.0 and 1.10.0 added, gc
# removes what is no longer referenced (retention 0 days).
cp -a site1 site2
"$PCGEN" build rel2 -o site2 -s k.key --config cfg.json -q >/dev/null &&
    "$PCGEN" gc site2 --config cfg.json >gc.out 2>&1 ||
    { fail build_site2 "$(tail -2 gc.out)"; finish; }
gone=$(cd site1 && find . -type f | while read -r f; do [ -e "../site2/$f" ] || echo "$f"; done)
[ -n "$gone" ] && pass second_generation_lacks_old_files ||
    fail second_generation_lacks_old_files "gc removed nothing: the next checks would prove nothing"

PATH="$TMP/bin:$PATH" "$PUBLISH" site2 pub >publish2.out 2>&1 &&
    pass publish_second_generation || fail publish_second_generation "$(tail -2 publish2.out)"
moments second_upload_consistent_at_every_moment
deleted=$(cd pub-gen1 && find . -type f | while read -r f; do [ -f "../pub/$f" ] || echo "$f"; done)
[ -z "$deleted" ] && pass no_old_file_deleted ||
    fail no_old_file_deleted "$(echo "$deleted" | head -3 | tr '\n' ' ')"
changed=$(cd pub-gen1 && find objects patches deltas manifests -type f |
    while read -r f; do cmp -s "$f" "../pub/$f" || echo "$f"; done)
[ -z "$changed" ] && pass content_addressed_files_unchanged ||
    fail content_addressed_files_unchanged "$(echo "$changed" | head -3 | tr '\n' ' ')"
check repo_json_updated cmp site2/repo.json pub/repo.json
check signature_updated cmp site2/repo.json.minisig pub/repo.json.minisig
[ ! -e pub/.gc-state ] && pass gc_state_not_published || fail gc_state_not_published "pub/.gc-state exists"
check published_site_verifies "$PCGEN" verify pub -p k.pub

"$PC" update --root inst >update2.out 2>&1 && same_tree inst/current/ all/1.10.0/ &&
    grep -q 'update 1.1.0 -> 1.10.0' update2.out &&
    pass client_updates_from_published_folder ||
    fail client_updates_from_published_folder "$(tail -2 update2.out)"

# A client still holding generation 1's repo.json finds all it names.
mkdir old-view && cp -a pub/. old-view/ && cp pub-gen1/repo.json pub-gen1/repo.json.minisig old-view/
[ -z "$(refs_missing old-view)" ] && pass old_repo_json_still_served ||
    fail old_repo_json_still_served "$(refs_missing old-view | head -1)"

# --prune: after publishing, DEST becomes exactly the new site.
cp -a pub pub-prune
"$PUBLISH" --prune site2 pub-prune >prune.out 2>&1 && pass prune_runs ||
    fail prune_runs "$(tail -2 prune.out)"
check prune_makes_dest_equal_site diff -r -x .gc-state site2 pub-prune
n_deleted=$(grep -c '^publish-rsync: deleted ' prune.out)
# (gc removes the objects/xx folders it empties: rsync deletes those too)
n_gone=$(cd site1 && find . -mindepth 1 | while read -r f; do [ -e "../site2/$f" ] || echo "$f"; done | grep -c .)
[ "$n_deleted" -eq "$n_gone" ] && pass prune_reports_each_deletion ||
    fail prune_reports_each_deletion "$n_deleted deleted lines for $n_gone files and folders"

# An incomplete site is refused before anything is uploaded.
cp -a site2 site-broken
obj=$(cd site-broken && find objects -type f | head -1)
rm "site-broken/$obj"
cp -a pub-prune pub-before
check_fails incomplete_site_refused "incomplete, nothing uploaded.*$obj" \
    "$PUBLISH" --prune site-broken pub-prune
check incomplete_site_left_dest_untouched diff -r pub-before pub-prune
rm site-broken/manifests/*.json
check_fails site_without_manifests_refused "incomplete" "$PUBLISH" site-broken pub-x
[ ! -e pub-x ] && pass refused_publish_creates_nothing || fail refused_publish_creates_nothing "pub-x exists"

# --dry-run changes nothing; bad usage is exit 2.
"$PUBLISH" --dry-run site2 pub-dry >/dev/null 2>&1 && [ ! -e pub-dry ] &&
    pass dry_run_changes_nothing || fail dry_run_changes_nothing "pub-dry created or failed"
"$PUBLISH" site2 >/dev/null 2>&1
[ $? -eq 2 ] && pass bad_usage_exit_2 || fail bad_usage_exit_2 "exit status not 2"
check_fails not_a_site_refused "no repo.json" "$PUBLISH" rel1 pub-y

finish
