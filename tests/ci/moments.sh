# moments.sh — sourced by the publish tests: checks on snapshots of a
# destination taken after every upload step. Needs lib.sh ($PC, pass, fail).

# refs_missing SITE: the files SITE/repo.json reaches that SITE lacks, one a
# line (python: independent of the publish scripts' own grep-based reader).
refs_missing() {
    python3 - "$1" <<'PY'
import json, os, sys
site = sys.argv[1]
def has(rel):
    if not os.path.isfile(os.path.join(site, rel)):
        print(rel)
        return False
    return True
repo = json.load(open(os.path.join(site, "repo.json")))
for v in repo["versions"]:
    rel = "manifests/%s.json" % v["manifest"]["sha256"]
    if has(rel):
        for f in json.load(open(os.path.join(site, rel)))["files"]:
            if f["type"] == "file":
                has("objects/%s/%s" % (f["sha256"][:2], f["sha256"]))
for e in repo["edges"]:
    rel = "deltas/%s.json" % e["delta"]["sha256"]
    if has(rel):
        for p in json.load(open(os.path.join(site, rel)))["patches"]:
            has("patches/%s/%s-%s" % (p["from_sha256"][:2], p["from_sha256"], p["to_sha256"]))
PY
}

# check_moments NAME SNAPS SUB GAP PUBKEY: in every snapshot SNAPS/*/SUB that
# holds a repo.json, that repo.json names only files present, and the pair
# repo.json/.minisig verifies — except in snapshot GAP (the one taken right
# after repo.json alone was replaced). Passes only if some snapshot held a
# repo.json.
check_moments() {
    local name=$1 snaps=$2 sub=$3 gap=$4 pub=$5 s d bad="" seen=0 miss
    for s in "$snaps"/*; do
        d=$s/$sub
        [ -f "$d/repo.json" ] || continue
        seen=$((seen + 1))
        miss=$(refs_missing "$d")
        [ -z "$miss" ] || bad="$bad ${s##*/}: repo.json names missing $(echo "$miss" | head -1);"
        if ! "$PC" verify -q -p "$pub" -m "$d/repo.json" >/dev/null 2>&1 && [ "${s##*/}" != "$gap" ]; then
            bad="$bad ${s##*/}: the pair does not verify (allowed only in ${gap:-none});"
        fi
    done
    [ "$seen" -gt 0 ] || bad="no snapshot held a repo.json"
    if [ -z "$bad" ]; then
        pass "$name"
    else
        fail "$name" "$(echo "$bad" | tr ';' '\n' | grep -c .) bad moments:$(echo "$bad" | cut -d';' -f1-2)"
    fi
}
