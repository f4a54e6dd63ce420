"""Events as JSON text sequences (RFC 7464), in the format Twisted writes and reads.

Each record is ``RS + JSON + LF``.  The event is flattened first (see
``_format``), so its message can be formatted after loading.  A LogLevel and a
Failure are written as objects tagged with ``__class_uuid__`` (the UUIDs
Twisted uses, so files move between the two); bytes as latin-1 text; anything
else that JSON cannot hold as ``{"unpersistable": true}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from torsion._logging._format import flattenEvent
from torsion._logging._levels import LogLevel
from torsion._logging._observers import FileLogObserver
from torsion.failure import Failure

__all__ = ["eventAsJSON", "eventFromJSON", "eventsFromJSONLogFile", "jsonFileLogObserver"]

LogEvent = dict[str, Any]

_LEVEL_UUID = "02e59486-f24d-46ad-8224-3acdf2a5732a"
_FAILURE_UUID = "e76887e2-20ed-49bf-a8f8-ba25cc586f2d"

_log = logging.getLogger("torsion.logger")


def _failureAsJSON(failure: Failure) -> dict[str, Any]:
    frames = [list(f) for f in failure.frames]
    return {
        "type": {"__module__": failure.type.__module__, "__name__": failure.type.__name__},
        "value": failure.getErrorMessage(),
        "tb": None,
        "frames": frames,
        "stack": [],
        "parents": failure.parents,
        "count": failure.count,
        "captureVars": failure.captureVars,
        "pickled": 1,
        "__class_uuid__": _FAILURE_UUID,
    }


def _failureFromJSON(d: dict[str, Any]) -> Failure:
    info = d.get("type") or {}
    # A stand-in for the original exception type: same name and module.
    excType = type(str(info.get("__name__", "Exception")), (Exception,), {})
    excType.__module__ = str(info.get("__module__", "builtins"))
    value = d.get("value")
    failure = Failure.__new__(Failure)
    failure.__setstate__(
        {
            "type": excType,
            "value": excType(value) if isinstance(value, str) else excType(),
            "_frames": [tuple(f) for f in d.get("frames", d.get("_frames", []))],
            "captureVars": bool(d.get("captureVars", False)),
        }
    )
    return failure


def _default(obj: object) -> Any:
    if isinstance(obj, bytes):
        return obj.decode("charmap")
    if isinstance(obj, LogLevel):
        return {"name": obj.name, "__class_uuid__": _LEVEL_UUID}
    if isinstance(obj, Failure):
        return _failureAsJSON(obj)
    return {"unpersistable": True}


def _objectHook(d: dict[str, Any]) -> Any:
    uuid = d.get("__class_uuid__")
    if uuid is None:
        return d
    uuid = str(uuid).lower()
    if uuid == _LEVEL_UUID:
        return LogLevel.__members__.get(d.get("name", ""))
    if uuid == _FAILURE_UUID:
        return _failureFromJSON(d)
    return d


def eventAsJSON(event: LogEvent) -> str:
    """The event as one line of JSON (flattening it first, in place)."""
    flattenEvent(event)
    return json.dumps(event, default=_default, skipkeys=True)


def eventFromJSON(eventText: str) -> LogEvent:
    """An event read back from ``eventAsJSON``'s text."""
    event: LogEvent = json.loads(eventText, object_hook=_objectHook)
    return event


def jsonFileLogObserver(outFile: Any, recordSeparator: str = "\x1e") -> FileLogObserver:
    """An observer writing each event as ``recordSeparator + JSON + "\\n"`` to ``outFile``."""
    return FileLogObserver(outFile, lambda event: f"{recordSeparator}{eventAsJSON(event)}\n")


def eventsFromJSONLogFile(
    inFile: Any, recordSeparator: str | None = None, bufferSize: int = 4096
) -> Iterator[LogEvent]:
    """The events of a file written by ``jsonFileLogObserver`` (text or bytes).

    With ``recordSeparator=None`` the separator is guessed from the first
    byte: RS, or else newline-delimited JSON.  Records that are cut short or
    are not JSON are logged and skipped.
    """

    def asBytes(data: str | bytes) -> bytes:
        return data if isinstance(data, bytes) else data.encode("utf-8")

    if recordSeparator is None:
        first = asBytes(inFile.read(1))
        separator = first if first == b"\x1e" else b""
    else:
        separator, first = asBytes(recordSeparator), b""
    # With a record separator a record must end in a newline, or it was cut short.
    needNewline = separator != b""
    if not separator:
        separator = b"\n"

    def parse(record: bytes) -> LogEvent | None:
        if needNewline and not record.endswith(b"\n"):
            _log.error("Unable to read truncated JSON record: %r", record)
            return None
        try:
            text = record.decode("utf-8")
        except UnicodeDecodeError:
            _log.error("Unable to decode UTF-8 for JSON record: %r", record)
            return None
        try:
            return eventFromJSON(text)
        except ValueError:
            _log.error("Unable to read JSON record: %r", record)
            return None

    buffer = bytearray(first)
    while True:
        data = inFile.read(bufferSize)
        if not data:
            break
        buffer += asBytes(data)
        *records, rest = buffer.split(separator)
        buffer = rest
        for record in records:
            if record:
                event = parse(bytes(record))
                if event is not None:
                    yield event
    if buffer:
        event = parse(bytes(buffer))
        if event is not None:
            yield event
