"""ReconnectingClientFactory's back-off arithmetic, on a task.Clock (Twisted's schedule)."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from torsion.protocol import ReconnectingClientFactory
from torsion.task import Clock


class FakeConnector:
    def __init__(self) -> None:
        self.connects = 0

    def connect(self) -> None:
        self.connects += 1

    def stopConnecting(self) -> None:
        pass


def delays(factory: ReconnectingClientFactory, clock: Clock, n: int) -> list[float]:
    """Fail ``n`` times in a row; the delay before each reconnection."""
    connector = FakeConnector()
    out = []
    for _ in range(n):
        factory.clientConnectionFailed(connector, None)  # type: ignore[arg-type]
        (call,) = clock.getDelayedCalls()
        out.append(call.getTime() - clock.seconds())
        clock.advance(call.getTime() - clock.seconds())
    assert connector.connects == n
    return out


def make(jitter: float = 0.0, **attrs: Any) -> tuple[ReconnectingClientFactory, Clock]:
    f = ReconnectingClientFactory()
    f.noisy = False
    f.jitter = jitter
    for k, v in attrs.items():
        setattr(f, k, v)
    f.clock = clock = Clock()
    return f, clock


def test_first_retry_after_initial_delay_then_grows_by_factor() -> None:
    f, clock = make()
    got = delays(f, clock, 4)
    assert got == pytest.approx([1.0, math.e, math.e**2, math.e**3])
    assert f.delay == pytest.approx(math.e**4)


def test_reset_delay_starts_again_at_initial_delay() -> None:
    f, clock = make(initialDelay=0.5)
    delays(f, clock, 3)
    f.resetDelay()
    assert delays(f, clock, 1) == pytest.approx([0.5])


def test_delay_capped_at_max_delay() -> None:
    f, clock = make(maxDelay=5.0)
    assert delays(f, clock, 4) == pytest.approx([1.0, math.e, 5.0, 5.0])


def test_jitter_applies_to_the_scheduled_delay_and_compounds() -> None:
    """The jittered delay is the one scheduled, and the next grows from it."""
    f, clock = make(jitter=ReconnectingClientFactory.jitter)
    random.seed(1234)
    got = delays(f, clock, 3)
    random.seed(1234)
    want = []
    d = 1.0
    for _ in range(3):
        d = random.normalvariate(d, d * ReconnectingClientFactory.jitter)
        want.append(d)
        d *= math.e
    assert got == pytest.approx(want)
    assert f.delay == pytest.approx(d)


def test_twisteds_constants() -> None:
    assert ReconnectingClientFactory.initialDelay == 1.0
    assert ReconnectingClientFactory.factor == math.e
    assert ReconnectingClientFactory.jitter == 0.119626565582
    assert ReconnectingClientFactory.maxDelay == 3600


def test_max_retries_stops_scheduling() -> None:
    f, clock = make(maxRetries=2)
    connector = FakeConnector()
    for _ in range(2):
        f.clientConnectionFailed(connector, None)  # type: ignore[arg-type]
        clock.advance(1000)
    f.clientConnectionFailed(connector, None)  # type: ignore[arg-type]
    assert clock.getDelayedCalls() == []
    assert connector.connects == 2
