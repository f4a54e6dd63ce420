"""The timer queue behind callLater, on a fake clock (its logic, not the reactor's loop).

The reactor-level behaviour (ordering through ``run()``, errors logged, a
``callLater(0)`` chain not starving I/O) is in test_reactor_core.py.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from typing import Any

import pytest

from torsion import error
from torsion._core.timers import DelayedCall, TimerQueue
from torsion.defer import Deferred


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def seconds(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def queue(clock: FakeTime) -> TimerQueue:
    return TimerQueue(clock)


def run(queue: TimerQueue, clock: FakeTime) -> None:
    queue.runDue(clock.now)


def test_order_by_time_then_by_scheduling(queue: TimerQueue, clock: FakeTime) -> None:
    ran: list[str] = []
    queue.callLater(2, ran.append, "two")
    for name in "abcde":  # five calls due at the very same time share a bucket
        queue.callLater(1, ran.append, name)
    queue.callLater(0.5, ran.append, "half")
    clock.now += 5
    run(queue, clock)
    assert ran == ["half", *"abcde", "two"]
    assert len(queue) == 0
    assert queue.timeout(clock.now) is None


def test_the_wait_for_a_far_call_is_at_most_a_day(queue: TimerQueue, clock: FakeTime) -> None:
    """A call due in 1e10 s (or at infinity) asks the poller to wait a day, no
    more: longer, epoll's and poll's timeouts overflow."""
    from torsion._core.timers import MAX_WAIT

    queue.callLater(1e10, lambda: None)
    assert queue.timeout(clock.now) == MAX_WAIT == 86400.0
    queue.callLater(3.0, lambda: None)
    assert queue.timeout(clock.now) == 3.0


def test_only_due_calls_run(queue: TimerQueue, clock: FakeTime) -> None:
    ran: list[int] = []
    queue.callLater(1, ran.append, 1)
    queue.callLater(3, ran.append, 3)
    assert queue.timeout(clock.now) == pytest.approx(1)
    clock.now += 1
    run(queue, clock)
    assert ran == [1]
    assert queue.timeout(clock.now) == pytest.approx(2)
    assert [c.func for c in queue.getDelayedCalls()] == [ran.append]


def test_keywords_are_passed(queue: TimerQueue, clock: FakeTime) -> None:
    got: list[Any] = []
    queue.callLater(0, lambda *a, **kw: got.append((a, kw)), 1, x=2)
    run(queue, clock)
    assert got == [((1,), {"x": 2})]


@pytest.mark.parametrize("shared", [False, True])
def test_cancel_single_and_shared(queue: TimerQueue, clock: FakeTime, shared: bool) -> None:
    ran: list[str] = []
    a = queue.callLater(1, ran.append, "a")
    b = queue.callLater(1 if shared else 2, ran.append, "b")
    c = queue.callLater(1 if shared else 3, ran.append, "c")
    b.cancel()
    assert not b.active()
    assert len(queue) == 2
    assert set(queue.getDelayedCalls()) == {a, c}
    clock.now += 5
    run(queue, clock)
    assert ran == ["a", "c"]
    assert len(queue) == 0


def test_cancelling_every_call_at_a_time_leaves_no_live_time(
    queue: TimerQueue, clock: FakeTime
) -> None:
    calls = [queue.callLater(1, lambda: None) for _ in range(3)]
    later = queue.callLater(2, lambda: None)
    for call in calls:
        call.cancel()
    # The next live call is the one at +2: the dead time at +1 is skipped.
    assert queue.timeout(clock.now) == pytest.approx(2)
    assert queue.getDelayedCalls() == [later]


def test_a_call_cancels_a_later_call_of_its_own_bucket(queue: TimerQueue, clock: FakeTime) -> None:
    ran: list[str] = []
    second: list[DelayedCall] = []
    queue.callLater(1, lambda: (ran.append("first"), second[0].cancel()))
    second.append(queue.callLater(1, ran.append, "second"))
    queue.callLater(1, ran.append, "third")
    clock.now += 1
    run(queue, clock)
    assert ran == ["first", "third"]
    assert not second[0].active()
    with pytest.raises(error.AlreadyCancelled):
        second[0].cancel()
    assert len(queue) == 0
    run(queue, clock)
    assert ran == ["first", "third"]


@pytest.mark.parametrize("move_by", [0.0, 1.0])
def test_a_call_moves_a_later_call_of_its_own_bucket(
    queue: TimerQueue, clock: FakeTime, move_by: float
) -> None:
    """Moved while its bucket runs: it runs once, on a later turn (even if due now)."""
    ran: list[str] = []
    second: list[DelayedCall] = []
    queue.callLater(1, lambda: (ran.append("first"), second[0].reset(move_by)))
    second.append(queue.callLater(1, ran.append, "second"))
    clock.now += 1
    run(queue, clock)
    assert ran == ["first"]
    assert queue.getDelayedCalls() == second
    assert second[0].getTime() == clock.now + move_by
    clock.now += move_by
    run(queue, clock)
    assert ran == ["first", "second"]
    run(queue, clock)
    assert ran == ["first", "second"]
    assert len(queue) == 0


def test_calls_scheduled_during_a_pass_wait_a_turn(queue: TimerQueue, clock: FakeTime) -> None:
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        queue.callLater(0, ran.append, "scheduled")  # due at once, but waits a turn

    queue.callLater(0, first)
    run(queue, clock)
    assert ran == ["first"]
    run(queue, clock)
    assert ran == ["first", "scheduled"]


def test_a_call_scheduled_in_a_pass_and_cancelled_in_it_never_runs(
    queue: TimerQueue, clock: FakeTime
) -> None:
    ran: list[str] = []
    made: list[DelayedCall] = []
    queue.callLater(0, lambda: made.append(queue.callLater(0, ran.append, "never")))
    queue.callLater(0, lambda: made[0].cancel())
    run(queue, clock)
    run(queue, clock)
    assert ran == []
    assert len(queue) == 0


def test_a_call_due_in_its_own_pass_then_cancelled_never_runs(
    queue: TimerQueue, clock: FakeTime
) -> None:
    """The clock read by callLater is behind the pass's ``now`` (a clock that went back)."""
    ran: list[str] = []
    made: list[DelayedCall] = []

    def first() -> None:
        clock.now = 100.5
        made.append(queue.callLater(0, ran.append, "never"))  # due, but waits a turn

    queue.callLater(0, first)
    queue.callLater(1, lambda: made[0].cancel())  # runs after "never" was set aside
    queue.runDue(102.0)
    assert len(queue) == 0
    queue.runDue(102.0)
    assert ran == []


def test_a_call_scheduled_in_a_pass_and_moved_in_it_runs_once(
    queue: TimerQueue, clock: FakeTime
) -> None:
    ran: list[str] = []
    made: list[DelayedCall] = []
    queue.callLater(0, lambda: made.append(queue.callLater(0, ran.append, "moved")))
    queue.callLater(0, lambda: made[0].delay(1))
    run(queue, clock)
    assert queue.getDelayedCalls() == made
    run(queue, clock)
    assert ran == []
    clock.now += 1
    run(queue, clock)
    run(queue, clock)
    assert ran == ["moved"]


def test_an_exception_is_logged_and_the_bucket_goes_on(
    queue: TimerQueue, clock: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def boom() -> None:
        raise ZeroDivisionError("bucket boom")

    queue.callLater(1, ran.append, "before")
    queue.callLater(1, boom)
    queue.callLater(1, ran.append, "after")
    queue.callLater(1.5, boom)
    clock.now += 2
    with caplog.at_level(logging.ERROR, logger="torsion"):
        run(queue, clock)
    assert ran == ["before", "after"]
    assert caplog.text.count("Unhandled error in delayed call") == 2


@pytest.mark.parametrize("shared", [False, True])
def test_a_base_exception_propagates_and_loses_no_call(
    queue: TimerQueue, clock: FakeTime, shared: bool
) -> None:
    ran: list[str] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    queue.callLater(1, ran.append, "a")
    queue.callLater(1, interrupt)
    queue.callLater(1 if shared else 2, ran.append, "b")
    queue.callLater(1 if shared else 2, ran.append, "c")
    clock.now += 2
    with pytest.raises(KeyboardInterrupt):
        run(queue, clock)
    assert ran == ["a"]
    assert len(queue) == 2
    run(queue, clock)
    assert ran == ["a", "b", "c"]


def test_many_cancellations_keep_the_heap_proportional_to_live_calls(
    queue: TimerQueue, clock: FakeTime
) -> None:
    ran: list[int] = []
    calls = [queue.callLater(1 + i / 1000, ran.append, i) for i in range(4000)]
    for call in calls[:3900]:
        call.cancel()
    assert len(queue) == 100
    assert len(queue._times) <= 200  # rebuilt as cancellations pile up
    assert queue._dead == len(queue._times) - len(queue._buckets)
    clock.now += 10
    run(queue, clock)
    assert ran == list(range(3900, 4000))
    assert len(queue) == 0
    assert queue.timeout(clock.now) is None


def test_a_time_used_again_after_its_calls_were_cancelled(
    queue: TimerQueue, clock: FakeTime
) -> None:
    ran: list[str] = []
    queue.callLater(1, ran.append, "gone").cancel()
    queue.callLater(1, ran.append, "new")  # the same time: its old heap entry is dead
    assert len(queue) == 1
    clock.now += 1
    run(queue, clock)
    assert ran == ["new"]
    assert len(queue) == 0
    assert queue.timeout(clock.now) is None


@pytest.mark.parametrize("delay", [-1, -0.001, math.nan])
def test_a_negative_or_nan_delay_is_refused(queue: TimerQueue, delay: float) -> None:
    with pytest.raises(ValueError, match="delay >= 0"):
        queue.callLater(delay, lambda: None)
    assert len(queue) == 0


def test_a_non_callable_is_refused(queue: TimerQueue) -> None:
    with pytest.raises(TypeError, match="callable"):
        queue.callLater(1, "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        queue.callLater("1", lambda: None)  # type: ignore[arg-type]
    assert len(queue) == 0


def test_clear_drops_everything(queue: TimerQueue, clock: FakeTime) -> None:
    ran: list[int] = []
    queue.callLater(0, ran.append, 1)
    queue.callLater(0, ran.append, 2)
    queue.clear()
    run(queue, clock)
    assert ran == []
    assert queue.getDelayedCalls() == []


@pytest.mark.parametrize("seed", range(8))
def test_random_operations_match_a_reference_model(seed: int) -> None:
    """Schedule, cancel, reset, delay and run at random; compare with a plain sorted list.

    Delays come from a few values and time moves in the same steps, so many
    calls share a due time (the shared buckets) and times are reused after
    their calls were cancelled (the dead heap entries).
    """
    rng = random.Random(seed)
    clock = FakeTime()
    queue = TimerQueue(clock)
    order = itertools.count()
    model: dict[int, tuple[float, int]] = {}  # name -> (time, order of (re)scheduling)
    calls: dict[int, DelayedCall] = {}
    ran: list[int] = []
    steps = [0.0, 0.5, 1.0, 1.5]
    for name in range(1500):
        op = rng.random()
        live = sorted(model)
        if op < 0.45 or not live:
            delay = rng.choice(steps)
            calls[name] = queue.callLater(delay, ran.append, name)
            model[name] = (clock.now + delay, next(order))
        elif op < 0.6:
            victim = rng.choice(live)
            calls[victim].cancel()
            del model[victim]
        elif op < 0.7:
            victim = rng.choice(live)
            delay = rng.choice(steps)
            calls[victim].reset(delay)
            model[victim] = (clock.now + delay, next(order))
        elif op < 0.75:
            victim = rng.choice(live)
            by = rng.choice([-0.5, 0.5, 1.0])
            by = max(by, clock.now - model[victim][0])  # not into the past
            calls[victim].delay(by)
            model[victim] = (model[victim][0] + by, next(order))
        else:
            clock.now += rng.choice(steps)
            due = sorted((when, key, n) for n, (when, key) in model.items() if when <= clock.now)
            del ran[:]
            queue.runDue(clock.now)
            assert ran == [n for _, _, n in due]
            for n in ran:
                del model[n]
        assert len(queue) == len(model)
        # Dead heap entries: times with no bucket, or a second entry for one time.
        assert queue._dead == len(queue._times) - len(queue._buckets)
        assert {id(c) for c in queue.getDelayedCalls()} == {id(calls[n]) for n in model}
        expected = min((when for when, _ in model.values()), default=None)
        got = queue.timeout(clock.now)
        if expected is None:
            assert got is None
        else:
            assert got == pytest.approx(max(expected - clock.now, 0.0))


def test_callLater_kept_as_a_class_attribute_still_works(reactor: Any, run: Any) -> None:
    """Twisted programs keep ``callLater = reactor.callLater`` in a class body and call
    ``self.callLater(...)``: it must be a bound method (not a plain function)."""

    class Client:
        callLater = reactor.callLater

    d: Deferred[str] = Deferred()
    call = Client().callLater(0, d.callback, "fired")
    assert run(d) == "fired"
    assert call.called
