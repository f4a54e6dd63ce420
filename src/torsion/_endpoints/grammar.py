"""The grammar of endpoint descriptions such as ``"tcp:8080:interface=127.0.0.1"``.

Grammar (Twisted's): a description is a list of arguments separated by ``:``;
the first names the endpoint type.  An argument holding an ``=`` is an option
``key=value`` (split at the first ``=``), any other is positional.  A backslash
makes the next character literal, so ``\\:``, ``\\=`` and ``\\\\`` stand for
``:``, ``=`` and ``\\``.  Positional arguments fill the type's parameters in
order (``tcp:8080`` is ``tcp:port=8080``), as arguments of a Python call; a
type may instead let them fill only the parameters not given as options (the
TCP clients: ``tcp:host=example.com:80`` gives the port, as in Twisted).

Unlike Twisted, which lets Python's ``TypeError`` or ``int()`` errors escape,
every mistake here is a ``ValueError`` that quotes the description and names
the part that is wrong: an unknown type or option, a missing or repeated
value, a port or mode that is not a number in range, an unfinished escape.

This module knows no endpoint class: ``torsion._endpoints.kinds`` holds the
table of endpoint types built on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torsion.error import CertificateError

__all__ = ["parse"]


def parse(description: str) -> tuple[list[str], dict[str, str]]:
    """Split ``description`` into positional arguments and options (see the grammar)."""
    if not isinstance(description, str):
        raise TypeError(f"an endpoint description must be a str, not {type(description).__name__}")
    args: list[str] = []
    kw: dict[str, str] = {}
    for argument in _split(description, ":"):
        pieces = _split(argument, "=", maxsplit=1)
        if len(pieces) == 1:
            args.append(_unescape(argument, description))
            continue
        key, value = (_unescape(p, description) for p in pieces)
        if not key:
            raise _bad(description, f"option {argument!r} has no name before '='")
        if key in kw:
            raise _bad(description, f"option {key!r} is given twice")
        kw[key] = value
    return args, kw


def _split(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split at unescaped ``sep``; the pieces keep their escapes."""
    pieces: list[str] = []
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == sep and maxsplit != len(pieces):
            pieces.append(text[start:i])
            start = i + 1
        i += 1
    pieces.append(text[start:])
    return pieces


def _unescape(piece: str, description: str) -> str:
    if "\\" not in piece:
        return piece
    out: list[str] = []
    chars = iter(piece)
    for c in chars:
        if c == "\\":
            c = next(chars, "")
            if not c:
                raise _bad(description, "it ends with an unfinished '\\' escape")
        out.append(c)
    return "".join(out)


def _bad(description: str, problem: str) -> ValueError:
    return ValueError(f"bad endpoint description {description!r}: {problem}")


# ------------------------------------------------------------- converters
# Each takes the text of a value and returns what the endpoint wants, or
# raises ValueError with the problem (the caller adds the description).


def _digits(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() else -1


def _port(text: str) -> int:
    port = _digits(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"{text!r} is not a number from 0 to 65535")
    return port


def _positiveInt(text: str) -> int:
    if _digits(text) < 1:
        raise ValueError(f"{text!r} is not a whole number above 0")
    return int(text)


def _mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"{text!r} is not an octal permission such as 600 or 0666")
    return mode


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{text!r} is not a number of seconds above 0")
    return seconds


def _flag(text: str) -> bool:
    if text in ("0", "1"):
        return text == "1"
    raise ValueError(f"{text!r} is not 0 or 1")


_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True}
_BOOLEANS.update({"false": False, "no": False, "off": False, "0": False})


def _boolean(text: str) -> bool:
    value = _BOOLEANS.get(text.lower())
    if value is None:
        raise ValueError(f"{text!r} is not true or false (or yes/no, on/off, 1/0)")
    return value


def _text(text: str) -> str:
    return text


def _nonEmpty(text: str) -> str:
    if not text:
        raise ValueError("it is empty")
    return text


def _bindAddress(text: str) -> tuple[str, int]:
    return (_nonEmpty(text), 0)


# ------------------------------------------------------------------ kinds


@dataclass(frozen=True)
class _Kind:
    """An endpoint type: its parameters (positional ones first) and how to build it."""

    positional: tuple[str, ...]
    options: dict[str, Callable[[str], Any]]
    build: Callable[[Any, dict[str, Any]], Any]
    required: tuple[str, ...] = field(default=())
    #: Positional arguments fill only the parameters not given as options.
    fillFree: bool = False


def _resolveKind(
    kinds: dict[str, _Kind], description: str, side: str
) -> tuple[_Kind, dict[str, Any]]:
    args, kw = parse(description)
    name = args.pop(0) if args else ""
    if not name:
        raise _bad(description, "it does not start with an endpoint type such as 'tcp:'")
    kind = kinds.get(name.lower())
    if kind is None:
        known = ", ".join(sorted(kinds))
        raise _bad(description, f"unknown {side} endpoint type {name!r} (known: {known})")
    hint = "(write ':' inside a value as '\\:')"
    if args == [""] and not kind.positional:
        args = []  # "stdio:" -- the colon after a type that takes no argument
    slots = kind.positional
    if kind.fillFree:
        slots = tuple(key for key in slots if key not in kw)
    if len(args) > len(slots):
        extra = ":".join(args[len(slots) :])
        raise _bad(description, f"unexpected extra argument {extra!r} {hint}")
    values: dict[str, str] = {}
    for key, text in zip(slots, args, strict=False):
        values[key] = text
    for key, text in kw.items():
        if key not in kind.options:
            known = ", ".join(kind.options)
            raise _bad(
                description, f"unknown option {key!r} for {name!r} endpoints (known: {known})"
            )
        if key in values:
            raise _bad(description, f"{key!r} is given both by position and as {key}= {hint}")
        values[key] = text
    for key in kind.required:
        if key not in values:
            raise _bad(description, f"the {key} is missing")
    converted: dict[str, Any] = {}
    for key, text in values.items():
        try:
            converted[key] = kind.options[key](text)
        except ValueError as e:
            raise _bad(description, f"bad {key}: {e}") from None
    return kind, converted


def _build(kinds: dict[str, _Kind], reactor: Any, description: str, side: str) -> Any:
    kind, values = _resolveKind(kinds, description, side)
    try:
        return kind.build(reactor, values)
    except (ValueError, CertificateError) as e:
        raise _bad(description, str(e)) from None
