#!/usr/bin/env bash
# test_update.sh — the client end to end against a site made by
# patchcast-gen, served by a real nginx on a free loopback port (and once
# over HTTPS with a test CA): installs, updates from every older version,
# routes, fallback, failover, resume, every attack of the threat model, and
# crash consistency under SIGKILL.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fixtures.sh"
cd "$TMP" || exit 1
unset PATCHCAST_PASSWORD PATCHCAST_ROOT

make_releases rel
# 1.10.0 replaces lib/module.so whole: a patch cannot pay off -> object.
head -c 50000 /dev/urandom >rel/1.10.0/lib/module.so
"$PCGEN" keygen -W -p k.pub -s k.key >/dev/null
"$PCGEN" keygen -W -p other.pub -s other.key >/dev/null
echo '{"product": "demo", "critical_files": ["bin/app"], "hot_swap_modules": ["lib/*.so"]}' >cfg.json
"$PCGEN" build -q rel -o site -s k.key --config cfg.json >build.out 2>&1 || { fail setup "build: $(cat build.out)"; finish; }
STATE=$TMP/nginx
BASE=$(mkdir -p "$STATE" && "$TOP/tests/nginx.sh" start site "$STATE") || { fail setup "nginx did not start"; finish; }
trap '"$TOP/tests/nginx.sh" stop "$STATE"; "$TOP/tests/nginx.sh" stop "$TMP/nginx-tls"; rm -rf "$TMP"' EXIT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
newroot() { rm -rf "$1"; "$PC" init --root "$1" --repo "${2:-$BASE}" -p k.pub >/dev/null; }

# --- the README's order: init, then check (no cache folder yet), and check
# again after the cache was deleted (the guide calls that safe) --------------
newroot rc0
out=$("$PC" check --root rc0 --json 2>&1) && echo "$out" | grep -q '"to": "1.10.0"' &&
    pass check_right_after_init || fail check_right_after_init "$out"
rm -rf rc0/cache
out=$("$PC" check --root rc0 --json 2>&1) && echo "$out" | grep -q '"to": "1.10.0"' &&
    pass check_after_cache_deleted || fail check_after_cache_deleted "$out"

# --- the cache does not grow with updates: after each successful one it
# holds nothing of the files it brought ------------------------------------
newroot rcache
"$PC" update --root rcache --to 1.0.0 >/dev/null 2>&1
"$PC" update --root rcache --to 1.1.0 >/dev/null 2>&1
"$PC" update --root rcache >/dev/null 2>&1
left=$(find rcache/cache -type f 2>/dev/null | wc -l)
[ "$(readlink rcache/current)" = versions/1.10.0 ] && [ "$left" = 0 ] && pass cache_emptied_after_update ||
    fail cache_emptied_after_update "current $(readlink rcache/current), $left files left in the cache"

# --- PATCHCAST_TRANSFERS: one transfer at a time takes every file of a
# full install over one connection; the default (3) opens more ------------
conns() { # the connections the files of the last install came over
    tail -n +$((mark + 1)) "$STATE/access.log" | grep -E "^GET /(objects|patches)/" |
        sed 's/.* conn=//' | sort -u | wc -l
}
newroot rtr1
mark=$(wc -l <"$STATE/access.log")
PATCHCAST_TRANSFERS=1 "$PC" update --root rtr1 --to 1.0.0 >tr1.out 2>&1
one=$(conns)
newroot rtr3
mark=$(wc -l <"$STATE/access.log")
"$PC" update --root rtr3 --to 1.0.0 >tr3.out 2>&1
three=$(conns)
[ "$(readlink rtr1/current)" = versions/1.0.0 ] && [ "$one" = 1 ] && [ "$three" -gt 1 ] &&
    pass transfers_one_at_a_time ||
    fail transfers_one_at_a_time "connections: $one with PATCHCAST_TRANSFERS=1, $three by default: $(cat tr1.out)"
out=$(PATCHCAST_TRANSFERS=17 "$PC" update --root rtr1 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "PATCHCAST_TRANSFERS='17': expected a whole number from 1 to 16" &&
    pass transfers_out_of_range_refused || fail transfers_out_of_range_refused "$out"

# --- up to date: the installed manifest is the one repo.json names, so it is
# not downloaded again; an installed copy that differs is not trusted ------------
mark=$(wc -l <"$STATE/access.log")
out=$("$PC" check --root rcache --json 2>&1)
gets=$(tail -n +$((mark + 1)) "$STATE/access.log" | grep -c "^GET /manifests/")
[ "$(echo "$out" | json '["up_to_date"]')" = True ] && [ "$gets" = 0 ] &&
    pass up_to_date_check_uses_installed_manifest ||
    fail up_to_date_check_uses_installed_manifest "$gets manifest downloads: $out"
echo " " >>rcache/manifests/1.10.0.json
mark=$(wc -l <"$STATE/access.log")
out=$("$PC" update --root rcache --json 2>&1)
gets=$(tail -n +$((mark + 1)) "$STATE/access.log" | grep -c "^GET /manifests/")
[ "$(echo "$out" | json '["up_to_date"]')" = True ] && [ "$gets" = 1 ] &&
    pass changed_installed_manifest_downloaded ||
    fail changed_installed_manifest_downloaded "$gets manifest downloads: $out"

# --- full install, then updates from every older version -----------------------
newroot r0
out=$("$PC" update --root r0 --to 1.0.0 --json 2>/dev/null)
if [ "$(echo "$out" | json '["from"]')" = None ] && same_tree r0/current/ rel/1.0.0/; then
    pass full_install_into_empty_root
else fail full_install_into_empty_root "$out"; fi
for v in 1.0.0 1.1.0 1.2.0-rc.1 1.2.0; do
    newroot "r-$v"
    "$PC" update --root "r-$v" --to "$v" >/dev/null 2>&1
    out=$("$PC" update --root "r-$v" --json 2>/dev/null)
    dl=$(echo "$out" | json '["downloaded_bytes"]')
    full=$(echo "$out" | json '["full_bytes"]')
    if same_tree "r-$v/current/" rel/1.10.0/ && [ "$dl" -lt "$full" ]; then
        pass "update_${v}_to_newest"
    else fail "update_${v}_to_newest" "tree differs or downloaded $dl of $full: $out"; fi
done
# Routes, as the scenario makes them: the default skip_edges (3) gives the
# stable versions before 1.10.0 (1.2.0, 1.1.0, 1.0.0) each an edge straight
# to it, so 1.1.0 and 1.0.0 take one hop; nothing skips to 1.2.0, which 1.0.0
# reaches only by the parent chain 1.0.0 -> 1.1.0 -> 1.2.0-rc.1 -> 1.2.0.
newroot rr && "$PC" update --root rr --to 1.1.0 >/dev/null 2>&1
newroot rh && "$PC" update --root rh --to 1.0.0 >/dev/null 2>&1
out=$("$PC" check --root rr --json 2>/dev/null)
hops=$("$PC" check --root rh --to 1.10.0 --json 2>/dev/null | json '["hops"]')
[ "$(echo "$out" | json '["hops"]')" = 1 ] && [ "$hops" = 1 ] && pass route_uses_skip_edge ||
    fail route_uses_skip_edge "from 1.0.0: $hops hops; from 1.1.0: $out"
hops=$("$PC" check --root rh --to 1.2.0 --json 2>/dev/null | json '["hops"]')
[ "$hops" = 3 ] && pass route_follows_parent_chain || fail route_follows_parent_chain "1.0.0 -> 1.2.0: $hops hops, expected 3"
out=$("$PC" check --root r-1.0.0 --to 1.10.0 --json 2>/dev/null)
[ "$(echo "$out" | json '["up_to_date"]')" = True ] && [ "$(echo "$out" | json '["hops"]')" = 0 ] &&
    pass up_to_date_reported || fail up_to_date_reported "$out"
# restart_required: bin/app (critical) changed between 1.1.0 and 1.10.0.
[ "$(echo "$("$PC" check --root rr --json 2>/dev/null)" | json '["restart_required"]')" = True ] &&
    pass restart_required_for_critical || fail restart_required_for_critical "not reported"
# --restart-cmd relaunches after a critical change (and only then).
rm -f relaunched.txt
"$PC" update --root rr --restart-cmd 'echo "$PATCHCAST_FROM>$PATCHCAST_TO $(basename "$PATCHCAST_VERSION_DIR")" >relaunched.txt' >/dev/null 2>&1
[ "$(cat relaunched.txt 2>/dev/null)" = "1.1.0>1.10.0 1.10.0" ] && pass restart_cmd_runs_after_critical_change ||
    fail restart_cmd_runs_after_critical_change "relaunched.txt: $(cat relaunched.txt 2>&1)"
rm -f relaunched.txt
"$PC" update --root rr --restart-cmd 'touch relaunched.txt' >/dev/null 2>&1
[ ! -e relaunched.txt ] && pass restart_cmd_not_run_without_change || fail restart_cmd_not_run_without_change "ran"
# Full-file fallback: 1.10.0 replaced lib/module.so wholesale, so an update
# from 1.2.0 fetches its object, not a patch. Only that update's requests
# count: access.log already holds every object of the installs above.
mod=$(sha256sum rel/1.10.0/lib/module.so | cut -c1-64)
newroot rfb && "$PC" update --root rfb --to 1.2.0 >/dev/null 2>&1
mark=$(wc -l <"$STATE/access.log")
"$PC" update --root rfb >/dev/null 2>&1
tail -n +$((mark + 1)) "$STATE/access.log" >fallback.log
grep -q "^GET /objects/${mod:0:2}/$mod HTTP/1.1 200 " fallback.log && ! grep -q "^GET /patches/.*-$mod " fallback.log &&
    same_tree rfb/current/ rel/1.10.0/ && pass object_fallback_downloaded ||
    fail object_fallback_downloaded "requests of the update 1.2.0 -> 1.10.0: $(tr '\n' ' ' <fallback.log)"

# --- mirrors, file://, plain paths, resume ------------------------------------------
newroot rm "http://127.0.0.1:1"
python3 - rm/config.json "$BASE" <<'EOF'
import json, sys
p, base = sys.argv[1], sys.argv[2]
c = json.load(open(p)); c["repos"].append(base); json.dump(c, open(p, "w"))
EOF
"$PC" update --root rm --to 1.2.0 >/dev/null 2>&1 && same_tree rm/current/ rel/1.2.0/ &&
    pass mirror_failover_first_down || fail mirror_failover_first_down "$(cat rm/config.json)"
newroot rf "file://$TMP/site" && "$PC" update --root rf >/dev/null 2>&1 && same_tree rf/current/ rel/1.10.0/ &&
    pass file_url_install || fail file_url_install "file:// install failed"
newroot rp "$TMP/site" && "$PC" update --root rp >/dev/null 2>&1 && same_tree rp/current/ rel/1.10.0/ &&
    pass plain_path_install || fail plain_path_install "path install failed"
# Resume: a partial object in the cache is completed with a Range request.
newroot rs
app=$(python3 -c "
import json; m=None
r=json.load(open('site/repo.json'))
v=[v for v in r['versions'] if v['name']=='1.0.0'][0]
m=json.load(open('site/manifests/%s.json' % v['manifest']['sha256']))
print([f['sha256'] for f in m['files'] if f['path']=='bin/app'][0])")
mkdir -p rs/cache/objects
head -c 1000 "site/objects/${app:0:2}/$app" >"rs/cache/objects/$app.part"
mark=$(wc -l <"$STATE/access.log")
"$PC" update --root rs --to 1.0.0 >/dev/null 2>&1
tail -n +$((mark + 1)) "$STATE/access.log" | grep -q "^GET /objects/${app:0:2}/$app HTTP/1.1 206 range=bytes=1000-" &&
    same_tree rs/current/ rel/1.0.0/ && pass resume_with_range || fail resume_with_range "no Range request logged"

# --- attacks: each refused, installed version intact -----------------------------
attack_site() { rm -rf asite; cp -a site asite; }
attack_root() { newroot ra "$TMP/asite"; "$PC" update --root ra --to 1.1.0 >/dev/null 2>&1; }
intact() { same_tree ra/current/ rel/1.1.0/; }
refused() { # name pattern exit-codes (a regex: "1|3")
    local out rc
    out=$("$PC" update --root ra 2>&1); rc=$?
    if [[ $rc =~ ^($3)$ ]] && echo "$out" | grep -Eq "$2" && intact; then pass "$1"
    else fail "$1" "exit $rc: $(echo "$out" | tail -1)"; fi
}
attack_site; attack_root
sed -i 's/"serial":\t1/"serial":\t7/' asite/repo.json
refused tampered_repo_json "signature verification failed" 3
attack_site; attack_root
sed -i 's/"mode":"644"/"mode":"755"/' asite/manifests/*.json
refused tampered_manifest "not the one in the metadata" 3
attack_site; attack_root
for o in asite/objects/*/*; do printf 'evil' | dd of="$o" bs=1 seek=20 conv=notrunc status=none; done
# Objects and patches are checked against the hash in the signed metadata
# before a decoder reads a byte of them: the message is the download's. (The
# update from 1.1.0 takes the whole-release patch and needs no object; the
# way back to 1.0.0, which has no edge, takes objects.)
out=$("$PC" update --root ra --to 1.0.0 2>&1); rc=$?
[ "$rc" = 3 ] && echo "$out" | grep -Eq "objects/.*: content has SHA-256 [0-9a-f]{64}, not the one in the metadata" &&
    intact && pass tampered_object || fail tampered_object "exit $rc: $(echo "$out" | tail -1)"
attack_site; attack_root
for p in asite/patches/*/*; do printf 'evil' | dd of="$p" bs=1 seek=40 conv=notrunc status=none; done
refused tampered_patch "patches/.*: content has SHA-256 [0-9a-f]{64}, not the one in the metadata" 3
attack_site; attack_root
"$PCGEN" sign -s other.key -m asite/repo.json -t "$(sed -n 3p asite/repo.json.minisig | cut -d' ' -f3-)" 2>/dev/null
refused wrong_signing_key "signed with key id" 3
# Replay: an older repo.json (serial 1) after the client saw serial 2.
attack_site; cp asite/repo.json old.json; cp asite/repo.json.minisig old.minisig
attack_root
"$PCGEN" build -q rel -o asite -s k.key --config cfg.json >/dev/null 2>&1
"$PC" check --root ra >/dev/null 2>&1
cp old.json asite/repo.json; cp old.minisig asite/repo.json.minisig
refused replayed_older_repo_json "older than serial 2" 4
# Freeze: an expired repo.json.
attack_site
"$PCGEN" build -q rel -o asite -s k.key --config cfg.json --expires 1s >/dev/null 2>&1
newroot ra "$TMP/asite"
# Wait for the clock to pass repo.json's expiry (the client refuses it from
# that second on).
exp=$(python3 -c "import calendar, json, time; e = json.load(open('asite/repo.json'))['expires']
print(calendar.timegm(time.strptime(e, '%Y-%m-%dT%H:%M:%SZ')))")
expired() { [ "$(date +%s)" -ge "$exp" ]; }
if ! wait_for 10 expired; then
    fail expired_repo_json_refused "the clock did not reach the expiry ($exp) in 10 s"
else
    out=$("$PC" update --root ra 2>&1); rc=$?
    [ "$rc" = 4 ] && echo "$out" | grep -q "expired at" && pass expired_repo_json_refused ||
        fail expired_repo_json_refused "exit $rc: $out"
fi
# Endless data: a huge repo.json is cut at the cap.
attack_site; attack_root
head -c $((17 * 1024 * 1024)) /dev/zero >asite/repo.json
refused oversized_repo_json "larger than the limit" 1
# Traversal: a correctly signed manifest with a '..' path is refused before any file operation.
attack_site
python3 - asite <<'EOF'
import hashlib, json, os, sys
site = sys.argv[1]
repo = json.load(open(os.path.join(site, "repo.json")))
v = [v for v in repo["versions"] if v["name"] == "1.10.0"][0]
m = json.load(open(os.path.join(site, "manifests", v["manifest"]["sha256"] + ".json")))
m["files"].insert(0, {"path": "../../escaped", "type": "file", "size": 4, "mode": "644",
                      "sha256": "ab" * 32, "object_size": 10, "object_sha256": "cd" * 32})
text = json.dumps(m, separators=(",", ":")).encode() + b"\n"
h = hashlib.sha256(text).hexdigest()
open(os.path.join(site, "manifests", h + ".json"), "wb").write(text)
v["manifest"] = {"sha256": h, "size": len(text)}
repo["serial"] += 10
open(os.path.join(site, "repo.json"), "w").write(json.dumps(repo, indent="\t") + "\n")
EOF
read -r serial product expires < <(python3 -c "import json; r=json.load(open('asite/repo.json')); print(r['serial'], r['product'], r['expires'])")
"$PCGEN" sign -s k.key -m asite/repo.json -t "patchcast-repo serial:$serial product:$product expires:$expires"
newroot ra "$TMP/asite"
out=$("$PC" update --root ra 2>&1); rc=$?
[ "$rc" -ne 0 ] && echo "$out" | grep -q "'..' is not allowed" && [ ! -e escaped ] && [ ! -e ra/escaped ] &&
    pass traversal_path_refused || fail traversal_path_refused "exit $rc: $out"

# --- rollback and repair ----------------------------------------------------------
newroot rb
"$PC" update --root rb --to 1.2.0 >/dev/null 2>&1 && "$PC" update --root rb >/dev/null 2>&1
"$PC" rollback --root rb >/dev/null 2>&1 && same_tree rb/current/ rel/1.2.0/ &&
    pass rollback_to_previous || fail rollback_to_previous "$("$PC" status --root rb)"
printf 'corrupt' | dd of=rb/current/lib/big.txt bs=1 seek=10 conv=notrunc status=none
rm rb/current/data/added.txt
out=$("$PC" repair --root rb --json 2>/dev/null)
[ "$(echo "$out" | json '["repaired_files"]')" = 2 ] && same_tree rb/current/ rel/1.2.0/ &&
    pass repair_refetches_damaged || fail repair_refetches_damaged "$out"

# --- offline mirror: copy over HTTP into a folder, then update from the folder --
if "$PC" mirror "$BASE" usb -p k.pub >mirror.out 2>&1 && [ -f usb/repo.json ]; then
    newroot ru "$TMP/usb" && "$PC" update --root ru >/dev/null 2>&1 && same_tree ru/current/ rel/1.10.0/ &&
        "$PCGEN" verify usb -p k.pub >/dev/null && pass mirror_then_update_from_path ||
        fail mirror_then_update_from_path "update from the mirror failed"
else fail mirror_then_update_from_path "$(tail -2 mirror.out)"; fi
check_fails mirror_wrong_key "signed with key id" "$PC" mirror "$BASE" usb2 -p other.pub
[ ! -e usb2/repo.json ] && pass mirror_refused_writes_no_repo || fail mirror_refused_writes_no_repo "usb2/repo.json exists"

# --- HTTPS with a test CA (HTTP/2) ---------------------------------------------------
TLS=$(mkdir -p "$TMP/nginx-tls" && "$TOP/tests/nginx.sh" start site "$TMP/nginx-tls" tls)
rm -rf rt && "$PC" init --root rt --repo "$TLS" -p k.pub --ca-file "$TMP/nginx-tls/ca.pem" >/dev/null
"$PC" update --root rt >/dev/null 2>&1 && same_tree rt/current/ rel/1.10.0/ &&
    grep -q "HTTP/2.0 200" "$TMP/nginx-tls/access.log" && pass https_http2_install ||
    fail https_http2_install "$(tail -2 "$TMP/nginx-tls/error.log")"
rm -rf rt2 && "$PC" init --root rt2 --repo "$TLS" -p k.pub >/dev/null
check_fails https_unknown_ca_refused "certificate|SSL" "$PC" update --root rt2

# --- crash consistency: SIGKILL at each step of an update ------------------------------
# strace sends SIGKILL as the update enters its Nth call of S (counted per
# thread), for N = 1, 2, ... until an update runs to its end without an Nth
# call: each update below is killed right before each rename, symlink and
# unlink it makes (the steps that change what is published: cache files,
# staging, versions/, current, state.json), each time from the same start.
# Every kill must land (exit 137) and leave current a complete version (the
# old or the new one) that status reports, and a root that a plain update then
# brings to the target. Three updates: into an empty root, 1.0.0 -> 1.10.0
# (patches, an object, hard links, a symlink) and from 1.10.0 back to the
# installed 1.2.0.
consistent() { # root from to: current is from or to, complete, and what status says
    local cur want
    cur=$(readlink "$1/current" 2>/dev/null) || cur=versions/None
    cur=${cur#versions/}
    [ "$cur" = "$2" ] || [ "$cur" = "$3" ] || return 1
    if [ "$cur" = None ]; then
        [ ! -e "$1/current" ] || return 1
        want='"current": null,'
    else
        same_tree "$1/current/" "rel/$cur/" || return 1
        want="\"current\": \"$cur\","
    fi
    [[ $("$PC" status --root "$1" --json 2>/dev/null) == *"$want"* ]]
}
newroot cbase-none "$TMP/site"
newroot cbase-1.0.0 "$TMP/site" && "$PC" update --root cbase-1.0.0 --to 1.0.0 >/dev/null 2>&1
newroot cbase-1.10.0 "$TMP/site" && "$PC" update --root cbase-1.10.0 --to 1.2.0 >/dev/null 2>&1 &&
    "$PC" update --root cbase-1.10.0 --to 1.10.0 >/dev/null 2>&1
kills=0 bad=""
for run in None:1.2.0 1.0.0:1.10.0 1.10.0:1.2.0; do
    from=${run%:*} to=${run#*:}
    for sc in rename symlink unlink unlinkat; do
        for ((n = 1; n < 200; n++)); do
            rm -rf rc && cp -a "cbase-${from/None/none}" rc
            # (in a subshell whose stderr takes the shell's "Killed" notice)
            rc=$( { strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" \
                "$PC" update --root rc --to "$to" >/dev/null 2>&1; echo $?; } 2>/dev/null)
            [ "$rc" -eq 0 ] && break # no Nth call: the update ran to its end
            kills=$((kills + 1))
            if [ "$rc" -ne 137 ]; then
                bad="$bad $from>$to:$sc#$n:exit-$rc"
            elif ! consistent rc "$from" "$to"; then
                bad="$bad $from>$to:$sc#$n:$(readlink rc/current)"
            elif ! "$PC" update --root rc --to "$to" >/dev/null 2>&1 || ! consistent rc "$to" "$to"; then
                bad="$bad $from>$to:$sc#$n:no-recovery"
            fi
        done
        [ "$rc" -eq 0 ] && consistent rc "$to" "$to" || bad="$bad $from>$to:$sc-never-completed"
    done
done
echo "($kills kills)"
if ! command -v strace >/dev/null; then fail crash_consistency_each_step "strace is not installed (make deps)"
elif [ -z "$bad" ] && [ "$kills" -ge 50 ]; then pass crash_consistency_each_step
else fail crash_consistency_each_step "$kills kills; bad:$bad"; fi
finish
