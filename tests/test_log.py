"""torsion.log (twisted.python.log) and torsion.logger (twisted.logger): behaviour.

The text formats are compared with Twisted's in test_log_format.py; whole
programs that log, in test_log_programs.py.
"""

from __future__ import annotations

import gc
import io
import logging
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from torsion import defer, log, logger
from torsion.failure import Failure
from torsion.logger import Logger, LogLevel
from torsion.protocol import ClientCreator, Factory, Protocol, ReconnectingClientFactory


@pytest.fixture
def legacy() -> Iterator[list[dict[str, Any]]]:
    """Events as a legacy observer (log.addObserver) sees them."""
    events: list[dict[str, Any]] = []
    log.addObserver(events.append)
    yield events
    log.removeObserver(events.append)


@pytest.fixture
def events() -> Iterator[list[dict[str, Any]]]:
    """Events as a new-style observer (globalLogPublisher) sees them."""
    with logger.capturedLogs() as captured:
        yield captured  # type: ignore[misc]


# -- twisted.python.log -----------------------------------------------------------


def test_msg_gives_legacy_observers_twisted_shaped_events(legacy: list[dict[str, Any]]) -> None:
    log.msg("hello", "world", system="sys1", extra=3)
    [e] = legacy
    assert e["message"] == ("hello", "world")
    assert e["isError"] == 0
    assert e["system"] == "sys1" and e["extra"] == 3
    assert isinstance(e["time"], float)
    assert e["log_level"] is LogLevel.info and e["log_namespace"] == "log_legacy"
    assert e["format"] == "%(log_legacy)s"
    assert log.textFromEventDict(e) == "hello world"
    assert e["format"] % e == "hello world"


def test_msg_with_a_format(legacy: list[dict[str, Any]]) -> None:
    log.msg(format="%(a)s and %(b)s", a=1, b=2)
    [e] = legacy
    assert e["message"] == () and e["system"] == "-"
    assert log.textFromEventDict(e) == "1 and 2"


def test_msg_logLevel_sets_the_level(events: list[dict[str, Any]]) -> None:
    log.msg("quiet", logLevel=logging.DEBUG)
    log.msg("loud", logLevel="WARNING")
    assert [e["log_level"] for e in events] == [LogLevel.debug, LogLevel.warn]


def test_err_with_the_current_exception_and_why(legacy: list[dict[str, Any]]) -> None:
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        log.err(None, "while dividing")
    [e] = legacy
    assert e["isError"] == 1 and e["why"] == "while dividing"
    assert e["failure"].check(ZeroDivisionError)
    assert e["log_level"] is LogLevel.critical
    text = log.textFromEventDict(e)
    assert text is not None and text.startswith("while dividing\nTraceback (most recent")


def test_err_with_a_failure_an_exception_or_anything(legacy: list[dict[str, Any]]) -> None:
    f = Failure(KeyError("k"))
    log.err(f)
    log.err(ValueError("v"), "why")
    log.err("not an exception")
    a, b, c = legacy
    assert a["failure"] is f and a["why"] is None
    assert log.textFromEventDict(a) == (
        "Unhandled Error\nTraceback (most recent call last):\nFailure: builtins.KeyError: 'k'\n"
    )
    assert b["failure"].check(ValueError) and b["why"] == "why"
    assert c["isError"] == 1 and "failure" not in c and c["message"] == ("'not an exception'",)
    assert log.deferr is log.err


def test_removeObserver_stops_delivery() -> None:
    seen: list[Any] = []
    log.addObserver(seen.append)
    log.msg("one")
    log.removeObserver(seen.append)
    log.msg("two")
    log.removeObserver(seen.append)  # not there any more: ignored
    assert [e["message"] for e in seen] == [("one",)]


def test_callWithContext_sets_fields_of_events_logged_meanwhile(
    legacy: list[dict[str, Any]],
) -> None:
    def inner() -> str:
        log.msg("inside")
        return "result"

    assert log.callWithContext({"system": "outer", "k": 1}, inner) == "result"
    log.callWithContext({"system": "a"}, log.callWithContext, {"system": "b"}, log.msg, "nested")
    log.msg("after")
    assert [(e["system"], e.get("k")) for e in legacy] == [("outer", 1), ("b", None), ("-", None)]


def test_callWithLogger_uses_logPrefix_and_logs_the_error(
    legacy: list[dict[str, Any]],
) -> None:
    class Thing(log.Logger):
        def logPrefix(self) -> str:
            return "Thing,1"

    def fails() -> None:
        log.msg("working")
        raise RuntimeError("oops")

    assert log.callWithLogger(Thing(), fails) is None
    working, error = legacy
    assert working["system"] == "Thing,1"
    assert error["system"] == "Thing,1" and error["failure"].check(RuntimeError)
    assert log.Logger().logPrefix() == "-"


def test_a_legacy_publisher_of_its_own() -> None:
    publisher = log.LogPublisher()
    seen: list[Any] = []
    publisher.addObserver(seen.append)
    assert publisher.observers == [seen.append]
    publisher.msg("private")
    assert [log.textFromEventDict(e) for e in seen] == ["private"]


def test_legacy_observers_get_new_style_events_with_legacy_keys(
    legacy: list[dict[str, Any]],
) -> None:
    Logger(namespace="ns").error("bad {thing}", thing="x")
    Logger(namespace="ns").failure("while {doing}", Failure(KeyError("k")), doing="y")
    plain, failed = legacy
    assert plain["isError"] == 1 and plain["message"] == () and plain["system"] == "-"
    assert log.textFromEventDict(plain) == "bad x"
    assert failed["failure"] is failed["log_failure"] and failed["why"] == "while y"
    assert log.textFromEventDict(failed).startswith("while y\nTraceback")  # type: ignore[union-attr]


def test_stdio_onna_stick_logs_lines(legacy: list[dict[str, Any]]) -> None:
    stick = log.StdioOnnaStick(isError=1)
    stick.write("one\ntw")
    stick.write("o\n")
    assert [(e["message"], e["isError"], e["printed"]) for e in legacy] == [
        (("one",), 1, 1),
        (("two",), 1, 1),
    ]


def test_logfile_logs_lines(legacy: list[dict[str, Any]]) -> None:
    log.logfile.write("written\n")
    [e] = legacy
    assert log.textFromEventDict(e) == "written" and e["log_level"] is LogLevel.info


def test_default_observer_writes_errors_only() -> None:
    observer = log.DefaultObserver()
    observer.stderr = io.StringIO()
    observer.emit({"message": ("fine",), "isError": 0})
    observer.emit({"message": ("bad",), "isError": 1})
    assert observer.stderr.getvalue() == "bad"


# -- torsion's own errors reach the observers ----------------------------------------


def test_an_unhandled_deferred_error_is_two_error_events_as_in_twisted(
    legacy: list[dict[str, Any]],
) -> None:
    d: defer.Deferred[None] = defer.Deferred()
    d.addCallback(lambda _: 1 / 0)
    d.callback(None)
    del d
    gc.collect()
    errors = [e for e in legacy if e["isError"]]
    assert len(errors) == 2
    assert log.textFromEventDict(errors[0]) == "Unhandled error in Deferred:"
    errors[1]["failure"].trap(ZeroDivisionError)
    text = log.textFromEventDict(errors[1])
    assert text is not None and text.startswith("Unhandled Error\nTraceback")
    assert errors[1]["log_namespace"] == "torsion.defer"


def test_logError_errback_reaches_observers(legacy: list[dict[str, Any]]) -> None:
    f = Failure(RuntimeError("r"))
    assert defer.logError(f) is f
    [e] = legacy
    assert e["isError"] == 1 and e["failure"] is f
    text = log.textFromEventDict(e)
    assert text is not None and "RuntimeError: r" in text


class Exploding(Protocol):
    def dataReceived(self, data: bytes) -> None:
        raise ValueError(f"cannot take {data!r}")

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.lost.callback(None)


def test_an_exception_in_dataReceived_reaches_observers(
    reactor: Any, run: Any, legacy: list[dict[str, Any]]
) -> None:
    factory = Factory.forProtocol(Exploding)
    factory.lost = defer.Deferred()
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")

    def connected(client: Protocol) -> defer.Deferred[None]:
        client.transport.write(b"data")
        return factory.lost.addCallback(lambda _: client.transport.loseConnection())

    d = ClientCreator(reactor, Protocol).connectTCP("127.0.0.1", port.getHost().port)
    d.addCallback(connected)
    d.addBoth(lambda r: defer.maybeDeferred(port.stopListening).addCallback(lambda _: r))
    run(d)
    [e] = [e for e in legacy if e["isError"]]
    e["failure"].trap(ValueError)
    assert e["failure"].getErrorMessage() == "cannot take b'data'"
    assert e["log_namespace"] == "torsion"
    assert "Unhandled error in doRead" in e["why"]


def test_logError_text_is_twisteds(legacy: list[dict[str, Any]]) -> None:
    defer.logError(Failure(RuntimeError()))
    [e] = legacy
    text = log.textFromEventDict(e)
    assert text is not None and text.startswith("Unhandled Error\nTraceback ")


def test_an_unhandled_deferred_error_with_debug_info(legacy: list[dict[str, Any]]) -> None:
    def fire() -> None:
        d: defer.Deferred[int] = defer.Deferred()
        d.debug = True
        d.addCallback(lambda x: 1 // 0)
        d.callback(1)

    fire()
    gc.collect()
    header, body = [e for e in legacy if e["isError"]]
    assert log.textFromEventDict(header) == "Unhandled error in Deferred:"
    body["failure"].trap(ZeroDivisionError)
    assert body["log_format"] == "(debug: {debugInfo})"
    assert body["debugInfo"].startswith(" I: First Invoker was:\n")
    text = log.textFromEventDict(body)
    assert text is not None and text.startswith("(debug:  I: First Invoker was:\n")


def test_factory_start_and_stop_are_info_events_for_observers(
    events: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="torsion")
    factory = Factory()
    factory.doStart()
    factory.doStart()  # a second port: no second event
    factory.doStop()
    factory.doStop()
    assert [(e["log_format"], e["log_level"], e["factory"]) for e in events] == [
        ("Starting factory {factory!r}", LogLevel.info, factory),
        ("Stopping factory {factory!r}", LogLevel.info, factory),
    ]
    assert logger.formatEvent(events[0]) == f"Starting factory {factory!r}"
    # The stdlib has them at DEBUG: INFO logging is not flooded by clients.
    assert [r for r in caplog.records if "factory" in r.getMessage()] == []
    caplog.set_level(logging.DEBUG, logger="torsion")
    factory.doStart()
    [record] = [r for r in caplog.records if "factory" in r.getMessage()]
    assert record.levelno == logging.DEBUG and record.name == "torsion"
    assert record.getMessage() == f"Starting factory {factory!r}"


def test_a_quiet_factory_logs_nothing(events: list[dict[str, Any]]) -> None:
    factory = Factory()
    factory.noisy = False
    factory.doStart()
    factory.doStop()
    assert events == []


class Named(Factory):
    protocol = Protocol

    def logPrefix(self) -> str:
        return "Named Factory"


def test_a_port_starting_and_closing_reaches_legacy_observers(
    reactor: Any, run: Any, legacy: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="torsion")
    port = reactor.listenTCP(0, Named(), interface="127.0.0.1")
    number = port.getHost().port
    run(defer.maybeDeferred(port.stopListening))
    texts = [log.textFromEventDict(e) for e in legacy]
    assert texts == [
        f"Named Factory starting on {number}",
        f"Starting factory {port.factory!r}",
        f"(TCP Port {number} Closed)",
        f"Stopping factory {port.factory!r}",
    ]
    assert legacy[0]["message"] == (texts[0],) and legacy[0]["isError"] == 0
    assert all(e["log_namespace"] == "torsion" for e in legacy)
    # Below the stdlib level enabled for ``torsion``: no records.
    assert [r for r in caplog.records if r.name.startswith("torsion")] == []


def test_a_port_starting_is_an_info_record(
    reactor: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="torsion")
    port = reactor.listenTCP(0, Named(), interface="127.0.0.1")
    number = port.getHost().port
    run(defer.maybeDeferred(port.stopListening))
    records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert records == [
        ("torsion", logging.INFO, f"Named Factory starting on {number}"),
        ("torsion", logging.INFO, f"(TCP Port {number} Closed)"),
    ]


def test_a_shutdown_signal_reaches_legacy_observers(
    reactor: Any, legacy: list[dict[str, Any]]
) -> None:
    reactor.callWhenRunning(reactor.sigTerm, signal.SIGTERM)
    reactor.run(installSignalHandlers=False)
    assert "Received SIGTERM, shutting down." in [log.textFromEventDict(e) for e in legacy]


def test_reconnecting_factory_giving_up_reaches_legacy_observers(
    legacy: list[dict[str, Any]],
) -> None:
    factory = ReconnectingClientFactory()
    factory.stopTrying()
    factory.retry("CONNECTOR")  # type: ignore[arg-type]
    assert [log.textFromEventDict(e) for e in legacy] == [
        "Abandoning CONNECTOR on explicit request"
    ]


def test_a_record_torsion_logs_is_an_event(events: list[dict[str, Any]]) -> None:
    logging.getLogger("torsion.something").error("problem %d", 7)
    [e] = events
    assert e["log_namespace"] == "torsion.something" and e["log_level"] is LogLevel.error
    assert logger.formatEvent(e) == "problem 7"


def test_torsion_records_below_the_stdlib_level_do_not_reach_observers(
    events: list[dict[str, Any]],
) -> None:
    logging.getLogger("torsion.something").debug("chatter")
    assert events == []


# -- twisted.logger -------------------------------------------------------------------


class Thing:
    log = Logger()

    def hello(self) -> Logger:
        self.log.info("hello from {name}", name="thing")
        return self.log


def test_logger_namespace_defaults_to_the_calling_module() -> None:
    assert Logger().namespace == __name__
    assert repr(Logger(namespace="a.b")) == "<Logger 'a.b'>"


def test_logger_as_a_class_attribute_names_the_class(events: list[dict[str, Any]]) -> None:
    thing = Thing()
    bound = thing.hello()
    assert bound.namespace == f"{__name__}.Thing" and bound.source is thing
    assert Thing.log.source is Thing
    [e] = events
    assert e["log_namespace"] == f"{__name__}.Thing" and e["log_source"] is thing
    assert logger.formatEvent(e) == "hello from thing"


def test_logger_levels_and_event_keys(events: list[dict[str, Any]]) -> None:
    log_ = Logger(namespace="n", source="src")
    log_.debug("d")
    log_.info("i")
    log_.warn("w")
    log_.error("e")
    log_.critical("c")
    assert [e["log_level"] for e in events] == list(LogLevel.iterconstants())
    e = events[0]
    assert e["log_logger"] is log_ and e["log_source"] == "src" and e["log_format"] == "d"
    assert isinstance(e["log_time"], float)


def test_logger_to_an_observer_of_its_own() -> None:
    seen: list[Any] = []
    Logger(namespace="n", observer=seen.append).info("x {y}", y=1, log_trace=[])
    assert logger.formatEvent(seen[0]) == "x 1"
    assert len(seen[0]["log_trace"]) == 1


def test_an_invalid_level_is_logged_as_a_failure() -> None:
    seen: list[Any] = []
    Logger(namespace="n", observer=seen.append).emit("loud", "x")  # type: ignore[arg-type]
    [e] = seen
    e["log_failure"].trap(logger.InvalidLogLevelError)
    assert logger.formatEvent(e) == "Got invalid log level 'loud' in <Logger 'n'>.emit()."


def test_failure_failuresHandled_failureHandler() -> None:
    seen: list[Any] = []
    log_ = Logger(namespace="n", observer=seen.append)
    try:
        raise KeyError("k")
    except KeyError:
        log_.failure("caught {x}", x=1)
    with log_.failuresHandled("in block {y}", y=2) as op:
        raise ValueError("v")
    assert op.failed and not op.succeeded and op.failure is not None
    with log_.failuresHandled("fine") as ok:
        pass
    assert ok.succeeded and not ok.failed
    handler = log_.failureHandler("static")
    with handler:
        raise IndexError("i")
    with handler:
        pass
    assert [logger.formatEvent(e) for e in seen] == ["caught 1", "in block 2", "static"]
    assert [e["log_failure"].type for e in seen] == [KeyError, ValueError, IndexError]
    assert all(e["log_level"] is LogLevel.critical for e in seen)


def test_loglevel_order_and_names() -> None:
    assert LogLevel.debug < LogLevel.info < LogLevel.warn < LogLevel.error < LogLevel.critical
    assert LogLevel.levelWithName("warn") is LogLevel.warn
    assert repr(LogLevel.info) == "<LogLevel=info>"
    with pytest.raises(logger.InvalidLogLevelError):
        LogLevel.levelWithName("warning")


def test_filtering_by_namespace_level() -> None:
    seen: list[Any] = []
    dropped: list[Any] = []
    predicate = logger.LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)
    predicate.setLogLevelForNamespace("app.db", LogLevel.debug)
    observer = logger.FilteringLogObserver(seen.append, [predicate], dropped.append)
    for ns, level in [
        ("app", LogLevel.info),
        ("app.db.pool", LogLevel.debug),
        ("other", LogLevel.error),
        ("", LogLevel.critical),
    ]:
        observer({"log_namespace": ns, "log_level": level})
    assert [e["log_namespace"] for e in seen] == ["app.db.pool", "other"]
    assert [e["log_namespace"] for e in dropped] == ["app", ""]
    assert predicate.logLevelForNamespace("app.db.x.y") is LogLevel.debug
    predicate.clearLogLevels()
    assert predicate.logLevelForNamespace("app.db") is LogLevel.warn
    with pytest.raises(logger.InvalidLogLevelError):
        predicate.setLogLevelForNamespace("x", 3)  # type: ignore[arg-type]


def test_filter_predicates_yes_no_and_bad_results() -> None:
    seen: list[Any] = []
    yes = logger.FilteringLogObserver(
        seen.append,
        [lambda e: logger.PredicateResult.yes, lambda e: logger.PredicateResult.no],
    )
    yes({"n": 1})
    assert len(seen) == 1
    bad = logger.FilteringLogObserver(seen.append, [lambda e: True])
    with pytest.raises(TypeError, match="Invalid predicate result"):
        bad({})


def test_an_observer_that_raises_is_reported_to_the_others_and_kept() -> None:
    seen: list[Any] = []

    def broken(event: Any) -> None:
        raise RuntimeError("observer broke")

    publisher = logger.LogPublisher(broken, seen.append)
    publisher({"log_format": "first"})
    _, report = seen
    assert "Temporarily disabling observer" in logger.formatEvent(report)
    report["log_failure"].trap(RuntimeError)
    publisher({"log_format": "second"})
    assert len(seen) == 4  # still there, and reported again


def test_publisher_add_remove() -> None:
    publisher = logger.LogPublisher()
    seen: list[Any] = []
    publisher.addObserver(seen.append)
    publisher.addObserver(seen.append)  # once only
    publisher({"x": 1})
    publisher.removeObserver(seen.append)
    publisher.removeObserver(seen.append)
    publisher({"x": 2})
    assert seen == [{"x": 1}]
    with pytest.raises(TypeError):
        publisher.addObserver(42)  # type: ignore[arg-type]


def test_logging_file() -> None:
    seen: list[Any] = []
    f = logger.LoggingFile(Logger(namespace="out", observer=seen.append), LogLevel.warn)
    f.write("a\nb")
    f.write(b"c\n")
    f.writelines(["d\n"])
    assert [logger.formatEvent(e) for e in seen] == ["a", "bc", "d"]
    assert f.name == "<LoggingFile out#warn>" and not f.isatty()
    f.close()
    with pytest.raises(ValueError):
        f.write("x")
    with pytest.raises(OSError):
        f.read()


def test_limited_history() -> None:
    history = logger.LimitedHistoryLogObserver(2)
    for n in range(4):
        history({"n": n})
    replayed: list[Any] = []
    history.replayTo(replayed.append)
    assert replayed == [{"n": 2}, {"n": 3}]


# -- the stdlib carries the events ----------------------------------------------------


def test_logger_events_go_to_the_stdlib_logger_of_their_namespace(
    caplog: pytest.LogCaptureFixture, events: list[dict[str, Any]]
) -> None:
    log_ = Logger(namespace="myapp.db")
    with caplog.at_level(logging.INFO, logger="myapp.db"):
        log_.info("connected to {host}", host="db1")
        log_.debug("not enabled")
        log_.failure("query failed", Failure(KeyError("k")))
    info, failed = caplog.records
    assert (info.name, info.levelno, info.getMessage()) == (
        "myapp.db",
        logging.INFO,
        "connected to db1",
    )
    assert info.pathname == __file__ and info.funcName.startswith("test_logger_events")
    assert failed.levelno == logging.CRITICAL and failed.exc_info is not None
    assert failed.exc_info[0] is KeyError
    assert "KeyError: 'k'" in caplog.text
    # The observers get every event, whatever the stdlib levels.
    assert len(events) == 3


def test_legacy_events_go_to_the_stdlib_logger_log_legacy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        log.msg("legacy", "words")
        log.err(Failure(ValueError("v")), "oh no")
    msg_, err_ = caplog.records
    assert (msg_.name, msg_.levelno, msg_.getMessage()) == (
        "log_legacy",
        logging.INFO,
        "legacy words",
    )
    assert err_.levelno == logging.CRITICAL and err_.getMessage().startswith("oh no\nTraceback")


def test_events_under_torsion_are_not_delivered_twice(
    caplog: pytest.LogCaptureFixture, events: list[dict[str, Any]]
) -> None:
    with caplog.at_level(logging.INFO, logger="torsion"):
        Logger(namespace="torsion.mine").info("once")
    assert len(events) == 1 and len(caplog.records) == 1


def test_stdlib_observers_do_not_duplicate_global_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    observer = log.PythonLoggingObserver("bridged")
    observer.start()
    try:
        with caplog.at_level(logging.INFO):
            log.msg("global")
            observer.emit({"message": ("direct",), "isError": 0, "time": 0.0, "log_format": "x"})
    finally:
        observer.stop()
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("log_legacy", "global"),
        ("bridged", "x"),
    ]


def test_STDLibLogObserver_forwards_other_publishers_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = logger.LogPublisher(logger.STDLibLogObserver("mine"))
    with caplog.at_level(logging.DEBUG, logger="mine"):
        Logger(namespace="n", observer=publisher).warn("careful {x}", x=1)
        Logger(namespace="n", observer=publisher).failure("f", Failure(KeyError("k")))
    warned, failed = caplog.records
    assert (warned.name, warned.levelno, warned.getMessage()) == (
        "mine",
        logging.WARNING,
        "careful 1",
    )
    assert failed.exc_info is not None and failed.exc_info[0] is KeyError


# -- beginning ---------------------------------------------------------------------


class _Stdio:
    def __init__(self) -> None:
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()


class _Warnings:
    def __init__(self) -> None:
        self.shown: list[Any] = []

    def showwarning(self, *args: Any) -> None:
        self.shown.append(args)


def test_beginner_buffers_then_replays_and_writes_critical_to_errorStream() -> None:
    publisher = logger.LogPublisher()
    errors = io.StringIO()
    stdio, warningsModule = _Stdio(), _Warnings()
    beginner = logger.LogBeginner(publisher, errors, stdio, warningsModule)
    log_ = Logger(namespace="n", observer=publisher)
    log_.info("early")
    log_.critical("very bad")
    assert errors.getvalue() == "very bad\n"
    seen: list[Any] = []
    beginner.beginLoggingTo([seen.append])
    assert [logger.formatEvent(e) for e in seen] == ["early", "very bad"]
    # Standard I/O now logs, and so do warnings.
    stdio.stdout.write("printed\n")
    assert logger.formatEvent(seen[-1]) == "printed" and seen[-1]["log_namespace"] == "stdout"
    stdio.stderr.write("oops\n")
    assert seen[-1]["log_level"] is LogLevel.error
    warningsModule.showwarning("w", DeprecationWarning, "f.py", 3)
    assert logger.formatEvent(seen[-1]) == "f.py:3: builtins.DeprecationWarning: w"
    log_.critical("later")
    assert errors.getvalue() == "very bad\n"  # only before logging began


def test_beginner_twice_warns_and_discardBuffer() -> None:
    publisher = logger.LogPublisher()
    beginner = logger.LogBeginner(publisher, io.StringIO(), _Stdio(), _Warnings())
    Logger(namespace="n", observer=publisher).info("early")
    first: list[Any] = []
    beginner.beginLoggingTo([first.append], discardBuffer=True, redirectStandardIO=False)
    assert first == []
    second: list[Any] = []
    beginner.beginLoggingTo([second.append], redirectStandardIO=False)
    text = logger.formatEvent(second[0])
    assert text.startswith("Warning: primary log target selected twice at <")
    assert "Remove one of the calls to beginLoggingTo." in text


# -- one configuration: whole programs ----------------------------------------------

_PROGRAM = """
import logging, sys
from torsion import log, task
from torsion.logger import Logger
from torsion.reactors import create
{setup}
log.msg("an info message")
Logger(namespace="app").warn("a {{what}}", what="warning")
log.err(KeyError("k"), "a legacy error")
reactor = create("select")
def explode():
    raise RuntimeError("in a timer")
reactor.callLater(0, explode)
reactor.callLater(0, reactor.stop)
reactor.run(installSignalHandlers=False)
reactor.close()
"""


def _runProgram(setup: str) -> tuple[str, str]:
    import subprocess
    import sys

    from _programs import environment

    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM.format(setup=setup)],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment(),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def test_unconfigured_errors_and_warnings_go_to_stderr_as_the_stdlib_does() -> None:
    out, err = _runProgram("")
    assert out == ""
    assert "an info message" not in err  # below the stdlib's WARNING
    assert "a warning" in err
    assert "a legacy error\nTraceback" in err and "KeyError: 'k'" in err
    assert "Unhandled error in delayed call" in err and "RuntimeError: in a timer" in err


def test_stdlib_configuration_serves_every_kind_of_logging() -> None:
    out, err = _runProgram(
        'logging.basicConfig(level=logging.INFO, format="%(name)s|%(levelname)s|%(message)s")'
    )
    assert out == ""
    lines = [line for line in err.splitlines() if "|" in line]
    assert lines == [
        "log_legacy|INFO|an info message",
        "app|WARNING|a warning",
        "log_legacy|CRITICAL|a legacy error",
        f"torsion|ERROR|Unhandled error in delayed call {lines[3].split('call ', 1)[1]}",
    ]


def test_after_startLogging_events_go_to_its_file_only() -> None:
    out, err = _runProgram("log.startLogging(sys.stdout, setStdout=False)")
    assert err == ""
    assert "[-] Log opened." in out and "[-] an info message" in out
    assert "[-] a warning" in out and "[-] a legacy error" in out
    assert "RuntimeError: in a timer" in out


def test_startLogging_and_a_stdlib_configuration_both_get_events() -> None:
    out, err = _runProgram(
        "log.startLogging(sys.stdout, setStdout=False)\n"
        'logging.basicConfig(level=logging.WARNING, format="%(name)s|%(message)s")'
    )
    assert "[-] an info message" in out and "RuntimeError: in a timer" in out
    assert "an info message" not in err
    assert "app|a warning" in err and "RuntimeError: in a timer" in err


# -- details Twisted's own tests rely on ------------------------------------------------


def test_STDLibLogObserver_reports_the_code_that_called_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    observer = logger.STDLibLogObserver("direct")
    with caplog.at_level(logging.INFO, logger="direct"):
        observer({"log_format": "here", "log_level": LogLevel.info})
    [record] = caplog.records
    assert record.pathname == __file__ and record.funcName == (
        "test_STDLibLogObserver_reports_the_code_that_called_it"
    )


def test_start_uses_torsion_log_addObserver_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    added: list[Any] = []
    monkeypatch.setattr(log, "addObserver", added.append)
    monkeypatch.setattr(log, "removeObserver", added.remove)
    observer = log.PythonLoggingObserver()
    observer.start()
    assert added == [observer.emit]
    observer.stop()
    assert added == []


def test_a_word_whose_str_raises_is_described() -> None:
    class Ouch:
        def __repr__(self) -> str:
            raise ZeroDivisionError("no")

    text = log.textFromEventDict({"message": ("foo", Ouch()), "isError": 0})
    assert text is not None and text.startswith("foo <Ouch instance at 0x")
