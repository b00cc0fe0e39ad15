"""errors — the library's pc_status values as Python exceptions.

Every failure of a call raises an Error subclass chosen by its status; the
exception carries the status number (.status), its stable name (.code, as
pc_status_code gives it: "signature", "busy", "no_space", ...) and the
library's detail of the failure (.message, from pc_client_errmsg).
"""

from __future__ import annotations


class Error(Exception):
    """A libpatchcast call failed.

    Attributes:
        status: the pc_status value (never 0).
        code: its stable name ("not_found", "cancelled", ...).
        message: what failed, as the library words it (a file, URL, version).
    """

    status: int
    code: str
    message: str

    def __init__(self, status: int, code: str, message: str, text: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message or text
        self.text = text
        super().__init__(f"{self.message} [{code}]" if self.message else code)

    def __reduce__(self):  # type: ignore[override]
        # Exception's default would call cls(str(self)): the arguments
        # above are needed (pickle, multiprocessing, concurrent.futures).
        return (self.__class__, (self.status, self.code, self.message, self.text))


class OutOfMemoryError(Error):
    """PC_ERR_NOMEM: an allocation failed."""


class InvalidArgumentError(Error, ValueError):
    """PC_ERR_INVALID: a bad argument (a URL scheme, no root set, ...)."""


class LocalIOError(Error):
    """PC_ERR_IO: reading or writing a local file failed."""


class NotFoundError(Error, LookupError):
    """PC_ERR_NOT_FOUND: a file, key, version or object does not exist."""


class FormatError(Error):
    """PC_ERR_FORMAT: malformed input (signature, key, JSON, patch)."""


class TooLargeError(Error):
    """PC_ERR_TOO_LARGE: input exceeds a size cap."""


class SecurityError(Error):
    """Tampered data, the wrong key, or refused metadata: the base of
    SignatureError, KeyMismatchError, HashError, RollbackAttackError and
    ExpiredError. The installed version is intact."""


class SignatureError(SecurityError):
    """PC_ERR_SIGNATURE: a signature does not verify."""


class KeyMismatchError(SecurityError):
    """PC_ERR_KEY: signed by another key."""


class PasswordError(Error):
    """PC_ERR_PASSWORD: wrong password for an encrypted secret key."""


class HashError(SecurityError):
    """PC_ERR_HASH: content does not match its SHA-256."""


class UnsupportedError(Error):
    """PC_ERR_UNSUPPORTED: an unknown format version or algorithm."""


class TransportError(Error):
    """A transfer failed: the base of NetworkError and OfflineError."""


class NetworkError(TransportError):
    """PC_ERR_NETWORK: a transfer failed."""


class RollbackAttackError(SecurityError):
    """PC_ERR_ROLLBACK: metadata older than what was seen before."""


class ExpiredError(SecurityError):
    """PC_ERR_EXPIRED: metadata past its expiry."""


class PatchError(Error):
    """PC_ERR_PATCH: a patch is corrupt or does not fit its input."""


class StateError(Error):
    """PC_ERR_STATE: the local install state is inconsistent (or nothing
    to roll back to)."""


class CancelledError(Error):
    """PC_ERR_CANCELLED: Client.cancel() stopped the operation; the
    installed version is intact."""


class InternalError(Error):
    """PC_ERR_INTERNAL: a bug in the library."""


class ModuleError(Error):
    """PC_ERR_MODULE: a hot-swap module failed to load, start or check."""


class BusyError(Error):
    """PC_ERR_BUSY: another process is changing the install root."""


class NoSpaceError(Error):
    """PC_ERR_NO_SPACE: the disk (or quota) is full."""


class PermissionDeniedError(Error):
    """PC_ERR_PERMISSION: not allowed (permissions, a read-only file system)."""


class OfflineError(TransportError):
    """PC_ERR_OFFLINE: no mirror could be reached."""


class NotInitialisedError(Error):
    """PC_ERR_NOT_INITIALISED: the install root has no configuration
    (run `patchcast init`, or give repos and keys to Client)."""


# pc_status value -> class. The values are the C enum's (part of the ABI).
BY_STATUS: dict[int, type[Error]] = {
    1: OutOfMemoryError,
    2: InvalidArgumentError,
    3: LocalIOError,
    4: NotFoundError,
    5: FormatError,
    6: TooLargeError,
    7: SignatureError,
    8: KeyMismatchError,
    9: PasswordError,
    10: HashError,
    11: UnsupportedError,
    12: NetworkError,
    13: RollbackAttackError,
    14: ExpiredError,
    15: PatchError,
    16: StateError,
    17: CancelledError,
    18: InternalError,
    19: ModuleError,
    20: BusyError,
    21: NoSpaceError,
    22: PermissionDeniedError,
    23: OfflineError,
    24: NotInitialisedError,
}


def error_for(status: int, code: str, message: str, text: str = "") -> Error:
    """The exception for a status (Error itself for one this binding does
    not know, from a newer library)."""
    cls = BY_STATUS.get(status, Error)
    return cls(status, code, message, text)
