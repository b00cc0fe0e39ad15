"""_lib — load libpatchcast.so and declare the C functions the binding calls.

The library is found through $PATCHCAST_LIBRARY (a path), then the installed
one by its soname (libpatchcast.so.0: the ABI this binding was written for),
then whatever ctypes.util.find_library("patchcast") names. Only ctypes: no
compiler is needed at install time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_int,
    c_long,
    c_size_t,
    c_uint,
    c_uint64,
    c_void_p,
)

SONAME = "libpatchcast.so.0"


class pc_progress(Structure):
    _fields_ = [
        ("done", c_uint64),
        ("total", c_uint64),
        ("step", c_uint),
        ("nsteps", c_uint),
        ("step_name", c_char_p),
        ("detail", c_char_p),
    ]


PROGRESS_FN = CFUNCTYPE(None, c_void_p, POINTER(pc_progress))


class pc_release_note(Structure):
    _fields_ = [
        ("version", c_char_p),
        ("notes", c_char_p),
    ]


# Field for field as in include/patchcast.h (the lifecycle fields of issue
# 17 were added at the end of both structs).
class pc_update_info(Structure):
    _fields_ = [
        ("from_", c_char_p),
        ("to", c_char_p),
        ("up_to_date", c_int),
        ("download_bytes", c_uint64),
        ("full_bytes", c_uint64),
        ("hops", c_uint),
        ("restart_required", c_int),
        ("notes", c_char_p),
        ("hot_modules", POINTER(c_char_p)),
        ("nhot", c_size_t),
        ("changed_files", POINTER(c_char_p)),
        ("nchanged", c_size_t),
        ("refetched", POINTER(c_char_p)),
        ("nrefetched", c_size_t),
        ("critical", c_int),
        ("manual_update_required", c_int),
        ("manual_version", c_char_p),
        ("minimum_version", c_char_p),
        ("downgrade", c_int),
        ("from_withdrawn", c_int),
        ("withdrawn_reason", c_char_p),
        ("held_back", c_char_p),
        ("downgrade_refused", c_char_p),
        ("release_notes", POINTER(pc_release_note)),
        ("nrelease_notes", c_size_t),
        ("skipped", POINTER(c_char_p)),
        ("nskipped", c_size_t),
        ("rollout_bucket", c_double),
        ("release_patch", c_int),
    ]


class pc_install_state(Structure):
    _fields_ = [
        ("current", c_char_p),
        ("previous", c_char_p),
        ("installed", POINTER(c_char_p)),
        ("ninstalled", c_size_t),
        ("last_serial", c_uint64),
        ("busy", c_int),
        ("held", POINTER(c_char_p)),
        ("nheld", c_size_t),
        ("root_version", c_uint64),
        ("staged", c_char_p),
        ("pending", c_char_p),
        ("attempts", c_uint),
        ("last_good", c_char_p),
        ("bad", POINTER(c_char_p)),
        ("nbad", c_size_t),
        ("skipped", POINTER(c_char_p)),
        ("nskipped", c_size_t),
        ("rollout_bucket", c_double),
    ]


# (name, restype, argtypes); pc_status is an int.
_PROTOTYPES = [
    ("pc_version", c_char_p, []),
    ("pc_version_number", c_uint, []),
    ("pc_strerror", c_char_p, [c_int]),
    ("pc_status_code", c_char_p, [c_int]),
    ("pc_client_new", c_int, [POINTER(c_void_p)]),
    ("pc_client_free", None, [c_void_p]),
    ("pc_client_errmsg", c_char_p, [c_void_p]),
    ("pc_client_add_pubkey", c_int, [c_void_p, c_char_p]),
    ("pc_client_add_pubkey_file", c_int, [c_void_p, c_char_p]),
    ("pc_client_set_root", c_int, [c_void_p, c_char_p]),
    ("pc_client_add_repo", c_int, [c_void_p, c_char_p]),
    ("pc_client_set_channel", c_int, [c_void_p, c_char_p]),
    ("pc_client_set_ca_file", c_int, [c_void_p, c_char_p]),
    ("pc_client_set_keep_versions", c_int, [c_void_p, c_uint]),
    ("pc_client_set_low_speed", c_int, [c_void_p, c_long, c_long]),
    ("pc_client_set_transfers", c_int, [c_void_p, c_uint]),
    ("pc_client_set_wait", c_int, [c_void_p, c_int]),
    ("pc_client_set_trust_root", c_int, [c_void_p, c_char_p]),
    ("pc_client_save_config", c_int, [c_void_p]),
    ("pc_client_load_config", c_int, [c_void_p, c_char_p]),
    ("pc_client_set_progress", None, [c_void_p, PROGRESS_FN, c_void_p]),
    ("pc_client_cancel", None, [c_void_p]),
    ("pc_update_info_free", None, [POINTER(pc_update_info)]),
    ("pc_client_check", c_int, [c_void_p, c_char_p, POINTER(POINTER(pc_update_info))]),
    ("pc_client_update", c_int, [c_void_p, c_char_p, POINTER(POINTER(pc_update_info))]),
    ("pc_client_rollback", c_int, [c_void_p, POINTER(POINTER(pc_update_info))]),
    ("pc_client_set_update_flags", c_int, [c_void_p, c_uint]),
    ("pc_client_stage", c_int, [c_void_p, c_char_p, POINTER(POINTER(pc_update_info))]),
    ("pc_client_apply_staged", c_int, [c_void_p, POINTER(POINTER(pc_update_info))]),
    ("pc_client_mark_good", c_int, [c_void_p, c_char_p]),
    ("pc_client_skip_version", c_int, [c_void_p, c_char_p, c_int]),
    # rolled_back (char **) as a void pointer: the binding frees it.
    ("pc_client_start_run", c_int, [c_void_p, c_uint, c_uint, POINTER(c_void_p), POINTER(c_void_p)]),
    ("pc_client_end_run", c_int, [c_void_p, c_char_p, c_int, c_uint, POINTER(c_void_p)]),
    ("pc_client_repair", c_int, [c_void_p, POINTER(c_uint)]),
    ("pc_client_mirror", c_int, [c_void_p, c_char_p, c_char_p, c_uint, POINTER(c_uint)]),
    ("pc_client_hold_version", c_int, [c_void_p, c_char_p, c_uint, POINTER(c_void_p)]),
    ("pc_hold_version", c_char_p, [c_void_p]),
    ("pc_hold_dir", c_char_p, [c_void_p]),
    ("pc_hold_release", None, [c_void_p]),
    ("pc_client_status", c_int, [c_void_p, POINTER(POINTER(pc_install_state))]),
    ("pc_client_status_free", None, [POINTER(pc_install_state)]),
]

PC_MIRROR_FORCE = 1
PC_HOLD_INHERIT = 1
PC_UPDATE_IGNORE_ROLLOUT = 1
PC_UPDATE_ALLOW_DOWNGRADE = 2

_lib: ctypes.CDLL | None = None
_lock = threading.Lock()


def _candidates() -> list[str]:
    env = os.environ.get("PATCHCAST_LIBRARY")
    if env:
        # An explicit choice is the only one: a wrong path is an error, not
        # a reason to pick up some other copy of the library.
        return [env]
    found = ctypes.util.find_library("patchcast")
    return [SONAME] + ([found] if found and found != SONAME else [])


def load() -> ctypes.CDLL:
    """The loaded library, with every prototype declared (loaded once).

    Raises OSError naming every place tried when it cannot be found."""
    global _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for name in _candidates():
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError as e:
                tried.append(f"{name}: {e}")
        else:
            raise OSError(
                "libpatchcast not found (set PATCHCAST_LIBRARY to its path, or install it): "
                + "; ".join(tried)
            )
        for fname, restype, argtypes in _PROTOTYPES:
            try:
                f = getattr(lib, fname)
            except AttributeError:
                # PATCHCAST_LIBRARY naming another library (or an old one).
                raise OSError(f"{name} is not a libpatchcast this binding can use: "
                              f"it has no {fname}") from None
            f.restype = restype
            f.argtypes = argtypes
        _lib = lib
        return lib


def decode(b: bytes | None) -> str | None:
    """UTF-8 text from the library; undecodable bytes (a file name in
    another encoding) survive as surrogates, as os.fsdecode keeps them."""
    if b is None:
        return None
    return b.decode("utf-8", "surrogateescape")


def encode(s: str | os.PathLike[str] | None) -> bytes | None:
    """A str or path for the library (UTF-8, surrogates back to bytes).

    ValueError for a NUL byte: C would read the string only up to it, i.e.
    act on another path, URL or version than the one asked."""
    if s is None:
        return None
    if isinstance(s, bytes):
        b = s
    elif isinstance(s, os.PathLike):
        b = os.fsencode(s)
    else:
        b = s.encode("utf-8", "surrogateescape")
    if b"\0" in b:
        raise ValueError(f"embedded null byte in {s!r}")
    return b


_libc = ctypes.CDLL(None)
_libc.free.argtypes = [c_void_p]
_libc.free.restype = None


def take_string(p: c_void_p) -> str | None:
    """A copy of the string a call returned through a char ** (the caller
    still frees it, with free())."""
    return decode(ctypes.string_at(p.value)) if p.value else None


def free(p: c_void_p) -> None:
    """Free memory the library returned for the caller to free (a char *
    out-parameter), and forget it. NULL is fine."""
    if p.value:
        _libc.free(p.value)
        p.value = None


def strings(arr, n: int) -> tuple[str, ...]:
    """A C array of n strings as a tuple of str (copied)."""
    return tuple(decode(arr[i]) for i in range(n))  # type: ignore[misc]
