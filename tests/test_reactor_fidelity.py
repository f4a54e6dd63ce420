"""The reactor behaving as Twisted's does (issue 11, §1).

A replaced ``reactor.seconds`` (or a call's ``seconds``) drives ``callLater``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

# -- time ----------------------------------------------------------------------------


def test_replaced_seconds_is_used_by_call_later(reactor: Any) -> None:
    original = reactor.seconds
    reactor.seconds = lambda: 100
    try:
        call = reactor.callLater(5, lambda: None)
        assert call.getTime() == 105
        assert call.seconds() == 100
        call.reset(1)
        assert call.getTime() == 101
    finally:
        reactor.seconds = original
    call.cancel()
    later = reactor.callLater(5, lambda: None)
    assert abs(later.getTime() - (time.time() + 5)) < 60
    later.cancel()


def test_replaced_seconds_decides_when_calls_run(reactor: Any) -> None:
    now = [1000.0]
    reactor.seconds = lambda: now[0]
    ran: list[str] = []
    reactor.callLater(3600, ran.append, "an hour later")
    reactor.callLater(0, ran.append, "now")
    for _ in range(3):
        reactor.iterate(0)
    assert ran == ["now"]
    now[0] += 3600
    for _ in range(3):
        reactor.iterate(0)
    assert ran == ["now", "an hour later"]


def test_a_calls_own_seconds_drives_its_reset(reactor: Any) -> None:
    call = reactor.callLater(5, lambda: None)
    assert call.seconds() == pytest.approx(time.time(), abs=60)  # the reactor's clock
    call.seconds = lambda: 2000
    call.reset(7)
    assert call.getTime() == 2007
    call.delay(1)
    assert call.getTime() == 2008
    call.cancel()
