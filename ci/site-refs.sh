# site-refs.sh — sourced by the publish scripts: site_refs SITE prints, one a
# line, the path (relative to SITE) of every file SITE/repo.json reaches:
# its manifests and deltas, the objects the manifests list and the patches
# the deltas list (docs/format.md §1). It reads the documents with grep, not
# a JSON parser: a raw '"' only delimits strings in JSON, so the patterns
# below only match real keys. It never verifies anything: that is
# `patchcast-gen verify`'s job; the publish scripts only use the list to
# refuse a --prune that would delete a file the new site still needs.
# Exit status 1 if repo.json or one of the documents it names is missing.

HEX='[0-9a-f]{64}'

_refs_hashrefs() { # KEY FILE: the sha256 of every "KEY": {…} hashref
    tr -d '\n' <"$2" | grep -oE "\"$1\"[[:space:]]*:[[:space:]]*\\{[^}]*\\}" |
        grep -oE "\"sha256\"[[:space:]]*:[[:space:]]*\"$HEX\"" | grep -oE "$HEX"
}

_refs_values() { # KEY FILE: every "KEY": "<hex>" value, in document order
    grep -oE "\"$1\"[[:space:]]*:[[:space:]]*\"$HEX\"" "$2" | grep -oE "$HEX\"\$" | tr -d '"'
}

site_refs() {
    local site=$1 h rc=0
    [ -f "$site/repo.json" ] || { echo "site-refs: $site/repo.json is missing" >&2; return 1; }
    {
        for h in $(_refs_hashrefs manifest "$site/repo.json"); do
            echo "manifests/$h.json"
            if [ -f "$site/manifests/$h.json" ]; then
                _refs_values sha256 "$site/manifests/$h.json" | sed -E 's|^(..)(.*)$|objects/\1/\1\2|'
            else
                rc=1
            fi
        done
        for h in $(_refs_hashrefs delta "$site/repo.json"); do
            echo "deltas/$h.json"
            if [ -f "$site/deltas/$h.json" ]; then
                # Each patch entry has one from_sha256 and one to_sha256, so the
                # k-th of each belong to the same entry whatever the key order;
                # so has the release object, whose patch is named the same way.
                paste -d- <(_refs_values from_sha256 "$site/deltas/$h.json") \
                    <(_refs_values to_sha256 "$site/deltas/$h.json") |
                    sed -E 's|^(..)(.*)$|patches/\1/\1\2|'
            else
                rc=1
            fi
        done
        exit $rc # the group is a subshell (it feeds a pipe)
    } | sort -u
    return "${PIPESTATUS[0]}"
}
