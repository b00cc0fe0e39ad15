"""client — patchcast.Client, the Pythonic face of pc_client.

One Client wraps one pc_client handle. Its operations may be called from any
thread (a lock makes them take turns, as the C handle requires); cancel()
may be called from any thread at any time, also while another thread is
inside update(). Every C result is copied into Python objects and freed
before the call returns.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Union

from . import _lib
from .errors import Error, error_for

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Progress:
    """One progress report of a running operation.

    step/steps: 1-based number of the current step and how many there are;
    name: "metadata", "download", "apply", "verify" or "switch";
    done/total: bytes of the current step (total 0 when unknown);
    detail: a file or version, or "".
    """

    step: int
    steps: int
    name: str
    done: int
    total: int
    detail: str

    @property
    def fraction(self) -> Optional[float]:
        """done / total in [0, 1], or None when the total is unknown."""
        return self.done / self.total if self.total else None


class ReleaseNote(NamedTuple):
    """One version's release notes (Markdown); unpacks as (version, notes)."""

    version: str
    notes: str


@dataclass(frozen=True)
class UpdateInfo:
    """What an update would do (check) or did (update, rollback, stage,
    apply_staged).

    from_version is None for a fresh install. download_bytes is what check
    plans to transfer or what update transferred; full_bytes what a full
    download of the target costs. hops is the number of patch edges chained
    (0 for a full install). hot_modules are the changed files flagged
    hot-swappable, changed_files every added or changed path (both relative
    to the version's folder), refetched the installed files found damaged
    and downloaded whole. notes are the target's release notes (Markdown) or
    None.

    The release lifecycle (docs/guide.md, "Releasing safely"): critical, a
    version after the installed one up to the target is critical (offered
    even if skipped or not yet rolled out here); manual_update_required,
    manual_version needs minimum_version installed first and is not
    updated to automatically; downgrade, the target is older than the
    installed version; from_withdrawn, the installed version was withdrawn
    (withdrawn_reason says why, or None); held_back, the channel's newest
    when this install is not yet admitted to its staged rollout;
    downgrade_refused, the channel's newest when it is older than the
    installed version (allow_downgrade follows it); release_notes, every
    version after the installed one up to the target that has notes, newest
    first; skipped, the versions skipped on this install; rollout_bucket,
    this install's bucket from 0.00 to 99.99 (None: no install id yet);
    release_patch, the update takes (check) or took (update) one
    whole-release patch rather than per-file patches and objects.
    """

    from_version: Optional[str]
    to_version: str
    up_to_date: bool
    download_bytes: int
    full_bytes: int
    hops: int
    restart_required: bool
    notes: Optional[str]
    hot_modules: tuple[str, ...]
    changed_files: tuple[str, ...]
    refetched: tuple[str, ...] = ()
    critical: bool = False
    manual_update_required: bool = False
    manual_version: Optional[str] = None
    minimum_version: Optional[str] = None
    downgrade: bool = False
    from_withdrawn: bool = False
    withdrawn_reason: Optional[str] = None
    held_back: Optional[str] = None
    downgrade_refused: Optional[str] = None
    release_notes: tuple[ReleaseNote, ...] = ()
    skipped: tuple[str, ...] = ()
    rollout_bucket: Optional[float] = None
    release_patch: bool = False

    @property
    def saving_bytes(self) -> int:
        """Bytes saved against a full download (never negative)."""
        return max(0, self.full_bytes - self.download_bytes)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (lists for the tuples, release_notes
        as [{"version": …, "notes": …}], as `patchcast check --json` has
        them), e.g. for a Qt signal or JSON."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("hot_modules", "changed_files", "refetched", "skipped"):
            d[k] = list(d[k])
        d["release_notes"] = [n._asdict() for n in self.release_notes]
        d["saving_bytes"] = self.saving_bytes
        return d


@dataclass(frozen=True)
class InstallState:
    """The installed state of a root: current and previous versions (None
    when there is none), every installed version, those a running program
    holds, the highest repo.json serial accepted, whether another process is
    changing the root right now, and the root of trust in use (0: bare
    keys).

    The release lifecycle: staged, a version staged for the next start
    (Client.stage) or None; pending, the current version when an update
    installed it and it is not yet marked good (Client.mark_good), and
    attempts, its starts that did not end well; last_good, the version the
    launcher rolls back to; bad, versions the launcher rolled back (never
    installed automatically again); skipped, versions skipped on this
    install; rollout_bucket, 0.00 to 99.99 (None: no install id yet).
    """

    current: Optional[str]
    previous: Optional[str]
    installed: tuple[str, ...]
    held: tuple[str, ...]
    last_serial: int
    busy: bool
    root_version: int
    staged: Optional[str] = None
    pending: Optional[str] = None
    attempts: int = 0
    last_good: Optional[str] = None
    bad: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    rollout_bucket: Optional[float] = None


ProgressCallback = Callable[[Progress], object]


def version() -> str:
    """The version of the loaded libpatchcast ("MAJOR.MINOR.PATCH")."""
    return _lib.decode(_lib.load().pc_version()) or ""


def strerror(status: int) -> str:
    """The library's fixed text for a status."""
    return _lib.decode(_lib.load().pc_strerror(status)) or ""


def status_code(status: int) -> str:
    """The stable name of a status ("ok", "busy", "signature", ...)."""
    return _lib.decode(_lib.load().pc_status_code(status)) or "unknown"


def _bucket(b: float) -> Optional[float]:
    return round(float(b), 2) if b >= 0 else None


def _update_flags(ignore_rollout: bool, allow_downgrade: bool) -> int:
    return ((_lib.PC_UPDATE_IGNORE_ROLLOUT if ignore_rollout else 0)
            | (_lib.PC_UPDATE_ALLOW_DOWNGRADE if allow_downgrade else 0))


def _info(p: "ctypes._Pointer[_lib.pc_update_info]") -> UpdateInfo:
    i = p.contents
    notes = tuple(
        ReleaseNote(_lib.decode(n.version) or "", _lib.decode(n.notes) or "")
        for n in (i.release_notes[k] for k in range(i.nrelease_notes))
    )
    return UpdateInfo(
        from_version=_lib.decode(i.from_),
        to_version=_lib.decode(i.to) or "",
        up_to_date=bool(i.up_to_date),
        download_bytes=int(i.download_bytes),
        full_bytes=int(i.full_bytes),
        hops=int(i.hops),
        restart_required=bool(i.restart_required),
        notes=_lib.decode(i.notes),
        hot_modules=_lib.strings(i.hot_modules, i.nhot),
        changed_files=_lib.strings(i.changed_files, i.nchanged),
        refetched=_lib.strings(i.refetched, i.nrefetched),
        critical=bool(i.critical),
        manual_update_required=bool(i.manual_update_required),
        manual_version=_lib.decode(i.manual_version),
        minimum_version=_lib.decode(i.minimum_version),
        downgrade=bool(i.downgrade),
        from_withdrawn=bool(i.from_withdrawn),
        withdrawn_reason=_lib.decode(i.withdrawn_reason),
        held_back=_lib.decode(i.held_back),
        downgrade_refused=_lib.decode(i.downgrade_refused),
        release_notes=notes,
        skipped=_lib.strings(i.skipped, i.nskipped),
        rollout_bucket=_bucket(i.rollout_bucket),
        release_patch=bool(i.release_patch),
    )


class Hold:
    """A hold on an installed version (Client.hold): no update prunes it
    while it is held. Release it with release(), a with-block, or the
    process's end."""

    def __init__(self, lib: ctypes.CDLL, handle: int) -> None:
        self._lib = lib
        self._h: Optional[int] = handle
        self._release_lock = threading.Lock()
        self.version: str = _lib.decode(lib.pc_hold_version(handle)) or ""
        self.dir: str = _lib.decode(lib.pc_hold_dir(handle)) or ""

    def release(self) -> None:
        """End the hold (again, or from another thread at once: nothing)."""
        with self._release_lock:
            h, self._h = self._h, None
        if h is not None:
            self._lib.pc_hold_release(h)

    def __enter__(self) -> "Hold":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:  # interpreter shutdown
            pass


class Client:
    """An update client for one install root.

    Client(root) uses the configuration `patchcast init` wrote in
    ROOT/config.json. With repos and keys it is configured in code instead
    (the root may then be empty; call save_config() to write config.json).

    Args:
        root: the install root (versions/<v>/, current, state.json, ...).
        repos: repository URLs (http(s)://, file://) or folders, mirrors
            tried in order.
        keys: public keys: minisign base64 strings, whole .pub texts, or
            paths of .pub files.
        channel: the channel to follow (default: the config's, or "stable").
        ca_file: an extra CA bundle for HTTPS.
        wait: seconds update/rollback/repair wait for another process
            changing the root (0: fail at once with BusyError; <0: no limit).
        keep_versions: installed versions to keep, the current one included.
        ignore_rollout, allow_downgrade: how check/update/stage choose a
            version when none is named (see set_update_flags).

    Raises:
        Error: e.g. NotInitialisedError for a root without configuration
        when no repos/keys are given; InvalidArgumentError for a bad URL.
    """

    def __init__(
        self,
        root: PathLike,
        *,
        repos: Optional[Iterable[str]] = None,
        keys: Optional[Iterable[str]] = None,
        channel: Optional[str] = None,
        ca_file: Optional[PathLike] = None,
        wait: Optional[int] = None,
        keep_versions: Optional[int] = None,
        ignore_rollout: bool = False,
        allow_downgrade: bool = False,
    ) -> None:
        self._lib = _lib.load()
        self._h: Optional[int] = None
        # _op serialises operations (the C handle is one thread's at a time);
        # _life guards the handle pointer for cancel() against close().
        self._op = threading.Lock()
        self._life = threading.Lock()
        # The thread inside an operation (holding _op): a call it makes on
        # this client (its progress callback's) would wait for itself.
        self._owner: Optional[int] = None
        self.root = os.fspath(root)
        # One URL or key given bare would otherwise be iterated as characters.
        if isinstance(repos, (str, bytes, os.PathLike)):
            repos = [repos]  # type: ignore[list-item]
        if isinstance(keys, (str, bytes, os.PathLike)):
            keys = [keys]  # type: ignore[list-item]
        # Checked here: ctypes would wrap them silently (wait=2**31 into a
        # wait without limit, keep_versions=-1 into 4294967295).
        if wait is not None and not -(2**31) <= int(wait) < 2**31:
            raise error_for(2, "invalid", f"wait={wait} is out of range")
        if keep_versions is not None and not 1 <= int(keep_versions) < 2**32:
            raise error_for(2, "invalid", f"keep_versions={keep_versions}: keep 1 to 2**32-1 versions")
        h = ctypes.c_void_p()
        self._raise_if(self._lib.pc_client_new(ctypes.byref(h)), None)
        self._h = h.value
        try:
            if repos is None and keys is None:
                self._call(self._lib.pc_client_load_config, _lib.encode(self.root))
            else:
                self._call(self._lib.pc_client_set_root, _lib.encode(self.root))
            for url in repos or ():
                self._call(self._lib.pc_client_add_repo, _lib.encode(url))
            for key in keys or ():
                if os.path.isfile(key):
                    self._call(self._lib.pc_client_add_pubkey_file, _lib.encode(key))
                else:
                    self._call(self._lib.pc_client_add_pubkey, _lib.encode(key))
            if channel is not None:
                self._call(self._lib.pc_client_set_channel, _lib.encode(channel))
            if ca_file is not None:
                self._call(self._lib.pc_client_set_ca_file, _lib.encode(ca_file))
            if wait is not None:
                self._call(self._lib.pc_client_set_wait, int(wait))
            if keep_versions is not None:
                self._call(self._lib.pc_client_set_keep_versions, int(keep_versions))
            if ignore_rollout or allow_downgrade:
                self._call(self._lib.pc_client_set_update_flags,
                           _update_flags(ignore_rollout, allow_downgrade))
        except BaseException:
            self.close()
            raise

    # ---- plumbing -----------------------------------------------------------

    def _raise_if(self, st: int, h: Optional[int]) -> None:
        if st == 0:
            return
        msg = _lib.decode(self._lib.pc_client_errmsg(h)) if h else ""
        raise error_for(st, status_code(st), msg or "", strerror(st))

    def _handle(self) -> int:
        if self._h is None:
            raise error_for(2, "invalid", "the client is closed")
        return self._h

    def _enter(self) -> None:
        """Take the operation lock, refusing a call made from inside this
        client's own operation (its progress callback), which would wait
        for itself forever."""
        if self._owner == threading.get_ident():
            raise error_for(
                2, "invalid",
                "a Client cannot be called from its own progress callback "
                "(only cancel() can)")
        self._op.acquire()
        self._owner = threading.get_ident()

    def _leave(self) -> None:
        self._owner = None
        self._op.release()

    def _call(self, fn: Callable[..., int], *args: Any) -> None:
        h = self._handle()
        self._raise_if(fn(h, *args), h)

    def _run(
        self, fn: Callable[..., int], args: tuple, progress: Optional[ProgressCallback]
    ) -> None:
        """Run one operation under the lock, with progress reported to the
        callback. An exception the callback raises cancels the operation and
        is raised in its place once the library has returned."""
        self._enter()
        try:
            self._run_locked(fn, args, progress)
        finally:
            self._leave()

    def _run_locked(
        self, fn: Callable[..., int], args: tuple, progress: Optional[ProgressCallback]
    ) -> None:
        h = self._handle()
        raised: list[BaseException] = []
        cb = None
        if progress is not None:

            def trampoline(_ud: Any, p: Any) -> None:
                if raised:
                    return
                q = p.contents
                try:
                    progress(
                        Progress(
                            step=int(q.step),
                            steps=int(q.nsteps),
                            name=_lib.decode(q.step_name) or "",
                            done=int(q.done),
                            total=int(q.total),
                            detail=_lib.decode(q.detail) or "",
                        )
                    )
                except BaseException as e:  # noqa: BLE001 - handed back below
                    raised.append(e)
                    self._lib.pc_client_cancel(h)

            # Kept in a local for the whole call: the C side holds only
            # the function pointer.
            cb = _lib.PROGRESS_FN(trampoline)
            self._lib.pc_client_set_progress(h, cb, None)
        try:
            st = fn(h, *args)
            msg = _lib.decode(self._lib.pc_client_errmsg(h)) if st else ""
        finally:
            if cb is not None:
                self._lib.pc_client_set_progress(h, _lib.PROGRESS_FN(), None)
                del cb
        if raised:
            raise raised[0]
        if st:
            raise error_for(st, status_code(st), msg or "", strerror(st))

    def _info_call(
        self, fn: Callable[..., int], args: tuple, progress: Optional[ProgressCallback]
    ) -> UpdateInfo:
        out = ctypes.POINTER(_lib.pc_update_info)()
        try:
            self._run(fn, args + (ctypes.byref(out),), progress)
            return _info(out)
        finally:
            if out:
                self._lib.pc_update_info_free(out)

    # ---- operations ---------------------------------------------------------

    def check(
        self, version: Optional[str] = None, *, progress: Optional[ProgressCallback] = None
    ) -> UpdateInfo:
        """Fetch and verify the site's metadata and plan an update to
        `version` (None: the newest of the channel) without changing
        anything. Raises Error on failure."""
        return self._info_call(self._lib.pc_client_check, (_lib.encode(version),), progress)

    def update(
        self, version: Optional[str] = None, *, progress: Optional[ProgressCallback] = None
    ) -> UpdateInfo:
        """Update (or install into an empty root) to `version` (None: the
        newest of the channel): download, apply, verify, switch atomically.
        progress(Progress) is called on this thread during the operation;
        an exception it raises cancels the update and is re-raised. On any
        failure the installed version stays current and intact."""
        return self._info_call(self._lib.pc_client_update, (_lib.encode(version),), progress)

    def rollback(self, *, progress: Optional[ProgressCallback] = None) -> UpdateInfo:
        """Switch back to the previous installed version after verifying
        it. StateError when there is none."""
        return self._info_call(self._lib.pc_client_rollback, (), progress)

    def stage(
        self, version: Optional[str] = None, *, progress: Optional[ProgressCallback] = None
    ) -> UpdateInfo:
        """Apply at next start: download, apply and verify `version` (None:
        the one update() would choose) beside the current version without
        switching to it. It stays staged across restarts until
        apply_staged() (or `patchcast run`) switches to it; staging another
        version, or any other switch, discards it. status().staged names
        it."""
        return self._info_call(self._lib.pc_client_stage, (_lib.encode(version),), progress)

    def apply_staged(self, *, progress: Optional[ProgressCallback] = None) -> UpdateInfo:
        """Switch to the staged version after checking its whole tree; it
        is then pending, as after update(). NotFoundError when nothing is
        staged."""
        return self._info_call(self._lib.pc_client_apply_staged, (), progress)

    def mark_good(self, version: Optional[str] = None) -> None:
        """The running version (None: the current one) works: it is no
        longer pending and becomes the version the launcher rolls back to.
        A version that is not pending is left as it is. StateError when
        nothing is installed."""
        self._run(self._lib.pc_client_mark_good, (_lib.encode(version),), None)

    def skip_version(self, version: str, skip: bool = True) -> None:
        """Hide `version` from automatic updates on this install (saved in
        state.json: it survives a restart), or offer it again with
        skip=False. A critical version is offered even if skipped; a
        version named to check/update is taken all the same."""
        self._run(self._lib.pc_client_skip_version, (_lib.encode(version), 1 if skip else 0), None)

    def set_update_flags(self, *, ignore_rollout: bool = False, allow_downgrade: bool = False) -> None:
        """How check, update and stage choose when no version is named:
        ignore_rollout offers versions this install is not yet admitted to
        (a tester); allow_downgrade follows the channel to an older version.
        Both off (the default) unless given again."""
        self._enter()
        try:
            self._call(self._lib.pc_client_set_update_flags,
                       _update_flags(ignore_rollout, allow_downgrade))
        finally:
            self._leave()

    def start_run(self, max_attempts: int = 3, *, inherit: bool = False) -> tuple[Hold, Optional[str]]:
        """What a launcher does before it starts the program (`patchcast
        run`): switch to a staged version, roll a pending version that
        failed max_attempts starts back to the last good one (recording it
        bad), count this start of a pending version, and hold the version
        to run. Returns the hold (its .version and .dir are what to run)
        and the version rolled back from, or None. Report the end with
        end_run()."""
        if not 1 <= int(max_attempts) < 2**32:
            raise error_for(2, "invalid", f"max_attempts={max_attempts}: 1 to 2**32-1")
        out = ctypes.c_void_p()
        rolled = ctypes.c_void_p()
        flags = _lib.PC_HOLD_INHERIT if inherit else 0
        try:
            self._run(self._lib.pc_client_start_run,
                      (int(max_attempts), flags, ctypes.byref(rolled), ctypes.byref(out)), None)
            return Hold(self._lib, out.value), _lib.take_string(rolled)  # type: ignore[arg-type]
        finally:
            _lib.free(rolled)

    def end_run(self, version: str, healthy: bool, max_attempts: int = 3) -> Optional[str]:
        """After the program of `version` ended: healthy marks it good;
        otherwise, once it failed max_attempts starts, it is rolled back as
        start_run() does. Returns the version rolled back from, or None."""
        if not 1 <= int(max_attempts) < 2**32:
            raise error_for(2, "invalid", f"max_attempts={max_attempts}: 1 to 2**32-1")
        rolled = ctypes.c_void_p()
        try:
            self._run(self._lib.pc_client_end_run,
                      (_lib.encode(version), 1 if healthy else 0, int(max_attempts), ctypes.byref(rolled)),
                      None)
            return _lib.take_string(rolled)
        finally:
            _lib.free(rolled)

    def repair(self, *, progress: Optional[ProgressCallback] = None) -> int:
        """Check the current version's whole tree against its manifest and
        put right what differs; returns the number of entries repaired."""
        fixed = ctypes.c_uint(0)
        self._run(self._lib.pc_client_repair, (ctypes.byref(fixed),), progress)
        return int(fixed.value)

    def status(self) -> InstallState:
        """The installed state of the root (works on a read-only root)."""
        out = ctypes.POINTER(_lib.pc_install_state)()
        try:
            self._run(self._lib.pc_client_status, (ctypes.byref(out),), None)
            s = out.contents
            return InstallState(
                current=_lib.decode(s.current),
                previous=_lib.decode(s.previous),
                installed=_lib.strings(s.installed, s.ninstalled),
                held=_lib.strings(s.held, s.nheld),
                last_serial=int(s.last_serial),
                busy=bool(s.busy),
                root_version=int(s.root_version),
                staged=_lib.decode(s.staged),
                pending=_lib.decode(s.pending),
                attempts=int(s.attempts),
                last_good=_lib.decode(s.last_good),
                bad=_lib.strings(s.bad, s.nbad),
                skipped=_lib.strings(s.skipped, s.nskipped),
                rollout_bucket=_bucket(s.rollout_bucket),
            )
        finally:
            if out:
                self._lib.pc_client_status_free(out)

    def mirror(self, url: str, directory: PathLike, *, force: bool = False) -> int:
        """Copy the whole site at url into directory and verify every file
        (an offline mirror); returns the number of problems found."""
        problems = ctypes.c_uint(0)
        flags = _lib.PC_MIRROR_FORCE if force else 0
        self._run(
            self._lib.pc_client_mirror,
            (_lib.encode(url), _lib.encode(directory), flags, ctypes.byref(problems)),
            None,
        )
        return int(problems.value)

    def hold(self, version: Optional[str] = None, *, inherit: bool = False) -> Hold:
        """Hold an installed version (None: the current one) so that no
        update prunes it while this program runs from it."""
        out = ctypes.c_void_p()
        flags = _lib.PC_HOLD_INHERIT if inherit else 0
        self._run(
            self._lib.pc_client_hold_version,
            (_lib.encode(version), flags, ctypes.byref(out)),
            None,
        )
        return Hold(self._lib, out.value)  # type: ignore[arg-type]

    def save_config(self) -> None:
        """Write the root, repositories, keys and channel to ROOT/config.json."""
        self._enter()
        try:
            self._call(self._lib.pc_client_save_config)
        finally:
            self._leave()

    def cancel(self) -> None:
        """Ask the running operation to stop at its next safe point; it then
        raises CancelledError and the installed version is intact. Any
        thread may call it. A cancel made while nothing runs applies to the
        next operation."""
        with self._life:
            if self._h is not None:
                self._lib.pc_client_cancel(self._h)

    # ---- lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Free the handle (waits for a running operation). Idempotent."""
        self._enter()
        try:
            with self._life:
                h, self._h = self._h, None
        finally:
            self._leave()
        if h is not None:
            self._lib.pc_client_free(h)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_h", None) is not None:
                self._lib.pc_client_free(self._h)
                self._h = None
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"patchcast.Client({self.root!r}{'' if self._h else ', closed'})"
