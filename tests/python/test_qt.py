"""patchcast.qt under Xvfb (pytest-qt): the Updater's signals and their
order, cancel from the progress dialog, periodic checks, skips saved in the
install, the widgets' texts and buttons (critical, manual and withdrawn
updates, every version's release notes); screenshots into $PC_SCREENSHOTS
(build/screenshots)."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest
from PyQt5.QtCore import QThread, Qt
from PyQt5.QtWidgets import QApplication, QPushButton

import patchcast
from conftest import NEWEST, TOP, same_tree
from patchcast.qt import (
    ReleaseNotesView,
    UpdateNotification,
    UpdateProgressDialog,
    Updater,
    format_bytes,
)

SHOTS = Path(os.environ.get("PC_SCREENSHOTS", TOP / "build" / "screenshots"))
WAIT = 60_000


def shot(widget, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert widget.grab().save(str(path)), path
    return path


class Recorder:
    """Every signal of an Updater in order, with the thread it arrived on."""

    NAMES = (
        "update_available", "up_to_date", "update_skipped", "check_failed",
        "download_progress", "update_progress", "modules_changed",
        "restart_required", "update_completed", "manual_update_required",
        "skip_saved",
    )

    def __init__(self, updater: Updater) -> None:
        self.events: list[tuple[str, tuple]] = []
        self.threads: set[object] = set()
        for n in self.NAMES:
            getattr(updater, n).connect(lambda *a, n=n: self._got(n, a))

    def _got(self, name: str, args: tuple) -> None:
        self.events.append((name, args))
        self.threads.add(QThread.currentThread())

    def names(self) -> list[str]:
        out: list[str] = []
        for n, _ in self.events:
            if not out or out[-1] != n:
                out.append(n)
        return out

    def args(self, name: str) -> list[tuple]:
        return [a for n, a in self.events if n == name]


@pytest.fixture
def updater_at(make_root, qtbot):
    made: list[Updater] = []

    def make(version: str | None = "1.0.0", where: str = "http", client=None) -> Updater:
        if client is None:
            root = make_root(where)
            if version:
                with patchcast.Client(root) as c:
                    c.update(version)
            u = Updater(str(root))
        else:
            u = Updater(client=client)
        made.append(u)
        return u

    yield make
    for u in made:
        u.shutdown()
        u.client.close()


@pytest.fixture
def info_100(make_root) -> patchcast.UpdateInfo:
    root = make_root("file")
    with patchcast.Client(root) as c:
        c.update("1.0.0")
        return c.check()


def test_check_emits_update_available(updater_at, qtbot):
    u = updater_at("1.0.0")
    rec = Recorder(u)
    with qtbot.waitSignal(u.update_available, timeout=WAIT) as sig:
        assert u.check_now()
    info = sig.args[0]
    assert isinstance(info, dict)
    assert info["from_version"] == "1.0.0" and info["to_version"] == NEWEST
    assert info["hot_modules"] == ["app/greeting.py"]
    assert info["restart_required"] is True
    assert info["saving_bytes"] == info["full_bytes"] - info["download_bytes"]
    assert rec.names() == ["update_available"]
    assert rec.threads == {QApplication.instance().thread()}


def test_update_signals_in_order(updater_at, qtbot, site):
    u = updater_at("1.0.0")
    rec = Recorder(u)
    with qtbot.waitSignal(u.update_completed, timeout=WAIT) as sig:
        assert u.update_now()
        assert not u.update_now()  # busy
    assert sig.args == [True, f"Updated to {NEWEST}"]
    names = rec.names()
    assert names[0] == "update_progress"
    assert names[-3:] == ["modules_changed", "restart_required", "update_completed"]
    assert "download_progress" in names
    pct = [a[0] for a in rec.args("download_progress")]
    assert pct == sorted(pct) and pct[-1] == 100 and len(set(pct)) == len(pct)
    assert all(" of " in a[1] for a in rec.args("download_progress"))
    overall = [a[1] for a in rec.args("update_progress")]
    assert overall == sorted(overall) and 0 <= overall[0] and overall[-1] <= 100
    titles = [a[0] for a in rec.args("update_progress")]
    assert titles[0].startswith("Step 1 of ") and any("Downloading" in t for t in titles)
    assert rec.args("restart_required") == [(NEWEST,)]
    assert rec.args("modules_changed") == [(["app/greeting.py"],)]
    assert rec.threads == {QApplication.instance().thread()}
    assert same_tree(Path(u.client.root) / "current", site.releases / NEWEST)


def test_up_to_date_and_skip(updater_at, qtbot):
    u = updater_at(NEWEST)
    with qtbot.waitSignal(u.up_to_date, timeout=WAIT) as sig:
        u.check_now()
    assert sig.args == [NEWEST]
    v = updater_at("1.1.0")
    v.skip_version(NEWEST)
    rec = Recorder(v)
    with qtbot.waitSignal(v.update_skipped, timeout=WAIT) as sig:
        v.check_now()
    assert sig.args == [NEWEST] and "update_available" not in rec.names()


def test_check_failed(updater_at, qtbot):
    u = updater_at(None, where="http://127.0.0.1:1/site")
    with qtbot.waitSignal(u.check_failed, timeout=WAIT) as sig:
        u.check_now()
    assert "127.0.0.1:1" in sig.args[0]


def test_update_failure_reported(updater_at, qtbot):
    u = updater_at("1.0.0")
    with qtbot.waitSignal(u.update_completed, timeout=WAIT) as sig:
        u.update_now("9.9.9")
    ok, msg = sig.args
    assert ok is False and "9.9.9" in msg and msg.startswith("Update failed")


def test_periodic_check(updater_at, qtbot):
    u = updater_at("1.0.0")
    with qtbot.waitSignal(u.update_available, timeout=WAIT):
        u.start_periodic(6)
    assert u.periodic_interval_ms == 6 * 3600 * 1000
    # The timer's firing is a check.
    with qtbot.waitSignal(u.update_available, timeout=WAIT):
        u._timer.timeout.emit()
    u.stop_periodic()
    assert u.periodic_interval_ms == 0
    with pytest.raises(ValueError):
        u.start_periodic(0)


class BlockingClient(patchcast.Client):
    """Holds the update inside the first download report past a third of
    the bytes until released."""

    def __init__(self, *a, **k) -> None:
        super().__init__(*a, **k)
        self.in_download = threading.Event()
        self.release = threading.Event()

    def update(self, version=None, *, progress=None):
        def hook(p):
            if progress:
                progress(p)
            if p.name == "download" and 3 * p.done >= p.total > 0 and not self.in_download.is_set():
                self.in_download.set()
                self.release.wait(30)

        return super().update(version, progress=hook)


def test_cancel_button_cancels_the_update(make_root, updater_at, qtbot, site):
    root = make_root("http")
    with patchcast.Client(root) as c:
        c.update("1.1.0")
    u = updater_at(client=BlockingClient(root))
    dlg = UpdateProgressDialog(title=f"Updating to {NEWEST}")
    qtbot.addWidget(dlg)
    dlg.attach(u)
    dlg.show()
    rec = Recorder(u)
    u.update_now()
    qtbot.waitUntil(u.client.in_download.is_set, timeout=WAIT)
    # The first reports reach the dialog while the worker is held.
    qtbot.waitUntil(lambda: "Downloading" in dlg.step_label.text() and dlg.bar.value() >= 33, timeout=WAIT)
    assert " of " in dlg.bytes_label.text()
    shot(dlg, "qt-progress-dialog")
    with qtbot.waitSignal(u.update_completed, timeout=WAIT) as sig:
        qtbot.mouseClick(dlg.cancel_button, Qt.LeftButton)
        assert dlg.cancel_button.text() == "Cancelling…"
        u.client.release.set()
    assert sig.args == [False, "Update cancelled"]
    assert rec.names()[-1] == "update_completed" and "restart_required" not in rec.names()
    assert dlg.cancel_button.text() == "Close" and dlg.step_label.text() == "Update cancelled"
    assert u.client.status().current == "1.1.0"
    assert same_tree(root / "current", site.releases / "1.1.0")


def test_notification_texts_and_buttons(info_100, qtbot):
    n = UpdateNotification(info_100)
    qtbot.addWidget(n)
    flags = n.windowFlags()
    assert flags & Qt.FramelessWindowHint and flags & Qt.WindowStaysOnTopHint
    assert n.title_label.text() == f"Update available • {NEWEST}"
    assert n.version_label.text() == f"1.0.0 → {NEWEST}"
    assert n.size_label.text() == f"Download: {format_bytes(info_100.download_bytes)}"
    full = format_bytes(info_100.full_bytes)
    pct = int(100 * info_100.saving_bytes / info_100.full_bytes)
    assert pct >= 50, "the fixture's update is a patch"
    assert n.saving_label.text() == f"Saves {pct}% of the {full} full download"
    assert n.size_summary() == f"Download {format_bytes(info_100.download_bytes)} • saves {pct}% of the {full} full download"
    assert not n.saving_label.isHidden() and not n.restart_label.isHidden()
    buttons = [b.text() for b in n.findChildren(QPushButton) if not b.isHidden()]
    assert sorted(buttons) == sorted(["Release notes…", "Update now", "Later", "Skip this version"])
    n.popup()
    assert n.fade.endValue() == 1.0 and n.fade.startValue() == 0.0
    qtbot.waitUntil(lambda: n.windowOpacity() == 1.0, timeout=5000)
    shot(n, "qt-notification")
    with qtbot.waitSignal(n.update_now, timeout=1000):
        qtbot.mouseClick(n.update_button, Qt.LeftButton)
    assert not n.isVisible()


def test_notification_later_and_skip(info_100, qtbot):
    n = UpdateNotification(info_100.as_dict())
    qtbot.addWidget(n)
    n.popup()
    with qtbot.waitSignal(n.later, timeout=1000):
        qtbot.mouseClick(n.later_button, Qt.LeftButton)
    assert not n.isVisible()
    m = UpdateNotification(info_100)
    qtbot.addWidget(m)
    m.popup()
    with qtbot.waitSignal(m.skip_version, timeout=1000) as sig:
        qtbot.mouseClick(m.skip_button, Qt.LeftButton)
    assert sig.args == [NEWEST] and not m.isVisible()


def test_notification_full_download(make_root, qtbot):
    with patchcast.Client(make_root("file")) as c:
        info = c.check()  # a fresh install: no patch, no saving
    n = UpdateNotification(info)
    qtbot.addWidget(n)
    assert n.version_label.text() == f"Install {NEWEST}"
    assert n.saving_label.isHidden() and n.saving_label.text() == ""
    assert n.size_label.text() == f"Download: {format_bytes(info.download_bytes)} (full download)"
    assert n.size_summary() == f"Full download: {format_bytes(info.full_bytes)}"
    n.popup()
    shot(n, "qt-notification-full")


def test_progress_dialog_by_hand(qtbot):
    d = UpdateProgressDialog(title="Updating to 2.0.0")
    qtbot.addWidget(d)
    d.set_progress(patchcast.Progress(2, 4, "download", 1_500_000, 3_000_000, ""))
    assert d.step_label.text() == "Step 2 of 4: Downloading"
    assert d.bytes_label.text() == "1.5 MB of 3.0 MB"
    assert d.bar.value() == 50
    assert [m.text() for m in d.step_marks] == ["✓ 1", "● 2", "○ 3", "○ 4"]
    with qtbot.waitSignal(d.cancel_requested, timeout=1000):
        qtbot.mouseClick(d.cancel_button, Qt.LeftButton)
    assert not d.cancel_button.isEnabled()
    d.finish(True, "Updated to 2.0.0")
    assert d.cancel_button.text() == "Close" and d.bar.value() == 100


def test_release_notes_markdown(info_100, qtbot):
    v = ReleaseNotesView(info_100.notes)
    qtbot.addWidget(v)
    v.resize(480, 300)
    v.show()
    text = v.toPlainText()
    assert "Release 1.2.0" in text and "**" not in text and "# " not in text
    html = v.toHtml()
    assert "font-weight:600" in html or "font-weight:700" in html  # **startup**
    assert "<li" in html and "fixed the crash on exit" in html
    shot(v, "qt-release-notes")


def test_format_bytes():
    assert format_bytes(0) == "0 B"
    assert format_bytes(999) == "999 B"
    assert format_bytes(3_200_000) == "3.2 MB"
    assert format_bytes(1_100_000_000) == "1.1 GB"


# ---- the release lifecycle (issue 17) ----------------------------------------


def visible_buttons(w) -> list[str]:
    return sorted(b.text() for b in w.findChildren(QPushButton) if not b.isHidden())


def check_signal(qtbot, u: Updater, signal):
    with qtbot.waitSignal(signal, timeout=WAIT) as sig:
        assert u.check_now()
    return sig.args


def test_skip_button_saves_the_skip_in_the_install(updater_at, qtbot):
    u = updater_at("1.1.0")
    root = u.client.root
    (info,) = check_signal(qtbot, u, u.update_available)
    n = UpdateNotification(info, updater=u)
    qtbot.addWidget(n)
    n.popup()
    with qtbot.waitSignal(u.skip_saved, timeout=WAIT) as sig:
        qtbot.mouseClick(n.skip_button, Qt.LeftButton)
    assert sig.args == [NEWEST, True, ""] and not n.isVisible()
    with patchcast.Client(root) as c:
        assert c.status().skipped == (NEWEST,)
    # A restart: a new Updater on the install does not offer it.
    again = updater_at(client=patchcast.Client(root))
    rec = Recorder(again)
    assert check_signal(qtbot, again, again.update_skipped) == [NEWEST]
    assert "update_available" not in rec.names() and NEWEST in again.skipped
    # Offered again once unskipped (the unskip runs before the check).
    again.skip_version(NEWEST, False)
    assert check_signal(qtbot, again, again.update_available)[0]["to_version"] == NEWEST
    assert rec.args("skip_saved") == [(NEWEST, True, "")]
    with patchcast.Client(root) as c:
        assert c.status().skipped == ()


def test_skip_not_saved_still_hides_the_version_this_session(updater_at, qtbot):
    """Another process changing the install (its lock held here): the skip
    cannot be saved, skip_saved says so, and this session still hides the
    version."""
    u = updater_at("1.1.0")
    with open(Path(u.client.root) / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with qtbot.waitSignal(u.skip_saved, timeout=WAIT) as sig:
            u.skip_version(NEWEST)
        version, saved, message = sig.args
        assert (version, saved) == (NEWEST, False) and "another patchcast process" in message
        assert check_signal(qtbot, u, u.update_skipped) == [NEWEST]
    assert u.client.status().skipped == ()
    assert check_signal(qtbot, u, u.update_skipped) == [NEWEST]


def test_critical_update_offered_though_skipped_and_not_skippable(life_site, updater_at, qtbot):
    root = life_site.build({"1.3.0": {"critical": True}}).root("1.1.0")
    with patchcast.Client(root) as c:
        c.skip_version("1.3.0")
    u = updater_at(client=patchcast.Client(root))
    (info,) = check_signal(qtbot, u, u.update_available)
    assert info["to_version"] == "1.3.0" and info["critical"] is True and info["skipped"] == ["1.3.0"]
    n = UpdateNotification(info, updater=u)
    qtbot.addWidget(n)
    assert n.title_label.text() == "Critical update • 1.3.0"
    assert n.critical_label.text() == "A critical update: please install it now."
    assert not n.critical_label.isHidden() and n.skip_button.isHidden()
    assert visible_buttons(n) == ["Later", "Release notes…", "Update now"]
    n.popup()
    qtbot.waitUntil(lambda: n.windowOpacity() == 1.0, timeout=5000)
    shot(n, "qt-notification-critical")
    n.show_notes()
    text = n.notes_view.toPlainText()
    assert text.index("1.3.0") < text.index("1.2.0") and "Faster start." not in text  # from 1.1.0
    n.notes_view.close()
    with qtbot.waitSignal(n.update_now, timeout=1000):
        qtbot.mouseClick(n.update_button, Qt.LeftButton)


def test_release_notes_view_every_version_newest_first(life_site, qtbot):
    root = life_site.build().root("1.0.0")
    with patchcast.Client(root) as c:
        info = c.check()
    v = ReleaseNotesView(info.release_notes)
    qtbot.addWidget(v)
    v.resize(480, 420)
    v.show()
    text = v.toPlainText()
    assert [text.index(x) for x in ("1.3.0", "1.2.0", "1.1.0")] == sorted(text.index(x) for x in ("1.3.0", "1.2.0", "1.1.0"))
    assert "closes the hole in the importer" in text and "Faster start." in text and "First." not in text
    assert "*" not in text and "# " not in text  # Markdown rendered
    html = v.toHtml()
    assert html.count("<h2") == 3  # one heading per version
    assert "<h3" in html and "Release 1.2.0" in html  # the notes' own heading, one level down
    assert "<li" in html
    shot(v, "qt-release-notes-versions")
    # The same from the dict of a signal, and in the notification.
    assert ReleaseNotesView(info.as_dict()["release_notes"]).toPlainText() == text
    n = UpdateNotification(info)
    qtbot.addWidget(n)
    n.show_notes()
    assert n.notes_view.toPlainText() == text
    n.notes_view.close()
    # Version headings are text, not markup; a version's notes are its own
    # document (a code block left open does not swallow the next version).
    w = ReleaseNotesView([("2.0<b>x</b>", "```\nopen block\n"), ("1.9", "*fine*")])
    qtbot.addWidget(w)
    assert w.toPlainText().startswith("2.0<b>x</b>\n")
    assert "1.9\nfine" in w.toPlainText()
    assert "font-style:italic" in w.toHtml()
    assert ReleaseNotesView([]).toPlainText() == "No release notes."


def test_manual_update_required_is_told(life_site, updater_at, qtbot):
    # 1.3.0 needs 1.2.0, which is not rolled out yet: from 1.0.0 the update
    # goes to 1.1.0 and tells that 1.3.0 needs the user.
    site = life_site.build({"1.3.0": {"minimum_version": "1.2.0"}, "1.2.0": {"rollout": {"percent": 0}}})
    u = updater_at(client=patchcast.Client(site.root("1.0.0")))
    rec = Recorder(u)
    with qtbot.waitSignal(u.manual_update_required, timeout=WAIT) as sig:
        u.check_now()
    assert rec.names() == ["update_available", "manual_update_required"]
    info = sig.args[0]
    assert (info["to_version"], info["manual_version"], info["minimum_version"]) == ("1.1.0", "1.3.0", "1.2.0")
    n = UpdateNotification(info)
    qtbot.addWidget(n)
    manual = "1.3.0 needs 1.2.0 or later installed first: it cannot be installed automatically."
    assert n.title_label.text() == "Update available • 1.1.0" and n.manual_label.text() == manual
    assert not n.manual_label.isHidden() and not n.skip_button.isHidden()
    n.popup()
    qtbot.waitUntil(lambda: n.windowOpacity() == 1.0, timeout=5000)
    shot(n, "qt-notification-manual")
    # Nothing to install but the manual update: the window only tells it.
    v = updater_at(client=patchcast.Client(site.root("1.1.0")))
    rec = Recorder(v)
    with qtbot.waitSignal(v.manual_update_required, timeout=WAIT) as sig:
        v.check_now()
    assert rec.names() == ["up_to_date", "manual_update_required"]
    m = UpdateNotification(sig.args[0])
    qtbot.addWidget(m)
    assert m.title_label.text() == "Manual update needed • 1.3.0"
    assert m.version_label.text() == "Installed: 1.1.0" and m.manual_label.text() == manual
    assert visible_buttons(m) == ["Close"]
    m.popup()
    shot(m, "qt-notification-manual-only")
    with qtbot.waitSignal(m.later, timeout=1000):
        qtbot.mouseClick(m.later_button, Qt.LeftButton)


def test_withdrawn_version_is_told(life_site, updater_at, qtbot):
    site = life_site.build()
    root = site.root("1.3.0")
    site.build({"1.3.0": {"withdrawn": True, "withdrawn_reason": "loses <b>saved</b> files"}})
    u = updater_at(client=patchcast.Client(root))
    (info,) = check_signal(qtbot, u, u.update_available)
    n = UpdateNotification(info)
    qtbot.addWidget(n)
    assert n.version_label.text() == "1.3.0 → 1.2.0 (an older version)"
    assert n.withdrawn_label.text() == "1.3.0 was withdrawn: loses <b>saved</b> files"  # as text
    assert not n.withdrawn_label.isHidden() and n.critical_label.isHidden() and n.manual_label.isHidden()
    n.popup()
    shot(n, "qt-notification-withdrawn")
