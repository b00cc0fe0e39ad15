"""The binding against a real site: over nginx (http) and file://."""

from __future__ import annotations

import ctypes
import gc
import threading
from pathlib import Path

import pytest

import patchcast
from conftest import NEWEST, NOTES_120, PC, VERSIONS, run, same_tree

STEPS = {"metadata", "download", "apply", "verify", "switch"}


def test_library_version_is_the_builds():
    assert patchcast.version() == run(PC, "--version").split()[1]
    # One version: the package's (and pyproject.toml's, test_python.sh) is the library's.
    assert patchcast.__version__ == patchcast.version()


def test_check_on_a_fresh_root(make_root, transport):
    with patchcast.Client(make_root(transport)) as c:
        info = c.check()
    assert info.from_version is None
    assert info.to_version == NEWEST
    assert not info.up_to_date
    assert info.hops == 0
    assert info.download_bytes > 3_000_000
    assert info.full_bytes >= info.download_bytes
    assert "data/big.bin" in info.changed_files
    assert isinstance(info.changed_files[0], str)
    assert info.notes == NOTES_120


def test_update_with_progress(make_root, transport, site):
    root = make_root(transport)
    seen: list[patchcast.Progress] = []
    with patchcast.Client(root) as c:
        first = c.update("1.0.0", progress=seen.append)
        assert first.from_version is None and first.to_version == "1.0.0"
        assert same_tree(root / "current", site.releases / "1.0.0")
        names = [p.name for p in seen]
        assert set(names) <= STEPS and names[0] == "metadata" and names[-1] == "switch"
        downloads = [p for p in seen if p.name == "download"]
        assert len(downloads) >= 10, f"{len(downloads)} download reports for 3 MB"
        # Per step: bytes never go back and never pass the total; steps go forward.
        for a, b in zip(seen, seen[1:]):
            assert b.step >= a.step
            if a.step == b.step:
                assert b.done >= a.done, (a, b)
        for p in seen:
            assert 1 <= p.step <= p.steps
            assert p.total == 0 or p.done <= p.total
        assert downloads[-1].done == downloads[-1].total > 0

        seen.clear()
        info = c.update(progress=seen.append)
    assert info.from_version == "1.0.0" and info.to_version == NEWEST
    assert info.restart_required
    assert "app/greeting.py" in info.hot_modules
    assert same_tree(root / "current", site.releases / NEWEST)
    assert seen and seen[-1].name == "switch" and seen[-1].detail == NEWEST


def test_patch_downloads_less_than_full(make_root, transport):
    root = make_root(transport)
    with patchcast.Client(root) as c:
        c.update("1.0.0")
        info = c.check("1.1.0")
        assert info.hops == 1
        assert info.download_bytes < info.full_bytes // 100
        assert info.saving_bytes == info.full_bytes - info.download_bytes
        done = c.update("1.1.0")
    assert done.download_bytes < done.full_bytes // 100
    assert not done.restart_required


def test_configured_in_code_and_saved(site, tmp_path, transport):
    root = tmp_path / "incode"
    key_b64 = site.pub.read_text().splitlines()[-1]
    with patchcast.Client(root, repos=[site.base(transport)], keys=[key_b64], channel="stable") as c:
        assert c.update("1.0.0").to_version == "1.0.0"
        c.save_config()
    with patchcast.Client(root) as c:  # the saved config.json
        assert c.check().to_version == NEWEST
    # check reads a root, update makes it.
    with patchcast.Client(tmp_path / "bykeyfile", repos=[site.base(transport)], keys=[str(site.pub)]) as c:
        with pytest.raises(patchcast.NotFoundError):
            c.check()
        assert c.update().to_version == NEWEST


def test_cancel_from_another_thread(make_root, transport, site):
    """The worker is held inside its first download report until the main
    thread has called cancel(): the cancel lands during the operation."""
    root = make_root(transport)
    c = patchcast.Client(root)
    c.update("1.1.0")
    in_download = threading.Event()
    cancelled = threading.Event()
    result: dict[str, object] = {}

    def progress(p: patchcast.Progress) -> None:
        if p.name == "download" and not in_download.is_set():
            in_download.set()
            assert cancelled.wait(30)

    def work() -> None:
        try:
            result["info"] = c.update(progress=progress)
        except BaseException as e:  # noqa: BLE001
            result["error"] = e

    t = threading.Thread(target=work)
    t.start()
    assert in_download.wait(30)
    c.cancel()
    cancelled.set()
    t.join(60)
    assert not t.is_alive()
    err = result.get("error")
    assert isinstance(err, patchcast.CancelledError), result
    assert err.status == 17 and err.code == "cancelled"
    assert c.status().current == "1.1.0"
    assert same_tree(root / "current", site.releases / "1.1.0")
    # The cancel ended with the operation: the next update runs.
    assert c.update().to_version == NEWEST
    c.close()


def test_cancel_while_idle_applies_to_the_next_operation(make_root):
    with patchcast.Client(make_root("file")) as c:
        c.cancel()
        with pytest.raises(patchcast.CancelledError):
            c.update()
        assert c.status().current is None
        assert c.update("1.0.0").to_version == "1.0.0"


def test_exception_in_progress_cancels_and_is_raised(make_root, site):
    root = make_root("http")
    with patchcast.Client(root) as c:
        c.update("1.0.0")

        def boom(p: patchcast.Progress) -> None:
            if p.name == "download":
                raise KeyError("stop here")

        with pytest.raises(KeyError, match="stop here"):
            c.update(progress=boom)
        assert c.status().current == "1.0.0"
        assert same_tree(root / "current", site.releases / "1.0.0")
        assert c.update().to_version == NEWEST


def test_rollback(make_root, transport, site):
    root = make_root(transport)
    with patchcast.Client(root) as c:
        with pytest.raises(patchcast.StateError) as e:
            c.rollback()  # nothing installed yet
        assert e.value.status == 16
        c.update("1.0.0")
        c.update()
        st = c.status()
        assert (st.current, st.previous) == (NEWEST, "1.0.0")
        assert set(st.installed) == {"1.0.0", NEWEST}
        back = c.rollback()
        assert (back.from_version, back.to_version) == (NEWEST, "1.0.0")
        assert c.status().current == "1.0.0"
    assert same_tree(root / "current", site.releases / "1.0.0")


def test_repair(make_root, site):
    root = make_root("http")
    with patchcast.Client(root) as c:
        c.update()
        assert c.repair() == 0
        target = root / "current" / "data" / "greeting.txt"
        target.write_text("damaged\n")
        assert c.repair() == 1
    assert same_tree(root / "current", site.releases / NEWEST)


def test_missing_root_raises_error_with_status(tmp_path):
    with pytest.raises(patchcast.Error) as e:
        patchcast.Client(tmp_path / "no-such-root")
    err = e.value
    assert isinstance(err, patchcast.NotInitialisedError)
    assert err.status != 0 and err.status == 24
    assert err.code == "not_initialised"
    assert "no-such-root" in err.message and "no-such-root" in str(err)


@pytest.mark.parametrize(
    "repo, cls, code",
    [
        ("ftp://example.com/site", patchcast.InvalidArgumentError, "invalid"),
        ("127.0.0.1:8765/x", patchcast.InvalidArgumentError, "invalid"),
    ],
)
def test_bad_repository_refused(tmp_path, site, repo, cls, code):
    with pytest.raises(cls) as e:
        patchcast.Client(tmp_path / "r", repos=[repo], keys=[str(site.pub)])
    assert e.value.code == code and e.value.status == 2
    assert isinstance(e.value, ValueError)


def test_wrong_key_is_a_security_error(make_root, site, transport):
    with patchcast.Client(make_root(transport, pub=site.other_pub)) as c:
        with pytest.raises(patchcast.SecurityError) as e:
            c.check()
    assert e.value.code in ("key", "signature")
    assert e.value.status in (7, 8)


def test_unreachable_mirror_is_a_transport_error(make_root):
    with patchcast.Client(make_root("http://127.0.0.1:1/site")) as c:
        with pytest.raises(patchcast.TransportError) as e:
            c.check()
    assert e.value.status in (12, 23) and "127.0.0.1:1" in e.value.message


def test_unknown_version_not_found(make_root):
    with patchcast.Client(make_root("file")) as c:
        with pytest.raises(patchcast.NotFoundError) as e:
            c.check("9.9.9")
    assert "9.9.9" in e.value.message


def test_error_class_for_every_status():
    for status in range(1, 25):
        cls = patchcast.BY_STATUS[status]
        assert issubclass(cls, patchcast.Error)
        assert patchcast.status_code(status) not in ("", "unknown")
    assert patchcast.status_code(999) == "unknown"


def test_closed_client_refuses(make_root):
    c = patchcast.Client(make_root("file"))
    c.close()
    c.close()
    c.cancel()  # harmless
    with pytest.raises(patchcast.InvalidArgumentError):
        c.check()


def test_calls_from_several_threads_take_turns(make_root):
    c = patchcast.Client(make_root("http"))
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(15):
                assert c.check().to_version == NEWEST
                assert c.status().current is None
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    c.close()
    assert not errors, errors


def test_hold(make_root):
    with patchcast.Client(make_root("file")) as c:
        c.update("1.0.0")
        with c.hold() as h:
            assert h.version == "1.0.0"
            assert Path(h.dir).name == "1.0.0" and Path(h.dir).is_dir()
            assert "1.0.0" in c.status().held
        assert "1.0.0" not in c.status().held
        with pytest.raises(patchcast.NotFoundError):
            c.hold("7.7.7")


def test_unicode_paths_are_str(make_root):
    with patchcast.Client(make_root("file")) as c:
        info = c.check()
    assert "app/caf\u00e9.py" in info.changed_files


# ---- leaks ------------------------------------------------------------------


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                 "fsmblks", "uordblks", "fordblks", "keepcost")]


_libc = ctypes.CDLL(None)
_libc.mallinfo2.restype = _Mallinfo2


def heap_in_use() -> int:
    """Bytes malloc has handed out and not had back (every arena; mmapped
    blocks included)."""
    gc.collect()
    m = _libc.mallinfo2()
    return int(m.uordblks + m.hblkhd)


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


LEAK_CALLS = 1000
# Below 64 bytes a call: one leaked path string per call would pass it.
LEAK_LIMIT = 64 * 1024


def growth(fn, n: int = LEAK_CALLS) -> tuple[int, int]:
    for _ in range(50):  # warm up: lazy loads (libcurl), caches, arenas
        fn()
    h0, r0 = heap_in_use(), rss()
    for _ in range(n):
        fn()
    return heap_in_use() - h0, rss() - r0


def report(name: str, heap: int, r: int) -> None:
    print(f"LEAK {name}: {LEAK_CALLS} calls, heap {heap:+d} bytes, rss {r:+d} bytes")


@pytest.mark.parametrize("where", ["http", "file"])
def test_no_leak_over_1000_calls(make_root, where):
    root = make_root(where)
    c = patchcast.Client(root)
    c.update("1.0.0")
    bad = make_root("http://127.0.0.1:1/x")
    seen = []

    def calls() -> None:
        info = c.check(progress=seen.append)  # an UpdateInfo with lists and notes
        assert info.to_version == NEWEST
        assert c.status().current == "1.0.0"
        seen.clear()
        try:
            patchcast.Client(bad / "missing")
        except patchcast.NotInitialisedError:
            pass

    heap, r = growth(calls)
    report(f"check+status+error over {where}", heap, r)
    assert heap < LEAK_LIMIT, f"heap grew {heap} bytes over {LEAK_CALLS} calls"
    assert r < 4 * 1024 * 1024, f"RSS grew {r} bytes over {LEAK_CALLS} calls"
    c.close()


def test_leak_measure_sees_a_leak(make_root):
    """The measure above is able to fail: the same check without
    pc_update_info_free grows the heap past the limit."""
    from patchcast import _lib

    lib = _lib.load()
    c = patchcast.Client(make_root("file"))
    h = c._handle()

    def leaky() -> None:
        out = ctypes.POINTER(_lib.pc_update_info)()
        assert lib.pc_client_check(h, None, ctypes.byref(out)) == 0

    heap, r = growth(leaky)
    report("check without free (must grow)", heap, r)
    assert heap > LEAK_LIMIT, f"a leak of every result went unseen: {heap} bytes"
    c.close()
