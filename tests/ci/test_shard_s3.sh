#!/usr/bin/env bash
# test_shard_s3.sh — a sharded build whose store is an S3 prefix: the real
# AWS CLI (Debian's awscli) against a real S3-compatible server (the npm
# package s3rver that `make deps` installs in tests/ci/s3rver/ for the
# publish-s3 tests, run by its serve.js; S3RVER_DIR names another copy) on
# a free loopback port, started here and stopped at exit. The jobs run as parallel
# processes into s3://…/run/1 and the assembled site is the one-machine
# build's but for its times; a rerun stores nothing (the server's own log
# of stores); two copies of every job at once into another prefix both
# succeed and assemble alike; an object replaced in the bucket is refused
# at assemble, naming it; a prefix without results names the jobs.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/e2e/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD S3_ENDPOINT_URL

# Only this test's settings reach the CLI; Debian's aws whatever else is on PATH.
for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export HOME=$TMP/home
mkdir -p "$HOME" bin s3 s3data
[ -x /usr/bin/aws ] || { fail tools_installed "/usr/bin/aws is missing (make deps: awscli)"; finish; }
ln -s /usr/bin/aws bin/aws
export PATH="$TMP/bin:$PATH"
S3RVER=${S3RVER_DIR:-$TOP/tests/ci/s3rver}
[ -f "$S3RVER/node_modules/s3rver/package.json" ] && command -v node >/dev/null ||
    { fail tools_installed "node or $S3RVER/node_modules/s3rver is missing (make deps)"; finish; }
pass tools_installed

# The server (tests/ci/s3rver/serve.js, as the publish-s3 tests run it) on
# a free port (s3/port once it accepts), bucket pc-shard; every object it
# stores or deletes, in order, in s3/events ("PUT pc-shard key").
NODE_PATH=$S3RVER/node_modules node --openssl-legacy-provider "$TOP/tests/ci/s3rver/serve.js" \
    s3data s3 pc-shard >s3/log 2>&1 &
S3PID=$!
trap 'kill "$S3PID" 2>/dev/null; wait "$S3PID" 2>/dev/null; rm -rf "$TMP"' EXIT
wait_for 30 test -s s3/port || { fail s3rver_starts "no port after 30 s: $(tail -3 s3/log | tr '\n' ' ')"; finish; }
touch s3/events
export S3_ENDPOINT_URL=http://127.0.0.1:$(cat s3/port)
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$TMP/aws.conf AWS_SHARED_CREDENTIALS_FILE=$TMP/aws.credentials
: >"$AWS_CONFIG_FILE"
pass s3rver_starts

make_releases rel
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
echo '{"product": "demo", "skip_edges": 2, "workers": 2}' >cfg.json
"$PCGEN" build -q rel -o siteA -s k.key --config cfg.json >buildA.out 2>&1 ||
    { fail one_machine_build "$(tail -2 buildA.out)"; finish; }
"$PCGEN" plan -q rel --config cfg.json -o jobs.json --matrix gitlab >count 2>plan.err ||
    { fail plan "$(tail -2 plan.err)"; finish; }
N=$(cat count)
PLAN=$(sha256sum jobs.json | cut -c1-64)

# run_jobs STORE COPIES: every job, COPIES copies of each, all at once; 0 if all succeed.
run_jobs() {
    local j c pids=() rc=0
    for ((j = 0; j < N; j++)); do
        for ((c = 0; c < $2; c++)); do
            "$PCGEN" build --job "$j" jobs.json --store "$1" -q >"job$j.$c.out" 2>&1 &
            pids+=($!)
        done
    done
    for j in "${pids[@]}"; do wait "$j" || rc=1; done
    return $rc
}
if run_jobs s3://pc-shard/run/1 1; then pass parallel_jobs_into_s3; else
    fail parallel_jobs_into_s3 "$(cat job*.out | grep -iv '^job ' | head -3 | tr '\n' ' ')"; fi
grep -q "^PUT pc-shard run/1/jobs/$PLAN/$((N - 1)).json$" s3/events &&
    ! grep -qv '^\(PUT\|POST\) pc-shard run/1/\(objects\|patches\|jobs\)/' s3/events &&
    pass store_keys_under_prefix || fail store_keys_under_prefix "$(grep -v 'run/1/' s3/events | head -3)"
if "$PCGEN" build --assemble jobs.json --store s3://pc-shard/run/1 -o siteB -s k.key >asm.out 2>&1 &&
    out=$(python3 "$TOP/tests/e2e/same_site.py" siteA siteB 2>&1); then
    pass assembled_from_s3_equals_one_machine_build
else
    fail assembled_from_s3_equals_one_machine_build "$(tail -2 asm.out) $out"
fi
check assembled_site_verifies "$PCGEN" verify siteB -p k.pub

cp s3/events events.before
"$PCGEN" build --job 0 jobs.json --store s3://pc-shard/run/1 >rerun.out 2>&1 &&
    grep -q "done already" rerun.out && cmp -s events.before s3/events && pass rerun_stores_nothing ||
    fail rerun_stores_nothing "$(tail -1 rerun.out); $(diff events.before s3/events | head -2 | tr '\n' ' ')"

if run_jobs s3://pc-shard/run/2 2 &&
    "$PCGEN" build --assemble jobs.json --store s3://pc-shard/run/2 -o siteC -s k.key >asm2.out 2>&1 &&
    out=$(python3 "$TOP/tests/e2e/same_site.py" siteA siteC 2>&1); then
    pass duplicate_jobs_at_once_into_s3
else
    fail duplicate_jobs_at_once_into_s3 "$(cat job*.out asm2.out | grep -iv '^job ' | head -3 | tr '\n' ' ') $out"
fi

# An object replaced in the bucket after its job.
key=$(aws s3 ls --recursive s3://pc-shard/run/2/objects/ --endpoint-url "$S3_ENDPOINT_URL" |
    awk 'NR == 1 { print $4 }')
printf 'not the object' >fake
aws s3 cp fake "s3://pc-shard/$key" --only-show-errors --endpoint-url "$S3_ENDPOINT_URL"
check_fails assemble_refuses_replaced_s3_object "store s3://pc-shard/run/2: ${key#run/2/}: SHA-256 .*but job [0-9]+'s result" \
    "$PCGEN" build --assemble jobs.json --store s3://pc-shard/run/2 -o siteD -s k.key
check_fails assemble_names_jobs_without_result "store s3://pc-shard/run/3: jobs 0, 1, .* of $N have no result" \
    "$PCGEN" build --assemble jobs.json --store s3://pc-shard/run/3 -o siteE -s k.key
finish
