"""Deferreds: results that arrive later, under the names of ``twisted.internet.defer``.

The implementation lives in private modules: ``_defer_core`` (Deferred, its
callback runner, unhandled-error reporting, asyncio interop), ``_inline``
(inlineCallbacks and coroutines) and ``_defer_tools`` (DeferredList, race,
locks, queues).  This module only gathers the public names.
"""

from __future__ import annotations

from torsion._defer_core import (
    AlreadyCalledError,
    AlreadyTryingToLockError,
    AlreadyWaitingError,
    CancelledError,
    Deferred,
    FailureGroup,
    FirstError,
    NotACoroutineError,
    QueueOverflow,
    QueueUnderflow,
    TimeoutError,
    _reportUnhandledAtShutdown,
    _unhandledCount,
    fail,
    getDebugging,
    passthru,
    setDebugging,
    succeed,
)
from torsion._defer_tools import (
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
from torsion._inline import ensureDeferred, inlineCallbacks, returnValue
from torsion.failure import Failure

__all__ = [
    "FAILURE",
    "SUCCESS",
    "AlreadyCalledError",
    "AlreadyTryingToLockError",
    "AlreadyWaitingError",
    "CancelledError",
    "Deferred",
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
    "_reportUnhandledAtShutdown",
    "_unhandledCount",
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
