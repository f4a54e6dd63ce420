"""Noticing that a child has exited, and reaping it.

On Linux (5.3 and later) each child gets a pidfd (``os.pidfd_open``), which
polls readable once the child has exited.  It is an ordinary reactor reader
(``PidfdWatcher``), so exits are seen on every backend, whoever owns the
SIGCHLD handler, and a hundred children exiting at once are a hundred ready
descriptors.  ``os.waitpid(pid, WNOHANG)`` then reaps exactly that child; the
pidfd also lets ``signalProcess`` target the child without a pid-reuse race.

Where pidfds are missing, ``SigchldWatcher`` installs a SIGCHLD handler (in
the main thread; the previous handler is still called) that asks the reactor,
through ``callFromThread`` and so its waker, to try ``waitpid(pid, WNOHANG)``
on each of its children.  A slow timer backs it up, for a handler replaced by
someone else or a reactor running outside the main thread.  Only our own pids
are waited for, never ``-1``, so other code's children are left alone.

At reactor shutdown (``connectionLost`` of the watcher) a child that has
already exited is reaped and reported as usual.  One still running is left
running, as Twisted does: its protocol is not told when it ends.  It is not
left a zombie either: a daemon thread waits for it and reaps it (holding
``reapLock``, which ``signalProcess`` takes too, so a signal can never reach a
process that took over the pid).
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from typing import Any

from torsion import _log

__all__ = ["HAVE_PIDFD", "PidfdWatcher", "SigchldWatcher", "orphan", "tryReap"]

HAVE_PIDFD = hasattr(os, "pidfd_open")

#: The status reported when someone else reaped our child: it cannot be known.
UNKNOWN_STATUS = None


def tryReap(pid: int) -> tuple[bool, int | None]:
    """``(exited, status)`` for our child ``pid``, reaping it if it has exited.

    ``status`` is None (with ``exited`` true) when the child is gone but was
    reaped by somebody else's ``waitpid``.
    """
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True, UNKNOWN_STATUS
    except InterruptedError:  # pragma: no cover - retried by Python
        return False, None
    if got == 0:
        return False, None
    return True, status


#: Held while an orphan is reaped, and while one is signalled by pid: a pid
#: cannot be reused (and so signalled by mistake) before it is reaped.
reapLock = threading.Lock()


def _waitForever(pid: int, process: Any) -> None:
    try:
        # Wait without reaping, so that the pid stays ours until the lock is held.
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:
        pass
    status: int | None
    with reapLock:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = UNKNOWN_STATUS
        process.pid = None
        process.status = status


def orphan(pid: int, process: Any) -> None:
    """Reap ``pid`` in a daemon thread once it exits: its protocol is not told."""
    t = threading.Thread(target=_waitForever, args=(pid, process), name=f"torsion-reap-{pid}")
    t.daemon = True
    t.start()


class PidfdWatcher:
    """A reactor reader on a child's pidfd; tells ``process._exited(status)``."""

    __slots__ = ("_fd", "pid", "process", "reactor")

    def __init__(self, reactor: Any, process: Any, pid: int) -> None:
        self.reactor = reactor
        self.process = process
        self.pid = pid
        self._fd = os.pidfd_open(pid)

    def __repr__(self) -> str:
        return f"<PidfdWatcher pid={self.pid}>"

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return f"PidfdWatcher({self.pid})"

    def start(self) -> None:
        # Readable as soon as the child has exited, even if that was before now.
        self.reactor.addReader(self)

    def sendSignal(self, signum: int) -> None:
        if self._fd < 0:
            raise ProcessLookupError(f"process {self.pid} has been reaped")
        try:
            signal.pidfd_send_signal(self._fd, signum)
        except OSError as e:
            if e.errno not in (errno.ENOSYS, errno.EPERM) or isinstance(e, ProcessLookupError):
                raise
            # A kernel (or sandbox) without pidfd_send_signal: the pid is
            # still ours, since we have not reaped it.
            os.kill(self.pid, signum)

    def _close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            self.reactor.removeReader(self)
            os.close(fd)

    def doRead(self) -> None:
        exited, status = tryReap(self.pid)
        if not exited:
            return
        self._close()
        self.process._exited(status)

    def doWrite(self) -> None:  # pragma: no cover - never a writer
        pass

    def connectionLost(self, reason: Any) -> None:
        """The reactor is shutting down (or dropped us): reap now or orphan."""
        if self._fd < 0:
            return
        exited, status = tryReap(self.pid)
        self._close()
        if exited:
            self.process._exited(status)
        else:
            self.process._abandoned()
            orphan(self.pid, self.process)


_chldLock = threading.Lock()
_chldWatchers: dict[int, SigchldWatcher] = {}
_chldPrevious: Any = None
_chldInstalled = False


def _onSigchld(signum: int, frame: Any) -> None:
    for w in list(_chldWatchers.values()):
        w.reactor.callFromThread(w.reapAll)
    previous = _chldPrevious
    if callable(previous):
        previous(signum, frame)


def _installHandler() -> None:
    global _chldInstalled, _chldPrevious
    if _chldInstalled or threading.current_thread() is not threading.main_thread():
        return
    _chldPrevious = signal.signal(signal.SIGCHLD, _onSigchld)
    _chldInstalled = True


def _uninstallHandler() -> None:
    global _chldInstalled, _chldPrevious
    if not _chldInstalled or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGCHLD) is _onSigchld:
        signal.signal(signal.SIGCHLD, _chldPrevious)
    _chldInstalled = False
    _chldPrevious = None


class SigchldWatcher:
    """Per-reactor fallback without pidfds: SIGCHLD wakes the reactor to reap."""

    #: Seconds between checks that do not wait for SIGCHLD.
    pollInterval = 1.0

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.processes: dict[int, Any] = {}
        self._timer: Any = None
        self._shutdownID: Any = None

    @classmethod
    def forReactor(cls, reactor: Any) -> SigchldWatcher:
        with _chldLock:
            w = _chldWatchers.get(id(reactor))
            if w is None:
                w = _chldWatchers[id(reactor)] = cls(reactor)
        return w

    def add(self, pid: int, process: Any) -> None:
        self.processes[pid] = process
        _installHandler()
        if self._shutdownID is None:
            self._shutdownID = self.reactor.addSystemEventTrigger(
                "during", "shutdown", self._shutdown
            )
        # It may have exited before the handler was there: look once now.
        self.reactor.callFromThread(self.reapAll)
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is None and self.processes:
            self._timer = self.reactor.callLater(self.pollInterval, self._poll)

    def _poll(self) -> None:
        self._timer = None
        self.reapAll()
        self._schedule()

    def reapAll(self) -> None:
        for pid, process in list(self.processes.items()):
            exited, status = tryReap(pid)
            if exited:
                del self.processes[pid]
                try:
                    process._exited(status)
                except Exception as e:
                    _log.log_failure(f"Error reporting the exit of {process!r}:", e)
        if not self.processes:
            self._release()

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._shutdownID is not None:
            try:
                self.reactor.removeSystemEventTrigger(self._shutdownID)
            except ValueError:
                pass
            self._shutdownID = None
        with _chldLock:
            if _chldWatchers.get(id(self.reactor)) is self:
                del _chldWatchers[id(self.reactor)]
            if not _chldWatchers:
                _uninstallHandler()

    def _shutdown(self) -> None:
        self._shutdownID = None
        self.reapAll()
        for pid, process in list(self.processes.items()):
            del self.processes[pid]
            process._abandoned()
            orphan(pid, process)
        self._release()
