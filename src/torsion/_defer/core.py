"""Deferred: a result that is not there yet, and the callbacks waiting for it.

Theory of operation
-------------------
A Deferred holds a list of callback *entries*, each a flat 6-tuple
``(callback, args, kwargs, errback, args, kwargs)``.  A missing half has
``None`` for both function and args and is skipped without a call (so
``addCallback`` costs nothing on the error path and ``addErrback`` nothing on
the success path); ``args`` is None when there are no extra arguments, so the
common call is a plain ``fn(result)``.  Two marker entries, with ``None`` as
function, the target Deferred as args and the kind as kwargs, drive chaining
without recursion:

* ``_CONTINUE`` sits on an *inner* Deferred that a callback of ``target``
  returned.  ``target`` was paused (``paused += 1``) with the inner Deferred as
  its result (which is how ``repr`` and ``cancel`` know it is waiting); when
  the marker runs, the inner result moves into ``target`` (the inner is left
  with ``None``) and ``target`` resumes.
* ``_CHAIN`` comes from ``chainDeferred``: the result is passed to ``target``
  as if by ``target.callback`` and this Deferred keeps ``None``.

The runner is ``callback()`` itself (``_runCallbacks()`` enters it with the
private ``_RUN`` instead of a result), which saves a Python call per step on
the hot paths.  It loops over a *current* Deferred instead of recursing: the
current one runs its entries in order; when one hands its result on (a marker
above) the receiver becomes current, and the giver, if it has entries left,
goes on a stack (``givers``, only made when needed) to resume afterwards.  A
paused Deferred is left: ``unpause()`` (or the marker of the Deferred it waits
on) restarts it later.  Thousands of Deferreds returning Deferreds therefore
never deepen the Python stack.  A callback returning a Deferred that has
already fired (and is not paused or running) has its result taken on the spot,
without a marker.

A Deferred runs its entry list in place, through one iterator: entries added
while it runs are appended and picked up by the same iterator.  If it stops
early (a marker, or waiting on an inner Deferred) the entries already run are
deleted from the front and the rest stay in line; otherwise the list is
cleared.  ``_runningCallbacks`` keeps a Deferred from being run by two loops at
once; the loop already running it picks up what was added.

Fast paths: firing a Deferred whose first entry is a ``_CONTINUE`` marker (the
usual way an inner Deferred fires) hands the result over before any loop setup,
and calls the next entry of the Deferred that carries on if it is a plain
callback (often returning the next Deferred to wait on) before the loop too;
``addCallback`` on a fired, idle Deferred calls the callback at once (and
``addErrback`` on a success does nothing); ``succeed`` builds a fired Deferred
directly.  Results of exact builtin types (``_PLAIN``) skip the isinstance()
tests for Deferred and Failure, the costly part of handling a plain result.

Unhandled errors: when a Deferred stops running with a Failure as its result,
it is *armed*: a small ``_Unhandled`` object holding the failure is attached,
and registered in a weak dictionary.  The object logs the failure from ``__del__``,
that is, when the Deferred is collected.  Whoever takes the result (a
callback, an outer Deferred, ``await``) disarms it.  ``_reportUnhandledAtShutdown``
logs those still armed.  Only failing Deferreds pay for any of this.

Firing drops the canceller (it can no longer be called), so a canceller that
refers to its Deferred makes no cycle once the Deferred has fired.  Debugging
(``setDebugging``, or one Deferred's own ``debug``) records the stacks that
created and first fired a Deferred, in Twisted's `` C:``/`` I:`` format; the
firing path tests one module flag for it.
"""

from __future__ import annotations

import itertools
import logging
import sys
import weakref
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, NoReturn, ParamSpec, TypeVar

from torsion import _log
from torsion._defer.bridge import futureForTask
from torsion._defer.errors import AlreadyCalledError, CancelledError, TimeoutError
from torsion.failure import Failure, _debugModeHooks, _from_exception, _inDebugMode

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "Deferred",
    "fail",
    "getDebugging",
    "passthru",
    "setDebugging",
    "succeed",
]

_T = TypeVar("_T")
_U = TypeVar("_U")
_P = ParamSpec("_P")

_logger = logging.getLogger("torsion.defer")


# -- debugging ------------------------------------------------------------------

_debugging = False
# Whether a Deferred may need its first invoker recorded: debugging is on, or
# some Deferred had its own ``debug`` set.  Firing tests only this flag.
_watching = False
_ownDebugSeen = False
_debugInfos: weakref.WeakKeyDictionary[Deferred[Any], list[str]] = weakref.WeakKeyDictionary()

_plainFailure = _from_exception


def _capturingFailure(e: BaseException) -> Failure:
    return Failure(e, captureVars=True)


def _postMortemFailure(e: BaseException) -> Failure:
    # failure.startDebugMode(): made as Failure() is, inside the except clause
    # (every caller is one), so that it stops in the debugger.
    if not _inDebugMode():  # debug mode was undone
        _chooseFailureOf()
        return _failureOf(e)
    return Failure(captureVars=_debugging)


# Makes the Failure for an exception a callback raised, inside the except
# clause.  The debugging modes swap it, so the callback loop pays nothing for
# the choice.
_failureOf: Callable[[BaseException], Failure] = _plainFailure


def _chooseFailureOf() -> None:
    global _failureOf
    if _inDebugMode():
        _failureOf = _postMortemFailure
    else:
        _failureOf = _capturingFailure if _debugging else _plainFailure


_debugModeHooks.append(_chooseFailureOf)


def setDebugging(on: bool) -> None:
    """Record where each Deferred is created and first fired (slow; for debugging).

    Failures made from exceptions raised by callbacks also capture the
    variables of their frames.
    """
    global _debugging, _watching
    _debugging = bool(on)
    _watching = _debugging or _ownDebugSeen
    _chooseFailureOf()


def getDebugging() -> bool:
    """Whether Deferreds record where they are created and fired."""
    return _debugging


def _caught(e: BaseException) -> Failure:
    """The Failure for an exception raised by user code (capturing variables when debugging)."""
    return _failureOf(e)


class _DebugFlag:
    """``Deferred.debug``: the global setting, or one Deferred's own (``d.debug = True``)."""

    def __get__(self, obj: Deferred[Any] | None, owner: type | None = None) -> bool:
        if obj is None:
            return _debugging
        own: bool | None = obj.__dict__.get("debug")
        return _debugging if own is None else own

    def __set__(self, obj: Deferred[Any], value: bool) -> None:
        global _watching, _ownDebugSeen
        obj.__dict__["debug"] = bool(value)
        if value:
            _ownDebugSeen = _watching = True


def _stackText(tag: str, title: str, frame: Any) -> str:
    """The stack up to ``frame``, each line prefixed as Twisted's debug info is."""
    import traceback

    stack = "".join(traceback.format_stack(frame)).rstrip().replace("\n", f"\n {tag}:")
    return f" {tag}: {title}:\n {tag}:{stack}\n"


def _recordInvoker(d: Deferred[Any], frame: Any) -> None:
    """``d`` is being fired from ``frame`` (for its AlreadyCalledError and failure reports)."""
    if frame.f_code is _ERRBACK_CODE:
        frame = frame.f_back  # errback() fired it: its caller is the invoker
    _debugInfos.setdefault(d, []).append(_stackText("I", "First Invoker was", frame))


# -- unhandled errors ---------------------------------------------------------


class _Unhandled:
    """Logs ``failure`` when collected, unless it was taken (set to None) first."""

    __slots__ = ("__weakref__", "debug", "failure", "key")

    def __init__(self, failure: Failure, debug: str) -> None:
        self.failure: Failure | None = failure
        self.debug = debug
        self.key = next(_keys)

    def report(self) -> bool:
        failure = self.failure
        if failure is None:
            return False
        self.failure = None
        why = "Unhandled error in Deferred:"
        if self.debug:
            why = f"{why}\n(debug: {self.debug})"
        _log.log_failure(why, failure, log=_logger)
        return True

    def __del__(self) -> None:
        if self.failure is not None:
            try:
                self.report()
            except Exception:  # pragma: no cover - interpreter shutdown
                pass


# Armed reports, oldest first (a WeakSet would not keep the order).
_unhandled: weakref.WeakValueDictionary[int, _Unhandled] = weakref.WeakValueDictionary()
_keys = itertools.count()


def _arm(d: Deferred[Any], failure: Failure) -> None:
    report: _Unhandled | None = getattr(d, "_report", None)
    if report is None:
        info = _debugInfos.get(d) if _watching and d.debug else None
        d._report = report = _Unhandled(failure, "".join(info) if info else "")
    else:
        report.failure = failure
    _unhandled[report.key] = report


def _disarm(d: Deferred[Any]) -> None:
    report: _Unhandled | None = getattr(d, "_report", None)
    if report is not None:
        report.failure = None


def _reportUnhandledAtShutdown() -> int:
    """Log every Deferred still holding an unhandled failure; return how many.

    Each is logged once: garbage collection will not log it again.
    """
    return sum(1 for report in list(_unhandled.values()) if report.report())


def _unhandledCount() -> int:
    """How many Deferreds hold a failure nobody has taken yet (torsion.trial's hint to collect)."""
    return sum(1 for report in list(_unhandled.values()) if report.failure is not None)


def _take(d: Deferred[Any]) -> Any:
    """Take the final result of a fired, idle Deferred, leaving it None (and disarmed)."""
    result = d.result
    d.result = None
    if isinstance(result, Failure):
        _disarm(d)
    return result


# -- the Deferred ---------------------------------------------------------------

# Marker entries are (None, target, kind, None, target, kind): see the module comment.
_CONTINUE: Any = object()
_CHAIN: Any = object()
# An internal canceller returns this when it will fire the Deferred itself later.
_KEEP_WAITING: Any = object()
# Passed to Deferred.callback by _runCallbacks: run the callbacks, do not fire.
_RUN: Any = object()

# (callback, args, kwargs, errback, args, kwargs); args is None when there are
# neither args nor kwargs, so the common case is a plain one-argument call.
_Entry = tuple[Any, Any, Any, Any, Any, Any]
_NOKW: dict[str, Any] = {}
# Results of exactly these types are neither Deferreds nor Failures: testing
# ``result.__class__ in _PLAIN`` first is cheaper than isinstance() for the usual results.
_PLAIN = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        bytearray,
        tuple,
        list,
        dict,
        set,
        frozenset,
    }
)


def passthru(arg: _T) -> _T:
    """Return ``arg`` unchanged."""
    return arg


def _adopt(current: Deferred[Any], inner: Deferred[Any]) -> Any:
    """A callback of ``current`` returned ``inner``: return the result to carry on with.

    That is ``inner``'s result if it is final; otherwise ``current`` is made to
    wait for it (paused, with a continuation marker on ``inner``) and ``inner``
    itself is returned.
    """
    if inner is current:
        return _from_exception(TypeError(f"a callback of {current!r} returned that Deferred"))
    if inner.called and not (inner.paused or inner._runningCallbacks):
        return _take(inner)
    current.paused += 1
    inner.callbacks.append((None, current, _CONTINUE, None, current, _CONTINUE))
    return inner


class Deferred(Generic[_T]):
    """A result that will arrive later, with callbacks to run when it does."""

    # Rarely used attributes (_canceller, _chainedTo (set by chainDeferred only),
    # _report, _suppressAlreadyCalled) are only set when needed and read with
    # getattr(): a new Deferred sets four.  ``__dict__`` takes the attributes
    # programs set on Deferreds (as Twisted allows), and a Deferred's own ``debug``.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_canceller",
        "_chainedTo",
        "_report",
        "_runningCallbacks",
        "_suppressAlreadyCalled",
        "callbacks",
        "called",
        "paused",
        "result",
    )

    debug = _DebugFlag()

    callbacks: list[_Entry]
    called: bool
    paused: int
    result: Any
    _runningCallbacks: bool
    _suppressAlreadyCalled: bool
    _canceller: Callable[[Deferred[Any]], Any] | None
    _chainedTo: Deferred[Any] | None
    _report: _Unhandled | None

    def __init__(self, canceller: Callable[[Deferred[Any]], object] | None = None) -> None:
        self.callbacks = []
        self.called = False
        self.paused = 0
        self._runningCallbacks = False
        if canceller is not None:
            self._canceller = canceller  # otherwise unset: see cancel()
        if _debugging:
            _debugInfos[self] = [_stackText("C", "Deferred was created", sys._getframe(1))]

    # -- adding callbacks -----------------------------------------------------

    def addCallbacks(
        self,
        callback: Callable[..., Any],
        errback: Callable[..., Any] | None = None,
        callbackArgs: tuple[Any, ...] = (),
        callbackKeywords: dict[str, Any] | None = None,
        errbackArgs: tuple[Any, ...] = (),
        errbackKeywords: dict[str, Any] | None = None,
    ) -> Deferred[Any]:
        """Add a callback and an errback as one step of the chain."""
        self.callbacks.append(
            (
                callback,
                callbackArgs or (() if callbackKeywords else None),
                callbackKeywords or _NOKW,
                errback,
                errbackArgs or (() if errbackKeywords else None),
                errbackKeywords or _NOKW,
            )
        )
        if self.called:
            self._runCallbacks()
        return self

    def addCallback(
        self,
        callback: Callable[Concatenate[_T, _P], Deferred[_U] | _U],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_U]:
        """Call ``callback(result, *args, **kwargs)`` on success."""
        if not self.called:
            if args or kwargs:
                self.callbacks.append((callback, args, kwargs, None, None, None))
            else:
                self.callbacks.append(callback)  # type: ignore[arg-type]  # a plain entry
            return self  # type: ignore[return-value]
        if not (self.paused or self._runningCallbacks):
            # Fired and idle: run it now (nothing to do on a failure).
            result: Any = self.result
            if result.__class__ in _PLAIN or not isinstance(result, Failure):
                self._runningCallbacks = True
                try:
                    if args or kwargs:
                        result = callback(result, *args, **kwargs)  # type: ignore[arg-type]
                    else:
                        result = callback(result)  # type: ignore[call-arg, arg-type]
                except BaseException as e:
                    result = _failureOf(e)
                self._runningCallbacks = False
                self.result = result
                if self.callbacks or (
                    result.__class__ not in _PLAIN and isinstance(result, _SPECIAL)
                ):
                    self._settle()
            return self  # type: ignore[return-value]
        if args or kwargs:
            self.callbacks.append((callback, args, kwargs, None, None, None))
        else:
            self.callbacks.append(callback)  # type: ignore[arg-type]
        self._runCallbacks()
        return self  # type: ignore[return-value]

    def addErrback(
        self,
        errback: Callable[Concatenate[Failure, _P], Deferred[_U] | _U],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_T | _U]:
        """Call ``errback(failure, *args, **kwargs)`` on failure."""
        if (
            self.called
            and not (self.paused or self._runningCallbacks)
            and not isinstance(self.result, Failure)
        ):
            return self  # type: ignore[return-value]  # a success, idle: nothing to do
        if args or kwargs:
            self.callbacks.append((None, None, None, errback, args, kwargs))
        else:
            self.callbacks.append((None, None, None, errback, None, None))
        if self.called:
            self._runCallbacks()
        return self  # type: ignore[return-value]

    def addBoth(
        self,
        callback: Callable[Concatenate[_T | Failure, _P], Deferred[_U] | _U],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_U]:
        """Call ``callback(result_or_failure, *args, **kwargs)`` either way."""
        if args or kwargs:
            self.callbacks.append((callback, args, kwargs, callback, args, kwargs))
        else:
            self.callbacks.append((callback, None, None, callback, None, None))
        if self.called:
            self._runCallbacks()
        return self  # type: ignore[return-value]

    def chainDeferred(self, d: Deferred[_T]) -> Deferred[None]:
        """Fire ``d`` with this Deferred's result when it arrives; this one keeps None."""
        d._chainedTo = self
        self.callbacks.append((None, d, _CHAIN, None, d, _CHAIN))
        if self.called:
            self._runCallbacks()
        return self  # type: ignore[return-value]

    # -- firing ---------------------------------------------------------------

    def callback(self, result: _T | Failure) -> None:
        """Fire with ``result`` (a Failure takes the errback path)."""
        # This is also the callback runner, to save a call on the hot paths:
        # _runCallbacks() enters it with the private _RUN, to run without firing.
        givers: list[Deferred[Any]] | None = None  # to resume once their receiver is done
        if result is _RUN:
            if self._runningCallbacks:
                return  # the loop running this Deferred will see the new state
            current = self
        else:
            if self.called:
                if getattr(self, "_suppressAlreadyCalled", False):
                    self._suppressAlreadyCalled = False
                    return
                self._alreadyCalled()
            plain = result.__class__ in _PLAIN
            if not plain and isinstance(result, Deferred):
                raise TypeError(
                    "Deferred.callback() was given a Deferred; "
                    "return it from a callback, or use chainDeferred, to chain them"
                )
            self.called = True
            self._canceller = None  # it cannot be called now: no Deferred <-> canceller cycle
            if _watching and self.debug:
                _recordInvoker(self, sys._getframe(1))
            cbs = self.callbacks
            if not cbs:
                self.result = result
                if plain or self.paused or not isinstance(result, Failure):
                    return
                _arm(self, result)
                return
            entry = cbs[0]
            if entry.__class__ is tuple and entry[2] is _CONTINUE and not self.paused:
                # The hot path of chaining: a callback of ``current`` returned this
                # Deferred, whose first entry hands the result on (as a marker does
                # below); this one carries on with None afterwards.
                del cbs[0]
                current = entry[1]
                current.paused -= 1
                current.result = result
                self.result = None
                if current.callbacks or not (plain or not isinstance(result, Failure)):
                    if cbs:
                        givers = [self]
                elif cbs:
                    current = self  # nothing for ``current`` to run: it keeps the result
                else:
                    return
                # The usual next step: the Deferred that carries on starts with
                # a plain callback (which often returns the next Deferred to wait
                # on).  Call it here, without the loop's set-up; the loop then
                # runs what is left, or finds the Deferred waiting.
                cbs = current.callbacks
                if cbs and not (current.paused or current._runningCallbacks):
                    entry = cbs[0]
                    value = current.result
                    if entry.__class__ is not tuple and (
                        value.__class__ in _PLAIN or not isinstance(value, Failure)
                    ):
                        current._runningCallbacks = True
                        try:
                            value = entry(value)  # type: ignore[operator]  # a plain entry
                        except BaseException as e:
                            value = _failureOf(e)
                        current._runningCallbacks = False
                        del cbs[0]
                        cls = value.__class__
                        if cls is Deferred and not value.called:
                            # Wait for it, as _adopt() does.
                            current.paused += 1
                            value.callbacks.append(
                                (None, current, _CONTINUE, None, current, _CONTINUE)
                            )
                        elif cls not in _PLAIN and isinstance(value, Deferred):
                            value = _adopt(current, value)
                        current.result = value
            else:
                self.result = result
                current = self
        while True:
            if not (current.paused or current._runningCallbacks):
                cbs = current.callbacks
                value = current.result
                failed = value.__class__ not in _PLAIN and isinstance(value, Failure)
                if cbs:
                    if failed:
                        _disarm(current)
                    current._runningCallbacks = True
                    # Entries appended while this runs are picked up by the iterator.
                    it: Any = iter(cbs)
                    left = 0  # entries not run when the loop stops early
                    receiver: Deferred[Any] | None = None  # takes the value over (a marker)
                    try:
                        for entry in it:
                            if entry.__class__ is not tuple:
                                # A plain callback, the most common entry.
                                if failed:
                                    continue
                                try:
                                    value = entry(value)
                                except BaseException as e:
                                    value = _failureOf(e)
                                    failed = True
                                    continue
                            else:
                                if failed:
                                    fn = entry[3]
                                    args = entry[4]
                                    kw = entry[5]
                                else:
                                    fn = entry[0]
                                    args = entry[1]
                                    kw = entry[2]
                                if fn is None:
                                    if args is None:
                                        continue  # no callback for this outcome
                                    # A marker: hand the value to ``args``, which runs next.
                                    if kw is _CONTINUE:
                                        args.paused -= 1
                                    elif args.called:
                                        if getattr(args, "_suppressAlreadyCalled", False):
                                            args._suppressAlreadyCalled = False
                                            value = None
                                        else:
                                            value = _from_exception(AlreadyCalledError(repr(args)))
                                        failed = value is not None
                                        continue
                                    else:
                                        args.called = True
                                        args._canceller = None
                                        if kw is _CHAIN:  # the chain is resolved: forget it
                                            args._chainedTo = None
                                    args.result = value
                                    value = None
                                    if args.callbacks or args.paused or failed:
                                        receiver = args
                                        left = it.__length_hint__()
                                        break
                                    continue  # nothing for ``args`` to run: it keeps the value
                                try:
                                    value = fn(value) if args is None else fn(value, *args, **kw)
                                except BaseException as e:
                                    value = _failureOf(e)
                                    failed = True
                                    continue
                            # Exact types first: isinstance() is the slow part here.
                            cls = value.__class__
                            if cls in _PLAIN or not (
                                cls is Deferred or isinstance(value, _SPECIAL)
                            ):
                                failed = False
                            elif cls is Deferred or isinstance(value, Deferred):
                                # As _adopt() does, inlined: this is the hot path of chaining.
                                inner = value
                                if inner.called and not (inner.paused or inner._runningCallbacks):
                                    value = inner.result  # final already: take it
                                    inner.result = None
                                    failed = isinstance(value, Failure)
                                    if failed:
                                        _disarm(inner)
                                elif inner is current:
                                    value = _from_exception(
                                        TypeError(f"{current!r} returned itself")
                                    )
                                    failed = True
                                else:
                                    # Wait for it: see the module comment.
                                    current.paused += 1
                                    inner.callbacks.append(
                                        (None, current, _CONTINUE, None, current, _CONTINUE)
                                    )
                                    left = it.__length_hint__()
                                    break
                            else:
                                failed = True  # a Failure
                    finally:
                        current.result = value
                        current._runningCallbacks = False
                        if left:  # stopped early: drop what ran, keep the rest in line
                            if left == len(cbs) - 1:
                                del cbs[0]  # much cheaper than a slice
                            else:
                                del cbs[:-left]
                        else:
                            cbs.clear()
                    if receiver is not None:
                        if left:  # come back for the rest
                            if givers is None:
                                givers = [current]
                            else:
                                givers.append(current)
                        current = receiver
                        continue
                    if failed and not current.paused:
                        _arm(current, value)  # the chain ended in a failure
                elif failed:
                    _arm(current, value)
            if not givers:
                return
            current = givers.pop()

    def errback(self, fail: Failure | BaseException | None = None) -> None:
        """Fire with a failure: ``fail``, an exception, or (no argument) the current one."""
        if fail is None:
            fail = Failure(captureVars=_debugging)
        elif not isinstance(fail, Failure):
            fail = Failure(fail)
        self.callback(fail)

    def _alreadyCalled(self) -> NoReturn:
        if _watching and self.debug:
            # Twisted's format: the creator's stack (" C:" lines), then the first invoker's.
            raise AlreadyCalledError("\n" + "".join(_debugInfos.get(self, ())))
        raise AlreadyCalledError(
            f"{self!r} has already been fired (setDebugging(True) shows where)"
        )

    def pause(self) -> None:
        """Stop running callbacks until ``unpause`` is called."""
        self.paused += 1

    def unpause(self) -> None:
        """Undo one ``pause``; run pending callbacks once no pause is left."""
        self.paused -= 1
        if not self.paused and self.called:
            self._runCallbacks()

    def cancel(self) -> None:
        """Cancel: call the canceller, and errback with CancelledError if it did not fire.

        A Deferred waiting on another Deferred cancels that one instead.
        """
        if not self.called:
            canceller = getattr(self, "_canceller", None)
            if canceller is None:
                # Whoever was to fire it will still do so; let that pass quietly.
                self._suppressAlreadyCalled = True
            elif canceller(self) is _KEEP_WAITING:
                return
            if not self.called:
                self.errback(Failure(CancelledError()))
        elif isinstance(self.result, Deferred):
            self.result.cancel()

    def addTimeout(
        self,
        timeout: float,
        clock: Any,
        onTimeoutCancel: Callable[[Any, float], Any] | None = None,
    ) -> Deferred[_T]:
        """Cancel this Deferred if it has not fired after ``timeout`` seconds of ``clock``.

        The cancellation then turns into ``TimeoutError`` (or whatever
        ``onTimeoutCancel(result, timeout)`` returns).
        """
        timedOut = False

        def onTimeout() -> None:
            nonlocal timedOut
            timedOut = True
            self.cancel()

        call = clock.callLater(timeout, onTimeout)

        def convert(result: Any) -> Any:
            if call.active():
                call.cancel()
            if timedOut:
                return (onTimeoutCancel or _cancelledToTimedOutError)(result, timeout)
            return result

        self.addBoth(convert)
        return self

    # -- the callback runner ------------------------------------------------

    def _settle(self) -> None:
        """After a callback ran outside the loop: chain, arm, or run what was added."""
        result = self.result
        if isinstance(result, Deferred):
            self.result = _adopt(self, result)
        self._runCallbacks()

    def _runCallbacks(self) -> None:
        _run(self, _RUN)  # the runner is callback() itself: see there

    # -- coroutines and asyncio ----------------------------------------------

    def __await__(self) -> Generator[Any, Any, _T]:
        if self.called and not (self.paused or self._runningCallbacks):
            result = self.result  # fired and idle: no need to suspend
            self.result = None
        else:
            future = futureForTask(self)
            if future is not None:  # an asyncio Task awaits us: it waits on a Future
                return (yield from future)  # type: ignore[no-any-return]
            result = yield self  # the coroutine runner sends the result back
        if isinstance(result, Failure):
            _disarm(self)
            raise result.value.with_traceback(result.tb)
        return result  # type: ignore[no-any-return]

    __iter__ = __await__

    @classmethod
    def fromCoroutine(
        cls, coro: Coroutine[Deferred[Any], Any, _U] | Generator[Deferred[Any], Any, _U]
    ) -> Deferred[_U]:
        """Run ``coro`` (which may ``await`` Deferreds) and fire with what it returns."""
        from torsion._defer.inline import _startCoroutine  # inline builds on this module

        return _startCoroutine(coro)

    def asFuture(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[_T]:
        """An asyncio Future on ``loop`` with this Deferred's result; cancelling it cancels us."""
        future = loop.create_future()

        def succeeded(result: Any) -> None:
            if not future.cancelled():
                future.set_result(result)

        def failed(failure: Failure) -> None:
            if not future.cancelled():
                future.set_exception(failure.value)

        def futureDone(f: asyncio.Future[_T]) -> None:
            if f.cancelled():
                self.cancel()

        self.addCallbacks(succeeded, failed)
        future.add_done_callback(futureDone)
        return future

    @classmethod
    def fromFuture(cls, future: asyncio.Future[_U]) -> Deferred[_U]:
        """A Deferred fired by an asyncio Future (or Task); cancelling it cancels the future."""

        def cancel(d: Deferred[Any]) -> Any:
            future.cancel()
            return _KEEP_WAITING  # the future's done callback fires us

        d: Deferred[_U] = Deferred(cancel)

        def done(f: asyncio.Future[_U]) -> None:
            if d.called:
                return
            try:
                result: Any = f.result()
            except BaseException as e:
                result = _from_exception(e)
            d.callback(result)

        future.add_done_callback(done)
        return d

    # -- presentation ---------------------------------------------------------

    def __repr__(self) -> str:
        text = f"<{type(self).__name__} at {id(self):#x}"
        if self.called:
            result = self.result
            if isinstance(result, Deferred):  # a callback returned it: waiting on it
                text += f" waiting on Deferred at {id(result):#x}"
            else:
                text += f" current result: {result!r}"
        else:
            chainedTo = getattr(self, "_chainedTo", None)  # set by chainDeferred
            if chainedTo is not None:
                text += f" waiting on Deferred at {id(chainedTo):#x}"
        return text + ">"

    __str__ = __repr__


_SPECIAL = (Deferred, Failure)
_ERRBACK_CODE = Deferred.errback.__code__
_run = Deferred.callback  # the runner, even where a subclass overrides callback()


def _cancelledToTimedOutError(value: Any, timeout: float) -> Any:
    if isinstance(value, Failure):
        value.trap(CancelledError)
        raise TimeoutError(timeout, "Deferred")
    return value


def succeed(result: _T) -> Deferred[_T]:
    """A Deferred that has already fired with ``result``."""
    if _debugging or isinstance(result, _SPECIAL):
        d: Deferred[_T] = Deferred()
        d.callback(result)
        return d
    # The hot path: set up a fired Deferred directly (as __init__ + callback would).
    d = _new(Deferred)
    d.callbacks = []
    d.called = True
    d.paused = 0
    d._runningCallbacks = False
    d.result = result
    return d


_new = object.__new__


def fail(result: Failure | BaseException | None = None) -> Deferred[Any]:
    """A Deferred that has already failed with ``result`` (default: the current exception)."""
    d: Deferred[Any] = Deferred()
    d.errback(result)
    return d
