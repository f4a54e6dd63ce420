"""How events become text and JSON, compared byte for byte with Twisted's output."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from torsion import failure as tfailure
from torsion import log, logger

pytest.importorskip("twisted")
pytestmark = pytest.mark.twisted_oracle

from twisted import logger as twlogger  # noqa: E402
from twisted.python import failure as twfailure  # noqa: E402
from twisted.python import log as twlog  # noqa: E402

T0 = 1700000000.25  # a fixed time: 2023-11-14T22:13:20.25Z


@pytest.fixture(autouse=True)
def local_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A zone west of UTC with summer time, so offsets and signs are exercised."""
    monkeypatch.setenv("TZ", "EST+05EDT,M3.2.0,M11.1.0")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _boom() -> None:
    raise ZeroDivisionError("division by zero")


def _failure(failureModule: ModuleType) -> Any:
    try:
        _boom()
    except ZeroDivisionError:
        return failureModule.Failure()


class Peer:
    host = "10.0.0.1"

    def describe(self) -> str:
        return "peer at 10.0.0.1"

    def __repr__(self) -> str:
        return "<Peer>"


def _events(logmod: ModuleType, failureModule: ModuleType) -> list[dict[str, Any]]:
    """The same events, built with either side's LogLevel and Failure."""
    L = logmod.LogLevel
    peer = Peer()
    return [
        {"log_format": "plain text", "log_time": T0, "log_level": L.info, "log_namespace": "a.b"},
        {"log_format": "{n} bytes from {peer!r}", "n": 5, "peer": peer, "log_time": T0},
        {"log_format": "{peer.host} / {peer.describe()} / {f()}", "peer": peer, "f": lambda: 7},
        {
            "log_format": "{x:>6.2f}|{items[1]}|{d[k]}",
            "x": 3.14159,
            "items": [1, 2],
            "d": {"k": 9},
        },
        {"log_format": "missing {nothere}", "log_level": L.warn, "log_time": T0},
        {"log_format": "{0}", "log_system": "sys,1,127.0.0.1", "log_time": T0},
        {"log_format": b"bytes format {x}", "x": "ok", "log_namespace": "n", "log_time": T0},
        {"log_format": 12, "log_time": T0},
        {"log_format": None, "log_time": T0},
        {"log_time": T0, "log_level": L.error},
        {
            "log_format": "it failed: {what}",
            "what": "frob",
            "log_failure": _failure(failureModule),
            "log_level": L.critical,
            "log_namespace": "x.y",
            "log_time": T0 + 3600 * 24 * 200,  # in summer time
        },
        {"log_format": "multi\nline\ntext", "log_system": "-", "log_time": None},
        {"log_format": "", "log_failure": _failure(failureModule), "log_time": T0},
    ]


def _both(fn: Any) -> tuple[list[Any], list[Any]]:
    ours = [fn(logger, e) for e in _events(logger, tfailure)]
    theirs = [fn(twlogger, e) for e in _events(twlogger, twfailure)]
    return ours, theirs


def test_formatEvent_matches_twisted() -> None:
    ours, theirs = _both(lambda m, e: m.formatEvent(e))
    assert ours == theirs


def test_eventAsText_matches_twisted() -> None:
    for options in (
        {},
        {"includeTraceback": False},
        {"includeTimestamp": False},
        {"includeSystem": False},
    ):
        ours, theirs = _both(lambda m, e, o=options: m.eventAsText(e, **o))
        assert ours == theirs, options


def test_formatTime_matches_twisted() -> None:
    for when in (T0, T0 + 3600 * 24 * 200, 0.0, 1e9 + 0.999999, None):
        for fmt in (logger.timeFormatRFC3339, "%Y/%W %H:%M:%S.%f", None):
            assert logger.formatTime(when, fmt) == twlogger.formatTime(when, fmt), (when, fmt)
    assert logger.formatTime(None, default="x") == "x"


def test_text_file_observer_writes_twisted_lines_byte_for_byte() -> None:
    outputs = []
    for m, fm in ((logger, tfailure), (twlogger, twfailure)):
        for timeFormat in (m.timeFormatRFC3339, None, "%H:%M"):
            text, binary = io.StringIO(), io.BytesIO()
            for out in (text, binary):
                observer = m.textFileLogObserver(out, timeFormat=timeFormat)
                for event in _events(m, fm):
                    observer(event)
            outputs.append((text.getvalue(), binary.getvalue()))
    half = len(outputs) // 2
    assert outputs[:half] == outputs[half:]
    assert outputs[0][0].encode() == outputs[0][1]


def test_formatEventAsClassicLogText_returns_None_for_an_empty_event() -> None:
    assert logger.formatEventAsClassicLogText({}) is None
    assert twlogger.formatEventAsClassicLogText({}) is None


def test_unformattable_event_says_so() -> None:
    text = logger.formatEvent({"log_format": "{x}"})
    assert text.startswith("Unable to format event {'log_format': '{x}'}: 'x'")


# -- flattening and JSON -----------------------------------------------------------


_JSONABLE = (0, 1, 2, 3)  # those Twisted can write (it raises for the others)


def _plain(event: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe events: drop what each side represents differently (Failures, levels)."""
    return {k: v for k, v in event.items() if k not in ("log_failure", "log_level")}


def test_eventAsJSON_matches_twisted_for_plain_events() -> None:
    ours = [logger.eventAsJSON(_plain(_events(logger, tfailure)[i])) for i in _JSONABLE]
    theirs = [twlogger.eventAsJSON(_plain(_events(twlogger, twfailure)[i])) for i in _JSONABLE]
    assert ours == theirs


def test_flattened_fields_and_levels_match_twisted() -> None:
    def event(m: ModuleType) -> dict[str, Any]:
        return {
            "log_format": "{a} {a!r} {p.host} {p.describe()} {b:>5}",
            "a": "x",
            "b": 2,
            "p": Peer(),
            "log_level": m.LogLevel.warn,
            "blob": b"\xff\x00",
        }

    ours, theirs = logger.eventAsJSON(event(logger)), twlogger.eventAsJSON(event(twlogger))
    assert ours == theirs
    for field in ("a", "a!r", "p.host", "p.describe()", "b:>5"):
        assert logger.extractField(field, event(logger)) == twlogger.extractField(
            field, event(twlogger)
        ), field


def test_json_log_files_cross_between_twisted_and_torsion() -> None:
    def write(m: ModuleType, fm: ModuleType) -> str:
        out = io.StringIO()
        observer = m.jsonFileLogObserver(out)
        events = _events(m, fm)
        for i in (*_JSONABLE, 10):
            observer(events[i])
        return out.getvalue()

    ours, theirs = write(logger, tfailure), write(twlogger, twfailure)
    for text, reader, m in (
        (theirs, logger.eventsFromJSONLogFile, logger),
        (ours, twlogger.eventsFromJSONLogFile, twlogger),
        (ours, logger.eventsFromJSONLogFile, logger),
    ):
        events = list(reader(io.StringIO(text)))
        assert len(events) == 5
        assert [m.formatEvent(e) for e in events[:4]] == [
            "plain text",
            "5 bytes from <Peer>",
            "10.0.0.1 / peer at 10.0.0.1 / 7",
            "3.14159|2|9",  # read back, the spec is not applied (as in Twisted)
        ]
        assert events[0]["log_level"] is m.LogLevel.info
        last = events[-1]
        assert last["log_level"] is m.LogLevel.critical
        assert m.formatEvent(last) == "it failed: frob"
        # The failure survives: its type's name and frames (Twisted does not keep
        # the message; torsion does, see below).
        assert "ZeroDivisionError" in last["log_failure"].getTraceback()
        assert "in _boom" in last["log_failure"].getTraceback()
    [*_, last] = logger.eventsFromJSONLogFile(io.StringIO(ours))
    assert last["log_failure"].check(ZeroDivisionError) is None  # a stand-in type...
    assert last["log_failure"].check("builtins.ZeroDivisionError")  # ...of that name
    assert last["log_failure"].getErrorMessage() == "division by zero"


def test_an_event_whose_format_cannot_be_filled_in_is_still_written() -> None:
    # Twisted's eventAsJSON raises here (and its observer is then reported broken).
    for event in _events(logger, tfailure)[4:8]:
        loaded = logger.eventFromJSON(logger.eventAsJSON(dict(event)))
        assert loaded["log_time"] == T0
        assert logger.formatEvent(loaded) == logger.formatEvent(loaded)  # does not raise
    loaded = logger.eventFromJSON(logger.eventAsJSON({"log_format": b"b {x}", "x": 1}))
    assert logger.formatEvent(loaded) == "b 1"


def test_eventsFromJSONLogFile_skips_bad_records_and_reads_bytes_and_lines() -> None:
    good = logger.eventAsJSON({"log_format": "ok"})
    data = f"\x1e{good}\n\x1enot json\n\x1e{good}".encode()  # the last one is cut short
    events = list(logger.eventsFromJSONLogFile(io.BytesIO(data), bufferSize=7))
    assert [logger.formatEvent(e) for e in events] == ["ok"]
    lines = io.StringIO(f"{good}\n{good}\n")
    assert len(list(logger.eventsFromJSONLogFile(lines, recordSeparator=""))) == 2


# -- legacy (twisted.python.log) text -----------------------------------------------


def _legacy(failureModule: ModuleType) -> list[dict[str, Any]]:
    base = {"time": T0, "system": "-", "isError": 0}
    return [
        dict(base, message=("hello", "world")),
        dict(base, message=(b"bytes", 3, None)),
        dict(base, message=(), format="%(a)s and %(b)r", a=1, b="two"),
        dict(base, message=(), format="%(nothere)s"),
        dict(base, message=()),
        dict(base, message=(), isError=1, failure=_failure(failureModule), why="while frobbing"),
        dict(base, message=(), isError=1, failure=_failure(failureModule), why=None),
        dict(base, message=("explicit",), isError=1, failure=_failure(failureModule)),
        dict(base, message=("two\nlines",), system="HTTPChannel,0,127.0.0.1"),
        dict(base, message=("summer",), time=T0 + 3600 * 24 * 200),
    ]


def test_textFromEventDict_matches_twisted() -> None:
    ours = [log.textFromEventDict(e) for e in _legacy(tfailure)]
    theirs = [twlog.textFromEventDict(e) for e in _legacy(twfailure)]
    assert ours == theirs
    assert ours[4] is None


def test_legacy_FileLogObserver_lines_match_twisted_byte_for_byte() -> None:
    outputs = []
    for m, fm in ((log, tfailure), (twlog, twfailure)):
        for timeFormat in (None, "%d/%m %H:%M:%S"):
            out = io.StringIO()
            observer = m.FileLogObserver(out)
            observer.timeFormat = timeFormat
            for e in _legacy(fm):
                observer.emit(e)
            outputs.append(out.getvalue())
    assert outputs[:2] == outputs[2:]
    assert outputs[0].startswith("2023-11-14 17:13:20-0500 [-] hello world\n")
