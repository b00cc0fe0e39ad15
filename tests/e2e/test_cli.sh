#!/usr/bin/env bash
# test_cli.sh — what scripts rely on in the `patchcast` command: a distinct
# exit code and JSON error.code for busy, no space, permission, offline and
# not initialised; --wait; exactly one JSON document on stdout for every
# command with --json, on success and on failure (usage errors too, control
# characters escaped); and an `init` that refuses what would only fail
# later (a host without a scheme, the URL of repo.json, with --check a site
# signed by another key), stores folders absolute and says why it cannot
# create the root.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/signed.sh"
cd "$TMP" || exit 1
unset PATCHCAST_ROOT PATCHCAST_PASSWORD
cleanup() {
    touch "$TMP/release" 2>/dev/null
    mountpoint -q "$TMP/full" 2>/dev/null && umount "$TMP/full"
    rm -rf "$TMP"
}
trap cleanup EXIT

small_signed_site || { fail setup "build: $(cat build.out)"; finish; }
"$PCGEN" keygen -W -p other.pub -s other.key >/dev/null

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
# doc FILE: FILE holds exactly one JSON document (json.load refuses two, or none).
doc() { "$PY" -c 'import json, sys; json.load(open(sys.argv[1], "rb"))' "$1" 2>/dev/null; }
# field FILE EXPR: a value of FILE's document, as Python prints it ("" if absent).
field() { "$PY" -c "import json, sys; d = json.load(open(sys.argv[1], 'rb')); print(d$2)" "$1" 2>/dev/null; }

# expect NAME EXIT CODE CMD...: CMD exits EXIT and prints one JSON document
# on stdout: {"ok": true, ...} for EXIT 0, else {"ok": false, "error":
# {"code": CODE, "message": ...}, "exit": EXIT}.
expect() {
    local name=$1 want=$2 code=$3 rc why
    shift 3
    "$@" >out.json 2>err.txt
    rc=$?
    why=$("$PY" - out.json "$want" "$code" "$rc" <<'EOF'
import json, sys
path, want, code, rc = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
why = [] if rc == want else ["exit %d, expected %d" % (rc, want)]
try:
    d = json.load(open(path, "rb"))
except ValueError as e:
    d = None
    why.append("stdout is not one JSON document (%s): %r" % (e, open(path, "rb").read()[:300]))
if isinstance(d, dict) and want == 0:
    if d.get("ok") is not True:
        why.append("ok is not true")
elif isinstance(d, dict):
    err = d.get("error") if isinstance(d.get("error"), dict) else {}
    if d.get("ok") is not False:
        why.append("ok is not false")
    if err.get("code") != code:
        why.append("error.code %r, expected %r" % (err.get("code"), code))
    if d.get("exit") != want:
        why.append("exit member %r" % d.get("exit"))
    if not isinstance(err.get("message"), str) or not err["message"]:
        why.append("no error.message")
elif d is not None:
    why.append("not an object")
print("; ".join(why))
EOF
)
    if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why; stderr: $(tail -n 2 err.txt | tr '\n' ' ')"; fi
}

# --- not initialised, offline ---------------------------------------------------
mkdir empty
expect status_not_initialised_exit_9 9 not_initialised "$PC" status --root empty --json
expect update_not_initialised_exit_9 9 not_initialised "$PC" update --root "$TMP/none" --json
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
newroot roff "http://127.0.0.1:$port"
expect update_offline_exit_8 8 offline "$PC" update --root roff --json
expect check_offline_exit_8 8 offline "$PC" check --root roff --json

# --- busy: another process holds the root's lock ---------------------------------
newroot rb
"$PC" update --root rb --to 1.0.0 >/dev/null 2>&1 || fail setup "install into rb failed"
hold() { # hold rb's lock until $TMP/release exists
    rm -f held release
    flock rb/.lock sh -c 'touch held; while [ ! -e release ]; do sleep 0.05; done' &
    wait_for 5 test -e held
}
hold
expect update_busy_exit_5 5 busy "$PC" update --root rb --json
expect rollback_busy_exit_5 5 busy "$PC" rollback --root rb --json
expect repair_busy_exit_5 5 busy "$PC" repair --root rb --json --wait=0
# --wait=10: the update waits for the holder instead of failing, and goes
# through once it lets go. It is still waiting a second later.
"$PC" update --root rb --wait=10 --json >wait.json 2>wait.err &
pid=$!
sleep 1
if kill -0 "$pid" 2>/dev/null; then waited=yes; else waited=no; fi
touch release
wait "$pid"
rc=$?
[ "$waited" = yes ] && [ "$rc" = 0 ] && doc wait.json && [ "$(field wait.json '["to"]')" = 1.1.0 ] &&
    pass update_wait_succeeds_after_release ||
    fail update_wait_succeeds_after_release "waited $waited, exit $rc: $(cat wait.json wait.err | tr '\n' ' ')"
hold
"$PC" rollback --root rb --wait --json >wait.json 2>wait.err &
pid=$!
sleep 1
if kill -0 "$pid" 2>/dev/null; then waited=yes; else waited=no; fi
touch release
wait "$pid"
rc=$?
[ "$waited" = yes ] && [ "$rc" = 0 ] && [ "$(field wait.json '["to"]')" = 1.0.0 ] &&
    pass rollback_wait_without_limit || fail rollback_wait_without_limit "waited $waited, exit $rc: $(cat wait.json wait.err | tr '\n' ' ')"
expect wait_refused_for_status 2 usage "$PC" status --root rb --wait --json
expect wait_needs_a_number 2 usage "$PC" update --root rb --wait=soon --json

# --- permission: a root owned by root, run as nobody ---------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    mkdir -p bin && cp "$PC" "$PCGEN" bin/ && chmod 755 bin bin/* && chmod 711 "$TMP"
    nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    newroot rperm
    "$PC" update --root rperm --to 1.0.0 >/dev/null 2>&1 || fail setup "install into rperm failed"
    expect update_permission_exit_7 7 permission nobody bin/patchcast update --root "$TMP/rperm" --json
    expect status_readable_by_other_user 0 "" nobody bin/patchcast status --root "$TMP/rperm" --json
    expect init_permission_exit_7 7 permission nobody bin/patchcast init --root "$TMP/rperm/sub" \
        --repo "$TMP/site" -P "$(tail -n 1 k.pub)" --json
    grep -q "cannot create $TMP/rperm/sub: Permission denied" err.txt && pass init_cannot_create_says_why_permission ||
        fail init_cannot_create_says_why_permission "$(cat err.txt)"
    nobody bin/patchcast-gen keygen -W -p "$TMP/rperm/n.pub" -s "$TMP/rperm/n.key" >/dev/null 2>err.txt
    rc=$?
    [ "$rc" = 7 ] && pass gen_permission_exit_7 || fail gen_permission_exit_7 "exit $rc: $(cat err.txt)"
else
    echo "# permission tests skipped: not root, or no setpriv"
fi

# --- no space: a 1 MiB tmpfs root, a 3 MB release ------------------------------------
mkdir -p full relbig/1.0.0
head -c 3000000 /dev/urandom >relbig/1.0.0/big.bin
"$PCGEN" build -q relbig -o sitebig -s k.key --config cfg.json >build.out 2>&1 || fail setup "build: $(cat build.out)"
if mount -t tmpfs -o size=1m tmpfs full 2>/dev/null; then
    "$PC" init --root full/r --repo sitebig -p k.pub >/dev/null
    expect update_no_space_exit_6 6 no_space "$PC" update --root full/r --json
    grep -q "No space left on device" err.txt && pass no_space_message_names_it ||
        fail no_space_message_names_it "$(cat err.txt)"
    umount full
else
    echo "# no-space test skipped: cannot mount a tmpfs here"
fi

# --- one JSON document for every command, on success and on failure ------------------
newroot rj
expect init_json 0 "" "$PC" init --root rj2 --repo site -p k.pub --json
expect check_json 0 "" "$PC" check --root rj --json
expect update_json 0 "" "$PC" update --root rj --to 1.0.0 --json
"$PC" update --root rj --json >/dev/null 2>&1
expect rollback_json 0 "" "$PC" rollback --root rj --json
expect status_json 0 "" "$PC" status --root rj --json
expect repair_json 0 "" "$PC" repair --root rj --json
expect mirror_json 0 "" "$PC" mirror site mir -p k.pub --json
expect verify_json 0 "" "$PC" verify -p k.pub -m site/repo.json --json
[ "$(field out.json '["trusted_comment"]')" = "$(sed -n 's/^trusted comment: //p' site/repo.json.minisig)" ] &&
    pass verify_json_trusted_comment || fail verify_json_trusted_comment "$(cat out.json)"
patch=$(ls site/patches/*/* | head -n 1)
new_sha=$(sha256sum rel/1.1.0/bin/app | cut -c1-64)
expect apply_json 0 "" "$PC" apply rel/1.0.0/bin/app "$patch" app.new --sha256 "$new_sha" --json
expect sha256_json 0 "" "$PC" sha256 --json k.pub rel/1.0.0/bin/app
[ "$(field out.json '["files"][1]["sha256"]')" = "$(sha256sum rel/1.0.0/bin/app | cut -c1-64)" ] &&
    pass sha256_json_digest || fail sha256_json_digest "$(cat out.json)"
expect help_json 0 "" "$PC" update --help --json

expect verify_wrong_key_json 3 key "$PC" verify -p other.pub -m site/repo.json --json
expect apply_missing_old_json 1 not_found "$PC" apply nosuchfile "$patch" app.bad --json
expect mirror_wrong_key_json 3 key "$PC" mirror site mir2 -p other.pub --json
expect mirror_missing_json 1 network "$PC" mirror nosuchsite mir3 -p k.pub --json
expect rollback_nothing_json 1 state "$PC" rollback --root rj2 --json
for cmd in init check update rollback status repair mirror verify apply sha256; do
    expect "${cmd}_usage_error_json" 2 usage "$PC" "$cmd" --no-such-option --json
done
expect update_missing_value_json 2 usage "$PC" update --json --root
expect unknown_command_json 2 usage "$PC" no-such-command --json
expect verify_missing_file_json 2 usage "$PC" verify -p k.pub --json

# Control characters and bytes that are not UTF-8 in a message: escaped,
# never dropped, and the document stays valid.
bad=$(printf 'no\001such\nfile\377')
expect sha256_missing_json 1 not_found "$PC" sha256 --json "$bad"
"$PY" -c 'import json, sys; m = json.load(open("out.json"))["error"]["message"]; sys.exit(not ("\x01such\nfile\ufffd" in m))' &&
    grep -q '\\u0001' out.json && pass json_escapes_control_characters ||
    fail json_escapes_control_characters "$(cat -A out.json)"

# --- init -----------------------------------------------------------------------------
expect init_host_without_scheme_refused 2 usage "$PC" init --root ri --repo 127.0.0.1:8765/x -p k.pub --json
grep -q "http://127.0.0.1:8765/x" err.txt && [ ! -e ri/config.json ] && pass init_suggests_http_scheme ||
    fail init_suggests_http_scheme "$(cat err.txt; ls ri 2>&1)"
expect init_bare_domain_refused 2 usage "$PC" init --root ri --repo example.com/updates -p k.pub --json
grep -q "http://example.com/updates" err.txt && pass init_bare_domain_suggests_http || fail init_bare_domain_suggests_http "$(cat err.txt)"
expect init_other_scheme_refused 2 usage "$PC" init --root ri --repo ftp://example.com/updates -p k.pub --json
expect init_repo_json_url_refused 2 usage "$PC" init --root ri --repo "file://$TMP/site/repo.json" -p k.pub --json
grep -q "give the site's folder (file://$TMP/site)" err.txt && pass init_repo_json_says_give_folder ||
    fail init_repo_json_says_give_folder "$(cat err.txt)"
expect init_repo_json_path_refused 2 usage "$PC" init --root ri --repo site/repo.json.minisig -p k.pub --json
# A fragment would swallow every file's path (it is never sent); no host.
expect init_url_fragment_refused 2 usage "$PC" init --root ri --repo "https://example.com/site#top" -p k.pub --json
expect init_url_without_host_refused 2 usage "$PC" init --root ri --repo "http://" -p k.pub --json
[ ! -e ri ] && pass init_refusals_save_nothing || fail init_refusals_save_nothing "$(ls -la ri)"

# Relative folders are stored absolute: the root works from anywhere.
mkdir -p sub
(cd sub && "$PC" init --root ../rel-root --repo ../site --repo ./later -p ../k.pub >/dev/null 2>&1)
repos=$(field rel-root/config.json '["repos"]')
[ "$repos" = "['$(realpath site)', '$TMP/sub/later']" ] && pass init_stores_folders_absolute ||
    fail init_stores_folders_absolute "repos $repos"
(cd / && "$PC" update --root "$TMP/rel-root" >/dev/null 2>&1) && [ "$(readlink rel-root/current)" = versions/1.1.0 ] &&
    pass init_relative_folder_works_from_elsewhere || fail init_relative_folder_works_from_elsewhere "not installed"
expect init_json_root_absolute 0 "" "$PC" init --root ./rel-root2 --repo site -p k.pub --json
[ "$(field out.json '["root"]')" = "$TMP/rel-root2" ] && pass init_root_absolute || fail init_root_absolute "$(cat out.json)"

# Cannot create the root: the reason.
: >afile
expect init_cannot_create_exit_1 1 io "$PC" init --root afile/sub --repo site -p k.pub --json
grep -q "cannot create $TMP/afile/sub: Not a directory" err.txt && pass init_cannot_create_says_why ||
    fail init_cannot_create_says_why "$(cat err.txt)"

# --check: the site is fetched and verified first; on failure nothing stays.
expect init_check_other_key_refused 3 key "$PC" init --root rk --repo site -p other.pub --check --json
[ ! -e rk ] && pass init_check_failure_leaves_no_root || fail init_check_failure_leaves_no_root "$(ls -la rk)"
mkdir rk2
"$PC" init --root rk2 --repo site -p other.pub --check >/dev/null 2>&1
[ -d rk2 ] && [ -z "$(ls -A rk2)" ] && pass init_check_failure_leaves_existing_root_empty ||
    fail init_check_failure_leaves_existing_root_empty "$(ls -A rk2)"
expect init_check_offline_refused 8 offline "$PC" init --root rk3 --repo "http://127.0.0.1:$port" -p k.pub --check --json
[ ! -e rk3 ] && pass init_check_offline_saves_nothing || fail init_check_offline_saves_nothing "$(ls -la rk3)"
expect init_check_good_site 0 "" "$PC" init --root rk4 --repo site -p k.pub --check --json
[ "$(field out.json '["newest"]')" = 1.1.0 ] && [ -s rk4/config.json ] && pass init_check_saves_after_verifying ||
    fail init_check_saves_after_verifying "$(cat out.json)"

finish
