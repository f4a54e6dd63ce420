"""``EventLoop``: torsion's reactor that is also a complete asyncio event loop.

Theory of operation
-------------------
``EventLoop`` is the assembled ``Reactor`` (descriptors, timers, triggers,
waker, thread pool, transports) with asyncio's ``BaseEventLoop`` mixed in for
the loop-generic parts of the asyncio API (tasks and futures, the exception
handler, ``create_connection``'s happy eyeballs, ``create_server``,
``getaddrinfo``, ``start_tls`` ...).  Everything that touches the machinery is
torsion's:

* Timers: ``call_at``/``call_later`` put a ``TimerHandle`` (with the few slots
  the timer queue reads) straight into the reactor's ``TimerQueue``, beside
  the DelayedCalls of ``callLater``: one heap of floats on the reactor's
  clock (``seconds()``, Twisted's wall clock).  ``time()`` is asyncio's
  monotonic clock; a timer's ``when`` is converted to the queue's clock once,
  when it is scheduled.
* The ready queue: ``call_soon`` appends a ``Handle`` to ``_ready``.  One turn
  of the loop polls (for no time at all if anything is ready), dispatches I/O
  straight to the ready descriptors, runs ``runUntilCurrent`` (thread calls, a
  requested shutdown, due timers), then the handles that are ready at that
  point; handles they add wait for the next turn.  The Twisted-idiom hot path
  pays one ``if ready`` per turn for this.
* ``call_soon_threadsafe`` and signals wake the reactor's waker.
* ``add_reader``/``add_writer`` register a small watcher object per
  descriptor with the reactor, as any torsion selectable is; ``sock_*``
  methods, datagram and pipe transports are built on them.
* The default executor runs on the reactor's thread pool.
* Stream transports are torsion ``StreamConnection`` objects seen through an
  ``asyncio.Transport`` adapter (``torsion._aio.stream``).

Running: ``run()`` is Twisted's (startup triggers, signal handlers, until
``stop()`` and the shutdown triggers), ``run_forever()`` asyncio's.  Both make
the loop the running asyncio loop, so either kind of code works in either.
The first ``run_forever()`` also fires the reactor's startup event (so
``callWhenRunning`` and the thread pool work under ``asyncio.run``) and
``close()`` then fires its shutdown event.  ``stop()`` is Twisted's while
``run()`` runs (and on a reactor that never ran); inside ``run_forever()`` (or
between two of them), and on a loop made by ``torsion.aio.new_event_loop()``,
it is asyncio's: the loop returns after this turn.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import functools
import heapq
import signal
import sys
import threading
import time
import warnings
import weakref
from asyncio import base_events, coroutines, events, format_helpers
from asyncio.log import logger
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import Context, copy_context
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, Unpack

from torsion._aio.sockets import SocketMethods
from torsion._aio.transports import TransportMethods
from torsion._aio.watch import FdWatcher, fileobjToFd
from torsion._core.base import ReactorCore
from torsion._core.timers import _seq as _timerSeq
from torsion._defer import bridge
from torsion._reactor import Reactor

if TYPE_CHECKING:
    from torsion._core.backends import Backend
    from torsion._core.timers import DelayedCall

__all__ = ["EventLoop"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

_Handle = events.Handle
_heappush = heapq.heappush
_monotonic = time.monotonic
_new = object.__new__
_HANDLE_SLOTS = ("_callback", "_args", "_cancelled", "_loop", "_source_traceback", "_repr")
# The fast constructors below set a Handle's slots directly; on a Python whose
# Handle has others, they fall back to the ordinary constructor.
_FAST_HANDLES = set(_Handle.__slots__) == {*_HANDLE_SLOTS, "__weakref__", "_context"} and set(
    events.TimerHandle.__slots__
) == {"_scheduled", "_when"}


class _Flag(int):
    """An int the timer queue reads (``call.cancelled``) that asyncio code may call
    (``handle.cancelled()``): the two APIs share the name."""

    __slots__ = ()

    def __call__(self) -> bool:
        return bool(self)


_NOT_CANCELLED = _Flag(0)
_CANCELLED = _Flag(1)


def _ignoreSignal(signum: int, frame: Any) -> None:
    """The Python-level handler of a signal added by ``add_signal_handler``.

    The loop learns of the signal from its number on the wakeup descriptor
    (``Waker.onSignal``); this handler only keeps the default action away.
    """


class _Timer(events.TimerHandle):
    """An asyncio TimerHandle that lives in the reactor's TimerQueue.

    The queue reads ``time``, ``_seq``, ``called`` and ``cancelled`` (a
    ``_Flag``, so that asyncio's ``cancelled()`` still works) and runs
    ``func(*args)``: here ``Handle._run``, which reports an exception to the
    loop's exception handler.  Timers compare by identity (the queue looks
    them up in shared buckets).
    """

    __slots__ = ("_seq", "called", "cancelled", "time")

    func = _Handle._run
    args = ()
    kw = None

    _loop: Any
    called: int
    _callback: Any
    _args: Any

    def cancel(self) -> None:
        # TimerHandle.cancel and Handle.cancel in one frame: out of the
        # reactor's timer queue at once.
        if self._cancelled:
            return
        self._cancelled = True
        self.cancelled = _CANCELLED  # type: ignore[method-assign]
        loop = self._loop
        if not self.called:
            loop._timers._cancelCall(self)
        if loop._debug:
            self._repr = repr(self)
        self._callback = None
        self._args = None

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def _repr_info(self) -> list[str]:
        info: list[str] = super()._repr_info()  # type: ignore[misc]
        info[0] = "TimerHandle"  # asyncio's name, not this subclass's
        return info


class _DebugTimer(_Timer):
    """A timer made in debug mode: its run is timed, as a slow callback is reported."""

    __slots__ = ()

    def func(self) -> None:
        self._loop._runTimed(self)


class _SelectorView:
    """What asyncio's transports read from ``loop._selector`` (their repr): the key of an fd."""

    __slots__ = ("_loop",)

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop

    def get_key(self, fd: int) -> Any:
        import selectors

        events = (selectors.EVENT_READ if fd in self._loop._readers else 0) | (
            selectors.EVENT_WRITE if fd in self._loop._writers else 0
        )
        if not events:
            raise KeyError(fd)
        return selectors.SelectorKey(fd, fd, events, None)


class _PoolExecutor(concurrent.futures.Executor):
    """The loop's default executor: the reactor's thread pool."""

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:
                future.set_exception(e)
            else:
                future.set_result(result)

        self._loop.getThreadPool().callInThread(work)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True
        pool = self._loop.threadpool
        if wait and pool is not None:
            pool.stop()


class EventLoop(SocketMethods, TransportMethods, Reactor, asyncio.BaseEventLoop):
    """A torsion reactor that is an asyncio event loop too (see the module docstring)."""

    # asyncio.BaseEventLoop's private state that this class uses (untyped there).
    _ready: deque[Any]
    _stopping: bool
    _thread_id: int | None
    _default_executor: Any
    _executor_shutdown_called: bool
    _current_handle: Any
    _check_closed: Callable[[], None]

    def __init__(self, backend: Backend) -> None:
        Reactor.__init__(self, backend)
        asyncio.BaseEventLoop.__init__(self)
        self._twistedRun = False
        self._aioSession = False
        #: Made by asyncio's factory (torsion.aio.new_event_loop), not by torsion.reactors.
        self._asyncioMade = False
        self._signalHandlers: dict[int, events.Handle] = {}
        self._waker.onSignal = self._onSignal
        self._transports: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._servingPorts: dict[Any, Any] = {}
        if type(self).create_future is EventLoop.create_future:
            # A C callable in place of BaseEventLoop's one-line method: every
            # Future made through the loop (streams make one per read) skips
            # a Python frame.
            self.create_future = functools.partial(asyncio.Future, loop=self)

    @property
    def _selector(self) -> _SelectorView | None:
        return None if self._closed else _SelectorView(self)

    def __repr__(self) -> str:
        return (
            f"<torsion EventLoop backend={self.backendName} running={self.is_running()} "
            f"closed={self.is_closed()} debug={self.get_debug()}>"
        )

    def __del__(self, _warn: Any = None) -> None:
        # asyncio's warning for an unclosed loop, only for one used as such.
        if self._aioSession and not self._closed:
            warnings.warn(
                f"unclosed event loop {self!r}", ResourceWarning, stacklevel=2, source=self
            )

    # ------------------------------------------------------------ the turn

    def _turns(self) -> None:
        """Run turns of the loop until a stop or crash sets ``_stopping``."""
        ready = self._ready
        threadCalls = self.threadCallQueue
        timers = self._timers
        runUntilCurrent = self.runUntilCurrent
        poll = self._backend.poll
        dispatch = self._dispatch
        while True:
            if ready or threadCalls or self._justStopped or self._stopping or not self.running:
                timeout: float | None = 0.0
            else:
                timeout = timers.timeout(self.seconds())
            try:
                events = poll(timeout)
            except InterruptedError:
                events = None
            # asyncio's order: the handles scheduled before this poll, then the
            # I/O it found, then the timers due; what these schedule waits for
            # the next turn.
            if ready:
                self._runReady()
            if events:
                dispatch(events)
            runUntilCurrent()
            if self._stopping:
                return

    def _handleFailed(self, h: events.Handle, exc: BaseException) -> None:
        cb = format_helpers._format_callback_source(h._callback, h._args)  # type: ignore[attr-defined]
        context: dict[str, Any] = {
            "message": f"Exception in callback {cb}",
            "exception": exc,
            "handle": h,
        }
        if h._source_traceback:  # type: ignore[attr-defined]
            context["source_traceback"] = h._source_traceback  # type: ignore[attr-defined]
        self.call_exception_handler(context)

    def _runReady(self) -> None:
        """Run the handles ready now (those they schedule wait for the next turn)."""
        ready = self._ready
        popleft = ready.popleft
        if self._debug:
            self._runReadyDebug()
            return
        for _ in range(len(ready)):
            h = popleft()
            if h._cancelled:
                continue
            try:
                h._context.run(h._callback, *h._args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._handleFailed(h, exc)

    def _runReadyDebug(self) -> None:
        ready = self._ready
        for _ in range(len(ready)):
            h = ready.popleft()
            if h._cancelled:
                continue
            self._runTimed(h)

    def _runTimed(self, h: events.Handle) -> None:
        """Run ``h`` in debug mode: a warning if it took slow_callback_duration or more."""
        try:
            self._current_handle = h
            t0 = self.time()
            h._run()
            dt = self.time() - t0
            if dt >= self.slow_callback_duration:
                logger.warning(
                    "Executing %s took %.3f seconds",
                    base_events._format_handle(h),  # type: ignore[attr-defined]
                    dt,
                )
        finally:
            self._current_handle = None

    def _run_once(self) -> None:
        """One turn (asyncio's name; the loop itself does not call it)."""
        stopping = self._stopping
        self._stopping = True
        try:
            self._turns()
        finally:
            self._stopping = stopping

    def iterate(self, delay: float = 0.0) -> None:
        """Run one turn of the loop, blocking at most ``delay`` seconds (Twisted's)."""
        self.runUntilCurrent()
        self._runReady()
        self.doIteration(0.0 if self._ready else delay)

    @contextlib.contextmanager
    def _running(self) -> Iterator[None]:
        """Be the running asyncio loop of this thread while the block runs."""
        self._check_closed()
        self._check_running()  # type: ignore[attr-defined]
        self._set_coroutine_origin_tracking(self._debug)  # type: ignore[attr-defined]
        oldHooks = sys.get_asyncgen_hooks()
        self._thread_id = threading.get_ident()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
            finalizer=self._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
        )
        events._set_running_loop(self)
        bridge.running.loop = self
        try:
            yield
        finally:
            self._stopping = False
            self._thread_id = None
            bridge.running.loop = None
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)  # type: ignore[attr-defined]
            sys.set_asyncgen_hooks(*oldHooks)

    # ------------------------------------------------------------ running

    def run(self, installSignalHandlers: bool = True) -> None:
        """Twisted's ``run()``: until ``stop()`` and the shutdown triggers have run."""
        if self._closed or self._started or self._startedBefore:
            ReactorCore.startRunning(self)  # raises the reason it cannot run
        with self._running():
            self._twistedRun = True
            try:
                self.startRunning(installSignalHandlers=installSignalHandlers)
                self._twistedTurns()
            finally:
                self._twistedRun = False
                self._signals.restore()
                from torsion._defer.core import _reportUnhandledAtShutdown

                _reportUnhandledAtShutdown()

    def _twistedTurns(self) -> None:
        """Turns until the reactor crashes (the end of its shutdown, or ``crash()``)."""
        twistedRun, self._twistedRun = self._twistedRun, True
        try:
            while self._started:
                self._stopping = False
                try:
                    self._turns()
                except Exception as e:
                    from torsion import _log

                    _log.log_failure("Unexpected error in the main loop:", e)
                except BaseException:
                    self.crash()
                    raise
        finally:
            self._twistedRun = twistedRun

    def mainLoop(self) -> None:
        with self._running():
            self._twistedTurns()

    def run_forever(self) -> None:
        """asyncio's ``run_forever()``: until ``stop()``."""
        with self._running():
            if not self._started and not self._startedBefore:
                # The reactor's life starts with the first asyncio run and
                # ends at close(): callWhenRunning, the thread pool ... work.
                self._aioSession = True
                self.startRunning(installSignalHandlers=False)
            self._turns()

    def stop(self) -> None:
        """Twisted's ``stop()`` under ``run()``; asyncio's under ``run_forever()``,
        and on a loop made by ``torsion.aio.new_event_loop()`` that never ran
        (``loop.stop(); loop.run_forever()`` runs one turn, as asyncio's idiom
        for flushing callbacks expects)."""
        if self._twistedRun or not (
            self._thread_id is not None or self._aioSession or self._asyncioMade
        ):
            ReactorCore.stop(self)
        else:
            self._stopping = True

    def crash(self) -> None:
        ReactorCore.crash(self)
        if self._thread_id is not None:
            self._stopping = True

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the loop; after an asyncio run, the reactor's shutdown event fires first."""
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self._closed:
            return
        if self._aioSession and self._started:
            ReactorCore.stop(self)
            with self._running():
                self._twistedTurns()
        for sig in list(self._signalHandlers):
            self.remove_signal_handler(sig)
        ReactorCore.close(self)
        self._ready.clear()
        self._scheduled.clear()  # type: ignore[attr-defined]
        self._executor_shutdown_called = True
        executor, self._default_executor = self._default_executor, None
        if executor is not None:
            executor.shutdown(wait=False)

    def set_debug(self, enabled: bool) -> None:
        asyncio.BaseEventLoop.set_debug(self, enabled)
        if type(self).get_debug is EventLoop.get_debug:
            # asyncio's C Future and Task call their loop's get_debug() each time
            # one is made: a bound C method with the same answer saves a Python
            # call there.
            self.get_debug = bool(enabled).__bool__  # type: ignore[method-assign]

    # ------------------------------------------------------------ callbacks

    def time(self) -> float:
        """asyncio's clock: ``time.monotonic()``, as on the stock loop and uvloop.

        Libraries mix the two freely (aiohttp stamps pooled connections with
        ``time.monotonic()`` and checks them against ``loop.time()``).  The
        reactor's ``seconds()`` stays Twisted's wall clock; see ``_timer``.
        """
        return _monotonic()

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> events.Handle:
        if self._closed:
            raise RuntimeError("Event loop is closed")
        h: Any
        if self._debug or not _FAST_HANDLES:
            h = asyncio.BaseEventLoop.call_soon(self, callback, *args, context=context)
            if h._source_traceback:
                del h._source_traceback[-1]  # this frame: the traceback ends at the caller
            return h  # type: ignore[no-any-return]
        h = _new(_Handle)
        h._callback = callback
        h._args = args
        h._cancelled = False
        h._loop = self
        h._source_traceback = None
        h._repr = None
        h._context = copy_context() if context is None else context
        self._ready.append(h)
        return h  # type: ignore[no-any-return]

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> events.Handle:
        self._check_closed()
        if self._debug:
            self._check_callback(callback, "call_soon_threadsafe")  # type: ignore[attr-defined]
        h = _Handle(callback, args, self, context)
        self._ready.append(h)
        self._waker.wakeUp()
        return h

    def _write_to_self(self) -> None:
        self._waker.wakeUp()

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> events.TimerHandle:
        if delay is None:
            raise TypeError("delay must not be None")
        return self._timer(_monotonic() + delay, self.seconds() + delay, callback, args, context)

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> events.TimerHandle:
        if when is None:
            raise TypeError("when cannot be None")
        return self._timer(when, when + (self.seconds() - _monotonic()), callback, args, context)

    def _timer(
        self,
        when: float,
        at: float,
        callback: Any,
        args: tuple[Any, ...],
        context: Context | None,
    ) -> events.TimerHandle:
        """A TimerHandle due at ``when`` (``loop.time()``), queued at ``at``.

        The reactor's timer queue runs on its ``seconds()`` (``at``): Twisted
        code reads ``reactor.seconds()`` and ``DelayedCall.getTime()`` as wall
        clock times, and asyncio code reads ``loop.time()`` and
        ``TimerHandle.when()`` as ``time.monotonic()``.  A timer is converted
        once, when it is scheduled, so it waits what it asked for, as a
        DelayedCall does.
        """
        if self._closed:
            raise RuntimeError("Event loop is closed")
        t: Any
        if self._debug or not _FAST_HANDLES:
            if self._debug:
                self._check_thread()  # type: ignore[attr-defined]
                self._check_callback(callback, "call_at")  # type: ignore[attr-defined]
            t = (_DebugTimer if self._debug else _Timer)(when, callback, args, self, context)
            if t._source_traceback:
                # This frame and call_later's (or call_at's): it ends at the caller.
                del t._source_traceback[-2:]
        else:
            t = _new(_Timer)
            t._callback = callback
            t._args = args
            t._cancelled = False
            t._loop = self
            t._source_traceback = None
            t._repr = None
            t._context = copy_context() if context is None else context
            t._when = when
        t._scheduled = True
        t.time = at
        t.called = 0
        t.cancelled = _NOT_CANCELLED
        t._seq = next(_timerSeq)
        timers = self._timers
        if timers._buckets.setdefault(at, t) is t:
            _heappush(timers._times, at)
        else:
            timers._add(t)  # shares its time with another call
        return t  # type: ignore[no-any-return]

    def _timer_handle_cancelled(self, handle: Any) -> None:
        handle.cancelled = _CANCELLED
        if not handle.called:
            self._timers._cancelCall(handle)

    def getDelayedCalls(self) -> list[DelayedCall]:
        """The reactor's DelayedCalls (asyncio's timers are not among them)."""
        timer: type = _Timer
        return [c for c in self._timers.getDelayedCalls() if c.__class__ is not timer]

    def _process_events(self, event_list: Any) -> None:  # pragma: no cover - never polled so
        raise NotImplementedError

    # ------------------------------------------------------------ executor

    def run_in_executor(
        self, executor: Any, func: Callable[[Unpack[_Ts]], _T], *args: *_Ts
    ) -> asyncio.Future[_T]:
        if executor is None and self._default_executor is None:
            self._check_closed()
            if not self._executor_shutdown_called:
                self._default_executor = _PoolExecutor(self)
        return asyncio.BaseEventLoop.run_in_executor(self, executor, func, *args)

    # ------------------------------------------------------- readers, writers

    def _watcher(self, fd: int) -> FdWatcher:
        w = self._readers.get(fd)
        if w.__class__ is FdWatcher:
            return w
        w = self._writers.get(fd)
        if w.__class__ is FdWatcher:
            return w
        return FdWatcher(fd)

    def _ensure_fd_no_transport(self, fd: Any) -> None:
        fileno = fileobjToFd(fd)
        transport = self._transports.get(fileno)
        if transport is not None and not transport.is_closing():
            raise RuntimeError(f"File descriptor {fd!r} is used by transport {transport!r}")
        for table in (self._readers, self._writers):
            s = table.get(fileno)
            if s is not None and s.__class__ is not FdWatcher and s not in self._internals:
                owner = getattr(s, "protocol", None)
                if owner is None or not getattr(owner, "is_closing", lambda: False)():
                    raise RuntimeError(f"File descriptor {fd!r} is used by {s!r}")

    def _watch(
        self, fd: int, writing: bool, callback: Callable[..., Any], args: tuple[Any, ...]
    ) -> events.Handle:
        """Run ``callback(*args)`` whenever ``fd`` is readable (writable); its Handle."""
        self._check_closed()
        h = _Handle(callback, args, self, None)
        w = self._watcher(fd)
        if writing:
            old, w.writer = w.writer, h
            self.addWriter(w)
        else:
            old, w.reader = w.reader, h
            self.addReader(w)
        if old is not None:
            old.cancel()
        return h

    def _unwatch(self, fd: int, writing: bool) -> bool:
        """Stop ``_watch``; whether a callback was registered."""
        if self._closed:
            return False
        w = (self._writers if writing else self._readers).get(fd)
        if w.__class__ is not FdWatcher:
            return False
        if writing:
            h, w.writer = w.writer, None
            self.removeWriter(w)
        else:
            h, w.reader = w.reader, None
            self.removeReader(w)
        if h is None:
            return False
        h.cancel()
        return True

    def _add_reader(self, fd: int, callback: Callable[..., Any], *args: Any) -> events.Handle:
        return self._watch(fd, False, callback, args)

    def _add_writer(self, fd: int, callback: Callable[..., Any], *args: Any) -> events.Handle:
        return self._watch(fd, True, callback, args)

    def _remove_reader(self, fd: int) -> bool:
        return self._unwatch(fd, False)

    def _remove_writer(self, fd: int) -> bool:
        return self._unwatch(fd, True)

    def add_reader(self, fd: Any, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is readable."""
        self._ensure_fd_no_transport(fd)
        fileno = fileobjToFd(fd)
        self._add_reader(fileno, callback, *args)
        self._readers[fileno].fileobj = fd

    def remove_reader(self, fd: Any) -> bool:
        fileno = self._watchedFd(fd, self._readers)
        self._ensure_fd_no_transport(fileno)
        return self._remove_reader(fileno)

    def add_writer(self, fd: Any, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is writable."""
        self._ensure_fd_no_transport(fd)
        fileno = fileobjToFd(fd)
        self._add_writer(fileno, callback, *args)
        self._writers[fileno].fileobj = fd

    def remove_writer(self, fd: Any) -> bool:
        fileno = self._watchedFd(fd, self._writers)
        self._ensure_fd_no_transport(fileno)
        return self._remove_writer(fileno)

    def _watchedFd(self, fileobj: Any, table: dict[int, Any]) -> int:
        """The descriptor of ``fileobj``; for one closed since it was watched
        (its ``fileno()`` is -1 now), the descriptor it was watched under, as
        asyncio's selector finds it."""
        try:
            return fileobjToFd(fileobj)
        except ValueError:
            for fd, w in table.items():
                if w.__class__ is FdWatcher and w.fileobj is fileobj:
                    return fd
            raise

    # ------------------------------------------------------------ signals

    def _check_signal(self, sig: int) -> None:
        if not isinstance(sig, int):
            raise TypeError(f"sig must be an int, not {sig!r}")
        if sig not in signal.valid_signals():
            raise ValueError(f"invalid signal number {sig}")

    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """Call ``callback(*args)`` in the loop when signal ``sig`` arrives (main thread only)."""
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()
        try:
            # The C-level handler writes the signal's number to the waker,
            # whose drain calls _onSignal: the Python-level handler does
            # nothing, and the callback runs even if someone replaces it, as
            # with asyncio's loops.
            signal.set_wakeup_fd(self._waker.writeFileno, warn_on_full_buffer=False)
        except (ValueError, OSError) as exc:
            raise RuntimeError(str(exc))
        self._signalHandlers[sig] = _Handle(callback, args, self, None)
        try:
            signal.signal(sig, _ignoreSignal)
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signalHandlers[sig]
            if not self._signalHandlers:
                with contextlib.suppress(ValueError, OSError):
                    signal.set_wakeup_fd(-1)
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught")
            raise

    def _onSignal(self, signum: int) -> None:
        """Signal ``signum`` arrived (the waker read its number): queue its handler."""
        h = self._signalHandlers.get(signum)
        if h is None:
            return
        if h._cancelled:
            self.remove_signal_handler(signum)
        else:
            self._ready.append(h)

    def remove_signal_handler(self, sig: int) -> bool:
        """Remove the handler of ``sig``; True if there was one."""
        self._check_signal(sig)
        if self._signalHandlers.pop(sig, None) is None:
            return False
        default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, default)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught")
            raise
        if not self._signalHandlers:
            try:
                signal.set_wakeup_fd(-1)
            except (ValueError, OSError) as exc:
                logger.info("set_wakeup_fd(-1) failed: %s", exc)
        return True
