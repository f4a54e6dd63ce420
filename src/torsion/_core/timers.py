"""DelayedCall and the timer queue behind ``callLater``.

Theory of operation
-------------------
The queue is a heap of bare floats (the due times) plus a dict from each due
time to its *bucket*: the DelayedCall due then, or a deque of them in the order
they were scheduled when several share the exact same time.  Comparing floats
is the cheapest comparison there is, and a heap entry is not a container the
garbage collector has to track: a pending timer costs one tracked object, the
DelayedCall.

Cancelling (or moving, with ``reset``/``delay``) takes the call out of its
bucket at once; a bucket left empty is dropped from the dict, and its time
stays in the heap as a *dead* entry, skipped when it reaches the top.  Once a
quarter of the heap is dead it is rebuilt from the dict's keys (the live
times), so memory stays proportional to the live timers and the loop never
pops dead entries one by one in the usual pattern (most timeouts are
cancelled).  A time may appear twice in the heap (dropped, then used again);
the first pop takes the bucket and the second finds none, as a dead entry.

``runDue`` pops the due times in order and runs their calls one at a time; a
shared bucket goes back in the queue with its remaining calls after each one,
so a call can cancel or move the others as usual.  Each call gets a ``_seq``
from a global counter when scheduled or moved: calls scheduled during a pass
(``_seq`` past the pass's limit) are set aside and wait for the next turn even
when due.  One set aside and then cancelled or moved in the same pass is not
queued again (its ``_seq`` changed, or it is marked cancelled).

A DelayedCall only knows its *owner* (the TimerQueue, or ``task.Clock``): the
owner provides ``seconds()``, ``_cancelCall(call)`` and
``_rescheduleCall(call, time)``.

The queue reads the time from its *clock* (the reactor) on every ``callLater``,
``clock.seconds()``, so that replacing ``reactor.seconds`` moves the calls
scheduled afterwards, as in Twisted.  A call's own ``seconds`` (the owner's
clock unless replaced on that call) is what ``reset`` counts from.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from torsion import _log, error

__all__ = ["DelayedCall", "TimerQueue"]

_seq = itertools.count()

#: The longest a turn waits for its next timer, in seconds (asyncio's bound too).
MAX_WAIT = 86400.0
_NOKW: dict[str, Any] = {}
_heappush = heapq.heappush
_heappop = heapq.heappop
_heapify = heapq.heapify
_new = object.__new__
_isCallable = callable  # callLater names its parameter ``callable``, as Twisted does


class _Owner(Protocol):
    def seconds(self) -> float: ...
    def _cancelCall(self, call: DelayedCall) -> None: ...
    def _rescheduleCall(self, call: DelayedCall, time: float) -> None: ...


class _Clock(Protocol):
    def seconds(self) -> float: ...


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

    @property
    def seconds(self) -> Callable[[], float]:
        """The clock ``reset`` counts from: the scheduler's, unless replaced on this call."""
        return self._owner.seconds

    @seconds.setter
    def seconds(self, seconds: Callable[[], float]) -> None:
        owner = self._owner
        if isinstance(owner, _OwnClock):
            owner = owner.owner
        self._owner = _OwnClock(owner, seconds)

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
        self._owner._rescheduleCall(self, self.seconds() + secondsFromNow)

    def delay(self, secondsLater: float) -> None:
        """Run this call ``secondsLater`` seconds later than scheduled (negative: earlier)."""
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self._owner._rescheduleCall(self, self.time + secondsLater)

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


class _OwnClock:
    """A call's owner once the call's ``seconds`` was replaced: that clock, the owner's queue.

    (Rare, so it costs no slot on every DelayedCall.)
    """

    __slots__ = ("owner", "seconds")

    def __init__(self, owner: _Owner, seconds: Callable[[], float]) -> None:
        self.owner = owner
        self.seconds = seconds

    def _cancelCall(self, call: DelayedCall) -> None:
        self.owner._cancelCall(call)

    def _rescheduleCall(self, call: DelayedCall, time: float) -> None:
        self.owner._rescheduleCall(call, time)


_Bucket = DelayedCall | deque[DelayedCall]


class TimerQueue:
    """The reactor's timers: a heap of due times and their buckets (see the module comment)."""

    __slots__ = ("_buckets", "_clock", "_dead", "_times")

    def __init__(self, clock: _Clock) -> None:
        self._times: list[float] = []
        self._buckets: dict[float, _Bucket] = {}
        self._dead = 0
        self._clock = clock

    def seconds(self) -> float:
        """The clock's current time (``reactor.seconds()``, whatever it is now)."""
        return self._clock.seconds()

    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> DelayedCall:
        if not _isCallable(callable):
            raise TypeError(f"callLater needs a callable, got {callable!r}")
        if not delay >= 0:  # also refuses NaN, which would break the heap's order
            raise ValueError(f"callLater needs a delay >= 0 seconds, got {delay!r}")
        # Set up here rather than by DelayedCall.__init__ (one frame less).  An
        # empty kw is shared rather than kept per call: 100k pending timers would
        # otherwise keep 100k empty dicts for the garbage collector to scan.
        call = _new(DelayedCall)
        call.time = when = self._clock.seconds() + delay
        call.func = callable
        call.args = args
        call.kw = kw or _NOKW
        call._owner = self
        call._seq = next(_seq)
        call.cancelled = call.called = 0
        bucket = self._buckets.setdefault(when, call)
        if bucket is call:
            _heappush(self._times, when)
        else:
            self._share(when, bucket, call)
        return call

    def _add(self, call: DelayedCall) -> None:
        """Queue ``call`` at ``call.time`` (as callLater does)."""
        when = call.time
        bucket = self._buckets.setdefault(when, call)
        if bucket is call:
            _heappush(self._times, when)
        else:
            self._share(when, bucket, call)

    def _share(self, when: float, bucket: _Bucket, call: DelayedCall) -> None:
        """Add ``call`` to the bucket of the other calls due at ``when``."""
        if bucket.__class__ is deque:
            bucket.append(call)
        else:
            self._buckets[when] = deque((bucket, call))  # type: ignore[arg-type]

    def _cancelCall(self, call: DelayedCall) -> None:
        when = call.time
        buckets = self._buckets
        bucket = buckets.get(when)
        if bucket is call:
            del buckets[when]
        elif bucket.__class__ is deque:
            try:
                bucket.remove(call)
            except ValueError:
                return  # set aside by runDue for a turn: not queued
            if bucket:
                return
            del buckets[when]
        else:
            return  # set aside by runDue for a turn: not queued
        # Rebuilding costs O(live); popping a dead entry costs O(log n).
        self._dead = dead = self._dead + 1
        if dead > 64 and dead > len(self._times) >> 2:
            self._times = times = list(buckets)
            _heapify(times)
            self._dead = 0

    def _rescheduleCall(self, call: DelayedCall, time: float) -> None:
        self._cancelCall(call)
        call.time = time
        call._seq = next(_seq)
        self._add(call)

    def timeout(self, now: float) -> float | None:
        """Seconds until the next live call is due (0 if one is due), or None if none.

        At most a day: the pollers take no longer wait (a call due in 1e10 s,
        or at infinity, would overflow them); the turn after a day's wait just
        asks again.
        """
        times = self._times
        buckets = self._buckets
        while times:
            when = times[0]
            if when in buckets:
                delta = when - now
                if delta > 0.0:
                    return delta if delta < MAX_WAIT else MAX_WAIT
                return 0.0
            _heappop(times)
            self._dead -= 1
        return None

    def runDue(self, now: float) -> None:
        """Run every live call due at ``now``; calls scheduled meanwhile wait a turn.

        An exception in a call is logged and the others still run.
        """
        times = self._times
        if not times or times[0] > now:
            return
        limit = next(_seq)
        buckets = self._buckets
        later: list[tuple[DelayedCall, int]] = []  # due, but scheduled during this pass
        try:
            while times and times[0] <= now:
                when = _heappop(times)
                bucket = buckets.pop(when, None)
                if bucket is None:
                    self._dead -= 1
                    continue
                if bucket.__class__ is deque:
                    # Take the first; the rest stay queued (so that the calls
                    # that run first may cancel or move them as usual).
                    call = bucket.popleft()
                    if bucket:
                        buckets[when] = bucket
                        _heappush(times, when)
                else:
                    call = bucket  # type: ignore[assignment]
                if call._seq > limit:
                    # Scheduled (or moved) by a call in this pass: it runs next turn.
                    later.append((call, call._seq))
                    continue
                call.called = 1
                try:
                    if call.kw:
                        call.func(*call.args, **call.kw)
                    else:
                        call.func(*call.args)
                except Exception as e:
                    _log.log_failure(f"Unhandled error in delayed call {call!r}:", e)
                times = self._times  # a compaction may have replaced it
        finally:
            for call, seq in later:
                if call._seq == seq and not call.cancelled:  # not moved or cancelled since
                    self._add(call)

    def __len__(self) -> int:
        return sum(1 if b.__class__ is not deque else len(b) for b in self._buckets.values())

    def getDelayedCalls(self) -> list[DelayedCall]:
        calls: list[DelayedCall] = []
        for bucket in self._buckets.values():
            if bucket.__class__ is deque:
                calls.extend(bucket)
            else:
                calls.append(bucket)  # type: ignore[arg-type]
        return calls

    def clear(self) -> None:
        self._times = []
        self._buckets = {}
        self._dead = 0
