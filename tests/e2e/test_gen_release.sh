#!/usr/bin/env bash
# test_gen_release.sh — release settings from patchcast.json (issue 17) in
# what patchcast-gen build writes: repo.json carries exactly the keys
# configured (rollout, withdrawn, withdrawn_reason, critical,
# minimum_version) and none when unset, byte for byte; release settings
# for a version, or a minimum_version, naming no release are an error (an
# entry with only notes, parent or channels for a release no longer there
# is still ignored); a channel whose newest version is withdrawn gets a
# warning, and the site still verifies.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD

make_releases rel
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
# Plain: version entries, but no release settings (and one for a release
# that is not there, ignored as it always was).
cat >plain.json <<'EOF'
{"product": "demo", "versions": {"1.1.0": {"notes": "Plain notes."}, "1.2.0": {"channels": ["stable", "beta"]},
 "0.9.0": {"notes": "An entry for a release no longer there: ignored, as before."}}}
EOF
cat >rel.json <<'EOF'
{"product": "demo", "versions": {
 "1.1.0": {"notes": "Plain notes.", "rollout": {"percent": 12.5, "start": "2026-12-01", "ramp": "7d"},
           "critical": true},
 "1.2.0": {"channels": ["stable", "beta"], "minimum_version": "1.1.0",
           "rollout": {"percent": 40, "start": "2026-12-01T09:30:00Z"}},
 "1.2.0-rc.1": {"rollout": {"percent": 0, "ramp": "12h"}, "withdrawn": false, "critical": false},
 "1.10.0": {"withdrawn_reason": "Corrupts <data> & \"settings\"", "withdrawn": true}
}}
EOF

if "$PCGEN" build rel -o site -s k.key --config plain.json >plain.out 2>&1; then
    pass build_plain
else
    fail build_plain "$(tail -3 plain.out | tr '\n' ' ')"
    finish
fi
cp site/repo.json plain.repo.json
# The keys of each version object without release settings: those of before.
python3 - plain.repo.json >plain.check 2>&1 <<'PY'
import json, sys
text = open(sys.argv[1]).read()
repo = json.loads(text)
base = {"name", "parent", "released", "manifest", "full_bytes", "files"}
for v in repo["versions"]:
    want = base | ({"notes"} if "notes" in v else set())
    assert set(v) == want, (v["name"], sorted(set(v) ^ want))
for word in ("rollout", "withdrawn", "critical", "minimum_version", "ramp_seconds"):
    assert word not in text, word
print("plain ok")
PY
grep -q "^plain ok" plain.check && pass no_release_keys_when_unset ||
    fail no_release_keys_when_unset "$(tail -2 plain.check | tr '\n' ' ')"

# The settings on (a rebuild of the same site: the release dates carry over).
if "$PCGEN" build rel -o site -s k.key --config rel.json >rel.out 2>rel.err; then
    pass build_with_release_settings
else
    fail build_with_release_settings "$(tail -3 rel.err | tr '\n' ' ')"
    finish
fi
cp site/repo.json rel.repo.json
python3 - plain.repo.json rel.repo.json >rel.check 2>&1 <<'PY'
import json, sys
plain, rel = (json.load(open(p)) for p in sys.argv[1:3])
want = {
    "1.0.0": {},
    "1.1.0": {"rollout": {"percent": 12.5, "start": "2026-12-01T00:00:00Z", "ramp_seconds": 604800},
              "critical": True},
    "1.2.0-rc.1": {"rollout": {"percent": 0, "ramp_seconds": 43200}},
    "1.2.0": {"rollout": {"percent": 40, "start": "2026-12-01T09:30:00Z"}, "minimum_version": "1.1.0"},
    "1.10.0": {"withdrawn": True, "withdrawn_reason": 'Corrupts <data> & "settings"'},
}
before = {v["name"]: v for v in plain["versions"]}
for v in rel["versions"]:
    n = v["name"]
    old = before[n]
    extra = {k: v[k] for k in v if k not in old}
    assert extra == want[n], (n, extra, want[n])
    assert {k: v[k] for k in old} == old, (n, "other keys changed")
    # in the model's canonical order, after the keys of before
    keys = list(v)
    assert keys[:len(old)] == list(old), (n, keys)
    order = ["rollout", "withdrawn", "withdrawn_reason", "critical", "minimum_version"]
    assert keys[len(old):] == [k for k in order if k in extra], (n, keys)
    if "rollout" in v:
        assert list(v["rollout"]) == [k for k in ("percent", "start", "ramp_seconds") if k in v["rollout"]], v["rollout"]
assert len(rel["versions"]) == len(want)
print("rel ok")
PY
grep -q "^rel ok" rel.check && pass repo_json_has_exactly_the_keys ||
    fail repo_json_has_exactly_the_keys "$(tail -2 rel.check | tr '\n' ' ')"
check site_with_release_settings_verifies "$PCGEN" verify site -p k.pub

# Both channels' newest is 1.10.0, withdrawn: a warning each, naming the
# fallback along the parents (1.2.0); the build still succeeded (above).
w=$(grep -c '^warning: channel \(stable\|beta\): its newest version 1.10.0 is withdrawn; clients fall back to 1.2.0' rel.err)
[ "$w" = 2 ] && pass warns_withdrawn_channel_head || fail warns_withdrawn_channel_head "$w warnings: $(grep '^warning' rel.err | tr '\n' ' ')"
grep -q '^warning' plain.out && fail no_warning_without_withdrawn "$(grep '^warning' plain.out)" ||
    pass no_warning_without_withdrawn
# 1.2.0 withdrawn too: the fallback skips it.
sed 's/"1.2.0": {/"1.2.0": {"withdrawn": true, /' rel.json >rel2.json
"$PCGEN" build rel -o site2 -s k.key --config rel2.json >/dev/null 2>rel2.err
grep -q '^warning: channel stable: its newest version 1.10.0 is withdrawn; clients fall back to 1.2.0-rc.1,' rel2.err &&
    pass warning_follows_parent_chain || fail warning_follows_parent_chain "$(grep '^warning' rel2.err | tr '\n' ' ')"

# Settings removed again: repo.json is byte-identical to the plain one but
# for what every build changes (serial, created, expires).
"$PCGEN" build -q rel -o site -s k.key --config plain.json >/dev/null 2>&1
norm() { sed -E 's/^\t"(serial|created|expires)":.*$/\t"\1": X/' "$1"; }
if [ "$(norm plain.repo.json | grep -c ': X$')" = 3 ] && cmp -s <(norm plain.repo.json) <(norm site/repo.json); then
    pass unset_again_byte_identical
else fail unset_again_byte_identical "$(diff <(norm plain.repo.json) <(norm site/repo.json) | head -4 | tr '\n' ' ')"; fi

# Names of no release: errors naming them, and no site written.
sed 's/"minimum_version": "1.1.0"/"minimum_version": "1.1"/' rel.json >badmin.json
check_fails minimum_version_no_release "config: versions.1.2.0.minimum_version: no release 1.1$" \
    "$PCGEN" build -q rel -o bad1 -s k.key --config badmin.json
sed 's/"1.10.0": {/"1.10": {/' rel.json >badname.json
check_fails version_key_no_release "config: versions.1.10: no release 1.10 in rel for its release settings$" \
    "$PCGEN" build -q rel -o bad2 -s k.key --config badname.json
[ ! -e bad1/repo.json ] && [ ! -e bad2/repo.json ] && pass failed_builds_write_no_repo ||
    fail failed_builds_write_no_repo "a repo.json was written"
echo '{"product": "demo", "versions": {"1.0.0": {"rollout": {"percent": 101}}}}' >badpct.json
check_fails config_error_names_key "badpct.json: versions.1.0.0.rollout.percent: expected a number from 0 to 100" \
    "$PCGEN" build -q rel -o bad3 -s k.key --config badpct.json
finish
