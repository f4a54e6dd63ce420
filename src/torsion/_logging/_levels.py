"""Log levels (Twisted's ``LogLevel``) and their mapping to the stdlib's numeric levels."""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Iterator
from typing import Any

__all__ = ["InvalidLogLevelError", "LogLevel", "fromStdlibLevel", "toStdlibLevel"]


class InvalidLogLevelError(Exception):
    """A level that is not a LogLevel was used (or named)."""

    def __init__(self, level: object) -> None:
        super().__init__(str(level))
        self.level = level


@functools.total_ordering
class LogLevel(enum.Enum):
    """How much an event matters, from ``debug`` to ``critical``; levels are ordered."""

    debug = 0
    info = 1
    warn = 2
    error = 3
    critical = 4

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, LogLevel):
            return NotImplemented
        return self.value < other.value

    def __repr__(self) -> str:
        return f"<LogLevel={self.name}>"

    __str__ = __repr__

    @classmethod
    def levelWithName(cls, name: str) -> LogLevel:
        """The level called ``name``; InvalidLogLevelError if there is none."""
        try:
            return cls.lookupByName(name)
        except ValueError:
            raise InvalidLogLevelError(name) from None

    @classmethod
    def lookupByName(cls, name: str) -> LogLevel:
        """The level called ``name``; ValueError if there is none."""
        try:
            return cls[name]
        except KeyError:
            raise ValueError(name) from None

    @classmethod
    def iterconstants(cls) -> Iterator[LogLevel]:
        """The levels, lowest first."""
        return iter(cls)


_TO_STDLIB: dict[LogLevel, int] = {
    LogLevel.debug: logging.DEBUG,
    LogLevel.info: logging.INFO,
    LogLevel.warn: logging.WARNING,
    LogLevel.error: logging.ERROR,
    LogLevel.critical: logging.CRITICAL,
}

# Stdlib numbers and names, as the legacy ``logLevel`` event key may hold either.
_FROM_STDLIB: dict[Any, LogLevel] = {}
for _level, _number in _TO_STDLIB.items():
    _FROM_STDLIB[_number] = _level
    _FROM_STDLIB[logging.getLevelName(_number)] = _level


def toStdlibLevel(level: object) -> int:
    """The stdlib level for ``level`` (INFO for anything that is not a LogLevel)."""
    return _TO_STDLIB.get(level, logging.INFO) if isinstance(level, LogLevel) else logging.INFO


def fromStdlibLevel(level: Any, exact: bool = False) -> LogLevel | None:
    """The LogLevel for a stdlib level number or name.

    With ``exact`` only the five standard levels map; otherwise a number maps
    to the nearest standard level at or below it (and below DEBUG to debug).
    """
    found = _FROM_STDLIB.get(level)
    if found is not None or exact or not isinstance(level, int):
        return found
    for number in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if level >= number:
            return _FROM_STDLIB[number]
    return LogLevel.debug
