"""text — the words the Qt widgets show: byte sizes, step titles, savings."""

from __future__ import annotations

from typing import Any, Mapping

from ..client import Progress

STEP_TITLES = {
    "metadata": "Checking",
    "download": "Downloading",
    "apply": "Applying",
    "verify": "Verifying",
    "switch": "Switching",
}


def format_bytes(n: int) -> str:
    """Decimal units, one decimal from kB on: 512 B, 3.2 MB, 1.1 GB."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000.0  # type: ignore[assignment]
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def step_title(p: Progress) -> str:
    """'Step 2 of 4: Downloading'."""
    return f"Step {p.step} of {p.steps}: {STEP_TITLES.get(p.name, p.name.capitalize())}"


def size_line(info: Mapping[str, Any]) -> str:
    """'Download 3.2 kB • saves 99% of the 3.0 MB full download', or
    'Full download: 3.0 MB' when nothing is saved."""
    dl, full = int(info["download_bytes"]), int(info["full_bytes"])
    pct = int(100 * (full - dl) / full) if full > dl else 0
    if info.get("hops", 0) and pct >= 1:
        return f"Download {format_bytes(dl)} • saves {pct}% of the {format_bytes(full)} full download"
    return f"Full download: {format_bytes(full or dl)}"
