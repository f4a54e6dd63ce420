"""Cooperative multitasking over iterators: ``task.Cooperator`` and friends.

Theory of operation
-------------------
A task is an iterator; each ``next()`` is one unit of work.  A Cooperator
keeps the runnable tasks in a list and, when its scheduler calls ``_tick``,
takes units of work from them in turn until the termination predicate (made
fresh for each tick) says the slice is over; then it asks the scheduler for
another tick if anything is still runnable.

The round-robin position survives from one tick to the next: ``_cursor`` is an
iterator over the task list, resumed by the next tick and renewed only once it
has run out, so a tick that ends early does not favour the first tasks.

A task that yields a Deferred is paused until that Deferred has a result
(paused tasks are not in the list); if it fails, the task fails with it.  A
task ends in one of three ways, each recorded as the SchedulerError that later
``pause``/``stop`` calls raise: TaskDone (the iterator ran out; ``whenDone``
Deferreds fire with the iterator), TaskFailed (``next()`` raised; they fail
with that error) or TaskStopped (``stop()``; they fail with TaskStopped).
Stopping the Cooperator fails every task it holds with SchedulerStopped, and a
task added to a stopped Cooperator fails with it at once.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from torsion.defer import Deferred
from torsion.failure import Failure

__all__ = [
    "CooperativeTask",
    "Cooperator",
    "NotPaused",
    "SchedulerError",
    "SchedulerStopped",
    "TaskDone",
    "TaskFailed",
    "TaskFinished",
    "TaskStopped",
    "coiterate",
    "cooperate",
]

_IterT = TypeVar("_IterT", bound=Iterator[Any])


class SchedulerError(Exception):
    """A Cooperator or one of its tasks was not in a state that allows the operation."""


class SchedulerStopped(SchedulerError):
    """The Cooperator was stopped before the task could finish (or had been stopped)."""


class TaskFinished(SchedulerError):
    """The task has already ended: done, stopped or failed."""


class TaskDone(TaskFinished):
    """The task already ran to completion."""


class TaskStopped(TaskFinished):
    """The task was stopped."""


class TaskFailed(TaskFinished):
    """The task ended because its iterator raised."""


class NotPaused(SchedulerError):
    """``resume()`` was called on a task that is not paused."""


class _TimeSlice:
    """The default termination predicate: true once 10 ms have passed since it was made."""

    __slots__ = ("deadline",)

    MAX_SLICE = 0.01

    def __init__(self) -> None:
        self.deadline = time.time() + self.MAX_SLICE

    def __call__(self) -> bool:
        return time.time() >= self.deadline


def _callSoon(f: Callable[[], None]) -> Any:
    """The default scheduler: ``f`` on the global reactor's next turn."""
    reactor: Any = importlib.import_module("torsion.reactor")
    return reactor.callLater(1e-8, f)


class CooperativeTask(Generic[_IterT]):
    """One iterator being run by a Cooperator; made by ``Cooperator.cooperate``."""

    def __init__(self, iterator: _IterT, cooperator: Cooperator) -> None:
        self._iterator = iterator
        self._cooperator = cooperator
        self._deferreds: list[Deferred[_IterT]] = []
        self._pauseCount = 0
        self._completionState: SchedulerError | None = None
        self._completionResult: _IterT | Failure | None = None
        cooperator._addTask(self)

    def whenDone(self) -> Deferred[_IterT]:
        """A new Deferred for the end of this task.

        It fires with the iterator once it is exhausted, or fails with what
        ``next()`` raised, with TaskStopped, or with SchedulerStopped.
        """
        d: Deferred[_IterT] = Deferred()
        if self._completionState is None:
            self._deferreds.append(d)
        else:
            d.callback(self._completionResult)  # type: ignore[arg-type]
        return d

    def pause(self) -> None:
        """Stop taking work from this task until ``resume()``; pauses nest.

        Raises the TaskFinished subclass that says how the task ended, if it has.
        """
        self._raiseIfFinished()
        self._pauseCount += 1
        if self._pauseCount == 1:
            self._cooperator._removeTask(self)

    def resume(self) -> None:
        """Undo one ``pause()``; NotPaused if the task is not paused."""
        if self._pauseCount == 0:
            raise NotPaused()
        self._pauseCount -= 1
        if self._pauseCount == 0 and self._completionState is None:
            self._cooperator._addTask(self)

    def stop(self) -> None:
        """End this task now: its ``whenDone`` Deferreds fail with TaskStopped."""
        self._raiseIfFinished()
        self._completeWith(TaskStopped(), Failure(TaskStopped()))

    def _raiseIfFinished(self) -> None:
        if self._completionState is not None:
            raise self._completionState

    def _completeWith(self, state: SchedulerError, result: _IterT | Failure) -> None:
        self._completionState = state
        self._completionResult = result
        if not self._pauseCount:
            self._cooperator._removeTask(self)
        for d in self._deferreds:
            d.callback(result)

    def _oneWorkUnit(self) -> None:
        try:
            result = next(self._iterator)
        except StopIteration:
            self._completeWith(TaskDone(), self._iterator)
            return
        except BaseException:
            self._completeWith(TaskFailed(), Failure())
            return
        if isinstance(result, Deferred):
            self.pause()

            def failed(failure: Failure) -> None:
                self._completeWith(TaskFailed(), failure)

            result.addCallbacks(lambda _: self.resume(), failed)


class Cooperator:
    """Runs iterators a unit of work at a time, sharing the time between them.

    ``terminationPredicateFactory`` is called at the start of each tick and
    returns a callable that says when the tick should end (by default after
    10 ms); ``scheduler(f)`` arranges for ``f`` to be called later and returns
    something with ``cancel()`` (by default, ``reactor.callLater`` with a tiny
    delay).  With ``started=False`` nothing runs until ``start()``.
    """

    def __init__(
        self,
        terminationPredicateFactory: Callable[[], Callable[[], bool]] = _TimeSlice,
        scheduler: Callable[[Callable[[], None]], Any] = _callSoon,
        started: bool = True,
    ) -> None:
        self._tasks: list[CooperativeTask[Any]] = []
        self._cursor: Iterator[CooperativeTask[Any]] = iter(())
        self._terminationPredicateFactory = terminationPredicateFactory
        self._scheduler = scheduler
        self._delayedCall: Any = None
        self._stopped = False
        self._started = started
        self._tickWanted = False

    def coiterate(
        self, iterator: _IterT, doneDeferred: Deferred[_IterT] | None = None
    ) -> Deferred[_IterT]:
        """Run ``iterator`` as a task; returns (or fires ``doneDeferred``) when it ends."""
        if doneDeferred is None:
            doneDeferred = Deferred()
        CooperativeTask(iterator, self).whenDone().chainDeferred(doneDeferred)
        return doneDeferred

    def cooperate(self, iterator: _IterT) -> CooperativeTask[_IterT]:
        """Run ``iterator`` as a task that can be paused, resumed, stopped and waited on."""
        return CooperativeTask(iterator, self)

    @property
    def running(self) -> bool:
        """True once started and until stopped."""
        return self._started and not self._stopped

    def start(self) -> None:
        """Begin running tasks (for a Cooperator made with ``started=False``, or stopped)."""
        self._stopped = False
        self._started = True
        if self._tickWanted:
            self._tickWanted = False
            self._reschedule()

    def stop(self) -> None:
        """Stop running tasks: each one held fails with SchedulerStopped and is forgotten."""
        self._stopped = True
        for t in self._tasks:
            t._completeWith(SchedulerStopped(), Failure(SchedulerStopped()))
        self._tasks = []
        if self._delayedCall is not None:
            self._delayedCall.cancel()
            self._delayedCall = None

    def _addTask(self, task: CooperativeTask[Any]) -> None:
        self._tasks.append(task)
        if self._stopped:
            task._completeWith(SchedulerStopped(), Failure(SchedulerStopped()))
        else:
            self._reschedule()

    def _removeTask(self, task: CooperativeTask[Any]) -> None:
        self._tasks.remove(task)
        if not self._tasks and self._delayedCall is not None:
            self._delayedCall.cancel()
            self._delayedCall = None

    def _reschedule(self) -> None:
        if not self._started:
            self._tickWanted = True
        elif self._delayedCall is None and self._tasks:
            self._delayedCall = self._scheduler(self._tick)

    def _tick(self) -> None:
        """Take units of work round-robin until the slice is over or nothing is runnable."""
        self._delayedCall = None
        sliceOver = self._terminationPredicateFactory()
        while self._tasks:
            for t in self._cursor:
                t._oneWorkUnit()
                if sliceOver():
                    self._reschedule()
                    return
            self._cursor = iter(self._tasks)
        self._reschedule()


_theCooperator = Cooperator()


def coiterate(iterator: _IterT) -> Deferred[_IterT]:
    """Run ``iterator`` on the global Cooperator; the Deferred fires when it ends."""
    return _theCooperator.coiterate(iterator)


def cooperate(iterator: _IterT) -> CooperativeTask[_IterT]:
    """Run ``iterator`` on the global Cooperator as a CooperativeTask."""
    return _theCooperator.cooperate(iterator)
