"""The janitor: what a test left in a reactor, named and cleaned up.

After a test, the janitor finds three kinds of leftovers, removes each so the
next test starts clean, and describes them:

* timers: ``callLater`` calls still pending (cancelled);
* selectables: listening ports, connections, pipes still registered with
  the reactor (removed and closed; a process behind one is killed and reaped);
* threads: threads started since the test began and still running, after the
  reactor's thread pool has been stopped (a new one is made on next use).
  They cannot be stopped, only named.

With ``flush``, the reactor first runs two turns without blocking, so that
calls due now (``callLater(0, ...)``) run instead of counting as leftovers,
as trial does.  The same janitor serves ``torsion.trial.TestCase`` (on the
global reactor) and the pytest plugin's ``reactor`` fixture.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from torsion import error
from torsion.failure import Failure

__all__ = ["Janitor"]


def _processOf(selectable: Any) -> Any:
    """The process transport behind ``selectable`` (a pipe or exit watcher), if any."""
    for candidate in (selectable, getattr(selectable, "owner", None)):
        if candidate is not None and callable(getattr(candidate, "signalProcess", None)):
            return candidate
    return None


def _kill(process: Any) -> None:
    pid = getattr(process, "pid", None)
    try:
        process.signalProcess("KILL")
    except Exception:
        return  # exited already
    if isinstance(pid, int):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # reaped by someone else


class Janitor:
    """Finds and cleans what tests leave in ``reactor`` (see the module comment)."""

    def __init__(self, reactor: Any, *, flush: bool = True) -> None:
        self.reactor = reactor
        self.flush = flush
        self._threads = self._liveThreads()

    @staticmethod
    def _liveThreads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.is_alive()}

    def pendingCalls(self) -> list[str]:
        """Cancel the pending ``callLater`` calls; describe each."""
        reactor = self.reactor
        if self.flush and not reactor.running:
            reactor.iterate(0)
            reactor.iterate(0)
        found = []
        for call in reactor.getDelayedCalls():
            if call.active():
                found.append(str(call))
                call.cancel()
        return found

    def selectables(self) -> list[str]:
        """Remove and close what is still registered with the reactor; describe each."""
        found = []
        killed: set[int] = set()
        reason = Failure(error.ConnectionLost("closed by the test janitor"))
        pending = set(map(id, self.reactor.getDelayedCalls()))
        for selectable in self.reactor.removeAll():
            found.append(repr(selectable))
            process = _processOf(selectable)
            if process is not None and id(process) not in killed:
                killed.add(id(process))
                _kill(process)
            try:
                selectable.connectionLost(reason)
            except Exception:
                pass  # it was already half gone; the leftover is what matters
        for call in self.reactor.getDelayedCalls():
            if id(call) not in pending and call.active():
                call.cancel()  # scheduled by the closing itself
        return found

    def stopThreadPool(self) -> None:
        """Stop the reactor's thread pool and wait for its threads; next use makes a new one."""
        pool = getattr(self.reactor, "threadpool", None)
        if pool is not None:
            self.reactor.threadpool = None
            pool.stop()

    def threads(self, grace: float = 0.5) -> list[str]:
        """Stop the reactor's thread pool; name the threads still running after ``grace``."""
        self.stopThreadPool()
        deadline = time.monotonic() + grace
        for thread in self._liveThreads() - self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        still = self._liveThreads() - self._threads
        return sorted(f"{t.name} ({t!r})" for t in still)
