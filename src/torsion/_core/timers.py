"""DelayedCall and the timer heap behind ``callLater``.

Theory of operation
-------------------
The heap holds ``(time, seq, call)`` tuples; tuples compare in C, so heap
operations never call back into Python.  ``seq`` is a global counter, which
makes calls due at the same time run in the order they were scheduled, and
identifies the *current* entry of a call: ``reset()``/``delay()`` push a new
entry and bump ``call._seq``, leaving the old one stale.  Cancellation is lazy:
a cancelled or stale entry stays in the heap and is skipped when it reaches the
top.  When more than half the heap is dead it is rebuilt, so memory stays
proportional to the live timers (schedule 100k, cancel half: one rebuild).

A DelayedCall only knows its *owner* (the TimerQueue, or ``task.Clock``): the
owner provides ``seconds()``, ``_cancelCall(call)`` and ``_rescheduleCall(call)``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any, Protocol

from torsion import _log, error

__all__ = ["DelayedCall", "TimerQueue"]

_seq = itertools.count()
_NOKW: dict[str, Any] = {}
_heappush = heapq.heappush
_heappop = heapq.heappop


class _Owner(Protocol):
    def seconds(self) -> float: ...
    def _cancelCall(self, call: DelayedCall) -> None: ...
    def _rescheduleCall(self, call: DelayedCall) -> None: ...


class DelayedCall:
    """A call scheduled by ``callLater``: cancel it, move it, or ask when it runs."""

    __slots__ = ("_owner", "_seq", "args", "called", "cancelled", "func", "kw", "time")

    debug = False

    def __init__(
        self,
        time: float,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kw: dict[str, Any],
        owner: _Owner,
    ) -> None:
        self.time = time
        self.func = func
        self.args = args
        self.kw = kw
        self._owner = owner
        self._seq = 0
        self.cancelled = 0
        self.called = 0

    def getTime(self) -> float:
        """The time (in ``seconds()`` terms) at which this call will run."""
        return self.time

    def cancel(self) -> None:
        """Unschedule this call; raises AlreadyCancelled or AlreadyCalled if it cannot be."""
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self.cancelled = 1
        self._owner._cancelCall(self)

    def reset(self, secondsFromNow: float) -> None:
        """Run this call ``secondsFromNow`` seconds from now instead."""
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self.time = self._owner.seconds() + secondsFromNow
        self._owner._rescheduleCall(self)

    def delay(self, secondsLater: float) -> None:
        """Run this call ``secondsLater`` seconds later than scheduled (negative: earlier)."""
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self.time += secondsLater
        self._owner._rescheduleCall(self)

    def active(self) -> bool:
        """True until the call has run or been cancelled."""
        return not (self.cancelled or self.called)

    def __lt__(self, other: DelayedCall) -> bool:
        return (self.time, self._seq) < (other.time, other._seq)

    def __le__(self, other: DelayedCall) -> bool:
        return (self.time, self._seq) <= (other.time, other._seq)

    def __repr__(self) -> str:
        name = getattr(self.func, "__qualname__", None) or repr(self.func)
        state = "called" if self.called else "cancelled" if self.cancelled else "active"
        return f"<DelayedCall {id(self):#x} [{state}] at {self.time:.6f} {name}>"


class TimerQueue:
    """The reactor's timers: a heap with lazy cancellation (see the module comment)."""

    __slots__ = ("_dead", "_heap", "seconds")

    def __init__(self, seconds: Callable[[], float]) -> None:
        self._heap: list[tuple[float, int, DelayedCall]] = []
        self._dead = 0
        self.seconds = seconds

    def callLater(self, delay: float, f: Callable[..., Any], *args: Any, **kw: Any) -> DelayedCall:
        if not callable(f):
            raise TypeError(f"callLater needs a callable, got {f!r}")
        # An empty kw is shared rather than kept per call: 100k pending timers
        # would otherwise keep 100k empty dicts for the garbage collector to scan.
        call = DelayedCall(self.seconds() + delay, f, args, kw or _NOKW, self)
        call._seq = seq = next(_seq)
        _heappush(self._heap, (call.time, seq, call))
        return call

    # Rebuilding costs O(live); popping a dead entry costs O(log n).  Rebuild
    # once a quarter of the heap is dead: with the usual pattern (most timers
    # are cancelled before they fire, e.g. connection timeouts) the heap stays
    # small and the loop never pops dead entries one by one.
    def _cancelCall(self, call: DelayedCall) -> None:
        self._dead = dead = self._dead + 1
        if dead > 64 and dead > len(self._heap) >> 2:
            self._compact()

    def _rescheduleCall(self, call: DelayedCall) -> None:
        call._seq = seq = next(_seq)
        _heappush(self._heap, (call.time, seq, call))
        self._cancelCall(call)

    def _compact(self) -> None:
        heap = [e for e in self._heap if e[1] == e[2]._seq and not e[2].cancelled]
        heapq.heapify(heap)
        self._heap = heap
        self._dead = 0

    def __len__(self) -> int:
        return len(self._heap) - self._dead

    def timeout(self, now: float) -> float | None:
        """Seconds until the next live call is due (0 if one is due), or None if none."""
        heap = self._heap
        while heap:
            when, seq, call = heap[0]
            if seq != call._seq or call.cancelled:
                _heappop(heap)
                self._dead -= 1
                continue
            delta = when - now
            return delta if delta > 0.0 else 0.0
        return None

    def runDue(self, now: float) -> None:
        """Run every live call due at ``now``; calls scheduled meanwhile wait a turn.

        An exception in a call is logged and the others still run.
        """
        heap = self._heap
        if not heap or heap[0][0] > now:
            return
        limit = next(_seq)
        later: list[tuple[float, int, DelayedCall]] | None = None
        while heap and heap[0][0] <= now:
            entry = _heappop(heap)
            call = entry[2]
            if entry[1] != call._seq or call.cancelled:
                self._dead -= 1
                continue
            if entry[1] > limit:
                # Scheduled by a call in this pass: it runs on the next turn.
                if later is None:
                    later = []
                later.append(entry)
                continue
            call.called = 1
            try:
                if call.kw:
                    call.func(*call.args, **call.kw)
                else:
                    call.func(*call.args)
            except BaseException as e:
                if not isinstance(e, Exception):
                    raise
                _log.log_failure(f"Unhandled error in delayed call {call!r}:", e)
            heap = self._heap  # a compaction may have replaced it
        if later:
            for entry in later:
                _heappush(heap, entry)

    def getDelayedCalls(self) -> list[DelayedCall]:
        return [e[2] for e in self._heap if e[1] == e[2]._seq and not e[2].cancelled]

    def clear(self) -> None:
        self._heap = []
        self._dead = 0
