"""Hostile use of the binding: a progress callback
calling back into its Client, NUL bytes, out-of-range settings, a bare
string for repos, a wrong PATCHCAST_LIBRARY, pickled errors, and a Qt
Updater dropped or cancelled while idle."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading

import pytest

import patchcast


def _in_thread(fn, timeout=30.0):
    out: dict[str, object] = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    return t.is_alive(), out


@pytest.mark.parametrize("call", ["status", "check", "close", "save_config"])
def test_call_from_own_progress_callback_raises_instead_of_deadlock(make_root, call):
    c = patchcast.Client(make_root("file"))

    def progress(p):
        getattr(c, call)()

    hung, out = _in_thread(lambda: c.update("1.0.0", progress=progress))
    assert not hung, f"update deadlocked: its progress callback called {call}()"
    assert isinstance(out.get("error"), patchcast.InvalidArgumentError), out
    # The update was cancelled, the client still works, cancel() is allowed.
    assert c.status().current is None
    assert c.update("1.0.0", progress=lambda p: c.cancel() if p.name == "never" else None).to_version == "1.0.0"
    c.close()


@pytest.mark.parametrize("how", ["raise", "cancel"])
def test_cancel_at_the_switch_step_leaves_installed_version(make_root, how):
    """The switch step is the last a cancel is honoured at: a callback that
    raises (or cancels) there gets an error and nothing switched."""
    c = patchcast.Client(make_root("file"))
    c.update("1.0.0")

    def progress(p):
        if p.name == "switch":
            if how == "raise":
                raise KeyError("no")
            c.cancel()

    err = KeyError if how == "raise" else patchcast.CancelledError
    with pytest.raises(err):
        c.update(progress=progress)
    assert c.status().current == "1.0.0"
    assert c.update().to_version != "1.0.0"  # the next update is not cancelled
    c.close()


def test_nul_byte_refused_not_truncated(make_root):
    root = make_root("file")
    with pytest.raises(ValueError, match="null"):
        patchcast.Client(str(root) + "\0/elsewhere")
    with pytest.raises(ValueError, match="null"):
        patchcast.Client(os.fsencode(root) + b"\0x")
    with patchcast.Client(root) as c:
        with pytest.raises(ValueError, match="null"):
            c.check("1.0.0\0evil")
        with pytest.raises(ValueError, match="null"):
            c.update("1.0.0\0evil")
        assert c.status().current is None


@pytest.mark.parametrize("kw", [{"wait": 2**31}, {"wait": -(2**31) - 1}, {"wait": 2**32},
                                {"keep_versions": -1}, {"keep_versions": 2**32 + 1},
                                {"keep_versions": 0}])
def test_out_of_range_settings_refused_not_wrapped(make_root, kw):
    with pytest.raises(patchcast.InvalidArgumentError):
        patchcast.Client(make_root("file"), **kw)


def test_extreme_settings_in_range_accepted(make_root):
    patchcast.Client(make_root("file"), wait=2**31 - 1, keep_versions=2**32 - 1).close()
    patchcast.Client(make_root("file"), wait=-(2**31), keep_versions=1).close()


def test_bare_string_repo_and_key_are_one_item(site, tmp_path):
    with patchcast.Client(tmp_path / "r", repos=site.file_url, keys=str(site.pub)) as c:
        assert c.update().to_version == "1.2.0"


def test_wrong_library_is_an_oserror(tmp_path):
    code = "import patchcast\ntry:\n    patchcast.version()\nexcept OSError as e:\n    print('OSError', e)\n"
    env = dict(os.environ, PATCHCAST_LIBRARY="libc.so.6")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert "OSError libc.so.6 is not a libpatchcast" in r.stdout, (r.stdout, r.stderr)


def test_errors_survive_pickling():
    e = patchcast.errors.error_for(7, "signature", "repo.json: bad signature", "text")
    f = pickle.loads(pickle.dumps(e))
    assert type(f) is patchcast.SignatureError
    assert (f.status, f.code, f.message, f.text, str(f)) == (e.status, e.code, e.message, e.text, str(e))


def test_updater_dropped_without_shutdown_does_not_abort(make_root):
    code = f"""
import gc
from PyQt5.QtWidgets import QApplication
app = QApplication([])
from patchcast.qt import Updater
u = Updater({str(make_root("file"))!r})
del u
gc.collect()
print("survived")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=os.environ)
    assert r.returncode == 0 and "survived" in r.stdout, (r.returncode, r.stdout, r.stderr)


def test_updater_cancel_while_idle_does_not_cancel_next_check(make_root, qtbot):
    from patchcast.qt import Updater
    u = Updater(str(make_root("file")))
    try:
        u.cancel()  # nothing runs: e.g. Cancel clicked just after an update ended
        u.shutdown()  # idle too
        assert u.client.check().to_version == "1.2.0"
    finally:
        u.shutdown()
    u2 = Updater(str(make_root("file")))
    try:
        u2.cancel()
        with qtbot.waitSignal(u2.update_available, timeout=30000):
            u2.check_now()
    finally:
        u2.shutdown()


def test_updater_reports_an_unexpected_exception(make_root, qtbot):
    """A bug (any exception, not only patchcast.Error) in a call still ends
    in check_failed / update_completed, and the updater is not left busy."""
    from patchcast.qt import Updater
    u = Updater(str(make_root("file")))
    try:
        def boom(*a, **k):
            raise RuntimeError("boom")
        u.client.check = boom
        u.client.update = boom
        with qtbot.waitSignal(u.check_failed, timeout=10000) as blocker:
            assert u.check_now()
        assert "RuntimeError: boom" in blocker.args[0]
        assert not u.busy
        with qtbot.waitSignal(u.update_completed, timeout=10000) as blocker:
            assert u.update_now()
        assert blocker.args[0] is False and "boom" in blocker.args[1]
        assert not u.busy
    finally:
        u.shutdown()


def test_hold_released_twice_at_once(make_root):
    c = patchcast.Client(make_root("file"))
    c.update("1.0.0")
    h = c.hold()
    threads = [threading.Thread(target=h.release) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    h.release()
    assert c.update().to_version == "1.2.0"  # the version is no longer held
    c.close()
