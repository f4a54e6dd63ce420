"""CPython's own asyncio event-loop tests, run against ``torsion.aio.new_event_loop()``.

The loop-generic suites of ``test.test_asyncio`` (the ``test_events`` mixins
for the loop and subprocesses, and the subprocess, SSL, low-level socket,
sendfile, streams and server tests) are imported from the interpreter's own
test package and subclassed with a loop factory that makes torsion loops, as
CPython does for each of its selector loops.  Tests that make their loop
with ``asyncio.new_event_loop()`` get torsion's through the event loop
policy, installed for each test.

``SKIPS`` lists every test that does not run, with the reason.  Anything not
listed must pass.
"""

from __future__ import annotations

import asyncio
import sys
import unittest
from typing import Any

import pytest

import torsion.aio

test_asyncio = pytest.importorskip("test.test_asyncio")
# CPython's test package checks for leaks of its own; ours run too (conftest).
from test.test_asyncio import (  # noqa: E402
    test_events,
    test_sendfile,
    test_server,
    test_sock_lowlevel,
    test_ssl,
    test_streams,
    test_subprocess,
)
from test.test_asyncio import utils as test_utils  # noqa: E402

#: "Class.test": why it does not run on torsion's loop.
SKIPS: dict[str, str] = {
    "TorsionEventLoopTests.test_timeout_rounding": (
        "counts calls of BaseEventLoop._run_once, which torsion's loop does not use"
        " (its turn is its own); the same check on torsion's turn:"
        " tests/test_aio.py::test_tiny_timeouts_do_not_spin"
    ),
}


def _withSkips(cls: type) -> type:
    for name in dir(cls):
        reason = SKIPS.get(f"{cls.__name__}.{name}")
        if reason is not None:
            setattr(cls, name, unittest.skip(reason)(getattr(cls, name)))
    return cls


class _TorsionPolicy:
    """Install torsion's event loop policy for each test (for asyncio.new_event_loop())."""

    def setUp(self) -> None:
        self._oldPolicy = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(torsion.aio.EventLoopPolicy())
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        asyncio.set_event_loop_policy(self._oldPolicy)

    def create_event_loop(self) -> Any:
        return torsion.aio.new_event_loop()

    def new_loop(self) -> Any:
        return torsion.aio.new_event_loop()


@_withSkips
class TorsionEventLoopTests(
    _TorsionPolicy,
    test_events.EventLoopTestsMixin,
    test_events.SubprocessTestsMixin,
    test_utils.TestCase,
):
    pass


@_withSkips
class TorsionSubprocessTests(_TorsionPolicy, test_subprocess.SubprocessMixin, test_utils.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.loop = torsion.aio.new_event_loop()
        self.set_event_loop(self.loop)

    def tearDown(self) -> None:
        # test_kill_issue43884 kills a shell (`sleep 1; sleep 1`) while, now and
        # then, its first `sleep` still runs and holds the stdout pipe; asyncio's
        # pipe transports, on any loop, warn if the loop closes before that pipe's
        # EOF.  So wait (bounded) until no descriptor is left open for reading.
        loop = self.loop
        if not loop.is_closed():
            deadline = loop.time() + 3.0
            while loop.getReaders() and loop.time() < deadline:
                loop.run_until_complete(asyncio.sleep(0.01))
        super().tearDown()


@_withSkips
class TorsionSockTests(_TorsionPolicy, test_sock_lowlevel.BaseSockTestsMixin, test_utils.TestCase):
    pass


@_withSkips
class TorsionSendfileTests(_TorsionPolicy, test_sendfile.SendfileTestsBase, test_utils.TestCase):
    pass


@_withSkips
class TorsionSSLTests(_TorsionPolicy, test_ssl.TestSSL):
    pass


@_withSkips
class TorsionStreamTests(_TorsionPolicy, test_streams.StreamTests):
    pass


@_withSkips
class TorsionStartServerTests(_TorsionPolicy, test_server.BaseStartServer, unittest.TestCase):
    pass


def test_skips_name_real_tests() -> None:
    """Every entry of SKIPS names a test that exists (so the list stays honest)."""
    classes = {
        c.__name__: c
        for c in (
            TorsionEventLoopTests,
            TorsionSubprocessTests,
            TorsionSockTests,
            TorsionSendfileTests,
            TorsionSSLTests,
            TorsionStreamTests,
            TorsionStartServerTests,
        )
    }
    for key in SKIPS:
        cls, _, name = key.partition(".")
        assert hasattr(classes[cls], name), key


if sys.platform == "win32":  # pragma: no cover
    pytest.skip("torsion.aio runs on POSIX systems", allow_module_level=True)
