"""``Logger``: makes events and hands them to an observer; ``LoggingFile``: a file that logs."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, NoReturn

from torsion._logging._levels import InvalidLogLevelError, LogLevel
from torsion.failure import Failure

__all__ = ["Logger", "LoggingFile", "Operation"]

LogEvent = dict[str, Any]


class Operation:
    """What ``Logger.failuresHandled`` yields: whether the code in the block succeeded."""

    succeeded = False
    failure: Failure | None = None

    def __init__(self, fail: Callable[[Failure], None]) -> None:
        self._fail = fail

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def __enter__(self) -> Operation:
        return self

    def __exit__(
        self,
        excType: type[BaseException] | None,
        excValue: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if excType is None:
            self.succeeded = True
        else:
            self.failure = Failure()
            self._fail(self.failure)
        return True


class _FailureHandler:
    """``Logger.failureHandler``: a reusable ``with`` block that logs and swallows errors."""

    def __init__(self, fail: Callable[[Failure], None]) -> None:
        self._fail = fail

    def __enter__(self) -> None:
        return None

    def __exit__(self, *excInfo: Any) -> bool:
        return Operation(self._fail).__exit__(*excInfo)


def _callerModule(depth: int) -> str:
    try:
        name: str = sys._getframe(depth + 1).f_globals["__name__"]
    except (KeyError, ValueError):
        return "<unknown>"
    return name


class Logger:
    """Emits events, at a level and with a PEP 3101 format, to ``observer``.

    ``namespace`` defaults to the module that made the Logger; ``observer`` to
    the global publisher, whose events also go to the stdlib logger of that
    name.  As a class attribute (``log = Logger()``) it gives each access a
    Logger named after the class, whose ``source`` is the instance (or the
    class).  Keyword arguments become fields of the event, for the format to
    use: ``log.info("{n} bytes from {peer}", n=len(data), peer=address)``.
    """

    def __init__(
        self,
        namespace: str | None = None,
        source: object | None = None,
        observer: Callable[[LogEvent], None] | None = None,
    ) -> None:
        if namespace is None:
            namespace = _callerModule(1)
        self.namespace = namespace
        self.source = source
        if observer is None:
            from torsion._logging._publisher import globalLogPublisher

            observer = globalLogPublisher
        self.observer = observer

    def __get__(self, instance: object, owner: type | None = None) -> Logger:
        assert owner is not None
        return self.__class__(
            f"{owner.__module__}.{owner.__name__}",
            owner if instance is None else instance,
            observer=self.observer,
        )

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {self.namespace!r}>"

    def emit(self, level: LogLevel, format: str | None = None, **kwargs: Any) -> None:
        """Send an event at ``level`` with ``format`` and the fields in ``kwargs``."""
        if not isinstance(level, LogLevel):
            self.failure(
                "Got invalid log level {invalidLevel!r} in {logger}.emit().",
                Failure(InvalidLogLevelError(level)),
                invalidLevel=level,
                logger=self,
            )
            return
        event = kwargs
        event["log_logger"] = self
        event["log_level"] = level
        event["log_namespace"] = self.namespace
        event["log_source"] = self.source
        event["log_format"] = format
        event["log_time"] = time.time()
        if "log_trace" in event:
            event["log_trace"].append((self, self.observer))
        self.observer(event)

    def failure(
        self,
        format: str,
        failure: Failure | None = None,
        level: LogLevel = LogLevel.critical,
        **kwargs: Any,
    ) -> None:
        """Log ``failure`` (by default the exception being handled) with its traceback."""
        if failure is None:
            failure = Failure()
        self.emit(level, format, log_failure=failure, **kwargs)

    def debug(self, format: str | None = None, **kwargs: Any) -> None:
        self.emit(LogLevel.debug, format, **kwargs)

    def info(self, format: str | None = None, **kwargs: Any) -> None:
        self.emit(LogLevel.info, format, **kwargs)

    def warn(self, format: str | None = None, **kwargs: Any) -> None:
        self.emit(LogLevel.warn, format, **kwargs)

    def error(self, format: str | None = None, **kwargs: Any) -> None:
        self.emit(LogLevel.error, format, **kwargs)

    def critical(self, format: str | None = None, **kwargs: Any) -> None:
        self.emit(LogLevel.critical, format, **kwargs)

    def failuresHandled(
        self, format: str, level: LogLevel = LogLevel.critical, **kwargs: Any
    ) -> Operation:
        """A ``with`` block whose exception is logged (with ``format``) and swallowed.

        It yields an Operation telling whether the block succeeded.
        """
        return Operation(lambda f: self.failure(format, f, level, **kwargs))

    def failureHandler(
        self, staticMessage: str, level: LogLevel = LogLevel.critical
    ) -> _FailureHandler:
        """A reusable ``with`` block that logs any exception with ``staticMessage``."""
        return _FailureHandler(lambda f: self.failure(staticMessage, f, level))


class LoggingFile:
    """A write-only text file whose every line becomes an event at ``level``.

    Bytes are decoded with ``encoding`` (the interpreter's default if None).
    A line is emitted once its newline is written.
    """

    def __init__(
        self, logger: Logger, level: LogLevel = LogLevel.info, encoding: str | None = None
    ) -> None:
        self.level = level
        self.log = logger
        self._encoding = sys.getdefaultencoding() if encoding is None else encoding
        self._buffer = ""
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def encoding(self) -> str:
        return self._encoding

    @property
    def mode(self) -> str:
        return "w"

    @property
    def newlines(self) -> None:
        return None

    @property
    def name(self) -> str:
        return f"<{self.__class__.__name__} {self.log.namespace}#{self.level.name}>"

    def close(self) -> None:
        self._closed = True

    def flush(self) -> None:
        pass

    def fileno(self) -> NoReturn:
        raise io.UnsupportedOperation("LoggingFile has no file descriptor.")

    def isatty(self) -> bool:
        return False

    def write(self, message: str | bytes) -> None:
        if self._closed:
            raise ValueError("I/O operation on closed file")
        text = message.decode(self._encoding) if isinstance(message, bytes) else message
        *lines, self._buffer = (self._buffer + text).split("\n")
        for line in lines:
            self.log.emit(self.level, format="{log_io}", log_io=line)

    def writelines(self, lines: Iterable[str | bytes]) -> None:
        for line in lines:
            self.write(line)

    def _unsupported(self, *args: object) -> NoReturn:
        raise OSError("unsupported operation")

    read = next = readline = readlines = xreadlines = seek = tell = truncate = _unsupported
    softspace = 0
