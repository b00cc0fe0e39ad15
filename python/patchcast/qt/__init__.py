"""patchcast.qt — PyQt5 updater and widgets.

    from patchcast.qt import Updater, UpdateNotification, UpdateProgressDialog

    updater = Updater("/opt/myapp")
    updater.update_available.connect(lambda info: UpdateNotification(info, updater=updater).popup())
    updater.start_periodic(hours=6)

Updater runs checks and updates on a QThread and reports through signals;
UpdateNotification offers an update ("Update now" / "Later" / "Skip this
version", the skip saved in the install through Updater.skip_version; a
critical update says so and cannot be skipped); UpdateProgressDialog shows
step i of n, bytes and a Cancel wired to Updater.cancel(); ReleaseNotesView
renders Markdown notes, of one version or of every version an update
brings under version headings.
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
