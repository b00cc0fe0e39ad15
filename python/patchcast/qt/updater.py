"""updater — patchcast.qt.Updater: checks and updates on a QThread, reported
through Qt signals in the GUI thread.

Signals, in the order an update emits them:
    update_progress(str, int)    "Step 2 of 4: Downloading", overall percent
    download_progress(int, str)  percent of the download, "1.2 MB of 3.0 MB"
                                 (once per percent)
    progress(object)             every patchcast.Progress, for a dialog
    modules_changed(list)        hot modules the update changed (if any)
    restart_required(str)        the version that needs a restart (if any)
    update_completed(bool, str)  always last: success and a message
A check emits update_available(dict) (UpdateInfo.as_dict()), up_to_date(str),
update_skipped(str) when the newest version is one skipped on this install
(skip_version()), or check_failed(str); then manual_update_required(dict)
when a newer version needs the user (UpdateInfo.manual_update_required).
skip_version() saves the skip in the install's state (it survives a
restart) and emits skip_saved(str, bool, str) once done. A critical version
is offered even if skipped.
"""

from __future__ import annotations

from typing import Any, Optional

from PyQt5.QtCore import QCoreApplication, QObject, QThread, QTimer, pyqtSignal, pyqtSlot

from ..client import Client, Progress, UpdateInfo
from ..errors import CancelledError, Error
from .text import format_bytes, step_title


class _Worker(QObject):
    """Lives on the updater's thread; runs the blocking calls."""

    checked = pyqtSignal(object)  # UpdateInfo
    check_failed = pyqtSignal(str)
    progress = pyqtSignal(object)  # Progress
    finished = pyqtSignal(bool, str, object)  # ok, message, UpdateInfo or None
    skip_done = pyqtSignal(str, bool, bool, str)  # version, skip, saved, message

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client

    @pyqtSlot(object)
    def check(self, version: Optional[str]) -> None:
        try:
            info = self.client.check(version)
            passed_over = None
            if version is None and info.up_to_date and info.skipped:
                passed_over = self._skipped_newer(info)
            self.checked.emit((info, passed_over))
        except Error as e:
            self.check_failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - a bug must not leave the updater busy
            self.check_failed.emit(f"{type(e).__name__}: {e}")

    def _skipped_newer(self, info: UpdateInfo) -> Optional[str]:
        """The skipped version a check with nothing to do passed over: the
        most recently skipped one newer than the installed version (the
        library hides skipped versions itself and does not say which one
        it passed over; a version named to check is judged alone)."""
        for v in reversed(info.skipped):
            if v == info.to_version:
                continue
            try:
                named = self.client.check(v)
            except Error:  # withdrawn, or gone from the site
                continue
            if not named.up_to_date and not named.downgrade:
                return v
        return None

    @pyqtSlot(str, bool)
    def skip(self, version: str, skip: bool) -> None:
        try:
            self.client.skip_version(version, skip)
        except Error as e:
            self.skip_done.emit(version, skip, False, str(e))
            return
        except Exception as e:  # noqa: BLE001 - skip_saved must always come
            self.skip_done.emit(version, skip, False, f"{type(e).__name__}: {e}")
            return
        self.skip_done.emit(version, skip, True, "")

    @pyqtSlot(object)
    def update(self, version: Optional[str]) -> None:
        try:
            info = self.client.update(version, progress=self.progress.emit)
        except CancelledError:
            self.finished.emit(False, "Update cancelled", None)
            return
        except Error as e:
            self.finished.emit(False, f"Update failed: {e}", None)
            return
        except Exception as e:  # noqa: BLE001 - update_completed must always come
            self.finished.emit(False, f"Update failed: {type(e).__name__}: {e}", None)
            return
        self.finished.emit(True, f"Updated to {info.to_version}", info)


class Updater(QObject):
    """Checks for and installs updates of one install root without blocking
    the GUI: the calls run on a QThread of their own, results come back as
    signals (see the module's docstring for their order).

    Updater(root) uses ROOT/config.json (made by `patchcast init`); or give
    a configured patchcast.Client as client=. Raises patchcast.Error when
    the root cannot be used.
    """

    update_available = pyqtSignal(dict)
    up_to_date = pyqtSignal(str)
    update_skipped = pyqtSignal(str)
    manual_update_required = pyqtSignal(dict)
    skip_saved = pyqtSignal(str, bool, str)
    check_failed = pyqtSignal(str)
    download_progress = pyqtSignal(int, str)
    update_progress = pyqtSignal(str, int)
    progress = pyqtSignal(object)
    modules_changed = pyqtSignal(list)
    restart_required = pyqtSignal(str)
    update_completed = pyqtSignal(bool, str)

    _run_check = pyqtSignal(object)
    _run_update = pyqtSignal(object)
    _run_skip = pyqtSignal(str, bool)

    def __init__(
        self,
        root: Optional[str] = None,
        *,
        client: Optional[Client] = None,
        parent: Optional[QObject] = None,
        **client_kwargs: Any,
    ) -> None:
        super().__init__(parent)
        if client is None:
            if root is None:
                raise TypeError("Updater needs a root or a client")
            client = Client(root, **client_kwargs)
        self.client = client
        # Versions skipped on the install (from the last check) and this
        # session's skips, also those the install's state could not keep.
        self.skipped: set[str] = set()
        self._unsaved: set[str] = set()
        self.last_info: Optional[UpdateInfo] = None
        self.busy = False
        self._download_pct = -1
        self._thread = QThread()
        self._thread.setObjectName("patchcast-updater")
        self._worker = _Worker(client)
        self._worker.moveToThread(self._thread)
        self._run_check.connect(self._worker.check)
        self._run_update.connect(self._worker.update)
        self._run_skip.connect(self._worker.skip)
        self._worker.skip_done.connect(self._on_skip_done)
        self._worker.checked.connect(self._on_checked)
        self._worker.check_failed.connect(self._on_check_failed)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._thread.start()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check_now)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ---- requests -------------------------------------------------------------

    def check_now(self, version: Optional[str] = None) -> bool:
        """Start a check (on the updater's thread). False when a check or an
        update is already running."""
        if self.busy:
            return False
        self.busy = True
        self._run_check.emit(version)
        return True

    def update_now(self, version: Optional[str] = None) -> bool:
        """Start an update to version (None: the newest). False when busy."""
        if self.busy:
            return False
        self.busy = True
        self._download_pct = -1
        self._run_update.emit(version)
        return True

    def cancel(self) -> None:
        """Cancel the running operation (it ends with update_completed(False,
        …) and the installed version intact); from any thread. Nothing when
        nothing runs: the client would keep the cancel for its next
        operation (the next check would fail as cancelled)."""
        if self.busy:
            self.client.cancel()

    def skip_version(self, version: str, skip: bool = True) -> None:
        """Do not offer version again (skip=False: offer it again). The skip
        is saved in the install's state on the updater's thread, after any
        operation running now, so it survives a restart and holds for every
        program updating this install; skip_saved(version, saved, message)
        reports the end (saved False: kept for this session only, e.g. a
        root this user cannot write). A check that then finds only it
        emits update_skipped. A critical version is offered all the same."""
        if skip:
            self.skipped.add(version)
        else:
            self.skipped.discard(version)
            self._unsaved.discard(version)
        self._run_skip.emit(version, bool(skip))

    def start_periodic(self, hours: float, *, check_now: bool = True) -> None:
        """Check every `hours` hours (and now, unless check_now=False)."""
        if hours <= 0:
            raise ValueError("hours must be positive")
        self._timer.start(max(1, int(hours * 3600 * 1000)))
        if check_now:
            self.check_now()

    def stop_periodic(self) -> None:
        self._timer.stop()

    @property
    def periodic_interval_ms(self) -> int:
        """The periodic check's interval in ms (0 when stopped)."""
        return self._timer.interval() if self._timer.isActive() else 0

    def shutdown(self) -> None:
        """Cancel what runs, stop the thread and wait for it. Idempotent."""
        try:
            self._timer.stop()
        except RuntimeError:  # the timer went with a deleted parent
            pass
        if self._thread.isRunning():
            if self.busy:
                self.client.cancel()
            self._thread.quit()
            self._thread.wait()

    def __del__(self) -> None:
        # An Updater dropped without shutdown() would destroy its QThread
        # while it runs, which aborts the process ("QThread: Destroyed while
        # thread is still running").
        try:
            self.shutdown()
        except Exception:  # interpreter shutdown
            pass

    # ---- results (GUI thread) -----------------------------------------------

    @pyqtSlot(object)
    def _on_checked(self, result: tuple[UpdateInfo, Optional[str]]) -> None:
        info, passed_over = result
        self.busy = False
        self.last_info = info
        self.skipped = set(info.skipped) | self._unsaved
        if info.up_to_date:
            if passed_over:
                self.update_skipped.emit(passed_over)
            else:
                self.up_to_date.emit(info.to_version)
        elif info.to_version in self.skipped and not info.critical:
            self.update_skipped.emit(info.to_version)
        else:
            self.update_available.emit(info.as_dict())
        if info.manual_update_required:
            self.manual_update_required.emit(info.as_dict())

    @pyqtSlot(str, bool, bool, str)
    def _on_skip_done(self, version: str, skip: bool, saved: bool, message: str) -> None:
        if skip:
            self.skipped.add(version)
            if not saved:
                self._unsaved.add(version)
        self.skip_saved.emit(version, saved, message)

    @pyqtSlot(str)
    def _on_check_failed(self, message: str) -> None:
        self.busy = False
        self.check_failed.emit(message)

    @pyqtSlot(object)
    def _on_progress(self, p: Progress) -> None:
        self.progress.emit(p)
        frac = p.fraction if p.fraction is not None else 0.0
        overall = int(100 * ((p.step - 1) + frac) / p.steps) if p.steps else 0
        self.update_progress.emit(step_title(p), max(0, min(100, overall)))
        if p.name == "download" and p.total:
            pct = int(100 * p.done / p.total)
            if pct != self._download_pct:
                self._download_pct = pct
                self.download_progress.emit(
                    pct, f"{format_bytes(p.done)} of {format_bytes(p.total)}"
                )

    @pyqtSlot(bool, str, object)
    def _on_finished(self, ok: bool, message: str, info: Optional[UpdateInfo]) -> None:
        self.busy = False
        if ok and info is not None:
            self.last_info = info
            if info.hot_modules:
                self.modules_changed.emit(list(info.hot_modules))
            if info.restart_required:
                self.restart_required.emit(info.to_version)
        self.update_completed.emit(ok, message)
