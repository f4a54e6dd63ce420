"""torsion.trial.TestCase: Deferreds and coroutines on the global reactor, the timeout,
the janitor and logged errors.

The global reactor is installed when this module is imported (it lives as
long as the process), so the leak check does not count its descriptors.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import pytest

from _trial_results import runTest
from torsion import defer, error, protocol, reactors, task
from torsion.defer import Deferred
from torsion.trial import DirtyReactorAggregateError, TestCase

reactor = reactors.getGlobal()


def later(value: Any = None, delay: float = 0.001) -> Deferred[Any]:
    return task.deferLater(reactor, delay, lambda: value)


# -- waiting for Deferreds and coroutines ---------------------------------------------


def test_every_part_may_return_a_deferred_or_be_a_coroutine() -> None:
    order = []

    class T(TestCase):
        async def setUp(self) -> None:
            order.append(await later("setUp"))

        @defer.inlineCallbacks
        def test_it(self) -> Any:
            order.append((yield later("test")))
            self.addCleanup(lambda: later("cleanup").addCallback(order.append))

        def tearDown(self) -> Deferred[Any]:
            return later("tearDown").addCallback(order.append)

    assert runTest(T).kinds() == {"successes": 1}
    assert order == ["setUp", "test", "cleanup", "tearDown"]


def test_a_failing_deferred_fails_the_test() -> None:
    class T(TestCase):
        def test_fail(self) -> Deferred[Any]:
            return later().addCallback(lambda _: self.fail("late"))

        async def test_error(self) -> None:
            await later()
            raise ValueError("late error")

    assert runTest(T, "test_fail").kinds() == {"failures": 1}
    results = runTest(T, "test_error")
    assert results.kinds() == {"errors": 1}
    assert "late error" in results.texts()


def test_tearDown_runs_after_a_failing_test_but_not_after_a_failing_setUp() -> None:
    calls = []

    class T(TestCase):
        def setUp(self) -> None:
            if self._testMethodName == "test_setup_fails":
                raise ValueError()

        def test_fails(self) -> None:
            self.fail("no")

        def test_setup_fails(self) -> None:
            calls.append("test")

        def tearDown(self) -> None:
            calls.append("tearDown")

    runTest(T, "test_fails")
    assert calls == ["tearDown"]
    assert runTest(T, "test_setup_fails").kinds() == {"errors": 1}
    assert calls == ["tearDown"]


def test_assertFailure() -> None:
    class T(TestCase):
        def test_right(self) -> Deferred[Any]:
            d = self.assertFailure(defer.fail(ValueError("v")), KeyError, ValueError)
            return d.addCallback(lambda e: self.assertEqual(e.args, ("v",)))

        def test_wrong(self) -> Deferred[Any]:
            return self.assertFailure(defer.fail(ValueError()), KeyError)

        def test_none(self) -> Deferred[Any]:
            return self.assertFailure(defer.succeed(3), KeyError)

    assert runTest(T, "test_right").kinds() == {"successes": 1}
    assert runTest(T, "test_wrong").kinds() == {"failures": 1}
    results = runTest(T, "test_none")
    assert results.kinds() == {"failures": 1}
    assert "did not catch an error, instead got 3" in results.texts()


def test_stopping_the_reactor_in_a_test_does_not_kill_it_for_the_next() -> None:
    class T(TestCase):
        def test_it(self) -> Deferred[Any]:
            d = later()
            d.addCallback(lambda _: reactor.stop())
            return d

    assert runTest(T).kinds() == {"successes": 1}
    assert runTest(T).kinds() == {"successes": 1}


# -- the timeout ----------------------------------------------------------------------


def test_timeout_fails_and_says_where_the_test_waits() -> None:
    class T(TestCase):
        timeout = 0.05

        async def test_it(self) -> None:
            await Deferred()  # the line named in the message

    results = runTest(T)
    assert results.kinds() == {"errors": 1}
    text = results.texts()
    assert "TimeoutError" in text
    assert "(test_it) still running at 0.05 secs" in text
    assert "test_trial_testcase.py" in text and "await Deferred()  # the line named" in text


def test_method_timeout_overrides_class_and_covers_inlineCallbacks() -> None:
    class T(TestCase):
        timeout = 60

        @defer.inlineCallbacks
        def test_it(self) -> Any:
            yield Deferred()

        test_it.timeout = 0.05  # type: ignore[attr-defined]

    text = runTest(T).texts()
    assert "still running at 0.05 secs" in text
    assert "yield Deferred()" in text


def test_timeout_applies_to_setUp_too() -> None:
    class T(TestCase):
        timeout = 0.05

        def setUp(self) -> Deferred[Any]:
            return Deferred()

        def test_it(self) -> None:
            pass

    assert "(setUp) still running" in runTest(T).texts()


def test_default_timeout_is_trials() -> None:
    class T(TestCase):
        def test_it(self) -> None:
            pass

    assert T("test_it").getTimeout() == 120.0


# -- the janitor ------------------------------------------------------------------------


def test_pending_delayed_call_is_reported_and_cancelled() -> None:
    class T(TestCase):
        def test_it(self) -> None:
            reactor.callLater(100, lambda: None)

    results = runTest(T)
    assert results.kinds() == {"errors": 1}
    assert "DirtyReactorAggregateError" in results.texts()
    assert "T.test_it.<locals>.<lambda>" in results.texts()
    assert not reactor.getDelayedCalls()


def test_a_call_due_now_is_run_not_reported() -> None:
    ran = []

    class T(TestCase):
        def test_it(self) -> None:
            reactor.callLater(0, ran.append, 1)

    assert runTest(T).kinds() == {"successes": 1}
    assert ran == [1]


def test_open_listening_port_and_connection_are_reported_and_closed() -> None:
    ports = []

    class T(TestCase):
        def test_it(self) -> Deferred[Any]:
            port = reactor.listenTCP(0, protocol.Factory.forProtocol(protocol.Protocol))
            ports.append(port.getHost().port)
            client = protocol.ClientCreator(reactor, protocol.Protocol)
            return client.connectTCP("127.0.0.1", ports[0])

    results = runTest(T)
    # As in trial: the test passed, then the janitor found its leftovers.
    assert results.kinds() == {"successes": 1, "errors": 1}
    text = results.texts()
    assert "Selectables" in text
    assert f"<Factory on {ports[0]}>" in text and "<Client fd=" in text
    # The server's connection prints as Twisted's, with the port it came from
    # even though the janitor has closed that port by then.
    assert f"<Protocol #0 on {ports[0]}>" in text
    assert not reactor.getReaders() and not reactor.getWriters()


def test_a_thread_still_running_is_reported() -> None:
    release = threading.Event()

    class T(TestCase):
        def test_it(self) -> None:
            threading.Thread(target=release.wait, name="left-running").start()

    try:
        results = runTest(T)
    finally:
        release.set()
    assert results.kinds() == {"successes": 1, "errors": 1}
    assert "left-running" in results.texts()


def test_the_reactor_thread_pool_is_cleaned_not_reported() -> None:
    class T(TestCase):
        def test_it(self) -> Deferred[Any]:
            from torsion import threads

            return threads.deferToThread(lambda: 1)

    assert runTest(T).kinds() == {"successes": 1}
    assert reactor.threadpool is None


def test_DirtyReactorAggregateError_names_each_leftover() -> None:
    text = str(DirtyReactorAggregateError(["call A"], ["port B"], ["thread C"]))
    assert text.startswith("Reactor was unclean.")
    for item in ("call A", "port B", "thread C"):
        assert item in text


# -- logged errors ----------------------------------------------------------------------


def test_an_error_logged_by_torsion_fails_the_test() -> None:
    class T(TestCase):
        def test_it(self) -> Deferred[Any]:
            return later().addCallback(lambda _: reactor.callLater(0, lambda: 1 / 0))

        def tearDown(self) -> Deferred[Any]:
            return later()

    results = runTest(T)
    assert results.kinds() == {"errors": 1}
    assert "ZeroDivisionError" in results.texts()


def test_an_unhandled_deferred_failure_fails_the_test() -> None:
    class T(TestCase):
        def test_it(self) -> None:
            defer.fail(KeyError("dropped"))

    results = runTest(T)
    assert results.kinds() == {"errors": 1}
    assert "dropped" in results.texts()


def test_an_unhandled_failure_in_a_cycle_is_collected_and_reported() -> None:
    class T(TestCase):
        def test_it(self) -> None:
            try:
                raise KeyError("cycle")
            except KeyError:
                d = defer.fail()  # its traceback holds this frame, which holds d
            assert d is not None

    assert "cycle" in runTest(T).texts()


def test_flushLoggedErrors_takes_the_errors() -> None:
    class T(TestCase):
        def test_it(self) -> None:
            defer.fail(KeyError("k"))
            defer.fail(ValueError("v"))
            self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)
            self.assertEqual(len(self.flushLoggedErrors()), 1)

    assert runTest(T).kinds() == {"successes": 1}


def test_errors_logged_to_a_torsion_child_logger_count_messages_do_not() -> None:
    log = logging.getLogger("torsion.mine")

    class T(TestCase):
        def test_exception(self) -> None:
            try:
                raise OSError("logged")
            except OSError:
                log.exception("it broke")

        def test_message(self) -> None:
            log.error("just a message")

    assert "logged" in runTest(T, "test_exception").texts()
    assert runTest(T, "test_message").kinds() == {"successes": 1}


def test_errors_logged_with_log_err_or_a_Logger_are_taken_and_fail_the_test() -> None:
    """log.err() and Logger().failure() are logged errors, as in Twisted's trial
    (Twisted's trial howto: calculus/test/test_remote_3.py flushes a log.err)."""
    from torsion import log as legacy
    from torsion.logger import Logger

    class T(TestCase):
        def _logBoth(self) -> None:
            try:
                raise TypeError("legacy")
            except TypeError:
                legacy.err()
            try:
                raise KeyError("new")
            except KeyError:
                Logger(namespace="mine").failure("it broke")

        def test_flushed(self) -> None:
            self._logBoth()
            self.assertEqual(len(self.flushLoggedErrors(TypeError)), 1)
            self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

        def test_left(self) -> None:
            self._logBoth()

    assert runTest(T, "test_flushed").kinds() == {"successes": 1}
    texts = runTest(T, "test_left").texts()
    assert "legacy" in texts and "new" in texts


# -- under pytest, as a user would write it ------------------------------------------------


class RealUse(TestCase):
    """Collected and run by pytest here: a trial TestCase in a pytest suite."""

    async def test_round_trip(self) -> None:
        received: Deferred[bytes] = Deferred()

        class Echo(protocol.Protocol):
            def dataReceived(self, data: bytes) -> None:
                self.transport.write(data)

        class Client(protocol.Protocol):
            def connectionMade(self) -> None:
                self.transport.write(b"hello")

            def dataReceived(self, data: bytes) -> None:
                received.callback(data)
                self.transport.loseConnection()

        port = reactor.listenTCP(0, protocol.Factory.forProtocol(Echo), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        creator = protocol.ClientCreator(reactor, Client)
        await creator.connectTCP("127.0.0.1", port.getHost().port)
        self.assertEqual(await received, b"hello")
        await later(delay=0.01)  # the server side closes too

    def test_refused(self) -> Deferred[Any]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free = s.getsockname()[1]
        creator = protocol.ClientCreator(reactor, protocol.Protocol)
        refused = creator.connectTCP("127.0.0.1", free)
        return self.assertFailure(refused, error.ConnectionRefusedError)


@pytest.mark.parametrize("name", ["test_round_trip", "test_refused"])
def test_real_use_passes_on_the_global_reactor(name: str) -> None:
    assert runTest(RealUse, name).kinds() == {"successes": 1}


def test_the_default_timeout_can_be_patched_as_in_trial() -> None:
    from torsion.trial import util

    class T(TestCase):
        def test_it(self) -> Deferred[Any]:
            return Deferred()

    original = util.DEFAULT_TIMEOUT_DURATION
    util.DEFAULT_TIMEOUT_DURATION = 0.05
    try:
        assert "still running at 0.05 secs" in runTest(T).texts()
    finally:
        util.DEFAULT_TIMEOUT_DURATION = original
