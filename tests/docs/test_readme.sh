#!/usr/bin/env bash
# test_readme.sh — the README's two quick starts are run exactly as written,
# one after the other, in one shell (set -euo pipefail): the publisher's,
# then the user's against the site it made, served by a real nginx in
# https://updates.example.com's place. Only the host, /opt/myapp and
# <public key> are put in; the user's block runs from a fresh root, in the
# order printed (init, then check before anything is installed).
source "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
unset PATCHCAST_ROOT

mkdir -p www home work opt state
BASE=$("$TOP/tests/nginx.sh" start www state) || { fail setup "nginx did not start"; finish; }
trap '"$TOP/tests/nginx.sh" stop "$TMP/state"; rm -rf "$TMP"' EXIT

python3 - "$TOP/README.md" <<'EOF' || { fail setup "cannot find the quick start blocks"; finish; }
import re, sys
text = open(sys.argv[1]).read()
qs = text[text.index("## Quick start"):]
qs = qs[:qs.index("\n## ", 3)]
blocks = re.findall(r"^```sh\n(.*?)^```$", qs, re.S | re.M)
assert len(blocks) == 2, len(blocks)
open("publisher.sh", "w").write(blocks[0])
open("user.sh", "w").write(blocks[1])
EOF

# What the publisher has: two releases of an app, and its patchcast.json.
for v in 1.0.0 1.1.0; do
    mkdir -p "work/RELEASES/$v/bin" "work/RELEASES/$v/share"
    printf '#!/bin/sh\necho "myapp %s"\n' "$v" >"work/RELEASES/$v/bin/myapp"
    chmod 755 "work/RELEASES/$v/bin/myapp"
    { seq 1 30000; echo "$v"; } >"work/RELEASES/$v/share/data.txt"
done
echo '{"product": "myapp"}' >work/patchcast.json

{
    echo 'set -euo pipefail'
    echo "export HOME=$TMP/home PATH=$BUILD:\$PATH PATCHCAST_PASSWORD=readme-password"
    echo "cd $TMP/work"
    cat publisher.sh
    echo 'echo PUBLISHER ok'
    # The upload the block describes in a comment: the site as it is.
    echo "cp -a site $TMP/www/myapp"
    sed -e "s|https://updates.example.com|$BASE|g" -e "s|/opt/myapp|$TMP/opt/myapp|g" \
        -e "s|<public key>|\"\$(tail -n 1 repo.pub)\"|g" user.sh
    echo 'echo USER ok'
} >readme-run.sh
bash readme-run.sh >readme-run.out 2>&1
rc=$?
grep -q '^PUBLISHER ok' readme-run.out && pass publisher_quick_start_runs ||
    fail publisher_quick_start_runs "$(tail -3 readme-run.out | tr '\n' ' ')"
if [ $rc -eq 0 ] && grep -q '^USER ok' readme-run.out; then pass user_quick_start_runs
else fail user_quick_start_runs "exit $rc: $(tail -3 readme-run.out | tr '\n' ' ')"; fi
grep -q '^myapp 1.1.0$' readme-run.out && [ "$(readlink opt/myapp/current)" = versions/1.1.0 ] &&
    pass quick_start_installs_and_runs_newest || fail quick_start_installs_and_runs_newest "$(tail -3 readme-run.out | tr '\n' ' ')"
grep -q 'expire' publisher.sh && grep -qi 'expire' <(sed -n '/^## Quick start/,/^## /p' "$TOP/README.md" | sed -n '/^patchcast run/,$p') &&
    pass quick_starts_state_the_expiry || fail quick_starts_state_the_expiry "no word of the expiry"
finish
