"""task.Cooperator, cooperate, coiterate and CooperativeTask."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from torsion import task
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.task import Clock, Cooperator


class _Scheduler:
    """A scheduler a test turns by hand: ``tick()`` runs what was scheduled."""

    def __init__(self) -> None:
        self.calls: list[_Call] = []

    def __call__(self, f: Callable[[], None]) -> _Call:
        call = _Call(f, self)
        self.calls.append(call)
        return call

    def tick(self) -> None:
        calls, self.calls = self.calls, []
        for c in calls:
            c.f()


class _Call:
    def __init__(self, f: Callable[[], None], owner: _Scheduler) -> None:
        self.f = f
        self.owner = owner

    def cancel(self) -> None:
        self.owner.calls.remove(self)


def _units(n: int) -> Callable[[], Callable[[], bool]]:
    """A termination predicate factory allowing ``n`` units of work per tick."""

    def factory() -> Callable[[], bool]:
        left = [n]

        def over() -> bool:
            left[0] -= 1
            return left[0] <= 0

        return over

    return factory


def _never() -> Callable[[], bool]:
    return lambda: False


def _recorder(name: str, n: int, log: list[str]) -> Iterator[None]:
    for i in range(n):
        log.append(f"{name}{i}")
        yield None


def _results(d: Deferred[Any]) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    return out


def test_tasks_share_ticks_round_robin_and_resume_where_the_last_tick_ended() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_units(3), scheduler=sched)
    log: list[str] = []
    a = coop.coiterate(_recorder("a", 3, log))
    b = coop.coiterate(_recorder("b", 3, log))
    assert len(sched.calls) == 1 and log == []
    sched.tick()
    assert log == ["a0", "b0", "a1"]
    sched.tick()
    # The next tick goes on with b, not back to a.
    assert log == ["a0", "b0", "a1", "b1", "a2", "b2"]
    assert _results(a) == [] and _results(b) == []
    sched.tick()  # both iterators now run out
    assert len(_results(a)) == 1 and len(_results(b)) == 1
    assert sched.calls == []


def test_coiterate_fires_with_the_iterator_and_can_use_a_given_deferred() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched)
    it = iter([1, 2, 3])
    mine: Deferred[Any] = Deferred()
    assert coop.coiterate(it, mine) is mine
    sched.tick()
    assert _results(mine) == [it]


def test_an_iterator_that_raises_fails_the_task() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched)

    def bad() -> Iterator[None]:
        yield None
        raise ZeroDivisionError("boom")

    t = coop.cooperate(bad())
    done = _results(t.whenDone())
    sched.tick()
    assert isinstance(done[0], Failure) and done[0].check(ZeroDivisionError)
    with pytest.raises(task.TaskFailed):
        t.pause()
    with pytest.raises(task.TaskFailed):
        t.stop()
    # whenDone after the end fires at once with the same result.
    again = _results(t.whenDone())
    again[0].trap(ZeroDivisionError)


def test_a_yielded_deferred_pauses_the_task_until_it_fires() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched)
    gate: Deferred[None] = Deferred()
    log: list[str] = []

    def work() -> Iterator[object]:
        log.append("before")
        yield gate
        log.append("after")

    t = coop.cooperate(work())
    sched.tick()
    assert log == ["before"] and sched.calls == [] and t._pauseCount == 1
    gate.callback(None)
    assert len(sched.calls) == 1
    sched.tick()
    assert log == ["before", "after"]


def test_a_yielded_deferred_that_fails_fails_the_task() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched)
    gate: Deferred[None] = Deferred()
    t = coop.cooperate(iter([gate]))
    done = _results(t.whenDone())
    sched.tick()
    gate.errback(KeyError("k"))
    done[0].trap(KeyError)
    with pytest.raises(task.TaskFailed):
        t.stop()


def test_pause_resume_nest_and_resume_of_running_task_is_not_paused() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched)
    log: list[str] = []
    t = coop.cooperate(_recorder("x", 2, log))
    with pytest.raises(task.NotPaused):
        t.resume()
    t.pause()
    t.pause()
    assert sched.calls == []  # the only task is paused: the tick is cancelled
    t.resume()
    sched.tick()
    assert log == []
    t.resume()
    sched.tick()
    assert log == ["x0", "x1"]


def test_stop_fails_whenDone_with_TaskStopped_and_later_calls_raise() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched)
    t = coop.cooperate(iter(range(10)))
    first, second = _results(t.whenDone()), _results(t.whenDone())
    t.stop()
    first[0].trap(task.TaskStopped)
    assert second[0] is first[0]
    with pytest.raises(task.TaskStopped):
        t.stop()
    with pytest.raises(task.TaskStopped):
        t.pause()
    assert sched.calls == [] and coop._tasks == []


def test_an_exhausted_task_raises_TaskDone() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched)
    t = coop.cooperate(iter([]))
    sched.tick()
    with pytest.raises(task.TaskDone):
        t.stop()
    assert issubclass(task.TaskDone, task.TaskFinished)
    assert issubclass(task.TaskFinished, task.SchedulerError)


def test_stopping_the_cooperator_fails_its_tasks_and_refuses_new_ones() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched)
    a = _results(coop.coiterate(iter(range(3))))
    assert coop.running
    coop.stop()
    assert not coop.running and sched.calls == []
    a[0].trap(task.SchedulerStopped)
    late = _results(coop.coiterate(iter(range(3))))
    late[0].trap(task.SchedulerStopped)


def test_a_cooperator_made_unstarted_waits_for_start() -> None:
    sched = _Scheduler()
    coop = Cooperator(terminationPredicateFactory=_never, scheduler=sched, started=False)
    assert not coop.running
    done = _results(coop.coiterate(iter(range(3))))
    assert sched.calls == []
    coop.start()
    assert coop.running and len(sched.calls) == 1
    sched.tick()
    assert len(done) == 1


def test_the_default_termination_predicate_ends_a_tick_after_a_time_slice() -> None:
    sched = _Scheduler()
    coop = Cooperator(scheduler=sched)
    count = 0

    def forever() -> Iterator[None]:
        nonlocal count
        while True:
            count += 1
            yield None

    t = coop.cooperate(forever())
    sched.tick()
    # One tick of ~10 ms ran some work, then asked for another tick.
    assert count > 0 and len(sched.calls) == 1
    t.stop()


def test_cooperator_on_a_clock_scheduler() -> None:
    clock = Clock()
    coop = Cooperator(
        terminationPredicateFactory=_units(1), scheduler=lambda f: clock.callLater(1, f)
    )
    done = _results(coop.coiterate(iter(range(3))))
    for _ in range(3):
        clock.advance(1)
    assert done == [] and len(clock.getDelayedCalls()) == 1
    clock.advance(1)
    assert len(done) == 1 and clock.getDelayedCalls() == []


def test_global_cooperate_runs_on_the_global_reactor(tmp_path: Any) -> None:
    # The global Cooperator schedules on the global reactor, so run it in a child.
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parent.parent / "src"
    prog = tmp_path / "coop.py"
    prog.write_text(
        "from torsion import reactor, task\n"
        "log = []\n"
        "def gen(name):\n"
        "    for i in range(3):\n"
        "        log.append(name + str(i))\n"
        "        yield None\n"
        "t = task.cooperate(gen('a'))\n"
        "d = task.coiterate(gen('b'))\n"
        "d.addCallback(lambda _: t.whenDone())\n"
        "d.addCallback(lambda _: (print(sorted(log)), reactor.stop()))\n"
        "reactor.run()\n"
    )
    out = subprocess.run(
        [sys.executable, str(prog)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PYTHONPATH": str(src)},
    )
    assert out.stdout == "['a0', 'a1', 'a2', 'b0', 'b1', 'b2']\n", out.stderr
