"""The reactor core on every backend: lifecycle, timers, triggers, I/O registration."""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Any

import pytest

from torsion import error, reactors


def test_available_backends_include_all_three_on_linux() -> None:
    assert reactors.available() == ["epoll", "poll", "select", "asyncio"]
    assert reactors.native() == ["epoll", "poll", "select"]


def test_backend_chosen_by_name_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in reactors.available():
        r = reactors.create(name)
        try:
            assert r.backendName == name
        finally:
            r.close()
    monkeypatch.setenv("TORSION_REACTOR", "poll")
    r = reactors.create()
    try:
        assert r.backendName == "poll"
    finally:
        r.close()
    monkeypatch.setenv("TORSION_REACTOR", "kqueue-ish")
    with pytest.raises(ValueError, match="unknown reactor backend 'kqueue-ish'"):
        reactors.create()


def test_run_stop_and_restart_errors(reactor: Any) -> None:
    events: list[str] = []
    reactor.callWhenRunning(lambda: events.append(f"running={reactor.running}"))
    reactor.callWhenRunning(reactor.stop)
    reactor.addSystemEventTrigger("before", "shutdown", events.append, "before-shutdown")
    reactor.addSystemEventTrigger("after", "shutdown", events.append, "after-shutdown")
    reactor.run(installSignalHandlers=False)
    assert events == ["running=True", "before-shutdown", "after-shutdown"]
    assert not reactor.running
    with pytest.raises(error.ReactorNotRunning):
        reactor.stop()
    with pytest.raises(error.ReactorNotRestartable):
        reactor.run(installSignalHandlers=False)


def test_stop_before_run_raises(reactor: Any) -> None:
    with pytest.raises(error.ReactorNotRunning):
        reactor.stop()


def test_run_while_running_raises(reactor: Any) -> None:
    caught: list[BaseException] = []

    def again() -> None:
        try:
            reactor.run(installSignalHandlers=False)
        except error.ReactorAlreadyRunning as e:
            caught.append(e)
        reactor.stop()

    reactor.callWhenRunning(again)
    reactor.run(installSignalHandlers=False)
    assert len(caught) == 1


def test_crash_skips_shutdown_triggers(reactor: Any) -> None:
    fired: list[str] = []
    reactor.addSystemEventTrigger("before", "shutdown", fired.append, "shutdown")
    reactor.callWhenRunning(reactor.crash)
    reactor.run(installSignalHandlers=False)
    assert fired == []
    assert not reactor.running
    # A crashed reactor may run again (it was never stopped).
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert fired == ["shutdown"]


def test_calllater_order_and_same_time_fifo(reactor: Any) -> None:
    order: list[Any] = []
    for i in range(20):
        reactor.callLater(0, order.append, i)
    reactor.callLater(0.02, order.append, "late")
    reactor.callLater(0.01, order.append, "mid")
    reactor.callLater(0.03, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert order == [*range(20), "mid", "late"]


def test_delayedcall_api(reactor: Any) -> None:
    ran: list[str] = []
    dc = reactor.callLater(10, ran.append, "x")
    assert dc.active()
    t = dc.getTime()
    assert t == pytest.approx(reactor.seconds() + 10, abs=0.5)
    dc.delay(5)
    assert dc.getTime() == pytest.approx(t + 5)
    dc.reset(0)
    assert reactor.getDelayedCalls() == [dc]
    cancelled = reactor.callLater(0, ran.append, "never")
    cancelled.cancel()
    assert not cancelled.active()
    with pytest.raises(error.AlreadyCancelled):
        cancelled.cancel()
    with pytest.raises(error.AlreadyCancelled):
        cancelled.reset(1)
    reactor.callLater(0.01, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert ran == ["x"]
    assert not dc.active()
    with pytest.raises(error.AlreadyCalled):
        dc.cancel()
    with pytest.raises(error.AlreadyCalled):
        dc.delay(1)
    assert reactor.getDelayedCalls() == []


def test_calllater_zero_scheduled_by_a_call_waits_a_turn(reactor: Any) -> None:
    """A callLater(0) chain must not starve I/O: each link runs on a later turn."""
    r, w = socket.socketpair()
    seen: list[str] = []

    class Reader:
        def fileno(self) -> int:
            return r.fileno()

        def doRead(self) -> None:
            r.recv(10)
            seen.append("io")
            reactor.removeReader(self)

        def connectionLost(self, reason: Any) -> None:
            pass

    count = [0]

    def link() -> None:
        count[0] += 1
        seen.append("timer")
        if "io" not in seen and count[0] < 1000:
            reactor.callLater(0, link)
        else:
            reactor.stop()

    w.send(b"x")
    reactor.addReader(Reader())
    reactor.callLater(0, link)
    try:
        reactor.run(installSignalHandlers=False)
    finally:
        r.close()
        w.close()
    assert "io" in seen
    assert count[0] < 5


def test_exception_in_timer_is_logged_and_loop_goes_on(
    reactor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[int] = []

    def boom() -> None:
        raise ZeroDivisionError("timer boom")

    reactor.callLater(0, boom)
    reactor.callLater(0, ran.append, 1)
    reactor.callLater(0.01, reactor.stop)
    with caplog.at_level(logging.ERROR, logger="torsion"):
        reactor.run(installSignalHandlers=False)
    assert ran == [1]
    assert "timer boom" in caplog.text
    assert "ZeroDivisionError" in caplog.text


def test_exception_in_trigger_is_logged(reactor: Any, caplog: pytest.LogCaptureFixture) -> None:
    after: list[str] = []

    def bad() -> None:
        raise ValueError("trigger boom")

    reactor.addSystemEventTrigger("during", "startup", bad)
    reactor.addSystemEventTrigger("after", "startup", after.append, "after")
    reactor.callWhenRunning(reactor.stop)
    with caplog.at_level(logging.ERROR, logger="torsion"):
        reactor.run(installSignalHandlers=False)
    assert after == ["after"]
    assert "trigger boom" in caplog.text


def test_remove_trigger_and_bad_phase(reactor: Any) -> None:
    fired: list[str] = []
    tid = reactor.addSystemEventTrigger("during", "custom", fired.append, "a")
    reactor.addSystemEventTrigger("during", "custom", fired.append, "b")
    reactor.removeSystemEventTrigger(tid)
    with pytest.raises(ValueError):
        reactor.removeSystemEventTrigger(tid)
    with pytest.raises(KeyError):
        reactor.addSystemEventTrigger("sometime", "custom", fired.append)
    reactor.fireSystemEvent("custom")
    assert fired == ["b"]


def test_before_shutdown_deferred_holds_shutdown(reactor: Any) -> None:
    from torsion.defer import Deferred

    events: list[str] = []
    held: Deferred[None] = Deferred()

    def before() -> Deferred[None]:
        events.append("before")
        reactor.callLater(0.05, release)
        return held

    def release() -> None:
        events.append("released")
        held.callback(None)

    reactor.addSystemEventTrigger("before", "shutdown", before)
    reactor.addSystemEventTrigger("during", "shutdown", events.append, "during")
    reactor.addSystemEventTrigger("after", "shutdown", events.append, "after")
    reactor.callWhenRunning(reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert events == ["before", "released", "during", "after"]


class _Pipe:
    """A minimal selectable around one end of a socketpair."""

    def __init__(self, sock: socket.socket, on_read: Any = None) -> None:
        self.sock = sock
        self.on_read = on_read
        self.lost: list[Any] = []

    def fileno(self) -> int:
        return self.sock.fileno()

    def doRead(self) -> Any:
        return self.on_read(self) if self.on_read else None

    def doWrite(self) -> Any:
        return None

    def connectionLost(self, reason: Any) -> None:
        self.lost.append(reason)


def test_reader_writer_registration(reactor: Any) -> None:
    a, b = socket.socketpair()
    try:
        p = _Pipe(a)
        reactor.addReader(p)
        reactor.addReader(p)
        reactor.addWriter(p)
        assert reactor.getReaders() == [p]
        assert reactor.getWriters() == [p]
        reactor.removeWriter(p)
        assert reactor.getWriters() == []
        assert reactor.getReaders() == [p]
        reactor.addWriter(p)
        assert sorted(map(id, reactor.removeAll())) == [id(p)]
        assert reactor.getReaders() == [] and reactor.getWriters() == []
    finally:
        a.close()
        b.close()


def test_read_dispatch_and_disconnect_on_reason(reactor: Any) -> None:
    a, b = socket.socketpair()
    got: list[bytes] = []

    def on_read(p: _Pipe) -> Any:
        data = p.sock.recv(100)
        if not data:
            return error.ConnectionDone()
        got.append(data)
        b.close()
        return None

    p = _Pipe(a, on_read)
    reactor.addReader(p)
    b.send(b"ping")

    def check() -> None:
        if p.lost:
            reactor.stop()
        else:
            reactor.callLater(0.005, check)

    reactor.callLater(0, check)
    reactor.run(installSignalHandlers=False)
    a.close()
    assert got == [b"ping"]
    assert len(p.lost) == 1
    assert p.lost[0].check(error.ConnectionDone)
    assert reactor.getReaders() == []


def test_exception_in_doread_is_logged_and_drops_only_that_selectable(
    reactor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    a1, b1 = socket.socketpair()
    a2, b2 = socket.socketpair()

    def bad(p: _Pipe) -> Any:
        p.sock.recv(10)
        raise RuntimeError("reader boom")

    good_reads: list[bytes] = []

    def good(p: _Pipe) -> Any:
        good_reads.append(p.sock.recv(10))
        reactor.stop()
        return None

    pb, pg = _Pipe(a1, bad), _Pipe(a2, good)
    reactor.addReader(pb)
    b1.send(b"x")

    def second() -> None:
        reactor.addReader(pg)
        b2.send(b"y")

    reactor.callLater(0.02, second)
    with caplog.at_level(logging.ERROR, logger="torsion"):
        reactor.run(installSignalHandlers=False)
    for s in (a1, b1, a2, b2):
        s.close()
    assert "reader boom" in caplog.text
    assert len(pb.lost) == 1 and pb.lost[0].check(RuntimeError)
    assert good_reads == [b"y"]


def test_iterate_runs_one_turn(reactor: Any) -> None:
    ran: list[int] = []
    reactor.callLater(0, ran.append, 1)
    reactor.iterate()
    assert ran == [1]


def test_add_reader_with_closed_descriptor_is_refused(reactor: Any) -> None:
    class Closed:
        def fileno(self) -> int:
            return -1

    with pytest.raises(ValueError, match="no open descriptor"):
        reactor.addReader(Closed())


class _Selectable:
    """A reader on one end of a socketpair; ``fileno()`` follows the socket (-1 once closed)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def doRead(self) -> None:
        self.sock.recv(100)

    def doWrite(self) -> None:
        pass

    def connectionLost(self, reason: Any) -> None:
        pass


def test_removing_an_unregistered_selectable_leaves_the_registered_one(reactor: Any) -> None:
    a, b = socket.socketpair()
    try:
        registered, stranger = _Selectable(a), _Selectable(a)  # same descriptor
        reactor.addReader(registered)
        reactor.addWriter(registered)
        reactor.removeReader(stranger)
        reactor.removeWriter(stranger)
        assert reactor.getReaders() == [registered]
        assert reactor.getWriters() == [registered]
        reactor.removeReader(registered)
        reactor.removeReader(registered)  # a second removal is a no-op
        reactor.removeWriter(registered)
        assert reactor.getReaders() == [] and reactor.getWriters() == []
    finally:
        a.close()
        b.close()


def test_a_selectable_closed_while_registered_can_still_be_removed(reactor: Any) -> None:
    a, b = socket.socketpair()
    try:
        closing = _Selectable(a)
        reactor.addReader(closing)
        a.close()  # fileno() is -1 from now on: found by identity
        reactor.removeReader(closing)
        assert reactor.getReaders() == []
    finally:
        b.close()


def test_close_releases_descriptors() -> None:
    before = set(os.listdir("/proc/self/fd"))
    for name in reactors.available():
        reactors.create(name).close()
    after = set(os.listdir("/proc/self/fd"))
    assert after <= before | {max(after, key=int)}


def test_tls_and_unix_errors_are_the_same_classes_in_torsion_error() -> None:
    from torsion import ssl, unix

    assert error.HostnameMismatchError is ssl.HostnameMismatchError
    assert issubclass(error.TLSError, error.SSLError)
    assert error.NoSuchFileError is unix.NoSuchFileError
    assert issubclass(error.NoSuchFileError, error.ConnectError)
    with pytest.raises(AttributeError):
        error.NotAnError  # noqa: B018


def test_unhandled_deferred_errors_still_held_are_reported_at_shutdown(
    reactor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from torsion import defer

    held = []

    def fail_one() -> None:
        d: defer.Deferred[None] = defer.Deferred()
        d.errback(LookupError("nobody handled me"))
        held.append(d)  # still referenced: garbage collection cannot report it
        reactor.stop()

    reactor.callWhenRunning(fail_one)
    with caplog.at_level(logging.ERROR):
        reactor.run(installSignalHandlers=False)
    assert "Unhandled error in Deferred" in caplog.text
    assert "nobody handled me" in caplog.text
    # Reported once: handling it now, or collecting it later, logs nothing more.
    caplog.clear()
    held[0].addErrback(lambda f: None)
    held.clear()
    import gc

    gc.collect()
    assert "nobody handled me" not in caplog.text


def test_shutdown_signals_second_is_ignored_third_stops_waiting(
    reactor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A graceful stop waits on a 'before shutdown' Deferred that never fires
    # by itself.  The second signal changes nothing; the third goes on.
    import signal

    from torsion import defer

    events: list[str] = []
    grace: defer.Deferred[None] = defer.Deferred()

    def before() -> defer.Deferred[None]:
        events.append("before")
        reactor.callLater(0, reactor.sigTerm, signal.SIGTERM)  # the second
        reactor.callLater(0.05, checkStillWaiting)
        return grace

    def checkStillWaiting() -> None:
        events.append("still waiting" if not grace.called else "went on")
        reactor.sigInt(signal.SIGINT)  # the third

    reactor.addSystemEventTrigger("before", "shutdown", before)
    reactor.addSystemEventTrigger("during", "shutdown", lambda: events.append("during"))
    reactor.callWhenRunning(reactor.sigTerm, signal.SIGTERM)  # the first
    with caplog.at_level(logging.INFO, logger="torsion"):
        reactor.run(installSignalHandlers=False)
    assert events == ["before", "still waiting", "during"]
    messages = [r.getMessage() for r in caplog.records]
    assert "Received SIGTERM, shutting down." in messages
    assert any("SIGTERM again while shutting down: ignored" in m for m in messages)
    assert any("SIGINT a third time: shutting down without waiting" in m for m in messages)
    grace.callback(None)  # late: nothing runs twice
    assert events == ["before", "still waiting", "during"]


def test_three_signals_in_one_burst_do_not_wait_for_the_grace(reactor: Any) -> None:
    # All three arrive before the shutdown fires (one turn): the third's "stop
    # waiting" must still apply when the 'before' triggers return Deferreds.
    import signal

    from torsion import defer

    events: list[str] = []
    grace: defer.Deferred[None] = defer.Deferred()

    def before() -> defer.Deferred[None]:
        events.append("before")
        return grace

    def burst() -> None:
        for _ in range(3):
            reactor.sigTerm(signal.SIGTERM)

    reactor.addSystemEventTrigger("before", "shutdown", before)
    reactor.addSystemEventTrigger("during", "shutdown", lambda: events.append("during"))
    reactor.callWhenRunning(burst)
    watchdog = reactor.callLater(5, grace.callback, None)  # the test's bound, not the fix
    reactor.run(installSignalHandlers=False)
    assert events == ["before", "during"]
    assert watchdog.active(), "shutdown waited for the grace Deferred"
    watchdog.cancel()


def test_a_signal_after_a_stop_by_code_does_not_stop_twice(reactor: Any) -> None:
    import signal

    def stopThenSignal() -> None:
        reactor.stop()
        reactor.sigTerm(signal.SIGTERM)

    reactor.callWhenRunning(stopThenSignal)
    reactor.run(installSignalHandlers=False)  # no ReactorNotRunning escapes
    assert not reactor.running


def test_run_puts_back_the_signal_handlers_it_found(reactor: Any) -> None:
    """After ``run()`` (which handles SIGINT and SIGTERM meanwhile) the process's
    handlers and wakeup descriptor are what they were: on uvloop too, whose
    remove_signal_handler leaves a handler of its own behind."""
    signals = (signal.SIGINT, signal.SIGTERM)
    before = {number: signal.getsignal(number) for number in signals}
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    reactor.callWhenRunning(reactor.stop)
    reactor.run()
    assert {number: signal.getsignal(number) for number in signals} == before
    assert signal.set_wakeup_fd(wakeup) == wakeup
