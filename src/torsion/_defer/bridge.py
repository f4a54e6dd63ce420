"""Awaiting across Deferreds and asyncio, with nothing to convert.

Theory of operation
-------------------
Two kinds of runner drive coroutines: torsion's (``ensureDeferred``,
``Deferred.fromCoroutine``, ``inlineCallbacks``: ``torsion._defer.inline``),
which understands a yielded Deferred or asyncio Future, and asyncio's Task,
which understands only Futures.  Two hooks make each kind of awaitable work
under each runner:

* ``Deferred.__await__`` on a pending Deferred asks ``futureForTask``: when
  an asyncio Task (not torsion's runner) is the one running, it yields an
  asyncio Future on the Task's loop instead of the Deferred.  The Deferred's
  result sets the Future; its cancellation (torsion's ``CancelledError``)
  cancels the Future, so the Task sees asyncio's ``CancelledError``; and
  cancelling the Future (the Task was cancelled) cancels the Deferred.

* The torsion runner wraps each step of its coroutine in ``enter``/``leave``
  when an asyncio loop is running: for that time a ``DeferredTask`` is
  asyncio's current task, so ``asyncio.current_task()``, ``asyncio.timeout``
  and libraries that need a task (aiohttp's timeouts) work inside
  Deferred-driven coroutines.  ``DeferredTask.cancel()`` cancels what the
  coroutine waits on.  A yielded asyncio Future is waited on with
  ``Deferred.fromFuture`` (in ``inline``).

Nothing here imports asyncio: if no module has, there is no asyncio
awaitable to bridge.
"""

from __future__ import annotations

import itertools
import sys
import threading
from typing import Any

__all__ = ["DeferredTask", "enter", "futureForTask", "leave", "noLoopError"]

_names = itertools.count(1)


class DeferredTask:
    """What ``asyncio.current_task()`` is inside a coroutine that a Deferred drives."""

    __slots__ = ("_cancelling", "_loop", "_name", "_runner")

    def __init__(self, runner: Any, loop: Any) -> None:
        self._runner = runner
        self._loop = loop
        self._cancelling = 0
        self._name = f"Deferred-{next(_names)}"

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<DeferredTask {self._name} {state} coro={self._runner.gen!r}>"

    def get_loop(self) -> Any:
        return self._loop

    def get_coro(self) -> Any:
        return self._runner.gen

    def get_context(self) -> Any:
        return self._runner.context

    def get_name(self) -> str:
        return self._name

    def set_name(self, value: object) -> None:
        self._name = str(value)

    def done(self) -> bool:
        return self._runner.gen is None

    def cancelled(self) -> bool:
        return False

    def cancel(self, msg: Any = None) -> bool:
        """Cancel what the coroutine waits on (it sees CancelledError there)."""
        if self.done():
            return False
        self._cancelling += 1
        waitingOn = self._runner.waitingOn
        if waitingOn is not None:
            waitingOn.cancel()
        return True

    def cancelling(self) -> int:
        return self._cancelling

    def uncancel(self) -> int:
        if self._cancelling > 0:
            self._cancelling -= 1
        return self._cancelling


class _Running(threading.local):
    #: The torsion EventLoop running in this thread, set by the loop itself:
    #: asyncio's own lookup of the running loop costs more than the rest here.
    loop: Any = None
    #: The DeferredTask whose coroutine torsion's runner is stepping, if any.
    task: Any = None


running = _Running()

# asyncio's functions, looked up once asyncio has been imported by someone.
_getRunningLoop: Any = None
_currentTask: Any = None
_enterTask: Any = None
_leaveTask: Any = None


def _asyncioLoaded() -> bool:
    global _getRunningLoop, _currentTask, _enterTask, _leaveTask
    asyncio = sys.modules.get("asyncio")
    if asyncio is None or not hasattr(asyncio, "tasks"):
        return False
    tasks = asyncio.tasks
    current = getattr(tasks, "_current_tasks", None)
    _getRunningLoop = asyncio.events._get_running_loop
    _currentTask = current.get if isinstance(current, dict) else tasks.current_task
    _enterTask = tasks._enter_task
    _leaveTask = tasks._leave_task
    return True


def _runningLoop() -> Any:
    if _getRunningLoop is None and not _asyncioLoaded():
        return None
    loop = running.loop
    if loop is not None:
        return loop
    return _getRunningLoop()


def enter(runner: Any) -> Any:
    """Make ``runner``'s DeferredTask asyncio's current task (if a loop runs); a token."""
    loop = _runningLoop()
    if loop is None:
        return None
    task = runner.task
    if task is None or task._loop is not loop:
        task = runner.task = DeferredTask(runner, loop)
    outer = running.task
    try:
        _enterTask(loop, task)
    except RuntimeError:
        # Stepped from inside another task's step: that one steps aside meanwhile.
        outer = _currentTask(loop)
        _leaveTask(loop, outer)
        _enterTask(loop, task)
        running.task = task
        return (loop, task, outer)
    running.task = task
    return (task, outer) if outer is not None else task


def leave(token: Any) -> None:
    """Undo ``enter``."""
    if token.__class__ is tuple:
        if len(token) == 3:
            loop, task, outer = token
            _leaveTask(loop, task)
            _enterTask(loop, outer)
            running.task = outer if outer.__class__ is DeferredTask else None
        else:
            task, outer = token  # nested torsion steps: the outer one is current again
            _leaveTask(task._loop, task)
            _enterTask(outer._loop, outer)
            running.task = outer
    else:
        _leaveTask(token._loop, token)
        running.task = None


def futureForTask(d: Any) -> Any:
    """An asyncio Future for ``d`` if an asyncio Task is running the caller, else None."""
    if running.task is not None:
        return None  # torsion's runner: it waits on the Deferred itself
    loop = _runningLoop()
    if loop is None:
        return None
    task = _currentTask(loop)
    if task is None or task.__class__ is DeferredTask:
        return None  # torsion's runner: it waits on the Deferred itself
    from torsion._defer.errors import CancelledError

    future = loop.create_future()

    def settle(result: Any) -> None:
        if future.done():
            return
        failure = result if _isFailure(result) else None
        if failure is None:
            future.set_result(result)
        elif failure.check(CancelledError):
            future.cancel()
        else:
            future.set_exception(failure.value)

    def futureDone(f: Any) -> None:
        if f.cancelled() and not d.called:
            d.cancel()

    d.addBoth(settle)
    future.add_done_callback(futureDone)
    return future


def _isFailure(obj: object) -> bool:
    from torsion.failure import Failure

    return isinstance(obj, Failure)


def noLoopError(e: BaseException) -> BaseException | None:
    """A clearer error for asyncio's "no running event loop" inside a Deferred's coroutine."""
    if not isinstance(e, RuntimeError) or str(e) != "no running event loop":
        return None
    return RuntimeError(
        "asyncio code needs a running asyncio event loop, and this coroutine "
        "(driven by a Deferred) ran while none was running: run it while the torsion "
        "reactor runs (reactor.run(), task.react(), torsion.aio.run()), where the "
        "reactor is the running asyncio loop"
    )
