"""File system locks: Twisted's ``lockfile.FilesystemLock`` and ``defer.DeferredFilesystemLock``.

The lock is a symbolic link whose target is the owner's PID.  Creating a link
is atomic and fails if the name exists, so whoever creates it holds the lock;
removing it releases the lock.  A link naming a process that no longer exists
is a stale lock: ``lock()`` removes it and takes the lock, and records that the
previous owner did not release it (``clean`` is False).

``DeferredFilesystemLock.deferUntilLocked`` retries every ``_interval``
seconds on a scheduler (an ``IReactorTime``) until it gets the lock, the
optional timeout passes, or the Deferred is cancelled; a timeout or a cancel
makes one last attempt before failing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from torsion.failure import Failure

if TYPE_CHECKING:
    from torsion.defer import Deferred

__all__ = ["DeferredFilesystemLock", "FilesystemLock", "isLocked"]


def _pidAlive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True  # including EPERM: it exists, it is just not ours


class FilesystemLock:
    """A lock held by this process through the symbolic link ``name``.

    ``locked`` says whether this object holds it; ``clean``, after a
    successful ``lock()``, whether the previous owner had released it.
    """

    clean: bool | None = None
    locked = False

    def __init__(self, name: str) -> None:
        self.name = name

    def lock(self) -> bool:
        """Take the lock if nobody alive holds it; returns whether it was taken.

        Errors from the file system other than "it exists" propagate.
        """
        clean = True
        while True:
            try:
                os.symlink(str(os.getpid()), self.name)
            except FileExistsError:
                pass
            else:
                self.locked = True
                self.clean = clean
                return True
            try:
                owner = int(os.readlink(self.name))
            except FileNotFoundError:
                continue  # released in the meantime: try again
            try:
                alive = _pidAlive(owner)
            except OverflowError:
                alive = False
            if alive:
                return False
            try:
                os.remove(self.name)
            except FileNotFoundError:
                continue
            clean = False

    def unlock(self) -> None:
        """Release the lock; ValueError if this process does not hold it."""
        if int(os.readlink(self.name)) != os.getpid():
            raise ValueError(f"Lock {self.name!r} not owned by this process")
        os.remove(self.name)
        self.locked = False


def isLocked(name: str) -> bool:
    """Whether some live process holds the lock ``name``."""
    probe = FilesystemLock(name)
    if probe.lock():
        probe.unlock()
        return False
    return True


class DeferredFilesystemLock(FilesystemLock):
    """A FilesystemLock with ``deferUntilLocked()``, a Deferred that fires once it is held.

    ``scheduler`` provides ``callLater`` (the global reactor by default).
    """

    _interval: float = 1
    _tryLockCall: Any = None
    _timeoutCall: Any = None

    def __init__(self, name: str, scheduler: Any = None) -> None:
        super().__init__(name)
        if scheduler is None:
            from torsion.reactors import getGlobal

            scheduler = getGlobal()
        self._scheduler = scheduler

    def deferUntilLocked(self, timeout: float | None = None) -> Deferred[None]:
        """Fire (with None) once the lock is held, trying every ``_interval`` seconds.

        Fails with ``defer.TimeoutError`` after ``timeout`` seconds, with
        ``CancelledError`` if cancelled first, and with
        ``AlreadyTryingToLockError`` if an earlier call is still waiting.
        """
        from torsion import defer  # torsion.defer re-exports this class

        if self._tryLockCall is not None:
            return defer.fail(
                defer.AlreadyTryingToLockError("deferUntilLocked isn't safe for concurrent use.")
            )

        def giveUp(reason: Failure | BaseException) -> None:
            self._tryLockCall.cancel()
            self._tryLockCall = None
            timeoutCall, self._timeoutCall = self._timeoutCall, None
            if timeoutCall is not None and timeoutCall.active():
                timeoutCall.cancel()
            if self.lock():
                d.callback(None)
            else:
                d.errback(reason)

        d: Deferred[None] = defer.Deferred(lambda _: giveUp(defer.CancelledError()))

        def attempt() -> None:
            if self.lock():
                timeoutCall, self._timeoutCall = self._timeoutCall, None
                if timeoutCall is not None:
                    timeoutCall.cancel()
                self._tryLockCall = None
                d.callback(None)
                return
            if timeout is not None and self._timeoutCall is None:
                reason = Failure(
                    defer.TimeoutError(f"Timed out acquiring lock: {self.name} after {timeout:f}s")
                )
                self._timeoutCall = self._scheduler.callLater(timeout, giveUp, reason)
            self._tryLockCall = self._scheduler.callLater(self._interval, attempt)

        attempt()
        return d
