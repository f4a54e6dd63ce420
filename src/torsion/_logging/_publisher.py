"""The global log publisher, and how it is carried by the stdlib ``logging`` module.

Theory of operation
-------------------
Events are dicts (Twisted's shape).  Observers are callables added to a
``LogPublisher``, which calls each of them with each event; one that raises
is reported to the others and stays registered.

The *global* publisher (``globalLogPublisher``, which ``Logger()`` and
``log.msg`` use by default) is tied to stdlib ``logging`` both ways, so that
one logging configuration serves torsion, ``twisted.logger``-style and
``twisted.python.log``-style code alike:

* Out: each event published on it is also handed to the stdlib logger named
  by its ``log_namespace`` (the root logger if it has none) as a LogRecord at
  the matching level, whose message formats the event lazily and whose
  ``exc_info`` is the event's ``log_failure``.  The stdlib's own level checks
  apply, so an INFO event reaches stdlib handlers only if that logger is
  enabled for INFO.  Observers get every event whatever the stdlib levels.
* In: torsion itself logs through the stdlib logger ``torsion`` and its
  children (errors in callbacks and protocols, unhandled Deferred failures).
  A handler on ``torsion`` turns those records into events for the global
  publisher's observers, with the error as ``log_failure``; for legacy
  observers that is an ``isError`` event with a ``failure``, as in Twisted.

Records carry the event they came from (``record.torsion_event``) and events
being dispatched are remembered per thread, so nothing goes round twice.

Before logging "begins" (``globalLogBeginner.beginLoggingTo``, which
``log.startLogging`` calls) a record that no stdlib handler takes goes to the
stdlib's last-resort handler (stderr, WARNING and up), as Twisted writes
critical events to stderr until then.  After it, events go to the observers
chosen and, if the stdlib has handlers of its own, to those; nothing more goes
to stderr.  Unlike Twisted, the global beginner keeps no history of the events
logged before logging began (they went to ``logging`` when they happened):
holding them would hold their failures' frames, and the sockets those refer to.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import IO, Any

from torsion._logging._format import _EventText, eventAsText
from torsion._logging._levels import LogLevel, fromStdlibLevel, toStdlibLevel
from torsion._logging._logger import Logger, LoggingFile
from torsion._logging._observers import (
    FileLogObserver,
    FilteringLogObserver,
    LimitedHistoryLogObserver,
    LogLevelFilterPredicate,
)
from torsion.failure import Failure

__all__ = [
    "LogBeginner",
    "LogPublisher",
    "STDLibLogObserver",
    "globalLogBeginner",
    "globalLogPublisher",
    "publisherAtStdlibLevel",
]

LogEvent = dict[str, Any]
_Observer = Callable[[LogEvent], None]

_OBSERVER_DISABLED = "Temporarily disabling observer {observer} due to exception: {log_failure}"

_MORE_THAN_ONCE_WARNING = (
    "Warning: primary log target selected twice at <{fileNow}:{lineNow}> - "
    "previously selected at <{fileThen}:{lineThen}>.  Remove one of the calls "
    "to beginLoggingTo."
)


class LogPublisher:
    """An observer that passes each event on to the observers added to it."""

    def __init__(self, *observers: _Observer) -> None:
        # A tuple, replaced on change: an observer may add or remove observers
        # while an event is being dispatched.
        self._observers: tuple[_Observer, ...] = observers
        self.log = Logger(observer=self)

    def addObserver(self, observer: _Observer) -> None:
        """Add ``observer`` (once: adding it again does nothing)."""
        if not callable(observer):
            raise TypeError(f"Observer is not callable: {observer!r}")
        if observer not in self._observers:
            self._observers = (*self._observers, observer)

    def removeObserver(self, observer: _Observer) -> None:
        """Remove ``observer``; nothing happens if it is not there."""
        observers = list(self._observers)
        try:
            observers.remove(observer)
        except ValueError:
            return
        self._observers = tuple(observers)

    def __call__(self, event: LogEvent) -> None:
        self._deliver(event)

    def _deliver(self, event: LogEvent) -> None:
        trace = event.get("log_trace") if "log_trace" in event else None
        broken: list[tuple[_Observer, Failure]] = []
        for observer in self._observers:
            if trace is not None:
                trace.append((self, observer))
            try:
                observer(event)
            except Exception:
                broken.append((observer, Failure()))
        for observer, failure in broken:
            Logger(observer=self._publisherWithout(observer)).failure(
                _OBSERVER_DISABLED, failure=failure, observer=observer
            )

    def _publisherWithout(self, observer: _Observer) -> _Observer:
        return LogPublisher(*(o for o in self._observers if o is not observer))


# -- the stdlib bridge -----------------------------------------------------------

_local = threading.local()  # .dispatching: events being delivered; .forwarding: a flag


def _dispatching() -> list[LogEvent]:
    try:
        stack: list[LogEvent] = _local.dispatching
    except AttributeError:
        stack = _local.dispatching = []
    return stack


def _alreadyInStdlib(event: LogEvent) -> bool:
    """Whether ``event`` is being delivered by the global publisher (so stdlib has it)."""
    return any(e is event for e in _dispatching())


_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_FACADES = {
    os.path.join(os.path.dirname(_PACKAGE), "log.py"),
    os.path.join(os.path.dirname(_PACKAGE), "logger.py"),
}


def _caller() -> tuple[str, int, str]:
    """File, line and function of the code that logged, outside this package."""
    f = sys._getframe(2)
    while f is not None:
        filename = f.f_code.co_filename
        if not filename.startswith(_PACKAGE) and filename not in _FACADES:
            return filename, f.f_lineno, f.f_code.co_name
        f = f.f_back  # type: ignore[assignment]
    return "(unknown file)", 0, "(unknown function)"


def _hasOtherHandlers(logger: logging.Logger) -> bool:
    """Whether a record on ``logger`` reaches a handler other than our bridge."""
    c: logging.Logger | None = logger
    while c is not None:
        for h in c.handlers:
            if h is not _bridge:
                return True
        if not c.propagate:
            return False
        c = c.parent
    return False


def _lastResort(record: logging.LogRecord) -> None:
    """What the stdlib does with a record no handler took."""
    handler = logging.lastResort
    if handler is not None:
        if record.levelno >= handler.level:
            handler.handle(record)
        return
    manager = logging.Logger.manager
    if logging.raiseExceptions and not manager.emittedNoHandlerWarning:
        sys.stderr.write(f'No handlers could be found for logger "{record.name}"\n')
        manager.emittedNoHandlerWarning = True


def _handOver(
    logger: logging.Logger,
    level: int,
    event: LogEvent,
    where: tuple[str, int, str] | None = None,
) -> None:
    """Make the stdlib record for ``event`` and log it.

    ``where`` is the file, line and function to report; by default, the first
    caller outside this package.
    """
    failure = event.get("log_failure")
    excInfo: Any = None
    if failure is not None:
        try:
            excInfo = (failure.type, failure.value, failure.getTracebackObject())
        except Exception:
            excInfo = None
    filename, lineno, func = _caller() if where is None else where
    record = logger.makeRecord(
        logger.name,
        level,
        filename,
        lineno,
        _EventText(event),
        (),
        excInfo,
        func,
        {"torsion_event": event},
    )
    logger.handle(record)


def _toStdlib(event: LogEvent, level: int | None = None) -> None:
    """Hand ``event`` to the stdlib logger of its namespace, if that logger wants it.

    ``level`` is the stdlib level to use; by default, the event's own.
    """
    if getattr(_local, "forwarding", False):
        return  # a stdlib handler is logging through us: do not go round again
    namespace = event.get("log_namespace")
    logger = logging.getLogger(str(namespace) if namespace else None)
    if level is None:
        level = toStdlibLevel(event.get("log_level"))
    if not logger.isEnabledFor(level):
        return
    if globalLogBeginner._begun and not _hasOtherHandlers(logger):
        return  # logging has begun: the observers chosen are where events go
    _local.forwarding = True
    try:
        _handOver(logger, level, event)
    finally:
        _local.forwarding = False


_UNHANDLED_IN_DEFERRED = "Unhandled error in Deferred:"
_DEBUG_OPEN = "(debug: "


def _eventsFromRecord(record: logging.LogRecord) -> list[LogEvent]:
    """Twisted-shaped events for a record torsion logged through the stdlib."""
    failure: Failure | None = getattr(record, "torsion_failure", None)
    excInfo = record.exc_info
    if failure is None and excInfo and excInfo[1] is not None:
        failure = Failure(excInfo[1], excInfo[0], excInfo[2])
    why = getattr(record, "torsion_why", None)
    text = record.getMessage() if why is None else why
    base: LogEvent = {
        "log_namespace": record.name,
        "log_level": fromStdlibLevel(record.levelno),
        "log_time": record.created,
        "log_source": None,
    }
    if failure is not None and text.startswith(_UNHANDLED_IN_DEFERRED):
        # Twisted reports an unhandled failure as two critical events: a
        # header, then the failure (with the debug information, if any).
        debugInfo = text[len(_UNHANDLED_IN_DEFERRED) :].lstrip("\n")
        if debugInfo.startswith(_DEBUG_OPEN) and debugInfo.endswith(")"):
            debugInfo = debugInfo[len(_DEBUG_OPEN) : -1]  # the Deferred's own, unwrapped
        header = dict(base, log_format=_UNHANDLED_IN_DEFERRED, isError=True)
        header["log_level"] = LogLevel.critical
        body = dict(
            base,
            log_format="(debug: {debugInfo})" if debugInfo else "",
            log_failure=failure,
            debugInfo=debugInfo,
        )
        body["log_level"] = LogLevel.critical
        return [header, body]
    event = dict(base, log_format="{log_text}", log_text=text)
    if failure is not None:
        event["log_failure"] = failure
    return [event]


class _ObserverBridge(logging.Handler):
    """On logger ``torsion``: gives torsion's own records to the global publisher's observers."""

    def emit(self, record: logging.LogRecord) -> None:
        if not hasattr(record, "torsion_event"):
            for event in _eventsFromRecord(record):
                globalLogPublisher._deliver(event)
        if not globalLogBeginner._begun and not _hasOtherHandlers(logging.getLogger(record.name)):
            _lastResort(record)  # we must not hide the record from the stdlib's fallback


class _GlobalLogPublisher(LogPublisher):
    """The publisher whose events also go to (and come from) stdlib logging."""

    def __call__(self, event: LogEvent) -> None:
        self._publish(event, None)

    def _publish(self, event: LogEvent, stdlibLevel: int | None) -> None:
        stack = _dispatching()
        stack.append(event)
        try:
            _toStdlib(event, stdlibLevel)
            self._deliverOnly(event)
        finally:
            stack.pop()

    def _deliver(self, event: LogEvent) -> None:
        stack = _dispatching()
        stack.append(event)
        try:
            self._deliverOnly(event)
        finally:
            stack.pop()

    def _deliverOnly(self, event: LogEvent) -> None:
        LogPublisher._deliver(self, event)

    def _publisherWithout(self, observer: _Observer) -> _Observer:
        others = LogPublisher(*(o for o in self._observers if o is not observer))

        def publish(event: LogEvent) -> None:
            _toStdlib(event)
            others(event)

        return publish


class _AtStdlibLevel:
    """Publishes globally, handing each event to the stdlib at one fixed level."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __call__(self, event: LogEvent) -> None:
        globalLogPublisher._publish(event, self.level)


def publisherAtStdlibLevel(level: int) -> _Observer:
    """An observer publishing on the global publisher, but to the stdlib at ``level``.

    For torsion's own chatty events (a factory starting), which observers see
    at Twisted's level while stdlib logging keeps them a level lower.
    """
    return _AtStdlibLevel(level)


class STDLibLogObserver:
    """Forwards events to the stdlib logger ``name``, as from the code ``stackDepth`` up.

    Events published on the global publisher already reach the stdlib logger
    of their namespace, so this observer skips them rather than log them twice;
    it forwards events given to it by other publishers or directly.
    """

    defaultStackDepth = 4

    def __init__(self, name: str = "twisted", stackDepth: int = defaultStackDepth) -> None:
        self.logger = logging.getLogger(name)
        self.stackDepth = stackDepth

    def __call__(self, event: LogEvent) -> None:
        if _alreadyInStdlib(event):
            return
        level = toStdlibLevel(event.get("log_level", LogLevel.info))
        if self.logger.isEnabledFor(level):
            _handOver(self.logger, level, event, self._where())

    def _where(self) -> tuple[str, int, str] | None:
        # stackDepth counts as Twisted's does: 4 is whoever called this observer.
        try:
            f = sys._getframe(max(self.stackDepth - 2, 2))
        except ValueError:
            return None
        return f.f_code.co_filename, f.f_lineno, f.f_code.co_name


# -- beginning -------------------------------------------------------------------


class LogBeginner:
    """Starts logging to chosen observers, once (``beginLoggingTo``).

    Until then, it keeps the last ``initialBufferSize`` events (200 by
    default) to replay to the observers chosen, and writes critical events to
    ``errorStream`` (None: no stream).  Beginning also sends the ``warnings``
    module's warnings to the log and, unless told not to, replaces
    ``stdio.stdout`` and ``stdio.stderr`` by files that log each line.
    """

    _DEFAULT_BUFFER_SIZE = 200

    def __init__(
        self,
        publisher: LogPublisher,
        errorStream: Any,
        stdio: Any,
        warningsModule: Any,
        initialBufferSize: int | None = None,
    ) -> None:
        if initialBufferSize is None:
            initialBufferSize = self._DEFAULT_BUFFER_SIZE
        self._initialBuffer = LimitedHistoryLogObserver(size=initialBufferSize)
        self._publisher = publisher
        self._log = Logger(observer=publisher)
        self._stdio = stdio
        self._warningsModule = warningsModule
        temporary: list[_Observer] = [self._initialBuffer]
        if errorStream is not None:
            temporary.append(
                FilteringLogObserver(
                    FileLogObserver(
                        errorStream,
                        lambda e: (
                            eventAsText(e, includeTimestamp=False, includeSystem=False) + "\n"
                        ),
                    ),
                    [LogLevelFilterPredicate(defaultLogLevel=LogLevel.critical)],
                )
            )
        self._temporaryObserver: LogPublisher | None = LogPublisher(*temporary)
        self._previousBegin = ("", 0)
        publisher.addObserver(self._temporaryObserver)
        self._oldshowwarning = warningsModule.showwarning

    @property
    def _begun(self) -> bool:
        return self._temporaryObserver is None

    def beginLoggingTo(
        self,
        observers: Iterable[_Observer],
        discardBuffer: bool = False,
        redirectStandardIO: bool = True,
    ) -> None:
        """Add ``observers`` to the publisher and end the before-logging state.

        The events kept so far are replayed to the publisher's observers
        unless ``discardBuffer``.  Calling this again adds the observers and
        logs a warning naming both call sites.
        """
        caller = sys._getframe(1)
        filename, lineno = caller.f_code.co_filename, caller.f_lineno
        for observer in observers:
            self._publisher.addObserver(observer)
        temporary = self._temporaryObserver
        if temporary is not None:
            self._publisher.removeObserver(temporary)
            self._temporaryObserver = None
            if not discardBuffer:
                # Only to the observers: the stdlib had these events already.
                self._initialBuffer.replayTo(getattr(self._publisher, "_deliver", self._publisher))
            self._warningsModule.showwarning = self.showwarning
        else:
            fileThen, lineThen = self._previousBegin
            self._log.warn(
                _MORE_THAN_ONCE_WARNING,
                fileNow=filename,
                lineNow=lineno,
                fileThen=fileThen,
                lineThen=lineThen,
            )
        self._previousBegin = (filename, lineno)
        if redirectStandardIO:
            for stream, level in (("stdout", LogLevel.info), ("stderr", LogLevel.error)):
                old = getattr(self._stdio, stream)
                setattr(
                    self._stdio,
                    stream,
                    LoggingFile(
                        Logger(namespace=stream, observer=self._publisher),
                        level,
                        getattr(old, "encoding", None),
                    ),
                )

    def showwarning(
        self,
        message: Any,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: IO[str] | None = None,
        line: str | None = None,
    ) -> None:
        """Log a warning (``warnings.showwarning``'s signature); with ``file``, write it there."""
        if file is None:
            self._log.warn(
                "{filename}:{lineno}: {category}: {warning}",
                warning=message,
                category=f"{category.__module__}.{category.__qualname__}",
                filename=filename,
                lineno=lineno,
            )
        else:
            self._oldshowwarning(message, category, filename, lineno, file, line)


globalLogPublisher = _GlobalLogPublisher()
globalLogBeginner = LogBeginner(globalLogPublisher, None, sys, warnings, initialBufferSize=0)

_bridge = _ObserverBridge()
logging.getLogger("torsion").addHandler(_bridge)
