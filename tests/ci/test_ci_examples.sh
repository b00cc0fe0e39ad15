#!/usr/bin/env bash
# test_ci_examples.sh — the example pipelines ci/github-actions.yml and
# ci/gitlab-ci.yml, run for real: their YAML parses, every script passes
# `bash -n`, and their steps (all but installing patchcast and setting up
# ssh) run three times in a scratch "application repository" — release tag
# v1.0.0, tag v1.1.0, then a scheduled re-sign — against a fake aws
# (tests/ci/fake-store.sh) or an rsync "host" folder. State survives only in
# the store/host, as in CI. Then the published site verifies, its serial
# went 1, 2, 3, the secret key existed only as a 0600 file during the
# build, and a client installs 1.1.0 from it.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD S3_ENDPOINT_URL PUBLISH_OPTS CI_COMMIT_TAG GITHUB_REF GITHUB_REF_NAME
PY=/usr/bin/python3 # Debian's, with python3-yaml

# bin/: the fake aws, and a patchcast-gen that records the mode of the key
# file it is given (then runs the real one).
mkdir bin
ln -s "$TOP/tests/ci/fake-store.sh" bin/aws
cat >bin/patchcast-gen <<EOF
#!/usr/bin/env bash
prev=""
for a in "\$@"; do
    [ "\$prev" = -s ] && stat -c '%a' "\$a" >>"$TMP/key-modes"
    prev=\$a
done
exec "$PCGEN" "\$@"
EOF
chmod +x bin/patchcast-gen
export PATH="$TMP/bin:$BUILD:$PATH"

# The signing key (with a password, as in CI).
export PATCHCAST_PASSWORD=ci-secret-password
"$PCGEN" keygen -p repo.pub -s repo.key >/dev/null || { fail keygen "failed"; finish; }
SECKEY_TEXT=$(cat repo.key)
unset PATCHCAST_PASSWORD

# steps FILE: the scripts to run, one file each, in steps/NN (a
# "# if: …" first line carries a GitHub step condition).
extract() {
    rm -rf steps && mkdir steps
    "$PY" - "$1" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
out = []
if "jobs" in doc:   # GitHub Actions
    assert doc[True if True in doc else "on"]["push"]["tags"] == ["v*"]
    job = doc["jobs"]["publish"]
    for st in job["steps"]:
        if "uses" in st or st["name"] == "Install patchcast":
            continue
        out.append(("# if: %s\n" % st["if"] if "if" in st else "") + st["run"])
else:               # GitLab CI
    job = doc["publish-updates"]
    assert any("schedule" in r["if"] for r in job["rules"])
    out.append("\n".join(job["script"]))
for i, s in enumerate(out):
    open("steps/%02d" % i, "w").write(s + "\n")
print(len(out))
EOF
}

# app_release N: the application's sources at release N (what a tag builds).
app_release() {
    mkdir -p app/keys
    cp repo.pub app/keys/repo.pub
    echo '{"product": "ciapp", "patch_retention_days": 0}' >app/patchcast.json
    seq 1 "$((20000 + $1 * 100))" >app/data.txt
    printf 'version %s\n' "$1" >app/VERSION
    cat >app/Makefile <<'EOF'
install:
	mkdir -p $(DESTDIR)/bin $(DESTDIR)/share
	printf '#!/bin/sh\ncat "$$(dirname "$$0")/../share/VERSION"\n' >$(DESTDIR)/bin/app
	chmod 755 $(DESTDIR)/bin/app
	cp data.txt VERSION $(DESTDIR)/share/
EOF
}

# run_steps NAME: run steps/* in app/ with bash -eo pipefail (GitHub's
# shell; GitLab stops at the first failing line too). GitHub conditions of
# the form startsWith(github.ref, 'refs/tags/v') are evaluated.
run_steps() {
    local s cond
    for s in steps/*; do
        cond=$(sed -n '1s/^# if: //p' "$s")
        if [ -n "$cond" ]; then
            [ "$cond" = "startsWith(github.ref, 'refs/tags/v')" ] ||
                { echo "unknown condition $cond"; return 1; }
            [[ ${GITHUB_REF:-} == refs/tags/v* ]] || continue
        fi
        (cd app && bash --noprofile --norc -eo pipefail "$TMP/$s") || { echo "step $s failed"; return 1; }
    done
}

# story NAME SITE_DIR: three runs; then checks on the published site.
story() {
    local name=$1 site=$2 run tag label key_left=""
    for run in 1 2 3; do
        rm -rf app runner && mkdir runner
        case $run in
        1) tag=v1.0.0 label=first_release ;;
        2) tag=v1.1.0 label=second_release ;;
        3) tag="" label=scheduled_resign ;;
        esac
        app_release "$run"
        if (
            [ -z "$tag" ] || export GITHUB_REF=refs/tags/$tag GITHUB_REF_NAME=$tag CI_COMMIT_TAG=$tag
            TMPDIR=$TMP/runner run_steps_env
        ) >"$name-run$run.log" 2>&1; then
            pass "${name}_$label"
        else
            fail "${name}_$label" "$(tail -3 "$name-run$run.log" | tr '\n' ' ')"
            return
        fi
        # The key's text is nowhere on disk after the run (mktemp uses TMPDIR).
        if grep -rlF "$(sed -n 2p repo.key)" runner app >/dev/null 2>&1; then
            key_left="$key_left run$run: $(grep -rlF "$(sed -n 2p repo.key)" runner app | head -1)"
        fi
    done
    check "${name}_published_site_verifies" "$PCGEN" verify "$site" -p repo.pub
    local tc
    tc=$(sed -n 3p "$site/repo.json.minisig")
    [[ $tc == *"serial:3 product:ciapp "* ]] && pass "${name}_serial_continues_across_runs" ||
        fail "${name}_serial_continues_across_runs" "$tc"
    [ "$(sort -u key-modes)" = 600 ] && [ "$(wc -l <key-modes)" -eq 3 ] &&
        pass "${name}_key_file_mode_0600" || fail "${name}_key_file_mode_0600" "$(tr '\n' ' ' <key-modes)"
    [ -z "$key_left" ] && pass "${name}_key_file_removed" || fail "${name}_key_file_removed" "$key_left"
    rm -f key-modes
    rm -rf inst
    "$PC" init --root inst --repo "$site" -p repo.pub >/dev/null &&
        "$PC" update --root inst >"$name-client.log" 2>&1 && [ "$(inst/current/bin/app)" = "version 2" ] &&
        pass "${name}_client_installs_latest_release" ||
        fail "${name}_client_installs_latest_release" "$(tail -2 "$name-client.log")"
}

# GitHub Actions: the workflow's env, with GitHub's RUNNER_TEMP/GITHUB_ENV;
# PUBLISH_DIR as the install step would have set it.
run_steps_env() {
    RUNNER_TEMP=$TMP/runner GITHUB_ENV=$TMP/runner/env PUBLISH_DIR=$TOP/ci \
        SITE_URL=s3://bucket/updates ARCHIVE_URL=s3://bucket/private/releases \
        PATCHCAST_SECKEY=$SECKEY_TEXT PATCHCAST_PASSWORD=ci-secret-password \
        FAKE_STORE=$TMP/store run_steps
}
n=$(extract "$TOP/ci/github-actions.yml") && [ "$n" -ge 4 ] && pass github_yaml_parses ||
    fail github_yaml_parses "$n"
bad=$(for s in steps/*; do bash -n "$s" 2>&1 || echo "$s"; done)
[ -z "$bad" ] && pass github_steps_are_valid_bash || fail github_steps_are_valid_bash "$bad"
story github "$TMP/store/bucket/updates"
[ -f store/bucket/private/releases/1.0.0.tar.gz ] && [ -f store/bucket/private/releases/1.1.0.tar.gz ] &&
    [ -f store/bucket/private/releases/gc-state ] && pass github_archive_kept ||
    fail github_archive_kept "$(ls store/bucket/private/releases 2>&1 | tr '\n' ' ')"
grep -q "^CALL aws s3 cp .*repo.json.minisig" store.log && pass github_published_with_publish_s3 ||
    fail github_published_with_publish_s3 "no upload of repo.json.minisig in the store log"

# GitLab CI: the job's variables pointed at local "host" folders (created
# once, as the comment asks).
run_steps_env() {
    PUBLISH_DIR=$TOP/ci UPDATES_DEST=$TMP/host/www ARCHIVE_DEST=$TMP/host/archive \
        PATCHCAST_SECKEY=$SECKEY_TEXT PATCHCAST_PASSWORD=ci-secret-password run_steps
}
mkdir -p host/www host/archive
n=$(extract "$TOP/ci/gitlab-ci.yml") && [ "$n" -eq 1 ] && pass gitlab_yaml_parses ||
    fail gitlab_yaml_parses "$n"
check gitlab_script_is_valid_bash bash -n steps/00
story gitlab "$TMP/host/www"
[ -f host/archive/1.0.0.tar.gz ] && [ -f host/archive/1.1.0.tar.gz ] && [ -f host/archive/gc-state ] &&
    pass gitlab_archive_kept || fail gitlab_archive_kept "$(ls host/archive | tr '\n' ' ')"

finish
