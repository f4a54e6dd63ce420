"""utils.runWithWarningsSuppressed / suppressWarnings, getProcessOutputAndValue(stdinBytes=),
and protocol.FileWrapper and the consumer/protocol adapters."""

from __future__ import annotations

import io
import logging
import shutil
import warnings
from typing import Any

import pytest

from torsion import defer, utils
from torsion.protocol import (
    ConsumerToProtocolAdapter,
    FileWrapper,
    Protocol,
    ProtocolToConsumerAdapter,
)

SH = shutil.which("sh") or "/bin/sh"

IGNORE_DEPRECATION = (("ignore",), {"category": DeprecationWarning})


def _warn(message: str = "old") -> str:
    warnings.warn(message, DeprecationWarning, stacklevel=2)
    return "result"


def test_runWithWarningsSuppressed_filters_during_the_call_only() -> None:
    before = list(warnings.filters)
    assert utils.runWithWarningsSuppressed([IGNORE_DEPRECATION], _warn) == "result"
    assert warnings.filters == before
    # pytest's filterwarnings=error is back in force: the same call now raises.
    with pytest.raises(DeprecationWarning):
        _warn()


def test_an_equal_filter_already_in_force_keeps_its_place() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, append=True)
        before = list(warnings.filters)
        utils.runWithWarningsSuppressed([(("ignore",), {"category": UserWarning})], list)
        assert warnings.filters == before


def test_runWithWarningsSuppressed_removes_the_filters_when_f_raises() -> None:
    before = list(warnings.filters)

    def boom() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        utils.runWithWarningsSuppressed([IGNORE_DEPRECATION], boom)
    assert warnings.filters == before


def test_runWithWarningsSuppressed_waits_for_a_returned_deferred() -> None:
    before = list(warnings.filters)
    d: defer.Deferred[None] = defer.Deferred()
    assert utils.runWithWarningsSuppressed([IGNORE_DEPRECATION], lambda: d) is d
    assert warnings.filters != before
    _warn("while the Deferred is pending")  # suppressed: no error
    d.callback(None)
    assert warnings.filters == before


def test_suppressWarnings_wraps_a_function() -> None:
    wrapped = utils.suppressWarnings(_warn, IGNORE_DEPRECATION)
    assert wrapped.__name__ == "_warn"
    assert wrapped("x") == "result"
    with pytest.raises(DeprecationWarning):
        _warn()


def test_getProcessOutputAndValue_writes_stdinBytes_then_closes_stdin(
    reactor: Any, run: Any
) -> None:
    d = utils.getProcessOutputAndValue(
        SH, ["-c", "cat; echo done >&2; exit 3"], reactor=reactor, stdinBytes=b"in put"
    )
    assert run(d) == (b"in put", b"done\n", 3)


# -- FileWrapper ----------------------------------------------------------------


def test_filewrapper_writes_to_the_file_and_closes_it() -> None:
    f = io.BytesIO()
    t = FileWrapper(f)
    t.write(b"one ")
    t.writeSequence([b"two", b" three"])
    assert f.getvalue() == b"one two three"
    assert t.getPeer() == ("file", "file") and t.getHost() == "file"
    assert not t.closed
    t.loseConnection()
    assert t.closed and f.closed


def test_filewrapper_pull_producer_is_resumed_once_at_registration() -> None:
    t = FileWrapper(io.BytesIO())
    calls: list[str] = []

    class Producer:
        def resumeProducing(self) -> None:
            calls.append("resume")

        def stopProducing(self) -> None:
            calls.append("stop")

    p = Producer()
    t.registerProducer(p, False)
    assert calls == ["resume"] and t.producer is p and t.streamingProducer is False
    t.registerProducer(p, True)
    assert calls == ["resume"]
    t.stopConsuming()
    assert t.producer is None and t.closed


def test_filewrapper_logs_a_write_error(caplog: pytest.LogCaptureFixture) -> None:
    f = io.BytesIO()
    f.close()
    t = FileWrapper(f)
    with caplog.at_level(logging.ERROR, logger="torsion"):
        t.write(b"x")  # does not raise
    assert "FileWrapper" in caplog.text and "ValueError" in caplog.text


def test_filewrapper_handleException_can_be_overridden() -> None:
    seen: list[str] = []

    class Quiet(FileWrapper):
        def handleException(self) -> None:
            seen.append("handled")

    f = io.BytesIO()
    f.close()
    Quiet(f).write(b"x")
    assert seen == ["handled"]


# -- ProtocolToConsumerAdapter, ConsumerToProtocolAdapter -----------------------


def test_a_protocol_as_a_consumer_receives_what_is_written() -> None:
    received: list[bytes] = []
    p = Protocol()
    p.dataReceived = received.append  # type: ignore[method-assign]
    consumer = ProtocolToConsumerAdapter(p)
    assert consumer.original is p
    consumer.registerProducer(object(), True)  # accepted, and ignored
    consumer.write(b"hello")
    consumer.unregisterProducer()
    assert received == [b"hello"]


def test_a_consumer_as_a_protocol_writes_what_it_receives() -> None:
    consumer = io.BytesIO()
    protocol = ConsumerToProtocolAdapter(consumer)
    assert protocol.original is consumer
    protocol.makeConnection(object())
    protocol.connectionMade()
    protocol.dataReceived(b"hello")
    protocol.connectionLost(None)
    assert consumer.getvalue() == b"hello"
