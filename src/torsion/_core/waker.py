"""Wakes the reactor from another thread or from a signal handler.

A non-blocking pipe: ``wakeUp()`` writes a byte, the reactor drains it on read.
Writes are coalesced: ``wakeUp`` only writes when the reactor has not yet been
woken since it last drained the pipe.  The flag is cleared *after* draining:
cleared before, a thread's byte written between the clear and the drain would
be drained with the flag left set and the pipe empty, and every later
``wakeUp`` would then be skipped while the reactor slept.  A thread that finds
the flag still set queued its call before looking, and the reactor looks at
its queues (thread calls, asyncio's ready handles) only after the drain, so
that call is seen on this turn or the next without a byte.
The write end doubles as ``signal.set_wakeup_fd`` target, so a signal that
arrives just before the loop blocks still wakes it.  The C-level handler then
writes the signal's number; ``wakeUp`` writes a zero byte, which no signal
has.  Given ``onSignal``, the drain calls it with each number it reads: this
is how an asyncio loop's ``add_signal_handler`` learns of its signals, as
asyncio's and uvloop's do, whatever Python-level handler is in place by then.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from torsion import _log


class Waker:
    __slots__ = ("_r", "_w", "onSignal", "woken")

    def __init__(self) -> None:
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC) if hasattr(os, "pipe2") else os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        self._r = r
        self._w = w
        self.woken = False
        #: Called with each signal number the drain reads (None: they are dropped).
        self.onSignal: Callable[[int], None] | None = None

    def fileno(self) -> int:
        return self._r

    @property
    def writeFileno(self) -> int:
        return self._w

    def wakeUp(self) -> None:
        """Make the reactor's next (or current) poll return."""
        if not self.woken:
            self.woken = True
            try:
                os.write(self._w, b"\0")
            except (BlockingIOError, OSError):
                # The pipe is full (the reactor will wake anyway) or closed.
                pass

    def doRead(self) -> None:
        onSignal = self.onSignal
        try:
            while True:
                data = os.read(self._r, 4096)
                if onSignal is not None:
                    for signum in data:
                        if signum:
                            try:
                                onSignal(signum)
                            except Exception as e:  # the waker must go on waking
                                _log.log_failure(f"Error handling signal {signum}:", e)
                if len(data) < 4096:
                    break
        except (BlockingIOError, OSError):
            pass
        finally:
            self.woken = False

    def doWrite(self) -> None:  # pragma: no cover - never registered for writing
        pass

    def connectionLost(self, reason: Any) -> None:
        self.close()

    def close(self) -> None:
        for fd in (self._r, self._w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._r = self._w = -1

    def logPrefix(self) -> str:
        return "Waker"
