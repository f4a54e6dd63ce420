"""``twisted.python.log``'s API over the global publisher: msg, err, observers, startLogging.

The functions here find ``msg``, ``addObserver``, ``theLogPublisher``... in
the ``torsion.log`` module when they are called, so a test that replaces one
of those there (as Twisted's own tests do) changes what they use.

A legacy event has ``message`` (a tuple of words), ``isError``, ``system``,
``time``, and for errors ``failure`` and ``why``; ``format`` is a ``%``
format over the event.  ``msg`` makes one, adds the new-style keys
(``log_level``: info, or critical for errors; ``log_namespace``: "log_legacy";
``log_format`` over the legacy text) and publishes it.  A legacy observer
added with ``addObserver`` is wrapped so that every event it sees, new-style
ones included, also has the legacy keys.
"""

from __future__ import annotations

import contextvars
import io
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

from torsion._logging._format import (
    _EventText,
    formatEvent,
    safeFormat,
    textFromEventDict,
)
from torsion._logging._levels import LogLevel, fromStdlibLevel
from torsion._logging._logger import LoggingFile
from torsion._logging._publisher import (
    LogBeginner,
    STDLibLogObserver,
    globalLogBeginner,
    globalLogPublisher,
)
from torsion._logging._publisher import LogPublisher as _NewPublisher
from torsion.failure import Failure

__all__ = [
    "DefaultObserver",
    "FileLogObserver",
    "ILogContext",
    "LegacyLogObserverWrapper",
    "LogPublisher",
    "Logger",
    "NullFile",
    "PythonLoggingObserver",
    "StdioOnnaStick",
    "callWithContext",
    "callWithLogger",
    "err",
    "publishToNewObserver",
    "startLogging",
    "startLoggingWithObserver",
    "theLogPublisher",
    "torsionMsg",
]

EventDict = dict[str, Any]
_Observer = Callable[[EventDict], None]


class LegacyLogObserverWrapper:
    """Gives a legacy observer events with the legacy keys added (in place)."""

    def __init__(self, legacyObserver: _Observer) -> None:
        self.legacyObserver = legacyObserver

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.legacyObserver})"

    def __call__(self, event: EventDict) -> None:
        event.setdefault("message", ())
        event.setdefault("time", event.get("log_time"))
        event.setdefault("system", event.get("log_system", "-"))
        if "format" not in event and event.get("log_format") is not None:
            event["format"] = "%(log_legacy)s"
            event["log_legacy"] = _EventText(event.copy())
            if not isinstance(event["message"], tuple):
                event["message"] = ()
        if "log_failure" in event:
            event.setdefault("failure", event["log_failure"])
            event.setdefault("isError", 1)
            if "why" not in event:
                event["why"] = formatEvent(event)
        elif "isError" not in event:
            event["isError"] = (
                1 if event["log_level"] in (LogLevel.error, LogLevel.critical) else 0
            )
        self.legacyObserver(event)


def publishToNewObserver(
    observer: _Observer,
    eventDict: EventDict,
    textFromEventDict: Callable[[EventDict], str | None] = textFromEventDict,
) -> None:
    """Give a legacy event the new-style keys it lacks, then pass it to ``observer``."""
    eventDict.setdefault("log_time", eventDict.get("time"))
    if "log_format" not in eventDict:
        text = textFromEventDict(eventDict)
        if text is not None:
            eventDict["log_text"] = text
            eventDict["log_format"] = "{log_text}"
    if "log_level" not in eventDict:
        level: LogLevel | None
        if "logLevel" in eventDict:
            level = fromStdlibLevel(eventDict["logLevel"], exact=True)
        elif eventDict.get("isError"):
            level = LogLevel.critical
        else:
            level = LogLevel.info
        if level is not None:
            eventDict["log_level"] = level
    eventDict.setdefault("log_namespace", "log_legacy")
    if "log_system" not in eventDict and "system" in eventDict:
        eventDict["log_system"] = eventDict["system"]
    observer(eventDict)


# -- context ---------------------------------------------------------------------


class ILogContext:
    """The key of the log context: the fields (``system``...) every ``msg`` inherits."""


_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "torsion.log.context", default=types.MappingProxyType({"system": "-"})
)


def callWithContext(
    ctx: Mapping[str, Any], func: Callable[..., Any], *args: Any, **kw: Any
) -> Any:
    """Call ``func``; events logged meanwhile (in this context) get the fields of ``ctx``."""
    merged = dict(_context.get())
    merged.update(ctx)
    token = _context.set(merged)
    try:
        return func(*args, **kw)
    finally:
        _context.reset(token)


def callWithLogger(logger: Any, func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Call ``func`` with ``system`` set to ``logger.logPrefix()``; log (and swallow) its error."""
    try:
        prefix = logger.logPrefix()
    except KeyboardInterrupt:
        raise
    except BaseException:
        prefix = "(buggy logPrefix method)"
        _log().err(system=prefix)
    try:
        return callWithContext({"system": prefix}, func, *args, **kw)
    except KeyboardInterrupt:
        raise
    except BaseException:
        _log().err(system=prefix)
        return None


# -- publishing ------------------------------------------------------------------


class Logger:
    """Base for objects that log: ``logPrefix()`` names them in log lines."""

    def logPrefix(self) -> str:
        return "-"


class LogPublisher:
    """Legacy publishing: ``msg`` and legacy observers over a (new-style) publisher.

    ``theLogPublisher`` is the one over the global publisher; a LogPublisher
    made without arguments has publishers of its own.
    """

    def __init__(
        self,
        observerPublisher: _NewPublisher | None = None,
        publishPublisher: _Observer | None = None,
        logBeginner: LogBeginner | None = None,
        warningsModule: Any = warnings,
    ) -> None:
        if publishPublisher is None:
            publishPublisher = _NewPublisher()
            if observerPublisher is None:
                observerPublisher = publishPublisher
        if observerPublisher is None:
            observerPublisher = _NewPublisher()
        self._observerPublisher = observerPublisher
        self._publishPublisher = publishPublisher
        self._legacyObservers: list[LegacyLogObserverWrapper] = []
        if logBeginner is None:
            beginnerPublisher = _NewPublisher(observerPublisher)
            logBeginner = LogBeginner(beginnerPublisher, NullFile(), sys, warnings)
        self._logBeginner = logBeginner
        self._warningsModule = warningsModule
        self._oldshowwarning = warningsModule.showwarning
        self.showwarning = logBeginner.showwarning

    @property
    def observers(self) -> list[_Observer]:
        """The legacy observers added, in order."""
        return [w.legacyObserver for w in self._legacyObservers]

    def addObserver(self, other: _Observer) -> None:
        """Call ``other`` with each event (as a legacy event dict)."""
        wrapped = LegacyLogObserverWrapper(other)
        self._legacyObservers.append(wrapped)
        self._observerPublisher.addObserver(wrapped)

    def removeObserver(self, other: _Observer) -> None:
        """Stop calling ``other``."""
        for wrapped in self._legacyObservers:
            if wrapped.legacyObserver == other:
                self._legacyObservers.remove(wrapped)
                self._observerPublisher.removeObserver(wrapped)
                return

    def msg(self, *message: Any, **kw: Any) -> None:
        """Log ``message`` (words joined by spaces); keywords become fields of the event.

        ``system``, ``isError``, ``format`` (a ``%`` format over the event) and
        ``logLevel`` (a stdlib level) have their legacy meanings.
        """
        event = dict(_context.get())
        event.update(kw)
        event["message"] = message
        event["time"] = time.time()
        event.setdefault("isError", 0)
        publishToNewObserver(self._publishPublisher, event, textFromEventDict)

    def _startLogging(self, other: _Observer, setStdout: Any) -> None:
        wrapped = LegacyLogObserverWrapper(other)
        self._legacyObservers.append(wrapped)
        self._logBeginner.beginLoggingTo([wrapped], True, bool(setStdout))

    def _stopLogging(self) -> None:
        if self._warningsModule.showwarning == self.showwarning:
            self._warningsModule.showwarning = self._oldshowwarning


theLogPublisher = LogPublisher(
    observerPublisher=globalLogPublisher,
    publishPublisher=globalLogPublisher,
    logBeginner=globalLogBeginner,
)


def torsionMsg(text: str) -> None:
    """Log ``text`` as torsion's own ``msg`` event (a port starting or closing).

    Observers get it as Twisted's get such lines; the stdlib logger
    ``torsion`` gets it at INFO.
    """
    theLogPublisher.msg(text, log_namespace="torsion")


def _log() -> Any:
    """The ``torsion.log`` module, whose globals these functions use."""
    return sys.modules["torsion.log"]


def err(_stuff: Any = None, _why: str | None = None, **kw: Any) -> None:
    """Log an error: a Failure, an exception, or (by default) the one being handled.

    ``_why`` says what was going on.  Anything else is logged as its repr.
    """
    if _stuff is None:
        _stuff = Failure()
    if isinstance(_stuff, Failure):
        _log().msg(failure=_stuff, why=_why, isError=1, **kw)
    elif isinstance(_stuff, Exception):
        _log().msg(failure=Failure(_stuff), why=_why, isError=1, **kw)
    else:
        _log().msg(repr(_stuff), why=_why, isError=1, **kw)


# -- observers -------------------------------------------------------------------


class _StartStop:
    """Observers that add themselves to the global publisher with ``start()``."""

    def emit(self, eventDict: EventDict) -> None:
        raise NotImplementedError

    def start(self) -> None:
        _log().addObserver(self.emit)

    def stop(self) -> None:
        _log().removeObserver(self.emit)


class FileLogObserver(_StartStop):
    """Writes ``{time} [{system}] {text}`` lines to a file (``startLogging``'s format).

    The time is local, ``YYYY-MM-DD HH:MM:SS+ZZZZ``, or per ``timeFormat``
    (a strftime format) if set.
    """

    timeFormat: str | None = None

    def __init__(self, f: Any) -> None:
        self.write = f.write
        self.flush = f.flush

    def getTimezoneOffset(self, when: float) -> int:
        """Seconds to add to local time to get UTC at ``when`` (west of Greenwich is positive)."""
        offset = datetime.fromtimestamp(when, UTC).replace(tzinfo=None) - datetime.fromtimestamp(
            when
        )
        return offset.days * 86400 + offset.seconds

    def formatTime(self, when: float) -> str:
        if self.timeFormat is not None:
            return datetime.fromtimestamp(when).strftime(self.timeFormat)
        tzOffset = -self.getTimezoneOffset(when)
        local = datetime.fromtimestamp(when + tzOffset, UTC)
        sign = "-" if tzOffset < 0 else "+"
        hours, minutes = abs(int(tzOffset / 3600)), abs(int(tzOffset / 60 % 60))
        return f"{local:%Y-%m-%d %H:%M:%S}{sign}{hours:02d}{minutes:02d}"

    def emit(self, eventDict: EventDict) -> None:
        text = textFromEventDict(eventDict)
        if text is None:
            return
        line = safeFormat(
            "[%(system)s] %(text)s\n",
            {"system": eventDict["system"], "text": text.replace("\n", "\n\t")},
        )
        self.write(f"{self.formatTime(eventDict['time'])} {line}")
        self.flush()


class PythonLoggingObserver(_StartStop):
    """Sends events to the stdlib logger ``loggerName``.

    Events published globally are already carried by the stdlib (under their
    namespace), so once started this only forwards events it is given that
    were not.
    """

    def __init__(self, loggerName: str = "twisted") -> None:
        self._newObserver = STDLibLogObserver(loggerName)

    def emit(self, eventDict: EventDict) -> None:
        if "log_format" in eventDict:
            publishToNewObserver(self._newObserver, eventDict, textFromEventDict)


class DefaultObserver(_StartStop):
    """Writes the text of error events to ``stderr``; other events are ignored."""

    stderr: Any = sys.stderr

    def emit(self, eventDict: EventDict) -> None:
        if eventDict["isError"]:
            text = textFromEventDict(eventDict)
            if text is not None:
                self.stderr.write(text)
            self.stderr.flush()


class StdioOnnaStick:
    """A stand-in for stdout or stderr that logs each line written (``isError`` for stderr)."""

    closed = 0
    softspace = 0
    mode = "wb"
    name = "<stdio (log)>"

    def __init__(self, isError: int = 0, encoding: str | None = None) -> None:
        self.isError = isError
        self.encoding = sys.getdefaultencoding() if encoding is None else encoding
        self.buf = ""

    def close(self) -> None:
        pass

    def fileno(self) -> NoReturn:
        raise io.UnsupportedOperation("StdioOnnaStick has no file descriptor.")

    def flush(self) -> None:
        pass

    def read(self, *args: object) -> NoReturn:
        raise OSError("can't read from the log!")

    readline = readlines = seek = tell = read

    def write(self, data: str) -> None:
        *lines, self.buf = (self.buf + data).split("\n")
        for line in lines:
            _log().msg(line, printed=1, isError=self.isError)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            _log().msg(line, printed=1, isError=self.isError)


class NullFile:
    """A file that discards what is written to it."""

    softspace = 0

    def read(self) -> None:
        pass

    def write(self, bytes: Any) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def startLoggingWithObserver(observer: _Observer, setStdout: Any = 1) -> None:
    """Begin logging to ``observer`` (a legacy observer), then log "Log opened.".

    With ``setStdout`` (the default), ``sys.stdout`` and ``sys.stderr`` are
    replaced by files that log what is printed.
    """
    log = _log()
    log.theLogPublisher._startLogging(observer, setStdout)
    log.msg("Log opened.")


def startLogging(file: Any, *a: Any, **kw: Any) -> FileLogObserver | None:
    """Begin logging to ``file`` in FileLogObserver's format; returns the observer.

    Nothing is done if ``file`` is itself a logging file (such as
    ``sys.stdout`` once logging has begun).
    """
    if isinstance(file, LoggingFile):
        return None
    observer = FileLogObserver(file)
    startLoggingWithObserver(observer.emit, *a, **kw)
    return observer
