"""The binding's side of the release lifecycle (issue 17), on real sites
built by patchcast-gen with patchcast.json release settings (conftest's
life_site, over file://): the lifecycle fields of UpdateInfo and
InstallState, skip, stage / apply_staged, mark_good, the launcher's
start_run / end_run, the update flags; and the ctypes structs against
include/patchcast.h."""

from __future__ import annotations

import ctypes
import subprocess

import pytest

import patchcast
from conftest import LIFE_NOTES, TOP, same_tree
from patchcast import _lib


def test_struct_layout_matches_header(tmp_path):
    """Every field of the ctypes structs at the offset, and every struct of
    the size, a C compiler gives include/patchcast.h's."""
    structs = {
        "pc_update_info": _lib.pc_update_info,
        "pc_install_state": _lib.pc_install_state,
        "pc_release_note": _lib.pc_release_note,
        "pc_progress": _lib.pc_progress,
    }
    lines = []
    for name, cls in structs.items():
        lines.append(f'printf("{name} %zu\\n", sizeof({name}));')
        for field, _ in cls._fields_:
            c = "from" if field == "from_" else field
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof({name}, {c}));')
    src = tmp_path / "layout.c"
    src.write_text("#include <stddef.h>\n#include <stdio.h>\n#include \"patchcast.h\"\n"
                   "int main(void) {\n" + "\n".join(lines) + "\nreturn 0;\n}\n")
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=c11", "-I", str(TOP / "include"), "-o", str(exe), str(src)], check=True)
    want = dict(line.split() for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                         check=True).stdout.splitlines())
    got = {}
    for name, cls in structs.items():
        got[name] = str(ctypes.sizeof(cls))
        for field, _ in cls._fields_:
            got[f"{name}.{field}"] = str(getattr(cls, field).offset)
    assert got == want
    # Nothing in the header's structs that the binding leaves out: the last
    # field ends where the C struct does (padding aside).
    assert _lib.pc_update_info._fields_[-1][0] == "release_patch"
    assert _lib.pc_install_state._fields_[-1][0] == "rollout_bucket"


def test_release_notes_of_every_version_newest_first(life_site):
    root = life_site.build().root("1.0.0")
    with patchcast.Client(root) as c:
        info = c.check()
        st = c.status()
    assert info.to_version == "1.3.0" and not info.critical
    assert [n.version for n in info.release_notes] == ["1.3.0", "1.2.0", "1.1.0"]
    assert all(n.notes == LIFE_NOTES[n.version] for n in info.release_notes)
    version, notes = info.release_notes[-1]  # unpacks as a pair
    assert (version, notes) == ("1.1.0", LIFE_NOTES["1.1.0"])
    assert info.notes == LIFE_NOTES["1.3.0"]  # the target's, as before
    d = info.as_dict()
    assert d["release_notes"][0] == {"version": "1.3.0", "notes": LIFE_NOTES["1.3.0"]}
    assert d["skipped"] == [] and d["critical"] is False
    # This install's rollout bucket, the same in check and status.
    assert isinstance(info.rollout_bucket, float) and 0 <= info.rollout_bucket < 100
    assert info.rollout_bucket == st.rollout_bucket
    assert (st.staged, st.pending, st.attempts, st.last_good, st.bad, st.skipped) == \
        (None, None, 0, "1.0.0", (), ())
    with patchcast.Client(root) as c:  # a version named: the notes up to it
        assert [n.version for n in c.check("1.2.0").release_notes] == ["1.2.0", "1.1.0"]


def test_skip_version_persists_across_clients(life_site):
    root = life_site.build().root("1.1.0")
    with patchcast.Client(root) as c:
        c.skip_version("1.3.0")
        assert c.status().skipped == ("1.3.0",)
    with patchcast.Client(root) as c:  # a restart: the skip is in state.json
        assert c.status().skipped == ("1.3.0",)
        info = c.check()
        assert info.to_version == "1.2.0" and info.skipped == ("1.3.0",)
        assert c.update().to_version == "1.2.0"
        # Named, a skipped version is taken all the same.
        assert c.check("1.3.0").to_version == "1.3.0"
        c.skip_version("1.3.0", skip=False)
        assert c.status().skipped == ()
    with patchcast.Client(root) as c:
        assert c.check().to_version == "1.3.0"
        with pytest.raises(patchcast.InvalidArgumentError):
            c.skip_version("../1.3.0")


def test_critical_version_offered_though_skipped(life_site):
    root = life_site.build({"1.3.0": {"critical": True, "rollout": {"percent": 0}}}).root("1.1.0")
    with patchcast.Client(root) as c:
        c.skip_version("1.3.0")
    with patchcast.Client(root) as c:
        info = c.check()
    assert info.to_version == "1.3.0" and info.critical is True
    assert info.skipped == ("1.3.0",) and info.held_back is None
    # Critical when any version on the way is.
    root2 = life_site.build({"1.2.0": {"critical": True}}).root("1.0.0")
    with patchcast.Client(root2) as c:
        assert c.check().critical is True
        c.update("1.2.0")
        assert c.check().critical is False  # 1.2.0 is behind it now


def test_rollout_held_back_and_update_flags(life_site):
    root = life_site.build({"1.3.0": {"rollout": {"percent": 0}}}).root("1.0.0")
    with patchcast.Client(root) as c:
        info = c.check()
        assert (info.to_version, info.held_back) == ("1.2.0", "1.3.0")
        c.set_update_flags(ignore_rollout=True)
        assert c.check().to_version == "1.3.0"
        c.set_update_flags()  # both off again
        assert c.check().to_version == "1.2.0"
    with patchcast.Client(root, ignore_rollout=True) as c:
        info = c.check()
        assert info.to_version == "1.3.0" and info.held_back is None


def test_withdrawn_installed_version_moves_off_it(life_site):
    site = life_site.build()
    root = site.root("1.3.0")
    other = site.root("1.0.0")
    site.build({"1.3.0": {"withdrawn": True, "withdrawn_reason": "loses <b>saved</b> files"}})
    with patchcast.Client(root) as c:
        info = c.check()
        assert info.from_withdrawn and info.withdrawn_reason == "loses <b>saved</b> files"
        assert (info.from_version, info.to_version) == ("1.3.0", "1.2.0")
        assert info.downgrade and not info.up_to_date and not info.critical
        assert c.update().to_version == "1.2.0"
    with patchcast.Client(other) as c:
        info = c.check()
        assert info.to_version == "1.2.0" and not info.from_withdrawn and info.withdrawn_reason is None
        with pytest.raises(patchcast.StateError, match="withdrawn: loses"):
            c.check("1.3.0")


def test_minimum_version_needs_a_manual_update(life_site):
    # 1.3.0 needs 1.2.0 first, and 1.2.0 is not rolled out here yet: from
    # 1.0.0 the update goes to 1.1.0, and 1.3.0 needs the user.
    root = life_site.build({"1.3.0": {"minimum_version": "1.2.0"},
                            "1.2.0": {"rollout": {"percent": 0}}}).root("1.0.0")
    with patchcast.Client(root) as c:
        info = c.check()
    assert info.to_version == "1.1.0" and info.manual_update_required
    assert (info.manual_version, info.minimum_version, info.held_back) == ("1.3.0", "1.2.0", "1.2.0")
    # A stepping stone that reaches the minimum version: no manual update.
    root2 = life_site.build({"1.3.0": {"minimum_version": "1.2.0"}}).root("1.0.0")
    with patchcast.Client(root2) as c:
        info = c.check()
    assert info.to_version == "1.2.0" and not info.manual_update_required
    assert info.manual_version is None and info.minimum_version is None


def test_no_silent_downgrade_unless_allowed(life_site):
    # Channel "lts" ends at 1.1.0; an install on 1.3.0 that follows it.
    site = life_site.build({"1.2.0": {"channels": ["stable"]}, "1.3.0": {"channels": ["stable"]}},
                           channels={"stable": {}, "lts": {}})
    root = site.root("1.3.0")
    with patchcast.Client(root, channel="lts") as c:
        info = c.check()
        assert info.up_to_date and info.to_version == "1.3.0"
        assert info.downgrade_refused == "1.1.0" and not info.downgrade
    with patchcast.Client(root, channel="lts", allow_downgrade=True) as c:
        info = c.check()
        assert info.to_version == "1.1.0" and info.downgrade and info.downgrade_refused is None
        assert c.update().to_version == "1.1.0"
    assert same_tree(root / "current", site.rel / "rel" / "1.1.0")


def test_stage_then_apply_staged(life_site):
    site = life_site.build()
    root = site.root("1.0.0")
    with patchcast.Client(root) as c:
        with pytest.raises(patchcast.NotFoundError, match="nothing is staged"):
            c.apply_staged()
        seen = []
        info = c.stage(progress=seen.append)
        assert (info.from_version, info.to_version) == ("1.0.0", "1.3.0")
        assert seen and seen[0].name == "metadata"
        st = c.status()
        assert (st.current, st.staged) == ("1.0.0", "1.3.0") and "1.3.0" in st.installed
    assert same_tree(root / "current", site.rel / "rel" / "1.0.0")
    with patchcast.Client(root) as c:  # a restart: still staged
        assert c.status().staged == "1.3.0"
        info = c.apply_staged()
        assert (info.from_version, info.to_version) == ("1.0.0", "1.3.0")
        st = c.status()
        assert (st.current, st.staged, st.pending) == ("1.3.0", None, "1.3.0")
        with pytest.raises(patchcast.NotFoundError):
            c.apply_staged()
        # Staging a named version, then another: the second replaces it.
        c.stage("1.1.0")
        c.stage("1.2.0")
        assert c.status().staged == "1.2.0"
    assert same_tree(root / "current", site.rel / "rel" / "1.3.0")


def test_mark_good(life_site):
    root = life_site.build().root("1.0.0")
    with patchcast.Client(root) as c:
        c.mark_good()  # not pending: left as it is
        c.update()
        st = c.status()
        assert (st.current, st.pending, st.last_good) == ("1.3.0", "1.3.0", "1.0.0")
        c.mark_good("1.0.0")  # not the running version: nothing
        assert c.status().pending == "1.3.0"
        c.mark_good()
        st = c.status()
        assert (st.pending, st.last_good, st.attempts) == (None, "1.3.0", 0)
    with patchcast.Client(life_site.root()) as c:
        with pytest.raises(patchcast.StateError, match="nothing is installed"):
            c.mark_good()


def test_start_run_and_end_run_roll_back_a_failing_version(life_site):
    root = life_site.build().root("1.0.0")
    with patchcast.Client(root) as c:
        c.stage()
        # The launcher's start switches to the staged version and counts it.
        hold, rolled = c.start_run(max_attempts=2)
        with hold:
            assert (hold.version, rolled) == ("1.3.0", None)
            assert hold.dir.endswith("/versions/1.3.0")
        st = c.status()
        assert (st.current, st.pending, st.attempts) == ("1.3.0", "1.3.0", 1)
        assert c.end_run("1.3.0", healthy=False, max_attempts=2) is None
        hold, rolled = c.start_run(max_attempts=2)
        hold.release()
        assert rolled is None and c.status().attempts == 2
        # The second failed start: back to the last good version, 1.3.0 bad.
        assert c.end_run("1.3.0", healthy=False, max_attempts=2) == "1.3.0"
        st = c.status()
        assert (st.current, st.bad, st.pending) == ("1.0.0", ("1.3.0",), None)
        info = c.check()
        assert info.to_version == "1.2.0"  # a bad version is not offered again
        c.update()
        hold, _ = c.start_run()
        hold.release()
        assert c.end_run("1.2.0", healthy=True) is None
        st = c.status()
        assert (st.pending, st.last_good) == (None, "1.2.0")
        with pytest.raises(patchcast.InvalidArgumentError):
            c.start_run(max_attempts=0)


def test_no_leak_over_1000_lifecycle_calls(life_site):
    """check with release notes and a skip list, status with the lifecycle
    fields, skip and unskip, and a launcher's start and end: the heap does
    not grow (the measure of test_client.py)."""
    from test_client import LEAK_CALLS, LEAK_LIMIT, growth, report

    root = life_site.build().root("1.0.0")
    c = patchcast.Client(root)
    c.update("1.2.0")

    def calls() -> None:
        c.skip_version("1.3.0")
        info = c.check()
        assert info.to_version == "1.2.0" and info.skipped == ("1.3.0",)
        c.skip_version("1.3.0", skip=False)
        assert len(c.check().release_notes) == 1
        st = c.status()
        assert st.current == "1.2.0" and st.rollout_bucket is not None
        hold, rolled = c.start_run(max_attempts=1_000_000)
        hold.release()
        assert rolled is None and c.end_run("1.2.0", healthy=False, max_attempts=1_000_000) is None

    heap, r = growth(calls)
    report("lifecycle calls over file", heap, r)
    assert heap < LEAK_LIMIT, f"heap grew {heap} bytes over {LEAK_CALLS} calls"
    c.close()
