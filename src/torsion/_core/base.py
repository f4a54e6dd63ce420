"""The reactor core: one loop that runs timers, thread calls and I/O readiness.

It imports no transport: the methods that create them (``listenTCP`` ...
``spawnProcess``) and ``resolve`` live one layer up, in ``torsion._reactor``.

Theory of operation
-------------------
Each turn of ``mainLoop`` does three things:

1. ``runUntilCurrent``: run the calls queued by ``callFromThread`` (only those
   queued before this turn started, so a call that re-queues itself cannot
   starve I/O), fire the ``shutdown`` event if ``stop()`` was called, and run
   the timers that are due.
2. ``timeout``: how long the poll may block: 0 if thread calls or a shutdown are
   pending, else until the next timer, else forever.
3. ``doIteration``: ask the backend which descriptors are ready and call
   ``doRead``/``doWrite`` on the registered objects.  If either returns a
   reason (an exception or a Failure) or raises, the object is removed from the
   reactor and its ``connectionLost(reason)`` is called.

Readers and writers are kept in two dicts keyed by file descriptor; the
backend's mask for a descriptor is derived from membership in both.  The
dispatch loop reads straight from the backend's ``(fd, mask)`` list: no
per-event objects.

Lifecycle (as in Twisted): ``run()`` -> ``startRunning()`` fires ``startup``;
its ``during`` phase sets ``running`` and installs signal handlers; ``stop()``
marks the reactor and the next turn fires ``shutdown``, whose ``during`` phase
disconnects every selectable and calls ``crash()``, which ends the loop.
SIGINT/SIGTERM call ``stop()`` through ``callFromThread`` (``torsion._core.signals``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from torsion import _log, error, threadable
from torsion._core.backends import ERROR, READ, WRITE
from torsion._core.events import ThreePhaseEvent
from torsion._core.signals import ShutdownSignals
from torsion._core.timers import DelayedCall, TimerQueue
from torsion._core.waker import Waker
from torsion._logging._legacy import torsionMsg
from torsion.failure import Failure

if TYPE_CHECKING:
    from torsion._core.backends import Backend
    from torsion.threadpool import ThreadPool

__all__ = ["ReactorCore", "currentThreadIsIO"]

_READ_EVENTS = READ | ERROR
_WRITE_EVENTS = WRITE | ERROR


def _toFailure(why: Any) -> Any:
    if isinstance(why, Failure):
        return why
    if isinstance(why, type) and issubclass(why, BaseException):
        why = why()
    if isinstance(why, BaseException):
        return Failure(why)
    return Failure(error.ConnectionLost(f"unexpected doRead/doWrite result {why!r}"))


class ReactorCore:
    """The event loop of Twisted's reactor API on one readiness backend, without transports.

    ``torsion._reactor.Reactor`` adds the methods that create transports.
    """

    callLater: Callable[..., DelayedCall]
    seconds: Callable[[], float]

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._readers: dict[int, Any] = {}
        self._writers: dict[int, Any] = {}
        self._internals: set[Any] = set()
        self.seconds = time.time
        # The queue asks this reactor for ``seconds()`` on each call, so that a
        # replaced ``reactor.seconds`` applies.  callLater is the queue's own
        # method: no extra frame per call.
        self._timers = TimerQueue(self)
        self.callLater = self._timers.callLater
        self.threadCallQueue: deque[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]
        self.threadCallQueue = deque()
        self._waker = Waker()
        self._eventTriggers: dict[str, ThreePhaseEvent] = {}
        self.running = False
        self._started = False
        self._stopped = True
        self._justStopped = False
        self._startedBefore = False
        self._installSignalHandlers = False
        self._signals = ShutdownSignals(self.sigInt, self.sigTerm, self._waker.writeFileno)
        self._exitSignal: int | None = None
        self._shutdownSignals = 0
        self._ioThread: int | None = None
        self.threadpool: ThreadPool | None = None
        self._threadpoolStartupID: Any = None
        self._threadpoolShutdownID: Any = None
        self._closed = False
        self._addInternalReader(self._waker)
        self.addSystemEventTrigger("during", "startup", self._reallyStartRunning)
        self.addSystemEventTrigger("during", "shutdown", self.crash)
        self.addSystemEventTrigger("during", "shutdown", self.disconnectAll)

    def __repr__(self) -> str:
        return f"<torsion Reactor backend={self._backend.name} running={self.running}>"

    @property
    def backendName(self) -> str:
        """The readiness backend in use: ``"select"``, ``"poll"`` or ``"epoll"``."""
        return self._backend.name

    # ------------------------------------------------------------------ I/O

    def _addInternalReader(self, selectable: Any) -> None:
        self._internals.add(selectable)
        self.addReader(selectable)

    def _update(self, fd: int, had: int) -> None:
        mask = (READ if fd in self._readers else 0) | (WRITE if fd in self._writers else 0)
        if not mask:
            self._backend.unregister(fd)
        elif had:
            self._backend.modify(fd, mask)
        else:
            self._backend.register(fd, mask)

    def addReader(self, reader: Any) -> None:
        """Call ``reader.doRead()`` whenever its descriptor is readable."""
        fd = reader.fileno()
        if fd < 0:
            raise ValueError(f"cannot add {reader!r} as a reader: it has no open descriptor")
        readers = self._readers
        if readers.get(fd) is reader:
            return
        had = fd in readers or fd in self._writers
        readers[fd] = reader
        if fd in self._writers:
            self._backend.modify(fd, READ | WRITE)
        elif had:
            self._backend.modify(fd, READ)
        else:
            self._backend.register(fd, READ)

    def addWriter(self, writer: Any) -> None:
        """Call ``writer.doWrite()`` whenever its descriptor is writable."""
        fd = writer.fileno()
        if fd < 0:
            raise ValueError(f"cannot add {writer!r} as a writer: it has no open descriptor")
        writers = self._writers
        if writers.get(fd) is writer:
            return
        had = fd in writers or fd in self._readers
        writers[fd] = writer
        if fd in self._readers:
            self._backend.modify(fd, READ | WRITE)
        elif had:
            self._backend.modify(fd, WRITE)
        else:
            self._backend.register(fd, WRITE)

    def _replaceWriterWithReader(self, writer: Any, reader: Any) -> None:
        """Make ``reader`` the reader of ``writer``'s descriptor instead (one backend call).

        For a connecting client socket becoming its transport; anything else
        (another reader there, different descriptors) takes the general path.
        """
        fd = self._fdOf(writer, self._writers)
        if fd < 0 or fd in self._readers or reader.fileno() != fd:
            self.removeWriter(writer)
            self.addReader(reader)
            return
        del self._writers[fd]
        self._readers[fd] = reader
        self._backend.modify(fd, READ)

    def _fdOf(self, selectable: Any, table: dict[int, Any]) -> int:
        """Where ``selectable`` is in ``table`` (-1: not there).

        A selectable is registered under its ``fileno()``, so a valid descriptor
        that maps to something else means it is not registered (a second
        removal, as when a transport stops reading after the reactor dropped
        it): answered without a search, which would cost one step per open
        connection.  Only a closed one (``fileno()`` of -1) is searched for.
        """
        fd: int = selectable.fileno()
        if fd >= 0:
            return fd if table.get(fd) is selectable else -1
        for key, value in table.items():
            if value is selectable:
                return key
        return -1

    def removeReader(self, reader: Any) -> None:
        """Stop watching ``reader`` for readability."""
        fd = self._fdOf(reader, self._readers)
        if fd < 0:
            return
        del self._readers[fd]
        if fd in self._writers:
            self._backend.modify(fd, WRITE)
        else:
            self._backend.unregister(fd)

    def removeWriter(self, writer: Any) -> None:
        """Stop watching ``writer`` for writability."""
        fd = self._fdOf(writer, self._writers)
        if fd < 0:
            return
        del self._writers[fd]
        if fd in self._readers:
            self._backend.modify(fd, READ)
        else:
            self._backend.unregister(fd)

    def removeAll(self) -> list[Any]:
        """Remove every reader and writer (but the reactor's own); return them."""
        removed: list[Any] = []
        seen: set[int] = set()
        for table in (self._readers, self._writers):
            for fd, s in list(table.items()):
                if s in self._internals:
                    continue
                table.pop(fd, None)
                self._update(fd, 1)
                if id(s) not in seen:
                    seen.add(id(s))
                    removed.append(s)
        return removed

    def getReaders(self) -> list[Any]:
        return [s for s in self._readers.values() if s not in self._internals]

    def getWriters(self) -> list[Any]:
        return [s for s in self._writers.values() if s not in self._internals]

    def _disconnectSelectable(self, selectable: Any, why: Any) -> None:
        self.removeReader(selectable)
        self.removeWriter(selectable)
        try:
            selectable.connectionLost(_toFailure(why))
        except Exception as e:
            _log.log_failure(f"Error in connectionLost of {selectable!r}:", e)

    def doIteration(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` seconds for readiness and dispatch it."""
        try:
            events = self._backend.poll(timeout)
        except InterruptedError:
            return
        self._dispatch(events)

    def _dispatch(self, events: list[tuple[int, int]]) -> None:
        """Call ``doRead``/``doWrite`` of the selectables that ``events`` (a poll's) name."""
        readers = self._readers
        writers = self._writers
        for fd, mask in events:
            if mask & _READ_EVENTS:
                s = readers.get(fd)
                if s is not None:
                    try:
                        why = s.doRead()
                    except Exception as e:
                        _log.log_failure(f"Unhandled error in doRead of {s!r}:", e)
                        why = e
                    if why is not None:
                        self._disconnectSelectable(s, why)
                        continue
                    if not mask & _WRITE_EVENTS:
                        continue
                elif not mask & WRITE and fd not in writers:
                    self._backend.unregister(fd)
                    continue
            if mask & _WRITE_EVENTS:
                s = writers.get(fd)
                if s is not None:
                    try:
                        why = s.doWrite()
                    except Exception as e:
                        _log.log_failure(f"Unhandled error in doWrite of {s!r}:", e)
                        why = e
                    if why is not None:
                        self._disconnectSelectable(s, why)
                elif fd not in readers:
                    self._backend.unregister(fd)

    # ------------------------------------------------------------ the loop

    def runUntilCurrent(self) -> None:
        """Run pending thread calls, a requested shutdown, and the timers now due."""
        queue = self.threadCallQueue
        if queue:
            for _ in range(len(queue)):
                f, args, kw = queue.popleft()
                try:
                    f(*args, **kw)
                except Exception as e:
                    _log.log_failure(f"Unhandled error in callFromThread call {f!r}:", e)
        if self._justStopped:
            self._justStopped = False
            self.fireSystemEvent("shutdown")
        self._timers.runDue(self.seconds())

    def timeout(self) -> float | None:
        """How long the next poll may block (None: until something happens)."""
        if self.threadCallQueue or self._justStopped:
            return 0.0
        return self._timers.timeout(self.seconds())

    def mainLoop(self) -> None:
        runUntilCurrent = self.runUntilCurrent
        timeout = self.timeout
        doIteration = self.doIteration
        while self._started:
            try:
                while self._started:
                    runUntilCurrent()
                    t = timeout()
                    doIteration(t if self.running else 0.0)
            except Exception as e:
                _log.log_failure("Unexpected error in the main loop:", e)
            except BaseException:
                # KeyboardInterrupt/SystemExit from user code: shut down for
                # real rather than leave half-closed state behind, then re-raise.
                self.crash()
                raise

    def iterate(self, delay: float = 0.0) -> None:
        """Run one turn of the loop, blocking at most ``delay`` seconds."""
        self.runUntilCurrent()
        self.doIteration(delay)

    def run(self, installSignalHandlers: bool = True) -> None:
        """Run the loop until ``stop()`` and the shutdown triggers have finished."""
        self.startRunning(installSignalHandlers=installSignalHandlers)
        try:
            self.mainLoop()
        finally:
            self._signals.restore()
            from torsion._defer.core import _reportUnhandledAtShutdown

            _reportUnhandledAtShutdown()

    def startRunning(self, installSignalHandlers: bool = True) -> None:
        if self._closed:
            raise error.ReactorNotRestartable("this reactor has been closed")
        if self._started:
            raise error.ReactorAlreadyRunning("the reactor is already running")
        if self._startedBefore:
            raise error.ReactorNotRestartable("a reactor cannot be restarted once it has stopped")
        self._installSignalHandlers = installSignalHandlers
        self._started = True
        self._stopped = False
        self._ioThread = threading.get_ident()
        threadable.registerAsIOThread()
        self.fireSystemEvent("startup")

    def _reallyStartRunning(self) -> None:
        self.running = True
        if self._installSignalHandlers:
            self._signals.install()

    def stop(self) -> None:
        """Stop the loop after the shutdown triggers have run."""
        if self._stopped:
            raise error.ReactorNotRunning("Can't stop reactor that isn't running.")
        self._stopped = True
        self._justStopped = True
        self._startedBefore = True

    def crash(self) -> None:
        """Stop the loop at once, without running shutdown triggers."""
        self._started = False
        self.running = False
        self.addSystemEventTrigger("during", "startup", self._reallyStartRunning)

    def disconnectAll(self) -> None:
        """Close every connection and port registered with the reactor."""
        for s in self.removeAll():
            try:
                s.connectionLost(Failure(error.ConnectionLost("the reactor shut down")))
            except Exception as e:
                _log.log_failure(f"Error in connectionLost of {s!r} at shutdown:", e)

    def callWhenRunning(self, callable: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Call ``callable`` now if running, else once the reactor has started."""
        if self.running:
            callable(*args, **kw)
            return None
        return self.addSystemEventTrigger("after", "startup", callable, *args, **kw)

    # --------------------------------------------------------- triggers

    def addSystemEventTrigger(
        self, phase: str, eventType: str, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> Any:
        """Call ``callable`` in ``phase`` (before/during/after) of system event ``eventType``."""
        event = self._eventTriggers.get(eventType)
        if event is None:
            event = self._eventTriggers[eventType] = ThreePhaseEvent()
        # The ID has Twisted's shape: (eventType, (phase, callable, args, kw)).
        return (eventType, (phase, *event.addTrigger(phase, callable, args, kw)))

    def removeSystemEventTrigger(self, triggerID: Any) -> None:
        """Remove a trigger added by ``addSystemEventTrigger``.

        As in Twisted: TypeError for something that is not an ID at all (such
        as None), KeyError for an unknown event type or phase, ValueError for
        a malformed ID or a trigger that is no longer registered.
        """
        what = f"not a system event trigger ID: {triggerID!r}"
        try:
            eventType, handle = triggerID
        except TypeError:
            raise TypeError(what) from None
        except ValueError:
            raise ValueError(what) from None
        try:
            phase, f, args, kw = handle
        except (TypeError, ValueError):
            raise ValueError(what) from None
        self._eventTriggers[eventType].removeTrigger(phase, (f, args, kw))

    def fireSystemEvent(self, eventType: str) -> None:
        """Run the triggers of ``eventType`` (before, wait for Deferreds, during, after)."""
        event = self._eventTriggers.get(eventType)
        if event is not None:
            event.fire()

    # -------------------------------------------------------------- time

    def getDelayedCalls(self) -> list[DelayedCall]:
        """The calls scheduled with ``callLater`` that have neither run nor been cancelled."""
        return self._timers.getDelayedCalls()

    # ------------------------------------------------------------ threads

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Run ``f(*args, **kw)`` in the reactor thread; safe from any thread."""
        if not callable(f):
            raise TypeError(f"callFromThread needs a callable, got {f!r}")
        self.threadCallQueue.append((f, args, kw))
        self._waker.wakeUp()

    def wakeUp(self) -> None:
        self._waker.wakeUp()

    def getThreadPool(self) -> ThreadPool:
        """The reactor's thread pool, created (and started when running) on first use."""
        if self.threadpool is None:
            from torsion.threadpool import ThreadPool

            self.threadpool = ThreadPool(0, 10, "torsion.threadpool")
            self._threadpoolStartupID = self.callWhenRunning(self.threadpool.start)
            self._threadpoolShutdownID = self.addSystemEventTrigger(
                "during", "shutdown", self._stopThreadPool
            )
        return self.threadpool

    def _stopThreadPool(self) -> None:
        # A pool made before the reactor ran still has its startup trigger,
        # which holds it: drop that too (shutdown may come without a run).
        startupID, self._threadpoolStartupID = self._threadpoolStartupID, None
        if startupID is not None:
            try:
                self.removeSystemEventTrigger(startupID)
            except (KeyError, ValueError):
                pass  # the startup trigger has run
        self._threadpoolShutdownID = None
        if self.threadpool is not None:
            pool, self.threadpool = self.threadpool, None
            pool.stop()

    def callInThread(self, f: Callable[..., Any], /, *args: Any, **kw: Any) -> None:
        """Run ``f(*args, **kw)`` in the reactor's thread pool."""
        # ``f`` is positional-only: Twisted's is too (``_callable``), so every
        # keyword goes to ``f``.  The other call methods keep Twisted's names.
        self.getThreadPool().callInThread(f, *args, **kw)

    def suggestThreadPoolSize(self, size: int) -> None:
        """Let the thread pool grow to ``size`` threads."""
        self.getThreadPool().adjustPoolsize(maxthreads=size)

    # ------------------------------------------------------------ signals

    def _stopFromSignal(self, name: str, number: int) -> None:
        # Runs inside a signal handler: only count and queue the work for the
        # loop (see torsion._core.signals).
        self._exitSignal = number
        self._shutdownSignals += 1
        self.callFromThread(self._onShutdownSignal, name, self._shutdownSignals)

    def _onShutdownSignal(self, signalName: str, count: int) -> None:
        """The first SIGINT/SIGTERM stops the reactor; the second is ignored; the third
        stops waiting for the shutdown's ``before`` triggers (a graceful stop's grace)."""
        if count == 1:
            # Stop first: stop() only marks the loop, so the line below still comes
            # before any shutdown trigger's, and a failing log observer cannot
            # keep the process from stopping.
            if not self._stopped:
                self.stop()
            torsionMsg(f"Received {signalName}, shutting down.")
        elif count == 2:
            _log.logger.warning(
                "Received %s again while shutting down: ignored (a third one stops waiting).",
                signalName,
            )
        elif count == 3:
            _log.logger.warning(
                "Received %s a third time: shutting down without waiting.", signalName
            )
            event = self._eventTriggers.get("shutdown")
            if event is not None:
                event.stopWaiting()

    def sigInt(self, number: int, frame: Any = None) -> None:
        """SIGINT's handler while the reactor runs: stop it."""
        self._stopFromSignal("SIGINT", number)

    def sigTerm(self, number: int, frame: Any = None) -> None:
        """SIGTERM's handler while the reactor runs: stop it."""
        self._stopFromSignal("SIGTERM", number)

    # ------------------------------------------------------------ cleanup

    def close(self) -> None:
        """Release the reactor's own descriptors and threads (torsion-only).

        For reactors created for a test or an embedding: the global reactor
        lives as long as the process.  A closed reactor cannot run.
        """
        if self._closed:
            return
        if self.running:
            raise error.ReactorAlreadyRunning("close() a reactor only once it has stopped")
        self._closed = True
        self._stopThreadPool()
        for s in list(self._internals):
            self.removeReader(s)
            s.close()
        self._internals.clear()
        self._backend.close()
        self._timers.clear()


def currentThreadIsIO(reactor: ReactorCore) -> bool:
    """Whether the calling thread is the one running ``reactor``."""
    return reactor._ioThread == threading.get_ident()
