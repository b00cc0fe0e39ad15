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

# extract FILE JOB [DIR]: the scripts JOB runs, one file each, in DIR/NN
# (default steps/; a "# if: …" first line carries a GitHub step condition);
# for a GitLab job also DIR/parallel (its `parallel:`, or 1) and
# DIR/artifacts (its artifacts' paths, one a line). Prints how many.
extract() {
    local dir=${3:-steps}
    rm -rf "$dir" && mkdir "$dir"
    "$PY" - "$1" "$2" "$dir" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
name, d = sys.argv[2], sys.argv[3]
out = []
if "jobs" in doc:   # GitHub Actions
    assert doc[True if True in doc else "on"]["push"]["tags"] == ["v*"]
    job = doc["jobs"][name]
    for st in job["steps"]:
        if "uses" in st or st["name"] == "Install patchcast":
            continue
        out.append(("# if: %s\n" % st["if"] if "if" in st else "") + st["run"])
else:               # GitLab CI
    job = doc[name]
    base = job
    while "rules" not in base:  # extends, as GitLab merges it
        base = doc[base["extends"]]
    assert any("schedule" in r["if"] for r in base["rules"])
    out.append("\n".join(job["script"]))
    open("%s/parallel" % d, "w").write("%d\n" % job.get("parallel", 1))
    open("%s/artifacts" % d, "w").write("".join(p + "\n" for p in job.get("artifacts", {}).get("paths", [])))
for i, s in enumerate(out):
    open("%s/%02d" % (d, i), "w").write(s + "\n")
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

# run_steps: run $STEPS/* (default steps/) in app/ with bash -eo pipefail
# (GitHub's shell; GitLab stops at the first failing line too). GitHub
# conditions of the form startsWith(github.ref, 'refs/tags/v') are evaluated.
run_steps() {
    local s cond
    for s in "${STEPS:-steps}"/[0-9][0-9]; do
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
        rm -rf app app.src runner && mkdir runner
        case $run in
        1) tag=v1.0.0 label=first_release ;;
        2) tag=v1.1.0 label=second_release ;;
        3) tag="" label=scheduled_resign ;;
        esac
        app_release "$run"
        cp -a app app.src
        if (
            [ -z "$tag" ] || export GITHUB_REF=refs/tags/$tag GITHUB_REF_NAME=$tag CI_COMMIT_TAG=$tag
            TMPDIR=$TMP/runner RUN=$run run_steps_env
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
n=$(extract "$TOP/ci/github-actions.yml" publish) && [ "$n" -ge 4 ] && pass github_yaml_parses ||
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
n=$(extract "$TOP/ci/gitlab-ci.yml" publish-updates) && [ "$n" -eq 1 ] && pass gitlab_yaml_parses ||
    fail gitlab_yaml_parses "$n"
check gitlab_script_is_valid_bash bash -n steps/00
story gitlab "$TMP/host/www"
[ -f host/archive/1.0.0.tar.gz ] && [ -f host/archive/1.1.0.tar.gz ] && [ -f host/archive/gc-state ] &&
    pass gitlab_archive_kept || fail gitlab_archive_kept "$(ls host/archive | tr '\n' ' ')"

# ---- the sharded variants: plan, a matrix of jobs, assemble, publish ------------
# Each CI job on a fresh checkout (app/ from app.src), state passed only as
# CI passes it: GitHub through the bucket and the plan's output (the
# matrix), GitLab through artifacts (collected in art/, given to the jobs
# that need them). Matrix jobs run one after the other here (the fake store
# snapshots every write); tests/e2e/test_shard.sh runs jobs at once. The
# published sites equal those of the one-machine variants but for times.
fresh_app() { rm -rf app && cp -a app.src app; }
for j in plan shard assemble; do
    n=$(extract "$TOP/ci/github-actions.yml" "$j" "gh-$j") || n=0
    bad=$(for s in gh-$j/[0-9][0-9]; do bash -n "$s" 2>&1 || echo "$s"; done)
    [ "$n" -ge 2 ] && [ -z "$bad" ] && pass "github_sharded_${j}_steps_valid" ||
        fail "github_sharded_${j}_steps_valid" "$n steps $bad"
done
run_steps_env() {
    local jobs j
    export RUNNER_TEMP=$TMP/runner GITHUB_ENV=$TMP/runner/env GITHUB_OUTPUT=$TMP/runner/output
    export PUBLISH_DIR=$TOP/ci SITE_URL=s3://bucket/updates ARCHIVE_URL=s3://bucket/private/releases
    export STORE_URL=s3://bucket/private/shards/$RUN PATCHCAST_SECKEY=$SECKEY_TEXT
    export PATCHCAST_PASSWORD=ci-secret-password FAKE_STORE=$TMP/sstore
    fresh_app && STEPS=gh-plan run_steps || return 1
    jobs=$(sed -n 's/^jobs=//p' "$GITHUB_OUTPUT")
    echo "matrix $jobs" >>"$TMP/matrices"
    for j in $(echo "$jobs" | jq -r '.[]'); do
        fresh_app && JOB=$j STEPS=gh-shard run_steps || return 1
    done
    fresh_app && STEPS=gh-assemble run_steps
}
rm -f matrices
story github_sharded "$TMP/sstore/bucket/updates"
# The matrix is the plan's jobs; a release has object work (and its edge's
# patches and whole-release patch), and the re-sign none but the patches gc
# removed as unused (patch_retention_days 0; a one-machine build diffs them
# again too).
titles() { jq -r '.jobs[].title' "sstore/bucket/private/shards/$1/jobs.json" | tr '\n' ';'; }
[ "$(sed -n 1p matrices)" = "matrix [0]" ] && [ "$(sed -n 2p matrices)" = "matrix [0,1,2]" ] &&
    [[ $(titles 2) == "objects of 1.1.0;patches of 1.0.0 -> 1.1.0;release patch of 1.0.0 -> 1.1.0;" ]] &&
    [[ $(titles 3) != *objects* ]] && pass github_sharded_matrix_from_plan ||
    fail github_sharded_matrix_from_plan "$(tr '\n' ' ' <matrices) run 2: $(titles 2) run 3: $(titles 3)"
ls sstore/bucket/private/shards/2/jobs/*/0.json >/dev/null 2>&1 && pass github_sharded_results_in_store ||
    fail github_sharded_results_in_store "$(find sstore/bucket/private/shards | head -3 | tr '\n' ' ')"
out=$(python3 "$TOP/tests/e2e/same_site.py" store/bucket/updates sstore/bucket/updates 2>&1) &&
    pass github_sharded_site_equals_one_machine_site ||
    fail github_sharded_site_equals_one_machine_site "$out"

for j in plan-updates shard-updates assemble-updates; do
    n=$(extract "$TOP/ci/gitlab-ci.yml" "$j" "gl-$j") || n=0
    [ "$n" -eq 1 ] && bash -n "gl-$j/00" && pass "gitlab_sharded_${j}_script_valid" ||
        fail "gitlab_sharded_${j}_script_valid" "$n"
done
[ "$(cat gl-shard-updates/parallel)" -ge 2 ] && pass gitlab_shards_parallel ||
    fail gitlab_shards_parallel "parallel: $(cat gl-shard-updates/parallel)"
# run_gitlab_job JOB [VAR=VALUE…]: JOB on a fresh checkout with the
# artifacts of the jobs before it; its own artifacts added to art/.
run_gitlab_job() {
    local job=$1 p
    shift
    fresh_app && cp -a art/. app/ && (export "$@"; STEPS=gl-$job run_steps) || return 1
    while IFS= read -r p; do
        [ -e "app/${p%/}" ] || continue
        mkdir -p "art/$(dirname "${p%/}")" && cp -a "app/${p%/}" "art/$(dirname "${p%/}")/"
    done <"gl-$job/artifacts"
}
run_steps_env() {
    local i n
    export PUBLISH_DIR=$TOP/ci UPDATES_DEST=$TMP/shost/www ARCHIVE_DEST=$TMP/shost/archive
    export PATCHCAST_SECKEY=$SECKEY_TEXT PATCHCAST_PASSWORD=ci-secret-password
    rm -rf art && mkdir art
    run_gitlab_job plan-updates || return 1
    n=$(cat gl-shard-updates/parallel)
    for ((i = 1; i <= n; i++)); do
        run_gitlab_job shard-updates CI_NODE_INDEX=$i CI_NODE_TOTAL=$n || return 1
    done
    echo "jobs $(cat art/jobs.count) results $(find art/store/jobs -name '*.json' 2>/dev/null | wc -l)" >>"$TMP/gl-counts"
    run_gitlab_job assemble-updates
}
mkdir -p shost/www shost/archive
rm -f gl-counts
story gitlab_sharded "$TMP/shost/www"
# Every job of each plan ran on one of the nodes and left its result.
ok=1
while read -r _ jobs _ results; do [ "$jobs" = "$results" ] || ok=0; done <gl-counts
[ "$ok" = 1 ] && [ "$(sed -n 2p gl-counts)" = "jobs 3 results 3" ] && pass gitlab_shards_run_every_job ||
    fail gitlab_shards_run_every_job "$(tr '\n' ' ' <gl-counts)"
out=$(python3 "$TOP/tests/e2e/same_site.py" host/www shost/www 2>&1) &&
    pass gitlab_sharded_site_equals_one_machine_site || fail gitlab_sharded_site_equals_one_machine_site "$out"

finish

