"""Structured logging under the names of ``twisted.logger``, carried by stdlib ``logging``.

``Logger().info("{n} bytes from {peer}", n=..., peer=...)`` makes an event (a
dict) and publishes it on ``globalLogPublisher``: its observers get it, and so
does the stdlib logger named by the Logger's namespace (by default the module
that made the Logger), so a ``logging`` configuration decides where it goes
just as it does for torsion's own messages.  Errors torsion logs reach the
observers too.  See ``torsion._logging._publisher`` for how.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from torsion._logging._format import (
    eventAsText,
    extractField,
    formatEvent,
    formatEventAsClassicLogText,
    formatTime,
    timeFormatRFC3339,
)
from torsion._logging._json import (
    eventAsJSON,
    eventFromJSON,
    eventsFromJSONLogFile,
    jsonFileLogObserver,
)
from torsion._logging._legacy import LegacyLogObserverWrapper
from torsion._logging._levels import InvalidLogLevelError, LogLevel
from torsion._logging._logger import Logger, LoggingFile, Operation
from torsion._logging._observers import (
    FileLogObserver,
    FilteringLogObserver,
    LimitedHistoryLogObserver,
    LogLevelFilterPredicate,
    PredicateResult,
    bitbucketLogObserver,
    textFileLogObserver,
)
from torsion._logging._publisher import (
    LogBeginner,
    LogPublisher,
    STDLibLogObserver,
    globalLogBeginner,
    globalLogPublisher,
)

__all__ = [
    "FileLogObserver",
    "FilteringLogObserver",
    "ILogFilterPredicate",
    "ILogObserver",
    "InvalidLogLevelError",
    "LegacyLogObserverWrapper",
    "LimitedHistoryLogObserver",
    "LogBeginner",
    "LogEvent",
    "LogLevel",
    "LogLevelFilterPredicate",
    "LogPublisher",
    "Logger",
    "LoggingFile",
    "Operation",
    "PredicateResult",
    "STDLibLogObserver",
    "bitbucketLogObserver",
    "capturedLogs",
    "eventAsJSON",
    "eventAsText",
    "eventFromJSON",
    "eventsFromJSONLogFile",
    "extractField",
    "formatEvent",
    "formatEventAsClassicLogText",
    "formatTime",
    "globalLogBeginner",
    "globalLogPublisher",
    "jsonFileLogObserver",
    "textFileLogObserver",
    "timeFormatRFC3339",
]

#: An event: a dict whose ``log_*`` keys belong to the logging system.
LogEvent = dict[str, Any]


class ILogObserver(Protocol):
    """Anything called with each event; it must not block, and may be called from any thread."""

    def __call__(self, event: LogEvent) -> None: ...


class ILogFilterPredicate(Protocol):
    """Says of an event whether it should be logged: a PredicateResult."""

    def __call__(self, event: LogEvent) -> PredicateResult: ...


@contextmanager
def capturedLogs() -> Iterator[Sequence[LogEvent]]:
    """Collect the events published globally inside the ``with`` block into a list."""
    events: list[LogEvent] = []
    globalLogPublisher.addObserver(events.append)
    try:
        yield events
    finally:
        globalLogPublisher.removeObserver(events.append)
