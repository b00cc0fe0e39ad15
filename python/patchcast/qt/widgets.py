"""widgets — the notification, the progress dialog and the release notes."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

from PyQt5.QtCore import QPropertyAnimation, Qt, pyqtSignal
from PyQt5.QtGui import QTextBlockFormat, QTextCharFormat, QTextCursor, QTextDocument, QTextFormat
from PyQt5.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..client import Progress, ReleaseNote, UpdateInfo
from .text import format_bytes, size_line, step_title

if TYPE_CHECKING:
    from .updater import Updater

InfoLike = Union[UpdateInfo, Mapping[str, Any]]
# One version's Markdown, or several versions' notes: ReleaseNote or
# (version, notes) pairs, or {"version", "notes"} dicts (UpdateInfo.as_dict()).
NotesLike = Union[None, str, Iterable[Union[ReleaseNote, tuple, Mapping[str, Any]]]]

_STYLE = """
#patchcastCard { background: #ffffff; border: 1px solid #b8c2cc; border-radius: 8px; }
#patchcastTitle { font-size: 14pt; font-weight: bold; color: #1d2630; }
#patchcastSize { color: #3b4754; }
#patchcastSaving { color: #1f7a3a; font-weight: bold; }
#patchcastCritical { color: #b42318; font-weight: bold; }
#patchcastWarning { color: #8a4b00; }
QPushButton#patchcastPrimary { background: #2563eb; color: white; border-radius: 4px; padding: 5px 12px; }
QPushButton { padding: 5px 10px; }
"""


def _as_dict(info: InfoLike) -> dict[str, Any]:
    return info.as_dict() if isinstance(info, UpdateInfo) else dict(info)


def note_pairs(notes: Iterable[Union[ReleaseNote, tuple, Mapping[str, Any]]]) -> list[tuple[str, str]]:
    """(version, notes) pairs from ReleaseNote, pairs or dicts, in order."""
    out = []
    for n in notes:
        if isinstance(n, Mapping):
            out.append((str(n["version"]), str(n.get("notes") or "")))
        else:
            v, text = n
            out.append((str(v), str(text or "")))
    return out


class ReleaseNotesView(QTextBrowser):
    """Release notes (Markdown, rendered by Qt's own Markdown support):
    one version's notes (a str), or those of every version an update
    brings (UpdateInfo.release_notes, newest first), each under its
    version as a heading. Each version's Markdown is rendered on its own,
    so a list or code block left open cannot run into the next version;
    the headings are the version names as text, escaped."""

    def __init__(self, notes: NotesLike = None, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("patchcastNotes")
        self.setOpenExternalLinks(True)
        self.set_notes(notes)

    def set_notes(self, notes: NotesLike) -> None:
        pairs = None if notes is None or isinstance(notes, str) else note_pairs(notes)
        if not pairs:
            self.setMarkdown(notes if isinstance(notes, str) and notes else "*No release notes.*")
            return
        self.setHtml("".join(
            f"<h2>{html.escape(version)}</h2>{_markdown_body(text or '*No release notes.*')}"
            for version, text in pairs))


def _markdown_body(text: str) -> str:
    """Markdown as the inside of an HTML body, its headings one level
    down (the version headings around it are level 2)."""
    doc = QTextDocument()
    doc.setMarkdown(text)
    block = doc.begin()
    while block.isValid():
        level = block.blockFormat().headingLevel()
        if level:
            cur = QTextCursor(block)
            fmt = QTextBlockFormat(block.blockFormat())
            fmt.setHeadingLevel(min(level + 2, 6))
            fmt.setTopMargin(10)
            fmt.setBottomMargin(4)
            cur.setBlockFormat(fmt)
            cur.select(QTextCursor.BlockUnderCursor)
            size = QTextCharFormat()  # H1 large, H2 and below the text's size
            size.setProperty(QTextFormat.FontSizeAdjustment, max(0, 2 - level))
            cur.mergeCharFormat(size)
        block = block.next()
    out = doc.toHtml()
    start = out.find(">", out.find("<body")) + 1
    return out[start:out.rfind("</body>")]


class UpdateNotification(QWidget):
    """A small frameless window that stays on top and fades in: "Update
    available • 1.2.0", the download size and its saving against the full
    download, and three buttons. Clicking one emits its signal and closes
    the window; skip_version carries the version.

    Given an Updater (updater=), "Skip this version" also calls its
    skip_version, which saves the skip in the install (it survives a
    restart). A critical update says so ("Critical update • 1.2.1") and
    offers no Skip; a newer version that needs a manual update
    (manual_update_required) is named with the version it needs first; an
    installed version that was withdrawn is named with the reason. For a
    check with nothing to install but a manual update to tell about, the
    window only tells it (one Close button).
    """

    update_now = pyqtSignal()
    later = pyqtSignal()
    skip_version = pyqtSignal(str)

    FADE_MS = 300

    def __init__(
        self, info: InfoLike, parent: Optional[QWidget] = None, *, updater: Optional["Updater"] = None
    ) -> None:
        super().__init__(parent, Qt.FramelessWindowHint | Qt.WindowStaysOnTopHint | Qt.Tool)
        self.info = _as_dict(info)
        self.version = str(self.info["to_version"])
        self.critical = bool(self.info.get("critical"))
        # Nothing to install, only a manual update to tell about.
        self.manual_only = bool(self.info.get("up_to_date") and self.info.get("manual_update_required"))
        self.setObjectName("patchcastNotification")
        self.setStyleSheet(_STYLE)
        card = QFrame(self)
        card.setObjectName("patchcastCard")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(card)
        lay = QVBoxLayout(card)
        lay.setContentsMargins(16, 14, 16, 14)
        self.title_label = QLabel(self._title_text())
        self.title_label.setObjectName("patchcastTitle")
        self.critical_label = QLabel("A critical update: please install it now.")
        self.critical_label.setObjectName("patchcastCritical")
        self.critical_label.setVisible(self.critical and not self.manual_only)
        self.version_label = QLabel(self._version_text())
        self.withdrawn_label = QLabel(self._withdrawn_text())
        self.withdrawn_label.setObjectName("patchcastWarning")
        self.withdrawn_label.setVisible(bool(self.withdrawn_label.text()))
        self.size_label = QLabel(self._size_text())
        self.size_label.setObjectName("patchcastSize")
        self.size_label.setVisible(not self.manual_only)
        self.saving_label = QLabel(self._saving_text())
        self.saving_label.setObjectName("patchcastSaving")
        self.saving_label.setVisible(bool(self.saving_label.text()) and not self.manual_only)
        self.restart_label = QLabel("A restart is needed after this update.")
        self.restart_label.setVisible(bool(self.info.get("restart_required")) and not self.manual_only)
        self.manual_label = QLabel(self._manual_text())
        self.manual_label.setObjectName("patchcastWarning")
        self.manual_label.setVisible(bool(self.manual_label.text()))
        for w in (self.withdrawn_label, self.manual_label):
            w.setWordWrap(True)
        for w in (self.title_label, self.critical_label, self.version_label, self.withdrawn_label,
                  self.size_label, self.saving_label, self.restart_label, self.manual_label):
            w.setTextFormat(Qt.PlainText)  # a withdrawn reason is the publisher's text, not HTML
            lay.addWidget(w)
        self.notes_button = QPushButton("Release notes…")
        self.notes_button.setFlat(True)
        self.notes_button.setVisible(
            bool(self.info.get("release_notes") or self.info.get("notes")) and not self.manual_only)
        self.notes_button.clicked.connect(self.show_notes)
        lay.addWidget(self.notes_button, 0, Qt.AlignLeft)
        row = QHBoxLayout()
        self.update_button = QPushButton("Update now")
        self.update_button.setObjectName("patchcastPrimary")
        self.update_button.setDefault(True)
        self.later_button = QPushButton("Later")
        self.skip_button = QPushButton("Skip this version")
        # A critical version is offered even if skipped: no Skip for it.
        self.skip_button.setVisible(not self.critical and not self.manual_only)
        if self.manual_only:
            self.update_button.setVisible(False)
            self.later_button.setText("Close")
            self.later_button.setObjectName("patchcastPrimary")
            self.later_button.setDefault(True)
        row.addWidget(self.skip_button)
        row.addStretch(1)
        row.addWidget(self.later_button)
        row.addWidget(self.update_button)
        lay.addLayout(row)
        self.update_button.clicked.connect(lambda: self._answer(self.update_now.emit))
        self.later_button.clicked.connect(lambda: self._answer(self.later.emit))
        self.skip_button.clicked.connect(lambda: self._answer(lambda: self.skip_version.emit(self.version)))
        if updater is not None:
            self.skip_version.connect(updater.skip_version)
        self.notes_view: Optional[ReleaseNotesView] = None
        self.fade = QPropertyAnimation(self, b"windowOpacity", self)
        self.fade.setDuration(self.FADE_MS)
        self.fade.setStartValue(0.0)
        self.fade.setEndValue(1.0)
        self.setMinimumWidth(380)

    def _title_text(self) -> str:
        if self.manual_only:
            return f"Manual update needed • {self.info.get('manual_version')}"
        if self.critical:
            return f"Critical update • {self.version}"
        return f"Update available • {self.version}"

    def _version_text(self) -> str:
        frm = self.info.get("from_version")
        if self.manual_only:
            return f"Installed: {frm}"
        if not frm:
            return f"Install {self.version}"
        return f"{frm} → {self.version}" + (" (an older version)" if self.info.get("downgrade") else "")

    def _withdrawn_text(self) -> str:
        if not self.info.get("from_withdrawn"):
            return ""
        why = self.info.get("withdrawn_reason")
        return f"{self.info.get('from_version')} was withdrawn" + (f": {why}" if why else ".")

    def _manual_text(self) -> str:
        if not self.info.get("manual_update_required"):
            return ""
        return (f"{self.info.get('manual_version')} needs {self.info.get('minimum_version')} or later "
                "installed first: it cannot be installed automatically.")

    def _size_text(self) -> str:
        dl = int(self.info["download_bytes"])
        return f"Download: {format_bytes(dl)}" + ("" if self._saving_text() else " (full download)")

    def _saving_text(self) -> str:
        dl, full = int(self.info["download_bytes"]), int(self.info["full_bytes"])
        pct = int(100 * (full - dl) / full) if full > dl else 0
        if self.info.get("hops", 0) and pct >= 1:
            return f"Saves {pct}% of the {format_bytes(full)} full download"
        return ""

    def size_summary(self) -> str:
        """The whole size line as text (size_line of the info)."""
        return size_line(self.info)

    def _answer(self, emit: Any) -> None:
        self.close()
        emit()

    def popup(self) -> None:
        """Show in the bottom-right corner of the screen, fading in."""
        self.adjustSize()
        screen = QApplication.primaryScreen()
        if screen is not None:
            g = screen.availableGeometry()
            self.move(g.right() - self.width() - 24, g.bottom() - self.height() - 24)
        self.setWindowOpacity(0.0)
        self.show()
        self.fade.start()

    def show_notes(self) -> None:
        if self.notes_view is None:
            self.notes_view = ReleaseNotesView(self.info.get("release_notes") or self.info.get("notes"))
            self.notes_view.setWindowTitle(f"What's new in {self.version}")
            self.notes_view.resize(480, 360)
        self.notes_view.show()


class UpdateProgressDialog(QDialog):
    """Step i of n, the step's bytes and a Cancel button. attach(updater)
    feeds it from an Updater and wires Cancel to updater.cancel(); without
    one, Cancel emits cancel_requested (set_progress and finish feed it by
    hand)."""

    cancel_requested = pyqtSignal()

    def __init__(self, parent: Optional[QWidget] = None, *, title: str = "Updating") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("patchcastProgress")
        self.setMinimumWidth(420)
        lay = QVBoxLayout(self)
        self.title_label = QLabel(title)
        self.title_label.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.step_label = QLabel("Starting…")
        self.steps_row = QHBoxLayout()
        self.step_marks: list[QLabel] = []
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.bytes_label = QLabel("")
        self.detail_label = QLabel("")
        self.detail_label.setStyleSheet("color: #59636e;")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel_clicked)
        for w in (self.title_label, self.step_label):
            lay.addWidget(w)
        lay.addLayout(self.steps_row)
        for w in (self.bar, self.bytes_label, self.detail_label):
            lay.addWidget(w)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.finished_ok: Optional[bool] = None
        self._updater: Any = None

    def attach(self, updater: Any) -> None:
        """Follow an Updater: its progress, its completion, Cancel → cancel()."""
        self._updater = updater
        updater.progress.connect(self.set_progress)
        updater.update_completed.connect(self.finish)

    def _cancel_clicked(self) -> None:
        if self.finished_ok is not None:
            self.accept()
            return
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        if self._updater is not None:
            self._updater.cancel()
        self.cancel_requested.emit()

    def _marks(self, step: int, steps: int, name: str) -> None:
        while len(self.step_marks) < steps:
            mark = QLabel()
            mark.setAlignment(Qt.AlignCenter)
            self.steps_row.addWidget(mark)
            self.step_marks.append(mark)
        for i, mark in enumerate(self.step_marks, 1):
            if i < step:
                mark.setText(f"✓ {i}")
                mark.setStyleSheet("color: #1f7a3a;")
            elif i == step:
                mark.setText(f"● {i}")
                mark.setStyleSheet("color: #2563eb; font-weight: bold;")
            else:
                mark.setText(f"○ {i}")
                mark.setStyleSheet("color: #8a949e;")

    def set_progress(self, p: Progress) -> None:
        """Show one progress report."""
        self.step_label.setText(step_title(p))
        self._marks(p.step, p.steps, p.name)
        if p.total:
            self.bar.setRange(0, 100)
            self.bar.setValue(int(100 * p.done / p.total))
            self.bytes_label.setText(f"{format_bytes(p.done)} of {format_bytes(p.total)}")
        else:
            self.bar.setRange(0, 0)  # busy
            self.bytes_label.setText("")
        self.detail_label.setText(p.detail)

    def finish(self, ok: bool, message: str) -> None:
        """The end: the message, and Cancel becomes Close."""
        self.finished_ok = ok
        self.bar.setRange(0, 100)
        if ok:
            self.bar.setValue(100)
            for i, mark in enumerate(self.step_marks, 1):
                mark.setText(f"✓ {i}")
                mark.setStyleSheet("color: #1f7a3a;")
        self.step_label.setText(message)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Close")
