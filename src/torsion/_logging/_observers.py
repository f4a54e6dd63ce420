"""Observers that write, filter, keep or forward events (Twisted's ``twisted.logger`` ones)."""

from __future__ import annotations

import enum
import io
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from torsion._logging._format import formatEventAsClassicLogText, formatTime, timeFormatRFC3339
from torsion._logging._levels import InvalidLogLevelError, LogLevel

__all__ = [
    "FileLogObserver",
    "FilteringLogObserver",
    "LimitedHistoryLogObserver",
    "LogLevelFilterPredicate",
    "PredicateResult",
    "bitbucketLogObserver",
    "textFileLogObserver",
]

LogEvent = dict[str, Any]
_Observer = Callable[[LogEvent], None]


def _isBinary(f: Any) -> bool:
    """Whether ``f`` takes bytes rather than text."""
    if isinstance(f, io.TextIOBase):
        return False
    if isinstance(f, (io.BufferedIOBase, io.RawIOBase)):
        return True
    mode = getattr(f, "mode", None)
    return isinstance(mode, str) and "b" in mode


class FileLogObserver:
    """Writes ``formatEvent(event)`` to ``outFile`` (UTF-8 encoded if it takes bytes).

    Nothing is written for an event the formatter turns into "" or None; the
    file is flushed after each write.
    """

    def __init__(self, outFile: Any, formatEvent: Callable[[LogEvent], str | None]) -> None:
        self._encoding = "utf-8" if _isBinary(outFile) else None
        self._outFile = outFile
        self.formatEvent = formatEvent

    def __call__(self, event: LogEvent) -> None:
        text = self.formatEvent(event)
        if text:
            if self._encoding is None:
                self._outFile.write(text)
            else:
                self._outFile.write(text.encode(self._encoding))
            self._outFile.flush()


def textFileLogObserver(
    outFile: Any, timeFormat: str | None = timeFormatRFC3339
) -> FileLogObserver:
    """A FileLogObserver writing ``{time} [{system}] {text}`` lines (Twisted's log-file format).

    Continuation lines (a traceback) are indented by a tab; with
    ``timeFormat=None`` the time is ``-``.
    """

    def format(event: LogEvent) -> str | None:
        return formatEventAsClassicLogText(event, formatTime=lambda t: formatTime(t, timeFormat))

    return FileLogObserver(outFile, format)


def bitbucketLogObserver(event: LogEvent) -> None:
    """An observer that ignores every event."""


class PredicateResult(enum.Enum):
    """What a filter predicate says of an event: log it, drop it, or ask the next one."""

    yes = "yes"
    no = "no"
    maybe = "maybe"

    def __repr__(self) -> str:
        return f"<PredicateResult={self.name}>"

    __str__ = __repr__


def shouldLogEvent(predicates: Iterable[Callable[[LogEvent], Any]], event: LogEvent) -> bool:
    """The first ``yes`` or ``no`` of ``predicates`` decides; all ``maybe`` means yes."""
    for predicate in predicates:
        result = predicate(event)
        if result is PredicateResult.yes:
            return True
        if result is PredicateResult.no:
            return False
        if result is not PredicateResult.maybe:
            raise TypeError(f"Invalid predicate result: {result!r}")
    return True


class FilteringLogObserver:
    """Passes the events ``predicates`` accept on to ``observer``, others to the negative one."""

    def __init__(
        self,
        observer: _Observer,
        predicates: Iterable[Callable[[LogEvent], Any]],
        negativeObserver: _Observer = bitbucketLogObserver,
    ) -> None:
        self._observer = observer
        self._predicates = list(predicates)
        self._negativeObserver = negativeObserver

    def __call__(self, event: LogEvent) -> None:
        if shouldLogEvent(self._predicates, event):
            if "log_trace" in event:
                event["log_trace"].append((self, self._observer))
            self._observer(event)
        else:
            self._negativeObserver(event)


class LogLevelFilterPredicate:
    """Drops events below the level set for their namespace (or its nearest parent).

    Events without a level or a namespace are dropped too; others get ``maybe``.
    """

    def __init__(self, defaultLogLevel: LogLevel = LogLevel.info) -> None:
        self.defaultLogLevel = defaultLogLevel
        self._levels: dict[str, LogLevel] = {}
        self.clearLogLevels()

    def logLevelForNamespace(self, namespace: str) -> LogLevel:
        """The level for ``namespace``: its own, its nearest parent's, or the default."""
        levels = self._levels
        while namespace:
            if namespace in levels:
                return levels[namespace]
            namespace = namespace.rpartition(".")[0]
        return levels[""]

    def setLogLevelForNamespace(self, namespace: str, level: LogLevel) -> None:
        """Set the level for ``namespace`` ("" for the default)."""
        if not isinstance(level, LogLevel):
            raise InvalidLogLevelError(level)
        self._levels[namespace or ""] = level

    def clearLogLevels(self) -> None:
        """Forget every namespace's level; only the default remains."""
        self._levels.clear()
        self._levels[""] = self.defaultLogLevel

    def __call__(self, event: LogEvent) -> PredicateResult:
        level = event.get("log_level")
        namespace = event.get("log_namespace")
        if level is None or not namespace:
            return PredicateResult.no
        if level < self.logLevelForNamespace(namespace):
            return PredicateResult.no
        return PredicateResult.maybe


class LimitedHistoryLogObserver:
    """Keeps the last ``size`` events (all of them if None), to ``replayTo`` another observer."""

    def __init__(self, size: int | None = 65536) -> None:
        self._buffer: deque[LogEvent] = deque(maxlen=size)

    def __call__(self, event: LogEvent) -> None:
        self._buffer.append(event)

    def replayTo(self, otherObserver: _Observer) -> None:
        for event in self._buffer:
            otherObserver(event)
