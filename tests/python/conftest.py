"""Fixtures of the Python binding's tests: a real site built by
build/patchcast-gen from releases made here, served by a real nginx
(tests/nginx.sh) and over file://, and install roots made by `patchcast init`.

Run through tests/python/test_python.sh (under xvfb-run, results counted by
tests/run), or by hand:
    PYTHONPATH=python PATCHCAST_LIBRARY=build/libpatchcast.so \
        xvfb-run -a /usr/bin/python3 -m pytest tests/python
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BUILD", "build"))
if not BUILD.is_absolute():
    BUILD = TOP / BUILD
PC = BUILD / "patchcast"
PCGEN = BUILD / "patchcast-gen"

sys.path.insert(0, str(TOP / "python"))
os.environ.setdefault("PATCHCAST_LIBRARY", str(BUILD / "libpatchcast.so"))

VERSIONS = ["1.0.0", "1.1.0", "1.2.0"]
NEWEST = VERSIONS[-1]
NOTES_120 = """# Release 1.2.0

Faster **startup** and a *new* greeting.

- fixed the crash on exit
- smaller downloads
"""


def make_releases(rel: Path) -> None:
    """Three releases: a critical executable, a big data file (3 MB, so a
    full download reports progress many times), hot Python modules, notes."""
    rnd = random.Random(18)
    big = bytearray(rnd.randbytes(3_000_000))
    for i, v in enumerate(VERSIONS):
        d = rel / v
        (d / "bin").mkdir(parents=True)
        (d / "app").mkdir()
        (d / "data").mkdir()
        exe = d / "bin" / "app"
        exe.write_text(f"#!/bin/sh\necho app {v if i != 1 else VERSIONS[0]}\n")
        exe.chmod(0o755)
        # 1.1.0 changes a few bytes of the data file; 1.2.0 a few more and
        # appends 200 kB (patches both), and changes the executable (a
        # restart).
        if i == 1:
            big[1000:1010] = b"0123456789"
        elif i == 2:
            big[2_000_000:2_000_100] = bytes(100)
            big += rnd.randbytes(200_000)
        (d / "data" / "big.bin").write_bytes(bytes(big))
        (d / "data" / "greeting.txt").write_text(f"hello from {v}\n")
        (d / "app" / "greeting.py").write_text(f'VERSION = "{v}"\n\ndef greet():\n    return "hello {v}"\n')
        (d / "app" / "caf\u00e9.py").write_text("X = 1\n")
    (rel / "1.2.0.md").write_text(NOTES_120)


@dataclass
class Site:
    dir: Path
    pub: Path
    other_pub: Path
    url: str  # http:// served by nginx
    file_url: str
    releases: Path

    def base(self, transport: str) -> str:
        return self.url if transport == "http" else self.file_url


def run(*cmd: object, cwd: Path | None = None) -> str:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd}: exit {r.returncode}: {r.stdout}{r.stderr}")
    return r.stdout


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("site")
    make_releases(tmp / "rel")
    os.environ.pop("PATCHCAST_PASSWORD", None)
    os.environ.pop("PATCHCAST_ROOT", None)
    run(PCGEN, "keygen", "-W", "-p", tmp / "k.pub", "-s", tmp / "k.key")
    run(PCGEN, "keygen", "-W", "-p", tmp / "other.pub", "-s", tmp / "other.key")
    (tmp / "cfg.json").write_text(
        '{"product": "pydemo", "critical_files": ["bin/app"], "hot_swap_modules": ["app/*.py"]}'
    )
    run(PCGEN, "build", "-q", tmp / "rel", "-o", tmp / "site", "-s", tmp / "k.key", "--config", tmp / "cfg.json")
    state = tmp / "nginx"
    state.mkdir()
    url = run(TOP / "tests" / "nginx.sh", "start", tmp / "site", state).strip()
    try:
        yield Site(tmp / "site", tmp / "k.pub", tmp / "other.pub", url, (tmp / "site").as_uri(), tmp / "rel")
    finally:
        subprocess.run([str(TOP / "tests" / "nginx.sh"), "stop", str(state)])


@pytest.fixture(params=["http", "file"])
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_root(site: Site, tmp_path: Path):
    """make_root(transport_or_url) -> a root made by `patchcast init`."""
    n = [0]

    def make(where: str = "http", pub: Path | None = None) -> Path:
        n[0] += 1
        root = tmp_path / f"root{n[0]}"
        url = site.base(where) if where in ("http", "file") else where
        run(PC, "init", "--root", root, "--repo", url, "-p", pub or site.pub)
        return root

    return make


def same_tree(a: Path, b: Path) -> bool:
    """Byte-for-byte equal files (and the same file names) under a and b."""
    fa = sorted(p.relative_to(a) for p in a.rglob("*"))
    fb = sorted(p.relative_to(b) for p in b.rglob("*"))
    if fa != fb:
        return False
    return all((a / p).is_dir() or (a / p).read_bytes() == (b / p).read_bytes() for p in fa)



# ---- the release lifecycle (issue 17) ----------------------------------------

LIFE_VERSIONS = ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
LIFE_NOTES = {
    "1.0.0": "First.\n",
    "1.1.0": "Faster start.\n",
    "1.2.0": "# Release 1.2.0\n\nA *new* look.\n",
    "1.3.0": "Security fix.\n\n- closes the hole in the importer\n- faster saves\n",
}


@pytest.fixture(scope="session")
def life_releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four small releases, each with notes, and a key (k.key, k.pub)."""
    tmp = tmp_path_factory.mktemp("life")
    for v in LIFE_VERSIONS:
        d = tmp / "rel" / v
        (d / "bin").mkdir(parents=True)
        (d / "bin" / "app").write_text(f"#!/bin/sh\necho app {v}\n")
        (d / "bin" / "app").chmod(0o755)
        (d / "data.txt").write_text("".join(f"{i}\n" for i in range(3000)) + v + "\n")
        (tmp / "rel" / f"{v}.md").write_text(LIFE_NOTES[v])
    run(PCGEN, "keygen", "-W", "-p", tmp / "k.pub", "-s", tmp / "k.key")
    return tmp


class LifeSite:
    """A site of the four lifecycle releases built with release settings
    (patchcast.json's "versions"), over file://; build again to change them
    (repo.json's serial grows)."""

    def __init__(self, rel: Path, out: Path) -> None:
        self.rel = rel
        self.dir = out / "site"
        self.out = out
        self.pub = rel / "k.pub"
        self.url = self.dir.as_uri()
        self.nroots = 0

    def build(self, versions: dict | None = None, **config: object) -> "LifeSite":
        cfg = dict(config, product="life", versions=versions or {})
        (self.out / "cfg.json").write_text(json.dumps(cfg))
        run(PCGEN, "build", "-q", self.rel / "rel", "-o", self.dir, "-s", self.rel / "k.key",
            "--config", self.out / "cfg.json")
        return self

    def root(self, version: str | None = None) -> Path:
        """A new install (patchcast init), at version when given."""
        self.nroots += 1
        root = self.out / f"root{self.nroots}"
        run(PC, "init", "--root", root, "--repo", self.url, "-p", self.pub)
        if version:
            run(PC, "update", "--root", root, "--to", version)
        return root


@pytest.fixture
def life_site(life_releases: Path, tmp_path: Path) -> LifeSite:
    return LifeSite(life_releases, tmp_path)
