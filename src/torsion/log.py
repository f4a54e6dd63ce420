"""Twisted's classic logging API (``twisted.python.log``), carried by stdlib ``logging``.

``msg("words", system="x")`` and ``err(failure, "why")`` publish legacy
events on the global publisher (``torsion.logger.globalLogPublisher``):
observers added with ``addObserver`` get them as Twisted's do (``message``,
``isError``, ``failure``, ``why``, ``system``, ``time``, ``format``), and
the stdlib logger ``log_legacy`` gets them as records.  Errors torsion itself
logs (a callback that raised, an unhandled Deferred failure) reach the
observers as ``isError`` events with a ``failure``.  ``startLogging(file)``
writes every event to ``file`` in Twisted's log-file format.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

from torsion._logging._format import safeFormat as _safeFormat
from torsion._logging._format import textFromEventDict
from torsion._logging._legacy import (
    DefaultObserver,
    EventDict,
    FileLogObserver,
    ILogContext,
    Logger,
    LogPublisher,
    NullFile,
    PythonLoggingObserver,
    StdioOnnaStick,
    callWithContext,
    callWithLogger,
    err,
    startLogging,
    startLoggingWithObserver,
    theLogPublisher,
)
from torsion._logging._levels import LogLevel as _LogLevel
from torsion._logging._logger import Logger as _NewLogger
from torsion._logging._logger import LoggingFile as _LoggingFile

__all__ = [
    "DefaultObserver",
    "EventDict",
    "FileLogObserver",
    "ILogContext",
    "ILogObserver",
    "LogPublisher",
    "Logger",
    "NullFile",
    "PythonLoggingObserver",
    "StdioOnnaStick",
    "addObserver",
    "callWithContext",
    "callWithLogger",
    "defaultObserver",
    "deferr",
    "discardLogs",
    "err",
    "logerr",
    "logfile",
    "msg",
    "removeObserver",
    "showwarning",
    "startLogging",
    "startLoggingWithObserver",
    "textFromEventDict",
    "theLogPublisher",
]


class ILogObserver(Protocol):
    """A legacy observer: called with each event dict."""

    def __call__(self, eventDict: EventDict) -> None: ...


addObserver = theLogPublisher.addObserver
removeObserver = theLogPublisher.removeObserver
msg = theLogPublisher.msg
showwarning = theLogPublisher.showwarning
deferr = err

#: Files whose lines are logged (at info and error level).
logfile: Any = _LoggingFile(
    _NewLogger(namespace="torsion.log"),
    _LogLevel.info,
    getattr(sys.stdout, "encoding", None),
)
logerr: Any = _LoggingFile(
    _NewLogger(namespace="torsion.log"),
    _LogLevel.error,
    getattr(sys.stderr, "encoding", None),
)

defaultObserver = DefaultObserver()


def discardLogs() -> None:
    """Make ``logfile`` discard what is written to it."""
    global logfile
    logfile = NullFile()


_ = _safeFormat  # kept importable as torsion.log._safeFormat, as in Twisted
