"""The exceptions of ``torsion.defer`` (Twisted's names and base classes)."""

from __future__ import annotations

from torsion.failure import Failure

__all__ = [
    "AlreadyCalledError",
    "AlreadyTryingToLockError",
    "AlreadyWaitingError",
    "CancelledError",
    "FailureGroup",
    "FirstError",
    "NotACoroutineError",
    "QueueOverflow",
    "QueueUnderflow",
    "TimeoutError",
]


class AlreadyCalledError(Exception):
    """A Deferred was fired (callback or errback) a second time."""


class CancelledError(Exception):
    """A Deferred was cancelled."""


class TimeoutError(Exception):
    """A Deferred timed out (see ``Deferred.addTimeout``)."""


class AlreadyWaitingError(Exception):
    """Something is already waiting on this object and only one waiter is allowed."""


class NotACoroutineError(TypeError):
    """A coroutine (or generator) was expected and something else was given."""


class AlreadyTryingToLockError(Exception):
    """A lock was asked to be taken by a caller that is already waiting for it."""


class QueueOverflow(Exception):
    """A DeferredQueue is full."""


class QueueUnderflow(Exception):
    """Too many callers are already waiting on a DeferredQueue."""


class FirstError(Exception):
    """The first failure of a DeferredList: ``subFailure`` happened at ``index``."""

    def __init__(self, failure: Failure, index: int) -> None:
        super().__init__(failure, index)
        self.subFailure = failure
        self.index = index

    def __repr__(self) -> str:
        return f"FirstError[#{self.index}, {self.subFailure.value!r}]"

    def __str__(self) -> str:
        return f"FirstError[#{self.index}, {self.subFailure}]"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FirstError):
            return (self.subFailure, self.index) == (other.subFailure, other.index)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((id(self.subFailure), self.index))


class FailureGroup(Exception):
    """Every Deferred given to ``race`` failed; ``failures`` lists why, in order."""

    def __init__(self, failures: list[Failure]) -> None:
        super().__init__()
        self.failures = failures
