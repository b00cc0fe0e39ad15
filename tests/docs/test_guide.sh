#!/usr/bin/env bash
# test_guide.sh — docs/guide.md is run, not just read: every ```sh block,
# in order, in one shell (set -euo pipefail), with the first ```json block as
# patchcast.json and the ```c example compiled with pkg-config against an
# installed libpatchcast and run where it stands in the text. The guide's
# host and paths are pointed into a scratch folder, with a real nginx
# serving https://updates.example.com's place. Then the outputs are checked:
# patches were used, rollback went back, the C updater updated, the key
# rotation and the USB mirror worked.
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
unset PATCHCAST_ROOT

mkdir -p www home work opt media/usb state
BASE=$("$TOP/tests/nginx.sh" start www state) || { fail setup "nginx did not start"; finish; }
trap '"$TOP/tests/nginx.sh" stop "$TMP/state"; rm -rf "$TMP"' EXIT

# The library installed as the guide's embedding section assumes.
make -s -C "$TOP" install BUILD="$BUILD" PREFIX=/usr DESTDIR="$TMP/inst" >install.out 2>&1 ||
    { fail setup "make install: $(tail -2 install.out)"; finish; }
SAN="" PYRUN=""
nm "$BUILD/libpatchcast.a" 2>/dev/null | grep -q __asan_ && SAN="-fsanitize=address,undefined" &&
    PYRUN="env LD_PRELOAD='$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)' ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0"

# The application being published: its build installs into DESTDIR, and
# what it installs depends on the version (the folder's name).
cat >work/Makefile <<'EOF'
V = $(notdir $(DESTDIR))
install:
	mkdir -p $(DESTDIR)/bin $(DESTDIR)/lib/plugins $(DESTDIR)/share
	printf '#!/bin/sh\necho "myapp $(V)"\n' >$(DESTDIR)/bin/myapp
	chmod 755 $(DESTDIR)/bin/myapp
	printf 'plugin $(V)\n' >$(DESTDIR)/lib/plugins/greet.so
	seq 1 50000 >$(DESTDIR)/share/data.txt
	echo "data of $(V)" >>$(DESTDIR)/share/data.txt
EOF

# Blocks of the guide, in order: blocks/NN.sh|json|c|text.
mkdir blocks
python3 - "$TOP/docs/guide.md" blocks <<'EOF' || { fail setup "cannot read the guide's blocks"; finish; }
import re, sys
text = open(sys.argv[1]).read()
for i, m in enumerate(re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.S | re.M)):
    open("%s/%02d.%s" % (sys.argv[2], i, m.group(1) or "text"), "w").write(m.group(2))
EOF

subst() {
    sed -e "s|https://updates.example.com|$BASE|g" -e "s|/srv/www/updates|$TMP/www|g" \
        -e "s|/opt/myapp|$TMP/opt/myapp|g" -e "s|/media/usb|$TMP/media/usb|g" \
        -e "s|^PUBLISH=/usr/share/patchcast/ci|PUBLISH=$TOP/ci|" "$@"
}

# One script: each block prints its output into out/NN and "BLOCK NN ok".
{
    echo 'set -euo pipefail'
    echo "export HOME=$TMP/home PATH=$BUILD:\$PATH PATCHCAST_PASSWORD=guide-password"
    echo "cd $TMP/work; mkdir -p $TMP/out"
    json_done=0
    for b in blocks/*; do
        n=$(basename "$b"); n=${n%%.*}
        case $b in
        *.sh)
            echo "{"
            subst "$b"
            echo "} >$TMP/out/$n 2>&1"
            echo "echo BLOCK $n ok"
            ;;
        *.json)
            [ "$json_done" -eq 0 ] || continue
            json_done=1
            echo "cp $TMP/$b patchcast.json; echo BLOCK $n ok"
            ;;
        *.python)
            # With the installed package and library; a Qt block runs on the
            # offscreen platform and quits once its first check has answered.
            subst "$b" | sed 's/^sys.exit(app.exec_())$/for s in (updater.up_to_date, updater.update_available, updater.check_failed): s.connect(lambda *a: app.quit())\nsys.exit(app.exec_())/' >"$TMP/block$n.py"
            echo "PYTHONPATH=$TMP/inst/usr/lib/python3/dist-packages LD_LIBRARY_PATH=$TMP/inst/usr/lib QT_QPA_PLATFORM=offscreen \\"
            echo "  $PYRUN timeout 60 /usr/bin/python3 $TMP/block$n.py >$TMP/out/$n 2>&1"
            echo "echo BLOCK $n ok"
            ;;
        *.c)
            subst "$b" >updater.c
            echo "sed -i \"s|RWQ-the-second-line-of-repo.pub|\$(tail -n 1 repo.pub)|\" $TMP/updater.c"
            echo "PKG_CONFIG_SYSROOT_DIR=$TMP/inst PKG_CONFIG_PATH=$TMP/inst/usr/lib/pkgconfig \\"
            echo "  cc -std=c11 -Wall -Werror $SAN -o $TMP/updater $TMP/updater.c \$(PKG_CONFIG_SYSROOT_DIR=$TMP/inst PKG_CONFIG_PATH=$TMP/inst/usr/lib/pkgconfig pkg-config --cflags --libs patchcast) >$TMP/out/$n 2>&1"
            echo "LD_LIBRARY_PATH=$TMP/inst/usr/lib $TMP/updater >>$TMP/out/$n 2>&1"
            echo "echo BLOCK $n ok"
            ;;
        esac
    done
} >guide-run.sh

bash guide-run.sh >guide-run.out 2>&1
rc=$?
nblocks=0
for b in blocks/*.sh blocks/*.json blocks/*.c blocks/*.python; do
    n=$(basename "$b"); n=${n%%.*}
    case $b in *.json) [ "$n" = "$(ls blocks/*.json | head -1 | xargs basename | cut -d. -f1)" ] || continue ;; esac
    nblocks=$((nblocks + 1))
    what=$(grep -m1 -oE '^[a-z"$][^ ]*( [a-z-]+)?' "$b" | tr -c 'a-z0-9\n-' '_' | head -1)
    if grep -q "^BLOCK $n ok" guide-run.out; then
        pass "block_${n}_${what:-${b##*.}}"
    else
        fail "block_${n}_${what:-${b##*.}}" "$(tail -4 "out/$n" 2>/dev/null | tr '\n' ' ')"
        break
    fi
done
[ "$rc" -eq 0 ] && [ "$nblocks" -ge 8 ] && pass all_blocks_ran || fail all_blocks_ran "exit $rc, $nblocks blocks"

# What the commands did, block by block (found by their text).
out_of() { local b; b=$(grep -l -- "$1" blocks/*.sh blocks/*.c blocks/*.python | head -1); b=$(basename "$b"); cat "out/${b%%.*}" 2>/dev/null; }
out_of 'patchcast check --root' | grep -q '1.0.0 -> 1.1.0: .* 1 hop' && pass check_plans_one_patch_hop ||
    fail check_plans_one_patch_hop "$(out_of 'patchcast check --root' | head -2)"
status=$(out_of 'patchcast rollback --root' | grep '^{')
[[ $status == *'"current": "1.0.0"'* && $status == *'"previous": "1.1.0"'* ]] &&
    pass rollback_went_back || fail rollback_went_back "$status"
upd=$(out_of 'pc_client_new')
[[ $upd == *"update available: 1.0.0 -> 1.1.0"* && $upd == *"updated to 1.1.0 (restart required)"* ]] &&
    pass c_example_updates || fail c_example_updates "$(echo "$upd" | tail -3 | tr '\n' ' ')"
# The sharded build: planned, assembled and signed, and the site verifies.
sh=$(out_of 'store shards -o site')
[[ $sh == *"jobs.json: plan "* && $sh == *"assembled in"* && $sh == *"checked "*" documents"* ]] && pass sharded_build_assembles ||
    fail sharded_build_assembles "$(echo "$sh" | tail -3 | tr '\n' ' ')"
out_of 'repo-2.key --config' | grep -q 'is up to date' && pass rotation_keeps_clients_updating ||
    fail rotation_keeps_clients_updating "$(out_of 'repo-2.key --config' | tail -2 | tr '\n' ' ')"
# Root of trust: the client walked to root 2 and is up to date with the
# site signed by the new key (test_root.sh mounts the attacks).
rot=$(out_of 'root-2.json --config')
[[ $rot == *"is up to date"* && $rot == *"root of trust: version 2"* ]] && pass root_rotation_keeps_clients_updating ||
    fail root_rotation_keeps_clients_updating "$(echo "$rot" | tail -4 | tr '\n' ' ')"
py=$(out_of 'patchcast.Client("')
[[ $py == *"is up to date"* && $py == *"current: 1.1.0"* ]] && pass python_example_checks ||
    fail python_example_checks "$(echo "$py" | tail -3 | tr '\n' ' ')"
qt=$(out_of 'Updater("')
[[ $qt == *"is up to date"* ]] && pass qt_example_checks || fail qt_example_checks "$(echo "$qt" | tail -3 | tr '\n' ' ')"
# Releasing safely: a rollout the tester passed, the launcher, a withdrawn
# version leaving the install, a critical staged update switched at a start.
ro=$(out_of 'update --root /opt/myapp --ignore-rollout')
[[ $ro == *"1.1.0 -> 1.2.0"* ]] && pass rollout_tester_takes_it || fail rollout_tester_takes_it "$(echo "$ro" | tail -3 | tr '\n' ' ')"
ru=$(out_of 'run --root /opt/myapp --attempts 3')
[[ $ru == *"myapp 1.2.0"* && $ru == *"current:  1.2.0"* && $ru != *"pending"* ]] && pass launcher_runs_and_marks_good ||
    fail launcher_runs_and_marks_good "$(echo "$ru" | tr '\n' ' ')"
wd=$(out_of '"withdrawn_reason": "loses unsaved settings"}$')
[[ $wd == *"1.2.0 was withdrawn: loses unsaved settings"* && $wd == *"1.2.0 -> 1.1.0"* ]] && pass withdrawn_moves_install_back ||
    fail withdrawn_moves_install_back "$(echo "$wd" | tail -3 | tr '\n' ' ')"
cr=$(out_of 'update --root /opt/myapp --stage')
[[ $cr == *"1.2.1 is a critical update"* && $cr == *"myapp 1.2.1"* ]] && pass critical_staged_switched_at_start ||
    fail critical_staged_switched_at_start "$(echo "$cr" | tail -4 | tr '\n' ' ')"
[ -f media/usb/site/roots/2.root.json ] && pass usb_mirror_has_roots || fail usb_mirror_has_roots "$(ls media/usb/site)"
[ -f media/usb/site/repo.json ] && out_of 'patchcast mirror' | grep -q 'mirrored and verified' &&
    pass usb_mirror_made || fail usb_mirror_made "$(out_of 'patchcast mirror' | tail -2)"
grep -q "\"$TMP/media/usb/site\"" opt/myapp/config.json && [ "$(opt/myapp/current/bin/myapp)" = "myapp 1.2.1" ] &&
    pass offline_root_uses_usb_copy || fail offline_root_uses_usb_copy "$(cat opt/myapp/config.json)"
[ "$(stat -c %a home/.patchcast)" = 700 ] && [ "$(stat -c %a home/.patchcast/repo.key)" = 600 ] &&
    pass key_folder_and_file_private || fail key_folder_and_file_private "$(stat -c '%a %n' home/.patchcast home/.patchcast/*)"

finish
