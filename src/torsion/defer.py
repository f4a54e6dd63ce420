"""Deferreds: results that arrive later, under the names of ``twisted.internet.defer``.

The implementation lives in ``torsion._defer``: ``core`` (Deferred, its
callback runner, unhandled-error reporting, asyncio interop), ``inline``
(inlineCallbacks and coroutines), ``tools`` (DeferredList, race, locks,
queues), ``errors`` and ``fslock`` (DeferredFilesystemLock).  This module
only gathers the public names, and three private type names of Twisted's
(``_T``, ``_DeferredListResultListT``, ``_DeferredListSingleResultT``) that
ported annotations import.
"""

from __future__ import annotations

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
from torsion._defer.tools import _T as _T
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
    timeout,
)
from torsion._defer.tools import _DeferredListResultListT as _DeferredListResultListT
from torsion._defer.tools import _DeferredListSingleResultT as _DeferredListSingleResultT
from torsion._util import publish
from torsion.failure import Failure

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
    "timeout",
]

publish(globals(), __all__)
