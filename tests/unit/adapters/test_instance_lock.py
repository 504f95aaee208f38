"""The one-trader-per-subaccount lock, in this process and across real processes (review F2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dydx_trader.adapters.instance_lock import (
    InstanceKey,
    InstanceLock,
    InstanceLocked,
    journal_holders,
)

ADDRESS = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"
KEY = InstanceKey("testnet", ADDRESS, 0)

_HOLD = """
import sys
from pathlib import Path
from dydx_trader.adapters.instance_lock import InstanceKey, InstanceLock
key = InstanceKey(sys.argv[1], sys.argv[2], int(sys.argv[3]))
lock = InstanceLock.acquire(key, Path(sys.argv[4]), Path(sys.argv[5]))
print("held", flush=True)
sys.stdin.read()  # hold until the test closes our stdin (or kills us)
"""


@pytest.fixture
def locks(tmp_path: Path) -> Path:
    return tmp_path / "locks"


@pytest.fixture
def other_process(tmp_path: Path, locks: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding KEY's lock with its own journal."""
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our script
        [sys.executable, "-c", _HOLD, KEY.network, KEY.address, str(KEY.subaccount_number),
         str(tmp_path / "theirs.sqlite3"), str(locks)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=10)


def test_acquire_when_another_process_holds_the_key_then_refused_naming_pid_and_journal(
    other_process: subprocess.Popen[str], tmp_path: Path, locks: Path
) -> None:
    with pytest.raises(InstanceLocked) as refused:
        InstanceLock.acquire(KEY, tmp_path / "mine.sqlite3", locks)

    message = str(refused.value)
    assert "\n" not in message
    assert f"pid {other_process.pid}" in message
    assert f"journal {(tmp_path / 'theirs.sqlite3').resolve()}" in message
    assert f"testnet {ADDRESS}/0" in message


def test_acquire_when_holder_was_killed_then_lock_is_free(
    other_process: subprocess.Popen[str], tmp_path: Path, locks: Path
) -> None:
    other_process.send_signal(signal.SIGKILL)
    other_process.wait(timeout=10)

    with InstanceLock.acquire(KEY, tmp_path / "mine.sqlite3", locks) as lock:
        assert lock.key == KEY


def test_acquire_when_same_key_twice_in_one_process_then_second_refused(
    tmp_path: Path, locks: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    with InstanceLock.acquire(KEY, journal, locks):
        with pytest.raises(InstanceLocked, match=f"pid {os.getpid()}"):
            InstanceLock.acquire(KEY, journal, locks)
    InstanceLock.acquire(KEY, journal, locks).release()  # free again once released


@pytest.mark.parametrize(
    "other",
    [
        InstanceKey("testnet", ADDRESS, 1),
        InstanceKey("mainnet", ADDRESS, 0),
        InstanceKey("testnet", "dydx1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", 0),
    ],
)
def test_acquire_when_another_subaccount_or_network_then_both_held(
    tmp_path: Path, locks: Path, other: InstanceKey
) -> None:
    journal = tmp_path / "journal.sqlite3"
    with InstanceLock.acquire(KEY, journal, locks), InstanceLock.acquire(other, journal, locks):
        pass


def test_acquire_when_two_devnets_then_each_its_own_lock_and_same_devnet_refused(
    tmp_path: Path, locks: Path
) -> None:
    first = InstanceKey("devnet", ADDRESS, 0, venue="http://127.0.0.1:40001")
    second = InstanceKey("devnet", ADDRESS, 0, venue="http://127.0.0.1:40002")
    with InstanceLock.acquire(first, tmp_path / "a", locks):
        InstanceLock.acquire(second, tmp_path / "b", locks).release()
        with pytest.raises(InstanceLocked):
            InstanceLock.acquire(first, tmp_path / "c", locks)


def test_journal_holders_when_held_then_named_and_when_released_then_none(
    tmp_path: Path, locks: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    lock = InstanceLock.acquire(KEY, journal, locks)

    [holder] = journal_holders(journal, locks)
    assert (holder.pid, holder.journal, holder.label) == (
        os.getpid(), journal.resolve(), f"testnet {ADDRESS}/0",
    )  # fmt: skip
    assert journal_holders(tmp_path / "other.sqlite3", locks) == []

    lock.release()
    lock.release()
    assert journal_holders(journal, locks) == []


def test_journal_holders_when_probing_then_holder_keeps_its_lock(
    other_process: subprocess.Popen[str], tmp_path: Path, locks: Path
) -> None:
    journal = tmp_path / "theirs.sqlite3"
    assert [h.pid for h in journal_holders(journal, locks)] == [other_process.pid]
    with pytest.raises(InstanceLocked):
        InstanceLock.acquire(KEY, journal, locks)


def test_file_name_when_key_has_odd_characters_then_no_path_separator() -> None:
    odd = InstanceKey("testnet", "../../etc/passwd", 0, venue="http://x/../y")
    assert "/" not in odd.file_name and odd.file_name.endswith(".lock")


def test_release_when_done_then_lock_file_removed(tmp_path: Path, locks: Path) -> None:
    lock = InstanceLock.acquire(KEY, tmp_path / "journal.sqlite3", locks)
    assert lock.path.exists()
    lock.release()
    assert not lock.path.exists()


_CONTEND = """
import os, sys, time
from pathlib import Path
from dydx_trader.adapters.instance_lock import InstanceKey, InstanceLock, InstanceLocked
key = InstanceKey("testnet", sys.argv[1], 0)
marker, locks, until = Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
held = 0
while time.time() < until:
    try:
        lock = InstanceLock.acquire(key, Path("j"), locks)
    except InstanceLocked:
        continue
    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # raises if another holds it
    time.sleep(0.002)
    os.close(fd)
    marker.unlink()
    lock.release()
    held += 1
print(held)
"""


def test_acquire_when_processes_contend_and_release_then_never_two_holders(
    tmp_path: Path, locks: Path
) -> None:
    until = time.time() + 2.0
    argv = [sys.executable, "-c", _CONTEND, ADDRESS, str(tmp_path / "holder"), str(locks)]
    processes = [
        subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [*argv, str(until)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [process.communicate(timeout=60) for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0], results
    assert sum(int(out) for out, _ in results) > 3  # the lock really changed hands
