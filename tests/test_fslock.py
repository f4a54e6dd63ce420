"""defer.DeferredFilesystemLock and the symlink lock under it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from torsion import defer
from torsion.defer import DeferredFilesystemLock
from torsion.failure import Failure
from torsion.task import Clock


def _results(d: defer.Deferred[Any]) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    return out


def _deadPid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lock_is_a_symlink_naming_our_pid(tmp_path: Path) -> None:
    name = str(tmp_path / "lock")
    lock = DeferredFilesystemLock(name, scheduler=Clock())
    assert lock.locked is False and lock.clean is None
    assert lock.lock() is True
    assert lock.locked and lock.clean is True
    assert os.readlink(name) == str(os.getpid())
    # Held by a live process (this one): a second lock object cannot take it.
    assert DeferredFilesystemLock(name, scheduler=Clock()).lock() is False
    lock.unlock()
    assert not lock.locked and not os.path.lexists(name)


def test_a_stale_lock_is_taken_over_and_reported_unclean(tmp_path: Path) -> None:
    name = str(tmp_path / "lock")
    os.symlink(str(_deadPid()), name)
    lock = DeferredFilesystemLock(name, scheduler=Clock())
    assert lock.lock() is True
    assert lock.clean is False
    lock.unlock()


def test_unlock_refuses_a_lock_held_by_another_process(tmp_path: Path) -> None:
    name = str(tmp_path / "lock")
    os.symlink("1", name)
    lock = DeferredFilesystemLock(name, scheduler=Clock())
    with pytest.raises(ValueError, match="not owned by this process"):
        lock.unlock()


def test_deferUntilLocked_fires_at_once_when_free(tmp_path: Path) -> None:
    clock = Clock()
    lock = DeferredFilesystemLock(str(tmp_path / "lock"), scheduler=clock)
    assert _results(lock.deferUntilLocked(timeout=1)) == [None]
    assert lock.locked and clock.getDelayedCalls() == []
    lock.unlock()


def test_deferUntilLocked_retries_every_interval_until_free(tmp_path: Path) -> None:
    clock = Clock()
    name = str(tmp_path / "lock")
    holder = DeferredFilesystemLock(name, scheduler=clock)
    holder.lock()
    waiter = DeferredFilesystemLock(name, scheduler=clock)
    got = _results(waiter.deferUntilLocked(timeout=10))
    clock.advance(1)
    assert got == []
    holder.unlock()
    clock.advance(1)
    assert got == [None] and waiter.locked
    assert clock.getDelayedCalls() == []  # the timeout was cancelled
    waiter.unlock()


def test_deferUntilLocked_times_out(tmp_path: Path) -> None:
    clock = Clock()
    name = str(tmp_path / "lock")
    DeferredFilesystemLock(name, scheduler=clock).lock()
    waiter = DeferredFilesystemLock(name, scheduler=clock)
    got = _results(waiter.deferUntilLocked(timeout=5.5))
    clock.pump([1] * 10)
    assert isinstance(got[0], Failure)
    got[0].trap(defer.TimeoutError)
    assert str(got[0].value) == f"Timed out acquiring lock: {name} after 5.500000s"
    assert clock.getDelayedCalls() == [] and waiter._tryLockCall is None
    os.remove(name)


def test_concurrent_deferUntilLocked_fails_the_second(tmp_path: Path) -> None:
    clock = Clock()
    lock = DeferredFilesystemLock(str(tmp_path / "lock"), scheduler=clock)
    lock.lock()
    clock.callLater(1, lock.unlock)
    first = _results(lock.deferUntilLocked())
    second = _results(lock.deferUntilLocked())
    second[0].trap(defer.AlreadyTryingToLockError)
    clock.advance(1)
    assert first == [None]
    lock.unlock()


def test_cancel_stops_retrying_and_the_timeout(tmp_path: Path) -> None:
    clock = Clock()
    name = str(tmp_path / "lock")
    DeferredFilesystemLock(name, scheduler=clock).lock()
    waiter = DeferredFilesystemLock(name, scheduler=clock)
    d = waiter.deferUntilLocked(timeout=1)
    tryCall, timeoutCall = waiter._tryLockCall, waiter._timeoutCall
    d.cancel()
    assert not tryCall.active() and not timeoutCall.active()
    assert waiter._tryLockCall is None and waiter._timeoutCall is None
    _results(d)[0].trap(defer.CancelledError)
    os.remove(name)


@pytest.mark.twisted_oracle
def test_timeout_message_matches_twisted(tmp_path: Path) -> None:
    from twisted.internet import defer as tdefer
    from twisted.internet import task as ttask

    messages = []
    for mod, clock in ((tdefer, ttask.Clock()), (defer, Clock())):
        name = str(tmp_path / "lock")
        os.symlink(str(os.getpid()), name)
        got: list[Any] = []
        mod.DeferredFilesystemLock(name, scheduler=clock).deferUntilLocked(3).addErrback(
            got.append
        )
        clock.pump([1, 1, 1])
        messages.append((type(got[0].value).__name__, str(got[0].value)))
        os.remove(name)
    assert messages[0] == messages[1]
