"""patchcast.reload: hot modules re-executed in dependency order, state
handed over, a failing batch rolled back whole; and once after a real update."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

import patchcast
from conftest import NEWEST
from patchcast.reload import ReloadError, reload_modules, reload_update


@pytest.fixture
def app(tmp_path, monkeypatch):
    """app(files_v1, files_v2) -> (old dir, new dir), old on sys.path; the
    package name is unique per test and removed from sys.modules after."""
    pkg = f"hotpkg_{tmp_path.name.replace('-', '_')}"
    made: list[str] = []

    def make(v1: dict[str, str], v2: dict[str, str]) -> tuple[Path, Path, str]:
        for ver, files in (("1", v1), ("2", v2)):
            d = tmp_path / ver / pkg
            d.mkdir(parents=True)
            (d / "__init__.py").write_text("")
            for name, src in files.items():
                (d / name).write_text(textwrap.dedent(src).replace("PKG", pkg))
        monkeypatch.syspath_prepend(str(tmp_path / "1"))
        importlib.invalidate_caches()
        made.append(pkg)
        return tmp_path / "1", tmp_path / "2", pkg

    yield make
    for name in [m for m in sys.modules if m.split(".")[0] in made]:
        del sys.modules[name]
    sys.modules.pop("reload_log", None)


LOG = "import reload_log\nreload_log.order.append(__name__.rsplit('.', 1)[1])\n"


@pytest.fixture(autouse=True)
def reload_log():
    import types

    m = types.ModuleType("reload_log")
    m.order = []
    sys.modules["reload_log"] = m
    return m


def test_dependency_order_and_in_place(app, reload_log):
    old, new, pkg = app(
        {"a.py": LOG + "from PKG import b\ndef f():\n    return 'a1' + b.g()\n",
         "b.py": LOG + "def g():\n    return 'b1'\n",
         "c.py": LOG + "from . import a\nV = 1\n"},
        {"a.py": LOG + "from PKG import b\ndef f():\n    return 'a2' + b.g()\n",
         "b.py": LOG + "def g():\n    return 'b2'\n",
         "c.py": LOG + "from . import a\nV = 2\n"},
    )
    c = importlib.import_module(f"{pkg}.c")
    a = sys.modules[f"{pkg}.a"]
    assert a.f() == "a1b1"
    reload_log.order.clear()
    # Given in the worst order: c needs a, a needs b.
    r = reload_modules(new, [f"{pkg}/c.py", f"{pkg}/a.py", f"{pkg}/b.py", f"{pkg}/native.so"], [old])
    assert r.ok, r.error
    assert r.reloaded == [f"{pkg}.b", f"{pkg}.a", f"{pkg}.c"]
    assert reload_log.order == ["b", "a", "c"]
    assert r.skipped == [f"{pkg}/native.so"]
    # In place: the module objects others hold see the new code.
    assert a.f() == "a2b2" and c.V == 2 and c.a is a
    assert sys.modules[f"{pkg}.a"] is a
    assert a.__file__ == str(new / pkg / "a.py")


def test_migrate_hook_hands_state_over(app):
    old, new, pkg = app(
        {"counter.py": "count = 0\ndef bump():\n    global count\n    count += 1\n    return count\n"},
        {"counter.py": """
            count = 0
            migrated_from = None
            def __patchcast_migrate__(old):
                global count, migrated_from
                count = old.count
                migrated_from = old.__file__
            def bump():
                global count
                count += 10
                return count
            def self_check():
                return bump.__code__ is not None
            """},
    )
    m = importlib.import_module(f"{pkg}.counter")
    for _ in range(5):
        m.bump()
    r = reload_modules(new, [f"{pkg}/counter.py"], [old]).raise_for_error()
    assert r.reloaded == [f"{pkg}.counter"]
    assert m.count == 5 and m.migrated_from == str(old / pkg / "counter.py")
    assert m.bump() == 15


@pytest.mark.parametrize("how", ["self_check_false", "self_check_raises", "migrate_raises", "syntax_error"])
def test_failing_module_rolls_back_the_batch(app, how):
    bad = {
        "self_check_false": "X = 2\ndef self_check():\n    return False\n",
        "self_check_raises": "X = 2\ndef self_check():\n    raise RuntimeError('broken')\n",
        "migrate_raises": "X = 2\ndef __patchcast_migrate__(old):\n    raise KeyError(old.X)\n",
        "syntax_error": "X = = 2\n",
    }[how]
    old, new, pkg = app(
        {"base.py": "X = 1\ndef who():\n    return 'base1'\n",
         "top.py": f"from PKG import base\nX = 1\n"},
        {"base.py": "X = 2\ndef who():\n    return 'base2'\ndef added():\n    pass\n",
         "top.py": "from PKG import base\n" + bad},
    )
    top = importlib.import_module(f"{pkg}.top")
    base = sys.modules[f"{pkg}.base"]
    r = reload_modules(new, [f"{pkg}/top.py", f"{pkg}/base.py"], [old])
    assert not r.ok and r.failed == f"{pkg}.top"
    if how == "syntax_error":  # found by compiling the batch first: nothing ran
        assert r.reloaded == [] and r.rolled_back == []
    else:
        assert r.reloaded == [f"{pkg}.base"]  # base went first, then was restored
        assert r.rolled_back == [f"{pkg}.top", f"{pkg}.base"]
    assert r.error is not None
    # Every module of the batch is back: values, functions, file, no new names.
    assert base.who() == "base1" and base.X == 1 and not hasattr(base, "added")
    assert base.__file__ == str(old / pkg / "base.py")
    assert top.X == 1 and top.__file__ == str(old / pkg / "top.py")
    assert not hasattr(top, "self_check") and not hasattr(top, "__patchcast_migrate__")
    with pytest.raises(ReloadError, match=f"{pkg}.top"):
        r.raise_for_error()


def test_modules_not_imported_are_skipped(app):
    old, new, pkg = app({"lazy.py": "X = 1\n"}, {"lazy.py": "X = 2\n"})
    r = reload_modules(new, [f"{pkg}/lazy.py"], [old])
    assert r.ok and r.reloaded == [] and r.skipped == [f"{pkg}/lazy.py"]


def test_after_a_real_update(make_root, monkeypatch):
    """The site's hot module app/greeting.py, imported from ROOT/current/app
    as `greeting`, runs the new version's code after update + reload."""
    root = make_root("http")
    with patchcast.Client(root) as c:
        c.update("1.0.0")
        monkeypatch.syspath_prepend(str(root / "current" / "app"))
        sys.modules.pop("greeting", None)
        importlib.invalidate_caches()
        greeting = importlib.import_module("greeting")
        try:
            assert greeting.greet() == "hello 1.0.0"
            info = c.update()
            assert "app/greeting.py" in info.hot_modules
            r = reload_update(root, info)
            assert r.ok and r.reloaded == ["greeting"], r
            assert greeting.greet() == f"hello {NEWEST}" and greeting.VERSION == NEWEST
            assert greeting.__file__ == str(root / "versions" / NEWEST / "app" / "greeting.py")
        finally:
            sys.modules.pop("greeting", None)


def test_hooks_the_new_version_dropped_do_not_run(app):
    """The old version's self_check and __patchcast_migrate__ are not
    called for a new version that no longer has them."""
    old, new, pkg = app(
        {"a.py": "def self_check():\n    return False\n"
                 "def __patchcast_migrate__(old):\n    raise RuntimeError('old hook')\nV = 1\n"},
        {"a.py": "V = 2\n"},
    )
    a = importlib.import_module(f"{pkg}.a")
    r = reload_modules(new, [f"{pkg}/a.py"], [old])
    assert r.ok, r.error
    assert a.V == 2 and "self_check" not in a.__dict__
