"""patchcast.qt — PyQt5 updater and widgets.

    from patchcast.qt import Updater, UpdateNotification, UpdateProgressDialog

    updater = Updater("/opt/myapp")
    updater.update_available.connect(lambda info: UpdateNotification(info).popup())
    updater.start_periodic(hours=6)

Updater runs checks and updates on a QThread and reports through signals;
UpdateNotification offers an update ("Update now" / "Later" / "Skip this
version"); UpdateProgressDialog shows step i of n, bytes and a Cancel wired
to Updater.cancel(); ReleaseNotesView renders a version's Markdown notes.
Needs Debian's python3-pyqt5.
"""

from .text import format_bytes, size_line, step_title
from .updater import Updater
from .widgets import ReleaseNotesView, UpdateNotification, UpdateProgressDialog

__all__ = [
    "Updater",
    "UpdateNotification",
    "UpdateProgressDialog",
    "ReleaseNotesView",
    "format_bytes",
    "size_line",
    "step_title",
]
