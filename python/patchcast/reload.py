"""reload — live reload of a pure-Python app's modules after an update.

After Client.update() switched to a new version, the modules the update
changed and that are flagged hot (UpdateInfo.hot_modules, paths such as
"app/greeting.py") are re-executed from the new version's folder, in place
(every `import x` reference sees the new code), in dependency order (a
module after the batch's modules it imports). Per module, after its new
code ran:

    __patchcast_migrate__(old_module)   optional: take state over from a
                                        snapshot of the previous module
    self_check()                        optional: raising or returning False
                                        fails the module

Every new file is compiled before any module is touched (a syntax error
changes nothing); any later failure restores every module of the batch to
what it was (its previous namespace, __file__ and spec) and is reported in
the ReloadResult: all or nothing. Modules the program has not imported are skipped (a later import
finds the new file), as are files that are not Python source (native
modules are the C host's).

Limits: names bound by `from x import f` elsewhere keep the old object, as
with importlib.reload; classes' existing instances keep their old class.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .client import UpdateInfo

__all__ = ["ReloadError", "ReloadResult", "reload_modules", "reload_update"]


class ReloadError(Exception):
    """A batch failed and was rolled back (ReloadResult.raise_for_error)."""

    def __init__(self, result: "ReloadResult") -> None:
        self.result = result
        super().__init__(f"reloading {result.failed} failed: {result.error!r}; "
                         f"restored {', '.join(result.rolled_back) or 'nothing'}")


@dataclass
class ReloadResult:
    """What a batch did.

    ok: every module reloaded (or the batch was empty); reloaded: module
    names in the order they were reloaded (on failure: those that were
    before it failed); failed/error: the module that failed and why;
    rolled_back: the modules restored; skipped: hot paths not reloaded
    (not imported, not Python)."""

    ok: bool = True
    reloaded: list[str] = field(default_factory=list)
    failed: Optional[str] = None
    error: Optional[BaseException] = None
    rolled_back: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def raise_for_error(self) -> "ReloadResult":
        """Raise ReloadError if the batch failed; else return self."""
        if not self.ok:
            raise ReloadError(self)
        return self


@dataclass
class _Item:
    name: str
    module: types.ModuleType
    new_path: str
    snapshot: dict[str, Any] = field(default_factory=dict)


def _find_module(rel: str, bases: list[str]) -> Optional[types.ModuleType]:
    """The imported module whose file is V/rel, for V a base or a folder a
    base is inside (a program may put ROOT/current/app on sys.path: its
    module greeting is the hot path app/greeting.py)."""
    tail = os.sep + rel.replace("/", os.sep)
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None)
        if not f:
            continue
        f = os.path.abspath(f)
        if not f.endswith(tail):
            continue
        v = f[: -len(tail)]
        if any(b == v or b.startswith(v + os.sep) for b in bases if f.startswith(b + os.sep)):
            return m
    return None


def _imports(path: str, module: types.ModuleType) -> set[str]:
    """Module names the source at path imports (absolute; relative ones
    resolved against the module's package). A file that does not parse
    imports nothing here: executing it will fail and report that."""
    try:
        tree = ast.parse(open(path, "rb").read(), path)
    except (SyntaxError, OSError, ValueError):
        return set()
    pkg = module.__package__ or ""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".") if pkg else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(parts + ([base] if base else []))
            if base:
                names.add(base)
            names.update(f"{base}.{a.name}" if base else a.name for a in node.names)
    return names


def _order(items: list[_Item]) -> list[_Item]:
    """Dependencies first (depth-first topological order); members of an
    import cycle keep their given order."""
    by_name = {it.name: it for it in items}
    deps = {it.name: sorted(n for n in _imports(it.new_path, it.module) if n in by_name and n != it.name)
            for it in items}
    out: list[_Item] = []
    state: dict[str, int] = {}

    def visit(n: str) -> None:
        if state.get(n) == 2 or state.get(n) == 1:
            return
        state[n] = 1
        for d in deps[n]:
            visit(d)
        state[n] = 2
        out.append(by_name[n])

    for it in items:
        visit(it.name)
    return out


def _restore(it: _Item) -> None:
    d = it.module.__dict__
    d.clear()
    d.update(it.snapshot)


def _run_one(it: _Item) -> None:
    spec = importlib.util.spec_from_file_location(
        it.name, it.new_path,
        submodule_search_locations=[os.path.dirname(it.new_path)]
        if os.path.basename(it.new_path) == "__init__.py" else None,
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {it.new_path}")
    old = types.ModuleType(it.name)
    old.__dict__.update(it.snapshot)
    m = it.module
    m.__spec__ = spec
    m.__loader__ = spec.loader
    m.__file__ = it.new_path
    m.__cached__ = spec.cached
    if spec.submodule_search_locations is not None:
        m.__path__ = list(spec.submodule_search_locations)
    # The hooks are the new code's alone: the old version's must not run
    # when the new one has dropped them (other names linger, as with
    # importlib.reload, until the new code assigns them).
    m.__dict__.pop("__patchcast_migrate__", None)
    m.__dict__.pop("self_check", None)
    spec.loader.exec_module(m)
    migrate = m.__dict__.get("__patchcast_migrate__")
    if callable(migrate):
        migrate(old)
    check = m.__dict__.get("self_check")
    if callable(check) and check() is False:
        raise AssertionError(f"{it.name}.self_check() returned False")


def reload_modules(
    new_dir: Union[str, "os.PathLike[str]"],
    hot_modules: Iterable[str],
    loaded_from: Iterable[Union[str, "os.PathLike[str]"]],
) -> ReloadResult:
    """Reload, from new_dir, the imported modules whose files are hot_modules
    (paths relative to a version's folder) under one of loaded_from (the
    folders the program imported them from: ROOT/current, the old
    ROOT/versions/<v>, or a subfolder on sys.path such as ROOT/current/app).
    All or nothing; see the module's docstring."""
    new_dir = os.path.abspath(os.fspath(new_dir))
    bases = [os.path.abspath(os.fspath(b)) for b in loaded_from]
    result = ReloadResult()
    items: list[_Item] = []
    for rel in hot_modules:
        module = _find_module(rel, bases) if rel.endswith(".py") else None
        if module is None or any(it.module is module for it in items):
            result.skipped.append(rel)
            continue
        items.append(_Item(module.__name__, module, os.path.join(new_dir, rel)))
    # Every new source compiles before any module is touched.
    for it in items:
        try:
            with open(it.new_path, "rb") as f:
                compile(f.read(), it.new_path, "exec")
        except BaseException as e:  # noqa: BLE001 - reported, nothing changed
            result.ok, result.failed, result.error = False, it.name, e
            return result
    ordered = _order(items)
    done: list[_Item] = []
    for it in ordered:
        it.snapshot = dict(it.module.__dict__)
        done.append(it)
        try:
            _run_one(it)
        except BaseException as e:  # noqa: BLE001 - any failure rolls the batch back
            for back in reversed(done):
                _restore(back)
            result.ok = False
            result.failed = it.name
            result.error = e
            result.rolled_back = [b.name for b in reversed(done)]
            result.reloaded = [b.name for b in done[:-1]]
            importlib.invalidate_caches()
            return result
    result.reloaded = [it.name for it in done]
    importlib.invalidate_caches()
    return result


def reload_update(
    root: Union[str, "os.PathLike[str]"],
    info: Union[UpdateInfo, Mapping[str, Any]],
    loaded_from: Optional[Iterable[Union[str, "os.PathLike[str]"]]] = None,
) -> ReloadResult:
    """reload_modules for an update just made under root: the new folder is
    ROOT/versions/<to>, the hot modules the info's; loaded_from defaults to
    ROOT/current and ROOT/versions/<from> (a module imported from a folder
    inside them, e.g. ROOT/current/app on sys.path, is found too)."""
    d = info.as_dict() if isinstance(info, UpdateInfo) else dict(info)
    root = os.path.abspath(os.fspath(root))
    if loaded_from is None:
        loaded_from = [os.path.join(root, "current")]
        if d.get("from_version"):
            loaded_from.append(os.path.join(root, "versions", d["from_version"]))
    new_dir = os.path.join(root, "versions", d["to_version"])
    return reload_modules(new_dir, d.get("hot_modules", []), loaded_from)
