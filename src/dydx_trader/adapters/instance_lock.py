"""One trader per subaccount: an OS lock that a second ``dydx-trader run`` cannot take.

Two traders on one subaccount each size against the same free collateral, so
together they can double every cap (review F2). ``run`` therefore holds an
exclusive ``fcntl.flock`` on a lock file named for (network, address,
subaccount) for its whole life; a second ``run`` on that key, sharing the
journal or not, refuses to start and names the holder. For the devnet the key
also holds the devnet's indexer URL: each in-process devnet is its own chain.

The lock files live in ``<user data dir>/dydx-trader/locks`` (the same place for
every session of the user, unlike the runtime directory). The OS drops the lock
when the holder exits, however it exits, so a crash never leaves a stale lock
(only a stale file, which the next start takes over). A clean release removes
the file while still holding it; a waiter that then gets the lock checks that
the name still leads to the file it locked, and starts over if not. The holder
writes its pid, host, journal and start time into the file so others can say
who holds it. Read-only commands never take the lock; they ask
:func:`journal_holders` whether a live trader holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import platformdirs

from dydx_trader.domain.errors import DydxTraderError

# A probe (journal_holders) holds the lock for microseconds; a start that meets
# one retries for this long before it believes a trader holds it.
_ACQUIRE_PATIENCE_S = 0.5
_RETRY_S = 0.02
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,100}")


class InstanceLocked(DydxTraderError):
    """Another process trades this subaccount. Stop it, or trade another subaccount."""


def default_lock_dir() -> Path:
    """``<user data dir>/dydx-trader/locks`` (no I/O)."""
    return Path(platformdirs.user_data_dir("dydx-trader")) / "locks"


@dataclass(frozen=True, slots=True)
class InstanceKey:
    """What one trader owns: ``network``, ``address``, ``subaccount_number``, and for
    a devnet (``venue``) the URL of its indexer."""

    network: str
    address: str
    subaccount_number: int
    venue: str | None = None

    @property
    def label(self) -> str:
        """``testnet dydx1.../0`` (``@ <venue>`` for a devnet)."""
        where = "" if self.venue is None else f" @ {self.venue}"
        return f"{self.network} {self.address}/{self.subaccount_number}{where}"

    @property
    def file_name(self) -> str:
        parts = [self.network, self.address, str(self.subaccount_number)]
        if self.venue is not None:
            parts.append(hashlib.sha256(self.venue.encode()).hexdigest()[:12])
        name = "-".join(parts)
        if not _SAFE.fullmatch(name):  # never a path separator or a surprise in a file name
            name = hashlib.sha256(name.encode()).hexdigest()
        return f"{name}.lock"


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The process holding a lock: its pid and host, its journal, since when, and what."""

    pid: int | None
    host: str
    journal: Path | None
    since: datetime | None
    label: str

    def describe(self) -> str:
        """``pid 1234 on host, journal /path, since 2025-...`` (what is known)."""
        pid = "an unknown process" if self.pid is None else f"pid {self.pid}"
        host = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        journal = "" if self.journal is None else f", journal {self.journal}"
        since = "" if self.since is None else f", since {self.since:%Y-%m-%d %H:%M:%S} UTC"
        return f"{pid}{host}{journal}{since}"


class InstanceLock:
    """A held lock; :meth:`release` (or the end of the ``with``) lets it go."""

    def __init__(self, fd: int, path: Path, key: InstanceKey) -> None:
        self._fd: int | None = fd
        self.path = path
        self.key = key

    @classmethod
    def acquire(cls, key: InstanceKey, journal: Path, directory: Path | None = None) -> Self:
        """Take the lock of ``key`` for this process, recording ``journal`` as ours.

        Raises :class:`InstanceLocked`, naming the holder, when another process
        (or another lock in this one) holds it.
        """
        folder = default_lock_dir() if directory is None else directory
        path = folder / key.file_name
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise InstanceLocked(f"cannot create the lock folder {folder}: {error}") from None
        fd = _lock_patiently(path)
        if fd is None:
            holder = _read_holder(path, key.label)
            raise InstanceLocked(
                f"another dydx-trader run trades {key.label}: {holder.describe()}; "
                "stop it first (one trader per subaccount)"
            )
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "journal": str(journal.resolve()),
            "since": datetime.now(UTC).isoformat(),
            "label": key.label,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        return cls(fd, path, key)

    def release(self) -> None:
        """Let the lock go (idempotent)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Removed while still held: whoever waits on this file finds, once it has
        # the lock, that the name no longer leads to it, and starts over.
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def journal_holders(journal: Path, directory: Path | None = None) -> list[LockHolder]:
    """The live traders whose lock names ``journal`` (empty: none holds it).

    Never blocks a trader: each lock is probed without waiting, and released at once.
    """
    folder = default_lock_dir() if directory is None else directory
    wanted = str(journal.resolve())
    holders = []
    for path in sorted(folder.glob("*.lock")) if folder.is_dir() else []:
        holder = _read_holder(path, path.stem)
        if holder.journal is not None and str(holder.journal) == wanted and _is_held(path):
            holders.append(holder)
    return holders


def _lock_patiently(path: Path) -> int | None:
    """A descriptor of ``path`` holding its exclusive lock, or None if a holder keeps it."""
    deadline = time.monotonic() + _ACQUIRE_PATIENCE_S
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise InstanceLocked(f"cannot create the lock file {path}: {error}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                return None
            time.sleep(_RETRY_S)
            continue
        if _still_named(fd, path):
            return fd
        os.close(fd)  # the holder removed it as we locked it: lock the new one


def _still_named(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _is_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _read_holder(path: Path, label: str) -> LockHolder:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return LockHolder(
            pid=int(record["pid"]),
            host=str(record.get("host", "")),
            journal=Path(record["journal"]),
            since=datetime.fromisoformat(record["since"]),
            label=str(record.get("label", label)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        # Being written this instant, or written by something else: say so.
        return LockHolder(pid=None, host="", journal=None, since=None, label=label)
