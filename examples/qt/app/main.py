"""main — the example PyQt5 app that patchcast updates while it runs.

The core (this file, flagged critical: a change asks for a restart); a hot
module (greeting.py, reloaded live); a data file (data/message.txt, read
again after an update). Run from an install root:
    python3 ROOT/current/app/main.py --root ROOT [--demo SHOTS_DIR]
--demo plays the story by itself (check, notification, Update now,
progress, live reload, a core update asking for a restart), saves
screenshots into SHOTS_DIR, prints what happens and quits.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the hot modules

from PyQt5.QtCore import QTimer  # noqa: E402
from PyQt5.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget  # noqa: E402

import greeting  # noqa: E402
import patchcast  # noqa: E402
from patchcast.qt import UpdateNotification, UpdateProgressDialog, Updater  # noqa: E402
from patchcast.reload import reload_update  # noqa: E402

CORE = "core 1"


class MainWindow(QWidget):
    def __init__(self, root: str, shots: str | None) -> None:
        super().__init__()
        self.root, self.shots = root, shots
        self.setWindowTitle("patchcast Qt example")
        self.resize(460, 220)
        lay = QVBoxLayout(self)
        self.version_label = QLabel()
        self.greeting_label = QLabel()
        self.message_label = QLabel()
        self.status_label = QLabel("")
        self.status_label.setStyleSheet("color: #b45309; font-weight: bold;")
        self.click_button = QPushButton("Click me")
        self.click_button.clicked.connect(self.on_click)
        self.check_button = QPushButton("Check for updates")
        for w in (self.version_label, self.greeting_label, self.message_label,
                  self.click_button, self.check_button, self.status_label):
            lay.addWidget(w)
        self.updater = Updater(root)
        self.check_button.clicked.connect(lambda: self.updater.check_now())
        self.updater.update_available.connect(self.on_available)
        self.updater.up_to_date.connect(lambda v: self.say(f"up to date: {v}"))
        self.updater.check_failed.connect(lambda m: self.say(f"check failed: {m}"))
        self.updater.update_completed.connect(self.on_completed)
        self.updater.restart_required.connect(self.on_restart)
        self.notification: UpdateNotification | None = None
        self.dialog: UpdateProgressDialog | None = None
        self.refresh()

    def say(self, text: str) -> None:
        print(f"app: {text}", flush=True)

    def shot(self, widget: QWidget, name: str) -> None:
        if self.shots:
            os.makedirs(self.shots, exist_ok=True)
            path = os.path.join(self.shots, name + ".png")
            widget.grab().save(path)
            self.say(f"screenshot {path}")

    def refresh(self) -> None:
        st = self.updater.client.status()
        self.version_label.setText(f"Installed: {st.current} ({CORE})")
        self.greeting_label.setText(greeting.greet())
        with open(os.path.join(self.root, "current", "data", "message.txt")) as f:
            self.message_label.setText(f.read().strip())

    def on_click(self) -> None:
        greeting.click()
        self.refresh()

    def on_available(self, info: dict) -> None:
        self.say(f"update available: {info['from_version']} -> {info['to_version']}, "
                 f"{info['download_bytes']} of {info['full_bytes']} bytes")
        self.notification = UpdateNotification(info)
        self.notification.update_now.connect(self.start_update)
        self.notification.skip_version.connect(self.updater.skip_version)
        self.notification.popup()

    def start_update(self) -> None:
        to = self.updater.last_info.to_version if self.updater.last_info else "?"
        self.dialog = UpdateProgressDialog(self, title=f"Updating to {to}")
        self.dialog.attach(self.updater)
        self.dialog.show()
        self.updater.update_now()

    def on_completed(self, ok: bool, message: str) -> None:
        self.say(f"update completed: {ok} {message}")
        info = self.updater.last_info
        if ok and info is not None and info.hot_modules:
            r = reload_update(self.root, info)
            self.say(f"reloaded live: {', '.join(r.reloaded) or 'nothing'}"
                     + ("" if r.ok else f"; failed {r.failed}: {r.error!r}, rolled back"))
        self.refresh()
        self.say(f"greeting now: {greeting.greet()}")

    def on_restart(self, version: str) -> None:
        self.status_label.setText(f"Restart to finish the update to {version}")
        self.say(f"restart required for {version}")


def demo(w: MainWindow) -> None:
    """The story, one step per signal."""
    steps = {"n": 0}

    def available(info: dict) -> None:
        QTimer.singleShot(400, lambda: (w.shot(w.notification, f"demo-notification-{info['to_version']}"),
                                        w.notification.update_button.click()))

    def progress(p: patchcast.Progress) -> None:
        if p.name == "download" and w.dialog is not None and not getattr(w.dialog, "_shot", False):
            w.dialog._shot = True
            # After the dialog's own slot has shown this report.
            dlg, name = w.dialog, f"demo-progress-{steps['n'] + 1}"
            QTimer.singleShot(0, lambda: w.shot(dlg, name))

    def completed(ok: bool, msg: str) -> None:
        # After the dialog's and the window's own slots have run.
        QTimer.singleShot(0, lambda: after_update(ok))

    def after_update(ok: bool) -> None:
        steps["n"] += 1
        w.shot(w.dialog, f"demo-progress-done-{steps['n']}")
        w.dialog.accept()
        w.greeting_label.repaint()
        w.shot(w, f"demo-window-after-update-{steps['n']}")
        if not ok or steps["n"] >= 2:
            QApplication.instance().exit(0 if ok else 1)
            return
        w.on_click()
        QTimer.singleShot(200, w.updater.check_now)

    w.updater.update_available.connect(available)
    w.updater.progress.connect(progress)
    w.updater.update_completed.connect(completed)
    w.updater.check_failed.connect(lambda m: QApplication.instance().exit(2))

    def up_to_date(_v: str) -> None:
        # After the first update the story waits for the publisher's next
        # release (scripts/demo-qt.sh publishes it on seeing that update).
        if steps["n"] == 0:
            QApplication.instance().exit(3)
        else:
            QTimer.singleShot(300, w.updater.check_now)

    w.updater.up_to_date.connect(up_to_date)
    w.on_click()
    w.on_click()
    w.shot(w, "demo-window-before")
    w.updater.check_now()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--demo", metavar="SHOTS_DIR")
    a = ap.parse_args()
    app = QApplication(sys.argv[:1])
    w = MainWindow(a.root, a.demo)
    w.show()
    if a.demo:
        QTimer.singleShot(0, lambda: demo(w))
        QTimer.singleShot(120_000, lambda: app.exit(4))  # a stuck story fails
    else:
        w.updater.start_periodic(6)
    rc = app.exec_()
    w.updater.shutdown()
    return rc


if __name__ == "__main__":
    sys.exit(main())
