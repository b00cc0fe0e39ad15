"""patchcast — incremental updates from a static signed site, for Python.

A ctypes binding over libpatchcast.so (found through $PATCHCAST_LIBRARY, then
the installed libpatchcast.so.0):

    import patchcast
    with patchcast.Client("/opt/myapp") as c:          # a root made by `patchcast init`
        info = c.check()
        if not info.up_to_date:
            c.update(progress=lambda p: print(p.name, p.done, p.total))

Failures raise patchcast.Error subclasses carrying .status (the pc_status
number), .code (its stable name) and .message (the library's detail).
patchcast.qt holds the PyQt5 updater and widgets; patchcast.reload the live
reload of Python modules after an update.
"""

from __future__ import annotations

from .client import (
    Client,
    Hold,
    InstallState,
    Progress,
    ProgressCallback,
    ReleaseNote,
    UpdateInfo,
    status_code,
    strerror,
    version,
)
from .errors import (
    BY_STATUS,
    BusyError,
    CancelledError,
    Error,
    ExpiredError,
    FormatError,
    HashError,
    InternalError,
    InvalidArgumentError,
    KeyMismatchError,
    LocalIOError,
    ModuleError,
    NetworkError,
    NoSpaceError,
    NotFoundError,
    NotInitialisedError,
    OfflineError,
    OutOfMemoryError,
    PasswordError,
    PatchError,
    PermissionDeniedError,
    RollbackAttackError,
    SecurityError,
    SignatureError,
    StateError,
    TooLargeError,
    TransportError,
    UnsupportedError,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Hold",
    "InstallState",
    "Progress",
    "ProgressCallback",
    "ReleaseNote",
    "UpdateInfo",
    "version",
    "strerror",
    "status_code",
    "Error",
    "BY_STATUS",
] + [c.__name__ for c in BY_STATUS.values()] + ["SecurityError", "TransportError"]
