"""``defer.DeferredFilesystemLock``: a file system lock waited for with a Deferred.

``deferUntilLocked`` retries every ``_interval`` seconds on a scheduler (an
``IReactorTime``, the global reactor by default) until it gets the lock, the
optional timeout passes, or the Deferred is cancelled; a timeout or a cancel
makes one last attempt before failing.
"""

from __future__ import annotations

from typing import Any

from torsion._defer.core import Deferred, fail
from torsion._defer.errors import AlreadyTryingToLockError, CancelledError, TimeoutError
from torsion._fslock import FilesystemLock
from torsion._global import globalReactor
from torsion.failure import Failure

__all__ = ["DeferredFilesystemLock"]


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
            scheduler = globalReactor()
        self._scheduler = scheduler

    def deferUntilLocked(self, timeout: float | None = None) -> Deferred[None]:
        """Fire (with None) once the lock is held, trying every ``_interval`` seconds.

        Fails with ``defer.TimeoutError`` after ``timeout`` seconds, with
        ``CancelledError`` if cancelled first, and with
        ``AlreadyTryingToLockError`` if an earlier call is still waiting.
        """
        if self._tryLockCall is not None:
            return fail(
                AlreadyTryingToLockError("deferUntilLocked isn't safe for concurrent use.")
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

        d: Deferred[None] = Deferred(lambda _: giveUp(CancelledError()))

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
                    TimeoutError(f"Timed out acquiring lock: {self.name} after {timeout:f}s")
                )
                self._timeoutCall = self._scheduler.callLater(timeout, giveUp, reason)
            self._tryLockCall = self._scheduler.callLater(self._interval, attempt)

        attempt()
        return d
