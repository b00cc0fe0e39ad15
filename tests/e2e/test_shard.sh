#!/usr/bin/env bash
# test_shard.sh — a sharded build (patchcast-gen plan, build --job N,
# build --assemble) into a folder store: its jobs run as parallel
# processes, and the assembled site is the one-machine build's, file for
# file, but for the times a build writes (repo.json's created, expires and
# released, the page's dates, the signature over them), whole-release
# patches included (the default config). Then the guards: a rerun is a
# no-op; two copies of one job at once both succeed and leave the store
# right; a job refuses a release tree other than the plan's, also as a
# release patch's input, a release file changed while it runs, a FIFO, and
# says why it cannot write into the store; the assemble refuses a tampered
# store file naming it (a patch, a release patch), and names the jobs
# without a result (a release patch's too); a plan of an update (--site)
# plans only the new work (the release patches of the previous deltas are
# taken again) and assembles to what a one-machine update gives; --max-jobs
# and --matrix; a jobs.json edited by hand is refused at its JSON path (a
# release task's too).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD S3_ENDPOINT_URL

make_releases rel
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
cat >cfg.json <<'EOF'
{"product": "demo", "critical_files": ["bin/app"], "hot_swap_modules": ["lib/*.so"],
 "skip_edges": 2, "workers": 2}
EOF

# same_site A B: the same files, the same bytes, but for a build's times.
same_site() { python3 "$TOP/tests/e2e/same_site.py" "$1" "$2"; }

# The one-machine build.
"$PCGEN" build -q rel -o siteA -s k.key --config cfg.json >buildA.out 2>&1 ||
    { fail one_machine_build "$(tail -2 buildA.out)"; finish; }

# ---- plan, jobs as parallel processes, assemble ----------------------------------
if "$PCGEN" plan rel --config cfg.json -o jobs.json --matrix github >matrix.json 2>plan.err; then
    pass plan_succeeds
else
    fail plan_succeeds "$(tail -2 plan.err)"
    finish
fi
N=$(python3 -c "import json; print(len(json.load(open('jobs.json'))['jobs']))")
[ "$(cat matrix.json)" = "$(python3 -c "print('[' + ','.join(map(str, range($N))) + ']')")" ] &&
    [ "$N" -ge 5 ] && pass matrix_github_lists_jobs || fail matrix_github_lists_jobs "$N jobs: $(cat matrix.json)"
"$PCGEN" plan rel --config cfg.json -o jobs2.json --matrix gitlab -q >count.txt 2>&1 &&
    [ "$(cat count.txt)" = "$N" ] && cmp -s jobs.json jobs2.json && pass matrix_gitlab_counts_and_plan_is_stable ||
    fail matrix_gitlab_counts_and_plan_is_stable "$(cat count.txt)"
# Every job's estimates; the work: each version's new objects, each edge's patches.
python3 - jobs.json >plan.check 2>&1 <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["format"] == 1 and p["releases"] == "rel" and p["config"]["product"] == "demo", p["config"]
titles = [j["title"] for j in p["jobs"]]
assert titles[0] == "objects of 1.0.0" and any(t.startswith("patches of 1.0.0 -> 1.1.0") for t in titles), titles
for j in p["jobs"]:
    assert j["memory"] > 16 << 20 and j["seconds"] >= 1 and j["tasks"], j["title"]
outs = [t.get("output") or t["release"]["from"] + " -> " + t["release"]["to"] for j in p["jobs"] for t in j["tasks"]]
assert len(outs) == len(set(outs)), "a task twice"
assert p["in_site"] == []
# a release patch per edge, each a job of its own, with the sizes the trees give
rel = [(j["title"], t["release"]) for j in p["jobs"] for t in j["tasks"] if "release" in t]
assert len(rel) >= 5 and all(t == "release patch of %s -> %s" % (r["from"], r["to"]) for t, r in rel), rel
assert all(r["reference_size"] % 4096 == 0 and r["to_size"] > 0 for _, r in rel), rel
assert len({(r["from"], r["to"]) for _, r in rel}) == len(rel)
print("plan ok")
PY
grep -q "plan ok" plan.check && pass plan_lists_work_with_estimates ||
    fail plan_lists_work_with_estimates "$(tail -2 plan.check | tr '\n' ' ')"

pids=() rcs=""
for ((j = 0; j < N; j++)); do
    "$PCGEN" build --job "$j" jobs.json --store store >"job$j.out" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; rcs="$rcs$?"; done
[ "$rcs" = "$(printf '0%.0s' $(seq "$N"))" ] && pass parallel_jobs_succeed ||
    fail parallel_jobs_succeed "exit codes $rcs: $(cat job*.out | grep -v '^\[' | head -3 | tr '\n' ' ')"
grep -q "peak memory .* (estimate .*MiB)" job0.out && pass job_reports_memory_against_estimate ||
    fail job_reports_memory_against_estimate "$(tail -1 job0.out)"
[ -z "$(find store -name '*.tmp-*')" ] && pass store_has_no_temporary_files ||
    fail store_has_no_temporary_files "$(find store -name '*.tmp-*' | head -3)"

if "$PCGEN" build --assemble jobs.json --store store -o siteB -s k.key >assemble.out 2>&1; then
    pass assemble_succeeds
else
    fail assemble_succeeds "$(tail -2 assemble.out)"
fi
out=$(same_site siteA siteB 2>&1) && pass assembled_site_equals_one_machine_build ||
    fail assembled_site_equals_one_machine_build "$(echo "$out" | tail -1)"
check assembled_site_verifies "$PCGEN" verify siteB -p k.pub
# Both sites name whole-release patches (so the comparison above covers them).
nrel=$(python3 - siteB <<'PY'
import json, os, sys
r = json.load(open(os.path.join(sys.argv[1], "repo.json")))
ds = [json.load(open(os.path.join(sys.argv[1], "deltas", e["delta"]["sha256"] + ".json"))) for e in r["edges"]]
print(sum("release" in d for d in ds), sum("x-release-size" in d for d in ds))
PY
)
[ "${nrel% *}" -ge 1 ] && [ "${nrel#* }" -ge 1 ] && pass assembled_site_has_release_patches_and_notes ||
    fail assembled_site_has_release_patches_and_notes "named, noted: $nrel"
grep -q "release patch 1.0.0 -> 1.1.0: [0-9]* bytes (from the store)" assemble.out &&
    pass assemble_takes_release_patch_from_store ||
    fail assemble_takes_release_patch_from_store "$(grep -i release assemble.out | head -2)"
grep -q "objects: [1-9][0-9]* from the store" assemble.out && pass assemble_takes_objects_from_store ||
    fail assemble_takes_objects_from_store "$(sed -n 2p assemble.out)"

# ---- reruns and duplicates --------------------------------------------------------
snap() { (cd "$1" && find . -type f -printf '%p %i %s %T@\n' | sort); }
snap store >store.before
"$PCGEN" build --job 1 jobs.json --store store >rerun.out 2>&1 && grep -q "done already" rerun.out &&
    snap store >store.after && cmp -s store.before store.after && pass job_rerun_is_a_no_op ||
    fail job_rerun_is_a_no_op "$(tail -1 rerun.out); $(diff store.before store.after | head -2 | tr '\n' ' ')"
# A job whose output went missing: the rerun makes just that again.
obj=$(python3 -c "import json; print(json.load(open('jobs.json'))['jobs'][0]['tasks'][0]['output'])")
rm store/"$obj"
"$PCGEN" build --job 0 jobs.json --store store >rerun0.out 2>&1 && [ -f store/"$obj" ] &&
    grep -q ": 1 made, [1-9][0-9]* in the store already" rerun0.out && pass job_rerun_makes_only_what_is_missing ||
    fail job_rerun_makes_only_what_is_missing "$(tail -1 rerun0.out)"

# Two copies of each patch job at once, into a new store: all succeed, and
# the store ends with the first store's bytes and one result each.
pids=() rcs=""
for j in $(python3 -c "import json; print(*[i for i, j in enumerate(json.load(open('jobs.json'))['jobs']) if j['title'].startswith(('patches', 'release'))])"); do
    for copy in a b; do
        "$PCGEN" build --job "$j" jobs.json --store store2 -q >"dup$j$copy.out" 2>&1 &
        pids+=($!)
    done
done
for p in "${pids[@]}"; do wait "$p"; rcs="$rcs$?"; done
bad=""
for f in $(cd store2 && find . -type f); do cmp -s "store2/$f" "store/$f" || bad="$bad $f"; done
[ "${#pids[@]}" -ge 4 ] && [ "$rcs" = "$(printf '0%.0s' $(seq ${#pids[@]}))" ] && [ -z "$bad" ] &&
    [ -z "$(find store2 -name '*.tmp-*')" ] && pass duplicate_jobs_at_once_both_succeed ||
    fail duplicate_jobs_at_once_both_succeed "${#pids[@]} runs, exits $rcs, differing:$bad $(cat dup*.out | head -2 | tr '\n' ' ')"

# ---- what is refused -----------------------------------------------------------------
# A runner with other release trees: an input changed.
cp -a rel rel2
printf 'changed' | dd of=rel2/1.0.0/bin/app bs=1 seek=10 conv=notrunc status=none
check_fails job_refuses_changed_release_tree "rel2/1.0.0/bin/app: SHA-256 .* but the plan has .*not the release trees the plan was made from" \
    "$PCGEN" build --job 0 jobs.json --store store3 --releases rel2
[ ! -d store3/jobs ] && pass refused_job_writes_no_result || fail refused_job_writes_no_result "$(find store3/jobs)"
# The same for a release patch's job: 1.0.0's bin/app is in its reference.
RJ=$(python3 -c "import json; print([i for i, j in enumerate(json.load(open('jobs.json'))['jobs']) if j['title'] == 'release patch of 1.0.0 -> 1.1.0'][0])")
check_fails release_job_refuses_changed_release_tree "job $RJ: rel2/1.0.0/bin/app: SHA-256 .* but the plan has .*not the release trees the plan was made from" \
    "$PCGEN" build --job "$RJ" jobs.json --store store3 --releases rel2
[ ! -d store3/jobs ] && [ -z "$(find store3 -type f)" ] && pass refused_release_job_stores_nothing ||
    fail refused_release_job_stores_nothing "$(find store3 -type f | head -2)"
check_fails job_out_of_range "job $N: the plan has $N jobs" "$PCGEN" build --job "$N" jobs.json --store store3

# A release file changed while its job runs, after the job checked it:
# strace stops the job (SIGSTOP) as it opens FILE, the first time in each
# thread: the check, then the object's compression or the patch's diff;
# at that second stop FILE changes. The job must fail, naming the cause,
# and leave neither the output nor a result in the store.
# race_job NAME JOB FILE
stopped() { [ "$(grep -c 'stopped by SIGSTOP' "$1" 2>/dev/null)" -ge "$2" ]; }
race_job() {
    local name=$1 job=$2 file=$3 i k pid out
    rm -rf race && cp -a rel race
    timeout 60 strace -f -qq -o "$name.strace" -P "race/$file" -e trace=openat \
        -e inject=openat:signal=SIGSTOP:when=1 \
        "$PCGEN" build --job "$job" jobs.json --store "st-$name" --releases race -q >"$name.out" 2>&1 &
    pid=$!
    for k in 1 2; do
        wait_for 30 stopped "$name.strace" "$k" ||
            { fail "$name" "no stop $k: $(tail -2 "$name.strace")"; kill "$pid"; wait "$pid"; return; }
        [ "$k" = 1 ] || printf 'changed' | dd of="race/$file" bs=1 seek=10 conv=notrunc status=none
        kill -CONT "$(head -1 "$name.strace" | cut -d' ' -f1)"
    done
    wait "$pid" && out="the job succeeded" || out=""
    grep -q "made, but it does not check (did a release file change while the job ran?)" "$name.out" ||
        out="$out $(tail -1 "$name.out")"
    [ -z "$(find "st-$name" -type f)" ] || out="$out; the store has $(cd "st-$name" && find . -type f | head -2 | tr '\n' ' ')"
    [ -z "$out" ] && pass "$name" || fail "$name" "$out"
}
read -r objjob patchjob < <(python3 -c "
import json; t = [j['title'] for j in json.load(open('jobs.json'))['jobs']]
print(t.index('objects of 1.2.0'), t.index('patches of 1.2.0-rc.1 -> 1.2.0'))")
race_job object_of_file_changed_during_job_refused "$objjob" 1.2.0/bin/app
race_job patch_of_old_file_changed_during_job_refused "$patchjob" 1.2.0-rc.1/bin/app
race_job patch_of_new_file_changed_during_job_refused "$patchjob" 1.2.0/bin/app
# A release file that is not a regular file (a FIFO would block the job forever).
rm -f race/1.0.0/lib/module.so && mkfifo race/1.0.0/lib/module.so
check_fails job_refuses_fifo_input "race/1.0.0/lib/module.so: not a regular file" \
    timeout 20 "$PCGEN" build --job 0 jobs.json --store store3 --releases race
# A store where a job cannot make its temporary file says why.
mkdir storeW && ln -s "$TMP/nowhere" storeW/objects
check_fails job_says_why_no_temporary_file "no temporary file in store storeW: No such file or directory" \
    "$PCGEN" build --job 0 jobs.json --store storeW

# A store file changed after its job: refused at assemble, naming it; no site signed.
cp -a store store4
victim=$(cd store4 && find patches -type f | head -1)
printf 'x' | dd of="store4/$victim" bs=1 seek=40 conv=notrunc status=none
check_fails assemble_refuses_tampered_store_file "store store4: $victim: SHA-256 .*but job [0-9]+'s result .* says" \
    "$PCGEN" build --assemble jobs.json --store store4 -o siteC -s k.key
[ ! -f siteC/repo.json ] && pass tampered_assemble_signs_nothing || fail tampered_assemble_signs_nothing "siteC/repo.json written"
# A release patch changed in the store after its job: refused, naming it.
PLAN=$(sha256sum jobs.json | cut -c1-64)
cp -a store store7
rpatch=$(python3 -c "import json; print(json.load(open('store7/jobs/$PLAN/$RJ.json'))['outputs'][0]['path'])")
printf 'x' | dd of="store7/$rpatch" bs=1 seek=100 conv=notrunc status=none
check_fails assemble_refuses_tampered_release_patch "store store7: $rpatch: SHA-256 .*but job $RJ's result .* says" \
    "$PCGEN" build --assemble jobs.json --store store7 -o siteF -s k.key
[ ! -f siteF/repo.json ] && pass tampered_release_patch_signs_nothing ||
    fail tampered_release_patch_signs_nothing "siteF/repo.json written"
# Its job run again finds it wrong (it does not turn the reference into the
# output) and makes it again; then the assemble goes through.
if "$PCGEN" build --job "$RJ" jobs.json --store store7 >rerun7.out 2>&1 &&
    grep -q "$rpatch in the store is not right, made again: .*does not turn the reference into the output" rerun7.out &&
    "$PCGEN" build --assemble jobs.json --store store7 -o siteF -s k.key >asm7.out 2>&1 &&
    out=$(same_site siteA siteF 2>&1); then
    pass release_job_rerun_remakes_damaged_patch
else
    fail release_job_rerun_remakes_damaged_patch "$(tail -1 rerun7.out) $(tail -1 asm7.out) $out"
fi
# A job that has not run.
cp -a store store5
rm "store5/jobs/$PLAN/2.json" "store5/jobs/$PLAN/4.json"
check_fails assemble_names_jobs_without_result "jobs 2, 4 of $N have no result" \
    "$PCGEN" build --assemble jobs.json --store store5 -o siteD -s k.key
# A release patch's job that has not run (its patch is in the store).
cp -a store store8
rm "store8/jobs/$PLAN/$RJ.json"
check_fails assemble_names_release_job_without_result "store store8: job $RJ of $N has no result .*run \`patchcast-gen build --job N\` for it first" \
    "$PCGEN" build --assemble jobs.json --store store8 -o siteG -s k.key
[ ! -d siteG ] && pass release_job_without_result_touches_no_site ||
    fail release_job_without_result_touches_no_site "$(find siteG -type f | head -2)"

# jobs.json edited by hand: checked like signed metadata.
python3 - jobs.json bad1.json bad2.json bad3.json bad4.json bad5.json bad6.json "$RJ" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
rj = int(sys.argv[8])
q = json.loads(json.dumps(p))
q["jobs"][1]["tasks"][0]["output"] = "objects/00/" + "0" * 64
json.dump(q, open(sys.argv[2], "w"))
q = json.loads(json.dumps(p))
q["generator"] = "patchcast-gen 0.0.1"
json.dump(q, open(sys.argv[3], "w"))
q = json.loads(json.dumps(p))                       # a release task's size
q["jobs"][rj]["tasks"][0]["release"]["reference_size"] += 4096
json.dump(q, open(sys.argv[4], "w"))
q = json.loads(json.dumps(p))                       # a release task with an output
q["jobs"][rj]["tasks"][0]["output"] = "patches/00/" + "0" * 64 + "-" + "0" * 64
json.dump(q, open(sys.argv[5], "w"))
q = json.loads(json.dumps(p))                       # an edge's release patch twice
q["jobs"][rj]["tasks"].append(q["jobs"][rj]["tasks"][0])
json.dump(q, open(sys.argv[6], "w"))
q = json.loads(json.dumps(p))                       # a version to itself
q["jobs"][rj]["tasks"][0]["release"]["to"] = "1.0.0"
json.dump(q, open(sys.argv[7], "w"))
PY
check_fails edited_plan_refused_at_json_path "bad1.json: jobs\[1\]\.tasks\[0\]: output: expected objects/" \
    "$PCGEN" build --job 1 bad1.json --store store6
check_fails edited_release_size_refused_at_json_path "bad3.json: jobs\[$RJ\]\.tasks\[0\]\.release: reference_size: [0-9]+, but the files of 1.0.0 make a reference of [0-9]+ bytes" \
    "$PCGEN" build --job 0 bad3.json --store store6
check_fails release_task_with_output_refused "bad4.json: jobs\[$RJ\]\.tasks\[0\]\.output: unknown key" \
    "$PCGEN" build --assemble bad4.json --store store -o x -s k.key
check_fails release_task_twice_refused "bad5.json: jobs\[$RJ\]\.tasks\[1\]: release: 1.0.0 -> 1.1.0 again" \
    "$PCGEN" build --job 0 bad5.json --store store6
check_fails release_task_of_one_version_refused "bad6.json: jobs\[$RJ\]\.tasks\[0\]\.release: from and to: the same version 1.0.0" \
    "$PCGEN" build --job 0 bad6.json --store store6
check_fails plan_of_other_version_refused "made by patchcast-gen 0.0.1, this is patchcast-gen" \
    "$PCGEN" build --job 1 bad2.json --store store6
check_fails assemble_takes_plan_config "--assemble takes the plan's config" \
    "$PCGEN" build --assemble jobs.json --store store -o x -s k.key --config cfg.json
check_fails job_needs_store "--store STORE is required" "$PCGEN" build --job 0 jobs.json

# ---- an update: plan --site plans only the new work ------------------------------------
cp -a rel/1.10.0 rel/1.11.0
head -c 100000 /dev/urandom >rel/1.11.0/lib/new.bin
printf 'update' | dd of=rel/1.11.0/bin/app bs=1 seek=2000 conv=notrunc status=none
cp -a siteA siteA2 && cp -a siteB siteB2
"$PCGEN" build -q rel -o siteA2 -s k.key --config cfg.json >buildA2.out 2>&1 ||
    fail one_machine_update "$(tail -2 buildA2.out)"
"$PCGEN" plan rel --config cfg.json --site siteB2 -o up.json --max-jobs 2 >up.out 2>&1 ||
    fail plan_site_succeeds "$(tail -2 up.out)"
python3 - up.json >up.check 2>&1 <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
assert len(p["jobs"]) == 2, [j["title"] for j in p["jobs"]]
outs = [t for j in p["jobs"] for t in j["tasks"]]
# only contents new in 1.11.0, and patches into 1.11.0 (release patches
# too: the older edges' are the previous deltas', or their notes)
for t in outs:
    v = t["release"]["to"] if "release" in t else (t.get("to") or t["input"])["version"]
    assert v == "1.11.0", t
assert any("release" in t for t in outs), outs
assert any("patches" in t["output"] for t in outs) and any("objects" in t["output"] for t in outs)
assert len(p["in_site"]) > 10 and all(k["path"].split("/")[0] in ("objects", "patches") for k in p["in_site"])
print("update plan ok", len(outs))
PY
grep -q "update plan ok" up.check && pass plan_site_plans_only_new_work ||
    fail plan_site_plans_only_new_work "$(tail -2 up.check | tr '\n' ' ')"
for j in 0 1; do "$PCGEN" build --job "$j" up.json --store ustore -q >/dev/null 2>"up$j.err" & done
wait
if "$PCGEN" build --assemble up.json --store ustore -o siteB2 -s k.key >upa.out 2>&1 &&
    out=$(same_site siteA2 siteB2 2>&1) && grep -q '"serial":	2' siteB2/repo.json; then
    pass updated_site_equals_one_machine_update
else
    fail updated_site_equals_one_machine_update "$(tail -1 upa.out) $(echo "$out" | tail -1) $(cat up0.err up1.err | head -2)"
fi
# The site the plan saw must be the one assembled into: here it lacks a patch.
cp -a siteA siteE
gone=$(python3 -c "import json; print([k['path'] for k in json.load(open('up.json'))['in_site'] if k['path'].startswith('patches/')][0])")
rm "siteE/$gone"
check_fails assemble_into_other_site_refused "siteE/$gone: the plan found it in the site .*but it is not there" \
    "$PCGEN" build --assemble up.json --store ustore -o siteE -s k.key

finish
