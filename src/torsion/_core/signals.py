"""The reactor's shutdown signals: SIGINT and SIGTERM stop it.

Theory of operation
-------------------
``ShutdownSignals.install()`` (from ``reactor.run()``, main thread only)
points SIGINT and SIGTERM at a handler that asks the reactor to stop, and
makes the reactor's waker the process's wakeup descriptor, so a signal that
arrives while the loop blocks in ``poll`` wakes it at once.  A handler runs
between any two bytecodes of the main thread, logging included (whose lock is
not reentrant), so it only queues the stop for the loop (``callFromThread``).
SIGINT is left alone when someone else (an embedding application) already
owns it.  ``restore()`` puts back what was there before.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ShutdownSignals"]


class ShutdownSignals:
    """SIGINT/SIGTERM handlers and the wakeup descriptor, installed for one run."""

    __slots__ = ("_handlers", "_saved", "_savedWakeupFd", "_wakeupFd")

    def __init__(
        self,
        onInt: Callable[[int, Any], None],
        onTerm: Callable[[int, Any], None],
        wakeupFd: int,
    ) -> None:
        self._handlers = ((signal.SIGINT, onInt), (signal.SIGTERM, onTerm))
        self._wakeupFd = wakeupFd
        self._saved: dict[int, Any] = {}
        self._savedWakeupFd: int | None = None

    def install(self) -> None:
        """Install the handlers (a no-op outside the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in self._handlers:
            previous = signal.getsignal(signum)
            if signum == signal.SIGINT and previous is not signal.default_int_handler:
                continue  # someone else owns SIGINT
            self._saved[signum] = previous
            signal.signal(signum, handler)
        try:
            self._savedWakeupFd = signal.set_wakeup_fd(self._wakeupFd, warn_on_full_buffer=False)
        except ValueError:
            self._savedWakeupFd = None

    def restore(self) -> None:
        """Put back the handlers and the wakeup descriptor found by ``install``."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()
        if self._savedWakeupFd is not None:
            signal.set_wakeup_fd(self._savedWakeupFd)
            self._savedWakeupFd = None
