"""``AsyncioReactor``: the torsion reactor on somebody else's asyncio loop.

Theory of operation
-------------------
The foreign loop (stock asyncio, uvloop, an ASGI server's loop) owns the
thread; torsion is driven by its callbacks.  Every callback runs one reactor
*turn*: ``doIteration`` (whose backend ``poll`` hands back the readiness the
loop just reported: ``torsion._core.backends.asyncio``), then
``runUntilCurrent`` (thread calls, a requested shutdown, due timers), then
``_arm``, which keeps one ``call_later`` on the foreign loop for the
reactor's next timer.  Turns come from:

* descriptor readiness (the backend's ``add_reader``/``add_writer``);
* the armed timer;
* the waker, a reactor reader like any other (``callFromThread``, signals);
* ``callLater`` and ``stop()`` called from outside a turn, which arm the
  timer or ask for a turn with ``call_soon``.

``run()`` starts the reactor and runs the foreign loop until the reactor's
shutdown has finished, unless that loop is already running (an application
owns it): then ``run()`` only starts the reactor and returns, and the reactor
lives as long as the loop, ``stop()`` firing its shutdown.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from torsion._core.backends.asyncio import Backend
from torsion._core.base import ReactorCore
from torsion._core.timers import DelayedCall
from torsion._reactor import Reactor

__all__ = ["AsyncioReactor"]


class AsyncioReactor(Reactor):
    """A torsion reactor whose loop is an asyncio event loop it does not own."""

    def __init__(self, loop: Any, ownsLoop: bool = False) -> None:
        backend = Backend(loop)
        super().__init__(backend)
        self._loop = loop
        self._ownsLoop = ownsLoop
        self._timer: Any = None
        self._timerAt: float | None = None
        self._inTurn = False
        self._turnQueued = False
        self._runningLoop = False
        self._startPending = False  # run() asked the loop to start the reactor
        backend.onReady = self._turn
        self._timerCallLater = self._timers.callLater
        # A bound method, as on every reactor: code that keeps
        # ``reactor.callLater`` as a class attribute calls it unchanged.
        self.callLater = self._callLaterArming

    def _callLaterArming(
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> DelayedCall:
        call = self._timerCallLater(delay, callable, *args, **kw)
        if not self._inTurn:
            self._arm()
        return call

    def __repr__(self) -> str:
        return f"<torsion AsyncioReactor loop={self._loop!r} running={self.running}>"

    @property
    def loop(self) -> Any:
        """The asyncio loop this reactor runs on."""
        return self._loop

    # ------------------------------------------------------------ turns

    def _turn(self) -> None:
        if self._inTurn or self._startPending:
            # Reported while a turn dispatches: its poll picks it up.  Or
            # before run() has started the reactor: the first turn, right
            # after the startup triggers, does (a loop may run its timers
            # and I/O before the callback that starts the reactor: uvloop).
            return
        self._inTurn = True
        try:
            self.doIteration(0.0)
            self.runUntilCurrent()
        except Exception as e:
            from torsion import _log

            _log.log_failure("Unexpected error in the main loop:", e)
        finally:
            self._inTurn = False
            self._arm()

    def _queuedTurn(self) -> None:
        self._turnQueued = False
        self._turn()

    def _askTurn(self) -> None:
        if not self._turnQueued and not self._loop.is_closed():
            self._turnQueued = True
            self._loop.call_soon(self._queuedTurn)

    def _timerFired(self) -> None:
        self._timer = None
        self._timerAt = None
        self._turn()

    def _arm(self) -> None:
        """Keep the foreign loop's one timer at the reactor's next due time."""
        if self.threadCallQueue or self._justStopped:
            self._askTurn()
            return
        delay = self._timers.timeout(self.seconds())
        if delay is None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = self._timerAt = None
            return
        at = self.seconds() + delay
        if self._timerAt is not None and self._timerAt <= at:
            return  # the armed timer comes first; its turn re-arms
        if self._timer is not None:
            self._timer.cancel()
        if self._loop.is_closed():
            return
        self._timerAt = at
        self._timer = self._loop.call_later(delay, self._timerFired)

    def doIteration(self, timeout: float | None) -> None:
        ReactorCore.doIteration(self, 0.0)

    def iterate(self, delay: float = 0.0) -> None:
        """Run the foreign loop for one iteration (only when it is not running)."""
        self.runUntilCurrent()
        if not self._loop.is_running():
            self._loop.call_soon(self._loop.stop)
            self._loop.run_forever()
        self._turn()

    # ------------------------------------------------------------ running

    def run(self, installSignalHandlers: bool = True) -> None:
        """Run the reactor on the loop (see the module docstring)."""
        if self._loop.is_running():
            self.startRunning(installSignalHandlers=False)
            self._arm()
            return
        if self._closed or self._started or self._startedBefore:
            ReactorCore.startRunning(self)  # raises the reason it cannot run
        # Start from inside the loop, so that startup triggers find it running.
        self._startPending = True
        self._loop.call_soon(self._startFromLoop, installSignalHandlers)
        try:
            self.mainLoop()
        finally:
            self._startPending = False
            self._removeSignalHandlers()
            from torsion._defer.core import _reportUnhandledAtShutdown

            _reportUnhandledAtShutdown()

    def _startFromLoop(self, installSignalHandlers: bool) -> None:
        """run()'s start: the startup triggers, then the turns held back until now."""
        self._startPending = False
        try:
            self.startRunning(installSignalHandlers=installSignalHandlers)
        finally:
            self._turn()

    def mainLoop(self) -> None:
        self._arm()
        self._runningLoop = True
        try:
            self._loop.run_forever()
            while self._started:
                self._loop.run_forever()
        finally:
            self._runningLoop = False

    def _reallyStartRunning(self) -> None:
        # SIGINT and SIGTERM through the loop's own signal handling (the loop
        # owns the wakeup descriptor); SIGINT only if nobody else handles it.
        self.running = True
        if not self._installSignalHandlers:
            return
        self._signalsAdded: dict[int, Any] = {}
        for signum, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
            previous = signal.getsignal(signum)
            if signum == signal.SIGINT and previous is not signal.default_int_handler:
                continue
            try:
                self._loop.add_signal_handler(signum, self._onSignal, signum, name)
            except (RuntimeError, ValueError, NotImplementedError):
                continue
            self._signalsAdded[signum] = previous

    def _onSignal(self, signum: int, name: str) -> None:
        # Called by the asyncio loop (not inside a signal handler): count it
        # and act at once, as ReactorCore does for its own handlers.
        self._exitSignal = signum
        self._shutdownSignals += 1
        self._onShutdownSignal(name, self._shutdownSignals)

    def _removeSignalHandlers(self) -> None:
        # Then put back what was there: uvloop's remove_signal_handler leaves
        # its own Python handler in place (that of a loop soon closed), and the
        # process would go on ignoring SIGTERM.
        for signum, previous in getattr(self, "_signalsAdded", {}).items():
            if not self._loop.is_closed():
                self._loop.remove_signal_handler(signum)
            if previous is not None:
                signal.signal(signum, previous)
        self._signalsAdded = {}

    def stop(self) -> None:
        ReactorCore.stop(self)
        self._askTurn()

    def crash(self) -> None:
        ReactorCore.crash(self)
        if self._runningLoop:
            self._loop.stop()

    def close(self) -> None:
        """Release the reactor's descriptors from the loop; close the loop if it is ours."""
        if self._closed:
            return
        ReactorCore.close(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._ownsLoop and not self._loop.is_closed():
            self._loop.close()
