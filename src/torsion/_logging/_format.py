"""Turning events into text: PEP 3101 formats (new style) and ``%`` formats (legacy).

An event's ``log_format`` is formatted against the event itself, with one
addition to ``str.format``: a field name ending in ``()`` is called, so
``"{peer.getHost()}"`` formats ``event["peer"].getHost()``.  Formatting never
raises: a format that fails gives a line saying so, with the event's repr.

"Flattening" stores, under ``log_flattened``, the values each field of the
format refers to, as text and as they were, so that an event serialised to JSON
can still be formatted and its fields extracted.  Keys are
``"name!conversion:spec"`` (``/2``, ``/3`` ... for repeats), as Twisted writes
them, so files written by either can be read by the other.
"""

from __future__ import annotations

import functools
import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from torsion.failure import Failure, _safe_repr

__all__ = [
    "eventAsText",
    "extractField",
    "flattenEvent",
    "formatEvent",
    "formatEventAsClassicLogText",
    "formatTime",
    "formatWithCall",
    "safeFormat",
    "safeStr",
    "textFromEventDict",
    "timeFormatRFC3339",
]

LogEvent = dict[str, Any]

timeFormatRFC3339 = "%Y-%m-%dT%H:%M:%S%z"

_FIRST = re.compile(r"[^.\[]*")
_REST = re.compile(r"\.([^.\[]+)|\[([^\]]+)\]")


def _maybeCall(name: str, get: Callable[[str], Any]) -> Any:
    if name.endswith("()"):
        return get(name[:-2])()
    return get(name)


class _CallingFormatter(string.Formatter):
    """``str.format`` over a mapping, where a name or attribute ending in ``()`` is called."""

    def get_field(
        self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Any, str]:
        head = _FIRST.match(field_name)
        assert head is not None  # the pattern matches the empty string
        first = head.group()
        if first.isdigit():
            obj = args[int(first)]
        else:
            obj = _maybeCall(first, kwargs.__getitem__)
        pos = head.end()
        while pos < len(field_name):
            m = _REST.match(field_name, pos)
            if m is None:
                raise ValueError(f"Only '.' or '[' may follow ']' in field {field_name!r}")
            attribute, index = m.groups()
            if attribute is not None:
                obj = _maybeCall(attribute, functools.partial(getattr, obj))
            else:
                obj = obj[int(index) if index.isdigit() else index]
            pos = m.end()
        return obj, first


_formatter = _CallingFormatter()
_plainFormatter = string.Formatter()


def formatWithCall(formatString: str, mapping: Mapping[str, Any]) -> str:
    """``formatString.format_map(mapping)``, calling the fields that end in ``()``."""
    return _formatter.vformat(formatString, (), mapping)


def safeStr(obj: object) -> str:
    """``str(obj)`` (UTF-8 decoded for bytes) that never raises."""
    if isinstance(obj, bytes):
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        return str(obj)
    except Exception as e:
        return f"<{type(obj).__name__} instance at 0x{id(obj):x} with str error {e!r}>"


def _unformattable(event: LogEvent, error: BaseException) -> str:
    try:
        return f"Unable to format event {event!r}: {error}"
    except BaseException:
        fields = ", ".join(f"{_safe_repr(k)} = {_safe_repr(v)}" for k, v in event.items())
        return (
            f"MESSAGE LOST: unformattable object logged: {_safe_repr(error)}\n"
            f"Recoverable data: {fields}"
        )


def formatEvent(event: LogEvent) -> str:
    """The event's ``log_format`` filled in from the event ("" if it has none); never raises."""
    return eventAsText(event, includeTraceback=False, includeTimestamp=False, includeSystem=False)


def _formatMessage(event: LogEvent) -> str:
    try:
        if "log_flattened" in event:
            return _flatFormat(event)
        fmt = event.get("log_format")
        if fmt is None:
            return ""
        if isinstance(fmt, bytes):
            fmt = fmt.decode("utf-8")
        elif not isinstance(fmt, str):
            raise TypeError(f"Log format must be str, not {fmt!r}")
        return formatWithCall(fmt, event)
    except BaseException as e:
        return _unformattable(event, e)


def formatTime(
    when: float | None, timeFormat: str | None = timeFormatRFC3339, default: str = "-"
) -> str:
    """``when`` (a POSIX time) in local time with ``timeFormat``; ``default`` if either is None."""
    if when is None or timeFormat is None:
        return default
    offset = datetime.fromtimestamp(when) - datetime.fromtimestamp(when, UTC).replace(tzinfo=None)
    # Whole seconds, as a zone offset: sub-second noise would show in %z.
    zone = timezone(timedelta(seconds=round(offset.total_seconds())))
    return datetime.fromtimestamp(when, zone).strftime(timeFormat)


def _system(event: LogEvent) -> str:
    system = event.get("log_system")
    if system is not None:
        try:
            return str(system)
        except Exception:
            return "UNFORMATTABLE"
    level = event.get("log_level")
    levelName = "-" if level is None else level.name
    return f"{event.get('log_namespace', '-')}#{levelName}"


def eventAsText(
    event: LogEvent,
    includeTraceback: bool = True,
    includeTimestamp: bool = True,
    includeSystem: bool = True,
    formatTime: Callable[[Any], str] = formatTime,
) -> str:
    """``"{time} [{system}] {message}\\n{traceback}"``, each part optional.

    The system is ``log_system`` or else ``namespace#level``; the traceback is
    that of ``log_failure``.  An event with neither text nor failure gives "".
    """
    text = _formatMessage(event)
    if includeTraceback and "log_failure" in event:
        try:
            traceback = event["log_failure"].getTraceback()
        except BaseException as e:
            traceback = f"(UNABLE TO OBTAIN TRACEBACK FROM EVENT):{e}"
        text = f"{text}\n{traceback}"
    if not text:
        return text
    stamp = f"{formatTime(event.get('log_time'))} " if includeTimestamp else ""
    system = f"[{_system(event)}] " if includeSystem else ""
    return f"{stamp}{system}{text}"


def formatEventAsClassicLogText(
    event: LogEvent, formatTime: Callable[[Any], str] = formatTime
) -> str | None:
    """One log-file entry: ``eventAsText`` with continuation lines tab-indented, or None."""
    text = eventAsText(event, formatTime=formatTime)
    if not text:
        return None
    return text.replace("\n", "\n\t") + "\n"


class _EventText:
    """Formats its event only when turned into text (a stdlib LogRecord's ``msg``)."""

    __slots__ = ("event",)

    def __init__(self, event: LogEvent) -> None:
        self.event = event

    def __str__(self) -> str:
        return formatEvent(self.event)

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")


# -- flattening ----------------------------------------------------------------


class _KeyMaker:
    """Makes ``name!conversion:spec`` keys, numbering the repeats of each."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def key(self, fieldName: str, formatSpec: str | None, conversion: str | None) -> str:
        key = f"{fieldName}!{conversion or ''}:{formatSpec or ''}"
        self.seen[key] += 1
        n = self.seen[key]
        return key if n == 1 else f"{key}/{n}"


def flattenEvent(event: LogEvent) -> None:
    """Store the values the event's format refers to under ``event["log_flattened"]``.

    A field that cannot be resolved is left out (Twisted raises), so that an
    event with a bad format can still be written; formatting it later says
    what was wrong, as formatting the original would.
    """
    fmt = event.get("log_format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", "replace")
    if not isinstance(fmt, str):
        return
    fields: dict[str, Any] = event.get("log_flattened", {})
    keys = _KeyMaker()
    try:
        parsed = list(_plainFormatter.parse(fmt))
    except ValueError:
        return
    for _, fieldName, formatSpec, conversion in parsed:
        if fieldName is None:
            continue
        conversion = "r" if conversion == "r" else "s"
        flatKey = keys.key(fieldName, formatSpec, conversion)
        structuredKey = keys.key(fieldName, formatSpec, "")
        if flatKey in fields:
            continue
        call = fieldName.endswith("()")
        try:
            value = _plainFormatter.get_field(fieldName[:-2] if call else fieldName, (), event)[0]
            if call:
                value = value()
            fields[flatKey] = repr(value) if conversion == "r" else str(value)
        except Exception:
            continue
        fields[structuredKey] = value
    if fields:
        event["log_flattened"] = fields


def extractField(field: str, event: LogEvent) -> Any:
    """The value of format field ``field`` (e.g. ``"peer.host"``) in ``event``.

    Works on events read back from JSON too; KeyError if the field is not there.
    """
    [(_, fieldName, formatSpec, conversion)] = _plainFormatter.parse("{" + field + "}")
    assert fieldName is not None
    key = _KeyMaker().key(fieldName, formatSpec, conversion)
    if "log_flattened" not in event:
        flattenEvent(event)
    return event["log_flattened"][key]


def _flatFormat(event: LogEvent) -> str:
    values = event["log_flattened"]
    keys = _KeyMaker()
    out: list[str] = []
    for literal, fieldName, formatSpec, conversion in _plainFormatter.parse(event["log_format"]):
        out.append(literal)
        if fieldName is not None:
            out.append(str(values[keys.key(fieldName, formatSpec, conversion or "s")]))
    return "".join(out)


# -- legacy (twisted.python.log) events ----------------------------------------


def safeFormat(fmtString: str, fmtDict: Mapping[str, Any]) -> str:
    """``fmtString % fmtDict``, or a line saying why that failed; never raises."""
    try:
        return fmtString % fmtDict
    except KeyboardInterrupt:
        raise
    except BaseException:
        pass
    try:
        return (
            "Invalid format string or unformattable object in log message: "
            f"{fmtString!r}, {fmtDict}"
        )
    except BaseException:
        pass
    try:
        return f"UNFORMATTABLE OBJECT WRITTEN TO LOG with fmt {fmtString!r}, MESSAGE LOST"
    except BaseException:
        return "PATHOLOGICAL ERROR IN BOTH FORMAT STRING AND MESSAGE DETAILS, MESSAGE LOST"


def textFromEventDict(eventDict: LogEvent) -> str | None:
    """The text of a legacy event, or None if it has none.

    The words of ``message`` joined by spaces; else, for an error with a
    ``failure``, ``why`` (or "Unhandled Error") and the traceback; else
    ``format % eventDict``.
    """
    message = eventDict["message"]
    if message:
        return " ".join(map(safeStr, message))
    if eventDict["isError"] and "failure" in eventDict:
        why = eventDict.get("why")
        header = safeStr(why) if why else "Unhandled Error"
        failure: Failure = eventDict["failure"]
        try:
            traceback = failure.getTraceback()
        except Exception as e:
            traceback = f"(unable to obtain traceback): {e}"
        return f"{header}\n{traceback}"
    if "format" in eventDict:
        return safeFormat(eventDict["format"], eventDict)
    return None
