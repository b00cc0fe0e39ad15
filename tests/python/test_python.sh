#!/usr/bin/env bash
# test_python.sh — the Python binding's pytest suites (tests/python/test_*.py:
# the binding against a real site over nginx and file://, the PyQt5 updater
# and widgets under Xvfb, the live reload of modules) and the Qt example's
# story (scripts/demo-qt.sh, make demo-qt), with Debian's Python
# (python3-pytest, python3-pytestqt, python3-pyqt5), under xvfb-run. Each
# pytest test becomes a "PASS test_python/<file>.<test>" or "FAIL …: reason"
# line for tests/run; a skipped test counts as failed.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
export PYTHONPATH=$TOP/python PATCHCAST_LIBRARY=$BUILD/libpatchcast.so BUILD
export PYTHONDONTWRITEBYTECODE=1 PC_SCREENSHOTS=${PC_SCREENSHOTS:-$BUILD/screenshots}
unset PATCHCAST_ROOT PATCHCAST_PASSWORD
for m in pytest pytestqt PyQt5; do
    "$PY" -c "import $m" 2>/dev/null || { fail setup "$PY cannot import $m (run make deps)"; finish; }
done
command -v xvfb-run >/dev/null || { fail setup "xvfb-run is missing (run make deps)"; finish; }
[ -x "$BUILD/patchcast-gen" ] && [ -e "$BUILD/libpatchcast.so" ] || { fail setup "build first (make)"; finish; }

# An ASan+UBSan library (make asan) needs its runtimes loaded first into the
# uninstrumented python3; Python's own allocations are not this project's
# leaks (the binding's are measured by test_client.py's heap figures).
if nm -D "$BUILD/libpatchcast.so" 2>/dev/null | grep -q __asan_init; then
    export LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
    export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi
# -p no:cacheprovider: nothing written into the tree. -s: the figures the
# tests print (leak measures) reach the log.
xvfb-run -a -s "-screen 0 1280x800x24" \
    "$PY" -m pytest -p no:cacheprovider -s -v -o junit_family=xunit1 \
    --basetemp="$TMP/pytest" --junitxml="$TMP/junit.xml" "$TOP/tests/python" ${PYTEST_ARGS:-} \
    >"$TMP/pytest.out" 2>&1
rc=$?
cat "$TMP/pytest.out"
grep -o 'LEAK .*' "$TMP/pytest.out" >"$BUILD/python-leak.txt" 2>/dev/null || true

# One line per test case, from pytest's JUnit XML.
"$PY" - "$TMP/junit.xml" "$SUITE" <<'EOF'
import sys, xml.etree.ElementTree as ET
path, suite = sys.argv[1], sys.argv[2]
try:
    cases = list(ET.parse(path).getroot().iter("testcase"))
except (OSError, ET.ParseError) as e:
    print(f"FAIL {suite}/junit: no readable pytest report: {e}")
    sys.exit(1)
n = failed = 0
for c in cases:
    n += 1
    name = c.get("classname", "").rsplit(".", 1)[-1] + "." + c.get("name", "?")
    bad = [e for e in c if e.tag in ("failure", "error", "skipped")]
    if not bad:
        print(f"PASS {suite}/{name}")
        continue
    e = bad[0]
    why = (e.get("message") or e.text or e.tag).strip().replace("\n", " ")[:300]
    print(f"FAIL {suite}/{name}: {e.tag}: {why}")
    failed += 1
if n == 0:
    print(f"FAIL {suite}/collected: no test ran")
sys.exit(1 if failed or n == 0 else 0)
EOF
[ $? -eq 0 ] || T_FAILED=1
# The example app's story (make demo-qt): updated while it runs.
if out=$(BUILD="$BUILD" bash "$TOP/scripts/demo-qt.sh" 2>&1); then
    pass demo_qt_story
else
    fail demo_qt_story "$(echo "$out" | grep 'demo-qt:' | tail -n 3 | tr '\n' ' ')"
fi
# python/pyproject.toml builds a pure-Python wheel holding every module, at
# the library's version (built from a copy: nothing written into the tree).
cp -r "$TOP/python" "$TMP/pysrc"
VERSION=$("$BUILD/patchcast" --version | cut -d' ' -f2)
if (cd "$TMP/pysrc" && "$PY" -m pip wheel -q --no-deps --no-build-isolation --no-index . -w "$TMP/wheel") >"$TMP/wheel.out" 2>&1; then
    whl=$TMP/wheel/patchcast-$VERSION-py3-none-any.whl
    want=$(cd "$TOP/python" && find patchcast -name '*.py' | sort)
    got=$(unzip -Z1 "$whl" 2>/dev/null | grep '\.py$' | sort)
    [ -n "$want" ] && [ "$want" = "$got" ] && pass wheel_is_pure_python_with_every_module ||
        fail wheel_is_pure_python_with_every_module "$(ls "$TMP/wheel") :: $(diff <(echo "$want") <(echo "$got") | tr '\n' ' ')"
else
    fail wheel_is_pure_python_with_every_module "pip wheel: $(tail -n 3 "$TMP/wheel.out" | tr '\n' ' ')"
fi
# Failures pytest reports outside a test case (collection, a crash).
if [ "$rc" -ne 0 ] && ! grep -q '<failure\|<error' "$TMP/junit.xml" 2>/dev/null; then
    fail pytest_exit "pytest exited $rc: $(tail -n 3 "$TMP/pytest.out" | tr '\n' ' ')"
fi
finish
