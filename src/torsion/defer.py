"""Deferreds: results that arrive later, under the names of ``twisted.internet.defer``.

The implementation lives in ``torsion._defer``: ``core`` (Deferred, its
callback runner, unhandled-error reporting, asyncio interop), ``inline``
(inlineCallbacks and coroutines), ``tools`` (DeferredList, race, locks,
queues), ``errors`` and ``fslock`` (DeferredFilesystemLock).  This module
only gathers the public names.
"""

from __future__ import annotations

from typing import TypeVar

from torsion._defer.core import (
    Deferred,
    fail,
    getDebugging,
    passthru,
    setDebugging,
    succeed,
)
from torsion._defer.errors import (
    AlreadyCalledError,
    AlreadyTryingToLockError,
    AlreadyWaitingError,
    CancelledError,
    FailureGroup,
    FirstError,
    NotACoroutineError,
    QueueOverflow,
    QueueUnderflow,
    TimeoutError,
)
from torsion._defer.fslock import DeferredFilesystemLock
from torsion._defer.inline import ensureDeferred, inlineCallbacks, returnValue
from torsion._defer.tools import (
    FAILURE,
    SUCCESS,
    DeferredList,
    DeferredLock,
    DeferredQueue,
    DeferredSemaphore,
    execute,
    gatherResults,
    logError,
    maybeDeferred,
    race,
)
from torsion._util import publish
from torsion.failure import Failure

# Typing helpers under Twisted's (private) names, for ported annotations: a
# value's type, and the shapes of a DeferredList's result (per-Deferred
# (success, value) pairs, or fireOnOneCallback's (value, index)).
_T = TypeVar("_T")
_DeferredListResultListT = list[tuple[bool, _T]]
_DeferredListSingleResultT = tuple[_T, int]

__all__ = [
    "FAILURE",
    "SUCCESS",
    "AlreadyCalledError",
    "AlreadyTryingToLockError",
    "AlreadyWaitingError",
    "CancelledError",
    "Deferred",
    "DeferredFilesystemLock",
    "DeferredList",
    "DeferredLock",
    "DeferredQueue",
    "DeferredSemaphore",
    "Failure",
    "FailureGroup",
    "FirstError",
    "NotACoroutineError",
    "QueueOverflow",
    "QueueUnderflow",
    "TimeoutError",
    "ensureDeferred",
    "execute",
    "fail",
    "gatherResults",
    "getDebugging",
    "inlineCallbacks",
    "logError",
    "maybeDeferred",
    "passthru",
    "race",
    "returnValue",
    "setDebugging",
    "succeed",
]

publish(globals(), __all__)
